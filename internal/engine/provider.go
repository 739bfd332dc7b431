package engine

import "context"

// Provider runs apps: a PaaS API (Scalingo, Clever Cloud) or local child
// processes. Every method honours the context's deadline and cancellation.
//
// A provider need not be safe for a Start and a Stop of the same app at
// once: the engine never does that. Calls for different apps may run
// concurrently.
type Provider interface {
	// Apps lists every app the provider can see, with its current state and
	// upstream URL.
	Apps(ctx context.Context) ([]App, error)

	// Start requests the start of the app and returns once the
	// provider has accepted the request (and, for a PaaS, once its start
	// operation has completed). The engine then polls State until the app
	// runs, and probes its readiness path. app.Saved holds what the last
	// Stop returned, or nothing.
	Start(ctx context.Context, app App) error

	// Stop stops the app and returns provider data that the next Start
	// needs (such as the formation to restore), or nil.
	Stop(ctx context.Context, app App) (saved map[string]string, err error)

	// State returns the app's current state. StateStarting means that the
	// app is still starting. StateStopped after a Start means that it
	// failed to come up, and the error explains why when the provider can.
	State(ctx context.Context, app App) (State, error)
}
