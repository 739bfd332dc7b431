package clevercloud

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/paastis/paastis/internal/engine"
)

// Instance states that the API reports. An instance is BOOTING, STARTING
// or DEPLOYING on its way to UP, and STOPPING on its way out.
const (
	instanceUp       = "UP"
	instanceStopping = "STOPPING"
	instanceDeleted  = "DELETED"
)

// Deployment states and actions that the API reports.
const (
	deploymentWIP       = "WIP"
	deploymentOK        = "OK"
	deploymentFail      = "FAIL"
	deploymentCancelled = "CANCELLED"
	actionDeploy        = "DEPLOY"
)

type instanceResponse struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

type deploymentResponse struct {
	UUID   string `json:"uuid"`
	State  string `json:"state"`
	Action string `json:"action"`
	Cause  string `json:"cause"`
}

// State returns the app's state from its instances: running when one is
// UP, starting while one is on its way up or a deploy is in progress,
// stopping while one is STOPPING, stopped when there is none.
func (p *Provider) State(ctx context.Context, app engine.App) (engine.State, error) {
	ref, err := p.resolve(ctx, app)
	if err != nil {
		return engine.StateUnknown, err
	}
	instances, err := p.instances(ctx, ref)
	if err != nil {
		return engine.StateUnknown, wrapAppError("reading the state of", ref, err)
	}

	state := stateFromInstances(instances)
	if state != engine.StateStopped {
		return state, nil
	}

	// A redeploy creates its instances a moment after it begins, so a
	// deploy in progress with no instance yet is a start.
	last, err := p.latestDeployment(ctx, ref)
	if err != nil {
		return engine.StateUnknown, wrapAppError("reading the state of", ref, err)
	}
	if last != nil && last.State == deploymentWIP && last.Action == actionDeploy {
		return engine.StateStarting, nil
	}
	return engine.StateStopped, nil
}

// stateFromInstances maps instance states to an engine state. States other
// than UP, STOPPING and DELETED count as on the way up.
func stateFromInstances(instances []instanceResponse) engine.State {
	var starting, stopping bool
	for _, in := range instances {
		switch in.State {
		case instanceUp:
			return engine.StateRunning
		case instanceStopping:
			stopping = true
		case instanceDeleted:
		default:
			starting = true
		}
	}
	switch {
	case starting:
		return engine.StateStarting
	case stopping:
		return engine.StateStopping
	}
	return engine.StateStopped
}

func (p *Provider) instances(ctx context.Context, ref appRef) ([]instanceResponse, error) {
	path, err := appPath(ref)
	if err != nil {
		return nil, err
	}
	var instances []instanceResponse
	req := request{operation: "list_instances", method: http.MethodGet, path: path + "/instances"}
	if err := p.client.do(ctx, req, &instances); err != nil {
		return nil, err
	}
	return instances, nil
}

// latestDeployment returns the app's newest deployment, or nil when it has
// none.
func (p *Provider) latestDeployment(ctx context.Context, ref appRef) (*deploymentResponse, error) {
	path, err := appPath(ref)
	if err != nil {
		return nil, err
	}
	var deployments []deploymentResponse
	req := request{
		operation: "list_deployments",
		method:    http.MethodGet,
		path:      path + "/deployments",
		query:     url.Values{"limit": {"1"}},
	}
	if err := p.client.do(ctx, req, &deployments); err != nil {
		return nil, err
	}
	if len(deployments) == 0 {
		return nil, nil
	}
	return &deployments[0], nil
}

func (p *Provider) deployment(ctx context.Context, ref appRef, uuid string) (deploymentResponse, error) {
	path, err := appPath(ref)
	if err != nil {
		return deploymentResponse{}, err
	}
	if !idPattern.MatchString(uuid) {
		return deploymentResponse{}, fmt.Errorf("invalid deployment id %q", uuid)
	}
	var d deploymentResponse
	req := request{operation: "get_deployment", method: http.MethodGet, path: path + "/deployments/" + uuid}
	if err := p.client.do(ctx, req, &d); err != nil {
		return deploymentResponse{}, err
	}
	return d, nil
}
