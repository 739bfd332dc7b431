package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paastis/paastis/internal/engine"
)

// Records returns every stored record, sorted by app name.
func (r *Registry) Records(ctx context.Context) ([]engine.Record, error) {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()

	fields, err := r.client.HGetAll(ctx, r.keyApps).Result()
	if err != nil {
		return nil, fmt.Errorf("list records from redis hash %q: %w", r.keyApps, err)
	}
	records := make([]engine.Record, 0, len(fields))
	for name, data := range fields {
		record, err := r.decodeRecord(name, data)
		if err != nil {
			return nil, err
		}
		records = append(records, record)
	}
	slices.SortFunc(records, func(a, b engine.Record) int {
		return cmp.Compare(a.App.Name, b.App.Name)
	})
	return records, nil
}

// Record returns the record of one app, or an error wrapping
// engine.ErrAppNotFound.
func (r *Registry) Record(ctx context.Context, name string) (engine.Record, error) {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()

	data, err := r.client.HGet(ctx, r.keyApps, name).Result()
	if errors.Is(err, goredis.Nil) {
		return engine.Record{}, fmt.Errorf("app %q: %w", name, engine.ErrAppNotFound)
	}
	if err != nil {
		return engine.Record{}, fmt.Errorf("read record of app %q from redis: %w", name, err)
	}
	return r.decodeRecord(name, data)
}

// Save inserts or replaces records with one HSET. A record without an app
// name is rejected and nothing is saved.
func (r *Registry) Save(ctx context.Context, records ...engine.Record) error {
	if len(records) == 0 {
		return nil
	}
	values := make([]any, 0, 2*len(records))
	for _, record := range records {
		if record.App.Name == "" {
			return errors.New("save records: a record has an empty app name: set App.Name")
		}
		data, err := json.Marshal(record)
		if err != nil {
			return fmt.Errorf("encode record of app %q: %w", record.App.Name, err)
		}
		values = append(values, record.App.Name, data)
	}

	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	if err := r.client.HSet(ctx, r.keyApps, values...).Err(); err != nil {
		return fmt.Errorf("save %d records to redis: %w", len(records), err)
	}
	return nil
}

// Delete removes the records and the last-access times of the named apps
// in one transaction. Unknown names are ignored. In-flight counts of other
// instances stay until they report again or expire.
func (r *Registry) Delete(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()

	_, err := r.client.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.HDel(ctx, r.keyApps, names...)
		pipe.HDel(ctx, r.keyLastAccess, names...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete records of apps %q from redis: %w", names, err)
	}
	return nil
}

// decodeRecord decodes a record from JSON and puts its times in UTC.
func (r *Registry) decodeRecord(name, data string) (engine.Record, error) {
	var record engine.Record
	if err := json.Unmarshal([]byte(data), &record); err != nil {
		return engine.Record{}, fmt.Errorf("decode record of app %q in redis hash %q: %w: remove that field with HDEL", name, r.keyApps, err)
	}
	record.DiscoveredAt = record.DiscoveredAt.UTC()
	record.LastAccess = record.LastAccess.UTC()
	record.UpdatedAt = record.UpdatedAt.UTC()
	return record, nil
}
