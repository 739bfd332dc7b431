package clevercloud

import (
	"context"
	"errors"
	"github.com/paastis/paastis/internal/testwait"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

// listOne lists the fake's apps and returns the one with the given id.
func listOne(t *testing.T, p *Provider, id string) engine.App {
	t.Helper()
	apps, err := p.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	for _, a := range apps {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("app %q not listed", id)
	return engine.App{}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestStartFollowsDeploymentToOK(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: 300 * time.Millisecond,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello", Response: "hello answer"}},
	})
	opts := testOptions(t, fake)
	logs := captureLogs(t, &opts)
	p := newProvider(t, opts)
	app := listOne(t, p, appHello)
	if status, _ := get(t, app.URL); status != http.StatusServiceUnavailable {
		t.Fatalf("upstream before the start: status %d, want 503", status)
	}

	start := time.Now()
	if err := p.Start(t.Context(), app); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("Start returned after %s, before the 300ms deployment ended", elapsed)
	}

	deployments := fake.Deployments(appHello)
	if len(deployments) != 1 || deployments[0].Action != clevercloudtest.ActionDeploy || deployments[0].State != clevercloudtest.DeploymentOK {
		t.Errorf("deployments = %+v, want one DEPLOY that is OK", deployments)
	}
	if got := fake.Calls(clevercloudtest.EndpointDeployment); got < 2 {
		t.Errorf("deployment reads = %d, want 2 or more (WIP, then OK)", got)
	}
	if got := fake.Calls(clevercloudtest.EndpointRedeploy); got != 1 {
		t.Errorf("redeploy calls = %d, want 1", got)
	}

	state, err := p.State(t.Context(), app)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if state != engine.StateRunning {
		t.Errorf("State after Start = %q, want running", state)
	}
	if status, body := get(t, app.URL); status != http.StatusOK || body != "hello answer" {
		t.Errorf("upstream after the start: status %d, body %q", status, body)
	}
	if !strings.Contains(logs.String(), "deployment succeeded") {
		t.Errorf("logs lack the deployment success:\n%s", logs)
	}
}

func TestStartSurfacesFailureCause(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: 50 * time.Millisecond,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello"}},
	})
	p := newProvider(t, testOptions(t, fake))
	app := listOne(t, p, appHello)
	if err := fake.FailNextDeployment(appHello, "build failed: npm ERR! missing script: start"); err != nil {
		t.Fatal(err)
	}

	err := p.Start(t.Context(), app)
	if err == nil {
		t.Fatal("Start succeeded although the deployment failed")
	}
	for _, want := range []string{`"hello"`, "ended FAIL", "npm ERR! missing script: start", "deployment logs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if errors.Is(err, engine.ErrAppNotFound) {
		t.Errorf("error %v wraps ErrAppNotFound", err)
	}

	state, err := p.State(t.Context(), app)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if state != engine.StateStopped {
		t.Errorf("State after a failed deployment = %q, want stopped", state)
	}
}

func TestStartTimesOut(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: time.Minute,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello"}},
	})
	opts := testOptions(t, fake)
	opts.OperationTimeout = 300 * time.Millisecond
	p := newProvider(t, opts)
	app := listOne(t, p, appHello)

	start := time.Now()
	err := p.Start(t.Context(), app)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start error = %v, want DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Start returned after %s, want about 300ms", elapsed)
	}
	for _, want := range []string{"timed out after 300ms", "still WIP", EnvOperationTimeout} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStartCanceledByCaller(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: time.Minute,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello"}},
	})
	p := newProvider(t, testOptions(t, fake))
	app := listOne(t, p, appHello)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := p.Start(ctx, app)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start error = %v, want the caller's DeadlineExceeded", err)
	}
	if strings.Contains(err.Error(), EnvOperationTimeout) {
		t.Errorf("error %q blames the operation timeout for the caller's deadline", err)
	}
}

func TestStateDuringStart(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		OperationDelay: 400 * time.Millisecond,
		Apps:           []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello"}},
	})
	p := newProvider(t, testOptions(t, fake))
	app := listOne(t, p, appHello)

	if state, err := p.State(t.Context(), app); err != nil || state != engine.StateStopped {
		t.Fatalf("State before Start = %q, %v; want stopped", state, err)
	}

	done := make(chan error, 1)
	go func() { done <- p.Start(t.Context(), app) }()

	testwait.Until(t, 5*time.Second, "State to report starting", func() bool {
		state, err := p.State(t.Context(), app)
		return err == nil && state == engine.StateStarting
	})
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	if state, err := p.State(t.Context(), app); err != nil || state != engine.StateRunning {
		t.Errorf("State after Start = %q, %v; want running", state, err)
	}
}

func TestStateFromInstances(t *testing.T) {
	tests := []struct {
		name   string
		states []string
		want   engine.State
	}{
		{"no instance is stopped", nil, engine.StateStopped},
		{"one UP instance is running", []string{"UP"}, engine.StateRunning},
		{"UP wins over a stopping one", []string{"STOPPING", "UP"}, engine.StateRunning},
		{"booting is starting", []string{"BOOTING"}, engine.StateStarting},
		{"deploying is starting", []string{"DEPLOYING", "STOPPING"}, engine.StateStarting},
		{"stopping only is stopping", []string{"STOPPING"}, engine.StateStopping},
		{"deleted instances are gone", []string{"DELETED"}, engine.StateStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var instances []instanceResponse
			for _, s := range tt.states {
				instances = append(instances, instanceResponse{State: s})
			}
			if got := stateFromInstances(instances); got != tt.want {
				t.Errorf("stateFromInstances(%v) = %q, want %q", tt.states, got, tt.want)
			}
		})
	}
}
