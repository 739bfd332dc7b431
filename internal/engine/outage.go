package engine

import (
	"log/slog"
	"sync"
	"time"
)

// outageLog tracks the health of the registry. It logs a failure once per
// outage instead of once per call, and the recovery when it comes.
//
// The registry may lose data during an outage (a Redis restarted without
// persistence). So after a failure the next flush reports the activity of
// every app, and after a recovery the sweep stops no app for holdStops.
// Every instance then reports its activity again before an app is judged
// idle.
type outageLog struct {
	logger    *slog.Logger
	now       func() time.Time
	holdStops time.Duration

	// mu guards the fields below.
	mu          sync.Mutex
	down        bool
	since       time.Time
	resync      bool      // the next flush reports every app
	stopsHeldTo time.Time // the sweep stops no app before this time
}

// failed records a failed registry call, and logs it when it starts an
// outage.
func (o *outageLog) failed(operation string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.resync = true
	if o.down {
		return
	}
	o.down = true
	o.since = o.now()
	o.logger.Error("registry unavailable; serving from memory, no app is stopped until it is back",
		"operation", operation, "error", err)
}

// recovered records a successful registry call, and logs it when it ends
// an outage.
func (o *outageLog) recovered() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down {
		return
	}
	o.down = false
	now := o.now()
	o.stopsHeldTo = now.Add(o.holdStops)
	o.logger.Info("registry available again; stopping no app until every instance reported its activity again",
		"duration", now.Sub(o.since).Round(time.Millisecond), "stops_held_for", o.holdStops)
}

// dataLost records that the registry lost its data although no call
// failed, which a Redis restarted between two calls causes.
func (o *outageLog) dataLost() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.resync = true
	o.stopsHeldTo = o.now().Add(o.holdStops)
}

// takeResync reports whether the next flush must report every app, and
// clears the request. A flush that fails sets it again through failed.
func (o *outageLog) takeResync() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	resync := o.resync
	o.resync = false
	return resync
}

// stopsHeld reports whether the sweep must stop no app at now.
func (o *outageLog) stopsHeld(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return now.Before(o.stopsHeldTo)
}

// Down reports whether the latest registry call failed.
func (o *outageLog) Down() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down
}
