package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// OptionsFromEnv reads the REDIS_* variables named on the Options fields
// through getenv, such as os.Getenv. Unset variables leave their field
// zero, which New replaces by the default. The error lists every invalid
// value. Logger stays nil.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	opts := Options{
		URL:              getenv("REDIS_URL"),
		KeyPrefix:        getenv("REDIS_KEY_PREFIX"),
		SentinelMaster:   getenv("REDIS_SENTINEL_MASTER"),
		SentinelAddrs:    splitList(getenv("REDIS_SENTINEL_ADDRS")),
		SentinelPassword: getenv("REDIS_SENTINEL_PASSWORD"),
		ClusterAddrs:     splitList(getenv("REDIS_CLUSTER_ADDRS")),
		InstanceID:       getenv("REDIS_INSTANCE_ID"),
	}

	var problems []error
	parseDuration := func(name string, field *time.Duration) {
		value := getenv(name)
		if value == "" {
			return
		}
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Errorf("invalid %s %q: use a positive duration such as 15s", name, value))
			return
		}
		*field = d
	}
	parseDuration("REDIS_IN_FLIGHT_TTL", &opts.InFlightTTL)
	parseDuration("REDIS_TIMEOUT", &opts.Timeout)

	if value := getenv("REDIS_EVENTS_MAX_LEN"); value != "" {
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 {
			problems = append(problems, fmt.Errorf("invalid REDIS_EVENTS_MAX_LEN %q: use a positive number such as 1000", value))
		}
		opts.EventsMaxLen = n
	}
	return opts, errors.Join(problems...)
}

// splitList splits a comma-separated list and drops blank items.
func splitList(value string) []string {
	var items []string
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// universalOptions builds the go-redis client options from the URL and the
// Sentinel or Cluster fields. opts must have its defaults set.
func (opts Options) universalOptions() (*goredis.UniversalOptions, error) {
	parsed, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}

	universal := &goredis.UniversalOptions{
		Addrs:      []string{parsed.Addr},
		DB:         parsed.DB,
		Username:   parsed.Username,
		Password:   parsed.Password,
		ClientName: parsed.ClientName,
		Protocol:   parsed.Protocol,

		// Each call's context carries Timeout, and the network timeouts
		// match it so that a dead server fails a call instead of hanging.
		ContextTimeoutEnabled: true,
		DialTimeout:           opts.Timeout,
		ReadTimeout:           opts.Timeout,
		WriteTimeout:          opts.Timeout,
		MaxRetries:            2,
		DialerRetries:         1,

		PoolSize:        parsed.PoolSize,
		MinIdleConns:    parsed.MinIdleConns,
		MaxIdleConns:    parsed.MaxIdleConns,
		ConnMaxIdleTime: parsed.ConnMaxIdleTime,
		ConnMaxLifetime: parsed.ConnMaxLifetime,
	}
	if parsed.TLSConfig != nil {
		// An empty ServerName makes crypto/tls verify each server's
		// certificate against the host it dialed, which is right for the
		// sentinels and cluster nodes too.
		universal.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}

	switch {
	case opts.SentinelMaster != "":
		universal.MasterName = opts.SentinelMaster
		universal.Addrs = append(universal.Addrs, opts.SentinelAddrs...)
		universal.SentinelPassword = opts.SentinelPassword
	case len(opts.ClusterAddrs) > 0:
		if parsed.DB != 0 {
			return nil, fmt.Errorf("REDIS_URL %s selects database %d, but a Redis Cluster has only database 0: remove the database from the URL", redactURL(opts.URL), parsed.DB)
		}
		universal.Addrs = opts.ClusterAddrs
		universal.IsClusterMode = true
	}
	return universal, nil
}

// parseURL parses a redis:// or rediss:// URL with go-redis's rules. The
// error shows the URL with its password redacted, and never the raw URL.
func parseURL(rawURL string) (*goredis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// A *url.Error repeats the raw URL, password included, so only its
		// cause is kept.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("invalid REDIS_URL: %w: use redis://[user:password@]host:port/db", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("invalid REDIS_URL %s: scheme %q is not supported: use redis:// or rediss://", u.Redacted(), u.Scheme)
	}

	parsed, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid REDIS_URL %s: %w", u.Redacted(), err)
	}
	if parsed.TLSConfig != nil && parsed.TLSConfig.InsecureSkipVerify {
		return nil, fmt.Errorf("invalid REDIS_URL %s: skip_verify turns off TLS certificate verification: remove it and trust the server's CA instead", u.Redacted())
	}
	return parsed, nil
}

// redactURL returns rawURL with its password replaced by "xxxxx", or a
// placeholder when it does not parse.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
