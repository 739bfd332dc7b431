package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/paastis/paastis/bench/internal/fleet"
	"github.com/paastis/paastis/bench/internal/measure"
)

// firstAppPort is the port of the first app of the generated apps file.
// The apps are never started, so nothing listens on these ports.
const firstAppPort = 20000

// binaryMemory is the resident memory of a paastis process after its
// first sweep.
type binaryMemory struct {
	Apps int
	// FirstSweep is the time from the start of the process to the end of
	// its first sweep, which registers every app.
	FirstSweep time.Duration
	Memory     measure.Memory
}

// scale is the outcome of the scale benchmark.
type scale struct {
	Sweep  fleet.SweepResult
	Binary binaryMemory
}

// runSweep runs bench/cmd/sweep in a process of its own.
func (h *harness) runSweep(ctx context.Context) (fleet.SweepResult, error) {
	var result fleet.SweepResult
	cmd := exec.CommandContext(ctx, filepath.Join(h.bin, "sweep"), "-apps", fmt.Sprint(h.opts.apps))
	cmd.Env = h.childEnv()
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return result, fmt.Errorf("sweep: %w\n%s", err, exitErr.Stderr)
		}
		return result, fmt.Errorf("sweep: %w", err)
	}
	if err := json.Unmarshal(out, &result); err != nil {
		return result, fmt.Errorf("decode the output of sweep %q: %w", out, err)
	}
	return result, nil
}

// runBinaryMemory runs paastis with the local provider and an apps file
// whose apps are never started, waits for its first sweep and reads its
// resident memory.
func (h *harness) runBinaryMemory(ctx context.Context, name, appsFile string) (binaryMemory, error) {
	var result binaryMemory
	begin := time.Now()
	p, err := h.startPaastis(ctx, name, map[string]string{
		"PROVIDER_LOCAL_CONFIG": appsFile,
		// The end of a sweep is logged at debug level only.
		"LOG_LEVEL": "debug",
	})
	if err != nil {
		return result, err
	}
	defer p.stop(15 * time.Second)
	if err := p.waitMessage(ctx, "sweep done", 1, 2*time.Minute); err != nil {
		return result, err
	}
	result.FirstSweep = time.Since(begin)
	result.Apps = p.output.Count("app registered")
	result.Memory, err = p.memory()
	return result, err
}

// runScale measures the sweep of the fake fleet, then the resident memory
// of the paastis binary with the same number of local apps.
func (h *harness) runScale(ctx context.Context) (*scale, error) {
	result := &scale{}
	var err error
	h.logger.Info("sweep of fake apps", "apps", h.opts.apps)
	if result.Sweep, err = h.runSweep(ctx); err != nil {
		return result, err
	}

	if h.opts.apps > 65535-firstAppPort {
		return result, fmt.Errorf("-apps %d leaves no port for each app: use at most %d", h.opts.apps, 65535-firstAppPort)
	}
	apps := make([]localApp, h.opts.apps)
	for i := range apps {
		apps[i] = localApp{Name: fmt.Sprintf("app-%05d", i), Argv: []string{"true"}, Port: firstAppPort + i}
	}
	appsFile := filepath.Join(h.tmp, "scale-apps.yaml")
	if err := writeAppsFile(appsFile, apps); err != nil {
		return result, err
	}
	h.logger.Info("paastis binary with many apps", "apps", h.opts.apps)
	result.Binary, err = h.runBinaryMemory(ctx, "paastis-scale", appsFile)
	if err == nil && result.Binary.Apps != h.opts.apps {
		err = fmt.Errorf("paastis registered %d apps of %d in its first sweep", result.Binary.Apps, h.opts.apps)
	}
	return result, err
}

// runIdleMemory measures paastis with the example apps file of the
// repository, none of whose apps is started.
func (h *harness) runIdleMemory(ctx context.Context) (binaryMemory, error) {
	h.logger.Info("idle paastis with the example apps")
	return h.runBinaryMemory(ctx, "paastis-idle", filepath.Join(h.root, "examples", "local", "apps.yaml"))
}
