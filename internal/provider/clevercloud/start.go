package clevercloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// Start redeploys the app and follows the deployment until it is OK,
// within OperationTimeout. A deployment that ends FAIL or CANCELLED is an
// error that carries Clever Cloud's cause.
func (p *Provider) Start(ctx context.Context, app engine.App) error {
	ref, err := p.resolve(ctx, app)
	if err != nil {
		return err
	}
	path, err := appPath(ref)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeoutCause(ctx, p.operationTimeout, errOperationTimeout)
	defer cancel()
	begin := time.Now()

	var resp struct {
		DeploymentID string `json:"deploymentId"`
	}
	req := request{operation: "redeploy", method: http.MethodPost, path: path + "/instances"}
	if err := p.client.do(ctx, req, &resp); err != nil {
		return p.operationError(ctx, "starting", ref, "", err)
	}

	deploymentID := resp.DeploymentID
	if deploymentID == "" {
		// NOTE: the public docs do not promise deploymentId in the redeploy
		// response, so the newest deployment replaces it.
		last, err := p.latestDeployment(ctx, ref)
		if err != nil {
			return p.operationError(ctx, "starting", ref, "", err)
		}
		if last == nil {
			return fmt.Errorf("starting clever cloud app %q: the redeploy created no deployment: check the app in the Clever Cloud console", ref.name)
		}
		deploymentID = last.UUID
	}
	p.logger.InfoContext(ctx, "redeploy requested", "app", ref.name, "deployment", deploymentID)

	if err := p.waitDeployment(ctx, ref, deploymentID); err != nil {
		return err
	}
	p.logger.InfoContext(ctx, "deployment succeeded", "app", ref.name, "deployment", deploymentID, "duration", time.Since(begin))
	return nil
}

// waitDeployment reads the deployment every pollInterval until it ends.
func (p *Provider) waitDeployment(ctx context.Context, ref appRef, deploymentID string) error {
	lastState := ""
	for {
		d, err := p.deployment(ctx, ref, deploymentID)
		if err != nil {
			return p.operationError(ctx, "starting", ref, describeDeployment(deploymentID, lastState), err)
		}
		lastState = d.State

		switch d.State {
		case deploymentOK:
			return nil
		case deploymentFail, deploymentCancelled:
			return fmt.Errorf("starting clever cloud app %q: deployment %q ended %s with cause %q: read the deployment logs in the Clever Cloud console",
				ref.name, deploymentID, d.State, d.Cause)
		}

		if err := sleep(ctx, p.pollInterval); err != nil {
			return p.operationError(ctx, "starting", ref, describeDeployment(deploymentID, lastState), err)
		}
	}
}

func describeDeployment(deploymentID, state string) string {
	if state == "" {
		return fmt.Sprintf("deployment %q", deploymentID)
	}
	return fmt.Sprintf("deployment %q still %s", deploymentID, state)
}

// operationError explains why a start or stop ended: its own timeout
// (with what it was waiting for), the caller's cancellation, or err.
func (p *Provider) operationError(ctx context.Context, action string, ref appRef, waitingFor string, err error) error {
	if errors.Is(context.Cause(ctx), errOperationTimeout) {
		if waitingFor == "" {
			waitingFor = "the API"
		}
		return fmt.Errorf("%s clever cloud app %q: timed out after %s waiting for %s: raise %s or check the app in the Clever Cloud console: %w",
			action, ref.name, p.operationTimeout, waitingFor, EnvOperationTimeout, context.DeadlineExceeded)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s clever cloud app %q: %w", action, ref.name, context.Cause(ctx))
	}
	return wrapAppError(action, ref, err)
}
