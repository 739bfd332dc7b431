package config

// Variable documents one environment variable that Load reads.
type Variable struct {
	// Name is the variable name, such as "PORT".
	Name string
	// Default is the value used when the variable is unset or empty, as it
	// would be written in the environment. Empty means no value.
	Default string
	// Description is one line: what the variable sets, its unit and its
	// accepted values.
	Description string
	// Section is the heading under which env.sample and the README list the
	// variable.
	Section string
}

// Variables lists every environment variable that Load reads, in the order
// of env.sample. Tests check env.sample against it, and the README table
// should list the same variables. The optional variables of the Scalingo
// and Clever Cloud providers, and of the Redis registry, are not listed,
// because their packages parse them.
var Variables = []Variable{
	{"HOST", "0.0.0.0", "Address the proxy listens on: an IP address or a host name.", "Server"},
	{"PORT", "3000", "TCP port the proxy listens on, from 1 to 65535.", "Server"},
	{"PROXY_DOMAIN", "", "Domain under which apps are served, so that `<app>.<domain>` reaches the app. A leading dot is stripped.", "Server"},
	{"SHUTDOWN_TIMEOUT", "30s", "Maximum time a graceful shutdown waits for requests in progress (Go duration).", "Server"},
	{"PAASTIS_CONFIG", "", "Path of an optional YAML file of per-app rules (max_idle_time, readiness_path, ignored).", "Server"},

	{"REGISTRY_TYPE", RegistryInMemory, "Where app records are stored: in-memory (one instance) or redis (shared by several instances).", "Registry"},
	{"REGISTRY_IGNORED_APPS", "", "Comma-separated apps that paastis never starts or stops. A * matches any characters.", "Registry"},
	{"REDIS_URL", "redis://127.0.0.1:6379", "Redis server as a redis:// or rediss:// (TLS) URL. With REDIS_SENTINEL_MASTER, its host is a Sentinel.", "Registry"},
	{"REGISTRY_REDIS_URL", "", "Legacy name of REDIS_URL, read only when REDIS_URL is unset.", "Registry"},
	{"REDIS_KEY_PREFIX", "paastis:", "Prefix of every Redis key that paastis writes.", "Registry"},
	{"REDIS_SENTINEL_MASTER", "", "Name of the master set that the Sentinel of REDIS_URL monitors. Empty means no Sentinel.", "Registry"},
	{"REDIS_CLUSTER_ADDRS", "", "Comma-separated host:port seed nodes of a Redis Cluster. Empty means no cluster.", "Registry"},
	{"REDIS_FLUSH_INTERVAL", "5s", "How often each instance writes the activity it saw to Redis (Go duration).", "Registry"},
	{"REDIS_LEASE_TTL", "30s", "Expiry of the sweep lease and of the start and stop locks in Redis, at least 1s. When the sweeping instance dies, another takes over within about this time (Go duration).", "Registry"},

	{"START_AND_STOP_CHECKING_INTERVAL_CRON", "* * * * *", "Schedule of the sweep that stops idle apps: 5 cron fields, 6 with seconds first, or a descriptor such as @every 30s.", "Start & Stop"},
	{"START_AND_STOP_MAX_IDLE_TIME", "15", "Time without requests after which an app is stopped: whole minutes, or a Go duration such as 90s or 1h30m.", "Start & Stop"},

	{"PROVIDER_NAME", ProviderLocal, "Provider that runs the apps: local, scalingo or clever-cloud, or several separated by commas (the first one wins for apps of the same name).", "Providers"},
	{"PROVIDER_LOCAL_CONFIG", "examples/local/apps.yaml", "Apps file of the local provider.", "Providers"},
	{"PROVIDER_SCALINGO_API_TOKEN", "", "Scalingo API token, required with PROVIDER_NAME=scalingo.", "Providers"},
	{"PROVIDER_CLEVER_OAUTH_CONSUMER_KEY", "", "Clever Cloud OAuth consumer key, required with PROVIDER_NAME=clever-cloud.", "Providers"},
	{"PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET", "", "Clever Cloud OAuth consumer secret, required with PROVIDER_NAME=clever-cloud.", "Providers"},
	{"PROVIDER_CLEVER_TOKEN", "", "Clever Cloud user token, required with PROVIDER_NAME=clever-cloud.", "Providers"},
	{"PROVIDER_CLEVER_SECRET", "", "Clever Cloud user secret, required with PROVIDER_NAME=clever-cloud.", "Providers"},

	{"HOOKS_BEFORE_START", "", "Shell command run before an app starts. A failure cancels the start.", "Hooks"},
	{"HOOKS_AFTER_START", "", "Shell command run after an app started.", "Hooks"},
	{"HOOKS_BEFORE_STOP", "", "Shell command run before an app stops. A failure cancels the stop.", "Hooks"},
	{"HOOKS_AFTER_STOP", "", "Shell command run after an app stopped.", "Hooks"},
	{"HOOKS_TIMEOUT", "30s", "Maximum run time of one hook before its process group is killed (Go duration).", "Hooks"},

	{"ROUTING_SYSTEM_API_ENABLED", "false", "Turns on the system API: true, false, 1, 0, yes or no.", "System API"},
	{"ROUTING_SYSTEM_API_TOKEN", "", "Bearer token that system API requests must carry, required when the system API is on.", "System API"},

	{"ADMIN_HOST", "127.0.0.1", "Address the admin API, dashboard and metrics listen on. Without ADMIN_API_TOKEN, only a loopback address or localhost is accepted.", "Admin API"},
	{"ADMIN_PORT", "3001", "TCP port of the admin API, dashboard and metrics, from 1 to 65535.", "Admin API"},
	{"ADMIN_API_TOKEN", "", "Bearer token of the admin API and password of the dashboard. Required when ADMIN_HOST is not a loopback address.", "Admin API"},
	{"PAASTIS_ADMIN_URL", "", "Admin API base URL that the apps, wake and sleep commands call. Default: http://ADMIN_HOST:ADMIN_PORT, with 127.0.0.1 for 0.0.0.0.", "Admin API"},

	{"WAKE_TIMEOUT", "60s", "Maximum time a request waits for its app to start: a Go duration, or whole seconds.", "Waking"},
	{"WAKE_STRATEGY", WakeStrategyAuto, "Requests for a sleeping app that get the waiting page at once: auto (browser navigations), blocking (none: every request waits) or page (every GET and HEAD).", "Waking"},
	{"WAKE_PAGE_TEMPLATE", "", "Path of an html/template file that replaces the built-in waiting page.", "Waking"},
	{"WAKE_SETTLE_DELAY", "0s", "Time waited after an app first responds to its readiness probe, for apps that respond before they are ready (Go duration).", "Waking"},
	{"ACTIVITY_IGNORED_USER_AGENTS", "", "Go regular expression matched against User-Agent. Matching clients (monitors, bots) reach a running app but neither wake it nor count as activity.", "Waking"},

	{"LOG_LEVEL", "info", "Minimum level of the logs written: debug, info, warn or error.", "Logging"},
	{"LOG_FORMAT", LogFormatText, "Log format: text (key=value) or json.", "Logging"},
}
