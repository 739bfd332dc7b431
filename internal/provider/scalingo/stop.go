package scalingo

import (
	"context"
	"maps"

	"github.com/paastis/paastis/internal/engine"
)

// Stop scales every process type of the app to zero and waits until the
// scale operation is done. It returns the amounts the app had, as
// {"formation": "web:2,worker:1"}, for the next Start. An app already
// scaled to zero keeps what app.Saved holds.
//
// When the operation fails or times out after Scalingo accepted the scale
// request, Stop returns the saved formation along with the error, because
// the app may be stopped in part.
func (p *Provider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	ref, err := p.resolve(ctx, app)
	if err != nil {
		return nil, err
	}

	ctx, cancel := p.withOperationTimeout(ctx)
	defer cancel()
	formation, err := p.listFormation(ctx, ref)
	if err != nil {
		return nil, err
	}

	var running []processType
	var zeros []processType
	for _, process := range formation {
		if process.Amount > 0 {
			running = append(running, process)
			zeros = append(zeros, processType{Name: process.Name, Amount: 0})
		}
	}
	if len(running) == 0 {
		p.logger.Info("scalingo app already scaled to zero", "app", ref.label, "region", ref.region.name)
		return maps.Clone(app.Saved), nil
	}

	saved := map[string]string{savedFormationKey: formatFormation(running)}
	if err := p.scale(ctx, ref, zeros); err != nil {
		return saved, err
	}
	p.logger.Info("stopped scalingo app", "app", ref.label, "region", ref.region.name, "saved_formation", saved[savedFormationKey])
	return saved, nil
}
