package clevercloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

// oneAppFake returns a fake with one personal app.
func oneAppFake(t *testing.T) *clevercloudtest.Server {
	t.Helper()
	return newFake(t, clevercloudtest.Options{
		Apps: []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello", Running: true}},
	})
}

func TestServerErrorRetriedThenSucceeds(t *testing.T) {
	fake := oneAppFake(t)
	opts := testOptions(t, fake)
	logs := captureLogs(t, &opts)
	p := newProvider(t, opts)
	fake.FailNext(clevercloudtest.EndpointSummary, 2, clevercloudtest.Fault{Status: http.StatusBadGateway})

	apps, err := p.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	if len(apps) != 1 {
		t.Errorf("Apps returned %d apps, want 1", len(apps))
	}
	if got := fake.Calls(clevercloudtest.EndpointSummary); got != 3 {
		t.Errorf("summary calls = %d, want 3 (two 502, then 200)", got)
	}
	if got := logs.count("retrying Clever Cloud API request"); got != 2 {
		t.Errorf("retry log lines = %d, want 2", got)
	}
	for _, field := range []string{"attempt=1", "attempt=2", "status=502", "delay=", "operation=get_summary"} {
		if !strings.Contains(logs.String(), field) {
			t.Errorf("retry logs lack %q", field)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	fake := oneAppFake(t)
	p := newProvider(t, testOptions(t, fake))
	fake.FailNext(clevercloudtest.EndpointSummary, 1, clevercloudtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"})

	start := time.Now()
	if _, err := p.Apps(t.Context()); err != nil {
		t.Fatalf("Apps: %v", err)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("Apps took %s, want at least the 1s of Retry-After (the backoff alone is 10ms)", elapsed)
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	fake := oneAppFake(t)
	opts := testOptions(t, fake)
	opts.MaxAttempts = 3
	p := newProvider(t, opts)
	fake.FailNext(clevercloudtest.EndpointSummary, 5, clevercloudtest.Fault{Status: http.StatusInternalServerError, Message: "database unavailable"})

	_, err := p.Apps(t.Context())
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok {
		t.Fatalf("error %v is not an *APIError", err)
	}
	if apiErr.StatusCode != http.StatusInternalServerError || apiErr.Message != "database unavailable" {
		t.Errorf("APIError = %+v, want 500 with the body's message", apiErr)
	}
	if got := fake.Calls(clevercloudtest.EndpointSummary); got != 3 {
		t.Errorf("summary calls = %d, want 3", got)
	}
}

func TestRetryStopsBeforeDeadline(t *testing.T) {
	fake := oneAppFake(t)
	p := newProvider(t, testOptions(t, fake))
	fake.FailNext(clevercloudtest.EndpointSummary, 1, clevercloudtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "30"})

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Apps(ctx)
	if err == nil {
		t.Fatal("Apps succeeded although the retry would pass the deadline")
	}
	if !strings.Contains(err.Error(), "would pass the deadline") {
		t.Errorf("error %q does not say why it did not retry", err)
	}
	if elapsed := time.Since(start); elapsed > 400*time.Millisecond {
		t.Errorf("Apps took %s, want it to give up at once", elapsed)
	}
}

func TestPostNotRetriedOnServerError(t *testing.T) {
	fake := oneAppFake(t)
	p := newProvider(t, testOptions(t, fake))
	apps, err := p.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	fake.FailNext(clevercloudtest.EndpointRedeploy, 1, clevercloudtest.Fault{Status: http.StatusInternalServerError})

	if err := p.Start(t.Context(), apps[0]); err == nil {
		t.Fatal("Start succeeded although the redeploy failed")
	}
	if got := fake.Calls(clevercloudtest.EndpointRedeploy); got != 1 {
		t.Errorf("redeploy calls = %d, want 1 (a POST that may have run is not resent)", got)
	}
}

func TestPostRetriedOnTooManyRequests(t *testing.T) {
	fake := oneAppFake(t)
	p := newProvider(t, testOptions(t, fake))
	apps, err := p.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	fake.FailNext(clevercloudtest.EndpointRedeploy, 1, clevercloudtest.Fault{Status: http.StatusTooManyRequests})

	if err := p.Start(t.Context(), apps[0]); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := fake.Calls(clevercloudtest.EndpointRedeploy); got != 2 {
		t.Errorf("redeploy calls = %d, want 2", got)
	}
}

func TestDroppedConnectionRetried(t *testing.T) {
	fake := oneAppFake(t)
	p := newProvider(t, testOptions(t, fake))
	fake.FailNext(clevercloudtest.EndpointSummary, 1, clevercloudtest.Fault{Drop: true})

	if _, err := p.Apps(t.Context()); err != nil {
		t.Fatalf("Apps: %v", err)
	}
	if got := fake.Calls(clevercloudtest.EndpointSummary); got != 2 {
		t.Errorf("summary calls = %d, want 2", got)
	}
}

func TestRequestTimeoutPerAttempt(t *testing.T) {
	fake := oneAppFake(t)
	opts := testOptions(t, fake)
	opts.RequestTimeout = 100 * time.Millisecond
	p := newProvider(t, opts)
	fake.FailNext(clevercloudtest.EndpointSummary, 1, clevercloudtest.Fault{Delay: 5 * time.Second})

	start := time.Now()
	if _, err := p.Apps(t.Context()); err != nil {
		t.Fatalf("Apps: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Apps took %s, want the slow attempt cut at 100ms", elapsed)
	}
	if got := fake.Calls(clevercloudtest.EndpointSummary); got != 2 {
		t.Errorf("summary calls = %d, want 2", got)
	}
}

func TestConcurrencyBounded(t *testing.T) {
	seed := clevercloudtest.Options{}
	for i := range 6 {
		org := fmt.Sprintf("orga_00000000-0000-4000-8000-%012d", i)
		seed.Organisations = append(seed.Organisations, clevercloudtest.OrganisationSeed{ID: org, Name: "org " + org})
		seed.Apps = append(seed.Apps, clevercloudtest.AppSeed{Name: "app " + org, OwnerID: org, VHosts: []string{"x.example.com/"}})
	}
	fake := newFake(t, seed)
	opts := testOptions(t, fake)
	opts.Concurrency = 2
	p := newProvider(t, opts)
	fake.FailNext(clevercloudtest.EndpointApps, 6, clevercloudtest.Fault{Delay: 50 * time.Millisecond})

	apps, err := p.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	if len(apps) != 6 {
		t.Errorf("Apps returned %d apps, want 6", len(apps))
	}
	if got := fake.MaxInFlight(); got != 2 {
		t.Errorf("requests in flight at most = %d, want 2", got)
	}
}

func TestRateLimitSpacesRequests(t *testing.T) {
	fake := oneAppFake(t)
	opts := testOptions(t, fake)
	opts.RateLimit = 20 // bursts of 20, then one request every 50ms
	p := newProvider(t, opts)

	start := time.Now()
	for range 15 {
		// Each listing sends 2 requests: the summary and the app list.
		if _, err := p.Apps(t.Context()); err != nil {
			t.Fatalf("Apps: %v", err)
		}
	}
	// 30 requests: 20 from the burst, 10 more at 50ms each.
	if elapsed := time.Since(start); elapsed < 400*time.Millisecond {
		t.Errorf("30 requests took %s, want at least 400ms under a 20/s limit", elapsed)
	}
}

func TestOnAPICallReportsBoundedOperations(t *testing.T) {
	fake := oneAppFake(t)
	opts := testOptions(t, fake)
	var mu sync.Mutex
	var operations []string
	var statuses []int
	opts.OnAPICall = func(operation string, status int, _ time.Duration, _ error) {
		mu.Lock()
		defer mu.Unlock()
		operations = append(operations, operation)
		statuses = append(statuses, status)
	}
	p := newProvider(t, opts)
	fake.FailNext(clevercloudtest.EndpointSummary, 1, clevercloudtest.Fault{Status: http.StatusServiceUnavailable})

	if _, err := p.Apps(t.Context()); err != nil {
		t.Fatalf("Apps: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"get_summary", "get_summary", "list_apps"}; !slices.Equal(operations, want) {
		t.Errorf("operations = %q, want %q", operations, want)
	}
	if want := []int{503, 200, 200}; !slices.Equal(statuses, want) {
		t.Errorf("statuses = %v, want %v", statuses, want)
	}
}

func TestAPIErrorText(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		status      int
		header      http.Header
		body        string
		wantMessage string
		wantID      int
		wantRetry   time.Duration
		wantText    []string
	}{
		{
			name:        "Clever error body",
			status:      http.StatusBadRequest,
			body:        `{"id": 4001, "message": "Invalid zone", "type": "error"}`,
			wantMessage: "Invalid zone",
			wantID:      4001,
			wantText:    []string{"clever cloud API GET /v2/self/applications: 400 Bad Request", `"Invalid zone"`},
		},
		{
			name:        "HTML body from a proxy",
			status:      http.StatusBadGateway,
			body:        "<html>" + strings.Repeat("x", 300) + "</html>",
			wantMessage: "<html>" + strings.Repeat("x", 194) + "...",
			wantText:    []string{"502 Bad Gateway", "failed on its side"},
		},
		{
			name:        "rate limited with a date",
			status:      http.StatusTooManyRequests,
			header:      http.Header{"Retry-After": {now.Add(7 * time.Second).Format(http.TimeFormat)}},
			wantRetry:   7 * time.Second,
			wantMessage: "",
			wantText:    []string{"429 Too Many Requests", EnvConcurrency},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := tt.header
			if header == nil {
				header = http.Header{}
			}
			e := newAPIError(http.MethodGet, "/v2/self/applications", tt.status, header, []byte(tt.body), now)
			if e.Message != tt.wantMessage {
				t.Errorf("Message = %q, want %q", e.Message, tt.wantMessage)
			}
			if e.ID != tt.wantID {
				t.Errorf("ID = %d, want %d", e.ID, tt.wantID)
			}
			if e.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %s, want %s", e.RetryAfter, tt.wantRetry)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(e.Error(), want) {
					t.Errorf("Error() = %q, want it to contain %q", e.Error(), want)
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-5", 0},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.value, got, tt.want)
		}
	}
}

func TestShouldRetry(t *testing.T) {
	tests := []struct {
		method string
		status int
		want   bool
	}{
		{http.MethodGet, 429, true},
		{http.MethodPost, 429, true},
		{http.MethodGet, 503, true},
		{http.MethodDelete, 500, true},
		{http.MethodPost, 503, false},
		{http.MethodGet, 501, false},
		{http.MethodGet, 404, false},
		{http.MethodGet, 0, true},
		{http.MethodPost, 0, false},
	}
	for _, tt := range tests {
		if got := shouldRetry(tt.method, tt.status, errors.New("failed")); got != tt.want {
			t.Errorf("shouldRetry(%s, %d) = %v, want %v", tt.method, tt.status, got, tt.want)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	c := &apiClient{retryBase: 100 * time.Millisecond, retryMax: 400 * time.Millisecond}
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{10, 200 * time.Millisecond, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		for range 20 {
			if got := c.backoff(tt.attempt, errors.New("failed")); got < tt.min || got > tt.max {
				t.Fatalf("backoff(%d) = %s, want from %s to %s", tt.attempt, got, tt.min, tt.max)
			}
		}
	}
	retryAfter := &APIError{StatusCode: 429, RetryAfter: 3 * time.Second}
	if got := c.backoff(1, retryAfter); got != 3*time.Second {
		t.Errorf("backoff with Retry-After 3s = %s, want 3s", got)
	}
}
