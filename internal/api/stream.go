package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// streamBuffer is the number of events a slow stream client may lag behind
// before events are dropped for it.
const streamBuffer = 64

// heartbeatInterval is the period of the comments that keep an idle stream
// open through proxies that close silent connections.
const heartbeatInterval = 15 * time.Second

// streamEvents sends the events that this instance records, as they come,
// in the server-sent events format. Each event is a "message" with its JSON
// in data. A "lagged" event carries the count of the events dropped because
// the client reads too slowly. Events of other instances that share the
// registry are not included.
func (a *Admin) streamEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case <-a.closed:
		writeError(w, http.StatusServiceUnavailable, "paastis is shutting down")
		return
	default:
	}

	events := make(chan engine.Event, streamBuffer)
	var dropped atomic.Int64
	unsubscribe := a.opts.Engine.Subscribe(func(event engine.Event) {
		// The engine calls this on the goroutine that recorded the event,
		// which must not block.
		select {
		case events <- event:
		default:
			dropped.Add(1)
		}
	})
	defer unsubscribe()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	controller := http.NewResponseController(w)
	// The client reconnects after 3 seconds when the stream breaks.
	fmt.Fprint(w, "retry: 3000\n\n")
	if err := controller.Flush(); err != nil {
		return
	}

	heartbeat := time.NewTicker(heartbeatInterval)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-a.closed:
			return
		case <-heartbeat.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		case event := <-events:
			if n := dropped.Swap(0); n > 0 {
				fmt.Fprintf(w, "event: lagged\ndata: {\"dropped\":%d}\n\n", n)
			}
			data, err := json.Marshal(newEventView(event))
			if err != nil {
				return
			}
			fmt.Fprintf(w, "data: %s\n\n", data)
		}
		if err := controller.Flush(); err != nil {
			return
		}
	}
}
