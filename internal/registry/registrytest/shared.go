package registrytest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// RunShared runs the contract for two paastis instances that share one
// registry. newPair must return two registries on the same empty store,
// each with its own instance identity, and with in-flight reports that
// expire within a second when their instance stops reporting.
func RunShared(t *testing.T, newPair func(t *testing.T) (a, b engine.Registry)) {
	t.Run("records are shared", func(t *testing.T) {
		a, b := newPair(t)
		must(t, a.Save(t.Context(), sampleRecord("web"), sampleRecord("api")))
		must(t, b.Delete(t.Context(), "api"))

		got, err := b.Record(t.Context(), "web")
		must(t, err)
		if want := inUTC(sampleRecord("web")); !reflect.DeepEqual(got, want) {
			t.Errorf("Record on b = %+v, want %+v", got, want)
		}
		_, err = a.Record(t.Context(), "api")
		if !errors.Is(err, engine.ErrAppNotFound) {
			t.Errorf("Record(api) on a after Delete on b error = %v, want one wrapping engine.ErrAppNotFound", err)
		}
	})

	t.Run("in-flight counts are summed", func(t *testing.T) {
		a, b := newPair(t)
		must(t, a.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime.Add(time.Second), InFlight: 2}}))
		must(t, b.ReportActivity(t.Context(), []engine.Activity{
			{App: "web", LastAccess: baseTime, InFlight: 3},
			{App: "api", InFlight: 1},
		}))

		want := map[string]engine.Activity{
			"web": {App: "web", LastAccess: baseTime.Add(time.Second), InFlight: 5},
			"api": {App: "api", InFlight: 1},
		}
		for name, registry := range map[string]engine.Registry{"a": a, "b": b} {
			activity, err := registry.Activity(t.Context())
			must(t, err)
			t.Logf("checking Activity on %s", name)
			checkActivity(t, activity, want)
		}
	})

	t.Run("zero in flight stops counting", func(t *testing.T) {
		a, b := newPair(t)
		must(t, a.ReportActivity(t.Context(), []engine.Activity{{App: "web", InFlight: 2}}))
		must(t, b.ReportActivity(t.Context(), []engine.Activity{{App: "web", InFlight: 3}}))
		must(t, b.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime}}))

		activity, err := a.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"web": {App: "web", LastAccess: baseTime, InFlight: 2},
		})
	})

	t.Run("silent instance's in-flight count expires", func(t *testing.T) {
		a, b := newPair(t)
		must(t, a.ReportActivity(t.Context(), []engine.Activity{{App: "web", InFlight: 2}}))
		must(t, b.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime, InFlight: 3}}))

		// Instance a keeps reporting, as a live instance does on every
		// flush, while b has stopped.
		eventually(t, 5*time.Second, func() error {
			if err := a.ReportActivity(t.Context(), nil); err != nil {
				return err
			}
			activity, err := a.Activity(t.Context())
			if err != nil {
				return err
			}
			if got := activity["web"].InFlight; got != 2 {
				return fmt.Errorf("web in flight = %d, want 2 once b's report expired", got)
			}
			return nil
		})

		activity, err := a.Activity(t.Context())
		must(t, err)
		if got := activity["web"].LastAccess; !got.Equal(baseTime) {
			t.Errorf("web last access = %v, want %v kept after b's in-flight report expired", got, baseTime)
		}
	})

	t.Run("lock is shared", func(t *testing.T) {
		a, b := newPair(t)
		lock, err := a.Acquire(t.Context(), "sweep", time.Minute)
		must(t, err)

		_, err = b.Acquire(t.Context(), "sweep", time.Minute)
		if !errors.Is(err, engine.ErrLocked) {
			t.Fatalf("Acquire on b error = %v, want one wrapping engine.ErrLocked", err)
		}
		must(t, lock.Release(t.Context()))
		_, err = b.Acquire(t.Context(), "sweep", time.Minute)
		must(t, err)
	})

	t.Run("events are shared", func(t *testing.T) {
		a, b := newPair(t)
		must(t, a.AppendEvent(t.Context(), sampleEvent(0)))
		must(t, b.AppendEvent(t.Context(), sampleEvent(1)))
		must(t, a.AppendEvent(t.Context(), sampleEvent(2)))

		events, err := b.Events(t.Context(), 10)
		must(t, err)
		checkEvents(t, events, 0, 2)
	})

	t.Run("clear empties both views", func(t *testing.T) {
		a, b := newPair(t)
		must(t, a.Save(t.Context(), sampleRecord("web")))
		must(t, a.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime, InFlight: 1}}))
		must(t, b.ReportActivity(t.Context(), []engine.Activity{{App: "web", InFlight: 1}}))
		must(t, a.AppendEvent(t.Context(), sampleEvent(0)))

		must(t, b.Clear(t.Context()))

		records, err := a.Records(t.Context())
		must(t, err)
		if len(records) != 0 {
			t.Errorf("Records on a = %q, want none", recordNames(records))
		}
		activity, err := a.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{})
		events, err := a.Events(t.Context(), 10)
		must(t, err)
		if len(events) != 0 {
			t.Errorf("Events on a = %+v, want none", events)
		}
	})
}
