package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paastis/paastis/internal/engine"
)

// eventField is the stream entry field that holds an event's JSON.
const eventField = "event"

// AppendEvent adds the event to the stream with XADD MAXLEN ~, which trims
// the oldest entries in whole blocks, so the stream may briefly hold more
// than EventsMaxLen entries. Events never returns more.
func (r *Registry) AppendEvent(ctx context.Context, event engine.Event) error {
	event.Time = event.Time.UTC()
	data, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("encode %s event of app %q: %w", event.Type, event.App, err)
	}

	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	err = r.client.XAdd(ctx, &goredis.XAddArgs{
		Stream: r.keyEvents,
		MaxLen: r.eventsMaxLen,
		Approx: true,
		Values: []any{eventField, data},
	}).Err()
	if err != nil {
		return fmt.Errorf("append %s event of app %q to redis: %w", event.Type, event.App, err)
	}
	return nil
}

// Events returns at most limit events, and at most EventsMaxLen, the
// newest last. A limit of zero or less returns none.
func (r *Registry) Events(ctx context.Context, limit int) ([]engine.Event, error) {
	count := min(int64(limit), r.eventsMaxLen)
	if count <= 0 {
		return []engine.Event{}, nil
	}

	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	entries, err := r.client.XRevRangeN(ctx, r.keyEvents, "+", "-", count).Result()
	if err != nil {
		return nil, fmt.Errorf("read events from redis: %w", err)
	}

	events := make([]engine.Event, 0, len(entries))
	for _, entry := range slices.Backward(entries) {
		data, ok := entry.Values[eventField].(string)
		if !ok {
			return nil, fmt.Errorf("redis stream %q entry %s has no %q field: remove it with XDEL", r.keyEvents, entry.ID, eventField)
		}
		var event engine.Event
		if err := json.Unmarshal([]byte(data), &event); err != nil {
			return nil, fmt.Errorf("decode redis stream %q entry %s: %w: remove it with XDEL", r.keyEvents, entry.ID, err)
		}
		event.Time = event.Time.UTC()
		events = append(events, event)
	}
	return events, nil
}
