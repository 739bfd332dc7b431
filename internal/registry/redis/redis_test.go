package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/redis"
	"github.com/paastis/paastis/internal/registry/redis/redistest"
	"github.com/paastis/paastis/internal/registry/registrytest"
)

// prefixes numbers the key prefixes, so that the registries of one server
// do not see each other's keys.
var prefixes atomic.Int64

// newRegistry connects a registry to server under a fresh key prefix and
// closes it when the test ends. Fields left zero in opts get defaults.
func newRegistry(t *testing.T, server *redistest.Server, opts redis.Options) *redis.Registry {
	t.Helper()

	if opts.URL == "" && len(opts.ClusterAddrs) == 0 {
		opts.URL = server.URL()
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = fmt.Sprintf("test%d:", prefixes.Add(1))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	registry, err := redis.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("redis.New: %v", err)
	}
	t.Cleanup(func() {
		if err := registry.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return registry
}

// newPair connects two registries with their own instance ids to server
// under one fresh key prefix, with in-flight reports that expire fast.
func newPair(t *testing.T, server *redistest.Server, opts redis.Options) (a, b engine.Registry) {
	t.Helper()

	opts.KeyPrefix = fmt.Sprintf("test%d:", prefixes.Add(1))
	opts.InFlightTTL = 300 * time.Millisecond
	optsA, optsB := opts, opts
	optsA.InstanceID, optsB.InstanceID = "instance-a", "instance-b"
	return newRegistry(t, server, optsA), newRegistry(t, server, optsB)
}

// eventually calls check until it returns nil, and fails the test with the
// last error once timeout has passed.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition still false after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistryContract(t *testing.T) {
	server := redistest.Start(t)

	registrytest.Run(t, func(t *testing.T) engine.Registry {
		return newRegistry(t, server, redis.Options{})
	})
}

func TestRegistrySharedContract(t *testing.T) {
	server := redistest.Start(t)

	registrytest.RunShared(t, func(t *testing.T) (a, b engine.Registry) {
		return newPair(t, server, redis.Options{})
	})
}

func TestRegistryClusterContract(t *testing.T) {
	server := redistest.StartCluster(t)
	opts := redis.Options{ClusterAddrs: []string{server.Addr()}}

	t.Run("single", func(t *testing.T) {
		registrytest.Run(t, func(t *testing.T) engine.Registry {
			return newRegistry(t, server, opts)
		})
	})
	t.Run("shared", func(t *testing.T) {
		registrytest.RunShared(t, func(t *testing.T) (a, b engine.Registry) {
			return newPair(t, server, opts)
		})
	})
}

func TestRegistryKeysStayUnderPrefix(t *testing.T) {
	server := redistest.Start(t)
	registry := newRegistry(t, server, redis.Options{KeyPrefix: "acme:"})
	exercise(t, registry)

	keys, err := server.Client().Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 5 {
		t.Errorf("registry wrote keys %q, want at least apps, last-access, instances, in-flight, lock and events", keys)
	}
	for _, key := range keys {
		if !strings.HasPrefix(key, "acme:{registry}:") {
			t.Errorf("key %q is outside the prefix %q", key, "acme:{registry}:")
		}
	}
}

func TestClearKeepsForeignKeys(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		foreign []string
	}{
		{
			name:    "plain prefix",
			prefix:  "paastis:",
			foreign: []string{"other:key", "paastis:unrelated", "paastis2:{registry}:apps"},
		},
		{
			name:   "prefix with glob characters",
			prefix: `p*[ab]?\:`,
			// Each key would match the prefix if its glob characters
			// were not escaped.
			foreign: []string{`pXXa!:{registry}:apps`, `p[ab]?\:{registry}:apps`, `pb?:{registry}:apps`},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			server := redistest.Start(t)
			client := server.Client()
			for _, key := range test.foreign {
				if err := client.Set(t.Context(), key, "keep me", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			registry := newRegistry(t, server, redis.Options{KeyPrefix: test.prefix})
			exercise(t, registry)

			if err := registry.Clear(t.Context()); err != nil {
				t.Fatalf("Clear: %v", err)
			}

			keys, err := client.Keys(t.Context(), "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(test.foreign) {
				t.Errorf("keys after Clear = %q, want only %q", keys, test.foreign)
			}
			for _, key := range test.foreign {
				if n, err := client.Exists(t.Context(), key).Result(); err != nil || n != 1 {
					t.Errorf("foreign key %q after Clear: exists %d, error %v", key, n, err)
				}
			}
		})
	}
}

func TestClearDeletesManyKeys(t *testing.T) {
	server := redistest.Start(t)
	registry := newRegistry(t, server, redis.Options{})
	for i := range 1200 {
		if _, err := registry.Acquire(t.Context(), fmt.Sprintf("lock-%d", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	if err := registry.Clear(t.Context()); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	n, err := server.Client().DBSize(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("DBSIZE after Clear = %d, want 0", n)
	}
}

func TestReportActivityIsOneCommand(t *testing.T) {
	server := redistest.Start(t)
	registry := newRegistry(t, server, redis.Options{})
	activity := sampleActivity(50, time.Now())
	if err := registry.ReportActivity(t.Context(), activity); err != nil {
		t.Fatal(err)
	}

	server.ResetCommandStats()
	if err := registry.ReportActivity(t.Context(), activity); err != nil {
		t.Fatal(err)
	}
	// INFO commandstats also counts the commands that the script calls.
	stats := server.CommandStats()
	if stats["evalsha"] != 1 {
		t.Errorf("one ReportActivity of 50 apps ran %d evalsha, want 1", stats["evalsha"])
	}
	fromScript := map[string]bool{"config|resetstat": true, "evalsha": true, "hget": true, "hset": true, "hdel": true, "pexpire": true, "sadd": true}
	for command, calls := range stats {
		if !fromScript[command] {
			t.Errorf("one ReportActivity ran %s %d times outside the script, want none", command, calls)
		}
	}
}

func TestRegistryDuringOutage(t *testing.T) {
	server := redistest.Start(t)
	const timeout = 500 * time.Millisecond
	registry := newRegistry(t, server, redis.Options{Timeout: timeout})
	exercise(t, registry)

	server.Stop()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Records", func(ctx context.Context) error { _, err := registry.Records(ctx); return err }},
		{"Save", func(ctx context.Context) error {
			return registry.Save(ctx, engine.Record{App: engine.App{Name: "web"}})
		}},
		{"ReportActivity", func(ctx context.Context) error { return registry.ReportActivity(ctx, sampleActivity(3, time.Now())) }},
		{"Activity", func(ctx context.Context) error { _, err := registry.Activity(ctx); return err }},
		{"Acquire", func(ctx context.Context) error { _, err := registry.Acquire(ctx, "sweep", time.Second); return err }},
		{"AppendEvent", func(ctx context.Context) error { return registry.AppendEvent(ctx, engine.Event{App: "web"}) }},
		{"Events", func(ctx context.Context) error { _, err := registry.Events(ctx, 10); return err }},
		{"Clear", func(ctx context.Context) error { return registry.Clear(ctx) }},
	}
	for _, call := range calls {
		start := time.Now()
		err := call.call(t.Context())
		elapsed := time.Since(start)
		if err == nil {
			t.Errorf("%s with Redis down returned nil, want an error", call.name)
		}
		if errors.Is(err, engine.ErrLocked) || errors.Is(err, engine.ErrAppNotFound) {
			t.Errorf("%s with Redis down returned %v, want a connection error", call.name, err)
		}
		if limit := timeout + 500*time.Millisecond; elapsed > limit {
			t.Errorf("%s with Redis down took %s, want at most %s", call.name, elapsed, limit)
		}
	}

	server.Restart()
	eventually(t, 5*time.Second, func() error {
		return registry.Save(t.Context(), engine.Record{App: engine.App{Name: "web"}})
	})
	if _, err := registry.Record(t.Context(), "web"); err != nil {
		t.Errorf("Record after Restart: %v", err)
	}
}

// exercise calls every kind of write, so that the registry creates each of
// its keys.
func exercise(t *testing.T, registry *redis.Registry) {
	t.Helper()

	ctx := t.Context()
	steps := []error{
		registry.Save(ctx, engine.Record{App: engine.App{Name: "web"}}),
		registry.ReportActivity(ctx, sampleActivity(3, time.Now())),
		registry.AppendEvent(ctx, engine.Event{Type: engine.EventStarted, App: "web"}),
	}
	_, err := registry.Acquire(ctx, "sweep", time.Minute)
	steps = append(steps, err)
	_, err = registry.Activity(ctx)
	steps = append(steps, err)
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
}

// sampleActivity returns the activity of n apps, each with one request in
// flight.
func sampleActivity(n int, lastAccess time.Time) []engine.Activity {
	activity := make([]engine.Activity, n)
	for i := range activity {
		activity[i] = engine.Activity{App: fmt.Sprintf("app-%d", i), LastAccess: lastAccess, InFlight: 1}
	}
	return activity
}
