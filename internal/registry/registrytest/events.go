package registrytest

import (
	"testing"

	"github.com/paastis/paastis/internal/engine"
)

func testEvents(t *testing.T, newRegistry func(t *testing.T) engine.Registry) {
	t.Run("events come back oldest first", func(t *testing.T) {
		registry := newRegistry(t)
		for i := range 5 {
			must(t, registry.AppendEvent(t.Context(), sampleEvent(i)))
		}

		events, err := registry.Events(t.Context(), 10)
		must(t, err)
		checkEvents(t, events, 0, 4)
	})

	t.Run("limit keeps the newest events", func(t *testing.T) {
		registry := newRegistry(t)
		for i := range 5 {
			must(t, registry.AppendEvent(t.Context(), sampleEvent(i)))
		}

		events, err := registry.Events(t.Context(), 2)
		must(t, err)
		checkEvents(t, events, 3, 4)
	})

	t.Run("limit of zero returns none", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.AppendEvent(t.Context(), sampleEvent(1)))

		for _, limit := range []int{0, -1} {
			events, err := registry.Events(t.Context(), limit)
			must(t, err)
			if len(events) != 0 {
				t.Errorf("Events(%d) = %+v, want none", limit, events)
			}
		}
	})

	t.Run("empty log returns none", func(t *testing.T) {
		registry := newRegistry(t)

		events, err := registry.Events(t.Context(), 10)
		must(t, err)
		if len(events) != 0 {
			t.Errorf("Events = %+v, want none", events)
		}
	})

	t.Run("log keeps the newest EventsMaxLen events", func(t *testing.T) {
		registry := newRegistry(t)
		const extra = 25
		for i := range EventsMaxLen + extra {
			must(t, registry.AppendEvent(t.Context(), sampleEvent(i)))
		}

		events, err := registry.Events(t.Context(), 2*EventsMaxLen)
		must(t, err)
		checkEvents(t, events, extra, EventsMaxLen+extra-1)
	})
}
