package clevercloud

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// Stop undeploys the app and waits, within OperationTimeout, until it has
// no instance left. Clever Cloud keeps everything a redeploy needs, so the
// saved data is always nil.
func (p *Provider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	ref, err := p.resolve(ctx, app)
	if err != nil {
		return nil, err
	}
	path, err := appPath(ref)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeoutCause(ctx, p.operationTimeout, errOperationTimeout)
	defer cancel()
	begin := time.Now()

	req := request{operation: "undeploy", method: http.MethodDelete, path: path + "/instances"}
	if err := p.client.do(ctx, req, nil); err != nil {
		return nil, p.operationError(ctx, "stopping", ref, "", err)
	}
	p.logger.InfoContext(ctx, "undeploy requested", "app", ref.name)

	waitingFor := "the instances to stop"
	for {
		instances, err := p.instances(ctx, ref)
		if err != nil {
			return nil, p.operationError(ctx, "stopping", ref, waitingFor, err)
		}
		remaining := remainingStates(instances)
		if len(remaining) == 0 {
			p.logger.InfoContext(ctx, "app stopped", "app", ref.name, "duration", time.Since(begin))
			return nil, nil
		}
		waitingFor = fmt.Sprintf("the instances to stop (still %s)", strings.Join(remaining, ", "))

		if err := sleep(ctx, p.pollInterval); err != nil {
			return nil, p.operationError(ctx, "stopping", ref, waitingFor, err)
		}
	}
}

// remainingStates returns the states of the instances that are not gone.
func remainingStates(instances []instanceResponse) []string {
	var states []string
	for _, in := range instances {
		if in.State != instanceDeleted {
			states = append(states, in.State)
		}
	}
	return states
}
