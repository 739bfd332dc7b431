package redis

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paastis/paastis/internal/engine"
)

// refreshScript sets the lock key to the owner's token for a new ttl when
// the key holds that token or does not exist. It returns 1 when it did,
// and 0 when another owner holds the lock. KEYS: lock key. ARGV: token,
// ttl in ms.
var refreshScript = goredis.NewScript(`
local current = redis.call("GET", KEYS[1])
if current == ARGV[1] or not current then
	redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	return 1
end
return 0
`)

// releaseScript deletes the lock key only when it holds the owner's token.
// KEYS: lock key. ARGV: token.
var releaseScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	redis.call("DEL", KEYS[1])
end
return 0
`)

// lock is a lock taken by Acquire. Its random token distinguishes this
// owner from a later owner of the same name.
type lock struct {
	registry *Registry
	name     string
	key      string
	token    string
}

// Acquire takes the named lock for ttl with SET NX PX, or returns an error
// wrapping engine.ErrLocked while another owner holds it. The ttl is
// rounded down to whole milliseconds and must be at least 1ms.
func (r *Registry) Acquire(ctx context.Context, name string, ttl time.Duration) (engine.Lock, error) {
	if strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("lock name %q is empty: pass a name", name)
	}
	if err := validateTTL(ttl); err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", name, err)
	}

	l := &lock{registry: r, name: name, key: r.lockKey(name), token: rand.Text()}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	acquired, err := r.client.SetNX(ctx, l.key, l.token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("acquire lock %q in redis: %w", name, err)
	}
	if !acquired {
		return nil, fmt.Errorf("acquire lock %q: %w", name, engine.ErrLocked)
	}
	return l, nil
}

// Refresh extends the lock by ttl from now. When the lock expired and no
// other owner took it since, Refresh takes it again. It returns an error
// wrapping engine.ErrLocked while another owner holds it.
func (l *lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if err := validateTTL(ttl); err != nil {
		return fmt.Errorf("refresh lock %q: %w", l.name, err)
	}

	ctx, cancel := l.registry.withTimeout(ctx)
	defer cancel()
	refreshed, err := refreshScript.Run(ctx, l.registry.client, []string{l.key}, l.token, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("refresh lock %q in redis: %w", l.name, err)
	}
	if refreshed == 0 {
		return fmt.Errorf("refresh lock %q: %w", l.name, engine.ErrLocked)
	}
	return nil
}

// Release frees the lock if this owner still holds it, and otherwise does
// nothing.
func (l *lock) Release(ctx context.Context) error {
	ctx, cancel := l.registry.withTimeout(ctx)
	defer cancel()
	if err := releaseScript.Run(ctx, l.registry.client, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("release lock %q in redis: %w", l.name, err)
	}
	return nil
}

// validateTTL rejects a lock ttl shorter than a millisecond, the
// resolution of PX.
func validateTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("lock ttl %s is too short: use at least 1ms", ttl)
	}
	return nil
}
