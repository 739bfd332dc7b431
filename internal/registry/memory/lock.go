package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// lock is a lock taken by Acquire. Its token distinguishes this owner from
// a later owner of the same name.
type lock struct {
	registry *Registry
	name     string
	token    uint64
}

// Acquire takes the named lock for ttl, or returns an error wrapping
// engine.ErrLocked while another owner holds it and its ttl has not passed.
// The ttl must be at least a millisecond, the resolution of the Redis
// registry.
func (r *Registry) Acquire(ctx context.Context, name string, ttl time.Duration) (engine.Lock, error) {
	if err := validateName("lock", name); err != nil {
		return nil, err
	}
	if err := validateTTL(ttl); err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", name, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if held, ok := r.locks[name]; ok && now.Before(held.expires) {
		return nil, fmt.Errorf("acquire lock %q: %w", name, engine.ErrLocked)
	}
	r.nextToken++
	r.locks[name] = heldLock{token: r.nextToken, expires: now.Add(ttl)}
	return &lock{registry: r, name: name, token: r.nextToken}, nil
}

// Refresh extends the lock by ttl from now. When the lock expired and no
// other owner took it since, Refresh takes it again. It returns an error
// wrapping engine.ErrLocked while another owner holds it.
func (l *lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if err := validateTTL(ttl); err != nil {
		return fmt.Errorf("refresh lock %q: %w", l.name, err)
	}

	r := l.registry
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if held, ok := r.locks[l.name]; ok && held.token != l.token && now.Before(held.expires) {
		return fmt.Errorf("refresh lock %q: %w", l.name, engine.ErrLocked)
	}
	r.locks[l.name] = heldLock{token: l.token, expires: now.Add(ttl)}
	return nil
}

// Release frees the lock if this owner still holds it, and otherwise does
// nothing.
func (l *lock) Release(ctx context.Context) error {
	r := l.registry
	r.mu.Lock()
	defer r.mu.Unlock()
	if held, ok := r.locks[l.name]; ok && held.token == l.token {
		delete(r.locks, l.name)
	}
	return nil
}

// validateTTL rejects a lock ttl shorter than a millisecond.
func validateTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("lock ttl %s is too short: use at least 1ms", ttl)
	}
	return nil
}
