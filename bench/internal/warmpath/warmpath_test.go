package warmpath

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/paastis/paastis/bench/internal/fleet"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/proxy"
	"github.com/paastis/paastis/internal/registry/memory"
)

const body = "hello from the bench upstream\n"

// newUpstream starts an upstream that returns body.
func newUpstream(tb testing.TB) *httptest.Server {
	tb.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	tb.Cleanup(upstream.Close)
	return upstream
}

// newPaastis serves paastis's handler in front of upstream, with one app,
// "bench", already running.
func newPaastis(tb testing.TB, upstream string) *httptest.Server {
	tb.Helper()
	provider := fleet.NewProvider([]engine.App{{Name: "bench", ID: "bench", State: engine.StateRunning, URL: upstream}})
	e, err := engine.New(engine.Options{
		Providers: map[string]engine.Provider{fleet.ProviderName: provider},
		Registry:  memory.New(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	if err := e.Sweep(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	handler, err := proxy.New(proxy.Options{Engine: e})
	if err != nil {
		tb.Fatal(err)
	}
	server := httptest.NewServer(handler)
	tb.Cleanup(server.Close)
	return server
}

// newReverseProxy serves an httputil.ReverseProxy in front of upstream,
// with the default transport, and with bufferPool when it is not nil.
func newReverseProxy(tb testing.TB, upstream string, bufferPool httputil.BufferPool) *httptest.Server {
	tb.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		tb.Fatal(err)
	}
	server := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
		},
		BufferPool: bufferPool,
	})
	tb.Cleanup(server.Close)
	return server
}

// bufferPool reuses the 32 KiB buffers that ReverseProxy copies response
// bodies with; without a pool, it allocates one per request.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return make([]byte, 32<<10) }}}
}

func (p *bufferPool) Get() []byte  { return p.pool.Get().([]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(b) }

// newClient returns a client that keeps enough idle connections for
// every goroutine of a parallel benchmark.
func newClient(tb testing.TB) *http.Client {
	tb.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	tb.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

// get sends one request for the app "bench" and checks the response.
func get(tb testing.TB, client *http.Client, target string) error {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Host = "bench.localhost"
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(got) != body {
		tb.Errorf("GET %s: status %d, body %q, want 200 and %q", target, resp.StatusCode, got, body)
	}
	return nil
}

func TestEveryPathReachesTheUpstream(t *testing.T) {
	upstream := newUpstream(t)
	client := newClient(t)
	for name, server := range map[string]*httptest.Server{
		"direct":   upstream,
		"httputil": newReverseProxy(t, upstream.URL, nil),
		"pooled":   newReverseProxy(t, upstream.URL, newBufferPool()),
		"paastis":  newPaastis(t, upstream.URL),
	} {
		t.Run(name, func(t *testing.T) {
			if err := get(t, client, server.URL+"/"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkLoopback sends warm requests over loopback TCP with keep-alive
// connections, from as many goroutines as GOMAXPROCS, through no proxy, a
// ReverseProxy without and with a buffer pool, and paastis's handler. Its ns/op is wall
// time per request with the client, the proxy and the upstream sharing
// the CPUs, so compare the sub-benchmarks with each other rather than with
// the wrk figures of the harness.
func BenchmarkLoopback(b *testing.B) {
	upstream := newUpstream(b)
	targets := []struct {
		name   string
		server *httptest.Server
	}{
		{"direct", upstream},
		{"httputil", newReverseProxy(b, upstream.URL, nil)},
		// The same with a BufferPool, which paastis's handler does not set.
		{"httputil-bufferpool", newReverseProxy(b, upstream.URL, newBufferPool())},
		{"paastis", newPaastis(b, upstream.URL)},
	}
	for _, target := range targets {
		b.Run(target.name, func(b *testing.B) {
			client := newClient(b)
			url := target.server.URL + "/"
			if err := get(b, client, url); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(b, client, url); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
