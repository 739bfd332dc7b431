// Package fleet builds a paastis engine over many fake apps, to measure
// what the engine's sweep costs in time and memory at scale without a
// PaaS or a process per app.
package fleet

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/paastis/paastis/internal/engine"
)

// ProviderName is the fake provider's key in the engine's Providers map,
// and the Provider field of its apps.
const ProviderName = "fleet"

var _ engine.Provider = (*Provider)(nil)

// Provider is a fake engine.Provider that holds its apps in memory: a
// start or a stop only flips the app's state, at once. It is safe for
// concurrent use.
type Provider struct {
	// mu guards apps and index.
	mu    sync.Mutex
	apps  []engine.App
	index map[string]int

	starts atomic.Int64
	stops  atomic.Int64
}

// NewProvider returns a provider that lists the given apps.
func NewProvider(apps []engine.App) *Provider {
	p := &Provider{apps: make([]engine.App, len(apps)), index: make(map[string]int, len(apps))}
	for i, app := range apps {
		app.Provider = ProviderName
		p.apps[i] = app
		p.index[app.Name] = i
	}
	return p
}

// MakeApps returns n apps named app-00000, app-00001 and so on, in the
// given state, each with its own upstream URL on 127.0.0.1. Nothing
// listens there: the sweep never sends a request to an app.
func MakeApps(n int, state engine.State) []engine.App {
	apps := make([]engine.App, n)
	for i := range apps {
		name := fmt.Sprintf("app-%05d", i)
		apps[i] = engine.App{
			Name:     name,
			ID:       name,
			Provider: ProviderName,
			State:    state,
			URL:      "http://127.0.0.1:" + strconv.Itoa(20000+i%40000),
		}
	}
	return apps
}

// Apps returns a copy of every app, as a real provider decodes a fresh
// listing at each call.
func (p *Provider) Apps(ctx context.Context) ([]engine.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list fleet apps: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	apps := make([]engine.App, len(p.apps))
	copy(apps, p.apps)
	return apps, nil
}

// Start marks the app running.
func (p *Provider) Start(ctx context.Context, app engine.App) error {
	p.starts.Add(1)
	return p.setState(app.Name, engine.StateRunning)
}

// Stop marks the app stopped.
func (p *Provider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	p.stops.Add(1)
	return nil, p.setState(app.Name, engine.StateStopped)
}

// State returns the app's state.
func (p *Provider) State(ctx context.Context, app engine.App) (engine.State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[app.Name]
	if !ok {
		return engine.StateUnknown, fmt.Errorf("fleet app %q: %w", app.Name, engine.ErrAppNotFound)
	}
	return p.apps[i].State, nil
}

// Starts returns how many Start calls the provider got.
func (p *Provider) Starts() int64 { return p.starts.Load() }

// Stops returns how many Stop calls the provider got.
func (p *Provider) Stops() int64 { return p.stops.Load() }

func (p *Provider) setState(name string, state engine.State) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[name]
	if !ok {
		return fmt.Errorf("fleet app %q: %w", name, engine.ErrAppNotFound)
	}
	p.apps[i].State = state
	return nil
}
