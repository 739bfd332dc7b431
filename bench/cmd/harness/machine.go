package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where a run happened.
type machine struct {
	CPUs     int
	CPUModel string
	Kernel   string
	Memory   string
	// LoadAvg is the load average before the harness built anything.
	LoadAvg  string
	Versions [][2]string // tool, version
}

// describeMachine reads the CPU, kernel and memory from /proc, and the
// version of every tool that the run uses.
func describeMachine(ctx context.Context, paastis, loadAvg string) machine {
	m := machine{CPUs: runtime.NumCPU(), CPUModel: "unknown", Kernel: "unknown", Memory: "unknown"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPUModel = strings.TrimSpace(value)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if value, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				fields := strings.Fields(value)
				if kb, err := strconv.ParseInt(fields[0], 10, 64); err == nil && len(fields) == 2 {
					m.Memory = formatBytes(kb * 1024)
				}
			}
		}
	}
	m.LoadAvg = loadAvg

	tools := []struct {
		name string
		argv []string
	}{
		{"Go", []string{"go", "version"}},
		{"paastis", []string{paastis, "version"}},
		{"nginx", []string{"nginx", "-v"}},
		{"Caddy", []string{"caddy", "version"}},
		{"wrk", []string{"wrk", "--version"}},
		{"redis-server", []string{"redis-server", "--version"}},
	}
	for _, tool := range tools {
		m.Versions = append(m.Versions, [2]string{tool.name, toolVersion(ctx, tool.argv)})
	}
	return m
}

// toolVersion returns the first line that a version command printed on
// stdout or stderr (nginx prints on stderr, and wrk exits with 1).
func toolVersion(ctx context.Context, argv []string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	line, _, _ := bytes.Cut(bytes.TrimSpace(out), []byte("\n"))
	if len(line) == 0 {
		return "not found"
	}
	return string(line)
}

// loadAverage returns the 1, 5 and 15-minute load averages of
// /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}
