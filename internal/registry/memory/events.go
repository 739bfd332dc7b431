package memory

import (
	"context"

	"github.com/paastis/paastis/internal/engine"
)

// AppendEvent stores the event with its time in UTC. Once the log holds
// DefaultEventsMaxLen events, each new one replaces the oldest.
func (r *Registry) AppendEvent(ctx context.Context, event engine.Event) error {
	event.Time = event.Time.UTC()

	r.mu.Lock()
	defer r.mu.Unlock()
	r.events.push(event)
	return nil
}

// Events returns at most limit events, the newest last. A limit of zero or
// less returns none.
func (r *Registry) Events(ctx context.Context, limit int) ([]engine.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events.newest(limit), nil
}

// eventRing is a fixed-size ring of events. next is the slot that the next
// push writes, and size counts the filled slots.
type eventRing struct {
	buf  []engine.Event
	next int
	size int
}

func (ring *eventRing) push(event engine.Event) {
	ring.buf[ring.next] = event
	ring.next = (ring.next + 1) % len(ring.buf)
	ring.size = min(ring.size+1, len(ring.buf))
}

// newest returns the last n events in the order they were pushed.
func (ring *eventRing) newest(n int) []engine.Event {
	n = min(n, ring.size)
	if n <= 0 {
		return []engine.Event{}
	}
	events := make([]engine.Event, n)
	start := ring.next - n
	if start < 0 {
		start += len(ring.buf)
	}
	for i := range events {
		events[i] = ring.buf[(start+i)%len(ring.buf)]
	}
	return events
}

func (ring *eventRing) reset() {
	clear(ring.buf)
	ring.next = 0
	ring.size = 0
}
