package proxy

import (
	"encoding/json"
	"errors"
	"github.com/paastis/paastis/internal/testwait"
	"net/http"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// getStatus requests the status endpoint of the fixture's app and decodes
// its JSON.
func (f *fixture) getStatus(t *testing.T) AppStatus {
	t.Helper()
	w := f.do(appRequest(t, "GET", StatusPath, nil, "Accept", "application/json"))
	if w.Code != http.StatusOK {
		t.Fatalf("status endpoint returned %d: %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, expected application/json", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, expected no-store", got)
	}
	var status AppStatus
	if err := json.Unmarshal(w.Body.Bytes(), &status); err != nil {
		t.Fatalf("status endpoint returned invalid JSON %q: %v", w.Body, err)
	}
	return status
}

func TestStatusOfStoppedAppNeitherWakesNorTouches(t *testing.T) {
	f := newFixture(t, false)
	h, _ := f.engine.Lookup("hello")
	lastAccess := h.LastAccess()

	status := f.getStatus(t)

	if status.App != "hello" || status.Provider != "fake" {
		t.Errorf("app, provider = %q, %q; expected hello, fake", status.App, status.Provider)
	}
	if status.State != engine.StateStopped || status.Ready || status.Waking {
		t.Errorf("state %q, ready %v, waking %v; expected a stopped app that is not waking", status.State, status.Ready, status.Waking)
	}
	if status.StartedAt != nil || status.ElapsedMS != 0 || status.Error != "" {
		t.Errorf("started_at %v, elapsed_ms %d, error %q; expected no start", status.StartedAt, status.ElapsedMS, status.Error)
	}
	if !h.WakeStatus().StartedAt.IsZero() {
		t.Error("the status request began a wake")
	}
	if got := h.LastAccess(); !got.Equal(lastAccess) {
		t.Errorf("last access moved from %v to %v, expected a status request not to count as activity", lastAccess, got)
	}
	if got := h.InFlight(); got != 0 {
		t.Errorf("in-flight = %d after the status request, expected 0", got)
	}
}

func TestStatusFollowsWake(t *testing.T) {
	f := newFixture(t, false)
	f.provider.delay = 300 * time.Millisecond
	h, _ := f.engine.Lookup("hello")
	if err := f.engine.BeginWake(h); err != nil {
		t.Fatal(err)
	}

	during := f.getStatus(t)
	if !during.Waking || during.Ready || during.StartedAt == nil || during.EndedAt != nil {
		t.Errorf("during the start: waking %v, ready %v, started_at %v, ended_at %v; expected a start in progress",
			during.Waking, during.Ready, during.StartedAt, during.EndedAt)
	}

	testwait.Until(t, 5*time.Second, "the app to run", func() bool { return h.State() == engine.StateRunning })
	after := f.getStatus(t)
	if !after.Ready || after.Waking || after.State != engine.StateRunning || after.EndedAt == nil || after.Error != "" {
		t.Errorf("after the start: %+v; expected a ready app and an ended start", after)
	}
	if after.ElapsedMS < f.provider.delay.Milliseconds() {
		t.Errorf("elapsed_ms = %d, expected at least the start's %s", after.ElapsedMS, f.provider.delay)
	}
}

func TestStatusReportsFailedStart(t *testing.T) {
	f := newFixture(t, false)
	f.provider.startErr = errors.New("quota exceeded")
	h, _ := f.engine.Lookup("hello")
	if err := f.engine.BeginWake(h); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 5*time.Second, "the start to fail", func() bool { return h.WakeStatus().Err != nil })

	status := f.getStatus(t)
	if status.Ready || status.Waking || status.EndedAt == nil {
		t.Errorf("ready %v, waking %v, ended_at %v; expected an ended start", status.Ready, status.Waking, status.EndedAt)
	}
	if want := `start "hello": quota exceeded`; status.Error != want {
		t.Errorf("error = %q, expected %q", status.Error, want)
	}
}

func TestReservedPathsNeverReachApp(t *testing.T) {
	tests := []struct {
		name, method, path string
		code               int
	}{
		{"status endpoint", "GET", StatusPath, http.StatusOK},
		{"status endpoint with HEAD", "HEAD", StatusPath, http.StatusOK},
		{"status endpoint with POST", "POST", StatusPath, http.StatusMethodNotAllowed},
		{"unknown reserved path", "GET", "/.paastis/admin", http.StatusNotFound},
		{"reserved prefix without slash", "GET", "/.paastis", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			w := f.do(appRequest(t, tt.method, tt.path, nil))
			if w.Code != tt.code {
				t.Errorf("status = %d, expected %d", w.Code, tt.code)
			}
			select {
			case seen := <-f.hosts:
				t.Errorf("the app received %s %s (host %s)", tt.method, tt.path, seen)
			default:
			}
		})
	}
}

func TestPathResemblingReservedOneReachesApp(t *testing.T) {
	f := newFixture(t, true)
	w := f.do(appRequest(t, "GET", "/.paastis-docs/index", nil))
	if w.Code != http.StatusOK || w.Body.String() != "hello /.paastis-docs/index " {
		t.Errorf("status %d body %q, expected the app's answer", w.Code, w.Body)
	}
}
