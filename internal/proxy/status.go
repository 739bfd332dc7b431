package proxy

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// ReservedPathPrefix starts the paths that paastis serves itself on the
// host of every app. Requests for them never reach the app, and never wake
// it or count as its activity.
const ReservedPathPrefix = "/.paastis/"

// StatusPath is the status endpoint that the waiting page polls. It
// returns an AppStatus as JSON.
const StatusPath = ReservedPathPrefix + "status"

// AppStatus is the state of an app and of its latest start, as the status
// endpoint returns it.
type AppStatus struct {
	// App is the app's name, and Provider the name of its provider.
	App      string `json:"app"`
	Provider string `json:"provider"`
	// State is the app's lifecycle state, such as "stopped", "starting"
	// or "running".
	State engine.State `json:"state"`
	// Ready is true when the app runs and passed its readiness probe, so
	// that requests reach it.
	Ready bool `json:"ready"`
	// Waking is true while a start of the app is in progress.
	Waking bool `json:"waking"`
	// StartedAt is when the latest start began, and EndedAt when it ended.
	// Both are null when this paastis instance never started the app, and
	// EndedAt is null while the start runs.
	StartedAt *time.Time `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	// ElapsedMS is the duration of the latest start in milliseconds, up to
	// now while it runs, and 0 without a start.
	ElapsedMS int64 `json:"elapsed_ms"`
	// Error is the failure of the latest start. It is empty while the
	// start runs, after a successful one, and once the app runs.
	Error string `json:"error"`
}

// appStatus returns the status of the app of h at the time now.
func appStatus(h *engine.Handle, now time.Time) AppStatus {
	wake := h.WakeStatus()
	status := AppStatus{
		App:      h.Name(),
		Provider: h.App().Provider,
		State:    wake.State,
		Ready:    wake.State == engine.StateRunning,
	}
	if wake.StartedAt.IsZero() {
		return status
	}

	startedAt := wake.StartedAt
	status.StartedAt = &startedAt
	end := now
	if wake.EndedAt.IsZero() {
		status.Waking = true
	} else {
		endedAt := wake.EndedAt
		status.EndedAt = &endedAt
		end = endedAt
	}
	status.ElapsedMS = max(end.Sub(startedAt).Milliseconds(), 0)
	if wake.Err != nil && !status.Ready {
		status.Error = wake.Err.Error()
	}
	return status
}

// isReserved reports whether a request path belongs to paastis rather
// than to the app.
func isReserved(path string) bool {
	return path == strings.TrimSuffix(ReservedPathPrefix, "/") || strings.HasPrefix(path, ReservedPathPrefix)
}

// serveReserved serves a request under ReservedPathPrefix. It neither
// wakes the app nor records activity, so a waiting page left open in a
// tab cannot keep an app awake.
func (p *Proxy) serveReserved(w http.ResponseWriter, r *http.Request, h *engine.Handle) {
	if r.URL.Path != StatusPath {
		writePage(w, r, pageText{
			TitleEN: "Not found", MessageEN: "Paastis reserves the paths under " + ReservedPathPrefix + " for itself, and serves no page at this one.",
			TitleFR: "Page introuvable", MessageFR: "Paastis se réserve les chemins sous " + ReservedPathPrefix + " et ne sert aucune page à celui-ci.",
		}, page{Status: http.StatusNotFound})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: use GET or HEAD", http.StatusMethodNotAllowed)
		return
	}

	body, err := json.Marshal(appStatus(h, p.engine.Now()))
	if err != nil {
		p.logger.Error("encode app status failed", "app", h.Name(), "error", err)
		http.Error(w, "encode app status failed", http.StatusInternalServerError)
		return
	}
	header := w.Header()
	header.Set("Content-Type", "application/json")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(append(body, '\n'))
}
