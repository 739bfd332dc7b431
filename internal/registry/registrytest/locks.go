package registrytest

import (
	"errors"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// shortTTL is the lock ttl of the expiry tests: long enough for a few
// round trips to a local Redis, short enough to keep the suite fast.
const shortTTL = 200 * time.Millisecond

func testLocks(t *testing.T, newRegistry func(t *testing.T) engine.Registry) {
	t.Run("held lock is ErrLocked for another owner", func(t *testing.T) {
		registry := newRegistry(t)
		_, err := registry.Acquire(t.Context(), "sweep", time.Minute)
		must(t, err)

		_, err = registry.Acquire(t.Context(), "sweep", time.Minute)
		if !errors.Is(err, engine.ErrLocked) {
			t.Fatalf("second Acquire error = %v, want one wrapping engine.ErrLocked", err)
		}
	})

	t.Run("locks of other names are independent", func(t *testing.T) {
		registry := newRegistry(t)
		_, err := registry.Acquire(t.Context(), "wake:web", time.Minute)
		must(t, err)

		_, err = registry.Acquire(t.Context(), "wake:api", time.Minute)
		must(t, err)
	})

	t.Run("released lock can be acquired again", func(t *testing.T) {
		registry := newRegistry(t)
		lock, err := registry.Acquire(t.Context(), "sweep", time.Minute)
		must(t, err)
		must(t, lock.Release(t.Context()))
		must(t, lock.Release(t.Context()))

		_, err = registry.Acquire(t.Context(), "sweep", time.Minute)
		must(t, err)
	})

	t.Run("lock expires after its ttl", func(t *testing.T) {
		registry := newRegistry(t)
		start := time.Now()
		_, err := registry.Acquire(t.Context(), "sweep", shortTTL)
		must(t, err)

		eventually(t, 5*time.Second, func() error {
			_, err := registry.Acquire(t.Context(), "sweep", time.Minute)
			return err
		})
		if elapsed := time.Since(start); elapsed < shortTTL/2 {
			t.Errorf("lock with ttl %s was free after %s", shortTTL, elapsed)
		}
	})

	t.Run("refresh extends the lock", func(t *testing.T) {
		registry := newRegistry(t)
		lock, err := registry.Acquire(t.Context(), "sweep", shortTTL)
		must(t, err)
		must(t, lock.Refresh(t.Context(), time.Minute))

		// The lock must stay held well past its first ttl.
		end := time.Now().Add(2 * shortTTL)
		for time.Now().Before(end) {
			_, err := registry.Acquire(t.Context(), "sweep", time.Minute)
			if !errors.Is(err, engine.ErrLocked) {
				t.Fatalf("Acquire of a refreshed lock error = %v, want one wrapping engine.ErrLocked", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("refresh after expiry retakes a free lock", func(t *testing.T) {
		registry := newRegistry(t)
		lock, err := registry.Acquire(t.Context(), "sweep", shortTTL)
		must(t, err)
		waitPast(t, time.Now().Add(shortTTL+50*time.Millisecond))

		must(t, lock.Refresh(t.Context(), time.Minute))
		_, err = registry.Acquire(t.Context(), "sweep", time.Minute)
		if !errors.Is(err, engine.ErrLocked) {
			t.Fatalf("Acquire after Refresh error = %v, want one wrapping engine.ErrLocked", err)
		}
	})

	t.Run("expired owner can neither refresh nor release", func(t *testing.T) {
		registry := newRegistry(t)
		first, err := registry.Acquire(t.Context(), "sweep", shortTTL)
		must(t, err)
		var second engine.Lock
		eventually(t, 5*time.Second, func() error {
			second, err = registry.Acquire(t.Context(), "sweep", time.Minute)
			return err
		})

		err = first.Refresh(t.Context(), time.Minute)
		if !errors.Is(err, engine.ErrLocked) {
			t.Errorf("Refresh by the expired owner error = %v, want one wrapping engine.ErrLocked", err)
		}
		must(t, first.Release(t.Context()))
		_, err = registry.Acquire(t.Context(), "sweep", time.Minute)
		if !errors.Is(err, engine.ErrLocked) {
			t.Errorf("Acquire after Release by the expired owner error = %v, want one wrapping engine.ErrLocked", err)
		}
		must(t, second.Refresh(t.Context(), time.Minute))
	})

	t.Run("invalid arguments are rejected", func(t *testing.T) {
		registry := newRegistry(t)
		tests := []struct {
			name     string
			lockName string
			ttl      time.Duration
		}{
			{name: "empty name", lockName: "", ttl: time.Minute},
			{name: "zero ttl", lockName: "sweep", ttl: 0},
			{name: "negative ttl", lockName: "sweep", ttl: -time.Second},
			{name: "ttl under a millisecond", lockName: "sweep", ttl: time.Microsecond},
		}
		for _, test := range tests {
			t.Run(test.name, func(t *testing.T) {
				_, err := registry.Acquire(t.Context(), test.lockName, test.ttl)
				if err == nil {
					t.Fatalf("Acquire(%q, %s) returned nil, want an error", test.lockName, test.ttl)
				}
				if errors.Is(err, engine.ErrLocked) {
					t.Errorf("Acquire(%q, %s) error %v wraps engine.ErrLocked, want a validation error", test.lockName, test.ttl, err)
				}
			})
		}

		lock, err := registry.Acquire(t.Context(), "sweep", time.Minute)
		must(t, err)
		if err := lock.Refresh(t.Context(), 0); err == nil {
			t.Error("Refresh with a zero ttl returned nil, want an error")
		}
	})
}
