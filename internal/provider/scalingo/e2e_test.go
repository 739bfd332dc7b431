package scalingo_test

import (
	"context"
	"github.com/paastis/paastis/internal/testwait"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/e2e"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

// TestEndToEndIdleAppSleepsAndWakes runs the paastis binary against the
// fake Scalingo API: the sweep stops an idle app, and a request wakes it
// and gets the app's response.
func TestEndToEndIdleAppSleepsAndWakes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the paastis binary")
	}

	fake := newFake(t, scalingotest.Options{Regions: []string{"osc-fr1"}, OperationDelay: 300 * time.Millisecond})
	fake.AddApp(scalingotest.App{Name: "sleepy-app", Formation: "web:2,worker:1", Body: "hello from sleepy-app"})
	start := time.Now()
	dir := t.TempDir()
	binary := e2e.Build(t, "./cmd/paastis", dir)
	t.Logf("paastis built in %s", time.Since(start).Round(time.Millisecond))
	paastis := e2e.Start(t, binary, dir, map[string]string{
		"PROVIDER_NAME":               "scalingo",
		"PROVIDER_SCALINGO_API_TOKEN": scalingotest.DefaultAPIToken,
		"PROVIDER_SCALINGO_AUTH_URL":  fake.AuthURL(),
		// A sweep every second lists the apps 60 times a minute, more
		// than the default limit of 50 leaves for the start and stop.
		"PROVIDER_SCALINGO_RATE_LIMIT":          "600",
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "* * * * * *",
		"START_AND_STOP_MAX_IDLE_TIME":          "2s",
		"WAKE_TIMEOUT":                          "30s",
	})

	t.Logf("paastis listening after %s", time.Since(start).Round(time.Millisecond))

	testwait.Until(t, 30*time.Second, "paastis stops the idle app", func() bool {
		return fake.Formation("", "sleepy-app") == "web:0,worker:0"
	})
	t.Logf("idle app stopped after %s", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	status, body, err := paastis.Request(ctx, http.MethodGet, "sleepy-app", "/", nil)
	if err != nil {
		t.Fatalf("request through paastis: %v", err)
	}
	t.Logf("request answered after %s", time.Since(start).Round(time.Millisecond))
	if status != http.StatusOK || strings.TrimSpace(body) != "hello from sleepy-app" {
		t.Errorf("request through paastis = %d %q, want 200 and the app's body", status, body)
	}
	if got := fake.Formation("", "sleepy-app"); got != "web:2,worker:1" {
		t.Errorf("formation after the wake = %q, want web:2,worker:1 restored", got)
	}
	if got := fake.RateLimited(); got != 0 {
		t.Errorf("fake rejected %d requests with 429, want 0", got)
	}
}
