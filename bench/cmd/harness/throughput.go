package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
)

// sample is one measured wrk run of one target.
type sample struct {
	Round  int
	Target string
	Wrk    measure.WrkResult
	// CPU is the user and system CPU time that the target's processes
	// used during the run.
	CPU time.Duration
	// RedisCalls counts the Redis commands of the run, by name, for a
	// target with a Redis registry.
	RedisCalls map[string]int64
}

// CPUPerRequest returns the target's CPU time per completed request.
func (s sample) CPUPerRequest() time.Duration { return measure.PerRequest(s.CPU, s.Wrk.Requests) }

// throughput is the outcome of every round.
type throughput struct {
	Targets []*target
	Samples []sample
	// Orders lists, per round, the target keys in the order they ran.
	Orders [][]string
}

// runThroughput runs every target once per round, in an order that
// rotates by one target at each round, so that no target always runs
// first or last.
func (h *harness) runThroughput(ctx context.Context, targets []*target) (*throughput, error) {
	result := &throughput{Targets: targets}
	for round := range h.opts.rounds {
		var order []string
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			order = append(order, t.Key)
			h.logger.Info("wrk run", "round", round+1, "of", h.opts.rounds, "target", t.Key)
			s, err := h.measureTarget(ctx, t)
			if err != nil {
				return result, fmt.Errorf("round %d, %s: %w", round+1, t.Key, err)
			}
			s.Round = round + 1
			result.Samples = append(result.Samples, s)
		}
		result.Orders = append(result.Orders, order)
	}
	return result, nil
}

// measureTarget warms the target up with a short wrk run, then measures
// one run with the target's CPU time and Redis commands around it.
func (h *harness) measureTarget(ctx context.Context, t *target) (sample, error) {
	if h.opts.warmup > 0 {
		if _, err := h.runWrk(ctx, t.URL, h.opts.warmup); err != nil {
			return sample{}, fmt.Errorf("warm-up: %w", err)
		}
	}

	var redisBefore map[string]int64
	if t.redis != nil {
		var err error
		if redisBefore, err = t.redis.commandStats(); err != nil {
			return sample{}, err
		}
	}
	cpuBefore, err := cpuTime(t.pids())
	if err != nil {
		return sample{}, err
	}

	result, err := h.runWrk(ctx, t.URL, h.opts.duration)
	if err != nil {
		return sample{}, err
	}

	cpuAfter, err := cpuTime(t.pids())
	if err != nil {
		return sample{}, err
	}
	s := sample{Target: t.Key, Wrk: result, CPU: cpuAfter - cpuBefore}
	if t.redis != nil {
		after, err := t.redis.commandStats()
		if err != nil {
			return sample{}, err
		}
		s.RedisCalls = measure.CommandDelta(redisBefore, after, "info")
	}
	return s, nil
}

// runWrk runs wrk with the harness's threads and connections, keep-alive
// on (wrk's default), against url with the bench Host header.
func (h *harness) runWrk(ctx context.Context, url string, duration time.Duration) (measure.WrkResult, error) {
	seconds := max(1, int(duration.Round(time.Second)/time.Second))
	args := []string{
		"-t", strconv.Itoa(h.opts.threads),
		"-c", strconv.Itoa(h.opts.connections),
		"-d", strconv.Itoa(seconds) + "s",
		"--latency",
		"-H", "Host: " + benchHost,
		url,
	}
	cmd := exec.CommandContext(ctx, "wrk", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return measure.WrkResult{}, fmt.Errorf("wrk %v: %w\n%s", args, err, out)
	}
	return measure.ParseWrk(string(out))
}
