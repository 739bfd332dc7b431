package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/paastis/paastis/internal/testwait"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	redisregistry "github.com/paastis/paastis/internal/registry/redis"
	"github.com/paastis/paastis/internal/registry/redis/redistest"
)

// testPrefix is the key prefix of the registries in these tests.
const testPrefix = "paastis-test:"

// newRedisRegistry connects a registry to the server, closed when the test
// ends.
func newRedisRegistry(t testing.TB, server *redistest.Server) *redisregistry.Registry {
	t.Helper()
	registry, err := redisregistry.New(t.Context(), redisregistry.Options{
		URL:       server.URL(),
		KeyPrefix: testPrefix,
		Timeout:   time.Second,
	})
	if err != nil {
		t.Fatalf("connect the registry: %v", err)
	}
	t.Cleanup(func() { registry.Close() })
	return registry
}

// newRedisEngine returns an engine on its own connection to the server,
// closed when the test ends. opts.Providers must be set.
func newRedisEngine(t *testing.T, server *redistest.Server, opts engine.Options) (*engine.Engine, *redisregistry.Registry) {
	t.Helper()
	registry := newRedisRegistry(t, server)
	opts.Registry = registry
	if opts.PollInterval == 0 {
		opts.PollInterval = 5 * time.Millisecond
	}
	e, err := engine.New(opts)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	t.Cleanup(e.Close)
	return e, registry
}

// lookup returns the handle of an app, or fails the test.
func lookup(t *testing.T, e *engine.Engine, name string) *engine.Handle {
	t.Helper()
	h, ok := e.Lookup(name)
	if !ok {
		t.Fatalf("app %q is not in the table", name)
	}
	return h
}

// logBuffer collects log output, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(text string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), text)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sweepEvery is a Schedule with a fixed period.
type sweepEvery time.Duration

func (d sweepEvery) Next(t time.Time) time.Time { return t.Add(time.Duration(d)) }

// machineApp is one app that several machineProviders share, as paastis
// instances on one machine share the fixed port of a local app.
type machineApp struct {
	mu     sync.Mutex
	up     bool
	server *httptest.Server
}

func newMachineApp(t *testing.T) *machineApp {
	t.Helper()
	m := &machineApp{}
	m.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.isUp() {
			http.Error(w, "stopped", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "hello from alpha")
	}))
	t.Cleanup(m.server.Close)
	return m
}

func (m *machineApp) isUp() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.up
}

// machineProvider runs the app "alpha" like the local provider does: it
// reports the app running only when it started it itself, so it reports
// stopped an app that another instance started.
type machineProvider struct {
	app    *machineApp
	starts atomic.Int64

	mu      sync.Mutex
	started bool
}

func (p *machineProvider) Apps(ctx context.Context) ([]engine.App, error) {
	state, _ := p.State(ctx, engine.App{Name: "alpha"})
	return []engine.App{{Name: "alpha", ID: "alpha", Provider: "machine", URL: p.app.server.URL, State: state}}, nil
}

func (p *machineProvider) Start(ctx context.Context, app engine.App) error {
	p.starts.Add(1)
	p.mu.Lock()
	p.started = true
	p.mu.Unlock()
	p.app.mu.Lock()
	p.app.up = true
	p.app.mu.Unlock()
	return nil
}

func (p *machineProvider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		p.started = false
		p.app.mu.Lock()
		p.app.up = false
		p.app.mu.Unlock()
	}
	return nil, nil
}

func (p *machineProvider) State(ctx context.Context, app engine.App) (engine.State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started && p.app.isUp() {
		return engine.StateRunning, nil
	}
	return engine.StateStopped, nil
}

// wakeConcurrently wakes the app n times at once on each engine and
// returns the first error.
func wakeConcurrently(t *testing.T, n int, engines ...*engine.Engine) error {
	t.Helper()
	errs := make(chan error, n*len(engines))
	var wg sync.WaitGroup
	for i := range n * len(engines) {
		e := engines[i%len(engines)]
		h := lookup(t, e, "alpha")
		wg.Go(func() { errs <- e.Wake(t.Context(), h) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestRedisWakesOnTwoInstancesStartOnce(t *testing.T) {
	tests := []struct {
		name string
		// providers returns the provider of each instance and a function
		// that counts the starts of all of them.
		providers func(t *testing.T) (a, b engine.Provider, starts func() int64)
	}{
		{
			name: "instances of one PaaS see the same state",
			providers: func(t *testing.T) (engine.Provider, engine.Provider, func() int64) {
				p := newFakeProvider(t)
				p.add(t, "alpha", false)
				return p, p, p.starts.Load
			},
		},
		{
			name: "instances of a local provider see only their own starts",
			providers: func(t *testing.T) (engine.Provider, engine.Provider, func() int64) {
				app := newMachineApp(t)
				a, b := &machineProvider{app: app}, &machineProvider{app: app}
				return a, b, func() int64 { return a.starts.Load() + b.starts.Load() }
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := redistest.Start(t)
			providerA, providerB, starts := tt.providers(t)
			a, registry := newRedisEngine(t, server, engine.Options{Providers: map[string]engine.Provider{"fake": providerA}})
			b, _ := newRedisEngine(t, server, engine.Options{Providers: map[string]engine.Provider{"fake": providerB}})
			if err := a.Sweep(t.Context()); err != nil {
				t.Fatalf("Sweep on the lease holder: %v", err)
			}
			if err := b.Sweep(t.Context()); err != nil {
				t.Fatalf("Sweep on the other instance: %v", err)
			}

			if err := wakeConcurrently(t, 50, a, b); err != nil {
				t.Fatalf("Wake: %v", err)
			}
			if got := starts(); got != 1 {
				t.Errorf("100 wakes split across two instances caused %d provider starts, want 1", got)
			}
			for name, e := range map[string]*engine.Engine{"lease holder": a, "other instance": b} {
				if got := lookup(t, e, "alpha").State(); got != engine.StateRunning {
					t.Errorf("state on the %s = %s, want running", name, got)
				}
			}

			// A wake that comes after the start, on the instance whose
			// table still shows it stopped, finds the app running too.
			if err := wakeConcurrently(t, 5, b); err != nil {
				t.Fatalf("Wake after the start: %v", err)
			}
			if got := starts(); got != 1 {
				t.Errorf("provider starts after a late wake = %d, want 1", got)
			}
			events, err := registry.Events(t.Context(), 100)
			if err != nil {
				t.Fatalf("Events: %v", err)
			}
			started := 0
			for _, event := range events {
				if event.Type == engine.EventStarted {
					started++
				}
			}
			if started != 1 {
				t.Errorf("the events stream holds %d started events, want 1", started)
			}
		})
	}
}

func TestRedisSavedDataSurvivesFullRestart(t *testing.T) {
	server := redistest.Start(t)
	p := newFakeProvider(t, "alpha")
	c := &clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	opts := engine.Options{Providers: map[string]engine.Provider{"fake": p}, Now: c.Now, MaxIdleTime: time.Minute}

	// The first generation of instances stops the idle app.
	{
		a, _ := newRedisEngine(t, server, opts)
		b, _ := newRedisEngine(t, server, opts)
		for _, e := range []*engine.Engine{a, b} {
			if err := e.Sweep(t.Context()); err != nil {
				t.Fatalf("Sweep: %v", err)
			}
		}
		c.Advance(time.Hour)
		if err := a.Sweep(t.Context()); err != nil {
			t.Fatalf("Sweep of the idle app: %v", err)
		}
		if p.running("alpha") {
			t.Fatal("the idle app was not stopped")
		}
		a.Close()
		b.Close()
	}

	// The second generation reads the saved formation from Redis alone.
	a, _ := newRedisEngine(t, server, opts)
	b, _ := newRedisEngine(t, server, opts)
	for _, e := range []*engine.Engine{a, b} {
		if err := e.Load(t.Context()); err != nil {
			t.Fatalf("Load: %v", err)
		}
	}
	if got := lookup(t, b, "alpha").App().Saved["formation"]; got != "web:2" {
		t.Errorf("saved formation after a restart = %q, want web:2", got)
	}
	if err := b.Wake(t.Context(), lookup(t, b, "alpha")); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	p.mu.Lock()
	got := p.startSaved["formation"]
	p.mu.Unlock()
	if got != "web:2" {
		t.Errorf("Start got saved formation %q, want web:2", got)
	}
}

func TestRedisSweepKeepsDataSavedByOtherInstance(t *testing.T) {
	server := redistest.Start(t)
	p := newFakeProvider(t, "alpha")
	opts := engine.Options{Providers: map[string]engine.Provider{"fake": p}}
	holder, registry := newRedisEngine(t, server, opts)
	other, _ := newRedisEngine(t, server, opts)
	for _, e := range []*engine.Engine{holder, other} {
		if err := e.Sweep(t.Context()); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
	}

	if err := other.Stop(t.Context(), "alpha"); err != nil {
		t.Fatalf("Stop on the other instance: %v", err)
	}
	if err := holder.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep on the lease holder: %v", err)
	}
	rec, err := registry.Record(t.Context(), "alpha")
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if rec.App.Saved["formation"] != "web:2" {
		t.Errorf("saved data after the lease holder's sweep = %v, want formation web:2", rec.App.Saved)
	}
	if rec.App.State != engine.StateStopped {
		t.Errorf("recorded state = %s, want stopped", rec.App.State)
	}
	if got := lookup(t, holder, "alpha").State(); got != engine.StateStopped {
		t.Errorf("state on the lease holder = %s, want stopped", got)
	}

	if err := holder.Start(t.Context(), "alpha"); err != nil {
		t.Fatalf("Start on the lease holder: %v", err)
	}
	p.mu.Lock()
	got := p.startSaved["formation"]
	p.mu.Unlock()
	if got != "web:2" {
		t.Errorf("Start got saved formation %q, want web:2", got)
	}
}

func TestRedisSweepLeaseMovesWhenHolderDies(t *testing.T) {
	const lockTTL = 600 * time.Millisecond
	const tick = 50 * time.Millisecond
	server := redistest.Start(t)
	providerA, providerB := newFakeProvider(t, "alpha"), newFakeProvider(t, "alpha")
	a, _ := newRedisEngine(t, server, engine.Options{Providers: map[string]engine.Provider{"fake": providerA}, LockTTL: lockTTL})
	b, _ := newRedisEngine(t, server, engine.Options{Providers: map[string]engine.Provider{"fake": providerB}, LockTTL: lockTTL})

	run := func(e *engine.Engine) (stop func()) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Run(ctx, sweepEvery(tick))
		}()
		stop = func() {
			cancel()
			<-done
		}
		t.Cleanup(stop)
		return stop
	}
	crashA := run(a)
	testwait.Until(t, 5*time.Second, "the first instance to sweep", func() bool { return providerA.lists.Load() > 0 })
	run(b)

	// Only the lease holder lists the provider's apps, sweep after sweep.
	listsA := providerA.lists.Load()
	testwait.Until(t, 5*time.Second, "three more sweeps of the lease holder", func() bool { return providerA.lists.Load() >= listsA+3 })
	if got := providerB.lists.Load(); got != 0 {
		t.Fatalf("the instance without the lease listed apps %d times, want 0", got)
	}

	// Ending Run without Close leaves the lease in Redis, as a crash does.
	crashA()
	crashed := time.Now()
	testwait.Until(t, lockTTL+lockTTL/3+tick+time.Second, "the other instance to take the sweep", func() bool { return providerB.lists.Load() > 0 })
	if took, limit := time.Since(crashed), lockTTL+lockTTL/3+tick; took > limit+200*time.Millisecond {
		t.Errorf("the sweep moved after %s, want within the lease ttl, one renewal and one tick (%s)", took, limit)
	}
}

func TestRedisOutageStopsNothingAndRecovers(t *testing.T) {
	server := redistest.Start(t)
	p := newFakeProvider(t, "idle")
	p.add(t, "sleeping", false)
	c := &clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	logs := &logBuffer{}
	e, registry := newRedisEngine(t, server, engine.Options{
		Providers:   map[string]engine.Provider{"fake": p},
		Now:         c.Now,
		MaxIdleTime: time.Minute,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	idle := lookup(t, e, "idle")

	server.Stop()
	c.Advance(time.Hour)
	for range 3 {
		idle.Begin(c.Now())
		idle.End(c.Now())
		if err := e.Sweep(t.Context()); err == nil {
			t.Error("Sweep without Redis returned no error")
		}
		e.Flush(t.Context())
	}
	if got := p.stops.Load(); got != 0 {
		t.Errorf("got %d stops during the outage, want 0", got)
	}
	if err := e.Wake(t.Context(), lookup(t, e, "sleeping")); err != nil {
		t.Fatalf("Wake during the outage: %v", err)
	}
	if got := p.starts.Load(); got != 1 {
		t.Errorf("got %d starts for a wake during the outage, want 1", got)
	}
	if got := logs.count("registry unavailable"); got != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", got, logs)
	}

	// Redis comes back empty, as it does without persistence.
	// The client dials again about once a second after failed dials.
	server.Restart()
	c.Advance(time.Hour)
	testwait.Until(t, 10*time.Second, "a sweep to save the records again after the restart", func() bool {
		if e.Sweep(t.Context()) != nil {
			return false
		}
		records, err := registry.Records(t.Context())
		return err == nil && len(records) == 2
	})
	if got := logs.count("registry available again"); got != 1 {
		t.Errorf("the recovery was logged %d times, want once", got)
	}
	if got := p.stops.Load(); got != 0 {
		t.Errorf("got %d stops right after the restart, want 0 until every instance reported its activity", got)
	}
	activity, err := registry.Activity(t.Context())
	if err != nil {
		t.Fatalf("Activity: %v", err)
	}
	for _, name := range []string{"idle", "sleeping"} {
		if activity[name].LastAccess.IsZero() {
			t.Errorf("the last access of %s was not reported again after the restart", name)
		}
	}

	c.Advance(2 * 5 * time.Second) // two default flush intervals
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep two flush intervals after the restart: %v", err)
	}
	if p.running("idle") {
		t.Error("the idle app is still running once every instance could report its activity")
	}
	if got := logs.count("registry unavailable"); got != 1 {
		t.Errorf("the outage was logged %d times in all, want once", got)
	}
}

func TestRedisRestartKeepsOtherInstanceApps(t *testing.T) {
	server := redistest.Start(t)
	p := newFakeProvider(t, "alpha")
	opts := engine.Options{Providers: map[string]engine.Provider{"fake": p}}
	holder, registry := newRedisEngine(t, server, opts)
	other, _ := newRedisEngine(t, server, opts)
	for _, e := range []*engine.Engine{holder, other} {
		if err := e.Sweep(t.Context()); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
	}

	// Redis restarts empty, and the lease holder takes the lease again
	// before it saves the records.
	server.Restart()
	lease := testPrefix + "{registry}:lock:sweep"
	if err := server.Client().Set(t.Context(), lease, "holder", time.Minute).Err(); err != nil {
		t.Fatalf("SET %s: %v", lease, err)
	}
	if err := other.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep of the other instance after the restart: %v", err)
	}
	if _, ok := other.Lookup("alpha"); !ok {
		t.Fatal("the other instance dropped its apps because Redis restarted empty")
	}

	// Its next flush reports the activity that Redis lost.
	other.Flush(t.Context())
	activity, err := registry.Activity(t.Context())
	if err != nil {
		t.Fatalf("Activity: %v", err)
	}
	if activity["alpha"].LastAccess.IsZero() {
		t.Error("the other instance did not report its activity again after Redis lost it")
	}
}

func TestRedisLeavesKeysOutsideItsPrefixAlone(t *testing.T) {
	server := redistest.Start(t)
	client := server.Client()
	foreign := map[string]string{
		"unrelated":                     "kept",
		"paastis-other:{registry}:apps": "another deployment",
		"paastis-test":                  "the prefix without its colon",
	}
	for key, value := range foreign {
		if err := client.Set(t.Context(), key, value, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
	}

	p := newFakeProvider(t, "alpha")
	p.add(t, "beta", false)
	c := &clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	e, registry := newRedisEngine(t, server, engine.Options{Providers: map[string]engine.Provider{"fake": p}, Now: c.Now, MaxIdleTime: time.Minute})
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if err := e.Wake(t.Context(), lookup(t, e, "beta")); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	lookup(t, e, "beta").Begin(c.Now())
	e.Flush(t.Context())
	c.Advance(time.Hour)
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep of the idle app: %v", err)
	}
	if p.stops.Load() != 1 {
		t.Fatalf("got %d stops, want the idle app stopped once", p.stops.Load())
	}

	keys, err := client.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	for _, key := range keys {
		if _, ok := foreign[key]; !ok && !strings.HasPrefix(key, testPrefix) {
			t.Errorf("the engine wrote key %q outside its prefix %q", key, testPrefix)
		}
	}
	if len(keys) <= len(foreign) {
		t.Fatalf("Redis holds %d keys, want the registry's keys besides the %d foreign ones", len(keys), len(foreign))
	}

	if err := registry.Clear(t.Context()); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	for key, want := range foreign {
		got, err := client.Get(t.Context(), key).Result()
		if err != nil || got != want {
			t.Errorf("foreign key %q = %q, %v after the sweeps and Clear; want %q", key, got, err, want)
		}
	}
	left, err := client.DBSize(t.Context()).Result()
	if err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	if left != int64(len(foreign)) {
		t.Errorf("Redis holds %d keys after Clear, want only the %d foreign ones", left, len(foreign))
	}
}

func TestRedisWarmRequestsSendNoCommands(t *testing.T) {
	server := redistest.Start(t)
	p := newFakeProvider(t, "alpha")
	c := &clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	e, _ := newRedisEngine(t, server, engine.Options{Providers: map[string]engine.Provider{"fake": p}, Now: c.Now})
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	h := lookup(t, e, "alpha")
	// A first flush loads the script into Redis's cache.
	h.Touch(c.Now())
	e.Flush(t.Context())

	server.ResetCommandStats()
	const requests = 1000
	for range requests {
		if got, ok := e.Lookup("alpha"); !ok || got != h {
			t.Fatal("Lookup lost the app")
		}
		c.Advance(time.Millisecond)
		h.Begin(c.Now())
		h.End(c.Now())
	}
	if got := countCommands(server.CommandStats()); got != 0 {
		t.Errorf("%d warm requests sent %d Redis commands, want 0", requests, got)
	}

	// The flush reports them all in one round trip.
	e.Flush(t.Context())
	stats := server.CommandStats()
	if got := stats["evalsha"] + stats["eval"]; got != 1 {
		t.Errorf("the flush after %d requests took %d script calls, want 1 (stats %v)", requests, got, stats)
	}
}

// countCommands returns the calls in INFO commandstats, except those of
// the assertions themselves.
func countCommands(stats map[string]int64) int64 {
	var total int64
	for command, calls := range stats {
		if command != "info" && command != "config|resetstat" {
			total += calls
		}
	}
	return total
}
