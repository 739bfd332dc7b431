package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// This file holds what the admin and system APIs need from the engine
// beyond the request path: reading the event log, clearing the registry
// and checking that the registry and the providers respond.

// DiscoveredAt returns when paastis first listed the app.
func (h *Handle) DiscoveredAt() time.Time { return h.discoveredAt }

// Events returns at most limit recent lifecycle events from the registry,
// the newest last. The events of every instance that shares the registry
// are included.
func (e *Engine) Events(ctx context.Context, limit int) ([]Event, error) {
	events, err := e.opts.Registry.Events(ctx, limit)
	if err != nil {
		e.outage.failed("read events", err)
		return nil, fmt.Errorf("read the event log: %w", err)
	}
	e.outage.recovered()
	return events, nil
}

// Clear removes every record, activity, lock and event that paastis wrote
// to the registry, and nothing else. The engine keeps routing with its
// table in memory, and the next sweep writes the records again from what
// the providers list. An instance without the sweep lease keeps its table
// while the registry holds no record, and refreshes it once the lease
// holder has written the records back.
func (e *Engine) Clear(ctx context.Context) error {
	if err := e.opts.Registry.Clear(ctx); err != nil {
		e.outage.failed("clear", err)
		return fmt.Errorf("clear the registry: %w", err)
	}
	e.outage.recovered()

	// The activity in the registry is gone, so the next flush reports
	// every app's last access again.
	for _, h := range *e.table.Load() {
		h.touched.Store(true)
	}
	e.logger.Info("registry cleared; the next sweep writes the app records again")
	return nil
}

// Pinger is implemented by providers that can check cheaply, without
// listing apps, that their API responds.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Check is the result of one readiness check.
type Check struct {
	// Name is "registry", or "provider:<name>" for a provider.
	Name string
	// Err is nil when the component responded.
	Err error
	// Skipped is true for a provider that does not implement Pinger, which
	// is then assumed to respond.
	Skipped bool
}

// Ready checks that the registry returns a one-event read and that every
// provider that implements Pinger responds. It returns one Check per
// component, the registry first and then the providers by name, and never lists apps, so that frequent
// readiness probes cost no provider listing.
func (e *Engine) Ready(ctx context.Context) []Check {
	checks := []Check{{Name: "registry"}}
	if _, err := e.opts.Registry.Events(ctx, 1); err != nil {
		checks[0].Err = err
		e.outage.failed("readiness check", err)
	} else {
		e.outage.recovered()
	}

	for _, name := range slices.Sorted(maps.Keys(e.opts.Providers)) {
		provider := e.opts.Providers[name]
		check := Check{Name: "provider:" + name}
		pinger, ok := provider.(Pinger)
		if !ok {
			check.Skipped = true
		} else {
			check.Err = pinger.Ping(ctx)
		}
		checks = append(checks, check)
	}
	return checks
}
