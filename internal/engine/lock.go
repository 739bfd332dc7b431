package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// appLockName returns the name of the registry lock that an instance holds
// while it starts or stops the app, so that the instances sharing a
// registry take turns.
func appLockName(app string) string { return "app:" + app }

// lockApp takes the app's lock for a start, waiting while another instance
// holds it. It returns the function that releases the lock, and whether it
// had to wait, which means that another instance may have started the app
// meanwhile.
//
// When the registry fails, lockApp logs the outage and returns without the
// lock: the wake's single flight still allows one start per app on this
// instance, and a start should not wait for the registry to come back.
func (e *Engine) lockApp(ctx context.Context, h *Handle, logger *slog.Logger) (release func(), waited bool, err error) {
	var ticker *time.Ticker
	for {
		lock, err := e.opts.Registry.Acquire(ctx, appLockName(h.name), e.opts.LockTTL)
		switch {
		case err == nil:
			e.outage.recovered()
			return e.holdLock(appLockName(h.name), lock), waited, nil
		case ctx.Err() != nil:
			return nil, waited, fmt.Errorf("waiting for the lock of %q: %w", h.name, ctx.Err())
		case !errors.Is(err, ErrLocked):
			e.outage.failed("acquire start lock", err)
			return func() {}, waited, nil
		}

		if !waited {
			waited = true
			logger.Info("another instance is starting or stopping the app; waiting for it to finish")
			ticker = time.NewTicker(e.opts.PollInterval)
			defer ticker.Stop()
		}
		if err := waitTick(ctx, ticker); err != nil {
			return nil, waited, fmt.Errorf("waiting for another instance to finish starting or stopping %q: %w", h.name, err)
		}
	}
}

// holdLock renews the lock every LockTTL/3 until the returned function is
// called, which releases it. A start or stop that lasts longer than
// LockTTL, as a PaaS deployment may, then keeps its lock.
func (e *Engine) holdLock(name string, lock Lock) (release func()) {
	ctx, cancel := context.WithCancel(e.background)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		ticker := time.NewTicker(e.opts.LockTTL / 3)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			err := lock.Refresh(ctx, e.opts.LockTTL)
			switch {
			case err == nil:
				e.outage.recovered()
			case ctx.Err() != nil:
				return
			case errors.Is(err, ErrLocked):
				e.logger.Warn("lock expired and another instance took it; check that the registry is reachable and the lock ttl (REDIS_LEASE_TTL) is long enough", "lock", name)
				return
			default:
				e.outage.failed("refresh lock", err)
			}
		}
	}()
	return func() {
		cancel()
		<-renewed
		e.releaseLock(lock)
	}
}

// releaseLock frees a lock, with a context of its own so that a cancelled
// start or stop still frees it.
func (e *Engine) releaseLock(lock Lock) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := lock.Release(ctx); err != nil {
		e.logger.Warn("release lock failed; it expires by itself", "error", err)
	}
}
