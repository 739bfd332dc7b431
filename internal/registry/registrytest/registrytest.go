// Package registrytest holds the contract that every engine.Registry
// implementation must pass. An implementation's tests call Run with a
// factory for fresh, empty registries, and RunShared when several paastis
// instances can share one registry.
package registrytest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// EventsMaxLen is the event cap that Run expects: the default of both the
// memory and the Redis registry.
const EventsMaxLen = 1000

// Run runs the contract for one registry instance. newRegistry must return
// an empty registry that no other test uses, configured with an event cap
// of EventsMaxLen, and must stop whatever it started through t.Cleanup.
func Run(t *testing.T, newRegistry func(t *testing.T) engine.Registry) {
	t.Run("records", func(t *testing.T) { testRecords(t, newRegistry) })
	t.Run("clear", func(t *testing.T) { testClear(t, newRegistry) })
	t.Run("activity", func(t *testing.T) { testActivity(t, newRegistry) })
	t.Run("locks", func(t *testing.T) { testLocks(t, newRegistry) })
	t.Run("events", func(t *testing.T) { testEvents(t, newRegistry) })
	t.Run("concurrency", func(t *testing.T) { testConcurrency(t, newRegistry) })
}

// eventually calls check until it returns nil, and fails the test with the
// last error once timeout has passed.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition still false after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPast blocks until instant has passed, for checks about expiry where
// no state can be polled without changing it.
func waitPast(t *testing.T, instant time.Time) {
	t.Helper()

	select {
	case <-time.After(time.Until(instant)):
	case <-t.Context().Done():
		t.Fatal("test ended while waiting")
	}
}

// must fails the test when err is not nil.
func must(t *testing.T, err error) {
	t.Helper()

	if err != nil {
		t.Fatal(err)
	}
}

// sampleRecord returns a record with every field set, its times in a zone
// other than UTC and with nanoseconds, so that a registry's storage must
// keep all of it.
func sampleRecord(name string) engine.Record {
	zone := time.FixedZone("CET", 3600)
	discovered := time.Date(2025, 3, 14, 9, 26, 53, 589793238, zone)
	return engine.Record{
		App: engine.App{
			Name:          name,
			ID:            "id-" + name,
			Provider:      "scalingo",
			Region:        "osc-fr1",
			State:         engine.StateStopped,
			URL:           "https://" + name + ".example.test",
			ReadinessPath: "/healthz",
			Parent:        "parent-" + name,
			Details:       map[string]string{"stack": "scalingo-22"},
			Saved:         map[string]string{"web": "2", "worker": "1"},
		},
		Managed:      true,
		DiscoveredAt: discovered,
		LastAccess:   discovered.Add(90 * time.Minute),
		UpdatedAt:    discovered.Add(2 * time.Hour),
	}
}

// inUTC returns record with its times in UTC, as registries return them.
func inUTC(record engine.Record) engine.Record {
	record.DiscoveredAt = record.DiscoveredAt.UTC()
	record.LastAccess = record.LastAccess.UTC()
	record.UpdatedAt = record.UpdatedAt.UTC()
	return record
}

// recordNames returns the app names of records, in their order.
func recordNames(records []engine.Record) []string {
	names := make([]string, 0, len(records))
	for _, record := range records {
		names = append(names, record.App.Name)
	}
	return names
}

// sampleEvent returns the i-th event of a sequence, one second apart.
func sampleEvent(i int) engine.Event {
	return engine.Event{
		Time:     time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("EST", -5*3600)).Add(time.Duration(i) * time.Second),
		Type:     engine.EventStopped,
		App:      fmt.Sprintf("app-%d", i),
		Provider: "local",
		Duration: time.Duration(i) * time.Millisecond,
		Error:    strings.Repeat("x", i%3),
	}
}

// checkEvents fails unless got are the events of sequence numbers
// first..last, in order, with times in UTC.
func checkEvents(t *testing.T, got []engine.Event, first, last int) {
	t.Helper()

	if want := last - first + 1; len(got) != want {
		t.Fatalf("got %d events, want %d", len(got), want)
	}
	for i, event := range got {
		want := sampleEvent(first + i)
		want.Time = want.Time.UTC()
		if !reflect.DeepEqual(event, want) {
			t.Fatalf("event %d = %+v, want %+v", i, event, want)
		}
	}
}
