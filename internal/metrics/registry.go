package metrics

import (
	"context"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// Registry wraps an engine.Registry to time its activity flushes. Every
// other method goes to the wrapped registry unchanged.
//
// NOTE: the wrapper hides any optional interface that the wrapped registry
// implements beyond engine.Registry, so the engine must not look for one
// by type assertion.
type Registry struct {
	engine.Registry
	metrics *Metrics
}

var _ engine.Registry = (*Registry)(nil)

// InstrumentRegistry returns registry wrapped so that each ReportActivity
// call, the engine's periodic activity flush, is timed and its failures
// counted.
func (m *Metrics) InstrumentRegistry(registry engine.Registry) *Registry {
	return &Registry{Registry: registry, metrics: m}
}

// ReportActivity reports the activity to the wrapped registry and records
// the call's duration and failure.
func (r *Registry) ReportActivity(ctx context.Context, activity []engine.Activity) error {
	begin := time.Now()
	err := r.Registry.ReportActivity(ctx, activity)
	r.metrics.flushDuration.Observe(time.Since(begin).Seconds())
	if err != nil {
		r.metrics.flushFailures.Inc()
	}
	return err
}
