package engine

import "fmt"

// BeginWake begins the app's start unless it runs or a start is in
// progress, and returns without waiting for it. The waiting page calls it
// and then follows the start with Handle.WakeStatus. A failed start is
// reported for FailureBackoff before BeginWake tries again, as with Wake.
func (e *Engine) BeginWake(h *Handle) error {
	if h.State() == StateRunning {
		return nil
	}
	if !h.Managed() {
		return fmt.Errorf("wake %q: %w", h.name, ErrNotManaged)
	}
	e.joinWake(h)
	return nil
}
