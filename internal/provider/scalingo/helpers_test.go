package scalingo_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/scalingo"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newFake starts a fake Scalingo API that the test closes on cleanup.
func newFake(t *testing.T, opts scalingotest.Options) *scalingotest.Server {
	t.Helper()
	fake := scalingotest.New(opts)
	t.Cleanup(fake.Close)
	return fake
}

// newProvider returns a provider that talks to fake, with delays short
// enough for tests. adjust, if not nil, changes the options before New.
func newProvider(t *testing.T, fake *scalingotest.Server, adjust func(*scalingo.Options)) (*scalingo.Provider, *logRecorder) {
	t.Helper()
	logs := &logRecorder{}
	opts := scalingo.Options{
		APIToken:         scalingotest.DefaultAPIToken,
		AuthURL:          fake.AuthURL(),
		OperationTimeout: 10 * time.Second,
		PollInterval:     10 * time.Millisecond,
		MaxPollInterval:  50 * time.Millisecond,
		RequestTimeout:   5 * time.Second,
		MinRetryDelay:    10 * time.Millisecond,
		MaxRetryDelay:    100 * time.Millisecond,
		RateLimit:        1000,
		RateLimitPeriod:  time.Second,
		Logger:           slog.New(logs.handler()),
	}
	if adjust != nil {
		adjust(&opts)
	}
	provider, err := scalingo.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return provider, logs
}

// listApps runs a sweep's listing and returns the apps by routing label.
func listApps(t *testing.T, provider *scalingo.Provider) map[string]engine.App {
	t.Helper()
	apps, err := provider.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	byName := map[string]engine.App{}
	for _, app := range apps {
		if _, duplicate := byName[app.Name]; duplicate {
			t.Fatalf("Apps returned the routing label %q twice", app.Name)
		}
		byName[app.Name] = app
	}
	return byName
}

// mustApp returns the listed app with a routing label.
func mustApp(t *testing.T, provider *scalingo.Provider, label string) engine.App {
	t.Helper()
	apps := listApps(t, provider)
	app, ok := apps[label]
	if !ok {
		t.Fatalf("Apps has no app %q; it has %v", label, sortedNames(apps))
	}
	return app
}

func sortedNames(apps map[string]engine.App) []string {
	names := make([]string, 0, len(apps))
	for name := range apps {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// logRecorder keeps the log records of a provider for assertions.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

// handler returns a slog handler that records into l.
func (l *logRecorder) handler() slog.Handler { return &recordHandler{recorder: l} }

type recordHandler struct {
	recorder *logRecorder
	attrs    []slog.Attr
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, record slog.Record) error {
	record = record.Clone()
	record.AddAttrs(h.attrs...)
	h.recorder.mu.Lock()
	defer h.recorder.mu.Unlock()
	h.recorder.records = append(h.recorder.records, record)
	return nil
}

func (h *recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recordHandler{recorder: h.recorder, attrs: slices.Concat(h.attrs, attrs)}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// withMessage returns the records whose message is message.
func (l *logRecorder) withMessage(message string) []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []slog.Record
	for _, record := range l.records {
		if record.Message == message {
			found = append(found, record)
		}
	}
	return found
}

// all returns every record.
func (l *logRecorder) all() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

// attr returns the value of a record's attribute, and whether it has it.
func attr(record slog.Record, key string) (slog.Value, bool) {
	var value slog.Value
	found := false
	record.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			value, found = a.Value, true
			return false
		}
		return true
	})
	return value, found
}
