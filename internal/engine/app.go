// Package engine is the core of paastis: the apps it watches, the providers
// that run them, the registry that stores them, waking an app on demand and
// the sweep that puts idle apps to sleep.
package engine

import (
	"errors"
	"maps"
	"time"
)

// State is the lifecycle state of an app as paastis tracks it.
type State string

// An app moves discovered -> running -> stopping -> stopped -> starting ->
// running, and reaches failed when a start or a stop fails.
const (
	StateUnknown  State = "unknown"
	StateRunning  State = "running"
	StateStopped  State = "stopped"
	StateStarting State = "starting"
	StateStopping State = "stopping"
	StateFailed   State = "failed"
)

// Sentinel errors that callers branch on.
var (
	// ErrAppNotFound means that no provider reports an app of that name.
	ErrAppNotFound = errors.New("app not found")
	// ErrNotManaged means that the app is on the ignore list, so paastis
	// neither starts nor stops it.
	ErrNotManaged = errors.New("app is not managed by paastis")
	// ErrLocked means that another paastis instance holds the lock.
	ErrLocked = errors.New("lock held by another instance")
)

// App is the data that a provider reports about one application.
type App struct {
	// Name is the routing label: a lowercase DNS label, unique among the
	// apps of one engine. A request for Host "<name>.<domain>" goes to it.
	Name string `json:"name"`
	// ID is the provider's own identifier; it is Name when the provider has
	// no other.
	ID string `json:"id"`
	// Provider is the name of the provider that runs the app ("local",
	// "scalingo", "clever-cloud").
	Provider string `json:"provider"`
	// Region is the provider's region or zone, empty when it has none.
	Region string `json:"region,omitempty"`
	// State is the state the provider reported at the last listing.
	State State `json:"status"`
	// URL is the upstream base URL that requests are forwarded to, as the
	// provider reports it (scheme and host, and an optional path prefix).
	URL string `json:"url"`
	// ReadinessPath is the path probed after a start; empty means "/".
	ReadinessPath string `json:"readiness_path,omitempty"`
	// Parent is the app that a review app was created from, empty for
	// other apps.
	Parent string `json:"parent,omitempty"`
	// Details holds provider-specific facts, shown by the APIs.
	Details map[string]string `json:"details,omitempty"`
	// Saved is the data that the provider returned from its last Stop,
	// such as a Scalingo formation. The registry stores it, and the next
	// Start receives it.
	Saved map[string]string `json:"saved,omitempty"`
}

// Clone returns a deep copy of the app, so that its maps can be changed
// without touching the original.
func (a App) Clone() App {
	a.Details = maps.Clone(a.Details)
	a.Saved = maps.Clone(a.Saved)
	return a
}

// Record is the data that the registry stores for one app.
type Record struct {
	App App `json:"app"`
	// Managed is false for apps on the ignore list.
	Managed bool `json:"managed"`
	// DiscoveredAt is when paastis first listed the app.
	DiscoveredAt time.Time `json:"discovered_at"`
	// LastAccess is the last time a request for the app started or ended,
	// or the discovery time when none came yet.
	LastAccess time.Time `json:"last_accessed_at"`
	// UpdatedAt is when the record was last written.
	UpdatedAt time.Time `json:"updated_at"`
}

// Activity is the traffic that one paastis instance saw for one app.
type Activity struct {
	App        string
	LastAccess time.Time
	// InFlight is the number of requests in progress (streams and
	// websockets included).
	InFlight int64
}
