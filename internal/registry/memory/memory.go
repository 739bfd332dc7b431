// Package memory is the registry of a single paastis instance: records,
// activity, locks and events kept in the process's own memory and lost when
// it exits.
package memory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// DefaultEventsMaxLen is the number of events that New keeps.
const DefaultEventsMaxLen = 1000

var _ engine.Registry = (*Registry)(nil)

// Registry implements engine.Registry in memory for one paastis instance.
// It is safe for concurrent use. The zero value is not usable: call New.
type Registry struct {
	// mu guards the fields below it.
	mu        sync.Mutex
	records   map[string]engine.Record
	activity  map[string]engine.Activity
	locks     map[string]heldLock
	nextToken uint64
	events    eventRing
}

// heldLock is the current owner of a named lock.
type heldLock struct {
	token   uint64
	expires time.Time
}

// New returns an empty registry that keeps the last DefaultEventsMaxLen
// events.
func New() *Registry {
	return &Registry{
		records:  make(map[string]engine.Record),
		activity: make(map[string]engine.Activity),
		locks:    make(map[string]heldLock),
		events:   eventRing{buf: make([]engine.Event, DefaultEventsMaxLen)},
	}
}

// Records returns every stored record, sorted by app name.
func (r *Registry) Records(ctx context.Context) ([]engine.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	records := make([]engine.Record, 0, len(r.records))
	for _, name := range slices.Sorted(maps.Keys(r.records)) {
		records = append(records, cloneRecord(r.records[name]))
	}
	return records, nil
}

// Record returns the record of one app, or an error wrapping
// engine.ErrAppNotFound.
func (r *Registry) Record(ctx context.Context, name string) (engine.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	record, ok := r.records[name]
	if !ok {
		return engine.Record{}, fmt.Errorf("app %q: %w", name, engine.ErrAppNotFound)
	}
	return cloneRecord(record), nil
}

// Save inserts or replaces records. It stores deep copies with times in
// UTC and empty maps as nil, as the Redis registry returns them after its
// JSON round trip. A record without an app name is rejected and nothing is
// saved.
func (r *Registry) Save(ctx context.Context, records ...engine.Record) error {
	for _, record := range records {
		if record.App.Name == "" {
			return errors.New("save records: a record has an empty app name: set App.Name")
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, record := range records {
		r.records[record.App.Name] = cloneRecord(record)
	}
	return nil
}

// Delete removes the records and the activity of the named apps. Unknown
// names are ignored.
func (r *Registry) Delete(ctx context.Context, names ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range names {
		delete(r.records, name)
		delete(r.activity, name)
	}
	return nil
}

// Clear removes every record, activity, lock and event.
func (r *Registry) Clear(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.records)
	clear(r.activity)
	clear(r.locks)
	r.events.reset()
	return nil
}

// cloneRecord returns a deep copy of record in the form that a JSON round
// trip gives: times in UTC without a monotonic reading, empty maps as nil.
func cloneRecord(record engine.Record) engine.Record {
	record.App = record.App.Clone()
	if len(record.App.Details) == 0 {
		record.App.Details = nil
	}
	if len(record.App.Saved) == 0 {
		record.App.Saved = nil
	}
	record.DiscoveredAt = record.DiscoveredAt.UTC()
	record.LastAccess = record.LastAccess.UTC()
	record.UpdatedAt = record.UpdatedAt.UTC()
	return record
}

// validateName rejects an empty or blank lock name.
func validateName(kind, name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%s name %q is empty: pass a name", kind, name)
	}
	return nil
}
