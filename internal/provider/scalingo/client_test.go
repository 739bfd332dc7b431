package scalingo_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/provider/scalingo"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

func TestClientRetriesIdempotentFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault scalingotest.Fault
		count int
		// wantLogged is the number of retries by the provider. net/http
		// itself sends a GET again when a reused keep-alive connection
		// closes before any response, so one drop costs no retry.
		wantLogged int
	}{
		{"service unavailable twice", scalingotest.Fault{Status: 503}, 2, 2},
		{"bad gateway with an HTML page", scalingotest.Fault{Status: 502, Body: "<html>bad gateway</html>"}, 1, 1},
		{"connection dropped twice", scalingotest.Fault{Drop: true}, 2, 1},
		{"response slower than the request timeout", scalingotest.Fault{Delay: 2 * time.Second}, 1, 1},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			fake := newFake(t, scalingotest.Options{Regions: []string{"osc-fr1"}})
			fake.AddApp(scalingotest.App{Name: "flaky-app"})
			provider, logs := newProvider(t, fake, func(opts *scalingo.Options) { opts.RequestTimeout = 300 * time.Millisecond })
			fake.FailNext(scalingotest.EndpointApps, test.count, test.fault)

			apps := listApps(t, provider)

			if _, ok := apps["flaky-app"]; !ok {
				t.Errorf("Apps = %v, want flaky-app", sortedNames(apps))
			}
			if got := fake.Calls(scalingotest.EndpointApps); got != test.count+1 {
				t.Errorf("app listings = %d, want %d", got, test.count+1)
			}
			if got := len(logs.withMessage("scalingo API request failed, retrying")); got != test.wantLogged {
				t.Errorf("retries logged = %d, want %d", got, test.wantLogged)
			}
		})
	}
}

func TestClientGivesUpAfterMaxAttempts(t *testing.T) {
	fake := newFake(t, scalingotest.Options{Regions: []string{"osc-fr1"}})
	provider, _ := newProvider(t, fake, func(opts *scalingo.Options) { opts.MaxAttempts = 3 })
	fake.FailNext(scalingotest.EndpointApps, 10, scalingotest.Fault{Status: 500, Body: `{"error":"Internal error occured, we're on it!"}`})

	_, err := provider.Apps(t.Context())

	var apiErr *scalingo.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Apps error = %v, want an *APIError", err)
	}
	if apiErr.StatusCode != 500 || apiErr.Message != "Internal error occured, we're on it!" {
		t.Errorf("APIError = %+v, want status 500 and Scalingo's message", apiErr)
	}
	if got := fake.Calls(scalingotest.EndpointApps); got != 3 {
		t.Errorf("app listings = %d, want 3 attempts", got)
	}
}

func TestClientDoesNotRetryClientErrors(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "strict-app", Formation: "web:0"})
	provider, _ := newProvider(t, fake, nil)
	app := mustApp(t, provider, "strict-app")
	fake.FailNext(scalingotest.EndpointScale, 1, scalingotest.Fault{Status: 400, Body: `{"error":"There was a problem in the JSON you submitted"}`})

	err := provider.Start(t.Context(), app)

	var apiErr *scalingo.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("Start error = %v, want an *APIError with status 400", err)
	}
	if !strings.Contains(err.Error(), "There was a problem in the JSON you submitted") {
		t.Errorf("error %q does not carry Scalingo's message", err)
	}
	if got := fake.Calls(scalingotest.EndpointScale); got != 1 {
		t.Errorf("scale requests = %d, want 1", got)
	}
}

func TestClientStopsRetryingAtDeadline(t *testing.T) {
	fake := newFake(t, scalingotest.Options{Regions: []string{"osc-fr1"}})
	provider, _ := newProvider(t, fake, nil)
	listApps(t, provider)
	fake.FailNext(scalingotest.EndpointApps, 1, scalingotest.Fault{Status: 429, Body: "Retry later", RetryAfter: "30"})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()

	start := time.Now()
	_, err := provider.Apps(ctx)

	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "would pass the deadline") {
		t.Errorf("Apps error = %v, want one that says the retry would pass the deadline", err)
	}
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("Apps took %s, want an early return instead of waiting for the deadline", elapsed)
	}
}

func TestClientBoundsConcurrency(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "popular-app"})
	provider, _ := newProvider(t, fake, func(opts *scalingo.Options) { opts.Concurrency = 2 })
	app := mustApp(t, provider, "popular-app")
	fake.ResetCalls()
	fake.FailNext(scalingotest.EndpointApp, 8, scalingotest.Fault{Delay: 50 * time.Millisecond})

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := provider.State(t.Context(), app); err != nil {
				t.Errorf("State: %v", err)
			}
		})
	}
	wg.Wait()

	if got := fake.MaxInFlight(); got != 2 {
		t.Errorf("requests in flight at once = %d, want 2", got)
	}
}

func TestClientReportsEachCall(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "metered-app", Formation: "web:1"})
	fake.FailNext(scalingotest.EndpointApps, 1, scalingotest.Fault{Status: 503})
	var mu sync.Mutex
	calls := map[string][]int{}
	provider, _ := newProvider(t, fake, func(opts *scalingo.Options) {
		opts.OnAPICall = func(operation string, status int, duration time.Duration, err error) {
			mu.Lock()
			defer mu.Unlock()
			calls[operation] = append(calls[operation], status)
		}
	})

	app := mustApp(t, provider, "metered-app")
	if _, err := provider.Stop(t.Context(), app); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := provider.State(t.Context(), app); err != nil {
		t.Fatalf("State: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, operation := range []string{"token_exchange", "list_regions", "list_apps", "list_containers", "scale", "show_operation", "show_app"} {
		if len(calls[operation]) == 0 {
			t.Errorf("no call reported for %q; reported: %v", operation, calls)
		}
	}
	if got := calls["list_apps"]; !slices.Contains(got, 503) || !slices.Contains(got, 200) {
		t.Errorf("list_apps statuses = %v, want the 503 and the 200", got)
	}
	for operation := range calls {
		if strings.Contains(operation, "/") {
			t.Errorf("operation %q looks like a path, want a bounded name", operation)
		}
	}
}
