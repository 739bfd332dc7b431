package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// microPackages are the packages whose Go benchmarks the harness runs:
// the per-request path of internal/proxy and the benchmarks of bench/.
var microPackages = []string{"./internal/proxy/", "./bench/..."}

// microResult is the output of go test -bench.
type microResult struct {
	Command string
	// Lines holds the benchmark result lines, as go test printed them.
	Lines []string
	// Output is the whole output, kept for a failure.
	Output string
}

// runMicro runs the Go benchmarks without the tests, one count each.
func (h *harness) runMicro(ctx context.Context) (*microResult, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "-benchtime", h.opts.benchTime}, microPackages...)
	result := &microResult{Command: "go " + strings.Join(args, " ")}
	h.logger.Info("Go benchmarks", "command", result.Command)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = h.root
	out, err := cmd.CombinedOutput()
	result.Output = string(out)
	scanner := bufio.NewScanner(strings.NewReader(result.Output))
	for scanner.Scan() {
		if line := scanner.Text(); strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "ns/op") {
			result.Lines = append(result.Lines, line)
		}
	}
	if err != nil {
		return result, fmt.Errorf("%s: %w\n%s", result.Command, err, truncate(result.Output, 4000))
	}
	return result, nil
}
