package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/memory"
)

func newRequest(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil)
}

// countingProvider serves one app whose upstream is a real HTTP server,
// and counts every call paastis makes to it.
type countingProvider struct {
	mu      sync.Mutex
	running bool
	url     string
	calls   atomic.Int64
	starts  atomic.Int64
	delay   time.Duration
	// startErr, when set, is what Start returns after its delay.
	startErr error
}

func (p *countingProvider) Apps(ctx context.Context) ([]engine.App, error) {
	p.calls.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	state := engine.StateStopped
	if p.running {
		state = engine.StateRunning
	}
	return []engine.App{{Name: "hello", ID: "hello", Provider: "fake", URL: p.url, State: state}}, nil
}

func (p *countingProvider) Start(ctx context.Context, app engine.App) error {
	p.calls.Add(1)
	p.starts.Add(1)
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.startErr != nil {
		return p.startErr
	}
	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
	return nil
}

func (p *countingProvider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	p.calls.Add(1)
	p.mu.Lock()
	p.running = false
	p.mu.Unlock()
	return nil, nil
}

func (p *countingProvider) State(ctx context.Context, app engine.App) (engine.State, error) {
	p.calls.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return engine.StateRunning, nil
	}
	return engine.StateStopped, nil
}

// countingRegistry counts every registry call.
type countingRegistry struct {
	engine.Registry
	calls atomic.Int64
}

func (r *countingRegistry) Records(ctx context.Context) ([]engine.Record, error) {
	r.calls.Add(1)
	return r.Registry.Records(ctx)
}

func (r *countingRegistry) Record(ctx context.Context, name string) (engine.Record, error) {
	r.calls.Add(1)
	return r.Registry.Record(ctx, name)
}

func (r *countingRegistry) Save(ctx context.Context, records ...engine.Record) error {
	r.calls.Add(1)
	return r.Registry.Save(ctx, records...)
}

func (r *countingRegistry) ReportActivity(ctx context.Context, activity []engine.Activity) error {
	r.calls.Add(1)
	return r.Registry.ReportActivity(ctx, activity)
}

func (r *countingRegistry) Activity(ctx context.Context) (map[string]engine.Activity, error) {
	r.calls.Add(1)
	return r.Registry.Activity(ctx)
}

func (r *countingRegistry) Acquire(ctx context.Context, name string, ttl time.Duration) (engine.Lock, error) {
	r.calls.Add(1)
	return r.Registry.Acquire(ctx, name, ttl)
}

func (r *countingRegistry) AppendEvent(ctx context.Context, event engine.Event) error {
	r.calls.Add(1)
	return r.Registry.AppendEvent(ctx, event)
}

type fixture struct {
	proxy    *Proxy
	engine   *engine.Engine
	provider *countingProvider
	registry *countingRegistry
	upstream *httptest.Server
	hosts    chan string
}

// newFixture returns a proxy in front of one app, "hello", running or
// stopped. configure may change the proxy's options before New.
func newFixture(t *testing.T, running bool, configure ...func(*Options)) *fixture {
	t.Helper()
	hosts := make(chan string, 100)
	f := newFixtureWithUpstream(t, running, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hosts <- r.Host + " " + r.Header.Get("X-Forwarded-Host"):
		default:
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "hello %s %s", r.URL.RequestURI(), body)
	}), configure...)
	f.hosts = hosts
	return f
}

// newFixtureWithUpstream is newFixture with the app served by upstream.
func newFixtureWithUpstream(t *testing.T, running bool, upstream http.Handler, configure ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{}
	f.upstream = httptest.NewServer(upstream)
	t.Cleanup(f.upstream.Close)
	f.provider = &countingProvider{running: running, url: f.upstream.URL}
	f.registry = &countingRegistry{Registry: memory.New()}
	e, err := engine.New(engine.Options{
		Providers:    map[string]engine.Provider{"fake": f.provider},
		Registry:     f.registry,
		PollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.engine = e
	opts := Options{Engine: e, WakeTimeout: 5 * time.Second}
	for _, fn := range configure {
		fn(&opts)
	}
	f.proxy, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) serve(method, host, target string, body io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	r.Host = host
	w := httptest.NewRecorder()
	f.proxy.ServeHTTP(w, r)
	return w
}

func TestWarmRequestCallsNoProviderNorRegistry(t *testing.T) {
	f := newFixture(t, true)
	providerBefore, registryBefore := f.provider.calls.Load(), f.registry.calls.Load()
	for range 20 {
		w := f.serve("GET", "hello.localhost", "/path?q=1", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
		}
	}
	if got := f.provider.calls.Load() - providerBefore; got != 0 {
		t.Errorf("20 warm requests made %d provider calls, want 0", got)
	}
	if got := f.registry.calls.Load() - registryBefore; got != 0 {
		t.Errorf("20 warm requests made %d registry calls, want 0", got)
	}
}

func TestForwardedRequestCarriesUpstreamHostAndForwardingHeaders(t *testing.T) {
	f := newFixture(t, true)
	w := f.serve("POST", "hello.localhost:3000", "/submit?x=1", strings.NewReader("payload"))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	if got, want := w.Body.String(), "hello /submit?x=1 payload"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	hosts := <-f.hosts
	upstreamHost := strings.TrimPrefix(f.upstream.URL, "http://")
	if want := upstreamHost + " hello.localhost:3000"; hosts != want {
		t.Errorf("upstream saw Host and X-Forwarded-Host %q, want %q", hosts, want)
	}
}

func TestUnknownHostGets404AndRegistersNothing(t *testing.T) {
	f := newFixture(t, true)
	before := len(f.engine.Handles())
	w := f.serve("GET", "nope.localhost", "/", nil)
	if w.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", w.Code)
	}
	if !strings.Contains(w.Body.String(), `"nope"`) {
		t.Errorf("404 body does not name the app: %s", w.Body)
	}
	if got := len(f.engine.Handles()); got != before {
		t.Errorf("table has %d apps after an unknown host, want %d", got, before)
	}
}

func TestMalformedHostGets400(t *testing.T) {
	f := newFixture(t, true)
	for _, host := range []string{"", "bad_host.localhost", "127.0.0.1:3000", "a..b"} {
		w := f.serve("GET", host, "/", nil)
		if w.Code != http.StatusBadRequest {
			t.Errorf("host %q: status = %d, want 400", host, w.Code)
		}
	}
}

func TestStoppedAppIsWokenAndRequestForwarded(t *testing.T) {
	f := newFixture(t, false)
	w := f.serve("POST", "hello.localhost", "/wake", strings.NewReader("held body"))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
	}
	if got, want := w.Body.String(), "hello /wake held body"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if got := f.provider.starts.Load(); got != 1 {
		t.Errorf("starts = %d, want 1", got)
	}
}

func TestWakeTimeoutGets503WithRetryAfter(t *testing.T) {
	f := newFixture(t, false)
	f.provider.delay = 2 * time.Second
	f.proxy.wakeTimeout = 50 * time.Millisecond
	w := f.serve("GET", "hello.localhost", "/", nil)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if !strings.Contains(w.Body.String(), "still starting") {
		t.Errorf("body does not say the app is still starting: %s", w.Body)
	}
}

func TestUpstreamDownGets502(t *testing.T) {
	f := newFixture(t, true)
	f.upstream.Close()
	w := f.serve("GET", "hello.localhost", "/", nil)
	if w.Code != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502", w.Code)
	}
}

func TestErrorPageSpeaksFrench(t *testing.T) {
	f := newFixture(t, true)
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "nope.localhost"
	r.Header.Set("Accept", "text/html")
	r.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	w := httptest.NewRecorder()
	f.proxy.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), "Application introuvable") {
		t.Errorf("French 404 page missing its title: %s", w.Body)
	}
	if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
}

func BenchmarkWarmRequest(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer upstream.Close()
	provider := &countingProvider{running: true, url: upstream.URL}
	e, err := engine.New(engine.Options{Providers: map[string]engine.Provider{"fake": provider}, Registry: memory.New()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := e.Sweep(context.Background()); err != nil {
		b.Fatal(err)
	}
	p, err := New(Options{Engine: e})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "hello.localhost"
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkLookupAndActivity(b *testing.B) {
	provider := &countingProvider{running: true, url: "http://127.0.0.1:1"}
	e, err := engine.New(engine.Options{Providers: map[string]engine.Provider{"fake": provider}, Registry: memory.New()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := e.Sweep(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		name, _ := AppName("hello.localhost:3000", "")
		h, ok := e.Lookup(name)
		if !ok {
			b.Fatal("not found")
		}
		now := time.Now()
		h.Begin(now)
		_ = h.State()
		_ = h.Upstream()
		h.End(now)
	}
}

// labelRecorder is a response writer that records what the proxy tells a
// route recorder, as the metrics middleware does.
type labelRecorder struct {
	*httptest.ResponseRecorder
	app        string
	ownTraffic bool
}

func (l *labelRecorder) RecordApp(name string) { l.app = name }
func (l *labelRecorder) RecordOwnTraffic()     { l.ownTraffic = true }

func TestRouteRecorderLearnsAppAndOwnTraffic(t *testing.T) {
	f := newFixture(t, true)
	tests := []struct {
		name           string
		host, target   string
		wantApp        string
		wantOwnTraffic bool
	}{
		{"forwarded request names its app", "hello.localhost", "/page", "hello", false},
		{"status poll is paastis traffic", "hello.localhost", StatusPath, "hello", true},
		{"unknown host names no app", "nope.localhost", "/", "", false},
		{"status poll on unknown host is paastis traffic", "nope.localhost", StatusPath, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			r.Host = tt.host
			w := &labelRecorder{ResponseRecorder: httptest.NewRecorder()}
			f.proxy.ServeHTTP(w, r)
			if w.app != tt.wantApp {
				t.Errorf("recorded app = %q, want %q", w.app, tt.wantApp)
			}
			if w.ownTraffic != tt.wantOwnTraffic {
				t.Errorf("recorded own traffic = %v, want %v", w.ownTraffic, tt.wantOwnTraffic)
			}
		})
	}
}
