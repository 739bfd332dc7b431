// Package redis is the registry that several paastis instances share
// through one Redis server, Sentinel group or Cluster.
//
// # Key layout
//
// Every key starts with Options.KeyPrefix followed by the hash tag
// "{registry}", so that all keys of one prefix fall in the same Cluster
// hash slot. That lets the Lua scripts, MULTI blocks and UNLINK batches
// below touch several keys at once on a Cluster too. With the default
// prefix "paastis:" the keys are:
//
//	paastis:{registry}:apps              hash: app name -> engine.Record as JSON
//	paastis:{registry}:last-access       hash: app name -> latest access, UTC, fixed-width RFC 3339
//	paastis:{registry}:instances         set: ids of instances that reported requests in flight
//	paastis:{registry}:in-flight:<id>    hash: app name -> requests in flight on instance <id>, expires after InFlightTTL
//	paastis:{registry}:lock:<name>       string: the owner's random token, expires after the lock's ttl
//	paastis:{registry}:events            stream: one entry per engine.Event, field "event" holds its JSON
//
// Last-access times have a fixed width so that comparing them as strings,
// as the Lua script that keeps the latest one does, compares the times.
package redis

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paastis/paastis/internal/engine"
)

// Defaults of the Options fields.
const (
	DefaultURL          = "redis://127.0.0.1:6379/0"
	DefaultKeyPrefix    = "paastis:"
	DefaultInFlightTTL  = 15 * time.Second
	DefaultEventsMaxLen = 1000
	DefaultTimeout      = 2 * time.Second
)

// hashTag follows the key prefix in every key, see the package
// documentation.
const hashTag = "{registry}"

var _ engine.Registry = (*Registry)(nil)

// Options configures the Redis registry. The zero value connects to
// DefaultURL with the defaults below.
type Options struct {
	// URL is the server's redis:// or rediss:// URL, with an optional user,
	// password and database number: "rediss://user:password@host:6379/0".
	// rediss:// verifies each server's certificate against its host name,
	// and the query parameter skip_verify is rejected. The query may set
	// client_name, protocol, pool_size, min_idle_conns, max_idle_conns,
	// conn_max_idle_time and conn_max_lifetime. go-redis accepts its other
	// parameters, but they are ignored because Timeout sets the timeouts
	// and retries. With SentinelMaster or ClusterAddrs set, only the user,
	// password, database and TLS apply to the Redis servers. Default
	// DefaultURL. Env REDIS_URL.
	URL string

	// KeyPrefix starts every key that the registry writes, so that several
	// paastis deployments can share one Redis. Default "paastis:". Env
	// REDIS_KEY_PREFIX.
	KeyPrefix string

	// SentinelMaster is the name of the master that Redis Sentinel
	// monitors. When set, the URL's host is a sentinel rather than the
	// Redis server, and SentinelAddrs lists further sentinels. Env
	// REDIS_SENTINEL_MASTER.
	SentinelMaster string
	// SentinelAddrs are more sentinels as "host:port", next to the URL's
	// host. Env REDIS_SENTINEL_ADDRS, comma-separated.
	SentinelAddrs []string
	// SentinelPassword authenticates to the sentinels, which often have no
	// password or another one than the Redis servers. Env
	// REDIS_SENTINEL_PASSWORD.
	SentinelPassword string

	// ClusterAddrs are seed nodes of a Redis Cluster as "host:port". When
	// set, the URL's host is not contacted. It cannot be combined with
	// SentinelMaster. Env REDIS_CLUSTER_ADDRS, comma-separated.
	ClusterAddrs []string

	// InstanceID identifies this paastis process among those that share
	// the registry. It must be unique. Default "<hostname>-<pid>-<random>".
	// Env REDIS_INSTANCE_ID.
	InstanceID string

	// InFlightTTL is how long the in-flight counts of one ReportActivity
	// call stay counted. An instance that stops reporting, because it died
	// or lost Redis, stops counting once this passes, so the engine must
	// report more often than this, with an empty slice when nothing
	// changed. Default 15s. Env REDIS_IN_FLIGHT_TTL.
	InFlightTTL time.Duration

	// EventsMaxLen is the number of events kept. Default 1000. Env
	// REDIS_EVENTS_MAX_LEN.
	EventsMaxLen int64

	// Timeout bounds each registry call, retries included, and each dial,
	// read and write. Default 2s. Env REDIS_TIMEOUT.
	Timeout time.Duration

	// Logger receives connection and maintenance messages. Nil discards
	// them.
	Logger *slog.Logger
}

// Registry implements engine.Registry on Redis. It is safe for concurrent
// use. Create it with New and Close it when done.
type Registry struct {
	client       goredis.UniversalClient
	logger       *slog.Logger
	instanceID   string
	inFlightTTL  time.Duration
	eventsMaxLen int64
	timeout      time.Duration

	keyApps       string
	keyLastAccess string
	keyInstances  string
	keyInFlight   string // this instance's in-flight hash
	keyEvents     string
	keyAll        string // the part shared by every key, for SCAN
}

// New connects to Redis and checks the connection with PING. The error
// names the URL with its password redacted.
func New(ctx context.Context, opts Options) (*Registry, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	universal, err := opts.universalOptions()
	if err != nil {
		return nil, err
	}

	r := &Registry{
		client:       goredis.NewUniversalClient(universal),
		logger:       opts.Logger,
		instanceID:   opts.InstanceID,
		inFlightTTL:  opts.InFlightTTL,
		eventsMaxLen: opts.EventsMaxLen,
		timeout:      opts.Timeout,
	}
	r.setKeys(opts.KeyPrefix)

	pingCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := r.client.Ping(pingCtx).Err(); err != nil {
		r.client.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w: is redis-server running? check REDIS_URL", opts.describeTarget(), err)
	}

	r.logger.Info("redis registry connected",
		"target", opts.describeTarget(),
		"mode", opts.mode(),
		"key_prefix", opts.KeyPrefix,
		"instance", r.instanceID)
	return r, nil
}

// Close closes the connections to Redis. The in-flight counts of this
// instance stay counted until InFlightTTL passes.
func (r *Registry) Close() error {
	if err := r.client.Close(); err != nil {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}

// InstanceID returns the id under which this registry reports in-flight
// requests.
func (r *Registry) InstanceID() string {
	return r.instanceID
}

// setKeys computes the key names of the layout in the package
// documentation.
func (r *Registry) setKeys(prefix string) {
	base := prefix + hashTag + ":"
	r.keyAll = base
	r.keyApps = base + "apps"
	r.keyLastAccess = base + "last-access"
	r.keyInstances = base + "instances"
	r.keyInFlight = r.inFlightKey(r.instanceID)
	r.keyEvents = base + "events"
}

// inFlightKey returns the key of the in-flight hash of an instance.
func (r *Registry) inFlightKey(instanceID string) string {
	return r.keyAll + "in-flight:" + instanceID
}

// lockKey returns the key of a named lock.
func (r *Registry) lockKey(name string) string {
	return r.keyAll + "lock:" + name
}

// withTimeout bounds one registry call by the configured timeout.
func (r *Registry) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// withDefaults fills the zero fields and rejects invalid values, all of
// them in one error.
func (opts Options) withDefaults() (Options, error) {
	var problems []error
	if opts.InFlightTTL < 0 || (opts.InFlightTTL > 0 && opts.InFlightTTL < time.Millisecond) {
		problems = append(problems, fmt.Errorf("invalid REDIS_IN_FLIGHT_TTL %s: use a duration of at least 1ms, such as 15s", opts.InFlightTTL))
	}
	if opts.EventsMaxLen < 0 {
		problems = append(problems, fmt.Errorf("invalid REDIS_EVENTS_MAX_LEN %d: use a positive number", opts.EventsMaxLen))
	}
	if opts.Timeout < 0 {
		problems = append(problems, fmt.Errorf("invalid REDIS_TIMEOUT %s: use a positive duration such as 2s", opts.Timeout))
	}
	if opts.SentinelMaster != "" && len(opts.ClusterAddrs) > 0 {
		problems = append(problems, errors.New("REDIS_SENTINEL_MASTER and REDIS_CLUSTER_ADDRS are both set: set only the one that matches your Redis deployment"))
	}
	if len(problems) > 0 {
		return opts, errors.Join(problems...)
	}

	opts.URL = cmp.Or(opts.URL, DefaultURL)
	opts.KeyPrefix = cmp.Or(opts.KeyPrefix, DefaultKeyPrefix)
	opts.InFlightTTL = cmp.Or(opts.InFlightTTL, DefaultInFlightTTL)
	opts.EventsMaxLen = cmp.Or(opts.EventsMaxLen, DefaultEventsMaxLen)
	opts.Timeout = cmp.Or(opts.Timeout, DefaultTimeout)
	if opts.InstanceID == "" {
		opts.InstanceID = defaultInstanceID()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return opts, nil
}

// defaultInstanceID returns "<hostname>-<pid>-<8 random hex digits>".
func defaultInstanceID() string {
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "paastis"
	}
	random := make([]byte, 4)
	rand.Read(random)
	return fmt.Sprintf("%s-%d-%s", hostname, os.Getpid(), hex.EncodeToString(random))
}

// mode returns "sentinel", "cluster" or "standalone".
func (opts Options) mode() string {
	switch {
	case opts.SentinelMaster != "":
		return "sentinel"
	case len(opts.ClusterAddrs) > 0:
		return "cluster"
	default:
		return "standalone"
	}
}

// describeTarget returns the redacted URL, with the sentinel master or the
// cluster nodes when set.
func (opts Options) describeTarget() string {
	target := redactURL(opts.URL)
	switch {
	case opts.SentinelMaster != "":
		target += fmt.Sprintf(" (sentinel master %q, more sentinels %q)", opts.SentinelMaster, opts.SentinelAddrs)
	case len(opts.ClusterAddrs) > 0:
		target = fmt.Sprintf("cluster nodes %s with credentials from %s", strings.Join(opts.ClusterAddrs, ","), target)
	}
	return target
}
