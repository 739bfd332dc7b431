package registrytest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// workload is the work of the concurrency test's goroutines, with counters
// of how they held the shared lock "hot".
type workload struct {
	registry engine.Registry
	workers  int
	rounds   int

	holders      atomic.Int32
	maxHolders   atomic.Int32
	acquisitions atomic.Int32
}

func testConcurrency(t *testing.T, newRegistry func(t *testing.T) engine.Registry) {
	t.Run("concurrent calls lose no writes", func(t *testing.T) {
		work := &workload{registry: newRegistry(t), workers: 8, rounds: 25}
		total := work.workers * work.rounds

		var wg sync.WaitGroup
		errs := make(chan error, work.workers)
		for worker := range work.workers {
			wg.Go(func() { errs <- work.run(t, worker) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}

		records, err := work.registry.Records(t.Context())
		must(t, err)
		if len(records) != total {
			t.Errorf("Records has %d records, want %d", len(records), total)
		}
		activity, err := work.registry.Activity(t.Context())
		must(t, err)
		if got, want := activity["shared"].LastAccess, work.accessTime(work.rounds-1, work.workers-1); !got.Equal(want) {
			t.Errorf("shared last access = %v, want the latest reported %v", got, want)
		}
		events, err := work.registry.Events(t.Context(), EventsMaxLen)
		must(t, err)
		if len(events) != total {
			t.Errorf("Events has %d events, want %d", len(events), total)
		}
		if got := work.maxHolders.Load(); got != 1 {
			t.Errorf("at most %d goroutines held the lock at once, want 1", got)
		}
		if work.acquisitions.Load() == 0 {
			t.Error("no goroutine acquired the lock")
		}
	})
}

// accessTime returns the last access that worker reports in round. Every
// call returns a different time, and the last round of the last worker
// has the latest.
func (work *workload) accessTime(round, worker int) time.Time {
	return baseTime.Add(time.Duration(round*work.workers+worker+1) * time.Second)
}

// run saves, reports, appends and locks work.rounds times.
func (work *workload) run(t *testing.T, worker int) error {
	ctx := t.Context()
	for round := range work.rounds {
		name := fmt.Sprintf("app-%d-%d", worker, round)
		if err := work.registry.Save(ctx, sampleRecord(name)); err != nil {
			return err
		}

		access := work.accessTime(round, worker)
		err := work.registry.ReportActivity(ctx, []engine.Activity{
			{App: "shared", LastAccess: access},
			{App: name, LastAccess: access, InFlight: int64(round)},
		})
		if err != nil {
			return err
		}
		if err := work.registry.AppendEvent(ctx, sampleEvent(worker*work.rounds+round)); err != nil {
			return err
		}

		lock, err := work.registry.Acquire(ctx, "hot", time.Minute)
		if errors.Is(err, engine.ErrLocked) {
			continue
		}
		if err != nil {
			return err
		}
		work.enterLock()
		if err := lock.Release(ctx); err != nil {
			return err
		}
	}
	return nil
}

// enterLock records one holder of the lock and the max number of holders
// seen at once, then leaves. The caller releases the lock after it.
func (work *workload) enterLock() {
	work.acquisitions.Add(1)
	holders := work.holders.Add(1)
	for {
		seen := work.maxHolders.Load()
		if holders <= seen || work.maxHolders.CompareAndSwap(seen, holders) {
			break
		}
	}
	work.holders.Add(-1)
}
