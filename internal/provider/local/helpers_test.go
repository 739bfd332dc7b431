package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/local"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// eventually calls condition until it returns true, and fails the test with
// the last description when timeout passes first.
func eventually(t *testing.T, timeout time.Duration, condition func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, description := condition()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition still false after %s: %s", timeout, description)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeConfig writes an apps file into a temporary folder and returns its
// path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "apps.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write apps file: %v", err)
	}
	return path
}

// newProvider loads the apps file content and closes the provider, which
// stops every app, when the test ends.
func newProvider(t *testing.T, content string) (*local.Provider, *logRecorder) {
	t.Helper()
	recorder := &logRecorder{}
	provider, err := local.New(local.Options{
		ConfigPath: writeConfig(t, content),
		Logger:     slog.New(&recordingHandler{recorder: recorder}),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := provider.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			recorder.dump(t)
		}
	})
	return provider, recorder
}

// appByName returns the app of that name from Apps.
func appByName(t *testing.T, provider *local.Provider, name string) engine.App {
	t.Helper()
	apps, err := provider.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	for _, app := range apps {
		if app.Name == name {
			return app
		}
	}
	t.Fatalf("Apps returned no app %q among %d apps", name, len(apps))
	return engine.App{}
}

func startApp(t *testing.T, provider *local.Provider, name string) engine.App {
	t.Helper()
	app := appByName(t, provider, name)
	if err := provider.Start(t.Context(), app); err != nil {
		t.Fatalf("Start %q: %v", name, err)
	}
	return appByName(t, provider, name)
}

func waitForState(t *testing.T, provider *local.Provider, app engine.App, want engine.State) {
	t.Helper()
	eventually(t, 10*time.Second, func() (bool, string) {
		state, err := provider.State(t.Context(), app)
		return state == want, fmt.Sprintf("State(%q) = %q, %v; want %q", app.Name, state, err, want)
	})
}

// readPID waits for a file into which a test command writes a PID.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, func() (bool, string) {
		data, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		_, err = fmt.Sscanf(string(data), "%d", &pid)
		return err == nil, fmt.Sprintf("PID file contains %q", data)
	})
	return pid
}

// processGone reports whether the process has exited. A zombie counts as
// gone: it runs no code and holds no port, and in a container whose init
// never reaps orphans, a killed grandchild stays a zombie.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func waitForProcessGone(t *testing.T, pid int) {
	t.Helper()
	eventually(t, 10*time.Second, func() (bool, string) {
		return processGone(pid), fmt.Sprintf("process %d still alive", pid)
	})
}

// httpGet sends a GET request without keep-alive, so no idle connection
// goroutine outlives the test, and returns the status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	request, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	response, err := client.Do(request)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatalf("read body of GET %s: %v", url, err)
	}
	return response.StatusCode, string(body)
}

// logEntry is one log record with its attributes as strings.
type logEntry struct {
	level   slog.Level
	message string
	attrs   map[string]string
}

// logRecorder stores every record that its handlers receive.
type logRecorder struct {
	mu      sync.Mutex
	entries []logEntry
}

// find returns the records with that message whose attributes include
// every attribute of want.
func (r *logRecorder) find(message string, want map[string]string) []logEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var found []logEntry
	for _, entry := range r.entries {
		if entry.message != message {
			continue
		}
		matches := true
		for key, value := range want {
			if entry.attrs[key] != value {
				matches = false
			}
		}
		if matches {
			found = append(found, entry)
		}
	}
	return found
}

func (r *logRecorder) dump(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, entry := range r.entries {
		t.Logf("log: %s %q %v", entry.level, entry.message, entry.attrs)
	}
}

type recordingHandler struct {
	recorder *logRecorder
	attrs    []slog.Attr
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, record slog.Record) error {
	entry := logEntry{level: record.Level, message: record.Message, attrs: map[string]string{}}
	for _, attr := range h.attrs {
		entry.attrs[attr.Key] = attr.Value.String()
	}
	record.Attrs(func(attr slog.Attr) bool {
		entry.attrs[attr.Key] = attr.Value.String()
		return true
	})
	h.recorder.mu.Lock()
	defer h.recorder.mu.Unlock()
	h.recorder.entries = append(h.recorder.entries, entry)
	return nil
}

func (h *recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recordingHandler{recorder: h.recorder, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *recordingHandler) WithGroup(string) slog.Handler { return h }
