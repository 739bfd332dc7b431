package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Schedule returns the next time a sweep is due after the given time.
// cron.Schedule from github.com/robfig/cron/v3 satisfies it.
type Schedule interface {
	Next(time.Time) time.Time
}

// maxConcurrentStops bounds the stops that one sweep runs at once, so that
// a sweep over many idle apps does not flood the provider's API.
const maxConcurrentStops = 4

// Run sweeps once at once and then on schedule, flushes activity to the
// registry and renews the sweep lease, until ctx ends.
func (e *Engine) Run(ctx context.Context, schedule Schedule) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		e.every(ctx, e.opts.FlushInterval, e.Flush)
	}()
	go func() {
		defer wg.Done()
		e.every(ctx, e.opts.LockTTL/3, e.renewLease)
	}()
	defer wg.Wait()

	e.renewLease(ctx)
	e.sweepSafely(ctx)
	for {
		next := schedule.Next(e.opts.Now())
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			e.Flush(flushCtx)
			cancel()
			return
		case <-timer.C:
			e.sweepSafely(ctx)
		}
	}
}

func (e *Engine) every(ctx context.Context, period time.Duration, fn func(context.Context)) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			fn(ctx)
		}
	}
}

func (e *Engine) sweepSafely(ctx context.Context) {
	defer func() {
		if v := recover(); v != nil {
			e.logger.Error("sweep panicked", "panic", v)
		}
	}()
	err := e.Sweep(ctx)
	switch {
	case err == nil || ctx.Err() != nil:
	case e.outage.Down():
		// The outage was logged when it began.
		e.logger.Debug("sweep failed", "error", err)
	default:
		e.logger.Error("sweep failed", "error", err)
	}
}

// renewLease takes or extends the sweep lease. With several instances on
// one shared registry, only the holder syncs with the providers and stops
// apps. When it dies, another takes the lease once it expires.
func (e *Engine) renewLease(ctx context.Context) {
	e.sweepMu.Lock()
	defer e.sweepMu.Unlock()
	e.renewLeaseLocked(ctx)
}

func (e *Engine) renewLeaseLocked(ctx context.Context) bool {
	if e.lease != nil {
		err := e.lease.Refresh(ctx, e.opts.LockTTL)
		if err == nil {
			e.outage.recovered()
			return true
		}
		if !errors.Is(err, ErrLocked) {
			e.outage.failed("refresh sweep lease", err)
			// Keep the lease: it may still be ours when the registry is back.
			return false
		}
		e.logger.Warn("sweep lease lost to another instance")
		e.lease = nil
	}
	lease, err := e.opts.Registry.Acquire(ctx, "sweep", e.opts.LockTTL)
	switch {
	case errors.Is(err, ErrLocked):
		return false
	case err != nil:
		e.outage.failed("acquire sweep lease", err)
		return false
	}
	e.outage.recovered()
	e.lease = lease
	e.logger.Info("sweep lease acquired; this instance syncs and stops apps", "ttl", e.opts.LockTTL)
	return true
}

// Sweep syncs the table with the providers and stops the idle apps. An
// instance without the sweep lease only refreshes its table from the
// registry.
func (e *Engine) Sweep(ctx context.Context) error {
	e.sweepMu.Lock()
	defer e.sweepMu.Unlock()
	begin := e.opts.Now()

	if !e.renewLeaseLocked(ctx) {
		return e.refreshFromRegistry(ctx)
	}
	e.Flush(ctx)

	listed, failed := e.listApps(ctx)
	e.reconcile(ctx, listed, failed)

	activity, err := e.opts.Registry.Activity(ctx)
	if err != nil {
		e.outage.failed("read activity", err)
		return fmt.Errorf("read the activity of every instance, so no app is stopped: %w", err)
	}
	e.outage.recovered()

	stopped := 0
	if e.outage.stopsHeld(e.opts.Now()) {
		e.logger.Debug("stopping no app until every instance reported its activity after the registry outage")
	} else {
		stopped = e.stopIdleApps(ctx, activity, failed)
	}
	level := slog.LevelDebug
	if stopped > 0 {
		level = slog.LevelInfo
	}
	e.logger.Log(ctx, level, "sweep done", "apps", len(*e.table.Load()), "stopped", stopped,
		"duration", e.opts.Now().Sub(begin).Round(time.Millisecond))
	return nil
}

// listApps lists the apps of every provider. A provider whose listing
// failed is in failed, so its apps are kept as they were and none is stopped.
func (e *Engine) listApps(ctx context.Context) (listed map[string][]App, failed map[string]bool) {
	listed = map[string][]App{}
	failed = map[string]bool{}
	for name, provider := range e.opts.Providers {
		apps, err := provider.Apps(ctx)
		if err != nil {
			failed[name] = true
			if ctx.Err() == nil {
				e.logger.Error("list apps failed; keeping the known apps and stopping none of them", "provider", name, "error", err)
			}
			continue
		}
		listed[name] = apps
	}
	return listed, failed
}

// stopIdleApps stops every managed running app that has been idle longer
// than its max idle time on every instance and has no request in flight.
func (e *Engine) stopIdleApps(ctx context.Context, shared map[string]Activity, failed map[string]bool) int {
	now := e.opts.Now()
	var idle []*Handle
	for _, h := range *e.table.Load() {
		if failed[h.App().Provider] {
			continue
		}
		if e.isIdle(h, shared[h.name], now) {
			idle = append(idle, h)
		}
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stopped int
		slots   = make(chan struct{}, maxConcurrentStops)
	)
	for _, h := range idle {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ok, err := e.stop(ctx, h, false)
			if err != nil {
				return
			}
			if ok {
				mu.Lock()
				stopped++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return stopped
}

// isIdle reports whether the app may be stopped now: managed, running, no
// request in flight here or on another instance, and no request for longer
// than its max idle time.
func (e *Engine) isIdle(h *Handle, shared Activity, now time.Time) bool {
	if !h.Managed() || h.State() != StateRunning {
		return false
	}
	return e.isQuiet(h, shared, now)
}

// isQuiet reports whether the app has no request in flight here or on
// another instance, and no request for longer than its max idle time.
func (e *Engine) isQuiet(h *Handle, shared Activity, now time.Time) bool {
	if h.InFlight() > 0 || shared.InFlight > 0 {
		return false
	}
	last := h.LastAccess()
	if shared.LastAccess.After(last) {
		last = shared.LastAccess
	}
	return now.Sub(last) >= e.MaxIdleTime(h.name)
}

// Stop stops the named app now, idle or not, for the admin API and the
// CLI.
func (e *Engine) Stop(ctx context.Context, name string) error {
	h, ok := e.Lookup(name)
	if !ok {
		return fmt.Errorf("stop %q: %w", name, ErrAppNotFound)
	}
	if !h.Managed() {
		return fmt.Errorf("stop %q: %w", name, ErrNotManaged)
	}
	_, err := e.stop(ctx, h, true)
	return err
}

// stop stops one app. Unless forced, it re-checks the app's activity after
// marking it stopping, so that a request that arrived meanwhile is either
// counted here (and the stop is cancelled) or finds the stopping state
// (and waits for the next start). It reports whether the app was stopped.
func (e *Engine) stop(ctx context.Context, h *Handle, force bool) (bool, error) {
	h.op.Lock()
	defer h.op.Unlock()
	app := h.App()
	logger := e.logger.With("app", h.name, "provider", app.Provider)
	if h.State() == StateStopped {
		return false, nil
	}

	ctx, cancel := context.WithTimeout(ctx, e.opts.StopTimeout)
	defer cancel()
	lock, err := e.opts.Registry.Acquire(ctx, appLockName(h.name), e.opts.LockTTL)
	switch {
	case errors.Is(err, ErrLocked):
		logger.Info("another instance is starting or stopping the app; not stopping it")
		return false, nil
	case err != nil:
		e.outage.failed("acquire stop lock", err)
		return false, fmt.Errorf("stop %q: the registry is unavailable: %w", h.name, err)
	}
	e.outage.recovered()
	defer e.holdLock(appLockName(h.name), lock)()

	previous := h.State()
	lastAccess := h.LastAccess()
	if !force {
		if !h.compareAndSwapState(StateRunning, StateStopping) {
			return false, nil
		}
		// The last check: fresh activity from every instance.
		shared, err := e.opts.Registry.Activity(ctx)
		if err != nil {
			h.setState(StateRunning)
			e.outage.failed("read activity", err)
			return false, fmt.Errorf("stop %q: read activity: %w", h.name, err)
		}
		if !e.isQuiet(h, shared[h.name], e.opts.Now()) {
			h.setState(StateRunning)
			logger.Info("app got traffic; not stopping it")
			return false, nil
		}
		if shared[h.name].LastAccess.After(lastAccess) {
			lastAccess = shared[h.name].LastAccess
		}
	} else {
		h.setState(StateStopping)
	}

	begin := e.opts.Now()
	idleFor := begin.Sub(lastAccess).Round(time.Second)
	if err := e.runHook(ctx, BeforeStop, app); err != nil {
		h.setState(previous)
		return false, e.stopFailed(ctx, h, begin, fmt.Errorf("before-stop hook: %w", err))
	}

	logger.Info("stopping app", "idle", idleFor)
	saved, err := e.opts.Providers[app.Provider].Stop(ctx, app)
	if err != nil {
		// The next sweep reads the real state from the provider.
		h.setState(previous)
		return false, e.stopFailed(ctx, h, begin, err)
	}
	if saved != nil {
		app.Saved = saved
		h.setApp(app)
	}
	h.setState(StateStopped)
	duration := e.opts.Now().Sub(begin)
	logger.Info("app stopped", "duration", duration.Round(time.Millisecond))
	_ = e.saveRecord(ctx, h)
	e.record(ctx, Event{Type: EventStopped, App: h.name, Provider: app.Provider, Duration: duration})
	if err := e.runHook(ctx, AfterStop, app); err != nil {
		logger.Error("after-stop hook failed", "error", err)
	}
	return true, nil
}

func (e *Engine) stopFailed(ctx context.Context, h *Handle, begin time.Time, err error) error {
	app := h.App()
	duration := e.opts.Now().Sub(begin)
	e.logger.Error("app stop failed", "app", h.name, "provider", app.Provider,
		"duration", duration.Round(time.Millisecond), "error", err)
	e.record(context.WithoutCancel(ctx), Event{Type: EventStopFailed, App: h.name, Provider: app.Provider, Duration: duration, Error: err.Error()})
	return fmt.Errorf("stop %q: %w", h.name, err)
}

// Flush reports the activity seen since the last flush, and the in-flight
// counts of busy apps, to the registry in one call. After a registry
// failure, it reports every app, because the registry may have lost what
// the earlier flushes reported.
func (e *Engine) Flush(ctx context.Context) {
	all := e.outage.takeResync()
	var batch []Activity
	var flushed []*Handle
	for _, h := range *e.table.Load() {
		inFlight := h.InFlight()
		if !h.touched.Swap(false) && inFlight == 0 && !all {
			continue
		}
		flushed = append(flushed, h)
		batch = append(batch, Activity{App: h.name, LastAccess: h.LastAccess(), InFlight: inFlight})
	}
	if len(batch) == 0 {
		return
	}
	if err := e.opts.Registry.ReportActivity(ctx, batch); err != nil {
		e.outage.failed("report activity", err)
		for _, h := range flushed {
			h.touched.Store(true)
		}
		return
	}
	e.outage.recovered()
}
