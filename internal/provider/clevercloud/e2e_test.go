package clevercloud

import (
	"github.com/paastis/paastis/internal/testwait"
	"net/http"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/e2e"
	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

// TestEndToEndIdleAppStoppedThenWoken runs the paastis binary against the
// fake API: the sweep stops the idle app, then a request wakes it and gets
// the app's response.
func TestEndToEndIdleAppStoppedThenWoken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the paastis binary")
	}
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: 300 * time.Millisecond,
		Apps: []clevercloudtest.AppSeed{
			{ID: appHello, Name: "Hello World", Running: true, Response: "hello from the fake Clever Cloud\n"},
		},
	})
	dir := t.TempDir()
	paastis := e2e.Start(t, e2e.Build(t, "./cmd/paastis", dir), dir, map[string]string{
		"PROVIDER_NAME":                         Name,
		EnvAPIHost:                              fake.URL,
		EnvConsumerKey:                          clevercloudtest.DefaultConsumerKey,
		EnvConsumerSecret:                       clevercloudtest.DefaultConsumerSecret,
		EnvToken:                                clevercloudtest.DefaultToken,
		EnvTokenSecret:                          clevercloudtest.DefaultTokenSecret,
		EnvUpstreamScheme:                       "http",
		EnvOperationTimeout:                     "20",
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "* * * * * *",
		"START_AND_STOP_MAX_IDLE_TIME":          "2s",
		"WAKE_TIMEOUT":                          "30s",
	})

	testwait.Until(t, 30*time.Second, "the sweep to stop the idle app", func() bool {
		return !fake.Running(appHello) && fake.Calls(clevercloudtest.EndpointUndeploy) == 1
	})

	header := http.Header{"Accept": {"text/plain"}}
	status, body, err := paastis.Request(t.Context(), http.MethodGet, "hello-world", "/", header)
	if err != nil {
		t.Fatalf("request through paastis: %v", err)
	}
	if status != http.StatusOK {
		t.Errorf("status = %d, want 200 once the app is woken", status)
	}
	if body != "hello from the fake Clever Cloud\n" {
		t.Errorf("body = %q, want the app's response", body)
	}
	if !fake.Running(appHello) {
		t.Error("the fake app does not run after the wake")
	}
	if got := fake.Calls(clevercloudtest.EndpointRedeploy); got != 1 {
		t.Errorf("redeploy calls = %d, want 1", got)
	}
}
