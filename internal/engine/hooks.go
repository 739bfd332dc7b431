package engine

import "context"

// HookStage names the moment a hook runs at.
type HookStage string

// Hook stages. Their values are what hooks find in PAASTIS_EVENT.
const (
	BeforeStart HookStage = "before_start"
	AfterStart  HookStage = "after_start"
	BeforeStop  HookStage = "before_stop"
	AfterStop   HookStage = "after_stop"
)

// HookRunner runs the operator's hooks around starts and stops. An error
// from a before-stage hook cancels the start or stop.
type HookRunner interface {
	RunHook(ctx context.Context, stage HookStage, app App) error
}
