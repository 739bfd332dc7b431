// Package config loads the paastis configuration in three steps: defaults,
// then decoding (a .env file, the process environment over it, and an
// optional YAML file of per-app rules), then validation that reports every
// problem at once in an *Error.
//
// Provider-specific variables (PROVIDER_SCALINGO_*, PROVIDER_CLEVER_*) are
// parsed by the provider packages, which add their problems to the same
// *Error. Load only checks that the credentials of the chosen provider are
// present.
package config

import (
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Registry types accepted in REGISTRY_TYPE.
const (
	RegistryInMemory = "in-memory"
	RegistryRedis    = "redis"
)

// Provider names accepted in PROVIDER_NAME.
const (
	ProviderLocal       = "local"
	ProviderScalingo    = "scalingo"
	ProviderCleverCloud = "clever-cloud"
)

// Log formats accepted in LOG_FORMAT.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Config is the whole paastis configuration. Load fills it, and Default
// returns it with every default set.
type Config struct {
	// Host is the address the proxy listens on, an IP address or a host
	// name. Env HOST, default "0.0.0.0".
	Host string
	// Port is the TCP port the proxy listens on, from 1 to 65535. Env PORT,
	// default 3000.
	Port int
	// ProxyDomain is the domain under which apps are served, so that a
	// request for Host "<app>.<ProxyDomain>" goes to the app. It is a
	// lowercase DNS name without a leading or trailing dot. Env
	// PROXY_DOMAIN, default empty.
	ProxyDomain string
	// ShutdownTimeout is the maximum time that a graceful shutdown waits for
	// requests in progress. Env SHUTDOWN_TIMEOUT (Go duration), default 30s.
	ShutdownTimeout time.Duration
	// ConfigFile is the path of the optional YAML file of per-app rules.
	// Env PAASTIS_CONFIG, default empty (no file).
	ConfigFile string

	// RegistryType selects where app records are stored: RegistryInMemory
	// for one instance, RegistryRedis to share them between instances.
	// Env REGISTRY_TYPE, default "in-memory".
	RegistryType string
	// IgnoredApps are the apps that paastis neither starts nor stops, as
	// patterns where "*" matches any characters. Env REGISTRY_IGNORED_APPS
	// (comma-separated), default empty.
	IgnoredApps Patterns
	// RedisURL is the Redis server, as a redis:// or rediss:// URL. With
	// RedisSentinelMaster set, its host is a Sentinel. Env
	// REDIS_URL, or the legacy REGISTRY_REDIS_URL when REDIS_URL is unset,
	// default "redis://127.0.0.1:6379". It may contain a password, which
	// LogValue masks.
	RedisURL string
	// RedisKeyPrefix starts every Redis key that paastis writes, so that
	// several deployments can share one database. Env REDIS_KEY_PREFIX,
	// default "paastis:".
	RedisKeyPrefix string
	// RedisSentinelMaster is the name of the master set that the Sentinel
	// of RedisURL monitors. Empty means no Sentinel. Env
	// REDIS_SENTINEL_MASTER, default empty.
	RedisSentinelMaster string
	// RedisClusterAddrs are the "host:port" seed nodes of a Redis Cluster.
	// Empty means no cluster. Env REDIS_CLUSTER_ADDRS (comma-separated),
	// default empty.
	RedisClusterAddrs []string
	// RedisFlushInterval is how often this instance writes the activity it
	// saw to Redis. Env REDIS_FLUSH_INTERVAL (Go duration), default 5s.
	RedisFlushInterval time.Duration
	// RedisLeaseTTL is the expiry of the sweep lease and of the per-app
	// start and stop locks in Redis. Their holder renews them every third
	// of it, so when the instance that sweeps dies, another takes over
	// within about this time. Env REDIS_LEASE_TTL (Go duration, at least
	// 1s), default 30s.
	RedisLeaseTTL time.Duration

	// CheckingCron is the schedule of the sweep that stops idle apps, in
	// the syntax that ParseCron accepts. Env
	// START_AND_STOP_CHECKING_INTERVAL_CRON, default "* * * * *" (every
	// minute).
	CheckingCron string
	// MaxIdleTime is how long an app may go without requests before the
	// sweep stops it. AppRules may change it per app. Env
	// START_AND_STOP_MAX_IDLE_TIME (whole minutes, or a Go duration),
	// default 15 minutes.
	MaxIdleTime time.Duration

	// ProviderNames lists the providers that run the apps (ProviderLocal,
	// ProviderScalingo, ProviderCleverCloud) in the order of PROVIDER_NAME,
	// a comma list, without duplicates. When two providers report an app of
	// the same name, the first one listed is routed. Env PROVIDER_NAME,
	// default "local".
	ProviderNames []string
	// LocalConfig is the path of the apps file of the local provider. Env
	// PROVIDER_LOCAL_CONFIG, default "examples/local/apps.yaml".
	LocalConfig string

	// Hooks are the shell commands run around starts and stops. Empty
	// commands are skipped. Env HOOKS_BEFORE_START, HOOKS_AFTER_START,
	// HOOKS_BEFORE_STOP and HOOKS_AFTER_STOP, default empty.
	Hooks HookCommands
	// HooksTimeout is the maximum run time of one hook, after which its
	// whole process group is killed. Env HOOKS_TIMEOUT (Go duration),
	// default 30s.
	HooksTimeout time.Duration

	// SystemAPIEnabled turns on the system API, which is compatible with
	// the HTTP API of the original Node.js paastis. Env ROUTING_SYSTEM_API_ENABLED (true, false, 1, 0,
	// yes or no), default false.
	SystemAPIEnabled bool
	// SystemAPIToken is the bearer token that system API requests must
	// carry. It is required when SystemAPIEnabled is true. Never log it.
	// Env ROUTING_SYSTEM_API_TOKEN, default empty.
	SystemAPIToken string

	// AdminHost is the address the admin API, the dashboard and the
	// metrics listen on. Without AdminAPIToken it must be a loopback
	// address or "localhost". Env ADMIN_HOST, default "127.0.0.1".
	AdminHost string
	// AdminPort is the TCP port of the admin listener, from 1 to 65535.
	// Env ADMIN_PORT, default 3001.
	AdminPort int
	// AdminAPIToken is the bearer token that admin API requests must
	// carry, and that the dashboard requests at login. Empty means no
	// authentication, which is accepted only on a loopback AdminHost.
	// Never log it. Env ADMIN_API_TOKEN, default empty.
	AdminAPIToken string
	// AdminURL is the base URL of the admin API that the CLI commands
	// (apps, wake, sleep) call. Empty means AdminBaseURL derives it from
	// AdminHost and AdminPort. Env PAASTIS_ADMIN_URL, default empty.
	AdminURL string

	// WakeTimeout is the maximum time that a request waits for its app to
	// start. Env WAKE_TIMEOUT (Go duration, or whole seconds), default 60s.
	WakeTimeout time.Duration
	// WakeStrategy selects the requests for a sleeping app that get the
	// waiting page at once instead of waiting for the start:
	// WakeStrategyAuto for browser navigations, WakeStrategyBlocking for
	// none, WakeStrategyPage for every GET and HEAD. Env WAKE_STRATEGY,
	// default "auto".
	WakeStrategy string
	// WakePageTemplate is the path of an html/template file that replaces
	// the built-in waiting page. Env WAKE_PAGE_TEMPLATE, default empty (the
	// built-in page).
	WakePageTemplate string
	// WakeSettleDelay is waited after an app first responds to its
	// readiness probe, for apps that respond before they are ready. Env
	// WAKE_SETTLE_DELAY (Go duration, 0 or more), default 0.
	WakeSettleDelay time.Duration
	// IgnoredUserAgents matches the User-Agent headers of monitors and
	// bots, whose requests reach a running app but neither wake a sleeping
	// one nor count as activity. Nil ignores no client. Env
	// ACTIVITY_IGNORED_USER_AGENTS (Go regular expression), default empty.
	IgnoredUserAgents *regexp.Regexp

	// LogLevel is the minimum level of the log records written. Env
	// LOG_LEVEL (debug, info, warn or error), default info.
	LogLevel slog.Level
	// LogFormat is LogFormatText for logfmt-style lines or LogFormatJSON
	// for one JSON object a line. Env LOG_FORMAT, default "text".
	LogFormat string

	// AppRules are the per-app rules of the YAML file in ConfigFile, in
	// file order. Use RuleFor to get the rule that applies to one app.
	AppRules []AppRule
}

// HookCommands are the shell commands of the four hook stages. Its fields
// match those of hooks.Commands, so one converts to the other.
type HookCommands struct {
	BeforeStart string
	AfterStart  string
	BeforeStop  string
	AfterStop   string
}

// AppRule is the configuration of the apps whose name matches Pattern.
type AppRule struct {
	// Pattern is an app name where "*" matches any characters, compared
	// without regard to case. In the result of RuleFor, it is the app name.
	Pattern string
	// MaxIdleTime replaces Config.MaxIdleTime for these apps. Zero keeps
	// the global value.
	MaxIdleTime time.Duration
	// ReadinessPath is the path probed after a start. Empty keeps the
	// provider's path.
	ReadinessPath string
	// Ignored excludes these apps from starts and stops, like
	// REGISTRY_IGNORED_APPS.
	Ignored bool

	// ignoredSet records an explicit "ignored: false" in the file, so that
	// this rule, and not a later one, decides for the apps it matches.
	ignoredSet bool
}

// Default returns the configuration used when no variable is set.
func Default() *Config {
	return &Config{
		Host:               "0.0.0.0",
		Port:               3000,
		ShutdownTimeout:    30 * time.Second,
		RegistryType:       RegistryInMemory,
		RedisURL:           "redis://127.0.0.1:6379",
		RedisKeyPrefix:     "paastis:",
		RedisFlushInterval: 5 * time.Second,
		RedisLeaseTTL:      30 * time.Second,
		CheckingCron:       "* * * * *",
		MaxIdleTime:        15 * time.Minute,
		ProviderNames:      []string{ProviderLocal},
		LocalConfig:        "examples/local/apps.yaml",
		HooksTimeout:       30 * time.Second,
		WakeTimeout:        60 * time.Second,
		WakeStrategy:       WakeStrategyAuto,
		AdminHost:          "127.0.0.1",
		AdminPort:          3001,
		LogLevel:           slog.LevelInfo,
		LogFormat:          LogFormatText,
	}
}

// RuleFor merges the rules that apply to the app called name. For each
// field, the first matching rule in AppRules that sets it wins, and
// Config.MaxIdleTime fills MaxIdleTime when none does. Ignored is also true
// when name matches IgnoredApps, because the environment takes precedence
// over the file.
func (c *Config) RuleFor(name string) AppRule {
	merged := AppRule{Pattern: name, MaxIdleTime: c.MaxIdleTime}
	var idleTimeSet, readinessPathSet, ignoredSet bool
	for _, rule := range c.AppRules {
		if !Patterns([]string{rule.Pattern}).Match(name) {
			continue
		}
		if !idleTimeSet && rule.MaxIdleTime > 0 {
			merged.MaxIdleTime = rule.MaxIdleTime
			idleTimeSet = true
		}
		if !readinessPathSet && rule.ReadinessPath != "" {
			merged.ReadinessPath = rule.ReadinessPath
			readinessPathSet = true
		}
		if !ignoredSet && (rule.Ignored || rule.ignoredSet) {
			merged.Ignored = rule.Ignored
			ignoredSet = true
		}
	}
	if c.IgnoredApps.Match(name) {
		merged.Ignored = true
	}
	return merged
}

// LogValue returns the main settings for logging. It leaves out the system
// API token and the hook commands, and masks the Redis password.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host),
		slog.Int("port", c.Port),
		slog.String("proxy_domain", c.ProxyDomain),
		slog.String("provider", strings.Join(c.ProviderNames, ",")),
		slog.String("registry", c.RegistryType),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.Any("ignored_apps", []string(c.IgnoredApps)),
		slog.Int("app_rules", len(c.AppRules)),
		slog.String("checking_cron", c.CheckingCron),
		slog.Duration("max_idle_time", c.MaxIdleTime),
		slog.Duration("wake_timeout", c.WakeTimeout),
		slog.String("wake_strategy", c.WakeStrategy),
		slog.Bool("system_api_enabled", c.SystemAPIEnabled),
		slog.String("admin_host", c.AdminHost),
		slog.Int("admin_port", c.AdminPort),
		slog.Bool("admin_api_token_set", c.AdminAPIToken != ""),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
	)
}

// ProviderName returns the first provider of PROVIDER_NAME, which wins for
// apps of the same name.
func (c *Config) ProviderName() string { return c.ProviderNames[0] }
