package scalingo

import (
	"context"
	"net/http"

	"github.com/paastis/paastis/internal/engine"
)

// State reads the app status, and for a running app its containers:
// running when every web container runs, starting while some boot, failed
// when one crashed. An app without web containers is stopped when its
// formation is all zeros, and running when other process types run.
func (p *Provider) State(ctx context.Context, app engine.App) (engine.State, error) {
	ref, err := p.resolve(ctx, app)
	if err != nil {
		return engine.StateUnknown, err
	}

	var body struct {
		App appJSON `json:"app"`
	}
	_, err = p.client.do(ctx, call{
		operation:  "show_app",
		method:     http.MethodGet,
		url:        ref.appURL(""),
		idempotent: true,
	}, &body)
	if err != nil {
		return engine.StateUnknown, ref.wrap("read the status of", err)
	}
	if body.App.Status != "running" {
		return stateFromStatus(body.App.Status), nil
	}
	return p.stateFromContainers(ctx, ref)
}

// stateFromContainers reads the containers of an app whose status is
// running.
func (p *Provider) stateFromContainers(ctx context.Context, ref appRef) (engine.State, error) {
	var body struct {
		Containers []struct {
			Type  string `json:"type"`
			State string `json:"state"`
		} `json:"containers"`
	}
	_, err := p.client.do(ctx, call{
		operation:  "list_ps",
		method:     http.MethodGet,
		url:        ref.appURL("/ps"),
		idempotent: true,
	}, &body)
	if err != nil {
		return engine.StateUnknown, ref.wrap("list the containers of", err)
	}

	web, running, starting, stopping, failed := 0, 0, 0, 0, 0
	for _, container := range body.Containers {
		if container.Type != "web" {
			continue
		}
		web++
		switch container.State {
		case "running":
			running++
		case "booting", "starting", "restarting", "scheduled", "pending":
			starting++
		case "stopping", "stopped":
			stopping++
		case "crashed", "failed", "error":
			failed++
		}
	}

	switch {
	case web == 0:
		return p.stateWithoutWeb(ctx, ref)
	case failed > 0:
		return engine.StateFailed, nil
	case running == web:
		return engine.StateRunning, nil
	case starting > 0:
		return engine.StateStarting, nil
	case stopping > 0:
		return engine.StateStopping, nil
	default:
		return engine.StateUnknown, nil
	}
}

// stateWithoutWeb distinguishes a stopped app from one whose web
// containers are not listed yet, or that runs other process types only.
func (p *Provider) stateWithoutWeb(ctx context.Context, ref appRef) (engine.State, error) {
	formation, err := p.listFormation(ctx, ref)
	if err != nil {
		return engine.StateUnknown, err
	}
	switch {
	case formatFormation(formation) == "":
		return engine.StateStopped, nil
	case amountOf(formation, "web") > 0:
		return engine.StateStarting, nil
	default:
		return engine.StateRunning, nil
	}
}

func amountOf(formation []processType, name string) int {
	for _, process := range formation {
		if process.Name == name {
			return process.Amount
		}
	}
	return 0
}
