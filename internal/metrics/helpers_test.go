package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/metrics"
	"github.com/paastis/paastis/internal/registry/memory"
)

// fakeProvider runs apps in memory. Every app's upstream is one real HTTP
// server, so that readiness probes succeed.
type fakeProvider struct {
	mu       sync.Mutex
	apps     map[string]engine.App
	startErr error
	stopErr  error
}

func newFakeProvider(t *testing.T, names ...string) *fakeProvider {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	t.Cleanup(upstream.Close)
	p := &fakeProvider{apps: map[string]engine.App{}}
	for _, name := range names {
		// Providers set Provider themselves, as the engine keeps what Apps returns.
		p.apps[name] = engine.App{Name: name, ID: name, Provider: "fake", URL: upstream.URL, State: engine.StateStopped}
	}
	return p
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
	return p.setState(app.Name, engine.StateRunning, p.startErr)
}

func (p *fakeProvider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	return nil, p.setState(app.Name, engine.StateStopped, p.stopErr)
}

func (p *fakeProvider) State(ctx context.Context, app engine.App) (engine.State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.apps[app.Name].State, nil
}

func (p *fakeProvider) setState(name string, state engine.State, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		return err
	}
	app := p.apps[name]
	app.State = state
	p.apps[name] = app
	return nil
}

func (p *fakeProvider) remove(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.apps, name)
}

func (p *fakeProvider) failStarts(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startErr = err
}

func (p *fakeProvider) failStops(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopErr = err
}

// newEngine returns an engine over provider "fake" and an in-memory
// registry, after one sweep so that its table lists the apps.
func newEngine(t *testing.T, provider *fakeProvider, registry engine.Registry) *engine.Engine {
	t.Helper()
	if registry == nil {
		registry = memory.New()
	}
	e, err := engine.New(engine.Options{
		Providers:      map[string]engine.Provider{"fake": provider},
		Registry:       registry,
		PollInterval:   5 * time.Millisecond,
		FailureBackoff: time.Millisecond,
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

// family returns the gathered metric family of that name, or nil.
func family(t *testing.T, m *metrics.Metrics, name string) *dto.MetricFamily {
	t.Helper()
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// sample returns the metric of the family with exactly these labels.
func sample(t *testing.T, m *metrics.Metrics, name string, labels prometheus.Labels) *dto.Metric {
	t.Helper()
	f := family(t, m, name)
	if f == nil {
		return nil
	}
	for _, metric := range f.GetMetric() {
		if matches(metric, labels) {
			return metric
		}
	}
	return nil
}

func matches(metric *dto.Metric, labels prometheus.Labels) bool {
	if len(metric.GetLabel()) != len(labels) {
		return false
	}
	for _, pair := range metric.GetLabel() {
		if labels[pair.GetName()] != pair.GetValue() {
			return false
		}
	}
	return true
}

// value returns the value of a counter or gauge, or the sample count of a
// histogram, and 0 when the series does not exist.
func value(t *testing.T, m *metrics.Metrics, name string, labels prometheus.Labels) float64 {
	t.Helper()
	metric := sample(t, m, name, labels)
	switch {
	case metric == nil:
		return 0
	case metric.Counter != nil:
		return metric.GetCounter().GetValue()
	case metric.Gauge != nil:
		return metric.GetGauge().GetValue()
	case metric.Histogram != nil:
		return float64(metric.GetHistogram().GetSampleCount())
	}
	t.Fatalf("%s%v has no counter, gauge or histogram", name, labels)
	return 0
}

// failingRegistry is an in-memory registry whose ReportActivity fails
// while fail is set.
type failingRegistry struct {
	*memory.Registry
	mu   sync.Mutex
	fail bool
}

func (r *failingRegistry) ReportActivity(ctx context.Context, activity []engine.Activity) error {
	r.mu.Lock()
	fail := r.fail
	r.mu.Unlock()
	if fail {
		return errors.New("connection refused")
	}
	return r.Registry.ReportActivity(ctx, activity)
}
