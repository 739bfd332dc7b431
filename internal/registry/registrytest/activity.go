package registrytest

import (
	"errors"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// baseTime is a last-access time in a zone other than UTC, with
// nanoseconds.
var baseTime = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))

func testActivity(t *testing.T, newRegistry func(t *testing.T) engine.Registry) {
	t.Run("reported activity is returned in UTC", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{
			{App: "web", LastAccess: baseTime, InFlight: 2},
			{App: "api", LastAccess: baseTime.Add(time.Second)},
		}))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"web": {App: "web", LastAccess: baseTime, InFlight: 2},
			"api": {App: "api", LastAccess: baseTime.Add(time.Second)},
		})
	})

	t.Run("older last access does not move it back", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime}}))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime.Add(-time.Nanosecond)}}))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web"}}))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"web": {App: "web", LastAccess: baseTime},
		})
	})

	t.Run("later last access moves it forward", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime}}))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime.Add(time.Nanosecond)}}))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"web": {App: "web", LastAccess: baseTime.Add(time.Nanosecond)},
		})
	})

	t.Run("latest in-flight count replaces the previous", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime, InFlight: 5}}))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime, InFlight: 1}}))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"web": {App: "web", LastAccess: baseTime, InFlight: 1},
		})
	})

	t.Run("apps missing from a report keep their activity", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{
			{App: "web", LastAccess: baseTime, InFlight: 3},
			{App: "api", LastAccess: baseTime},
		}))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "api", LastAccess: baseTime.Add(time.Minute)}}))
		must(t, registry.ReportActivity(t.Context(), nil))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"web": {App: "web", LastAccess: baseTime, InFlight: 3},
			"api": {App: "api", LastAccess: baseTime.Add(time.Minute)},
		})
	})

	t.Run("app with only requests in flight is listed", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "stream", InFlight: 1}}))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"stream": {App: "stream", InFlight: 1},
		})
	})

	t.Run("app without any activity is not listed", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "stream", InFlight: 1}}))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "stream"}, {App: "idle"}}))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{})
	})

	t.Run("report rejects an empty app name", func(t *testing.T) {
		registry := newRegistry(t)

		err := registry.ReportActivity(t.Context(), []engine.Activity{
			{App: "web", LastAccess: baseTime},
			{App: "", LastAccess: baseTime},
		})
		if err == nil {
			t.Fatal("ReportActivity with an empty app name returned nil, want an error")
		}
		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{})
	})

	t.Run("delete forgets the app's activity", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("web"), sampleRecord("api")))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{
			{App: "web", LastAccess: baseTime},
			{App: "api", LastAccess: baseTime},
		}))
		must(t, registry.Delete(t.Context(), "web"))

		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{
			"api": {App: "api", LastAccess: baseTime},
		})
	})
}

func testClear(t *testing.T, newRegistry func(t *testing.T) engine.Registry) {
	t.Run("clear removes records activity events and locks", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("web"), sampleRecord("api")))
		must(t, registry.ReportActivity(t.Context(), []engine.Activity{{App: "web", LastAccess: baseTime, InFlight: 1}}))
		must(t, registry.AppendEvent(t.Context(), sampleEvent(1)))
		_, err := registry.Acquire(t.Context(), "sweep", time.Minute)
		must(t, err)

		must(t, registry.Clear(t.Context()))

		records, err := registry.Records(t.Context())
		must(t, err)
		if len(records) != 0 {
			t.Errorf("Records after Clear = %q, want none", recordNames(records))
		}
		_, err = registry.Record(t.Context(), "web")
		if !errors.Is(err, engine.ErrAppNotFound) {
			t.Errorf("Record(web) after Clear error = %v, want one wrapping engine.ErrAppNotFound", err)
		}
		activity, err := registry.Activity(t.Context())
		must(t, err)
		checkActivity(t, activity, map[string]engine.Activity{})
		events, err := registry.Events(t.Context(), 10)
		must(t, err)
		if len(events) != 0 {
			t.Errorf("Events after Clear = %+v, want none", events)
		}
		lock, err := registry.Acquire(t.Context(), "sweep", time.Minute)
		if err != nil {
			t.Fatalf("Acquire(sweep) after Clear: %v", err)
		}
		must(t, lock.Release(t.Context()))
	})

	t.Run("registry works after clear", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("web")))
		must(t, registry.Clear(t.Context()))
		must(t, registry.Clear(t.Context()))

		must(t, registry.Save(t.Context(), sampleRecord("api")))
		must(t, registry.AppendEvent(t.Context(), sampleEvent(2)))
		records, err := registry.Records(t.Context())
		must(t, err)
		if len(records) != 1 || records[0].App.Name != "api" {
			t.Errorf("Records = %q, want [api]", recordNames(records))
		}
		events, err := registry.Events(t.Context(), 10)
		must(t, err)
		checkEvents(t, events, 2, 2)
	})
}

// checkActivity fails unless got holds exactly the apps of want with equal
// in-flight counts and equal last-access instants in UTC.
func checkActivity(t *testing.T, got, want map[string]engine.Activity) {
	t.Helper()

	if len(got) != len(want) {
		t.Errorf("Activity = %+v, want %+v", got, want)
	}
	for name, wantActivity := range want {
		gotActivity, ok := got[name]
		if !ok {
			t.Errorf("Activity has no entry for %q, want %+v", name, wantActivity)
			continue
		}
		if gotActivity.App != name {
			t.Errorf("Activity[%q].App = %q, want %q", name, gotActivity.App, name)
		}
		if gotActivity.InFlight != wantActivity.InFlight {
			t.Errorf("Activity[%q].InFlight = %d, want %d", name, gotActivity.InFlight, wantActivity.InFlight)
		}
		if !gotActivity.LastAccess.Equal(wantActivity.LastAccess) {
			t.Errorf("Activity[%q].LastAccess = %v, want %v", name, gotActivity.LastAccess, wantActivity.LastAccess)
		}
		if !gotActivity.LastAccess.IsZero() && gotActivity.LastAccess.Location() != time.UTC {
			t.Errorf("Activity[%q].LastAccess location = %v, want UTC", name, gotActivity.LastAccess.Location())
		}
	}
}
