package scalingo

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Default values of Options.
const (
	DefaultAuthURL          = "https://auth.scalingo.com"
	DefaultRateLimit        = 50
	DefaultConcurrency      = 4
	DefaultOperationTimeout = 60 * time.Second
)

// Environment variables read by OptionsFromEnv.
const (
	envAPIToken         = "PROVIDER_SCALINGO_API_TOKEN"
	envAuthURL          = "PROVIDER_SCALINGO_AUTH_URL"
	envAPIURL           = "PROVIDER_SCALINGO_API_URL"
	envRegions          = "PROVIDER_SCALINGO_REGIONS"
	envLegacyRegion     = "PROVIDER_REGION"
	envRateLimit        = "PROVIDER_SCALINGO_RATE_LIMIT"
	envConcurrency      = "PROVIDER_SCALINGO_CONCURRENCY"
	envOperationTimeout = "PROVIDER_SCALINGO_OPERATION_TIMEOUT"
	envReviewAppsOnly   = "PROVIDER_SCALINGO_REVIEW_APPS_ONLY"
)

// customRegion names the region of PROVIDER_SCALINGO_API_URL when no
// region name is given.
const customRegion = "custom"

// Options configures a Provider. Zero values mean the defaults given on
// each field.
type Options struct {
	// APIToken is the Scalingo API token that the provider exchanges for
	// bearer tokens (PROVIDER_SCALINGO_API_TOKEN). Required. It is never
	// logged, nor included in errors.
	APIToken string
	// AuthURL is the base URL of Scalingo's authentication service, which
	// exchanges the API token and lists the regions
	// (PROVIDER_SCALINGO_AUTH_URL). Empty means DefaultAuthURL.
	AuthURL string
	// APIURL, when set, is the base URL of the only region API to use, and
	// the provider skips region discovery (PROVIDER_SCALINGO_API_URL). The
	// region is named Regions[0], or "custom" when Regions is empty.
	APIURL string
	// Regions restricts the apps to these regions, in their routing
	// priority order (PROVIDER_SCALINGO_REGIONS, or the legacy
	// PROVIDER_REGION). Empty means every region that the authentication
	// service lists, the default region first.
	Regions []string
	// ReviewAppsOnly lists only review apps, the apps with a parent
	// (PROVIDER_SCALINGO_REVIEW_APPS_ONLY). Default false: every app.
	ReviewAppsOnly bool

	// RateLimit is the maximum number of requests that the provider sends
	// within any RateLimitPeriod, token exchanges included
	// (PROVIDER_SCALINGO_RATE_LIMIT). Zero means DefaultRateLimit, below
	// the 60 requests a minute that Scalingo allows per token.
	//
	// NOTE: the API reference pages that this package follows do not state
	// the limit of 60, so the margin below it is an estimate.
	RateLimit int
	// RateLimitPeriod is the period of RateLimit. Zero means one minute.
	RateLimitPeriod time.Duration
	// Concurrency is the maximum number of requests in flight at once
	// (PROVIDER_SCALINGO_CONCURRENCY). Zero means DefaultConcurrency.
	Concurrency int

	// OperationTimeout bounds a start or a stop, from the first scale
	// request to the end of its operation, waits for a busy app included
	// (PROVIDER_SCALINGO_OPERATION_TIMEOUT, in seconds). Zero means
	// DefaultOperationTimeout.
	OperationTimeout time.Duration
	// PollInterval is the first delay between two reads of an operation.
	// The delay then grows by half at each read, up to MaxPollInterval.
	// Zero means one second.
	PollInterval time.Duration
	// MaxPollInterval caps the delay between two reads of an operation.
	// Zero means five seconds.
	MaxPollInterval time.Duration

	// RequestTimeout bounds one HTTP request, the response body included.
	// Zero means 30 seconds.
	RequestTimeout time.Duration
	// MaxAttempts is the maximum number of attempts of one request that
	// fails with 429, a 5xx status or a connection error. Zero means 5.
	MaxAttempts int
	// MinRetryDelay and MaxRetryDelay bound the exponential backoff between
	// attempts. A Retry-After header overrides the backoff, even beyond
	// MaxRetryDelay. Zero means 500 milliseconds and 30 seconds.
	MinRetryDelay time.Duration
	MaxRetryDelay time.Duration

	// HTTPClient sends the requests. Nil means a client with connection,
	// TLS handshake and response header timeouts, and TLS verification on.
	HTTPClient *http.Client
	// Logger receives the provider's logs. Nil discards them.
	Logger *slog.Logger
	// OnAPICall, if not nil, is called after each HTTP attempt, for
	// metrics. operation is a bounded name such as "list_apps", never a
	// raw path. status is 0 when no response came.
	OnAPICall func(operation string, status int, duration time.Duration, err error)
}

// withDefaults returns the options with every zero field set to its
// default, HTTPClient and Logger excepted.
func (o Options) withDefaults() Options {
	o.AuthURL = strings.TrimRight(cmp.Or(o.AuthURL, DefaultAuthURL), "/")
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	o.RateLimit = cmp.Or(o.RateLimit, DefaultRateLimit)
	o.RateLimitPeriod = cmp.Or(o.RateLimitPeriod, time.Minute)
	o.Concurrency = cmp.Or(o.Concurrency, DefaultConcurrency)
	o.OperationTimeout = cmp.Or(o.OperationTimeout, DefaultOperationTimeout)
	o.PollInterval = cmp.Or(o.PollInterval, time.Second)
	o.MaxPollInterval = cmp.Or(o.MaxPollInterval, 5*time.Second)
	o.RequestTimeout = cmp.Or(o.RequestTimeout, 30*time.Second)
	o.MaxAttempts = cmp.Or(o.MaxAttempts, 5)
	o.MinRetryDelay = cmp.Or(o.MinRetryDelay, 500*time.Millisecond)
	o.MaxRetryDelay = cmp.Or(o.MaxRetryDelay, 30*time.Second)
	return o
}

// validate returns every problem of options that withDefaults filled in.
func (o Options) validate() error {
	var problems []error
	if o.APIToken == "" {
		problems = append(problems, errors.New("missing API token: set "+envAPIToken))
	}
	if err := checkBaseURL(o.AuthURL); err != nil {
		problems = append(problems, fmt.Errorf("auth URL: %w", err))
	}
	if o.APIURL != "" {
		if err := checkBaseURL(o.APIURL); err != nil {
			problems = append(problems, fmt.Errorf("API URL: %w", err))
		}
		if len(o.Regions) > 1 {
			problems = append(problems, fmt.Errorf("%d regions given with a single API URL: give at most one region name", len(o.Regions)))
		}
	}
	for _, region := range o.Regions {
		if !regionName.MatchString(region) {
			problems = append(problems, fmt.Errorf("invalid region %q: use a name such as osc-fr1", region))
		}
	}
	positive := []struct {
		name  string
		value int64
	}{
		{"rate limit", int64(o.RateLimit)},
		{"rate limit period", int64(o.RateLimitPeriod)},
		{"concurrency", int64(o.Concurrency)},
		{"operation timeout", int64(o.OperationTimeout)},
		{"poll interval", int64(o.PollInterval)},
		{"max poll interval", int64(o.MaxPollInterval)},
		{"request timeout", int64(o.RequestTimeout)},
		{"max attempts", int64(o.MaxAttempts)},
		{"min retry delay", int64(o.MinRetryDelay)},
		{"max retry delay", int64(o.MaxRetryDelay)},
	}
	for _, field := range positive {
		if field.value < 0 {
			problems = append(problems, fmt.Errorf("invalid %s %d: must be positive", field.name, field.value))
		}
	}
	return errors.Join(problems...)
}

// regionName matches Scalingo region names such as osc-fr1.
var regionName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// checkBaseURL accepts an absolute https URL without credentials, query or
// fragment. Plain http is accepted only for loopback hosts, so that the
// bearer token never crosses a network in clear text.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("must be an absolute https URL such as " + DefaultAuthURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must not contain credentials, a query or a fragment")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return errors.New("must use https: plain http is accepted only for 127.0.0.1, ::1 and localhost")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL returns raw with any user info masked, for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// OptionsFromEnv parses this provider's environment variables. Each
// problem names the variable, the bad value (quoted) and the accepted
// values. The API token never appears in a problem. Unset variables get
// their defaults.
func OptionsFromEnv(getenv func(string) string) (Options, []string) {
	var opts Options
	var problems []string
	report := func(name, value, rule string) {
		problems = append(problems, fmt.Sprintf("%s: invalid value %q: %s", name, value, rule))
	}

	opts.APIToken = strings.TrimSpace(getenv(envAPIToken))
	if opts.APIToken == "" {
		problems = append(problems, envAPIToken+": missing: set it to a Scalingo API token, created in the dashboard under Profile, API tokens")
	}

	opts.AuthURL = strings.TrimSpace(getenv(envAuthURL))
	if opts.AuthURL != "" {
		if err := checkBaseURL(opts.AuthURL); err != nil {
			report(envAuthURL, redactURL(opts.AuthURL), err.Error())
		}
	}
	opts.APIURL = strings.TrimSpace(getenv(envAPIURL))
	if opts.APIURL != "" {
		if err := checkBaseURL(opts.APIURL); err != nil {
			report(envAPIURL, redactURL(opts.APIURL), err.Error())
		}
	}

	regionsText, regionsVar := getenv(envRegions), envRegions
	if strings.TrimSpace(regionsText) == "" {
		regionsText, regionsVar = getenv(envLegacyRegion), envLegacyRegion
		if strings.Contains(regionsText, ",") {
			report(envLegacyRegion, regionsText, "must be a single region name; use "+envRegions+" for several")
			regionsText = ""
		}
	}
	for item := range strings.SplitSeq(regionsText, ",") {
		region := strings.ToLower(strings.TrimSpace(item))
		switch {
		case region == "":
		case !regionName.MatchString(region):
			report(regionsVar, item, "must be comma-separated region names such as osc-fr1,osc-secnum-fr1")
		default:
			opts.Regions = append(opts.Regions, region)
		}
	}
	if opts.APIURL != "" && len(opts.Regions) > 1 {
		report(regionsVar, regionsText, "must name at most one region when "+envAPIURL+" is set")
	}

	opts.RateLimit = parseInt(getenv, envRateLimit, DefaultRateLimit, 1, 1000, "requests per minute", report)
	opts.Concurrency = parseInt(getenv, envConcurrency, DefaultConcurrency, 1, 64, "requests in flight", report)
	timeout := parseInt(getenv, envOperationTimeout, int(DefaultOperationTimeout/time.Second), 1, 3600, "seconds", report)
	opts.OperationTimeout = time.Duration(timeout) * time.Second

	if text := strings.TrimSpace(getenv(envReviewAppsOnly)); text != "" {
		value, err := strconv.ParseBool(text)
		if err != nil {
			report(envReviewAppsOnly, text, "must be true or false")
		}
		opts.ReviewAppsOnly = value
	}

	return opts.withDefaults(), problems
}

// parseInt reads a whole number between low and high, or returns fallback
// when the variable is unset.
func parseInt(getenv func(string) string, name string, fallback, low, high int, unit string, report func(name, value, rule string)) int {
	text := strings.TrimSpace(getenv(name))
	if text == "" {
		return fallback
	}
	value, err := strconv.Atoi(text)
	if err != nil || value < low || value > high {
		report(name, text, fmt.Sprintf("must be a whole number of %s from %d to %d", unit, low, high))
		return fallback
	}
	return value
}
