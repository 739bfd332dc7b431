package config

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// envOf returns a Getenv backed by a map.
func envOf(t *testing.T, values map[string]string) Getenv {
	t.Helper()
	return func(key string) string { return values[key] }
}

// mustLoad loads values and fails the test on any error.
func mustLoad(t *testing.T, values map[string]string) *Config {
	t.Helper()
	cfg, err := Load(envOf(t, values))
	if err != nil {
		t.Fatalf("Load(%v) returned an error: %v", values, err)
	}
	return cfg
}

// loadProblems loads values, expects an *Error and returns its problems.
func loadProblems(t *testing.T, values map[string]string) []string {
	t.Helper()
	_, err := Load(envOf(t, values))
	if err == nil {
		t.Fatalf("Load(%v) returned no error", values)
	}
	var configErr *Error
	if !errors.As(err, &configErr) {
		t.Fatalf("Load(%v) returned %T, expected *config.Error: %v", values, err, err)
	}
	return configErr.Problems
}

func TestLoadDefaults(t *testing.T) {
	cfg := mustLoad(t, nil)

	checks := []struct {
		field     string
		got, want any
	}{
		{"Host", cfg.Host, "0.0.0.0"},
		{"Port", cfg.Port, 3000},
		{"ProxyDomain", cfg.ProxyDomain, ""},
		{"ShutdownTimeout", cfg.ShutdownTimeout, 30 * time.Second},
		{"ConfigFile", cfg.ConfigFile, ""},
		{"RegistryType", cfg.RegistryType, "in-memory"},
		{"IgnoredApps", len(cfg.IgnoredApps), 0},
		{"RedisURL", cfg.RedisURL, "redis://127.0.0.1:6379"},
		{"RedisKeyPrefix", cfg.RedisKeyPrefix, "paastis:"},
		{"RedisSentinelMaster", cfg.RedisSentinelMaster, ""},
		{"RedisClusterAddrs", len(cfg.RedisClusterAddrs), 0},
		{"RedisFlushInterval", cfg.RedisFlushInterval, 5 * time.Second},
		{"RedisLeaseTTL", cfg.RedisLeaseTTL, 30 * time.Second},
		{"CheckingCron", cfg.CheckingCron, "* * * * *"},
		{"MaxIdleTime", cfg.MaxIdleTime, 15 * time.Minute},
		{"ProviderName", cfg.ProviderName(), "local"},
		{"LocalConfig", cfg.LocalConfig, "examples/local/apps.yaml"},
		{"Hooks", cfg.Hooks, HookCommands{}},
		{"HooksTimeout", cfg.HooksTimeout, 30 * time.Second},
		{"SystemAPIEnabled", cfg.SystemAPIEnabled, false},
		{"SystemAPIToken", cfg.SystemAPIToken, ""},
		{"WakeTimeout", cfg.WakeTimeout, 60 * time.Second},
		{"LogLevel", cfg.LogLevel, slog.LevelInfo},
		{"LogFormat", cfg.LogFormat, "text"},
		{"AppRules", len(cfg.AppRules), 0},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("default %s = %v, expected %v", check.field, check.got, check.want)
		}
	}
}

func TestLoadNilGetenvGivesDefaults(t *testing.T) {
	cfg, err := Load(nil)
	if err != nil {
		t.Fatalf("Load(nil) returned an error: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load(nil) = %+v, expected the defaults %+v", cfg, Default())
	}
}

func TestVariableDefaultsMatchLoad(t *testing.T) {
	values := map[string]string{}
	for _, variable := range Variables {
		if variable.Default != "" {
			values[variable.Name] = variable.Default
		}
	}

	cfg := mustLoad(t, values)

	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("loading every documented default gave %+v, expected the defaults %+v", cfg, Default())
	}
}

func TestLoadReadsEveryValue(t *testing.T) {
	cfg := mustLoad(t, map[string]string{
		"HOST":                                  " 127.0.0.1 ",
		"PORT":                                  "8080",
		"PROXY_DOMAIN":                          ".Apps.Example.COM",
		"SHUTDOWN_TIMEOUT":                      "10s",
		"REGISTRY_TYPE":                         "Redis",
		"REGISTRY_IGNORED_APPS":                 "paastis-proxy, review-*",
		"REDIS_URL":                             "rediss://:secret@redis.example.com:6380/2",
		"REDIS_KEY_PREFIX":                      "staging:",
		"REDIS_SENTINEL_MASTER":                 "mymaster",
		"REDIS_FLUSH_INTERVAL":                  "2s",
		"REDIS_LEASE_TTL":                       "3s",
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "*/5 * * * *",
		"START_AND_STOP_MAX_IDLE_TIME":          "45",
		"PROVIDER_NAME":                         "Scalingo",
		"PROVIDER_SCALINGO_API_TOKEN":           "tk-us-test",
		"PROVIDER_LOCAL_CONFIG":                 "apps.yaml",
		"HOOKS_BEFORE_START":                    "echo before start",
		"HOOKS_AFTER_START":                     "echo after start",
		"HOOKS_BEFORE_STOP":                     "echo before stop",
		"HOOKS_AFTER_STOP":                      "echo after stop",
		"HOOKS_TIMEOUT":                         "1m",
		"ROUTING_SYSTEM_API_ENABLED":            "YES",
		"ROUTING_SYSTEM_API_TOKEN":              "abcd-1234",
		"WAKE_TIMEOUT":                          "90",
		"LOG_LEVEL":                             "DEBUG",
		"LOG_FORMAT":                            "json",
	})

	checks := []struct {
		field     string
		got, want any
	}{
		{"Host", cfg.Host, "127.0.0.1"},
		{"Port", cfg.Port, 8080},
		{"ProxyDomain", cfg.ProxyDomain, "apps.example.com"},
		{"ShutdownTimeout", cfg.ShutdownTimeout, 10 * time.Second},
		{"RegistryType", cfg.RegistryType, "redis"},
		{"IgnoredApps", strings.Join(cfg.IgnoredApps, "|"), "paastis-proxy|review-*"},
		{"RedisURL", cfg.RedisURL, "rediss://:secret@redis.example.com:6380/2"},
		{"RedisKeyPrefix", cfg.RedisKeyPrefix, "staging:"},
		{"RedisSentinelMaster", cfg.RedisSentinelMaster, "mymaster"},
		{"RedisFlushInterval", cfg.RedisFlushInterval, 2 * time.Second},
		{"RedisLeaseTTL", cfg.RedisLeaseTTL, 3 * time.Second},
		{"CheckingCron", cfg.CheckingCron, "*/5 * * * *"},
		{"MaxIdleTime", cfg.MaxIdleTime, 45 * time.Minute},
		{"ProviderName", cfg.ProviderName(), "scalingo"},
		{"LocalConfig", cfg.LocalConfig, "apps.yaml"},
		{"Hooks", cfg.Hooks, HookCommands{"echo before start", "echo after start", "echo before stop", "echo after stop"}},
		{"HooksTimeout", cfg.HooksTimeout, time.Minute},
		{"SystemAPIEnabled", cfg.SystemAPIEnabled, true},
		{"SystemAPIToken", cfg.SystemAPIToken, "abcd-1234"},
		{"WakeTimeout", cfg.WakeTimeout, 90 * time.Second},
		{"LogLevel", cfg.LogLevel, slog.LevelDebug},
		{"LogFormat", cfg.LogFormat, "json"},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %v, expected %v", check.field, check.got, check.want)
		}
	}
}

func TestLoadRejectsInvalidValue(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
		// want are substrings of the single expected problem.
		want []string
	}{
		{"port that is not a number", map[string]string{"PORT": "abc"},
			[]string{`PORT: invalid value "abc": must be a number from 1 to 65535`}},
		{"port zero", map[string]string{"PORT": "0"},
			[]string{`PORT: invalid value "0"`}},
		{"port above 65535", map[string]string{"PORT": "65536"},
			[]string{`PORT: invalid value "65536"`}},
		{"host with a port", map[string]string{"HOST": "localhost:3000"},
			[]string{`HOST: invalid value "localhost:3000"`, "without a port"}},
		{"unknown provider", map[string]string{"PROVIDER_NAME": "heroku"},
			[]string{`PROVIDER_NAME: unknown provider "heroku": accepted values are local, scalingo, clever-cloud`}},
		{"unknown registry type", map[string]string{"REGISTRY_TYPE": "etcd"},
			[]string{`REGISTRY_TYPE: invalid value "etcd": accepted values are in-memory, redis`}},
		{"cron with three fields", map[string]string{"START_AND_STOP_CHECKING_INTERVAL_CRON": "* * *"},
			[]string{`START_AND_STOP_CHECKING_INTERVAL_CRON: invalid cron expression "* * *": expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first`, "found 3"}},
		{"cron with a minute out of range", map[string]string{"START_AND_STOP_CHECKING_INTERVAL_CRON": "61 * * * *"},
			[]string{`START_AND_STOP_CHECKING_INTERVAL_CRON: invalid cron expression "61 * * * *"`, "above maximum"}},
		{"cron that never runs", map[string]string{"START_AND_STOP_CHECKING_INTERVAL_CRON": "0 0 30 2 *"},
			[]string{`START_AND_STOP_CHECKING_INTERVAL_CRON: invalid cron expression "0 0 30 2 *"`, "never runs"}},
		{"cron every half second", map[string]string{"START_AND_STOP_CHECKING_INTERVAL_CRON": "@every 500ms"},
			[]string{`START_AND_STOP_CHECKING_INTERVAL_CRON: invalid cron expression "@every 500ms"`, "at least 1s"}},
		{"cron with a time zone and no fields", map[string]string{"START_AND_STOP_CHECKING_INTERVAL_CRON": "TZ=UTC"},
			[]string{`START_AND_STOP_CHECKING_INTERVAL_CRON: invalid cron expression "TZ=UTC"`}},
		{"idle time of zero", map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "0"},
			[]string{`START_AND_STOP_MAX_IDLE_TIME: invalid value "0": must be positive`}},
		{"negative idle time", map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "-5m"},
			[]string{`START_AND_STOP_MAX_IDLE_TIME: invalid value "-5m": must be positive`}},
		{"fractional idle time without unit", map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "1.5"},
			[]string{`START_AND_STOP_MAX_IDLE_TIME: invalid value "1.5": must be a whole number of minutes`}},
		{"idle time beyond a duration", map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "999999999999"},
			[]string{`START_AND_STOP_MAX_IDLE_TIME: invalid value "999999999999": too large`}},
		{"wake timeout in words", map[string]string{"WAKE_TIMEOUT": "one minute"},
			[]string{`WAKE_TIMEOUT: invalid value "one minute": must be a whole number of seconds`}},
		{"hooks timeout without unit", map[string]string{"HOOKS_TIMEOUT": "30"},
			[]string{`HOOKS_TIMEOUT: invalid value "30": must be a positive Go duration`}},
		{"negative shutdown timeout", map[string]string{"SHUTDOWN_TIMEOUT": "-1s"},
			[]string{`SHUTDOWN_TIMEOUT: invalid value "-1s": must be a positive Go duration`}},
		{"flush interval of zero", map[string]string{"REDIS_FLUSH_INTERVAL": "0s"},
			[]string{`REDIS_FLUSH_INTERVAL: invalid value "0s"`}},
		{"lease ttl under a second", map[string]string{"REDIS_LEASE_TTL": "500ms"},
			[]string{`REDIS_LEASE_TTL: invalid value "500ms": must be at least 1s`}},
		{"system API switch in words", map[string]string{"ROUTING_SYSTEM_API_ENABLED": "enabled"},
			[]string{`ROUTING_SYSTEM_API_ENABLED: invalid value "enabled": accepted values are true, false, 1, 0, yes, no`}},
		{"system API without token", map[string]string{"ROUTING_SYSTEM_API_ENABLED": "true"},
			[]string{"ROUTING_SYSTEM_API_TOKEN: missing"}},
		{"unknown log level", map[string]string{"LOG_LEVEL": "verbose"},
			[]string{`LOG_LEVEL: invalid value "verbose": accepted values are debug, info, warn, error`}},
		{"unknown log format", map[string]string{"LOG_FORMAT": "xml"},
			[]string{`LOG_FORMAT: invalid value "xml": accepted values are text, json`}},
		{"proxy domain with a space", map[string]string{"PROXY_DOMAIN": "my apps.example.com"},
			[]string{`PROXY_DOMAIN: invalid value "my apps.example.com"`}},
		{"proxy domain with an empty label", map[string]string{"PROXY_DOMAIN": "apps..example.com"},
			[]string{`PROXY_DOMAIN: invalid value "apps..example.com"`}},
		{"ignored app with a question mark", map[string]string{"REGISTRY_IGNORED_APPS": "foo, review-?"},
			[]string{`REGISTRY_IGNORED_APPS: invalid pattern "review-?"`, "the only wildcard"}},
		{"redis URL with an http scheme", map[string]string{"REGISTRY_TYPE": "redis", "REDIS_URL": "http://127.0.0.1:6379"},
			[]string{`REDIS_URL: invalid value "http://127.0.0.1:6379"`, "rediss://"}},
		{"redis URL without scheme", map[string]string{"REGISTRY_TYPE": "redis", "REDIS_URL": "127.0.0.1:6379"},
			[]string{`REDIS_URL: invalid value "127.0.0.1:6379": not a URL`}},
		{"legacy redis URL without host", map[string]string{"REGISTRY_TYPE": "redis", "REGISTRY_REDIS_URL": "redis://"},
			[]string{`REGISTRY_REDIS_URL: invalid value "redis://": missing host`}},
		{"cluster address without port", map[string]string{"REDIS_CLUSTER_ADDRS": "10.0.0.1:6379, 10.0.0.2"},
			[]string{`REDIS_CLUSTER_ADDRS: invalid address "10.0.0.2": must be host:port`}},
		{"cluster address with port zero", map[string]string{"REDIS_CLUSTER_ADDRS": "10.0.0.1:0"},
			[]string{`REDIS_CLUSTER_ADDRS: invalid address "10.0.0.1:0"`}},
		{"sentinel and cluster together", map[string]string{"REDIS_SENTINEL_MASTER": "mymaster", "REDIS_CLUSTER_ADDRS": "10.0.0.1:6379"},
			[]string{"REDIS_SENTINEL_MASTER and REDIS_CLUSTER_ADDRS: both set"}},
		{"scalingo without token", map[string]string{"PROVIDER_NAME": "scalingo"},
			[]string{"PROVIDER_SCALINGO_API_TOKEN: missing", `PROVIDER_NAME names "scalingo"`, "Scalingo dashboard"}},
		{"config file that does not exist", map[string]string{"PAASTIS_CONFIG": "/nonexistent/paastis.yaml"},
			[]string{`PAASTIS_CONFIG: cannot read "/nonexistent/paastis.yaml": no such file or directory`}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			problems := loadProblems(t, test.values)

			if len(problems) != 1 {
				t.Fatalf("expected 1 problem, got %d: %q", len(problems), problems)
			}
			for _, want := range test.want {
				if !strings.Contains(problems[0], want) {
					t.Errorf("problem %q does not contain %q", problems[0], want)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(envOf(t, map[string]string{
		"PORT":                                  "abc",
		"PROVIDER_NAME":                         "heroku",
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "* * *",
		"START_AND_STOP_MAX_IDLE_TIME":          "soon",
		"LOG_LEVEL":                             "loud",
	}))

	var configErr *Error
	if !errors.As(err, &configErr) {
		t.Fatalf("Load returned %v, expected a *config.Error", err)
	}
	message := err.Error()
	if !strings.HasPrefix(message, "invalid configuration:\n  - ") {
		t.Errorf("message %q does not start with the heading and a first item", message)
	}
	for _, variable := range []string{"PORT", "PROVIDER_NAME", "START_AND_STOP_CHECKING_INTERVAL_CRON", "START_AND_STOP_MAX_IDLE_TIME", "LOG_LEVEL"} {
		if !strings.Contains(message, "\n  - "+variable+": ") {
			t.Errorf("message does not list a problem for %s:\n%s", variable, message)
		}
	}
	if len(configErr.Problems) != 5 {
		t.Errorf("expected 5 problems, got %d: %q", len(configErr.Problems), configErr.Problems)
	}
}

func TestLoadKeepsValidValuesOnError(t *testing.T) {
	cfg, err := Load(envOf(t, map[string]string{"PORT": "abc", "HOST": "127.0.0.1"}))
	if err == nil {
		t.Fatal("Load returned no error for PORT=abc")
	}
	if cfg == nil {
		t.Fatal("Load returned a nil config with its error")
	}
	if cfg.Host != "127.0.0.1" {
		t.Errorf("Host = %q, expected the valid value 127.0.0.1", cfg.Host)
	}
	if cfg.Port != 3000 {
		t.Errorf("Port = %d, expected the default 3000 in place of the invalid value", cfg.Port)
	}
}

func TestErrorAddAppendsProblems(t *testing.T) {
	_, err := Load(envOf(t, map[string]string{"PORT": "abc"}))
	var configErr *Error
	if !errors.As(err, &configErr) {
		t.Fatalf("Load returned %v, expected a *config.Error", err)
	}

	configErr.Add("PROVIDER_SCALINGO_REGIONS: unknown region %q", "mars-1")

	want := "invalid configuration:\n" +
		`  - PORT: invalid value "abc": must be a number from 1 to 65535` + "\n" +
		`  - PROVIDER_SCALINGO_REGIONS: unknown region "mars-1"`
	if got := configErr.Error(); got != want {
		t.Errorf("Error() =\n%s\nexpected\n%s", got, want)
	}
}

func TestErrorErrWithoutProblemsIsNil(t *testing.T) {
	problems := &Error{}
	if err := problems.Err(); err != nil {
		t.Errorf("Err() of an empty Error = %v, expected nil", err)
	}
	problems.Add("PORT: invalid value %q", "abc")
	if err := problems.Err(); err == nil {
		t.Error("Err() of an Error with a problem = nil, expected the Error")
	}
}

func TestLoadIdleTime(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"1", time.Minute},
		{"90", 90 * time.Minute},
		{"600", 10 * time.Hour},
		{"2h", 2 * time.Hour},
		{"90s", 90 * time.Second},
		{"1h30m", 90 * time.Minute},
		{" 30m ", 30 * time.Minute},
	}
	for _, test := range tests {
		t.Run(test.value, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{"START_AND_STOP_MAX_IDLE_TIME": test.value})

			if cfg.MaxIdleTime != test.want {
				t.Errorf("MaxIdleTime = %v, expected %v", cfg.MaxIdleTime, test.want)
			}
		})
	}
}

func TestLoadWakeTimeout(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"45", 45 * time.Second},
		{"2m", 2 * time.Minute},
		{"1500ms", 1500 * time.Millisecond},
	}
	for _, test := range tests {
		t.Run(test.value, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{"WAKE_TIMEOUT": test.value})

			if cfg.WakeTimeout != test.want {
				t.Errorf("WakeTimeout = %v, expected %v", cfg.WakeTimeout, test.want)
			}
		})
	}
}

func TestLoadSystemAPISwitch(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"true", true}, {"TRUE", true}, {"1", true}, {"yes", true}, {"Yes", true},
		{"false", false}, {"False", false}, {"0", false}, {"no", false}, {"NO", false},
	}
	for _, test := range tests {
		t.Run(test.value, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{
				"ROUTING_SYSTEM_API_ENABLED": test.value,
				"ROUTING_SYSTEM_API_TOKEN":   "abcd-1234",
			})

			if cfg.SystemAPIEnabled != test.want {
				t.Errorf("SystemAPIEnabled = %v, expected %v", cfg.SystemAPIEnabled, test.want)
			}
		})
	}
}

func TestLoadIgnoredAppsTrimmed(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"REGISTRY_IGNORED_APPS": " paastis-proxy, ,Review-* ,, legacy-admin,"})

	want := Patterns{"paastis-proxy", "Review-*", "legacy-admin"}
	if !reflect.DeepEqual(cfg.IgnoredApps, want) {
		t.Errorf("IgnoredApps = %q, expected %q", cfg.IgnoredApps, want)
	}
	if !cfg.IgnoredApps.Match("review-42") {
		t.Error(`IgnoredApps does not match "review-42"`)
	}
	if cfg.IgnoredApps.Match("paastis-proxy-2") {
		t.Error(`IgnoredApps matches "paastis-proxy-2", which no pattern covers`)
	}
}

func TestLoadRedisURLAlias(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
		want   string
	}{
		{"legacy name alone", map[string]string{"REGISTRY_REDIS_URL": "redis://legacy:6379"}, "redis://legacy:6379"},
		{"new name wins over legacy", map[string]string{"REDIS_URL": "redis://new:6379", "REGISTRY_REDIS_URL": "redis://legacy:6379"}, "redis://new:6379"},
		{"sentinel with TLS", map[string]string{"REDIS_URL": "rediss://:pw@sentinel-1:26379/0", "REDIS_SENTINEL_MASTER": "mymaster"}, "rediss://:pw@sentinel-1:26379/0"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			test.values["REGISTRY_TYPE"] = "redis"

			cfg := mustLoad(t, test.values)

			if cfg.RedisURL != test.want {
				t.Errorf("RedisURL = %q, expected %q", cfg.RedisURL, test.want)
			}
		})
	}
}

func TestLoadRedisProblemHidesPassword(t *testing.T) {
	tests := []struct {
		name string
		url  string
	}{
		{"URL that parses", "http://user:s3cret-pw@redis.example.com:6379"},
		{"URL that does not parse", "redis://user:s3cret pw@redis.example.com:6379"},
		{"user name alone", "http://s3cret-pw@redis.example.com:6379"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			problems := loadProblems(t, map[string]string{"REGISTRY_TYPE": "redis", "REDIS_URL": test.url})

			if len(problems) != 1 {
				t.Fatalf("expected 1 problem, got %q", problems)
			}
			if strings.Contains(problems[0], "s3cret") {
				t.Errorf("problem %q shows the password", problems[0])
			}
			if !strings.Contains(problems[0], "redis.example.com:6379") {
				t.Errorf("problem %q does not show the host", problems[0])
			}
		})
	}
}

func TestLoadCleverCloudCredentials(t *testing.T) {
	problems := loadProblems(t, map[string]string{
		"PROVIDER_NAME":                      "clever-cloud",
		"PROVIDER_CLEVER_OAUTH_CONSUMER_KEY": "key",
		"PROVIDER_CLEVER_TOKEN":              "token",
	})

	if len(problems) != 2 {
		t.Fatalf("expected 2 problems, got %q", problems)
	}
	if !strings.HasPrefix(problems[0], "PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET: missing") {
		t.Errorf("first problem %q is not about PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET", problems[0])
	}
	if !strings.HasPrefix(problems[1], "PROVIDER_CLEVER_SECRET: missing") {
		t.Errorf("second problem %q is not about PROVIDER_CLEVER_SECRET", problems[1])
	}
	if !strings.Contains(problems[1], "clever login") {
		t.Errorf("problem %q does not say where to get the secret", problems[1])
	}
}

func TestLoadProviderCredentialsPresent(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
	}{
		{"scalingo", map[string]string{
			"PROVIDER_NAME":               "scalingo",
			"PROVIDER_SCALINGO_API_TOKEN": "tk-us-test",
		}},
		{"clever cloud", map[string]string{
			"PROVIDER_NAME":                         "clever-cloud",
			"PROVIDER_CLEVER_OAUTH_CONSUMER_KEY":    "key",
			"PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET": "consumer-secret",
			"PROVIDER_CLEVER_TOKEN":                 "token",
			"PROVIDER_CLEVER_SECRET":                "secret",
		}},
		{"local needs none", map[string]string{"PROVIDER_NAME": "local"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			cfg := mustLoad(t, test.values)

			if cfg.ProviderName() != test.values["PROVIDER_NAME"] {
				t.Errorf("ProviderName = %q, expected %q", cfg.ProviderName(), test.values["PROVIDER_NAME"])
			}
		})
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	cfg := mustLoad(t, map[string]string{
		"ROUTING_SYSTEM_API_ENABLED": "true",
		"ROUTING_SYSTEM_API_TOKEN":   "token-s3cret",
		"REDIS_URL":                  "redis://:redis-s3cret@127.0.0.1:6379",
		"HOOKS_BEFORE_STOP":          "curl -H 'Authorization: hook-s3cret' https://example.com",
	})
	var output strings.Builder
	logger := slog.New(slog.NewTextHandler(&output, nil))

	logger.Info("configuration loaded", "config", cfg)

	if strings.Contains(output.String(), "s3cret") {
		t.Errorf("log line shows a secret: %s", output.String())
	}
	if !strings.Contains(output.String(), "config.redis_url=redis://:xxxxx@127.0.0.1:6379") {
		t.Errorf("log line does not show the masked Redis URL: %s", output.String())
	}
}

func TestLoadReadsSeveralProviders(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"one provider", "scalingo", []string{ProviderScalingo}},
		{"two providers in order", "clever-cloud, local", []string{ProviderCleverCloud, ProviderLocal}},
		{"a repeated provider counts once", "local,LOCAL,scalingo", []string{ProviderLocal, ProviderScalingo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(envOf(t, map[string]string{
				"PROVIDER_NAME":                         tt.value,
				"PROVIDER_SCALINGO_API_TOKEN":           "tk-us-test",
				"PROVIDER_CLEVER_OAUTH_CONSUMER_KEY":    "key",
				"PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET": "secret",
				"PROVIDER_CLEVER_TOKEN":                 "token",
				"PROVIDER_CLEVER_SECRET":                "token-secret",
			}))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !slices.Equal(cfg.ProviderNames, tt.want) {
				t.Errorf("ProviderNames = %q, want %q", cfg.ProviderNames, tt.want)
			}
			if cfg.ProviderName() != tt.want[0] {
				t.Errorf("ProviderName = %q, want the first one %q", cfg.ProviderName(), tt.want[0])
			}
		})
	}
}

func TestLoadChecksCredentialsOfEveryProvider(t *testing.T) {
	_, err := Load(envOf(t, map[string]string{"PROVIDER_NAME": "local,scalingo,heroku"}))
	var problems *Error
	if !errors.As(err, &problems) {
		t.Fatalf("Load error = %v, want an *Error", err)
	}
	text := err.Error()
	for _, want := range []string{"PROVIDER_SCALINGO_API_TOKEN: missing", `unknown provider "heroku"`} {
		if !strings.Contains(text, want) {
			t.Errorf("error does not contain %q:\n%s", want, text)
		}
	}
}
