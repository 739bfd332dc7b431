package engine

import (
	"context"
	"time"
)

// Registry stores the apps that paastis watches. The in-memory registry
// serves one instance; the Redis registry shares the state between several.
//
// No registry method is called on the request path: the engine keeps its
// own table in memory and talks to the registry from background work (the
// sweep, the activity flush, a wake).
type Registry interface {
	RecordStore
	ActivityStore
	Locker
	EventLog
}

// RecordStore stores one Record per app name.
type RecordStore interface {
	// Records returns every stored record.
	Records(ctx context.Context) ([]Record, error)
	// Record returns the record of one app, or an error wrapping
	// ErrAppNotFound.
	Record(ctx context.Context, name string) (Record, error)
	// Save inserts or replaces records.
	Save(ctx context.Context, records ...Record) error
	// Delete removes the records of the named apps; unknown names are
	// ignored.
	Delete(ctx context.Context, names ...string) error
	// Clear removes every record, event and activity that paastis wrote,
	// and nothing else.
	Clear(ctx context.Context) error
}

// ActivityStore merges the traffic that every instance saw.
type ActivityStore interface {
	// ReportActivity stores this instance's latest activity for the given
	// apps. Last-access times only move forward.
	ReportActivity(ctx context.Context, activity []Activity) error
	// Activity returns, per app, the latest last access and the sum of the
	// in-flight requests reported by every live instance.
	Activity(ctx context.Context) (map[string]Activity, error)
}

// Locker hands out named locks with an expiry, such as the lock that lets
// a single instance start an app, or the sweep lease.
type Locker interface {
	// Acquire takes the lock for ttl, or returns an error wrapping
	// ErrLocked when another owner holds it.
	Acquire(ctx context.Context, name string, ttl time.Duration) (Lock, error)
}

// Lock is a held lock.
type Lock interface {
	// Refresh extends the lock by ttl, or returns an error wrapping
	// ErrLocked when the lock expired and someone else took it.
	Refresh(ctx context.Context, ttl time.Duration) error
	// Release frees the lock if this owner still holds it.
	Release(ctx context.Context) error
}

// EventLog keeps the recent lifecycle events, oldest first, capped.
type EventLog interface {
	AppendEvent(ctx context.Context, event Event) error
	// Events returns at most limit events, the newest last.
	Events(ctx context.Context, limit int) ([]Event, error)
}

// EventType names a lifecycle transition.
type EventType string

// Event types, in the original paastis's vocabulary.
const (
	EventRegistered   EventType = "registered"
	EventUnregistered EventType = "unregistered"
	EventStarted      EventType = "started"
	EventStopped      EventType = "stopped"
	EventStartFailed  EventType = "start_failed"
	EventStopFailed   EventType = "stop_failed"
)

// Event is one lifecycle transition of one app.
type Event struct {
	Time     time.Time     `json:"time"`
	Type     EventType     `json:"type"`
	App      string        `json:"app"`
	Provider string        `json:"provider"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Error    string        `json:"error,omitempty"`
}
