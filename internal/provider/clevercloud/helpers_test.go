package clevercloud

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of the providers' transports, which
		// tests do not close.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// Ids used by the tests.
const (
	orgA      = "orga_aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	orgB      = "orga_bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	orgEmpty  = "orga_eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
	appHello  = "app_00000000-0000-4000-8000-000000000001"
	appShop   = "app_00000000-0000-4000-8000-000000000002"
	appAPI    = "app_00000000-0000-4000-8000-000000000003"
	appSecond = "app_00000000-0000-4000-8000-000000000004"
)

func newFake(t *testing.T, opts clevercloudtest.Options) *clevercloudtest.Server {
	t.Helper()
	fake, err := clevercloudtest.Listen(opts)
	if err != nil {
		t.Fatalf("starting the fake API: %v", err)
	}
	t.Cleanup(fake.Close)
	return fake
}

// testOptions returns options that reach the fake, with short delays so
// that the tests run fast.
func testOptions(t *testing.T, fake *clevercloudtest.Server) Options {
	t.Helper()
	return Options{
		APIURL:           fake.URL,
		ConsumerKey:      clevercloudtest.DefaultConsumerKey,
		ConsumerSecret:   clevercloudtest.DefaultConsumerSecret,
		Token:            clevercloudtest.DefaultToken,
		TokenSecret:      clevercloudtest.DefaultTokenSecret,
		UpstreamScheme:   "http",
		RateLimit:        -1,
		OperationTimeout: 5 * time.Second,
		RequestTimeout:   2 * time.Second,
		PollInterval:     20 * time.Millisecond,
		RetryBaseDelay:   10 * time.Millisecond,
		RetryMaxDelay:    50 * time.Millisecond,
		Logger:           slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func newProvider(t *testing.T, opts Options) *Provider {
	t.Helper()
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// logBuffer collects log output for assertions; it is safe for concurrent
// writes.
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

// count returns how many lines contain s.
func (b *logBuffer) count(s string) int {
	return strings.Count(b.String(), s)
}

// captureLogs sends the provider's logs to the test output and to the
// returned buffer.
func captureLogs(t *testing.T, opts *Options) *logBuffer {
	t.Helper()
	buf := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), buf), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return buf
}
