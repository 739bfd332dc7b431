package scalingo_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/scalingo"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

func TestStopThenStartRestoresFormation(t *testing.T) {
	fake := newFake(t, scalingotest.Options{OperationDelay: 40 * time.Millisecond})
	fake.AddApp(scalingotest.App{Name: "busy-app", Formation: "web:2,worker:1,clock:0"})
	provider, _ := newProvider(t, fake, nil)
	app := mustApp(t, provider, "busy-app")

	saved, err := provider.Stop(t.Context(), app)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if want := map[string]string{"formation": "web:2,worker:1"}; !maps.Equal(saved, want) {
		t.Errorf("Stop saved %v, want %v", saved, want)
	}
	if got := fake.Formation("", "busy-app"); got != "clock:0,web:0,worker:0" {
		t.Errorf("formation after Stop = %q, want every amount at 0", got)
	}
	if fake.Running("", "busy-app") {
		t.Error("fake upstream still serves after Stop")
	}

	app.Saved = saved
	if err := provider.Start(t.Context(), app); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := fake.Formation("", "busy-app"); got != "clock:0,web:2,worker:1" {
		t.Errorf("formation after Start = %q, want clock:0,web:2,worker:1", got)
	}
	state, err := provider.State(t.Context(), app)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if state != engine.StateRunning {
		t.Errorf("State after Start = %q, want running", state)
	}
}

func TestStartWithoutSavedFormation(t *testing.T) {
	tests := []struct {
		name  string
		saved map[string]string
	}{
		{"nothing saved starts web:1", nil},
		{"invalid saved text starts web:1", map[string]string{"formation": "web=2"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			fake := newFake(t, scalingotest.Options{})
			fake.AddApp(scalingotest.App{Name: "cold-app", Formation: "web:0,worker:0"})
			provider, _ := newProvider(t, fake, nil)
			app := mustApp(t, provider, "cold-app")
			app.Saved = test.saved

			if err := provider.Start(t.Context(), app); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if got := fake.Formation("", "cold-app"); got != "web:1,worker:0" {
				t.Errorf("formation = %q, want web:1,worker:0", got)
			}
		})
	}
}

func TestStopAlreadyStoppedKeepsSaved(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "idle-app", Formation: "web:0"})
	provider, _ := newProvider(t, fake, nil)
	app := mustApp(t, provider, "idle-app")
	app.Saved = map[string]string{"formation": "web:3"}

	saved, err := provider.Stop(t.Context(), app)

	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !maps.Equal(saved, app.Saved) {
		t.Errorf("Stop saved %v, want the previous %v", saved, app.Saved)
	}
	if got := fake.Calls(scalingotest.EndpointScale); got != 0 {
		t.Errorf("scale requests = %d, want 0 for a stopped app", got)
	}
}

func TestStartOperationErrorSurfacesMessage(t *testing.T) {
	fake := newFake(t, scalingotest.Options{OperationDelay: 20 * time.Millisecond})
	fake.AddApp(scalingotest.App{Name: "broken-app", Formation: "web:0"})
	const message = "container web-1 failed to boot: exit status 1"
	fake.FailNextOperation("", "broken-app", message)
	provider, _ := newProvider(t, fake, nil)
	app := mustApp(t, provider, "broken-app")

	err := provider.Start(t.Context(), app)

	var opErr *scalingo.OperationError
	if !errors.As(err, &opErr) {
		t.Fatalf("Start error = %v, want an *OperationError", err)
	}
	if opErr.Message != message {
		t.Errorf("OperationError.Message = %q, want %q", opErr.Message, message)
	}
	if !strings.Contains(err.Error(), message) || !strings.Contains(err.Error(), `"broken-app"`) {
		t.Errorf("error %q does not give the app and Scalingo's message", err)
	}
	if got := fake.Formation("", "broken-app"); got != "web:0" {
		t.Errorf("formation = %q, want web:0 after the failed operation", got)
	}
}

func TestStartOperationTimeout(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(fake *scalingotest.Server)
		wantInErr string
	}{
		{
			name:      "operation that never ends",
			setup:     func(fake *scalingotest.Server) { fake.SetOperationDelay("", "slow-app", time.Hour) },
			wantInErr: "(operation still",
		},
		{
			name: "app busy with another operation",
			setup: func(fake *scalingotest.Server) {
				if err := fake.BeginScale("", "slow-app", "web:1", time.Hour); err != nil {
					t.Fatal(err)
				}
			},
			wantInErr: "(app still busy with another operation)",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			fake := newFake(t, scalingotest.Options{})
			fake.AddApp(scalingotest.App{Name: "slow-app", Formation: "web:0"})
			test.setup(fake)
			provider, _ := newProvider(t, fake, func(opts *scalingo.Options) { opts.OperationTimeout = 300 * time.Millisecond })
			app := mustApp(t, provider, "slow-app")

			start := time.Now()
			err := provider.Start(t.Context(), app)
			elapsed := time.Since(start)

			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Start error = %v, want one that wraps context.DeadlineExceeded", err)
			}
			for _, want := range []string{"not done within 300ms", "PROVIDER_SCALINGO_OPERATION_TIMEOUT", test.wantInErr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if elapsed > 3*time.Second {
				t.Errorf("Start took %s, want about the 300ms timeout", elapsed)
			}
		})
	}
}

func TestStartRetriesWhileAppBusy(t *testing.T) {
	for _, status := range []int{http.StatusConflict, http.StatusUnprocessableEntity} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			fake := newFake(t, scalingotest.Options{BusyStatus: status})
			fake.AddApp(scalingotest.App{Name: "contended-app", Formation: "web:0"})
			if err := fake.BeginScale("", "contended-app", "web:1", 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			provider, logs := newProvider(t, fake, nil)
			app := mustApp(t, provider, "contended-app")
			app.Saved = map[string]string{"formation": "web:2"}

			if err := provider.Start(t.Context(), app); err != nil {
				t.Fatalf("Start: %v", err)
			}

			if got := fake.Formation("", "contended-app"); got != "web:2" {
				t.Errorf("formation = %q, want web:2 once the other operation ended", got)
			}
			if got := fake.Calls(scalingotest.EndpointScale); got < 2 {
				t.Errorf("scale requests = %d, want at least 2: rejected while busy, then accepted", got)
			}
			retries := logs.withMessage("scalingo app busy with another operation, retrying the scale")
			if len(retries) == 0 {
				t.Fatal("no retry logged while the app was busy")
			}
			if _, ok := attr(retries[0], "delay"); !ok {
				t.Error("busy retry log has no delay")
			}
		})
	}
}

func TestStartRateLimitedLosesNoAction(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "limited-app", Formation: "web:0,worker:0"})
	provider, logs := newProvider(t, fake, nil)
	app := mustApp(t, provider, "limited-app")
	app.Saved = map[string]string{"formation": "web:1,worker:2"}
	// Scalingo documents a plain-text 429 body; its Go client expects JSON.
	// The provider must accept both, and honour Retry-After.
	fake.FailNext(scalingotest.EndpointScale, 1, scalingotest.Fault{Status: 429, Body: "Retry later", RetryAfter: "1"})
	fake.FailNext(scalingotest.EndpointScale, 1, scalingotest.Fault{Status: 429, Body: `{"error":"too many requests"}`})

	start := time.Now()
	if err := provider.Start(t.Context(), app); err != nil {
		t.Fatalf("Start: %v", err)
	}

	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("Start took %s, want at least the 1s of Retry-After", elapsed)
	}
	if got := fake.Formation("", "limited-app"); got != "web:1,worker:2" {
		t.Errorf("formation = %q, want web:1,worker:2", got)
	}
	if got := fake.Calls(scalingotest.EndpointScale); got != 3 {
		t.Errorf("scale requests = %d, want 3: two rejected, one accepted", got)
	}
	if got := fake.Operations("", "limited-app"); got != 1 {
		t.Errorf("operations = %d, want exactly 1", got)
	}

	retries := logs.withMessage("scalingo API request failed, retrying")
	if len(retries) != 2 {
		t.Fatalf("retry logs = %d, want 2", len(retries))
	}
	delay, _ := attr(retries[0], "delay")
	if delay.Duration() != time.Second {
		t.Errorf("first retry delay = %s, want the 1s of Retry-After", delay.Duration())
	}
	for _, key := range []string{"attempt", "status", "operation"} {
		if _, ok := attr(retries[1], key); !ok {
			t.Errorf("retry log has no %q", key)
		}
	}
}

func TestUnknownAppIsNotFound(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "known-app"})
	provider, _ := newProvider(t, fake, nil)
	listApps(t, provider)

	apps := map[string]engine.App{
		"never listed": {Name: "ghost-app"},
		"deleted on Scalingo": {
			Name:    "deleted-app",
			Region:  "osc-fr1",
			Details: map[string]string{"scalingo_name": "deleted-app"},
		},
	}
	operations := map[string]func(engine.App) error{
		"Start": func(app engine.App) error { return provider.Start(t.Context(), app) },
		"Stop": func(app engine.App) error {
			_, err := provider.Stop(t.Context(), app)
			return err
		},
		"State": func(app engine.App) error {
			_, err := provider.State(t.Context(), app)
			return err
		},
	}
	for appCase, app := range apps {
		for operation, run := range operations {
			t.Run(operation+" of app "+appCase, func(t *testing.T) {
				err := run(app)
				if !errors.Is(err, engine.ErrAppNotFound) {
					t.Errorf("%s error = %v, want one that wraps engine.ErrAppNotFound", operation, err)
				}
			})
		}
	}
	if got := fake.Calls(scalingotest.EndpointScale); got != 1 {
		t.Errorf("scale requests = %d, want 1: only the Start of the deleted app reaches Scalingo", got)
	}
}

func TestStartAfterRestartUsesDetails(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "shop", Region: "osc-secnum-fr1", Formation: "web:0"})
	provider, _ := newProvider(t, fake, nil)
	// An app as the registry stores it, met before any listing.
	app := engine.App{
		Name:    "shop--osc-secnum-fr1",
		Region:  "osc-secnum-fr1",
		Details: map[string]string{"scalingo_name": "shop"},
	}

	if err := provider.Start(t.Context(), app); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := fake.Formation("osc-secnum-fr1", "shop"); got != "web:1" {
		t.Errorf("formation = %q, want web:1", got)
	}
	if got := fake.Calls(scalingotest.EndpointApps); got != 0 {
		t.Errorf("app listings = %d, want 0: the details are enough", got)
	}
}
