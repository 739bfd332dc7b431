package config

import (
	"fmt"
	"strings"
)

// credential is a variable that a provider cannot work without, and where an
// operator gets its value.
type credential struct {
	name   string
	source string
}

// requiredCredentials returns the variables that Load checks for a
// provider. The provider packages parse them, and their other variables,
// themselves.
func requiredCredentials(provider string) []credential {
	switch provider {
	case ProviderScalingo:
		return []credential{
			{"PROVIDER_SCALINGO_API_TOKEN", "create an API token in the Scalingo dashboard, under your account's API tokens"},
		}
	case ProviderCleverCloud:
		const consumer = "create an OAuth consumer in the Clever Cloud console, with the \"Create an oauth consumer\" link of your organisation, and copy its "
		const login = "run `clever login` and copy %q from ~/.config/clever-cloud/clever-tools.json"
		return []credential{
			{"PROVIDER_CLEVER_OAUTH_CONSUMER_KEY", consumer + "key"},
			{"PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET", consumer + "secret"},
			{"PROVIDER_CLEVER_TOKEN", fmt.Sprintf(login, "token")},
			{"PROVIDER_CLEVER_SECRET", fmt.Sprintf(login, "secret")},
		}
	}
	return nil
}

// validate adds the problems that involve several settings.
func validate(cfg *Config, getenv Getenv, problems *Error) {
	for _, provider := range cfg.ProviderNames {
		for _, required := range requiredCredentials(provider) {
			if strings.TrimSpace(getenv(required.name)) == "" {
				problems.Add("%s: missing: PROVIDER_NAME names %q, which needs it: %s", required.name, provider, required.source)
			}
		}
	}

	if cfg.SystemAPIEnabled && cfg.SystemAPIToken == "" {
		problems.Add("ROUTING_SYSTEM_API_TOKEN: missing: ROUTING_SYSTEM_API_ENABLED is true, so set a long random token (for instance the output of `openssl rand -hex 32`), or disable the system API")
	}

	validateAdmin(cfg, problems)

	if cfg.RedisSentinelMaster != "" && len(cfg.RedisClusterAddrs) > 0 {
		problems.Add("REDIS_SENTINEL_MASTER and REDIS_CLUSTER_ADDRS: both set: Sentinel and Cluster exclude each other, so unset one of them")
	}
}
