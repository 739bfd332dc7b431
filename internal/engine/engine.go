package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Rule holds the per-app settings that override the engine's defaults.
type Rule struct {
	// MaxIdleTime replaces Options.MaxIdleTime when positive.
	MaxIdleTime time.Duration
	// ReadinessPath replaces the provider's readiness path when not empty.
	ReadinessPath string
	// Ignored apps are neither started nor stopped by paastis.
	Ignored bool
}

// Options configures an Engine. Zero values select the documented defaults.
type Options struct {
	// Providers maps a provider name to the provider. At least one.
	Providers map[string]Provider
	// ProviderOrder ranks the providers for apps of the same name: the
	// first one listed is routed. Providers left out come after, sorted by
	// name. Default: sorted by name.
	ProviderOrder []string
	// Registry stores the apps. Required.
	Registry Registry
	// Hooks runs the operator's hooks; nil runs none.
	Hooks HookRunner
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger

	// MaxIdleTime is how long an app may go without a request before the
	// sweep stops it. Default 15 minutes.
	MaxIdleTime time.Duration
	// Rules returns the per-app settings of an app; nil applies none.
	Rules func(name string) Rule

	// StartTimeout bounds a whole wake: hooks, the provider's start and the
	// readiness probes. The wake goes on after the requests that caused it
	// gave up. Default 10 minutes.
	StartTimeout time.Duration
	// StopTimeout bounds a whole stop. Default 5 minutes.
	StopTimeout time.Duration
	// PollInterval is the delay between two readiness probes during a
	// wake, and the first delay between two provider state checks, which
	// then double up to 2s. Default 50ms.
	PollInterval time.Duration
	// SettleDelay is waited after the app first passes its readiness
	// probe, for apps that respond before they are ready. Default 0.
	SettleDelay time.Duration
	// FailureBackoff is how long a failed wake is reported to new requests
	// before the next request tries again. Default 5s.
	FailureBackoff time.Duration
	// ProbeClient sends the readiness probes. Default: a client with a
	// 5-second timeout that does not follow redirects.
	ProbeClient *http.Client

	// FlushInterval is the period of the activity flush to the registry.
	// After a registry outage, the sweep stops no app for two flush
	// intervals, so that every instance reports its activity first.
	// Default 5s.
	FlushInterval time.Duration
	// LockTTL is the expiry of the per-app start and stop lock and of the
	// sweep lease. The holder renews them every LockTTL/3, so when an
	// instance dies, another takes the sweep lease within about LockTTL.
	// Default 30s.
	LockTTL time.Duration

	// Now returns the current time; tests replace it. Default time.Now.
	Now func() time.Time
}

// Engine watches the apps of its providers, wakes them on demand and stops
// the idle ones.
type Engine struct {
	opts   Options
	logger *slog.Logger
	// providerOrder lists the provider names by routing priority.
	providerOrder []string

	// table maps app names to handles. It is replaced whole (copy on
	// write) under tableMu, so that request goroutines read it without
	// locks.
	table   atomic.Pointer[map[string]*Handle]
	tableMu sync.Mutex
	// aliases maps extra routing labels to handles, replaced whole by each
	// sweep (see Aliaser).
	aliases atomic.Pointer[map[string]*Handle]

	// background is the context of wakes and stops, which must outlive
	// the requests that cause them. Close cancels it.
	background context.Context
	cancel     context.CancelFunc
	workers    sync.WaitGroup

	// sweepMu keeps two sweeps from running at once.
	sweepMu sync.Mutex
	lease   Lock // the sweep lease while this instance holds it, guarded by sweepMu

	outage outageLog
	// emptied is set while the registry holds no record although the
	// table is not empty, so that this is logged once.
	emptied atomic.Bool

	// listeners receive every event recorded by this instance.
	listenersMu sync.Mutex
	listeners   map[int]func(Event)
	nextID      int
}

// New returns an engine. Call Load to read the registry, then Run.
func New(opts Options) (*Engine, error) {
	if len(opts.Providers) == 0 {
		return nil, errors.New("engine: no provider configured")
	}
	if opts.Registry == nil {
		return nil, errors.New("engine: no registry configured")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&opts.MaxIdleTime, 15*time.Minute)
	setDefault(&opts.StartTimeout, 10*time.Minute)
	setDefault(&opts.StopTimeout, 5*time.Minute)
	setDefault(&opts.PollInterval, 50*time.Millisecond)
	setDefault(&opts.FailureBackoff, 5*time.Second)
	setDefault(&opts.FlushInterval, 5*time.Second)
	setDefault(&opts.LockTTL, 30*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rules == nil {
		opts.Rules = func(string) Rule { return Rule{} }
	}
	if opts.ProbeClient == nil {
		opts.ProbeClient = &http.Client{
			Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}

	order := make([]string, 0, len(opts.Providers))
	for _, name := range opts.ProviderOrder {
		if _, ok := opts.Providers[name]; ok && !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(opts.Providers)) {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}

	e := &Engine{opts: opts, logger: opts.Logger, providerOrder: order, listeners: map[int]func(Event){}}
	e.outage.logger = opts.Logger
	e.outage.now = opts.Now
	e.outage.holdStops = 2 * opts.FlushInterval
	e.background, e.cancel = context.WithCancel(context.Background())
	empty := map[string]*Handle{}
	e.table.Store(&empty)
	noAliases := map[string]*Handle{}
	e.aliases.Store(&noAliases)
	return e, nil
}

func setDefault(d *time.Duration, value time.Duration) {
	if *d <= 0 {
		*d = value
	}
}

// Lookup returns the handle of the app that a routing label names: an app
// name, or an alias that its provider reports. It only reads memory.
func (e *Engine) Lookup(name string) (*Handle, bool) {
	if h, ok := (*e.table.Load())[name]; ok {
		return h, true
	}
	h, ok := (*e.aliases.Load())[name]
	return h, ok
}

// Handles returns every app's handle, in no particular order.
func (e *Engine) Handles() []*Handle {
	table := *e.table.Load()
	handles := make([]*Handle, 0, len(table))
	for _, h := range table {
		handles = append(handles, h)
	}
	return handles
}

// Now returns the engine's current time.
func (e *Engine) Now() time.Time { return e.opts.Now() }

// MaxIdleTime returns the max idle time that applies to the named app.
func (e *Engine) MaxIdleTime(name string) time.Duration {
	if rule := e.opts.Rules(name); rule.MaxIdleTime > 0 {
		return rule.MaxIdleTime
	}
	return e.opts.MaxIdleTime
}

// Load fills the table from the registry, so that a restarted instance
// keeps the last access, state and saved provider data of every app. The
// next sweep reconciles them with the providers.
func (e *Engine) Load(ctx context.Context) error {
	records, err := e.opts.Registry.Records(ctx)
	if err != nil {
		return fmt.Errorf("load the registry: %w", err)
	}
	e.tableMu.Lock()
	defer e.tableMu.Unlock()
	table := maps.Clone(*e.table.Load())
	for _, rec := range records {
		if _, ok := e.opts.Providers[rec.App.Provider]; !ok {
			continue
		}
		managed := !e.opts.Rules(rec.App.Name).Ignored
		table[rec.App.Name] = newHandle(rec.App, managed, rec.DiscoveredAt, rec.LastAccess)
	}
	e.table.Store(&table)
	return nil
}

// Close stops the wakes and stops in progress and waits for them to end.
func (e *Engine) Close() {
	e.cancel()
	e.workers.Wait()

	e.sweepMu.Lock()
	defer e.sweepMu.Unlock()
	if e.lease != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = e.lease.Release(ctx)
		e.lease = nil
	}
}

// Subscribe calls fn for every event this instance records, until the
// returned function is called. fn must not block.
func (e *Engine) Subscribe(fn func(Event)) (unsubscribe func()) {
	e.listenersMu.Lock()
	defer e.listenersMu.Unlock()
	id := e.nextID
	e.nextID++
	e.listeners[id] = fn
	return func() {
		e.listenersMu.Lock()
		defer e.listenersMu.Unlock()
		delete(e.listeners, id)
	}
}

// record appends an event to the registry's log and notifies the subscribers.
func (e *Engine) record(ctx context.Context, event Event) {
	if event.Time.IsZero() {
		event.Time = e.opts.Now()
	}
	if err := e.opts.Registry.AppendEvent(ctx, event); err != nil {
		e.outage.failed("append event", err)
	}
	e.listenersMu.Lock()
	fns := make([]func(Event), 0, len(e.listeners))
	for _, fn := range e.listeners {
		fns = append(fns, fn)
	}
	e.listenersMu.Unlock()
	for _, fn := range fns {
		fn(event)
	}
}

// saveRecord writes the handle's current data to the registry.
func (e *Engine) saveRecord(ctx context.Context, h *Handle) error {
	app := h.App()
	app.State = h.State()
	rec := Record{
		App:          app,
		Managed:      h.Managed(),
		DiscoveredAt: h.discoveredAt,
		LastAccess:   h.LastAccess(),
		UpdatedAt:    e.opts.Now(),
	}
	if err := e.opts.Registry.Save(ctx, rec); err != nil {
		e.outage.failed("save record", err)
		return fmt.Errorf("save the record of %q: %w", h.name, err)
	}
	e.outage.recovered()
	return nil
}

// goBackground runs fn on the engine's background context, recovering a
// panic so that one bad app cannot bring paastis down.
func (e *Engine) goBackground(name string, fn func(ctx context.Context)) {
	e.workers.Add(1)
	go func() {
		defer e.workers.Done()
		defer func() {
			if v := recover(); v != nil {
				e.logger.Error("background task panicked", "task", name, "panic", v)
			}
		}()
		fn(e.background)
	}()
}
