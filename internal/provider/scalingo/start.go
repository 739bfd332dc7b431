package scalingo

import (
	"context"

	"github.com/paastis/paastis/internal/engine"
)

// Start scales the app back to the formation that the last Stop saved in
// app.Saved, or to web:1 when it saved nothing, and waits until the scale
// operation is done. OperationTimeout bounds the whole start, including
// waits for another operation on the app to finish.
func (p *Provider) Start(ctx context.Context, app engine.App) error {
	ref, err := p.resolve(ctx, app)
	if err != nil {
		return err
	}

	formation := defaultFormation
	if saved := app.Saved[savedFormationKey]; saved != "" {
		parsed, err := parseFormation(saved)
		if err != nil {
			p.logger.Warn("ignoring an invalid saved scalingo formation, starting web:1",
				"app", ref.label, "region", ref.region.name, "formation", saved, "error", err)
		} else {
			formation = parsed
		}
	}

	ctx, cancel := p.withOperationTimeout(ctx)
	defer cancel()
	if err := p.scale(ctx, ref, formation); err != nil {
		return err
	}
	p.logger.Info("started scalingo app", "app", ref.label, "region", ref.region.name, "formation", formatFormation(formation))
	return nil
}
