package fleet

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/memory"
)

// maxIdleTime is the engine's max idle time in Measure. The fake clock
// jumps past it to make every app idle at once.
const maxIdleTime = 15 * time.Minute

// SweepResult holds the durations and memory figures of Measure, with
// JSON field names.
type SweepResult struct {
	Apps int `json:"apps"`
	// Discovery is the first sweep, which registers every app.
	Discovery time.Duration `json:"discovery_ns"`
	// Steady is a sweep that finds nothing to change and no idle app.
	Steady time.Duration `json:"steady_ns"`
	// StopAll is a sweep that finds every app idle and stops all of them
	// through the fake provider, whose stops take no time.
	StopAll time.Duration `json:"stop_all_ns"`
	// Stopped is the number of Stop calls of the StopAll sweep.
	Stopped int64 `json:"stopped"`
	// HeapInUse is the Go heap in use after the steady sweep and a
	// garbage collection, with every app registered.
	HeapInUse uint64 `json:"heap_in_use_bytes"`
	// RSS and PeakRSS are VmRSS and VmHWM of the whole process at the end,
	// or 0 where /proc cannot be read.
	RSS     int64 `json:"rss_bytes"`
	PeakRSS int64 `json:"peak_rss_bytes"`
}

// Engine is an engine over a fake provider and the in-memory registry,
// with a clock that the caller can move forward.
type Engine struct {
	*engine.Engine
	Provider *Provider
	offset   atomic.Int64 // added to time.Now, in nanoseconds
}

// NewEngine returns an engine over n fake apps, all running. Call Close
// when done.
func NewEngine(n int) (*Engine, error) {
	fe := &Engine{Provider: NewProvider(MakeApps(n, engine.StateRunning))}
	e, err := engine.New(engine.Options{
		Providers:   map[string]engine.Provider{ProviderName: fe.Provider},
		Registry:    memory.New(),
		MaxIdleTime: maxIdleTime,
		Now:         func() time.Time { return time.Now().Add(time.Duration(fe.offset.Load())) },
	})
	if err != nil {
		return nil, fmt.Errorf("build an engine over %d fake apps: %w", n, err)
	}
	fe.Engine = e
	return fe, nil
}

// Advance moves the engine's clock forward by d.
func (fe *Engine) Advance(d time.Duration) { fe.offset.Add(int64(d)) }

// Measure times three sweeps of an engine over n fake apps: the one that
// registers them, one that changes nothing, and one that stops them all.
// Run it in a fresh process for a meaningful peak RSS.
func Measure(ctx context.Context, n int) (SweepResult, error) {
	result := SweepResult{Apps: n}
	fe, err := NewEngine(n)
	if err != nil {
		return result, err
	}
	defer fe.Close()

	if result.Discovery, err = timeSweep(ctx, fe); err != nil {
		return result, err
	}
	if got := len(fe.Handles()); got != n {
		return result, fmt.Errorf("the discovery sweep registered %d apps, want %d", got, n)
	}
	if result.Steady, err = timeSweep(ctx, fe); err != nil {
		return result, err
	}
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	result.HeapInUse = stats.HeapInuse

	fe.Advance(maxIdleTime + time.Minute)
	if result.StopAll, err = timeSweep(ctx, fe); err != nil {
		return result, err
	}
	result.Stopped = fe.Provider.Stops()
	if result.Stopped != int64(n) {
		return result, fmt.Errorf("the idle sweep stopped %d apps, want %d", result.Stopped, n)
	}

	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		if memory, err := measure.ParseProcStatus(data); err == nil {
			result.RSS, result.PeakRSS = memory.RSS, memory.HWM
		}
	}
	return result, nil
}

func timeSweep(ctx context.Context, fe *Engine) (time.Duration, error) {
	begin := time.Now()
	if err := fe.Sweep(ctx); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return time.Since(begin), nil
}
