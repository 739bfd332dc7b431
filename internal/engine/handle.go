package engine

import (
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Handle is the engine's live view of one app. Request goroutines use it
// without locks: every field they read is atomic.
type Handle struct {
	name string

	app        atomic.Pointer[App]
	upstream   atomic.Pointer[url.URL]
	state      atomic.Int32 // index in stateCodes
	managed    atomic.Bool
	lastAccess atomic.Int64 // Unix nanoseconds
	inFlight   atomic.Int64
	touched    atomic.Bool // activity since the last flush to the registry

	discoveredAt time.Time

	// op serialises the start and stop of this app, so that a wake waits
	// for a stop in progress to finish instead of racing it.
	op sync.Mutex

	// wakeMu guards wake and lastWake.
	wakeMu   sync.Mutex
	wake     *wakeCall // the wake in progress, or a failed one kept for a short back-off
	lastWake *wakeCall // the latest wake, for status pages
}

// stateCodes lists the states by the code a Handle stores atomically.
var stateCodes = [...]State{StateUnknown, StateRunning, StateStopped, StateStarting, StateStopping, StateFailed}

func stateCode(s State) int32 {
	for i, known := range stateCodes {
		if known == s {
			return int32(i)
		}
	}
	return 0
}

func newHandle(app App, managed bool, discoveredAt, lastAccess time.Time) *Handle {
	h := &Handle{name: app.Name, discoveredAt: discoveredAt}
	h.setApp(app)
	h.setState(app.State)
	h.managed.Store(managed)
	h.lastAccess.Store(lastAccess.UnixNano())
	return h
}

// Name returns the app's routing label.
func (h *Handle) Name() string { return h.name }

// App returns the latest provider data of the app. The caller must not
// change its maps.
func (h *Handle) App() App { return *h.app.Load() }

// Upstream returns the URL requests are forwarded to. The pointer stays
// the same until the provider reports another URL, so callers may cache
// per-upstream data keyed by it.
func (h *Handle) Upstream() *url.URL { return h.upstream.Load() }

// State returns the app's current state.
func (h *Handle) State() State { return stateCodes[h.state.Load()] }

// Managed reports whether paastis may start and stop the app, which is
// false for apps on the ignore list.
func (h *Handle) Managed() bool { return h.managed.Load() }

// LastAccess returns the last time a request for the app started or ended.
func (h *Handle) LastAccess() time.Time { return time.Unix(0, h.lastAccess.Load()) }

// InFlight returns the number of requests for the app in progress here.
func (h *Handle) InFlight() int64 { return h.inFlight.Load() }

// Begin records the start of a request: the app is busy until the
// matching End.
func (h *Handle) Begin(now time.Time) {
	h.inFlight.Add(1)
	h.Touch(now)
}

// End records the end of a request started with Begin.
func (h *Handle) End(now time.Time) {
	h.Touch(now)
	h.inFlight.Add(-1)
}

// Touch moves the last access forward to now.
func (h *Handle) Touch(now time.Time) {
	ns := now.UnixNano()
	for {
		old := h.lastAccess.Load()
		if ns <= old || h.lastAccess.CompareAndSwap(old, ns) {
			break
		}
	}
	if !h.touched.Load() {
		h.touched.Store(true)
	}
}

func (h *Handle) setState(s State) { h.state.Store(stateCode(s)) }

func (h *Handle) compareAndSwapState(old, new State) bool {
	return h.state.CompareAndSwap(stateCode(old), stateCode(new))
}

// setApp stores new provider data, and a new upstream URL only when the
// URL changed, so that Upstream keeps its identity between sweeps.
func (h *Handle) setApp(app App) {
	app = app.Clone()
	h.app.Store(&app)
	if cur := h.upstream.Load(); cur != nil && cur.String() == app.URL {
		return
	}
	u, err := url.Parse(app.URL)
	if err != nil || app.URL == "" {
		h.upstream.Store(nil)
		return
	}
	h.upstream.Store(u)
}

// WakeStatus describes the latest wake of an app, for the waiting page.
type WakeStatus struct {
	State     State
	StartedAt time.Time
	EndedAt   time.Time
	Err       error
}

// WakeStatus returns the state of the app and of its latest wake.
func (h *Handle) WakeStatus() WakeStatus {
	h.wakeMu.Lock()
	c := h.lastWake
	h.wakeMu.Unlock()
	st := WakeStatus{State: h.State()}
	if c == nil {
		return st
	}
	st.StartedAt = c.started
	select {
	case <-c.done:
		st.EndedAt = c.ended
		st.Err = c.err
	default:
	}
	return st
}
