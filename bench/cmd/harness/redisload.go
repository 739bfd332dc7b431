package main

import (
	"context"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
)

// redisLoad is the Redis traffic of paastis with the Redis registry.
type redisLoad struct {
	FlushInterval time.Duration
	// Requests and Calls sum the measured wrk runs against paastis with
	// the Redis registry, and Busy their durations.
	Requests int64
	Calls    map[string]int64
	Busy     time.Duration
	// IdleCalls counts the commands over an idle window of Idle.
	Idle      time.Duration
	IdleCalls map[string]int64
}

// collectRedisLoad sums the Redis commands of the throughput samples of
// target key, then counts the commands of an idle window of
// flushIntervals flush intervals.
func (h *harness) collectRedisLoad(ctx context.Context, redis *redisServer, samples []sample, key string) (*redisLoad, error) {
	result := &redisLoad{FlushInterval: h.opts.flushInterval, Calls: map[string]int64{}}
	for _, s := range samples {
		if s.Target != key {
			continue
		}
		result.Requests += s.Wrk.Requests
		result.Busy += s.Wrk.Duration
		for name, n := range s.RedisCalls {
			result.Calls[name] += n
		}
	}

	// The idle window is a measure over a fixed time, not a wait for a
	// condition.
	result.Idle = time.Duration(h.opts.flushIntervals) * h.opts.flushInterval
	h.logger.Info("idle Redis window", "duration", result.Idle)
	before, err := redis.commandStats()
	if err != nil {
		return result, err
	}
	select {
	case <-time.After(result.Idle):
	case <-ctx.Done():
		return result, ctx.Err()
	}
	after, err := redis.commandStats()
	if err != nil {
		return result, err
	}
	result.IdleCalls = measure.CommandDelta(before, after, "info")
	return result, nil
}
