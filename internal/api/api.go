// Package api serves paastis's HTTP interfaces other than the proxy itself:
//
//   - the system API, compatible with the original Node.js paastis, on the
//     proxy's listener for requests that carry "PaastisProxyTarget: system"
//     (SystemHandler);
//   - the admin API, the health checks, the metrics endpoint and the
//     dashboard, on a listener of their own (NewAdmin).
//
// Both read and act on the engine; neither is on the proxy's request path.
package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// appView is an app as both APIs return it. Its field names follow the
// apps of the original paastis's system API, and add the live data of
// this instance.
type appView struct {
	Name     string       `json:"name"`
	ID       string       `json:"id"`
	Provider string       `json:"provider"`
	Region   string       `json:"region"`
	Status   engine.State `json:"status"`
	URL      string       `json:"url"`
	Parent   string       `json:"parent,omitempty"`
	// IsMonitored is false for the apps on the ignore list, which paastis
	// neither starts nor stops.
	IsMonitored bool `json:"is_monitored"`
	// MaxIdleTime is in minutes, as in the original paastis, and may have
	// a fractional part.
	MaxIdleTime        float64   `json:"max_idle_time"`
	MaxIdleTimeSeconds float64   `json:"max_idle_time_seconds"`
	LastAccessedAt     time.Time `json:"last_accessed_at"`
	DiscoveredAt       time.Time `json:"discovered_at"`
	// InFlight counts the requests in progress through this instance.
	InFlight int64 `json:"in_flight"`
	// SleepsAt is the earliest time a sweep may stop the app, from the
	// traffic that this instance recorded. It is nil unless the app runs, is
	// monitored and has no request in flight.
	SleepsAt *time.Time        `json:"sleeps_at"`
	Details  map[string]string `json:"details,omitempty"`
}

// newAppView returns the view of one app.
func newAppView(e *engine.Engine, h *engine.Handle) appView {
	app := h.App()
	maxIdle := e.MaxIdleTime(h.Name())
	view := appView{
		Name:               h.Name(),
		ID:                 app.ID,
		Provider:           app.Provider,
		Region:             app.Region,
		Status:             h.State(),
		URL:                app.URL,
		Parent:             app.Parent,
		IsMonitored:        h.Managed(),
		MaxIdleTime:        maxIdle.Minutes(),
		MaxIdleTimeSeconds: maxIdle.Seconds(),
		LastAccessedAt:     h.LastAccess().UTC(),
		DiscoveredAt:       h.DiscoveredAt().UTC(),
		InFlight:           h.InFlight(),
		Details:            app.Details,
	}
	if view.Status == engine.StateRunning && view.IsMonitored && view.InFlight == 0 {
		sleepsAt := view.LastAccessedAt.Add(maxIdle)
		view.SleepsAt = &sleepsAt
	}
	return view
}

// appViews returns the views of every app, sorted by name.
func appViews(e *engine.Engine) []appView {
	handles := e.Handles()
	views := make([]appView, 0, len(handles))
	for _, h := range handles {
		views = append(views, newAppView(e, h))
	}
	slices.SortFunc(views, func(a, b appView) int { return strings.Compare(a.Name, b.Name) })
	return views
}

// eventView is a lifecycle event as both APIs return it.
type eventView struct {
	Time     time.Time        `json:"time"`
	Type     engine.EventType `json:"type"`
	App      string           `json:"app"`
	Provider string           `json:"provider"`
	// DurationSeconds is the duration of a start or stop, 0 for the other
	// events.
	DurationSeconds float64 `json:"duration_seconds"`
	Error           string  `json:"error,omitempty"`
}

func newEventView(event engine.Event) eventView {
	return eventView{
		Time:            event.Time.UTC(),
		Type:            event.Type,
		App:             event.App,
		Provider:        event.Provider,
		DurationSeconds: event.Duration.Seconds(),
		Error:           event.Error,
	}
}

func eventViews(events []engine.Event) []eventView {
	views := make([]eventView, len(events))
	for i, event := range events {
		views[i] = newEventView(event)
	}
	return views
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON writes value as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		http.Error(w, `{"error":"encode the response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeError writes a JSON error response.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, errorBody{Error: message})
}

// statusOf returns the HTTP status of an engine error: 404 for an unknown
// app, 409 for an ignored app or one locked by another instance, and 502
// for a failed start or stop.
func statusOf(err error) int {
	switch {
	case errors.Is(err, engine.ErrAppNotFound):
		return http.StatusNotFound
	case errors.Is(err, engine.ErrNotManaged), errors.Is(err, engine.ErrLocked):
		return http.StatusConflict
	default:
		return http.StatusBadGateway
	}
}
