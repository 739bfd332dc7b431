package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/api"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/memory"
)

// fakeProvider runs apps in memory. Every app's upstream is one real HTTP
// server, so that readiness probes succeed.
type fakeProvider struct {
	mu       sync.Mutex
	apps     map[string]engine.App
	name     string // the name in engine.App.Provider, "fake" by default
	startErr error
	stopErr  error
	// hold, when not nil, makes Start wait until it is closed.
	hold chan struct{}
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	return &fakeProvider{apps: map[string]engine.App{}, name: "fake"}
}

// add lists a new app, running or stopped, with its own upstream server.
func (p *fakeProvider) add(t *testing.T, name string, state engine.State) {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+name)
	}))
	t.Cleanup(upstream.Close)
	p.mu.Lock()
	defer p.mu.Unlock()
	// Providers set Provider themselves, as the engine keeps what Apps
	// returns after a start.
	p.apps[name] = engine.App{Name: name, ID: "id-" + name, Provider: p.name, Region: "osc-fr1", URL: upstream.URL, State: state}
}

func (p *fakeProvider) remove(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.apps, name)
}

func (p *fakeProvider) Apps(ctx context.Context) ([]engine.App, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	apps := make([]engine.App, 0, len(p.apps))
	for _, app := range p.apps {
		apps = append(apps, app)
	}
	return apps, nil
}

func (p *fakeProvider) Start(ctx context.Context, app engine.App) error {
	p.mu.Lock()
	hold := p.hold
	p.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.setState(app.Name, engine.StateRunning, func() error { return p.startErr })
}

func (p *fakeProvider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	return nil, p.setState(app.Name, engine.StateStopped, func() error { return p.stopErr })
}

func (p *fakeProvider) State(ctx context.Context, app engine.App) (engine.State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.apps[app.Name].State, nil
}

func (p *fakeProvider) setState(name string, state engine.State, failure func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := failure(); err != nil {
		return err
	}
	app := p.apps[name]
	app.State = state
	p.apps[name] = app
	return nil
}

func (p *fakeProvider) set(fn func(p *fakeProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(p)
}

// engineOptions are the settings of newEngine.
type engineOptions struct {
	registry engine.Registry
	ignored  []string
	// now replaces the engine's clock when not nil.
	now func() time.Time
	// maxIdleTime replaces the default 15 minutes when positive.
	maxIdleTime time.Duration
}

// newEngine returns an engine over the provider after one sweep, so
// that its table lists the provider's apps.
func newEngine(t *testing.T, provider *fakeProvider, opts engineOptions) *engine.Engine {
	t.Helper()
	if opts.registry == nil {
		opts.registry = memory.New()
	}
	e, err := engine.New(engine.Options{
		Providers:      map[string]engine.Provider{provider.name: provider},
		Registry:       opts.registry,
		Now:            opts.now,
		MaxIdleTime:    opts.maxIdleTime,
		PollInterval:   5 * time.Millisecond,
		FailureBackoff: time.Millisecond,
		Rules: func(name string) engine.Rule {
			for _, ignored := range opts.ignored {
				if ignored == name {
					return engine.Rule{Ignored: true}
				}
			}
			return engine.Rule{}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return e
}

// newAdminServer serves the admin handler on a real 127.0.0.1 listener.
func newAdminServer(t *testing.T, opts api.AdminOptions) (*httptest.Server, *api.Admin) {
	t.Helper()
	admin := api.NewAdmin(opts)
	server := httptest.NewUnstartedServer(admin)
	server.Config.RegisterOnShutdown(admin.Close)
	server.Start()
	t.Cleanup(func() {
		admin.Close()
		server.Close()
	})
	return server, admin
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request and reads the whole response. Redirects are not
// followed.
func do(t *testing.T, method, url string, header http.Header, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for key, values := range header {
		if strings.EqualFold(key, "Host") {
			req.Host = values[0]
			continue
		}
		req.Header[key] = values
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the body of %s %s: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// decode decodes the JSON body of a response into a value of type T.
func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var value T
	if err := json.Unmarshal(r.body, &value); err != nil {
		t.Fatalf("body %q is not the expected JSON: %v", r.body, err)
	}
	return value
}

// errorMessage returns the "error" field of a JSON error body, failing the
// test when the body is not one.
func errorMessage(t *testing.T, r response) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type = %q, expected application/json", ct)
	}
	body := decode[map[string]any](t, r)
	message, _ := body["error"].(string)
	if message == "" {
		t.Errorf("body %s has no error message", r.body)
	}
	return message
}

// eventually polls condition until it holds, or fails the test after 10
// seconds.
func eventually(t *testing.T, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bearer returns the header of a bearer token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// brokenRegistry is an in-memory registry whose event log fails.
type brokenRegistry struct {
	*memory.Registry
}

func (brokenRegistry) Events(ctx context.Context, limit int) ([]engine.Event, error) {
	return nil, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

// adminOptions returns the options of an admin listener without a token.
func adminOptions(e *engine.Engine) api.AdminOptions {
	return apiOptions(e, "test")
}

// apiOptions returns the options of an admin listener without a token,
// showing version.
func apiOptions(e *engine.Engine, version string) api.AdminOptions {
	return api.AdminOptions{Engine: e, StartWait: 5 * time.Second, Version: version}
}
