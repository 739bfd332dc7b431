package clevercloud

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

func TestStopWaitsForInstancesToGo(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: 300 * time.Millisecond,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello", Running: true}},
	})
	p := newProvider(t, testOptions(t, fake))
	app := listOne(t, p, appHello)
	if status, _ := get(t, app.URL); status != http.StatusOK {
		t.Fatalf("upstream before the stop: status %d, want 200", status)
	}

	saved, err := p.Stop(t.Context(), app)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if saved != nil {
		t.Errorf("Stop saved %v, want nil", saved)
	}
	if got := fake.InstanceStates(appHello); len(got) != 0 {
		t.Errorf("instances after Stop = %v, want none", got)
	}
	if got := fake.Calls(clevercloudtest.EndpointInstances); got < 2 {
		t.Errorf("instance reads = %d, want 2 or more (STOPPING, then none)", got)
	}
	if got := fake.Calls(clevercloudtest.EndpointUndeploy); got != 1 {
		t.Errorf("undeploy calls = %d, want 1", got)
	}

	state, err := p.State(t.Context(), app)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if state != engine.StateStopped {
		t.Errorf("State after Stop = %q, want stopped", state)
	}
	if status, _ := get(t, app.URL); status != http.StatusServiceUnavailable {
		t.Errorf("upstream after the stop: status %d, want 503", status)
	}
}

func TestStopTimesOut(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: time.Minute,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello", Running: true}},
	})
	opts := testOptions(t, fake)
	opts.OperationTimeout = 300 * time.Millisecond
	p := newProvider(t, opts)
	app := listOne(t, p, appHello)

	_, err := p.Stop(t.Context(), app)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop error = %v, want DeadlineExceeded", err)
	}
	for _, want := range []string{"stopping clever cloud app", "still STOPPING", EnvOperationTimeout} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStopThenStart(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: 50 * time.Millisecond,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello", Running: true}},
	})
	p := newProvider(t, testOptions(t, fake))
	app := listOne(t, p, appHello)

	if _, err := p.Stop(t.Context(), app); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if fake.Running(appHello) {
		t.Fatal("fake app still runs after Stop")
	}
	if err := p.Start(t.Context(), app); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !fake.Running(appHello) {
		t.Error("fake app does not run after Start")
	}
}
