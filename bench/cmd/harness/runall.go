package main

import (
	"context"
	"fmt"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
)

// The target keys that the ratios divide by.
const (
	keyDirect = "direct"
	keyNginx  = "nginx"
	keyCaddy  = "caddy"
	keyRedis  = "paastis-redis"
)

// report is everything one run measured.
type report struct {
	Started, Finished time.Time
	Options           options
	Machine           machine
	// LoadAfter is the load average at the end of the run.
	LoadAfter  string
	Throughput *throughput
	Redis      *redisLoad
	Idle       *binaryMemory
	Wakes      []*wakeSeries
	Scale      *scale
	Micro      *microResult
	Profile    *cpuProfile
	// Errors lists the sections that failed, in order.
	Errors []sectionError
}

type sectionError struct {
	Section string
	Err     error
}

// runAll runs every benchmark in turn. A failed section is recorded and
// the next one runs.
func (h *harness) runAll(ctx context.Context) *report {
	r := &report{Started: h.started, Options: h.opts, Machine: describeMachine(ctx, h.paastis, h.loadAtStart)}
	failed := func(section string, err error) {
		h.logger.Error("benchmark section failed", "section", section, "error", err)
		r.Errors = append(r.Errors, sectionError{section, err})
	}

	// Each section stops the processes it started before the next one,
	// so that they do not compete for the CPUs. The throughput targets
	// stay up for the Redis window.
	var err error
	sections := h.opts.sections
	if sections["throughput"] {
		if err = h.runProxies(ctx, r); err != nil {
			failed("throughput", err)
		}
		h.stopChildren()
	}
	if sections["profile"] {
		if r.Profile, err = h.runProfile(ctx, h.resultsDir, h.stamp()); err != nil {
			failed("CPU profile", err)
		}
		h.stopChildren()
	}
	if sections["idle"] {
		if idle, err := h.runIdleMemory(ctx); err != nil {
			failed("idle memory", err)
		} else {
			r.Idle = &idle
		}
	}
	if sections["wake"] {
		if r.Wakes, err = h.runWakes(ctx); err != nil {
			failed("wake", err)
		}
	}
	if sections["scale"] {
		if r.Scale, err = h.runScale(ctx); err != nil {
			failed("scale", err)
		}
	}
	h.stopChildren()
	if sections["micro"] {
		if r.Micro, err = h.runMicro(ctx); err != nil {
			failed("Go benchmarks", err)
		}
	}
	r.Finished = time.Now()
	r.LoadAfter = loadAverage()
	return r
}

// runProxies starts every throughput target, runs the rounds, then the
// idle Redis window.
func (h *harness) runProxies(ctx context.Context, r *report) error {
	upstream, upstreamPort, err := h.startUpstream(ctx, "upstream")
	if err != nil {
		return err
	}
	upstreamPID := upstream.PID()
	direct := &target{
		Key:   keyDirect,
		Label: "the upstream itself, no proxy",
		URL:   fmt.Sprintf("http://127.0.0.1:%d/", upstreamPort),
		pids:  func() []int { return []int{upstreamPID} },
	}

	nginx, err := h.startNginx(ctx, upstreamPort)
	if err != nil {
		return err
	}
	caddy, err := h.startCaddy(ctx, upstreamPort)
	if err != nil {
		return err
	}
	goproxy, err := h.startGoProxy(ctx, upstreamPort)
	if err != nil {
		return err
	}
	memoryTarget, err := h.startPaastisTarget(ctx, "paastis-memory", "paastis, in-memory registry", map[string]string{"REGISTRY_TYPE": "in-memory"}, nil)
	if err != nil {
		return err
	}
	redis, err := h.startRedis(ctx)
	if err != nil {
		return err
	}
	redisTarget, err := h.startPaastisTarget(ctx, keyRedis, "paastis, Redis registry", map[string]string{
		"REGISTRY_TYPE":        "redis",
		"REDIS_URL":            fmt.Sprintf("redis://127.0.0.1:%d", redis.Port),
		"REDIS_FLUSH_INTERVAL": h.opts.flushInterval.String(),
	}, redis)
	if err != nil {
		return err
	}

	targets := []*target{direct, nginx, caddy, goproxy, memoryTarget, redisTarget}
	r.Throughput, err = h.runThroughput(ctx, targets)
	if err != nil {
		return err
	}
	r.Redis, err = h.collectRedisLoad(ctx, redis, r.Throughput.Samples, keyRedis)
	if err != nil {
		return fmt.Errorf("Redis window: %w", err)
	}
	return nil
}

// summary is the median of every round for one target.
type summary struct {
	Target        *target
	RequestsPerS  float64
	P50, P99      time.Duration
	CPUPerRequest time.Duration
	Errors        int64
	// Ratios maps a reference key to the median of the per-round ratios
	// of requests/s, p50 and p99 to that reference.
	Ratios map[string][3]float64
}

// summarize returns one summary per target, in the targets' order. Each
// ratio is taken within a round, between runs a few seconds apart, and
// the median of those ratios is reported.
func (t *throughput) summarize() []summary {
	byRound := map[int]map[string]sample{}
	for _, s := range t.Samples {
		if byRound[s.Round] == nil {
			byRound[s.Round] = map[string]sample{}
		}
		byRound[s.Round][s.Target] = s
	}

	var summaries []summary
	for _, tg := range t.Targets {
		var rates []float64
		var p50s, p99s, cpus []time.Duration
		var errs int64
		ratios := map[string][3][]float64{}
		for _, round := range byRound {
			s, ok := round[tg.Key]
			if !ok {
				continue
			}
			rates = append(rates, s.Wrk.RequestsPerSec)
			p50s = append(p50s, s.Wrk.P50)
			p99s = append(p99s, s.Wrk.P99)
			cpus = append(cpus, s.CPUPerRequest())
			errs += s.Wrk.Errors()
			for _, ref := range []string{keyDirect, keyNginx, keyCaddy} {
				base, ok := round[ref]
				if !ok {
					continue
				}
				r := ratios[ref]
				r[0] = append(r[0], measure.Ratio(s.Wrk.RequestsPerSec, base.Wrk.RequestsPerSec))
				r[1] = append(r[1], measure.Ratio(float64(s.Wrk.P50), float64(base.Wrk.P50)))
				r[2] = append(r[2], measure.Ratio(float64(s.Wrk.P99), float64(base.Wrk.P99)))
				ratios[ref] = r
			}
		}
		sum := summary{
			Target:        tg,
			RequestsPerS:  measure.Median(rates),
			P50:           measure.MedianDuration(p50s),
			P99:           measure.MedianDuration(p99s),
			CPUPerRequest: measure.MedianDuration(cpus),
			Errors:        errs,
			Ratios:        map[string][3]float64{},
		}
		for ref, r := range ratios {
			sum.Ratios[ref] = [3]float64{measure.Median(r[0]), measure.Median(r[1]), measure.Median(r[2])}
		}
		summaries = append(summaries, sum)
	}
	return summaries
}
