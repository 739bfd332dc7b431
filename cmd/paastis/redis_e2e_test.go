package main_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/paastis/paastis/internal/testwait"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/e2e"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/redis"
	"github.com/paastis/paastis/internal/registry/redis/redistest"
)

// redisPrefix is the key prefix of the paastis instances in these tests.
const redisPrefix = "paastis-e2e:"

// redisWorld is a redis-server and an apps file that several paastis
// instances share. Each app has a fixed port, so that an app process that
// one instance started is reachable from the others at the same URL.
type redisWorld struct {
	world // only its startLog is set: for starts and pids
	redis *redistest.Server
	env   map[string]string
}

// newRedisWorld starts a redis-server and writes an apps file for the
// named test apps. env overrides the instances' default environment.
func newRedisWorld(t *testing.T, apps []string, env map[string]string) *redisWorld {
	t.Helper()
	b := build(t)
	w := &redisWorld{world: world{t: t, dir: t.TempDir(), startLog: map[string]string{}}, redis: redistest.Start(t)}

	var yaml strings.Builder
	yaml.WriteString("apps:\n")
	for _, name := range apps {
		w.startLog[name] = filepath.Join(w.dir, name+".starts")
		fmt.Fprintf(&yaml, "  - name: %s\n    command: %q\n    port: %d\n    readiness_path: /\n    stop_grace_period: 2s\n    env:\n      APP_NAME: %s\n      START_LOG: %q\n",
			name, b.testapp, e2e.FreePort(t), name, w.startLog[name])
	}
	appsFile := filepath.Join(w.dir, "apps.yaml")
	if err := os.WriteFile(appsFile, []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	w.env = map[string]string{
		"PROVIDER_NAME":                         "local",
		"PROVIDER_LOCAL_CONFIG":                 appsFile,
		"REGISTRY_TYPE":                         "redis",
		"REDIS_URL":                             w.redis.URL(),
		"REDIS_KEY_PREFIX":                      redisPrefix,
		"REDIS_TIMEOUT":                         "1s",
		"REDIS_FLUSH_INTERVAL":                  "300ms",
		"REDIS_IN_FLIGHT_TTL":                   "3s",
		"REDIS_LEASE_TTL":                       "3s",
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "* * * * * *",
		"START_AND_STOP_MAX_IDLE_TIME":          "1h",
		"WAKE_TIMEOUT":                          "30s",
	}
	maps.Copy(w.env, env)
	return w
}

// start runs one paastis instance, named id in Redis, and waits until it
// listens.
func (w *redisWorld) start(id string) *e2e.Instance {
	w.t.Helper()
	env := maps.Clone(w.env)
	env["REDIS_INSTANCE_ID"] = id
	// Instances on one machine need an admin port each.
	env["ADMIN_PORT"] = strconv.Itoa(e2e.FreePort(w.t))
	return e2e.Start(w.t, build(w.t).paastis, w.dir, env)
}

// get sends a GET for app through an instance, and fails the test when
// the request fails.
func (w *redisWorld) get(instance *e2e.Instance, app, path string) (int, string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	status, body, err := instance.Request(ctx, http.MethodGet, app, path, nil)
	if err != nil {
		w.t.Fatalf("GET %s%s through %s: %v", app, path, instance.URL, err)
	}
	return status, body
}

// registry connects a registry with the instances' prefix, for checks.
// It is closed when the test ends.
func (w *redisWorld) registry() *redis.Registry {
	w.t.Helper()
	registry, err := redis.New(context.Background(), redis.Options{URL: w.redis.URL(), KeyPrefix: redisPrefix})
	if err != nil {
		w.t.Fatalf("connect to redis: %v", err)
	}
	w.t.Cleanup(func() { registry.Close() })
	return registry
}

// lastAccess returns the last access of app stored in Redis, or the zero
// time when Redis cannot be read.
func (w *redisWorld) lastAccess(app string) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	registry, err := redis.New(ctx, redis.Options{URL: w.redis.URL(), KeyPrefix: redisPrefix})
	if err != nil {
		return time.Time{}
	}
	defer registry.Close()
	activity, err := registry.Activity(ctx)
	if err != nil {
		return time.Time{}
	}
	return activity[app].LastAccess
}

// countRedisCommands returns the calls in INFO commandstats, except those
// of the assertions themselves.
func countRedisCommands(stats map[string]int64) int64 {
	var total int64
	for command, calls := range stats {
		if command != "info" && command != "config|resetstat" {
			total += calls
		}
	}
	return total
}

// leaseTTLPattern finds the lease ttl in the log line of a lease taken.
var leaseTTLPattern = regexp.MustCompile(`sweep lease acquired[^\n]*ttl=(\S+)`)

func TestRedisWarmRequestsSendNoRedisCommands(t *testing.T) {
	t.Parallel()
	w := newRedisWorld(t, []string{"alpha"}, map[string]string{
		// Nothing periodic runs during the test: no flush, no lease
		// renewal, no sweep after the first one.
		"REDIS_FLUSH_INTERVAL":                  "1h",
		"REDIS_IN_FLIGHT_TTL":                   "2h",
		"REDIS_LEASE_TTL":                       "1h",
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "0 0 0 1 1 *",
	})
	a := w.start("a")
	a.WaitLog(t, "sweep done", 10*time.Second)
	if status, body := w.get(a, "alpha", "/"); status != http.StatusOK {
		t.Fatalf("waking request: status %d, body %q", status, body)
	}

	w.redis.ResetCommandStats()
	windowStart := time.Now()
	const requests = 300
	for i := range requests {
		status, body := w.get(a, "alpha", fmt.Sprintf("/warm/%d", i))
		if status != http.StatusOK || !strings.HasPrefix(body, "hello from alpha") {
			t.Fatalf("warm request %d: status %d, body %q", i, status, body)
		}
	}
	stats := w.redis.CommandStats()
	// One lease renewal (three commands) is tolerated, in case the lease
	// ttl in effect is shorter than the REDIS_LEASE_TTL value.
	if got := countRedisCommands(stats); got > 4 {
		t.Errorf("%d warm requests sent %d Redis commands, want 0: %v", requests, got, stats)
	}

	// The activity stays in memory until a flush, which the shutdown runs.
	if err := a.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(20 * time.Second); err != nil {
		t.Fatalf("paastis exit: %v", err)
	}
	if got := w.lastAccess("alpha"); got.Before(windowStart) {
		t.Errorf("last access in Redis after the shutdown flush = %s, want after the warm requests began (%s)", got, windowStart)
	}
}

func TestRedisRequestsOnTwoInstancesStartOnce(t *testing.T) {
	t.Parallel()
	w := newRedisWorld(t, []string{"alpha"}, nil)
	foreign := map[string]string{"unrelated": "kept", "paastis-other:{registry}:apps": "another deployment"}
	for key, value := range foreign {
		if err := w.redis.Client().Set(t.Context(), key, value, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
	}
	a := w.start("a")
	a.WaitLog(t, "sweep done", 10*time.Second)
	b := w.start("b")

	const requests = 100
	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, requests)
	var wg sync.WaitGroup
	for i := range requests {
		instance := a
		if i%2 == 1 {
			instance = b
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			status, body, err := instance.Request(ctx, http.MethodGet, "alpha", "/", nil)
			results <- result{status, body, err}
		})
	}
	wg.Wait()
	close(results)
	bodies := map[string]int{}
	for r := range results {
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("request: status %d, error %v, body %q", r.status, r.err, r.body)
			continue
		}
		bodies[strings.TrimSuffix(r.body, " /")]++
	}
	if got := w.starts("alpha"); got != 1 {
		t.Errorf("%d concurrent requests split across two instances caused %d starts, want 1", requests, got)
	}
	if len(bodies) != 1 {
		t.Errorf("the requests reached %d different processes, want 1: %v", len(bodies), bodies)
	}

	registry := w.registry()
	events, err := registry.Events(t.Context(), 100)
	if err != nil {
		t.Fatalf("read the events stream: %v", err)
	}
	started := 0
	for _, event := range events {
		if event.Type == engine.EventStarted && event.App == "alpha" {
			started++
		}
	}
	if started != 1 {
		t.Errorf("the events stream contains %d started events of alpha, want 1: %+v", started, events)
	}

	if err := registry.Clear(t.Context()); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	for key, want := range foreign {
		got, err := w.redis.Client().Get(t.Context(), key).Result()
		if err != nil || got != want {
			t.Errorf("foreign key %q = %q, %v after the traffic, the sweeps and Clear; want %q", key, got, err, want)
		}
	}
}

func TestRedisOtherInstanceTrafficKeepsAppAwake(t *testing.T) {
	t.Parallel()
	w := newRedisWorld(t, []string{"alpha"}, map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "2s"})
	a := w.start("a")
	a.WaitLog(t, "sweep lease acquired", 10*time.Second)
	b := w.start("b")
	if status, body := w.get(a, "alpha", "/"); status != http.StatusOK {
		t.Fatalf("waking request through the lease holder: status %d, body %q", status, body)
	}
	pid := w.pids("alpha")[0]

	// Requests through the other instance alone, for two idle times.
	for i := range 16 {
		status, body := w.get(b, "alpha", "/")
		if status != http.StatusOK || !strings.Contains(body, fmt.Sprintf("(pid %d)", pid)) {
			t.Fatalf("request %d through the other instance: status %d, body %q", i, status, body)
		}
		time.Sleep(250 * time.Millisecond) // the pace of the traffic, not a wait for a condition
	}
	if !processAlive(pid) {
		t.Fatal("the app was stopped although the other instance had traffic for it")
	}
	if got := a.CountLog("stopping app"); got != 0 {
		t.Errorf("the lease holder stopped the app %d times during traffic through the other instance", got)
	}
	if got := w.starts("alpha"); got != 1 {
		t.Errorf("starts = %d, want 1", got)
	}

	// Without traffic, the lease holder stops it.
	testwait.Until(t, 15*time.Second, "the idle app's process to exit", func() bool { return !processAlive(pid) })
	a.WaitLog(t, "app stopped", 5*time.Second)
}

func TestRedisSweepMovesWhenHolderIsKilled(t *testing.T) {
	t.Parallel()
	w := newRedisWorld(t, []string{"alpha"}, nil)
	a := w.start("a")
	a.WaitLog(t, "sweep lease acquired", 10*time.Second)
	b := w.start("b")
	sweepsA := a.CountLog("sweep done")
	testwait.Until(t, 10*time.Second, "two more sweeps of the lease holder", func() bool { return a.CountLog("sweep done") >= sweepsA+2 })
	if b.CountLog("sweep lease acquired") != 0 || b.CountLog("sweep done") != 0 {
		t.Fatal("the second instance swept while the first one held the lease")
	}

	match := leaseTTLPattern.FindStringSubmatch(a.Logs())
	if match == nil || match[1] != "3s" {
		t.Fatalf("the lease ttl in the logs is %q, want the 3s of REDIS_LEASE_TTL: cmd/paastis must pass config.Config.RedisLeaseTTL as engine.Options.LockTTL", match)
	}
	const leaseTTL = 3 * time.Second

	if err := a.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The lease expires at most one ttl after the kill. The other instance
	// tries to take it every third of a ttl and at every one-second sweep.
	limit := leaseTTL + time.Second
	b.WaitLog(t, "sweep lease acquired", limit+3*time.Second)
	if took := time.Since(killed); took > limit+time.Second {
		t.Errorf("the other instance took the sweep %s after the kill, want within %s", took.Round(time.Millisecond), limit)
	}
	testwait.Until(t, 5*time.Second, "the new lease holder to sweep", func() bool { return b.CountLog("sweep done") > 0 })
}

func TestRedisOutageKeepsServingAndStopsNothing(t *testing.T) {
	t.Parallel()
	w := newRedisWorld(t, []string{"busy", "idle", "cold"}, map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "2s"})
	a := w.start("a")
	a.WaitLog(t, "sweep done", 10*time.Second)
	for _, app := range []string{"busy", "idle"} {
		if status, body := w.get(a, app, "/"); status != http.StatusOK {
			t.Fatalf("waking request for %s: status %d, body %q", app, status, body)
		}
	}
	idlePid := w.pids("idle")[0]

	w.redis.Stop()
	outageBegin := time.Now()
	for i := range 20 {
		if status, body := w.get(a, "busy", "/"); status != http.StatusOK {
			t.Fatalf("warm request %d during the outage: status %d, body %q", i, status, body)
		}
		if i == 10 {
			if status, body := w.get(a, "cold", "/"); status != http.StatusOK || !strings.HasPrefix(body, "hello from cold") {
				t.Fatalf("waking request during the outage: status %d, body %q", status, body)
			}
		}
		time.Sleep(200 * time.Millisecond) // the pace of the traffic, not a wait for a condition
	}
	if elapsed := time.Since(outageBegin); elapsed < 2*2*time.Second {
		t.Fatalf("the outage lasted %s, want more than two idle times", elapsed)
	}
	if !processAlive(idlePid) {
		t.Error("the idle app was stopped during the outage")
	}
	if got := a.CountLog("stopping app"); got != 0 {
		t.Errorf("%d stops during the outage, want 0", got)
	}
	if got := w.starts("cold"); got != 1 {
		t.Errorf("the wake during the outage caused %d starts, want 1", got)
	}
	if got := a.CountLog("registry unavailable"); got != 1 {
		t.Errorf("the outage was logged %d times, want once", got)
	}

	// Redis comes back empty: the activity is reported again, and the idle
	// app is stopped once every instance could report.
	w.redis.Restart()
	a.WaitLog(t, "registry available again", 10*time.Second)
	testwait.Until(t, 10*time.Second, "the last access of busy in Redis again", func() bool {
		return !w.lastAccess("busy").Before(outageBegin)
	})
	testwait.Until(t, 15*time.Second, "the idle app's process to exit", func() bool { return !processAlive(idlePid) })
	if got := a.CountLog("registry unavailable"); got != 1 {
		t.Errorf("the outage was logged %d times in all, want once", got)
	}
}

func TestRedisCheckConfigRejectsShortInFlightTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      []string
		wantCode int
		want     string
	}{
		{"flush interval past the default in-flight ttl is rejected", []string{"REDIS_FLUSH_INTERVAL=20s"}, 1,
			"REDIS_IN_FLIGHT_TTL: 15s is not longer than REDIS_FLUSH_INTERVAL 20s"},
		{"in-flight ttl equal to the flush interval is rejected", []string{"REDIS_FLUSH_INTERVAL=5s", "REDIS_IN_FLIGHT_TTL=5s"}, 1,
			"REDIS_IN_FLIGHT_TTL: 5s is not longer than REDIS_FLUSH_INTERVAL 5s"},
		{"in-flight ttl of three flush intervals is accepted", []string{"REDIS_FLUSH_INTERVAL=20s", "REDIS_IN_FLIGHT_TTL=1m"}, 0,
			"configuration is valid"},
	}
	binary := build(t).paastis
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), binary, "check-config")
			cmd.Dir = t.TempDir()
			apps := filepath.Join(e2e.ModuleRoot(t), "examples", "local", "apps.yaml")
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "REGISTRY_TYPE=redis", "REDIS_URL=redis://127.0.0.1:1/0", "PROVIDER_LOCAL_CONFIG=" + apps}, tt.env...)
			output, err := cmd.CombinedOutput()
			code := 0
			var exitErr *exec.ExitError
			switch {
			case errors.As(err, &exitErr):
				code = exitErr.ExitCode()
			case err != nil:
				t.Fatalf("run paastis check-config: %v", err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; output %s", code, tt.wantCode, output)
			}
			if !strings.Contains(string(output), tt.want) {
				t.Errorf("output %q does not contain %q", output, tt.want)
			}
		})
	}
}
