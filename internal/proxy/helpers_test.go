package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// appRequest returns a request for the fixture's app, "hello", with the
// headers given as name, value pairs.
func appRequest(t *testing.T, method, target string, body io.Reader, header ...string) *http.Request {
	t.Helper()
	if len(header)%2 != 0 {
		t.Fatalf("appRequest: odd header list %q", header)
	}
	r := httptest.NewRequestWithContext(t.Context(), method, target, body)
	r.Host = "hello.localhost"
	for i := 0; i < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// do serves r with the fixture's proxy.
func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.proxy.ServeHTTP(w, r)
	return w
}

// browserHeaders are the headers of a Chromium navigation.
var browserHeaders = []string{
	"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
	"Sec-Fetch-Mode", "navigate",
	"Sec-Fetch-Dest", "document",
}

// logBuffer collects log output, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Contains(text string) bool { return strings.Contains(b.String(), text) }

// captureLogs sends the proxy's logs to the returned buffer.
func captureLogs(logs *logBuffer) func(*Options) {
	return func(opts *Options) {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}
