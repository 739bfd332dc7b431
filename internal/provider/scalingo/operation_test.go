package scalingo_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/provider/scalingo"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

// TestOperationLocationOutsideRegionAPI puts a proxy in front of the fake
// that points the Location of scale responses at another server. That
// server must never receive the bearer token: the provider polls the same
// operation on the region API instead.
func TestOperationLocationOutsideRegionAPI(t *testing.T) {
	var foreignRequests atomic.Int64
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignRequests.Add(1)
	}))
	t.Cleanup(foreign.Close)

	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "moved-app", Formation: "web:0"})
	target, err := url.Parse(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: func(res *http.Response) error {
			if location := res.Header.Get("Location"); location != "" {
				res.Header.Set("Location", strings.Replace(location, fake.URL, foreign.URL, 1))
			}
			return nil
		},
	})
	t.Cleanup(proxy.Close)

	provider, logs := newProvider(t, fake, func(opts *scalingo.Options) {
		opts.APIURL = proxy.URL + "/regions/osc-fr1"
		opts.Regions = []string{"osc-fr1"}
	})
	app := mustApp(t, provider, "moved-app")

	if err := provider.Start(t.Context(), app); err != nil {
		t.Fatalf("Start: %v", err)
	}

	if got := foreignRequests.Load(); got != 0 {
		t.Errorf("foreign server received %d requests, want 0", got)
	}
	if got := fake.Calls(scalingotest.EndpointOperation); got == 0 {
		t.Error("the operation was never read on the region API")
	}
	if got := fake.Formation("", "moved-app"); got != "web:1" {
		t.Errorf("formation = %q, want web:1", got)
	}
	if got := len(logs.withMessage("scalingo operation Location is outside the region API, polling the region API instead")); got != 1 {
		t.Errorf("foreign Location logged %d times, want 1", got)
	}
}

func TestOperationPollingSlowsDown(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "patient-app", Formation: "web:0"})
	provider, _ := newProvider(t, fake, nil)
	app := mustApp(t, provider, "patient-app")
	// The delay between reads starts at 10 ms and grows by half up to
	// 50 ms, so a 600 ms operation takes about 17 reads. A fixed 10 ms
	// interval would take 60.
	fake.SetOperationDelay("", "patient-app", 600*time.Millisecond)

	if err := provider.Start(t.Context(), app); err != nil {
		t.Fatalf("Start: %v", err)
	}

	if got := fake.Calls(scalingotest.EndpointOperation); got > 25 {
		t.Errorf("operation read %d times, want at most 25 with a growing delay", got)
	}
}
