// Package hooks runs the operator's shell commands around the starts and
// stops of apps (HOOKS_BEFORE_START, HOOKS_AFTER_START, HOOKS_BEFORE_STOP,
// HOOKS_AFTER_STOP).
//
// A hook runs as `sh -c COMMAND` in its own process group. The app is
// described to it in environment variables only, never in the command
// text, so an app name cannot inject shell code:
//
//	PAASTIS_EVENT     the stage: before_start, after_start, before_stop or after_stop
//	PAASTIS_APP_NAME  the app's routing name
//	PAASTIS_APP_ID    the provider's identifier of the app
//	PAASTIS_PROVIDER  local, scalingo or clever-cloud
//	PAASTIS_REGION    the provider's region, empty when it has none
//	PAASTIS_APP_URL   the app's upstream URL
//
// The hook also inherits the environment of paastis.
//
// NOTE: the package uses Unix process groups, so it builds on Unix only.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// Commands are the shell commands of the four stages. An empty command
// skips its stage. Its fields match those of config.HookCommands, so one
// converts to the other.
type Commands struct {
	BeforeStart string
	AfterStart  string
	BeforeStop  string
	AfterStop   string
}

// defaultWaitDelay bounds how long a finished or killed hook may keep its
// output pipes open through a background process that left its group, or
// that the hook started and did not wait for.
const defaultWaitDelay = 2 * time.Second

// Runner is the engine.HookRunner that runs the shell commands. It is safe
// for concurrent use, and runs hooks for different apps at the same time.
type Runner struct {
	commands Commands
	timeout  time.Duration
	logger   *slog.Logger

	// waitDelay is defaultWaitDelay, shortened by tests.
	waitDelay time.Duration
}

var _ engine.HookRunner = (*Runner)(nil)

// New returns a Runner. timeout bounds each hook's run time, after which its
// whole process group is killed, and zero or a negative value means no
// limit other than the context. A nil logger discards the logs.
func New(commands Commands, timeout time.Duration, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{
		commands:  commands,
		timeout:   timeout,
		logger:    logger,
		waitDelay: defaultWaitDelay,
	}
}

// RunHook runs the command of stage for app and waits for it. An empty
// command returns nil at once. The hook's output is logged line by line.
// The error names the hook and gives its exit status, its timeout, or the
// end of the caller's context, followed by the last lines of its output.
// A timeout wraps context.DeadlineExceeded, and a non-zero exit wraps an
// *exec.ExitError.
func (r *Runner) RunHook(ctx context.Context, stage engine.HookStage, app engine.App) error {
	command, variable, err := r.command(stage)
	if err != nil || command == "" {
		return err
	}

	hookCtx := ctx
	if r.timeout > 0 {
		var cancel context.CancelFunc
		hookCtx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}

	logger := r.logger.With("app", app.Name, "hook", string(stage))
	tail := &outputTail{}
	stdout := newLineLogger(logger, "stdout", tail)
	stderr := newLineLogger(logger, "stderr", tail)

	cmd := exec.CommandContext(hookCtx, "sh", "-c", command)
	cmd.Env = append(os.Environ(),
		"PAASTIS_EVENT="+string(stage),
		"PAASTIS_APP_NAME="+app.Name,
		"PAASTIS_APP_ID="+app.ID,
		"PAASTIS_PROVIDER="+app.Provider,
		"PAASTIS_REGION="+app.Region,
		"PAASTIS_APP_URL="+app.URL,
	)
	cmd.Stdout = stdout
	cmd.Stderr = stderr

	// The hook leads its own process group, so that a timeout kills the
	// processes it started too, such as "sleep 60 &". WaitDelay bounds how
	// long Wait then blocks on a pipe that a leftover process still holds.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = r.waitDelay

	started := time.Now()
	runErr := cmd.Run()
	stdout.flush()
	stderr.flush()
	duration := time.Since(started)

	exitCode := -1
	if cmd.ProcessState != nil {
		exitCode = cmd.ProcessState.ExitCode()
	}
	logger.Info("hook finished", "duration", duration, "exit_code", exitCode)

	if runErr == nil {
		return nil
	}
	if errors.Is(runErr, exec.ErrWaitDelay) && exitCode == 0 {
		// The hook succeeded, but left a background process that held its
		// output open. That process's later output is lost.
		logger.Warn("hook exited, but a background process kept its output open, so later output is dropped",
			"wait_delay", r.waitDelay)
		return nil
	}
	return r.hookError(ctx, hookCtx, stage, variable, app, runErr, tail)
}

// command returns the command of stage and the variable that sets it.
func (r *Runner) command(stage engine.HookStage) (command, variable string, err error) {
	switch stage {
	case engine.BeforeStart:
		return r.commands.BeforeStart, "HOOKS_BEFORE_START", nil
	case engine.AfterStart:
		return r.commands.AfterStart, "HOOKS_AFTER_START", nil
	case engine.BeforeStop:
		return r.commands.BeforeStop, "HOOKS_BEFORE_STOP", nil
	case engine.AfterStop:
		return r.commands.AfterStop, "HOOKS_AFTER_STOP", nil
	}
	return "", "", fmt.Errorf("unknown hook stage %q: expected before_start, after_start, before_stop or after_stop", stage)
}

// hookError describes a failed hook. ctx is the caller's context, and
// hookCtx the one that carries the hook's timeout.
func (r *Runner) hookError(ctx, hookCtx context.Context, stage engine.HookStage, variable string, app engine.App, runErr error, tail *outputTail) error {
	var reason error
	switch {
	case ctx.Err() != nil:
		reason = fmt.Errorf("was stopped because its caller's context ended: %w", context.Cause(ctx))
	case hookCtx.Err() != nil:
		reason = fmt.Errorf("timed out after %s (raise HOOKS_TIMEOUT or make %s faster): %w", r.timeout, variable, context.DeadlineExceeded)
	default:
		reason = fmt.Errorf("failed with %w (check %s)", runErr, variable)
	}

	message := fmt.Errorf("%s hook for app %q %w", stage, app.Name, reason)
	if output := tail.String(); output != "" {
		return fmt.Errorf("%w, last output:\n%s", message, output)
	}
	return message
}
