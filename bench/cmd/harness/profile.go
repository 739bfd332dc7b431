package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pprofOverlay is added to cmd/paastis with go build -overlay, so that the
// profiled binary serves its CPU profile while the tree stays untouched.
//
//go:embed overlay/pprof.go.txt
var pprofOverlay []byte

// cpuProfile is a CPU profile of the paastis binary under wrk.
type cpuProfile struct {
	// Path is the saved profile, for go tool pprof, relative to the
	// repository when it is inside.
	Path string
	// Top is the output of go tool pprof -top, by flat then by
	// cumulative time.
	Top string
	// Requests is the number of requests that wrk completed during the
	// profiled run.
	Requests int64
}

// runProfile builds paastis with the pprof overlay, runs it with the
// in-memory registry under wrk for one run, and saves the CPU profile of
// that run next to the report.
func (h *harness) runProfile(ctx context.Context, resultsDir, stamp string) (*cpuProfile, error) {
	overlayDir := filepath.Join(h.tmp, "overlay")
	if err := os.MkdirAll(overlayDir, 0o755); err != nil {
		return nil, err
	}
	source := filepath.Join(overlayDir, "pprof.go")
	if err := os.WriteFile(source, pprofOverlay, 0o644); err != nil {
		return nil, err
	}
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(h.root, "cmd", "paastis", "zz_bench_pprof.go"): source},
	})
	if err != nil {
		return nil, err
	}
	overlayFile := filepath.Join(overlayDir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return nil, err
	}
	binary := filepath.Join(h.bin, "paastis-pprof")
	h.logger.Info("building paastis with the pprof overlay")
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", overlayFile, "-o", binary, "./cmd/paastis")
	cmd.Dir = h.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build -overlay ./cmd/paastis: %w\n%s", err, out)
	}

	pprofPort, err := freePort()
	if err != nil {
		return nil, err
	}
	t, err := h.startPaastisTargetWith(ctx, binary, "paastis-pprof", "paastis with pprof", map[string]string{
		"REGISTRY_TYPE":       "in-memory",
		"PAASTIS_BENCH_PPROF": net.JoinHostPort("127.0.0.1", strconv.Itoa(pprofPort)),
	}, nil)
	if err != nil {
		return nil, err
	}

	// The profile covers the middle of the run: it starts a second after
	// wrk and ends before it.
	seconds := max(1, int(h.opts.duration/time.Second)-2)
	type wrkOutcome struct {
		requests int64
		err      error
	}
	done := make(chan wrkOutcome, 1)
	go func() {
		result, err := h.runWrk(ctx, t.URL, h.opts.duration)
		done <- wrkOutcome{result.Requests, err}
	}()
	profile, profileErr := fetchProfile(ctx, pprofPort, seconds)
	outcome := <-done
	if outcome.err != nil {
		return nil, outcome.err
	}
	if profileErr != nil {
		return nil, profileErr
	}

	path := filepath.Join(resultsDir, stamp+"-paastis.cpu.pprof")
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, profile, 0o644); err != nil {
		return nil, err
	}
	var tops []string
	for _, args := range [][]string{{"-top", "-nodecount", "20"}, {"-top", "-cum", "-nodecount", "40"}} {
		args = append(append([]string{"tool", "pprof"}, args...), path)
		top, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, top)
		}
		tops = append(tops, strings.TrimSpace(string(top)))
	}
	if relative, err := filepath.Rel(h.root, path); err == nil && !strings.HasPrefix(relative, "..") {
		path = relative
	}
	return &cpuProfile{Path: path, Top: strings.Join(tops, "\n\n"), Requests: outcome.requests}, nil
}

// fetchProfile waits a second, then reads a CPU profile of seconds from
// the pprof endpoint of the overlay.
func fetchProfile(ctx context.Context, port, seconds int) ([]byte, error) {
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the CPU profile: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch the CPU profile: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the CPU profile: status %d: %s", resp.StatusCode, truncate(string(data), 200))
	}
	return data, nil
}
