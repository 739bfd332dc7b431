package clevercloud

import (
	"strings"
	"testing"
	"time"
)

// env returns a getenv over a map, with the four credentials set unless
// the map overrides them.
func env(vars map[string]string) func(string) string {
	all := map[string]string{
		EnvConsumerKey:    "key",
		EnvConsumerSecret: "consumer-secret-value",
		EnvToken:          "token",
		EnvTokenSecret:    "token-secret-value",
	}
	for k, v := range vars {
		all[k] = v
	}
	return func(name string) string { return all[name] }
}

func TestOptionsFromEnvDefaults(t *testing.T) {
	opts, problems := OptionsFromEnv(env(nil))
	if len(problems) > 0 {
		t.Fatalf("problems = %q, want none", problems)
	}
	if opts.ConsumerKey != "key" || opts.ConsumerSecret != "consumer-secret-value" || opts.Token != "token" || opts.TokenSecret != "token-secret-value" {
		t.Errorf("credentials = %+v, want the four variables", opts)
	}

	resolved, err := withDefaults(opts)
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"APIURL", resolved.APIURL, DefaultAPIURL},
		{"SignatureMethod", resolved.SignatureMethod, SignatureHMACSHA512},
		{"Concurrency", resolved.Concurrency, 4},
		{"RateLimit", resolved.RateLimit, DefaultRateLimit},
		{"OperationTimeout", resolved.OperationTimeout, 60 * time.Second},
		{"UpstreamScheme", resolved.UpstreamScheme, "https"},
		{"MaxAttempts", resolved.MaxAttempts, DefaultMaxAttempts},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestOptionsFromEnvValues(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		check func(Options) bool
	}{
		{"API host as an origin gets /v2", map[string]string{EnvAPIHost: "https://api.clever-cloud.com"},
			func(o Options) bool { return o.APIURL == "https://api.clever-cloud.com/v2" }},
		{"API host with a trailing slash gets /v2", map[string]string{EnvAPIHost: "https://api.clever-cloud.com/"},
			func(o Options) bool { return o.APIURL == "https://api.clever-cloud.com/v2" }},
		{"API host with /v2 is kept", map[string]string{EnvAPIHost: "https://api.clever-cloud.com/v2/"},
			func(o Options) bool { return o.APIURL == "https://api.clever-cloud.com/v2" }},
		{"plain HTTP API host for the fake", map[string]string{EnvAPIHost: "http://127.0.0.1:8091"},
			func(o Options) bool { return o.APIURL == "http://127.0.0.1:8091/v2" }},
		{"signature method in lowercase", map[string]string{EnvSignatureMethod: "plaintext"},
			func(o Options) bool { return o.SignatureMethod == SignaturePlaintext }},
		{"concurrency", map[string]string{EnvConcurrency: "8"},
			func(o Options) bool { return o.Concurrency == 8 }},
		{"rate limit", map[string]string{EnvRateLimit: "2.5"},
			func(o Options) bool { return o.RateLimit == 2.5 }},
		{"rate limit zero disables it", map[string]string{EnvRateLimit: "0"},
			func(o Options) bool { return o.RateLimit < 0 }},
		{"operation timeout in seconds", map[string]string{EnvOperationTimeout: "120"},
			func(o Options) bool { return o.OperationTimeout == 2*time.Minute }},
		{"vhost lowercased", map[string]string{EnvVHost: "Example.COM"},
			func(o Options) bool { return o.VHost == "example.com" }},
		{"upstream scheme http", map[string]string{EnvUpstreamScheme: "HTTP"},
			func(o Options) bool { return o.UpstreamScheme == "http" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, problems := OptionsFromEnv(env(tt.vars))
			if len(problems) > 0 {
				t.Fatalf("problems = %q, want none", problems)
			}
			if !tt.check(opts) {
				t.Errorf("options = %+v do not match", opts)
			}
		})
	}
}

func TestOptionsFromEnvProblems(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"API host without scheme", map[string]string{EnvAPIHost: "api.clever-cloud.com"},
			`PROVIDER_CLEVER_API_HOST: invalid value "api.clever-cloud.com": must be an http or https URL`},
		{"API host with a query", map[string]string{EnvAPIHost: "https://api.clever-cloud.com/?x=1"},
			`PROVIDER_CLEVER_API_HOST: invalid value "https://api.clever-cloud.com/?x=1": must not contain a query`},
		{"unknown signature method", map[string]string{EnvSignatureMethod: "RSA-SHA1"},
			`PROVIDER_CLEVER_SIGNATURE_METHOD: invalid value "RSA-SHA1": must be HMAC-SHA512, HMAC-SHA1 or PLAINTEXT`},
		{"concurrency zero", map[string]string{EnvConcurrency: "0"},
			`PROVIDER_CLEVER_CONCURRENCY: invalid value "0": must be a whole number from 1 to 64`},
		{"concurrency not a number", map[string]string{EnvConcurrency: "four"},
			`PROVIDER_CLEVER_CONCURRENCY: invalid value "four"`},
		{"negative rate limit", map[string]string{EnvRateLimit: "-1"},
			`PROVIDER_CLEVER_RATE_LIMIT: invalid value "-1": must be a number of requests per second, or 0 for no limit`},
		{"operation timeout not a number", map[string]string{EnvOperationTimeout: "abc"},
			`PROVIDER_CLEVER_OPERATION_TIMEOUT: invalid value "abc": must be a whole number of seconds`},
		{"operation timeout with a unit", map[string]string{EnvOperationTimeout: "60s"},
			`PROVIDER_CLEVER_OPERATION_TIMEOUT: invalid value "60s"`},
		{"vhost with a scheme", map[string]string{EnvVHost: "https://example.com"},
			`PROVIDER_CLEVER_VHOST: invalid value "https://example.com": must be a vhost or a domain suffix without scheme`},
		{"unknown upstream scheme", map[string]string{EnvUpstreamScheme: "ftp"},
			`PROVIDER_CLEVER_UPSTREAM_SCHEME: invalid value "ftp": must be https or http`},
		{"missing consumer key", map[string]string{EnvConsumerKey: ""},
			`PROVIDER_CLEVER_OAUTH_CONSUMER_KEY: missing`},
		{"missing token secret", map[string]string{EnvTokenSecret: "  "},
			`PROVIDER_CLEVER_SECRET: missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := OptionsFromEnv(env(tt.vars))
			if len(problems) != 1 {
				t.Fatalf("problems = %q, want exactly one", problems)
			}
			if !strings.HasPrefix(problems[0], tt.want) {
				t.Errorf("problem = %q, want it to start with %q", problems[0], tt.want)
			}
		})
	}
}

func TestOptionsFromEnvReportsEveryProblemWithoutSecrets(t *testing.T) {
	_, problems := OptionsFromEnv(env(map[string]string{
		EnvAPIHost:          "https://user:consumer-secret-value@api.clever-cloud.com",
		EnvConcurrency:      "-3",
		EnvOperationTimeout: "0",
		EnvToken:            "",
	}))
	if len(problems) != 4 {
		t.Fatalf("problems = %q, want 4", problems)
	}
	for _, problem := range problems {
		for _, secret := range []string{"consumer-secret-value", "token-secret-value"} {
			if strings.Contains(problem, secret) {
				t.Errorf("problem %q contains a secret", problem)
			}
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	valid := Options{ConsumerKey: "k", ConsumerSecret: "cs", Token: "t", TokenSecret: "ts"}
	tests := []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{"missing credentials", func(o *Options) { o.ConsumerKey, o.TokenSecret = "", "" }, "missing ConsumerKey (PROVIDER_CLEVER_OAUTH_CONSUMER_KEY), TokenSecret (PROVIDER_CLEVER_SECRET)"},
		{"unknown signature method", func(o *Options) { o.SignatureMethod = "MD5" }, `invalid SignatureMethod "MD5"`},
		{"API URL without scheme", func(o *Options) { o.APIURL = "api.clever-cloud.com" }, "APIURL: invalid value"},
		{"too much concurrency", func(o *Options) { o.Concurrency = 1000 }, "invalid Concurrency 1000"},
		{"unknown upstream scheme", func(o *Options) { o.UpstreamScheme = "ws" }, `invalid UpstreamScheme "ws"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid
			tt.modify(&opts)
			_, err := New(opts)
			if err == nil {
				t.Fatal("New accepted the options")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	if _, err := New(valid); err != nil {
		t.Errorf("New with valid options: %v", err)
	}
}
