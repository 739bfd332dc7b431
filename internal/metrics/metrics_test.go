package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/metrics"
	"github.com/paastis/paastis/internal/registry/memory"
)

// labelByHost names the app of "<app>.localhost" on the response writer,
// as the proxy does, when app is in known.
func labelByHost(next http.Handler, known ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := strings.Cut(r.Host, ".")
		if recorder, ok := w.(interface{ RecordApp(string) }); ok && slices.Contains(known, name) {
			recorder.RecordApp(name)
		}
		next.ServeHTTP(w, r)
	})
}

func serve(t *testing.T, m *metrics.Metrics, handler http.Handler, known ...string) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(m.Proxy(labelByHost(handler, known...)))
	t.Cleanup(server.Close)
	return server
}

func get(t *testing.T, server *httptest.Server, host, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestProxyCountsRequestsByAppAndClass(t *testing.T) {
	m := metrics.New(metrics.Options{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/broken":
			w.WriteHeader(http.StatusBadGateway)
		case "/redirect":
			http.Redirect(w, r, "/", http.StatusFound)
		case "/empty":
			// No write at all: net/http sends 200.
		default:
			w.Write([]byte("hello"))
		}
	})
	server := serve(t, m, handler, "blog")

	requests := []struct{ host, path string }{
		{"blog.localhost", "/"},
		{"blog.localhost", "/?page=2"},
		{"blog.localhost", "/empty"},
		{"blog.localhost", "/missing"},
		{"blog.localhost", "/broken"},
		{"blog.localhost", "/redirect"},
		{"nowhere.localhost", "/missing"},
	}
	for _, request := range requests {
		get(t, server, request.host, request.path)
	}

	tests := []struct {
		name   string
		labels prometheus.Labels
		want   float64
	}{
		{"successes of a known app", prometheus.Labels{"app": "blog", "code": "2xx"}, 3},
		{"redirects of a known app", prometheus.Labels{"app": "blog", "code": "3xx"}, 1},
		{"client errors of a known app", prometheus.Labels{"app": "blog", "code": "4xx"}, 1},
		{"server errors of a known app", prometheus.Labels{"app": "blog", "code": "5xx"}, 1},
		{"unknown host", prometheus.Labels{"app": metrics.UnknownApp, "code": "4xx"}, 1},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got := value(t, m, "paastis_proxy_requests_total", test.labels)
			if got != test.want {
				t.Errorf("paastis_proxy_requests_total%v = %v, expected %v", test.labels, got, test.want)
			}
		})
	}

	if got := value(t, m, "paastis_proxy_request_duration_seconds", prometheus.Labels{"app": "blog"}); got != 6 {
		t.Errorf("latency samples of blog = %v, expected 6", got)
	}
	if got := value(t, m, "paastis_proxy_requests_total", prometheus.Labels{"app": "nowhere", "code": "4xx"}); got != 0 {
		t.Errorf("an unknown Host got its own series with value %v, expected it counted as unknown", got)
	}
}

func TestProxyLatencyStopsAtHeaders(t *testing.T) {
	m := metrics.New(metrics.Options{})
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		<-release
		w.Write([]byte("late body"))
	})
	server := serve(t, m, handler, "stream")

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, server.URL, nil)
	req.Host = "stream.localhost"
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// The headers arrived before the body was released, so Flush went
	// through the recorder.
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	metric := sample(t, m, "paastis_proxy_request_duration_seconds", prometheus.Labels{"app": "stream"})
	if metric == nil {
		t.Fatal("no latency series for app stream")
	}
	if sum := metric.GetHistogram().GetSampleSum(); sum >= 0.3 {
		t.Errorf("latency = %.3fs, expected the time to the headers, well under the 0.3s body delay", sum)
	}
}

func TestProxyKeepsUpgradesWorking(t *testing.T) {
	m := metrics.New(metrics.Options{})
	// The upstream switches to a line echo protocol.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("upstream hijack: %v", err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		rw.Flush()
		line, _ := rw.ReadString('\n')
		rw.WriteString("echo: " + line)
		rw.Flush()
	}))
	t.Cleanup(upstream.Close)
	target, _ := url.Parse(upstream.URL)
	server := serve(t, m, httputil.NewSingleHostReverseProxy(target), "chat")

	conn, err := net.Dial("tcp", strings.TrimPrefix(server.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: chat.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	reader := bufio.NewReader(conn)
	resp, err := http.ReadResponse(reader, nil)
	if err != nil {
		t.Fatalf("read the upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, expected 101", resp.StatusCode)
	}
	io.WriteString(conn, "ping\n")
	line, err := reader.ReadString('\n')
	if err != nil || line != "echo: ping\n" {
		t.Fatalf("echo = %q, %v, expected %q", line, err, "echo: ping\n")
	}
	conn.Close()

	eventually(t, "the upgrade is counted as 1xx", func() bool {
		return value(t, m, "paastis_proxy_requests_total", prometheus.Labels{"app": "chat", "code": "1xx"}) == 1
	})
}

func TestProxyCountsClientThatLeft(t *testing.T) {
	m := metrics.New(metrics.Options{})
	entered := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	server := serve(t, m, handler, "slow")

	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server.URL, nil)
	req.Host = "slow.localhost"
	go func() {
		<-entered
		cancel()
	}()
	if _, err := server.Client().Do(req); err == nil {
		t.Fatal("request succeeded, expected it cancelled")
	}

	eventually(t, "the abandoned request is counted as 4xx", func() bool {
		return value(t, m, "paastis_proxy_requests_total", prometheus.Labels{"app": "slow", "code": "4xx"}) == 1
	})
}

func TestObserveEngineCountsTransitions(t *testing.T) {
	m := metrics.New(metrics.Options{})
	provider := newFakeProvider(t, "blog", "shop")
	e := newEngine(t, provider, nil)
	stop := m.ObserveEngine(e)
	defer stop()
	ctx := t.Context()

	if err := e.Start(ctx, "blog"); err != nil {
		t.Fatalf("start blog: %v", err)
	}
	if err := e.Stop(ctx, "blog"); err != nil {
		t.Fatalf("stop blog: %v", err)
	}
	provider.failStarts(errors.New("quota exceeded"))
	if err := e.Start(ctx, "shop"); err == nil {
		t.Fatal("start shop succeeded, expected the provider error")
	}
	provider.failStarts(nil)
	// The failed start is reported until FailureBackoff, 1ms here, passes.
	eventually(t, "shop starts again", func() bool { return e.Start(ctx, "shop") == nil })
	provider.failStops(errors.New("api down"))
	if err := e.Stop(ctx, "shop"); err == nil {
		t.Fatal("stop shop succeeded, expected the provider error")
	}

	tests := []struct {
		metric string
		labels prometheus.Labels
		want   float64
	}{
		{"paastis_wakes_total", prometheus.Labels{"app": "blog", "provider": "fake"}, 1},
		{"paastis_wakes_total", prometheus.Labels{"app": "shop", "provider": "fake"}, 1},
		{"paastis_wake_failures_total", prometheus.Labels{"app": "shop", "provider": "fake"}, 1},
		{"paastis_wake_duration_seconds", prometheus.Labels{"provider": "fake", "result": "ok"}, 2},
		{"paastis_wake_duration_seconds", prometheus.Labels{"provider": "fake", "result": "failed"}, 1},
		{"paastis_stops_total", prometheus.Labels{"app": "blog", "provider": "fake"}, 1},
		{"paastis_stop_failures_total", prometheus.Labels{"app": "shop", "provider": "fake"}, 1},
		{"paastis_stop_duration_seconds", prometheus.Labels{"provider": "fake", "result": "ok"}, 1},
		{"paastis_stop_duration_seconds", prometheus.Labels{"provider": "fake", "result": "failed"}, 1},
		{"paastis_app_events_total", prometheus.Labels{"type": "started"}, 2},
		{"paastis_app_events_total", prometheus.Labels{"type": "start_failed"}, 1},
		{"paastis_app_events_total", prometheus.Labels{"type": "stopped"}, 1},
		{"paastis_app_events_total", prometheus.Labels{"type": "stop_failed"}, 1},
		{"paastis_apps", prometheus.Labels{"provider": "fake", "state": "running"}, 1},
		{"paastis_apps", prometheus.Labels{"provider": "fake", "state": "stopped"}, 1},
		{"paastis_apps", prometheus.Labels{"provider": "fake", "state": "failed"}, 0},
		{"paastis_proxy_requests_in_flight", prometheus.Labels{"app": "blog"}, 0},
	}
	for _, test := range tests {
		got := value(t, m, test.metric, test.labels)
		if got != test.want {
			t.Errorf("%s%v = %v, expected %v", test.metric, test.labels, got, test.want)
		}
	}
	if sample(t, m, "paastis_apps", prometheus.Labels{"provider": "fake", "state": "failed"}) == nil {
		t.Error("paastis_apps reports no series for state failed, expected a zero")
	}
}

func TestObserveEngineForgetsRemovedApps(t *testing.T) {
	m := metrics.New(metrics.Options{})
	provider := newFakeProvider(t, "review-42")
	e := newEngine(t, provider, nil)
	defer m.ObserveEngine(e)()
	server := serve(t, m, http.NotFoundHandler(), "review-42")

	get(t, server, "review-42.localhost", "/")
	if err := e.Start(t.Context(), "review-42"); err != nil {
		t.Fatal(err)
	}
	if got := value(t, m, "paastis_wakes_total", prometheus.Labels{"app": "review-42", "provider": "fake"}); got != 1 {
		t.Fatalf("wakes of review-42 = %v before removal, expected 1", got)
	}

	provider.remove("review-42")
	if err := e.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"paastis_wakes_total", "paastis_proxy_requests_total", "paastis_proxy_request_duration_seconds", "paastis_proxy_requests_in_flight"} {
		f := family(t, m, name)
		for _, metric := range f.GetMetric() {
			for _, pair := range metric.GetLabel() {
				if pair.GetName() == "app" && pair.GetValue() == "review-42" {
					t.Errorf("%s still has a series for the removed app review-42", name)
				}
			}
		}
	}
}

func TestProviderCallObserver(t *testing.T) {
	m := metrics.New(metrics.Options{})
	observe := m.ProviderCallObserver("scalingo")

	observe("list_apps", 200, 120*time.Millisecond, nil)
	observe("list_apps", 429, 10*time.Millisecond, errors.New("rate limited"))
	observe("scale", 0, 2*time.Second, errors.New("connection reset"))

	tests := []struct {
		metric string
		labels prometheus.Labels
		want   float64
	}{
		{"paastis_provider_api_calls_total", prometheus.Labels{"provider": "scalingo", "operation": "list_apps", "code": "2xx"}, 1},
		{"paastis_provider_api_calls_total", prometheus.Labels{"provider": "scalingo", "operation": "list_apps", "code": "4xx"}, 1},
		{"paastis_provider_api_calls_total", prometheus.Labels{"provider": "scalingo", "operation": "scale", "code": "error"}, 1},
		{"paastis_provider_api_errors_total", prometheus.Labels{"provider": "scalingo", "operation": "list_apps"}, 1},
		{"paastis_provider_api_errors_total", prometheus.Labels{"provider": "scalingo", "operation": "scale"}, 1},
		{"paastis_provider_api_call_duration_seconds", prometheus.Labels{"provider": "scalingo", "operation": "list_apps"}, 2},
	}
	for _, test := range tests {
		if got := value(t, m, test.metric, test.labels); got != test.want {
			t.Errorf("%s%v = %v, expected %v", test.metric, test.labels, got, test.want)
		}
	}
}

func TestInstrumentRegistryTimesFlushes(t *testing.T) {
	m := metrics.New(metrics.Options{})
	registry := &failingRegistry{Registry: memory.New()}
	instrumented := m.InstrumentRegistry(registry)
	provider := newFakeProvider(t, "blog")
	e := newEngine(t, provider, instrumented)
	h, ok := e.Lookup("blog")
	if !ok {
		t.Fatal("blog not in the table")
	}

	h.Touch(time.Now())
	e.Flush(t.Context())
	registry.mu.Lock()
	registry.fail = true
	registry.mu.Unlock()
	h.Touch(time.Now().Add(time.Second))
	e.Flush(t.Context())

	if got := value(t, m, "paastis_registry_flush_duration_seconds", nil); got < 2 {
		t.Errorf("flush samples = %v, expected at least 2", got)
	}
	if got := value(t, m, "paastis_registry_flush_failures_total", nil); got != 1 {
		t.Errorf("flush failures = %v, expected 1", got)
	}
}

func TestHandlerExposesMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "1.2.3"})
	provider := newFakeProvider(t, "blog")
	e := newEngine(t, provider, nil)
	defer m.ObserveEngine(e)()
	m.ProviderCallObserver("fake")("list_apps", 200, time.Millisecond, nil)
	m.InstrumentRegistry(memory.New()).ReportActivity(t.Context(), nil)
	proxy := serve(t, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), "blog")
	endpoint := httptest.NewServer(m.Handler())
	t.Cleanup(endpoint.Close)

	scrape := func() string {
		t.Helper()
		resp := getBody(t, endpoint.URL)
		return resp
	}
	before := scrape()
	get(t, proxy, "blog.localhost", "/")
	if err := e.Start(t.Context(), "blog"); err != nil {
		t.Fatal(err)
	}
	after := scrape()

	names := []string{
		"paastis_build_info", "paastis_proxy_requests_total", "paastis_proxy_request_duration_seconds",
		"paastis_proxy_requests_in_flight", "paastis_apps", "paastis_app_last_access_timestamp_seconds",
		"paastis_wakes_total", "paastis_wake_duration_seconds", "paastis_app_events_total",
		"paastis_provider_api_calls_total", "paastis_provider_api_call_duration_seconds",
		"paastis_registry_flush_duration_seconds", "paastis_registry_flush_failures_total",
		"go_goroutines", "process_start_time_seconds",
	}
	for _, name := range names {
		if !strings.Contains(after, "# TYPE "+name+" ") {
			t.Errorf("/metrics does not expose %s", name)
		}
	}
	if !strings.Contains(after, `paastis_build_info{version="1.2.3"} 1`) {
		t.Error("/metrics does not show the version in paastis_build_info")
	}
	for _, line := range []string{
		`paastis_proxy_requests_total{app="blog",code="2xx"} 1`,
		`paastis_wakes_total{app="blog",provider="fake"} 1`,
		`paastis_apps{provider="fake",state="running"} 1`,
	} {
		if strings.Contains(before, line) {
			t.Errorf("/metrics showed %q before any traffic", line)
		}
		if !strings.Contains(after, line) {
			t.Errorf("/metrics does not show %q after traffic", line)
		}
	}

	problems, err := promlint.New(strings.NewReader(after)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, problem := range problems {
		if strings.HasPrefix(problem.Metric, "paastis_") {
			t.Errorf("promlint: %s: %s", problem.Metric, problem.Text)
		}
	}
}

func getBody(t *testing.T, address string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, address, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", address, resp.StatusCode, body)
	}
	return string(body)
}

// eventually polls condition until it holds, or fails the test after 5
// seconds.
func eventually(t *testing.T, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ engine.Registry = (*failingRegistry)(nil)

// BenchmarkProxy measures the middleware's own cost on a warm app label;
// the recorder is its one allocation per request.
func BenchmarkProxy(b *testing.B) {
	m := metrics.New(metrics.Options{})
	handler := m.Proxy(labelByHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), "blog"))
	req := httptest.NewRequest(http.MethodGet, "http://blog.localhost/", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		handler.ServeHTTP(w, req)
	}
}

func TestProxySkipsOwnTraffic(t *testing.T) {
	m := metrics.New(metrics.Options{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.paastis/status" {
			w.(interface{ RecordOwnTraffic() }).RecordOwnTraffic()
		}
		w.Write([]byte("ok"))
	})
	server := serve(t, m, handler, "blog")

	get(t, server, "blog.localhost", "/.paastis/status")
	get(t, server, "blog.localhost", "/")

	labels := prometheus.Labels{"app": "blog", "code": "2xx"}
	if got := value(t, m, "paastis_proxy_requests_total", labels); got != 1 {
		t.Errorf("paastis_proxy_requests_total%v = %v, expected 1: the status poll is not app traffic", labels, got)
	}
}
