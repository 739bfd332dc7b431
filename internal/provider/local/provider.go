// Package local runs apps as child processes of paastis, so that paastis
// can be tried on one machine without a PaaS account. The apps are declared
// in a YAML file. Each runs in its own process group, gets its port in the
// PORT variable and is reached at http://127.0.0.1:PORT.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/paastis/paastis/internal/engine"
)

// Name is the provider name reported in engine.App.Provider.
const Name = "local"

var _ engine.Provider = (*Provider)(nil)

// Options configures a Provider.
type Options struct {
	// ConfigPath is the YAML file that declares the apps. Required.
	ConfigPath string
	// Logger receives process starts, stops, exits and every line of app
	// output. Nil discards the logs.
	Logger *slog.Logger
}

// Provider runs the apps of one YAML file as local child processes. Its
// methods are safe for concurrent use. Call Close at shutdown, because
// nothing else stops the process groups of the apps.
type Provider struct {
	logger     *slog.Logger
	configPath string
	apps       []*appSlot          // in file order
	byName     map[string]*appSlot // fixed after New

	mu     sync.Mutex
	closed bool // guarded by mu
}

// appSlot is one configured app and its current process.
type appSlot struct {
	spec *appSpec

	mu      sync.Mutex
	current *process // guarded by mu, nil until the first start
}

// New reads and validates the apps file. The error lists every problem in
// the file, as a *ConfigError when the file could be parsed.
func New(opts Options) (*Provider, error) {
	if opts.ConfigPath == "" {
		return nil, errors.New("local provider: missing apps file path: set the path of the YAML file that declares the apps")
	}
	specs, err := loadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}

	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	p := &Provider{
		logger:     logger.With("provider", Name),
		configPath: opts.ConfigPath,
		byName:     make(map[string]*appSlot, len(specs)),
	}
	for _, spec := range specs {
		slot := &appSlot{spec: spec}
		p.apps = append(p.apps, slot)
		p.byName[spec.name] = slot
	}
	return p, nil
}

// Apps lists every configured app. An app is running while the process
// that Start spawned is alive, stopping while a stop waits for it, and
// stopped otherwise. Details hold "command", "port" and, while a process
// exists, "pid".
func (p *Provider) Apps(ctx context.Context) ([]engine.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list local apps: %w", err)
	}

	apps := make([]engine.App, 0, len(p.apps))
	for _, slot := range p.apps {
		proc := slot.process()
		state, _ := processState(proc)

		details := map[string]string{
			"command": slot.spec.commandText,
			"port":    strconv.Itoa(slot.spec.port),
		}
		if proc != nil && !proc.hasExited() {
			details["pid"] = strconv.Itoa(proc.pid)
		}

		apps = append(apps, engine.App{
			Name:          slot.spec.name,
			ID:            slot.spec.name,
			Provider:      Name,
			State:         state,
			URL:           slot.spec.url(),
			ReadinessPath: slot.spec.readinessPath,
			Details:       details,
		})
	}
	return apps, nil
}

// Start spawns the app's command and returns once the process exists,
// before the app listens on its port. A failure to spawn, such as a
// missing program or dir, is returned at once. Starting a running app does
// nothing.
func (p *Provider) Start(ctx context.Context, app engine.App) error {
	slot, err := p.slot(app.Name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start local app %q: %w", app.Name, err)
	}

	// The slot stays locked during the spawn, which takes milliseconds,
	// so that two starts of one app cannot both spawn.
	slot.mu.Lock()
	defer slot.mu.Unlock()

	// Close marks the provider closed before it locks each slot, so a
	// start that passes this check is seen and stopped by Close.
	if p.isClosed() {
		return fmt.Errorf("start local app %q: the local provider is closed because paastis is shutting down", app.Name)
	}
	if slot.current != nil && !slot.current.hasExited() {
		if slot.current.stopping.Load() {
			return fmt.Errorf("start local app %q: the app is stopping: start it again once it is stopped", app.Name)
		}
		return nil
	}

	proc, err := startProcess(slot.spec, p.logger)
	if err != nil {
		return fmt.Errorf("start local app %q: run %q in dir %q: %w: check the command and dir of the app in %q",
			app.Name, slot.spec.commandText, displayDir(slot.spec.dir), err, p.configPath)
	}
	slot.current = proc

	p.logger.Info("app process started", "app", app.Name, "pid", proc.pid, "port", slot.spec.port)
	return nil
}

// Stop sends the app's stop signal to its process group and waits up to the
// stop grace period for every process of the group to exit, then sends
// SIGKILL to the group. When ctx is done first, SIGKILL is sent at once.
// Stopping an app that does not run does nothing. The saved data is always
// nil.
func (p *Provider) Stop(ctx context.Context, app engine.App) (map[string]string, error) {
	slot, err := p.slot(app.Name)
	if err != nil {
		return nil, err
	}

	proc := slot.process()
	if proc == nil || proc.hasExited() {
		return nil, nil
	}
	if err := proc.stop(ctx, slot.spec.stopSignal, slot.spec.stopGrace); err != nil {
		return nil, fmt.Errorf("stop local app %q: %w", app.Name, err)
	}
	return nil, nil
}

// State returns StateRunning while the app's process is alive,
// StateStopping while a stop waits for it, and StateStopped otherwise. When
// the process exited without a stop, State returns StateStopped with an
// error that gives the exit status and the last lines of output.
func (p *Provider) State(ctx context.Context, app engine.App) (engine.State, error) {
	slot, err := p.slot(app.Name)
	if err != nil {
		return engine.StateUnknown, err
	}
	if err := ctx.Err(); err != nil {
		return engine.StateUnknown, fmt.Errorf("get state of local app %q: %w", app.Name, err)
	}

	state, exitErr := processState(slot.process())
	if exitErr != nil {
		return state, fmt.Errorf("local app %q: %w", app.Name, exitErr)
	}
	return state, nil
}

// Close stops every running app as Stop does, all at once, and waits for
// their output to be read. Start fails after Close. When ctx is done, the
// stops still in their grace period send SIGKILL.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()

	var (
		wg     sync.WaitGroup
		errsMu sync.Mutex
		errs   []error
	)
	for _, slot := range p.apps {
		proc := slot.process()
		if proc == nil {
			continue
		}
		wg.Go(func() {
			if proc.hasExited() {
				// Only the output readers may still run.
				select {
				case <-proc.done:
				case <-ctx.Done():
				}
				return
			}
			if err := proc.stop(ctx, slot.spec.stopSignal, slot.spec.stopGrace); err != nil {
				errsMu.Lock()
				errs = append(errs, fmt.Errorf("stop local app %q: %w", slot.spec.name, err))
				errsMu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *Provider) slot(name string) (*appSlot, error) {
	slot, ok := p.byName[name]
	if !ok {
		return nil, fmt.Errorf("local app %q: %w: declare it in %q", name, engine.ErrAppNotFound, p.configPath)
	}
	return slot, nil
}

func (p *Provider) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (s *appSlot) process() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// processState maps a process, nil before the first start, to an app
// state, with the error of an exit that no stop requested.
func processState(proc *process) (engine.State, error) {
	switch {
	case proc == nil:
		return engine.StateStopped, nil
	case proc.hasExited():
		return engine.StateStopped, proc.exitError()
	case proc.stopping.Load():
		return engine.StateStopping, nil
	default:
		return engine.StateRunning, nil
	}
}

func displayDir(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}
