package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/memory"
)

// fakeProvider runs apps in memory. Each app's upstream is a real HTTP
// server that responds with 503 while the app is stopped.
type fakeProvider struct {
	mu       sync.Mutex
	apps     map[string]*fakeApp
	startErr error
	stopErr  error
	listErr  error

	starts, stops, lists, states atomic.Int64
	startSaved                   map[string]string // app.Saved given to the last Start
}

type fakeApp struct {
	app     engine.App
	running bool
	server  *httptest.Server
}

func newFakeProvider(t *testing.T, names ...string) *fakeProvider {
	t.Helper()
	p := &fakeProvider{apps: map[string]*fakeApp{}}
	for _, name := range names {
		p.add(t, name, true)
	}
	return p
}

func (p *fakeProvider) add(t *testing.T, name string, running bool) {
	t.Helper()
	fa := &fakeApp{running: running}
	fa.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		up := fa.running
		p.mu.Unlock()
		if !up {
			http.Error(w, "stopped", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "hello from %s", name)
	}))
	t.Cleanup(fa.server.Close)
	fa.app = engine.App{Name: name, ID: name, Provider: "fake", URL: fa.server.URL}
	p.mu.Lock()
	p.apps[name] = fa
	p.mu.Unlock()
}

func (p *fakeProvider) Apps(ctx context.Context) ([]engine.App, error) {
	p.lists.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listErr != nil {
		return nil, p.listErr
	}
	var apps []engine.App
	for _, fa := range p.apps {
		app := fa.app
		app.State = engine.StateStopped
		if fa.running {
			app.State = engine.StateRunning
		}
		apps = append(apps, app)
	}
	return apps, nil
}

func (p *fakeProvider) Start(ctx context.Context, app engine.App) error {
	p.starts.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.startErr != nil {
		return p.startErr
	}
	p.startSaved = app.Saved
	p.apps[app.Name].running = true
	return nil
}

func (p *fakeProvider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	p.stops.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopErr != nil {
		return nil, p.stopErr
	}
	p.apps[app.Name].running = false
	return map[string]string{"formation": "web:2"}, nil
}

func (p *fakeProvider) State(ctx context.Context, app engine.App) (engine.State, error) {
	p.states.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apps[app.Name].running {
		return engine.StateRunning, nil
	}
	return engine.StateStopped, nil
}

func (p *fakeProvider) running(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.apps[name].running
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type recordingHooks struct {
	mu     sync.Mutex
	calls  []string
	failOn engine.HookStage
}

func (h *recordingHooks) RunHook(ctx context.Context, stage engine.HookStage, app engine.App) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, string(stage)+":"+app.Name)
	if stage == h.failOn {
		return errors.New("hook exited with status 1")
	}
	return nil
}

func (h *recordingHooks) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

type setup struct {
	engine   *engine.Engine
	provider *fakeProvider
	registry engine.Registry
	clock    *clock
	hooks    *recordingHooks
}

func newSetup(t *testing.T, registry engine.Registry, provider *fakeProvider, opts engine.Options) *setup {
	t.Helper()
	if registry == nil {
		registry = memory.New()
	}
	c := &clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	h := &recordingHooks{}
	opts.Providers = map[string]engine.Provider{"fake": provider}
	opts.Registry = registry
	if opts.Hooks == nil {
		opts.Hooks = h
	}
	opts.Now = c.Now
	opts.PollInterval = 5 * time.Millisecond
	e, err := engine.New(opts)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	t.Cleanup(e.Close)
	return &setup{engine: e, provider: provider, registry: registry, clock: c, hooks: h}
}

func (s *setup) handle(t *testing.T, name string) *engine.Handle {
	t.Helper()
	h, ok := s.engine.Lookup(name)
	if !ok {
		t.Fatalf("app %q is not in the table", name)
	}
	return h
}

func TestSweepRegistersNewApps(t *testing.T) {
	s := newSetup(t, nil, newFakeProvider(t, "alpha", "beta"), engine.Options{})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	for _, name := range []string{"alpha", "beta"} {
		h := s.handle(t, name)
		if h.State() != engine.StateRunning {
			t.Errorf("%s state = %s, want running", name, h.State())
		}
		if !h.LastAccess().Equal(s.clock.Now()) {
			t.Errorf("%s last access = %s, want the discovery time %s", name, h.LastAccess(), s.clock.Now())
		}
	}
	records, err := s.registry.Records(t.Context())
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	if len(records) != 2 {
		t.Errorf("registry has %d records, want 2", len(records))
	}
}

func TestSweepStopsIdleApps(t *testing.T) {
	tests := []struct {
		name        string
		maxIdle     time.Duration
		idleFor     time.Duration
		wantStopped bool
	}{
		{"app idle less than max idle time keeps running", 15 * time.Minute, 14 * time.Minute, false},
		{"app idle exactly max idle time is stopped", 15 * time.Minute, 15 * time.Minute, true},
		{"app idle past max idle time is stopped", 15 * time.Minute, 16 * time.Minute, true},
		{"app idle 90 minutes under a 2 hour max keeps running", 2 * time.Hour, 90 * time.Minute, false},
		{"app idle 3 hours under a 2 hour max is stopped", 2 * time.Hour, 3 * time.Hour, true},
		{"app idle 10 hours under a 600 minute max is stopped", 600 * time.Minute, 10 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t, nil, newFakeProvider(t, "alpha"), engine.Options{MaxIdleTime: tt.maxIdle})
			if err := s.engine.Sweep(t.Context()); err != nil {
				t.Fatalf("first Sweep: %v", err)
			}
			s.clock.Advance(tt.idleFor)
			if err := s.engine.Sweep(t.Context()); err != nil {
				t.Fatalf("second Sweep: %v", err)
			}
			if got := !s.provider.running("alpha"); got != tt.wantStopped {
				t.Errorf("stopped = %v, want %v", got, tt.wantStopped)
			}
		})
	}
}

func TestSweepKeepsBusyAppRunning(t *testing.T) {
	s := newSetup(t, nil, newFakeProvider(t, "alpha"), engine.Options{MaxIdleTime: time.Minute})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	h := s.handle(t, "alpha")
	h.Begin(s.clock.Now())
	s.clock.Advance(time.Hour)
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if !s.provider.running("alpha") {
		t.Fatal("app with a request in flight was stopped")
	}
	h.End(s.clock.Now())
	s.clock.Advance(2 * time.Minute)
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if s.provider.running("alpha") {
		t.Error("app still running after its request ended and it stayed idle")
	}
}

func TestSweepLeavesIgnoredAppsAlone(t *testing.T) {
	s := newSetup(t, nil, newFakeProvider(t, "alpha"), engine.Options{
		MaxIdleTime: time.Minute,
		Rules:       func(name string) engine.Rule { return engine.Rule{Ignored: name == "alpha"} },
	})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	s.clock.Advance(time.Hour)
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if s.provider.stops.Load() != 0 {
		t.Errorf("ignored app got %d stop calls, want 0", s.provider.stops.Load())
	}
	s.provider.mu.Lock()
	s.provider.apps["alpha"].running = false
	s.provider.mu.Unlock()
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	err := s.engine.Wake(t.Context(), s.handle(t, "alpha"))
	if !errors.Is(err, engine.ErrNotManaged) {
		t.Errorf("Wake of an ignored app = %v, want ErrNotManaged", err)
	}
	if s.provider.starts.Load() != 0 {
		t.Errorf("ignored app got %d start calls, want 0", s.provider.starts.Load())
	}
}

func TestSweepDropsDeletedApps(t *testing.T) {
	p := newFakeProvider(t, "alpha", "beta")
	s := newSetup(t, nil, p, engine.Options{})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	p.mu.Lock()
	delete(p.apps, "beta")
	p.mu.Unlock()
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if _, ok := s.engine.Lookup("beta"); ok {
		t.Error("deleted app is still in the table")
	}
	if _, err := s.registry.Record(t.Context(), "beta"); !errors.Is(err, engine.ErrAppNotFound) {
		t.Errorf("Record(beta) = %v, want ErrAppNotFound", err)
	}
	events, err := s.registry.Events(t.Context(), 10)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if last := events[len(events)-1]; last.Type != engine.EventUnregistered || last.App != "beta" {
		t.Errorf("last event = %+v, want unregistered beta", last)
	}
}

func TestSweepRecordsStatesChangedOutsidePaastis(t *testing.T) {
	p := newFakeProvider(t, "alpha")
	s := newSetup(t, nil, p, engine.Options{MaxIdleTime: time.Minute})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	p.mu.Lock()
	p.apps["alpha"].running = false
	p.mu.Unlock()
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if got := s.handle(t, "alpha").State(); got != engine.StateStopped {
		t.Fatalf("state after a stop outside paastis = %s, want stopped", got)
	}

	s.clock.Advance(time.Hour)
	p.mu.Lock()
	p.apps["alpha"].running = true
	p.mu.Unlock()
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if got := s.handle(t, "alpha").State(); got != engine.StateRunning {
		t.Fatalf("state after a start outside paastis = %s, want running", got)
	}
	if p.stops.Load() != 0 {
		t.Error("an app started outside paastis was stopped at once; it should get a full idle period")
	}
}

func TestSweepStopsNothingWhenListingFails(t *testing.T) {
	p := newFakeProvider(t, "alpha")
	s := newSetup(t, nil, p, engine.Options{MaxIdleTime: time.Minute})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	p.mu.Lock()
	p.listErr = errors.New("api unavailable")
	p.mu.Unlock()
	s.clock.Advance(time.Hour)
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if p.stops.Load() != 0 {
		t.Errorf("got %d stops while the provider listing failed, want 0", p.stops.Load())
	}
	if _, ok := s.engine.Lookup("alpha"); !ok {
		t.Error("app dropped because its provider's listing failed")
	}
}

func TestWakeConcurrentRequestsShareOneStart(t *testing.T) {
	p := newFakeProvider(t)
	p.add(t, "alpha", false)
	s := newSetup(t, nil, p, engine.Options{})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	h := s.handle(t, "alpha")

	const requests = 50
	errs := make(chan error, requests)
	var wg sync.WaitGroup
	for range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.engine.Wake(t.Context(), h)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Wake: %v", err)
		}
	}
	if got := p.starts.Load(); got != 1 {
		t.Errorf("provider got %d start calls for %d concurrent wakes, want 1", got, requests)
	}
	if h.State() != engine.StateRunning {
		t.Errorf("state = %s, want running", h.State())
	}
	if got := s.hooks.Calls(); len(got) != 2 || got[0] != "before_start:alpha" || got[1] != "after_start:alpha" {
		t.Errorf("hooks = %v, want [before_start:alpha after_start:alpha]", got)
	}
}

func TestWakeRestoresSavedProviderData(t *testing.T) {
	p := newFakeProvider(t, "alpha")
	s := newSetup(t, nil, p, engine.Options{MaxIdleTime: time.Minute})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if err := s.engine.Stop(t.Context(), "alpha"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	rec, err := s.registry.Record(t.Context(), "alpha")
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if rec.App.Saved["formation"] != "web:2" {
		t.Fatalf("saved data in the registry = %v, want formation web:2", rec.App.Saved)
	}
	if err := s.engine.Start(t.Context(), "alpha"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	p.mu.Lock()
	got := p.startSaved["formation"]
	p.mu.Unlock()
	if got != "web:2" {
		t.Errorf("Start got saved formation %q, want web:2", got)
	}
}

func TestWakeFailureIsReportedAndBackedOff(t *testing.T) {
	p := newFakeProvider(t)
	p.add(t, "alpha", false)
	p.startErr = errors.New("command not found")
	s := newSetup(t, nil, p, engine.Options{FailureBackoff: time.Minute})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	h := s.handle(t, "alpha")
	err := s.engine.Wake(t.Context(), h)
	var startErr *engine.StartError
	if !errors.As(err, &startErr) {
		t.Fatalf("Wake = %v, want a *StartError", err)
	}
	if err := s.engine.Wake(t.Context(), h); err == nil {
		t.Fatal("second Wake within the back-off succeeded, want the same failure")
	}
	if got := p.starts.Load(); got != 1 {
		t.Errorf("provider got %d starts within the failure back-off, want 1", got)
	}
	if st := h.WakeStatus(); st.Err == nil || st.State != engine.StateFailed {
		t.Errorf("WakeStatus = %+v, want state failed with an error", st)
	}
	s.clock.Advance(2 * time.Minute)
	p.mu.Lock()
	p.startErr = nil
	p.mu.Unlock()
	if err := s.engine.Wake(t.Context(), h); err != nil {
		t.Fatalf("Wake after the back-off: %v", err)
	}
}

func TestStopCancelledByFailingBeforeStopHook(t *testing.T) {
	p := newFakeProvider(t, "alpha")
	hooks := &recordingHooks{failOn: engine.BeforeStop}
	s := newSetup(t, nil, p, engine.Options{MaxIdleTime: time.Minute, Hooks: hooks})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	s.clock.Advance(time.Hour)
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if p.stops.Load() != 0 || !p.running("alpha") {
		t.Error("app stopped although its before-stop hook failed")
	}
	if got := s.handle(t, "alpha").State(); got != engine.StateRunning {
		t.Errorf("state = %s, want running", got)
	}
	events, err := s.registry.Events(t.Context(), 10)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if last := events[len(events)-1]; last.Type != engine.EventStopFailed {
		t.Errorf("last event = %s, want stop_failed", last.Type)
	}
}

// failingActivity is a registry whose activity reads fail, as Redis does
// during an outage.
type failingActivity struct {
	engine.Registry
	fail atomic.Bool
}

func (f *failingActivity) Activity(ctx context.Context) (map[string]engine.Activity, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	return f.Registry.Activity(ctx)
}

func TestSweepStopsNothingWhenActivityIsUnreadable(t *testing.T) {
	registry := &failingActivity{Registry: memory.New()}
	p := newFakeProvider(t, "alpha")
	s := newSetup(t, registry, p, engine.Options{MaxIdleTime: time.Minute})
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	registry.fail.Store(true)
	s.clock.Advance(time.Hour)
	if err := s.engine.Sweep(t.Context()); err == nil {
		t.Error("Sweep without activity data returned no error")
	}
	if p.stops.Load() != 0 {
		t.Errorf("got %d stops without activity data, want 0", p.stops.Load())
	}
	registry.fail.Store(false)
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep after recovery: %v", err)
	}
	if p.stops.Load() != 0 {
		t.Errorf("got %d stops right after recovery, want 0 until every instance reported its activity again", p.stops.Load())
	}
	s.clock.Advance(2 * 5 * time.Second) // two default flush intervals
	if err := s.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep two flush intervals after recovery: %v", err)
	}
	if p.stops.Load() != 1 {
		t.Errorf("got %d stops two flush intervals after recovery, want 1", p.stops.Load())
	}
}

func TestLoadRestoresRecordsFromRegistry(t *testing.T) {
	registry := memory.New()
	p := newFakeProvider(t, "alpha")
	first := newSetup(t, registry, p, engine.Options{})
	if err := first.engine.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if err := first.engine.Stop(t.Context(), "alpha"); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	second := newSetup(t, registry, p, engine.Options{})
	if err := second.engine.Load(t.Context()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	h := second.handle(t, "alpha")
	if h.State() != engine.StateStopped {
		t.Errorf("state after Load = %s, want stopped", h.State())
	}
	if h.App().Saved["formation"] != "web:2" {
		t.Errorf("saved data after Load = %v, want formation web:2", h.App().Saved)
	}
}

// aliasProvider is a fakeProvider that also reports routing aliases.
type aliasProvider struct {
	*fakeProvider
	aliases map[string]string
}

func (p *aliasProvider) Aliases() map[string]string { return p.aliases }

func TestLookupFindsAppsByAlias(t *testing.T) {
	base := newFakeProvider(t, "alpha", "beta")
	p := &aliasProvider{fakeProvider: base, aliases: map[string]string{
		"app-1234": "alpha",
		"beta":     "alpha", // an alias that is another app's name loses
		"app-9999": "gone",  // an alias of an unknown app is dropped
	}}
	e, err := engine.New(engine.Options{
		Providers: map[string]engine.Provider{"fake": p},
		Registry:  memory.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if h, ok := e.Lookup("app-1234"); !ok || h.Name() != "alpha" {
		t.Errorf("Lookup(app-1234) = %v, %v; want alpha", h, ok)
	}
	if h, ok := e.Lookup("beta"); !ok || h.Name() != "beta" {
		t.Errorf("Lookup(beta) = %v, %v; want the app beta itself", h, ok)
	}
	if _, ok := e.Lookup("app-9999"); ok {
		t.Error("Lookup(app-9999) found an alias of an unknown app")
	}
}

func TestSweepRoutesSameNameToFirstProvider(t *testing.T) {
	first := newFakeProvider(t, "shared", "only-first")
	second := newFakeProvider(t, "shared", "only-second")
	e, err := engine.New(engine.Options{
		Providers:     map[string]engine.Provider{"zeta": first, "alpha": second},
		ProviderOrder: []string{"zeta", "alpha"},
		Registry:      memory.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	// Several sweeps, because map order changes between iterations.
	for range 5 {
		if err := e.Sweep(t.Context()); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		h, ok := e.Lookup("shared")
		if !ok {
			t.Fatal("shared app not routed")
		}
		if got := h.App().Provider; got != "zeta" {
			t.Fatalf("shared app routed to provider %q, want zeta, the first in ProviderOrder", got)
		}
	}
	for name, provider := range map[string]string{"only-first": "zeta", "only-second": "alpha"} {
		h, ok := e.Lookup(name)
		if !ok || h.App().Provider != provider {
			t.Errorf("Lookup(%s) = %v, %v; want an app of provider %s", name, h, ok, provider)
		}
	}
}
