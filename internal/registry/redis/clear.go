package redis

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"
)

// clearBatch is the SCAN COUNT hint. Each UNLINK deletes the keys of one
// SCAN reply, usually about that many.
const clearBatch = 500

// Clear removes every key under the key prefix and hash tag, which is
// every record, activity, lock and event of this registry, and nothing
// else. It walks the keys with SCAN, never KEYS, and deletes them with
// UNLINK in batches, on every master of a Cluster. A key written while
// Clear runs may survive it.
func (r *Registry) Clear(ctx context.Context) error {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()

	var deleted atomic.Int64
	clearNode := func(ctx context.Context, client *goredis.Client) error {
		n, err := r.clearNode(ctx, client)
		deleted.Add(n)
		return err
	}

	var err error
	switch client := r.client.(type) {
	case *goredis.ClusterClient:
		err = client.ForEachMaster(ctx, clearNode)
	case *goredis.Client:
		err = clearNode(ctx, client)
	default:
		err = fmt.Errorf("unsupported client type %T", r.client)
	}
	if err != nil {
		return fmt.Errorf("clear redis keys matching %q after deleting %d: %w", r.scanPattern(), deleted.Load(), err)
	}
	r.logger.Info("redis registry cleared", "keys", deleted.Load(), "pattern", r.scanPattern())
	return nil
}

// clearNode deletes the registry's keys on one server and returns how many
// it deleted.
func (r *Registry) clearNode(ctx context.Context, client *goredis.Client) (int64, error) {
	var deleted int64
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, r.scanPattern(), clearBatch).Result()
		if err != nil {
			return deleted, fmt.Errorf("scan: %w", err)
		}
		if len(keys) > 0 {
			n, err := client.Unlink(ctx, keys...).Result()
			if err != nil {
				return deleted, fmt.Errorf("unlink %d keys: %w", len(keys), err)
			}
			deleted += n
		}
		if next == 0 {
			return deleted, nil
		}
		cursor = next
	}
}

// scanPattern returns the SCAN MATCH pattern of the registry's keys, with
// the glob characters of the prefix escaped.
func (r *Registry) scanPattern() string {
	return escapeGlob(r.keyAll) + "*"
}

// escapeGlob escapes the characters that Redis glob patterns give a
// meaning: * ? [ ] and the backslash.
func escapeGlob(s string) string {
	var escaped strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			escaped.WriteByte('\\')
		}
		escaped.WriteRune(c)
	}
	return escaped.String()
}
