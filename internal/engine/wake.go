package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// wakeCall is one start of one app, shared by every request that arrives
// while it runs. done is closed when err and ended are set.
type wakeCall struct {
	done    chan struct{}
	started time.Time
	ended   time.Time
	err     error
}

// StartError is a failed start: the provider's error, or an app that never
// became ready.
type StartError struct {
	App string
	Err error
}

func (e *StartError) Error() string { return fmt.Sprintf("start %q: %v", e.App, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// Wake starts the app unless it runs, and waits until it is ready or ctx
// ends. Concurrent calls for one app share one start. The start goes on
// when ctx ends, so the next request finds the app further along.
func (e *Engine) Wake(ctx context.Context, h *Handle) error {
	if h.State() == StateRunning {
		return nil
	}
	if !h.Managed() {
		return fmt.Errorf("wake %q: %w", h.name, ErrNotManaged)
	}
	call := e.joinWake(h)
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// joinWake returns the wake in progress for the app, or begins one.
func (e *Engine) joinWake(h *Handle) *wakeCall {
	h.wakeMu.Lock()
	defer h.wakeMu.Unlock()
	if c := h.wake; c != nil {
		select {
		case <-c.done:
			// A failed wake is kept for FailureBackoff so that a burst of
			// requests for a broken app does not retry the start each time.
			if c.err != nil && e.opts.Now().Sub(c.ended) < e.opts.FailureBackoff {
				return c
			}
		default:
			return c
		}
	}
	c := &wakeCall{done: make(chan struct{}), started: e.opts.Now()}
	h.wake = c
	h.lastWake = c
	e.goBackground("wake "+h.name, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, e.opts.StartTimeout)
		defer cancel()
		err := e.start(ctx, h)

		h.wakeMu.Lock()
		c.err = err
		c.ended = e.opts.Now()
		if err == nil && h.wake == c {
			h.wake = nil
		}
		h.wakeMu.Unlock()
		close(c.done)
	})
	return c
}

// Start starts the app as a wake does and waits for the result, for the
// admin API and the CLI.
func (e *Engine) Start(ctx context.Context, name string) error {
	h, ok := e.Lookup(name)
	if !ok {
		return fmt.Errorf("start %q: %w", name, ErrAppNotFound)
	}
	return e.Wake(ctx, h)
}

// start runs one start of the app: lock, before-start hook, provider start,
// wait for the provider to report it running, readiness probe, after-start
// hook. Only this goroutine changes the app's state meanwhile.
func (e *Engine) start(ctx context.Context, h *Handle) error {
	h.op.Lock()
	defer h.op.Unlock()
	if h.State() == StateRunning {
		return nil
	}
	app := h.App()
	provider := e.opts.Providers[app.Provider]
	logger := e.logger.With("app", h.name, "provider", app.Provider)
	begin := e.opts.Now()

	// Instances that share the registry take turns: one starts the app and
	// the others wait for its lock, then find the app running.
	release, waited, err := e.lockApp(ctx, h, logger)
	if err != nil {
		return e.startFailed(ctx, h, begin, err)
	}
	defer release()

	// The registry record shows whether another instance started the app,
	// and contains what the last stop saved, such as a formation.
	rec, err := e.opts.Registry.Record(ctx, h.name)
	switch {
	case err == nil:
		if rec.App.Saved != nil {
			app.Saved = rec.App.Saved
			h.setApp(app)
		}
		if rec.App.State == StateRunning && e.adoptRemoteStart(ctx, h, rec) {
			logger.Info("app started by another instance", "waited", waited)
			return nil
		}
	case !errors.Is(err, ErrAppNotFound):
		e.outage.failed("read record", err)
	}

	if err := e.runHook(ctx, BeforeStart, app); err != nil {
		return e.startFailed(ctx, h, begin, fmt.Errorf("before-start hook: %w", err))
	}

	logger.Info("starting app")
	h.setState(StateStarting)
	_ = e.saveRecord(ctx, h)
	if err := provider.Start(ctx, app); err != nil {
		return e.startFailed(ctx, h, begin, err)
	}
	if err := e.awaitReady(ctx, h, provider, app); err != nil {
		return e.startFailed(ctx, h, begin, err)
	}

	now := e.opts.Now()
	h.Touch(now)
	h.setState(StateRunning)
	duration := now.Sub(begin)
	logger.Info("app started", "duration", duration.Round(time.Millisecond))
	_ = e.saveRecord(ctx, h)
	e.record(ctx, Event{Type: EventStarted, App: h.name, Provider: app.Provider, Duration: duration})
	if err := e.runHook(ctx, AfterStart, app); err != nil {
		logger.Error("after-start hook failed", "error", err)
	}
	return nil
}

// adoptRemoteStart marks the app running when its registry record shows
// that another instance started it and the app responds on its readiness
// path. It reports whether it did. Only the readiness probe is trusted
// here, not this instance's provider: a provider that runs apps on this
// machine only, such as local, reports stopped an app that another
// instance started, while a PaaS reports it running to every instance.
func (e *Engine) adoptRemoteStart(ctx context.Context, h *Handle, rec Record) bool {
	app := h.App()
	if rec.App.URL != "" && rec.App.URL != app.URL {
		app.URL = rec.App.URL
		h.setApp(app)
	}
	status, err := e.probe(ctx, h, app)
	if err != nil || !readyStatus(status) {
		return false
	}
	h.Touch(e.opts.Now())
	h.setState(StateRunning)
	return true
}

func (e *Engine) startFailed(ctx context.Context, h *Handle, begin time.Time, err error) error {
	app := h.App()
	duration := e.opts.Now().Sub(begin)
	h.setState(StateFailed)
	if ctx.Err() == nil {
		// The provider's view decides the state again at the next sweep.
		_ = e.saveRecord(ctx, h)
	}
	e.logger.Error("app start failed", "app", h.name, "provider", app.Provider,
		"duration", duration.Round(time.Millisecond), "error", err)
	e.record(context.WithoutCancel(ctx), Event{Type: EventStartFailed, App: h.name, Provider: app.Provider, Duration: duration, Error: err.Error()})
	return &StartError{App: h.name, Err: err}
}

// awaitReady polls the provider until it reports the app running, then
// probes the app's readiness path until it responds.
func (e *Engine) awaitReady(ctx context.Context, h *Handle, provider Provider, app App) error {
	// Provider state checks cost API calls that PaaS providers rate-limit,
	// so they back off. Readiness probes go to the app itself and stay at
	// PollInterval, so that a request lands soon after the app is ready.
	stateDelay := backoff{next: e.opts.PollInterval, max: maxStatePollInterval}
	for {
		state, err := provider.State(ctx, app)
		if state == StateRunning {
			break
		}
		if state == StateStopped || state == StateFailed {
			if err == nil {
				err = fmt.Errorf("the provider reports the app %s", state)
			}
			return err
		}
		if err != nil {
			e.logger.Debug("provider state check failed; retrying", "app", h.name, "error", err)
		}
		if err := stateDelay.wait(ctx); err != nil {
			return fmt.Errorf("waiting for the provider to report the app running: %w", err)
		}
	}

	ticker := time.NewTicker(e.opts.PollInterval)
	defer ticker.Stop()
	stateDelay = backoff{next: e.opts.PollInterval, max: maxStatePollInterval}
	nextStateCheck := time.Now().Add(stateDelay.step())
	for {
		status, err := e.probe(ctx, h, app)
		if err == nil && readyStatus(status) {
			break
		}
		// A process that died while we probe is a failure, not a wait.
		if time.Now().After(nextStateCheck) {
			if state, stateErr := provider.State(ctx, app); state == StateStopped || state == StateFailed {
				if stateErr == nil {
					stateErr = fmt.Errorf("the app stopped while starting")
				}
				return stateErr
			}
			nextStateCheck = time.Now().Add(stateDelay.step())
		}
		if err := waitTick(ctx, ticker); err != nil {
			last := "no answer"
			if status != 0 {
				last = fmt.Sprintf("last status %d", status)
			}
			return fmt.Errorf("waiting for the app to respond on its readiness path (%s): %w", last, err)
		}
	}

	if e.opts.SettleDelay > 0 {
		t := time.NewTimer(e.opts.SettleDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// readyStatus reports whether a readiness probe's status means that the
// app is up: any status but those that a proxy or a PaaS router returns
// while the app is down (502, 503 and 504).
func readyStatus(status int) bool {
	return status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout
}

// probe sends one readiness request and returns its status code.
func (e *Engine) probe(ctx context.Context, h *Handle, app App) (int, error) {
	upstream := h.Upstream()
	if upstream == nil {
		return 0, fmt.Errorf("the provider reports no URL for %q", app.Name)
	}
	path := app.ReadinessPath
	if rule := e.opts.Rules(app.Name); rule.ReadinessPath != "" {
		path = rule.ReadinessPath
	}
	if path == "" {
		path = "/"
	}
	target := strings.TrimSuffix(upstream.String(), "/") + "/" + strings.TrimPrefix(path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, fmt.Errorf("build readiness request for %q: %w", target, err)
	}
	req.Header.Set("User-Agent", "paastis-readiness-probe")
	resp, err := e.opts.ProbeClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func (e *Engine) runHook(ctx context.Context, stage HookStage, app App) error {
	if e.opts.Hooks == nil {
		return nil
	}
	return e.opts.Hooks.RunHook(ctx, stage, app)
}

func waitTick(ctx context.Context, ticker *time.Ticker) error {
	select {
	case <-ticker.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxStatePollInterval caps the delay between two provider state checks
// during a wake.
const maxStatePollInterval = 2 * time.Second

// backoff is a delay that doubles at each step, up to max.
type backoff struct {
	next, max time.Duration
}

// step returns the current delay and doubles the next one.
func (b *backoff) step() time.Duration {
	d := b.next
	b.next = min(2*b.next, b.max)
	return d
}

// wait sleeps for the current delay, or until ctx ends.
func (b *backoff) wait(ctx context.Context) error {
	t := time.NewTimer(b.step())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
