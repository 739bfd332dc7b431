package config

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Getenv returns the value of an environment variable, or "" when it is
// unset. Environ builds one from the process environment, and tests pass one
// backed by a map.
type Getenv func(key string) string

// Load builds the configuration from the defaults, the variables that getenv
// returns, and the YAML file named by PAASTIS_CONFIG if any. A nil getenv
// reads no variable. Values are trimmed of surrounding spaces, and an empty
// value counts as unset.
//
// When validation fails, the error is an *Error that lists every problem,
// and the returned Config still holds every value that was valid (the
// default in place of each invalid one). A caller may add its own problems
// to that *Error before it reports it, but must not run with that Config.
func Load(getenv Getenv) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := Default()
	problems := &Error{}
	env := decoder{getenv: getenv, problems: problems}

	env.decodeServer(cfg)
	env.decodeRegistry(cfg)
	env.decodeStartAndStop(cfg)
	env.decodeProvider(cfg)
	env.decodeHooks(cfg)
	env.decodeSystemAPI(cfg)
	env.decodeWaking(cfg)
	env.decodeAdmin(cfg)
	env.decodeLogging(cfg)

	if cfg.ConfigFile != "" {
		cfg.AppRules = readRulesFile(cfg.ConfigFile, problems)
	}

	validate(cfg, getenv, problems)
	return cfg, problems.Err()
}

// decoder reads variables into a Config and records a problem for each
// invalid value, leaving the default in place.
type decoder struct {
	getenv   Getenv
	problems *Error
}

func (d decoder) lookup(name string) (string, bool) {
	value := strings.TrimSpace(d.getenv(name))
	return value, value != ""
}

func (d decoder) decodeServer(cfg *Config) {
	if host, ok := d.lookup("HOST"); ok {
		if net.ParseIP(host) == nil && !isDNSName(host) {
			d.problems.Add("HOST: invalid value %q: must be an IP address (such as 0.0.0.0 or ::) or a host name, without a port", host)
		} else {
			cfg.Host = host
		}
	}

	if value, ok := d.lookup("PORT"); ok {
		port, err := strconv.Atoi(value)
		if err != nil || port < 1 || port > 65535 {
			d.problems.Add("PORT: invalid value %q: must be a number from 1 to 65535", value)
		} else {
			cfg.Port = port
		}
	}

	if value, ok := d.lookup("PROXY_DOMAIN"); ok {
		domain := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(value), "."), ".")
		if !isDNSName(domain) {
			d.problems.Add("PROXY_DOMAIN: invalid value %q: must be a DNS name such as apps.example.com", value)
		} else {
			cfg.ProxyDomain = domain
		}
	}

	d.duration("SHUTDOWN_TIMEOUT", &cfg.ShutdownTimeout)

	if path, ok := d.lookup("PAASTIS_CONFIG"); ok {
		cfg.ConfigFile = path
	}
}

func (d decoder) decodeRegistry(cfg *Config) {
	d.choice("REGISTRY_TYPE", &cfg.RegistryType, RegistryInMemory, RegistryRedis)

	if value, ok := d.lookup("REGISTRY_IGNORED_APPS"); ok {
		for _, pattern := range splitList(value) {
			if err := validatePattern(pattern); err != nil {
				d.problems.Add("REGISTRY_IGNORED_APPS: invalid pattern %q: %v", pattern, err)
				continue
			}
			cfg.IgnoredApps = append(cfg.IgnoredApps, pattern)
		}
	}

	urlName := "REDIS_URL"
	if _, ok := d.lookup(urlName); !ok {
		if _, ok := d.lookup("REGISTRY_REDIS_URL"); ok {
			urlName = "REGISTRY_REDIS_URL"
		}
	}
	if value, ok := d.lookup(urlName); ok {
		cfg.RedisURL = value
	}
	if cfg.RegistryType == RegistryRedis {
		if err := validateRedisURL(cfg.RedisURL); err != nil {
			d.problems.Add("%s: invalid value %q: %v", urlName, redactURL(cfg.RedisURL), err)
		}
	}
	if value, ok := d.lookup("REDIS_KEY_PREFIX"); ok {
		cfg.RedisKeyPrefix = value
	}
	if value, ok := d.lookup("REDIS_SENTINEL_MASTER"); ok {
		cfg.RedisSentinelMaster = value
	}

	if value, ok := d.lookup("REDIS_CLUSTER_ADDRS"); ok {
		for _, address := range splitList(value) {
			if err := validateHostPort(address); err != nil {
				d.problems.Add("REDIS_CLUSTER_ADDRS: invalid address %q: %v", address, err)
				continue
			}
			cfg.RedisClusterAddrs = append(cfg.RedisClusterAddrs, address)
		}
	}

	d.duration("REDIS_FLUSH_INTERVAL", &cfg.RedisFlushInterval)
	d.duration("REDIS_LEASE_TTL", &cfg.RedisLeaseTTL)
	if cfg.RedisLeaseTTL < time.Second {
		d.problems.Add("REDIS_LEASE_TTL: invalid value %q: must be at least 1s, because the lease is renewed every third of it", cfg.RedisLeaseTTL)
	}
}

func (d decoder) decodeStartAndStop(cfg *Config) {
	if expr, ok := d.lookup("START_AND_STOP_CHECKING_INTERVAL_CRON"); ok {
		if _, err := ParseCron(expr); err != nil {
			d.problems.Add("START_AND_STOP_CHECKING_INTERVAL_CRON: %v", err)
		} else {
			cfg.CheckingCron = expr
		}
	}

	if value, ok := d.lookup("START_AND_STOP_MAX_IDLE_TIME"); ok {
		idleTime, err := parseIdleTime(value)
		if err != nil {
			d.problems.Add("START_AND_STOP_MAX_IDLE_TIME: invalid value %q: %v", value, err)
		} else {
			cfg.MaxIdleTime = idleTime
		}
	}
}

func (d decoder) decodeProvider(cfg *Config) {
	if value, ok := d.lookup("PROVIDER_NAME"); ok {
		var names []string
		for _, item := range splitList(value) {
			name := strings.ToLower(item)
			switch name {
			case ProviderLocal, ProviderScalingo, ProviderCleverCloud:
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			default:
				d.problems.Add("PROVIDER_NAME: unknown provider %q: accepted values are %s, %s, %s, or several of them separated by commas",
					item, ProviderLocal, ProviderScalingo, ProviderCleverCloud)
			}
		}
		if len(names) > 0 {
			cfg.ProviderNames = names
		}
	}
	if path, ok := d.lookup("PROVIDER_LOCAL_CONFIG"); ok {
		cfg.LocalConfig = path
	}
}

func (d decoder) decodeHooks(cfg *Config) {
	cfg.Hooks.BeforeStart, _ = d.lookup("HOOKS_BEFORE_START")
	cfg.Hooks.AfterStart, _ = d.lookup("HOOKS_AFTER_START")
	cfg.Hooks.BeforeStop, _ = d.lookup("HOOKS_BEFORE_STOP")
	cfg.Hooks.AfterStop, _ = d.lookup("HOOKS_AFTER_STOP")
	d.duration("HOOKS_TIMEOUT", &cfg.HooksTimeout)
}

func (d decoder) decodeSystemAPI(cfg *Config) {
	if value, ok := d.lookup("ROUTING_SYSTEM_API_ENABLED"); ok {
		switch strings.ToLower(value) {
		case "true", "1", "yes":
			cfg.SystemAPIEnabled = true
		case "false", "0", "no":
			cfg.SystemAPIEnabled = false
		default:
			d.problems.Add("ROUTING_SYSTEM_API_ENABLED: invalid value %q: accepted values are true, false, 1, 0, yes, no", value)
		}
	}
	cfg.SystemAPIToken, _ = d.lookup("ROUTING_SYSTEM_API_TOKEN")

	if value, ok := d.lookup("WAKE_TIMEOUT"); ok {
		timeout, err := parseDurationOrSeconds(value)
		if err != nil {
			d.problems.Add("WAKE_TIMEOUT: invalid value %q: %v", value, err)
		} else {
			cfg.WakeTimeout = timeout
		}
	}
}

func (d decoder) decodeLogging(cfg *Config) {
	if value, ok := d.lookup("LOG_LEVEL"); ok {
		switch strings.ToLower(value) {
		case "debug":
			cfg.LogLevel = slog.LevelDebug
		case "info":
			cfg.LogLevel = slog.LevelInfo
		case "warn":
			cfg.LogLevel = slog.LevelWarn
		case "error":
			cfg.LogLevel = slog.LevelError
		default:
			d.problems.Add("LOG_LEVEL: invalid value %q: accepted values are debug, info, warn, error", value)
		}
	}
	d.choice("LOG_FORMAT", &cfg.LogFormat, LogFormatText, LogFormatJSON)
}

// choice sets target to the value of the variable name when it is one of
// accepted, compared without regard to case.
func (d decoder) choice(name string, target *string, accepted ...string) {
	value, ok := d.lookup(name)
	if !ok {
		return
	}
	for _, candidate := range accepted {
		if strings.EqualFold(value, candidate) {
			*target = candidate
			return
		}
	}
	d.problems.Add("%s: invalid value %q: accepted values are %s", name, value, strings.Join(accepted, ", "))
}

// duration sets target to the value of the variable name, a positive Go
// duration.
func (d decoder) duration(name string, target *time.Duration) {
	value, ok := d.lookup(name)
	if !ok {
		return
	}
	parsed, err := time.ParseDuration(value)
	if err != nil || parsed <= 0 {
		d.problems.Add("%s: invalid value %q: must be a positive Go duration such as 500ms, 30s or 2m", name, value)
		return
	}
	*target = parsed
}

// parseIdleTime parses a max idle time: a bare integer is a number of
// minutes, as in the original paastis, and anything else a Go duration.
func parseIdleTime(value string) (time.Duration, error) {
	return parsePositive(value, time.Minute, "a whole number of minutes (such as 15 or 90) or a Go duration (such as 90s, 2h or 1h30m)")
}

// parseDurationOrSeconds parses a bare integer as seconds, and anything else
// as a Go duration.
func parseDurationOrSeconds(value string) (time.Duration, error) {
	return parsePositive(value, time.Second, "a whole number of seconds (such as 60) or a Go duration (such as 90s or 2m)")
}

// parsePositive parses a bare integer as a count of unit, and anything else
// as a Go duration. The result must be positive.
func parsePositive(value string, unit time.Duration, expected string) (time.Duration, error) {
	if count, err := strconv.ParseInt(value, 10, 64); err == nil {
		if count <= 0 {
			return 0, fmt.Errorf("must be positive: use %s", expected)
		}
		if maxCount := math.MaxInt64 / int64(unit); count > maxCount {
			return 0, fmt.Errorf("too large: the maximum is %d, which is %s", maxCount, time.Duration(maxCount)*unit)
		}
		return time.Duration(count) * unit, nil
	}

	parsed, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("must be %s", expected)
	}
	if parsed <= 0 {
		return 0, fmt.Errorf("must be positive: use %s", expected)
	}
	return parsed, nil
}

// isDNSName reports whether name is a host name made of dot-separated labels
// of letters, digits and hyphens, each 1 to 63 characters long and neither
// starting nor ending with a hyphen (RFC 1123), and at most 253 characters
// in all.
func isDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := range len(label) {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validateHostPort checks a "host:port" address with a numeric port.
func validateHostPort(address string) error {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("must be host:port, such as 10.0.0.1:6379")
	}
	if host == "" {
		return fmt.Errorf("missing host: use host:port, such as 10.0.0.1:6379")
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return fmt.Errorf("the port must be a number from 1 to 65535")
	}
	return nil
}

// validateRedisURL checks that a Redis URL has the redis:// or rediss://
// scheme and a host. The Redis registry checks the rest when it connects.
func validateRedisURL(rawURL string) error {
	const expected = "use redis://[[user]:password@]host:port[/db], or rediss:// for TLS"
	parsed, err := url.Parse(rawURL)
	if err != nil {
		// The error of url.Parse repeats the URL, password included.
		return fmt.Errorf("not a URL: %s", expected)
	}
	if parsed.Scheme != "redis" && parsed.Scheme != "rediss" {
		return fmt.Errorf("unsupported scheme: %s", expected)
	}
	if parsed.Host == "" {
		return fmt.Errorf("missing host: %s", expected)
	}
	return nil
}

// redactURL masks the password of a URL, even when the URL does not parse.
// A user name without a password is masked too, in case it is a password
// written without its leading colon.
func redactURL(rawURL string) string {
	if parsed, err := url.Parse(rawURL); err == nil {
		if parsed.User == nil {
			return rawURL
		}
		if _, hasPassword := parsed.User.Password(); !hasPassword {
			parsed.User = url.User("xxxxx")
		}
		return parsed.Redacted()
	}
	_, rest, found := strings.Cut(rawURL, "://")
	if !found {
		return rawURL
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return rawURL
	}
	return rawURL[:len(rawURL)-len(rest)] + "xxxxx" + rest[at:]
}
