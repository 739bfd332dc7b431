package memory

import (
	"context"
	"errors"
	"maps"

	"github.com/paastis/paastis/internal/engine"
)

// ReportActivity merges this instance's activity: a last access replaces
// the stored one only when it is later, and the in-flight count replaces
// the stored count. An app with neither a last access nor requests in
// flight is dropped. An entry without an app name is rejected and nothing
// is stored.
func (r *Registry) ReportActivity(ctx context.Context, activity []engine.Activity) error {
	for _, reported := range activity {
		if reported.App == "" {
			return errors.New("report activity: an entry has an empty app name: set Activity.App")
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, reported := range activity {
		stored := r.activity[reported.App]
		stored.App = reported.App
		if reported.LastAccess.After(stored.LastAccess) {
			stored.LastAccess = reported.LastAccess.UTC()
		}
		stored.InFlight = max(reported.InFlight, 0)

		if stored.LastAccess.IsZero() && stored.InFlight == 0 {
			delete(r.activity, reported.App)
			continue
		}
		r.activity[reported.App] = stored
	}
	return nil
}

// Activity returns a copy of the merged activity, keyed by app name.
func (r *Registry) Activity(ctx context.Context) (map[string]engine.Activity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.activity), nil
}
