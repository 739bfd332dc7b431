package clevercloud

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signature methods of OAuth 1.0a that the Clever Cloud API accepts.
const (
	SignatureHMACSHA512 = "HMAC-SHA512"
	SignatureHMACSHA1   = "HMAC-SHA1"
	SignaturePlaintext  = "PLAINTEXT"
)

// Defaults of Options.
const (
	DefaultAPIURL           = "https://api.clever-cloud.com/v2"
	DefaultSignatureMethod  = SignatureHMACSHA512
	DefaultConcurrency      = 4
	DefaultRateLimit        = 10.0
	DefaultOperationTimeout = 60 * time.Second
	DefaultRequestTimeout   = 15 * time.Second
	DefaultPollInterval     = 2 * time.Second
	DefaultMaxAttempts      = 4
	DefaultRetryBaseDelay   = 500 * time.Millisecond
	DefaultRetryMaxDelay    = 30 * time.Second
	DefaultUpstreamScheme   = "https"
)

// maxConcurrency bounds PROVIDER_CLEVER_CONCURRENCY, so that a typo cannot
// open hundreds of connections to the API.
const maxConcurrency = 64

// Environment variables read by OptionsFromEnv.
const (
	EnvAPIHost          = "PROVIDER_CLEVER_API_HOST"
	EnvConsumerKey      = "PROVIDER_CLEVER_OAUTH_CONSUMER_KEY"
	EnvConsumerSecret   = "PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET"
	EnvToken            = "PROVIDER_CLEVER_TOKEN"
	EnvTokenSecret      = "PROVIDER_CLEVER_SECRET"
	EnvSignatureMethod  = "PROVIDER_CLEVER_SIGNATURE_METHOD"
	EnvConcurrency      = "PROVIDER_CLEVER_CONCURRENCY"
	EnvRateLimit        = "PROVIDER_CLEVER_RATE_LIMIT"
	EnvOperationTimeout = "PROVIDER_CLEVER_OPERATION_TIMEOUT"
	EnvVHost            = "PROVIDER_CLEVER_VHOST"
	EnvUpstreamScheme   = "PROVIDER_CLEVER_UPSTREAM_SCHEME"
)

// Options configures a Provider. Zero values select the defaults above.
type Options struct {
	// APIURL is the base URL of the API v2. An origin without a path, such
	// as "https://api.clever-cloud.com", gets "/v2" appended. Default
	// DefaultAPIURL. Env: PROVIDER_CLEVER_API_HOST.
	APIURL string

	// ConsumerKey and ConsumerSecret identify the OAuth consumer; Token and
	// TokenSecret are the user's OAuth token. All four are required. Env:
	// PROVIDER_CLEVER_OAUTH_CONSUMER_KEY, PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET,
	// PROVIDER_CLEVER_TOKEN, PROVIDER_CLEVER_SECRET.
	ConsumerKey    string
	ConsumerSecret string
	Token          string
	TokenSecret    string

	// SignatureMethod is HMAC-SHA512 (the default, and Clever Cloud's
	// recommendation), HMAC-SHA1 or PLAINTEXT. PLAINTEXT sends the secrets
	// in every request. Env: PROVIDER_CLEVER_SIGNATURE_METHOD.
	SignatureMethod string

	// Concurrency is the maximum number of API requests in flight. Default
	// 4. Env: PROVIDER_CLEVER_CONCURRENCY.
	Concurrency int
	// RateLimit is the maximum number of API requests per second, with
	// bursts of the same size. Zero means DefaultRateLimit and a negative
	// value means no limit. Env: PROVIDER_CLEVER_RATE_LIMIT ("0" for no
	// limit).
	RateLimit float64

	// OperationTimeout bounds a whole start (redeploy until the deployment
	// is OK) or stop (undeploy until no instance is left). Default 60s.
	// Env: PROVIDER_CLEVER_OPERATION_TIMEOUT, in seconds.
	OperationTimeout time.Duration
	// RequestTimeout bounds each attempt of an API request. Default 15s.
	RequestTimeout time.Duration
	// PollInterval is the delay between two reads of a deployment or of
	// the instances during a start or a stop. Default 2s.
	PollInterval time.Duration

	// MaxAttempts is the number of attempts of an API request, the first
	// included, when it meets 429, 5xx or a connection error. Default 4;
	// 1 disables retries.
	MaxAttempts int
	// RetryBaseDelay is the backoff before the first retry; it doubles on
	// each retry up to RetryMaxDelay, with random jitter. A Retry-After
	// header replaces it. Defaults 500ms and 30s.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration

	// VHost selects the vhost that becomes an app's upstream: the vhost
	// equal to it, or else the first one that ends with "." + VHost. Empty,
	// or no match, selects the app's first vhost. Env: PROVIDER_CLEVER_VHOST.
	VHost string
	// UpstreamScheme is the scheme of upstream URLs, "https" (the default)
	// or "http" for the fake API and plain-HTTP setups. Env:
	// PROVIDER_CLEVER_UPSTREAM_SCHEME.
	UpstreamScheme string

	// HTTPClient sends the API requests; its transport gets the OAuth
	// signing. Nil means a client with connection timeouts and TLS
	// verification on.
	HTTPClient *http.Client
	// Logger receives the provider's logs; nil discards them.
	Logger *slog.Logger
	// OnAPICall, when set, is called after each API request attempt, for
	// metrics. operation is a bounded name such as "list_apps", status is 0
	// when no response came.
	OnAPICall func(operation string, status int, duration time.Duration, err error)
}

// OptionsFromEnv reads this provider's environment variables. It returns
// every problem found, each naming the variable, the bad value and the
// accepted values. Secrets never appear in the problems.
func OptionsFromEnv(getenv func(string) string) (Options, []string) {
	var opts Options
	var problems []string
	invalid := func(name, value, accepted string) {
		problems = append(problems, fmt.Sprintf("%s: invalid value %q: %s", name, value, accepted))
	}

	if raw := strings.TrimSpace(getenv(EnvAPIHost)); raw != "" {
		apiURL, problem := normalizeAPIURL(raw)
		if problem != "" {
			problems = append(problems, EnvAPIHost+": "+problem)
		}
		opts.APIURL = apiURL
	}

	for _, secret := range []struct {
		name  string
		field *string
		what  string
	}{
		{EnvConsumerKey, &opts.ConsumerKey, "the key of your Clever Cloud OAuth consumer"},
		{EnvConsumerSecret, &opts.ConsumerSecret, "the secret of your Clever Cloud OAuth consumer"},
		{EnvToken, &opts.Token, "your Clever Cloud OAuth token"},
		{EnvTokenSecret, &opts.TokenSecret, "the secret of your Clever Cloud OAuth token"},
	} {
		*secret.field = strings.TrimSpace(getenv(secret.name))
		if *secret.field == "" {
			problems = append(problems, fmt.Sprintf("%s: missing: set it to %s", secret.name, secret.what))
		}
	}

	if raw := strings.TrimSpace(getenv(EnvSignatureMethod)); raw != "" {
		method, ok := normalizeSignatureMethod(raw)
		if !ok {
			invalid(EnvSignatureMethod, raw, "must be HMAC-SHA512, HMAC-SHA1 or PLAINTEXT")
		}
		opts.SignatureMethod = method
	}

	if raw := strings.TrimSpace(getenv(EnvConcurrency)); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxConcurrency {
			invalid(EnvConcurrency, raw, fmt.Sprintf("must be a whole number from 1 to %d", maxConcurrency))
		}
		opts.Concurrency = n
	}

	if raw := strings.TrimSpace(getenv(EnvRateLimit)); raw != "" {
		perSecond, err := strconv.ParseFloat(raw, 64)
		switch {
		case err != nil || perSecond < 0 || math.IsInf(perSecond, 0) || math.IsNaN(perSecond):
			invalid(EnvRateLimit, raw, "must be a number of requests per second, or 0 for no limit")
		case perSecond == 0:
			opts.RateLimit = -1
		default:
			opts.RateLimit = perSecond
		}
	}

	if raw := strings.TrimSpace(getenv(EnvOperationTimeout)); raw != "" {
		seconds, err := strconv.Atoi(raw)
		if err != nil || seconds < 1 {
			invalid(EnvOperationTimeout, raw, "must be a whole number of seconds, at least 1")
		}
		opts.OperationTimeout = time.Duration(seconds) * time.Second
	}

	if raw := strings.TrimSpace(getenv(EnvVHost)); raw != "" {
		if strings.Contains(raw, "://") || strings.ContainsAny(raw, " ?#*") {
			invalid(EnvVHost, raw, `must be a vhost or a domain suffix without scheme, such as "example.com"`)
		}
		opts.VHost = strings.ToLower(raw)
	}

	if raw := strings.TrimSpace(getenv(EnvUpstreamScheme)); raw != "" {
		scheme := strings.ToLower(raw)
		if scheme != "https" && scheme != "http" {
			invalid(EnvUpstreamScheme, raw, "must be https or http")
		}
		opts.UpstreamScheme = scheme
	}

	return opts, problems
}

// normalizeAPIURL checks an API base URL and appends "/v2" to an origin.
// It returns a problem sentence instead of an error, for OptionsFromEnv.
func normalizeAPIURL(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Sprintf("invalid value %q: must be an http or https URL such as %q", raw, "https://api.clever-cloud.com")
	}
	if u.User != nil {
		return "", "invalid value: must not contain a user or password"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Sprintf("invalid value %q: must not contain a query or fragment", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	if u.Path == "" {
		u.Path = "/v2"
	}
	return u.String(), ""
}

func normalizeSignatureMethod(raw string) (string, bool) {
	method := strings.ToUpper(strings.TrimSpace(raw))
	switch method {
	case SignatureHMACSHA512, SignatureHMACSHA1, SignaturePlaintext:
		return method, true
	}
	return method, false
}
