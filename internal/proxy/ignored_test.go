package proxy

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// monitors matches the User-Agent of two uptime monitors.
var monitors = regexp.MustCompile(`(?i)uptimerobot|pingdom`)

func ignoreMonitors(opts *Options) { opts.IgnoredUserAgents = monitors }

func TestIgnoredClientReachesRunningAppWithoutActivity(t *testing.T) {
	f := newFixture(t, true, ignoreMonitors)
	h, _ := f.engine.Lookup("hello")
	lastAccess := h.LastAccess()

	w := f.do(appRequest(t, "GET", "/health", nil, "User-Agent", "Mozilla/5.0+(compatible; UptimeRobot/2.0)"))

	if w.Code != http.StatusOK || w.Body.String() != "hello /health " {
		t.Fatalf("status %d body %q, expected the app's answer", w.Code, w.Body)
	}
	if got := h.LastAccess(); !got.Equal(lastAccess) {
		t.Errorf("last access moved from %v to %v, expected a monitor not to reset the idle clock", lastAccess, got)
	}
}

func TestIgnoredClientDoesNotWakeApp(t *testing.T) {
	f := newFixture(t, false, ignoreMonitors)
	h, _ := f.engine.Lookup("hello")
	lastAccess := h.LastAccess()

	header := append([]string{"User-Agent", "Pingdom.com_bot_version_1.4"}, browserHeaders...)
	w := f.do(appRequest(t, "GET", "/", nil, header...))

	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if body := w.Body.String(); !strings.Contains(body, `app "hello" is asleep`) {
		t.Errorf("body = %q, expected it to say the app is asleep", body)
	}
	if !h.WakeStatus().StartedAt.IsZero() {
		t.Error("a monitor's request began a wake")
	}
	if got := h.LastAccess(); !got.Equal(lastAccess) {
		t.Errorf("last access moved from %v to %v", lastAccess, got)
	}
}

func TestOtherClientStillWakesApp(t *testing.T) {
	f := newFixture(t, false, ignoreMonitors)
	w := f.do(appRequest(t, "GET", "/", nil, "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, expected 200 after a held wake; body %s", w.Code, w.Body)
	}
	if got := f.provider.starts.Load(); got != 1 {
		t.Errorf("starts = %d, expected 1", got)
	}
}

func TestIgnoredClientDuringWakeIsNotHeld(t *testing.T) {
	f := newFixture(t, false, ignoreMonitors)
	f.provider.delay = 2 * time.Second
	h, _ := f.engine.Lookup("hello")
	if err := f.engine.BeginWake(h); err != nil {
		t.Fatal(err)
	}

	begin := time.Now()
	w := f.do(appRequest(t, "GET", "/", nil, "User-Agent", "UptimeRobot/2.0"))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, expected 503 while the app starts", w.Code)
	}
	if elapsed := time.Since(begin); elapsed > time.Second {
		t.Errorf("the monitor waited %s, expected an answer at once", elapsed)
	}
}
