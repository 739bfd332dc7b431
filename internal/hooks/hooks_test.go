package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/paastis/paastis/internal/testwait"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/config"
	"github.com/paastis/paastis/internal/engine"
)

// Commands and config.HookCommands have the same fields, so one converts to
// the other.
var _ = Commands(config.HookCommands{})

// testApp is the app passed to the hooks unless a test needs another.
var testApp = engine.App{
	Name:     "shop",
	ID:       "app-123",
	Provider: "local",
	Region:   "osc-fr1",
	URL:      "http://127.0.0.1:9000",
}

// syncBuffer is a bytes.Buffer that a slog handler and the test may use
// from different goroutines.
type syncBuffer struct {
	mu     sync.Mutex
	buffer bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.Write(p)
}

// records decodes the JSON log records written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var records []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.buffer.String()), "\n") {
		if line == "" {
			continue
		}
		var record map[string]any
		if err := json.Unmarshal([]byte(line), &record); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		records = append(records, record)
	}
	return records
}

// newTestRunner returns a Runner whose logs go, as JSON, to the returned
// buffer.
func newTestRunner(t *testing.T, commands Commands, timeout time.Duration) (*Runner, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New(commands, timeout, logger), logs
}

// readFile returns the content of path, failing the test if it is missing.
func readFile(t *testing.T, path string) string {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the hook did not write %s: %v", path, err)
	}
	return string(content)
}

// readPID reads the process id that a hook wrote to path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, path)))
	if err != nil {
		t.Fatalf("%s does not contain a process id: %v", path, err)
	}
	return pid
}

// processGone reports whether pid no longer runs: it does not exist, or it
// is a zombie that its new parent has not reaped yet.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name, which is in parentheses and may
	// contain spaces.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// killOnCleanup kills pid, a process that the test's hook started, if it
// still runs when the test ends.
func killOnCleanup(t *testing.T, pid int) {
	t.Helper()
	t.Cleanup(func() {
		if !processGone(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func TestRunHookRunsCommandOfStage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	write := func(command string) string {
		return `printf '` + command + ` %s' "$PAASTIS_EVENT" > "$PAASTIS_TEST_DIR/$PAASTIS_EVENT"`
	}
	runner, _ := newTestRunner(t, Commands{
		BeforeStart: write("BeforeStart"),
		AfterStart:  write("AfterStart"),
		BeforeStop:  write("BeforeStop"),
		AfterStop:   write("AfterStop"),
	}, 10*time.Second)

	tests := []struct {
		stage engine.HookStage
		want  string
	}{
		{engine.BeforeStart, "BeforeStart before_start"},
		{engine.AfterStart, "AfterStart after_start"},
		{engine.BeforeStop, "BeforeStop before_stop"},
		{engine.AfterStop, "AfterStop after_stop"},
	}
	for _, test := range tests {
		t.Run(string(test.stage), func(t *testing.T) {
			if err := runner.RunHook(t.Context(), test.stage, testApp); err != nil {
				t.Fatalf("RunHook returned an error: %v", err)
			}

			if got := readFile(t, filepath.Join(dir, string(test.stage))); got != test.want {
				t.Errorf("the hook wrote %q, expected %q", got, test.want)
			}
		})
	}
}

func TestRunHookPassesAppInEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	t.Setenv("PAASTIS_TEST_INHERITED", "inherited-value")
	t.Setenv("PAASTIS_APP_NAME", "stale-value-from-paastis-environment")
	runner, _ := newTestRunner(t, Commands{
		AfterStart: `env | grep -E '^PAASTIS_(EVENT|APP_NAME|APP_ID|PROVIDER|REGION|APP_URL|TEST_INHERITED)=' | sort > "$PAASTIS_TEST_DIR/env"`,
	}, 10*time.Second)

	if err := runner.RunHook(t.Context(), engine.AfterStart, testApp); err != nil {
		t.Fatalf("RunHook returned an error: %v", err)
	}

	want := strings.Join([]string{
		"PAASTIS_APP_ID=app-123",
		"PAASTIS_APP_NAME=shop",
		"PAASTIS_APP_URL=http://127.0.0.1:9000",
		"PAASTIS_EVENT=after_start",
		"PAASTIS_PROVIDER=local",
		"PAASTIS_REGION=osc-fr1",
		"PAASTIS_TEST_INHERITED=inherited-value",
	}, "\n") + "\n"
	if got := readFile(t, filepath.Join(dir, "env")); got != want {
		t.Errorf("the hook saw the environment\n%s\nexpected\n%s", got, want)
	}
}

func TestRunHookDoesNotRunAppData(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	marker := filepath.Join(dir, "injected")
	app := engine.App{
		Name:     "$(touch " + marker + "-name); '; touch " + marker + "-quote; `touch " + marker + "-backtick`",
		ID:       "\"; touch " + marker + "-id; \"",
		Provider: "local",
		URL:      "http://127.0.0.1:9000/$(touch " + marker + "-url)",
	}
	runner, _ := newTestRunner(t, Commands{
		// The unquoted expansion in echo is deliberate: the shell does not
		// evaluate substitutions inside a variable's value either.
		BeforeStop: `printf '%s\n%s\n%s' "$PAASTIS_APP_NAME" "$PAASTIS_APP_ID" "$PAASTIS_APP_URL" > "$PAASTIS_TEST_DIR/values"; echo $PAASTIS_APP_NAME $PAASTIS_APP_ID`,
	}, 10*time.Second)

	if err := runner.RunHook(t.Context(), engine.BeforeStop, app); err != nil {
		t.Fatalf("RunHook returned an error: %v", err)
	}

	want := app.Name + "\n" + app.ID + "\n" + app.URL
	if got := readFile(t, filepath.Join(dir, "values")); got != want {
		t.Errorf("the hook received\n%q\nexpected the values verbatim\n%q", got, want)
	}
	created, err := filepath.Glob(marker + "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(created) > 0 {
		t.Errorf("app data was executed as shell code, it created %q", created)
	}
}

func TestRunHookNonZeroExit(t *testing.T) {
	runner, _ := newTestRunner(t, Commands{
		BeforeStop: `echo "first line"; echo "database still busy" >&2; exit 3`,
	}, 10*time.Second)

	err := runner.RunHook(t.Context(), engine.BeforeStop, testApp)

	if err == nil {
		t.Fatal("RunHook returned no error for exit status 3")
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("error %v does not wrap an *exec.ExitError", err)
	}
	if exitErr.ExitCode() != 3 {
		t.Errorf("exit code = %d, expected 3", exitErr.ExitCode())
	}
	message := err.Error()
	// stdout and stderr are read by two goroutines, so their lines may
	// come in either order.
	for _, want := range []string{
		`before_stop hook for app "shop" failed with exit status 3`,
		"check HOOKS_BEFORE_STOP",
		"last output:\n",
		"\nfirst line",
		"\ndatabase still busy",
	} {
		if !strings.Contains(message, want) {
			t.Errorf("error %q does not contain %q", message, want)
		}
	}
}

func TestRunHookErrorKeepsLastLines(t *testing.T) {
	tests := []struct {
		name      string
		command   string
		wantLast  string
		wantGone  string
		wantLines int
	}{
		{"many short lines",
			`i=1; while [ $i -le 100 ]; do echo "line $i"; i=$((i+1)); done; exit 1`,
			"line 100", "line 80\n", maxTailLines},
		{"few long lines",
			`i=1; while [ $i -le 10 ]; do printf "long $i %01000d\n" 0; i=$((i+1)); done; exit 1`,
			"long 10 ", "long 6 ", 4},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			runner, _ := newTestRunner(t, Commands{AfterStop: test.command}, 10*time.Second)

			err := runner.RunHook(t.Context(), engine.AfterStop, testApp)

			if err == nil {
				t.Fatal("RunHook returned no error for exit status 1")
			}
			_, output, found := strings.Cut(err.Error(), "last output:\n")
			if !found {
				t.Fatalf("error %q has no output", err)
			}
			if !strings.Contains(output, test.wantLast) {
				t.Errorf("output does not contain the last line %q", test.wantLast)
			}
			if strings.Contains(output, test.wantGone) {
				t.Errorf("output still contains the early line %q", test.wantGone)
			}
			if lines := strings.Count(output, "\n") + 1; lines != test.wantLines {
				t.Errorf("output has %d lines, expected %d", lines, test.wantLines)
			}
			if len(output) > maxTailBytes {
				t.Errorf("output has %d bytes, expected at most %d", len(output), maxTailBytes)
			}
		})
	}
}

func TestRunHookTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	pidFile := filepath.Join(dir, "child.pid")
	const timeout = 500 * time.Millisecond
	runner, _ := newTestRunner(t, Commands{
		BeforeStart: `sleep 60 & echo $! > "$PAASTIS_TEST_DIR/child.pid"; echo "waiting for the child"; wait`,
	}, timeout)

	started := time.Now()
	err := runner.RunHook(t.Context(), engine.BeforeStart, testApp)
	elapsed := time.Since(started)

	childPID := readPID(t, pidFile)
	killOnCleanup(t, childPID)
	if err == nil {
		t.Fatal("RunHook returned no error for a hook that outlived its timeout")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	for _, want := range []string{
		`before_start hook for app "shop" timed out after 500ms`,
		"HOOKS_TIMEOUT",
		"waiting for the child",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if elapsed > timeout+5*time.Second {
		t.Errorf("RunHook returned after %s, expected soon after the %s timeout", elapsed, timeout)
	}
	testwait.Until(t, 5*time.Second, "the hook's background child is gone", func() bool {
		return processGone(childPID)
	})
}

func TestRunHookCancelKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	pidFile := filepath.Join(dir, "child.pid")
	runner, _ := newTestRunner(t, Commands{
		AfterStop: `sleep 60 & echo $! > "$PAASTIS_TEST_DIR/child.pid.tmp"; mv "$PAASTIS_TEST_DIR/child.pid.tmp" "$PAASTIS_TEST_DIR/child.pid"; wait`,
	}, 0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	result := make(chan error, 1)
	go func() { result <- runner.RunHook(ctx, engine.AfterStop, testApp) }()
	testwait.Until(t, 5*time.Second, "the hook wrote its child's process id", func() bool {
		_, err := os.Stat(pidFile)
		return err == nil
	})
	childPID := readPID(t, pidFile)
	killOnCleanup(t, childPID)
	cancel()

	var err error
	select {
	case err = <-result:
	case <-time.After(5 * time.Second):
		t.Fatal("RunHook did not return within 5s of the cancellation")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
	testwait.Until(t, 5*time.Second, "the hook's background child is gone", func() bool {
		return processGone(childPID)
	})
}

func TestRunHookBackgroundOutputDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	runner, logs := newTestRunner(t, Commands{
		// The background sleep inherits stdout and keeps it open after the
		// shell exits.
		AfterStart: `sleep 30 & echo $! > "$PAASTIS_TEST_DIR/child.pid"; echo started`,
	}, 10*time.Second)
	runner.waitDelay = 200 * time.Millisecond

	started := time.Now()
	err := runner.RunHook(t.Context(), engine.AfterStart, testApp)
	elapsed := time.Since(started)

	killOnCleanup(t, readPID(t, filepath.Join(dir, "child.pid")))
	if err != nil {
		t.Errorf("RunHook returned %v, expected nil because the shell exited with 0", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("RunHook returned after %s, expected soon after the 200ms wait delay", elapsed)
	}
	warned := slices.ContainsFunc(logs.records(t), func(record map[string]any) bool {
		return record["level"] == "WARN" && strings.Contains(record["msg"].(string), "background process")
	})
	if !warned {
		t.Error("no warning was logged about the background process")
	}
}

func TestRunHookLogsOutputLineByLine(t *testing.T) {
	runner, logs := newTestRunner(t, Commands{
		AfterStart: `echo one; echo two >&2; printf 'three\r\nfour'`,
	}, 10*time.Second)

	if err := runner.RunHook(t.Context(), engine.AfterStart, testApp); err != nil {
		t.Fatalf("RunHook returned an error: %v", err)
	}

	var lines []string
	var finished []map[string]any
	for _, record := range logs.records(t) {
		switch record["msg"] {
		case "hook output":
			if record["app"] != "shop" || record["hook"] != "after_start" {
				t.Errorf("output record %v lacks app=shop and hook=after_start", record)
			}
			lines = append(lines, record["stream"].(string)+" "+record["line"].(string))
		case "hook finished":
			finished = append(finished, record)
		}
	}
	// The two streams are read by two goroutines, so only the order within
	// one stream is fixed.
	slices.Sort(lines)
	want := []string{"stderr two", "stdout four", "stdout one", "stdout three"}
	if !slices.Equal(lines, want) {
		t.Errorf("logged lines %q, expected %q", lines, want)
	}
	if len(finished) != 1 {
		t.Fatalf("expected 1 hook finished record, got %d", len(finished))
	}
	if _, ok := finished[0]["duration"].(float64); !ok {
		t.Errorf("hook finished record %v has no numeric duration", finished[0])
	}
	if finished[0]["exit_code"] != float64(0) {
		t.Errorf("hook finished record %v does not give exit_code 0", finished[0])
	}
}

func TestRunHookEmptyCommandIsNoop(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	runner, logs := newTestRunner(t, Commands{AfterStart: `touch "$PAASTIS_TEST_DIR/ran"`}, 10*time.Second)

	for _, stage := range []engine.HookStage{engine.BeforeStart, engine.BeforeStop, engine.AfterStop} {
		if err := runner.RunHook(t.Context(), stage, testApp); err != nil {
			t.Errorf("RunHook(%s) with no command returned %v, expected nil", stage, err)
		}
	}

	if _, err := os.Stat(filepath.Join(dir, "ran")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stage without command ran another stage's command (stat: %v)", err)
	}
	if records := logs.records(t); len(records) != 0 {
		t.Errorf("stages without command logged %v, expected nothing", records)
	}
}

func TestRunHookRejectsUnknownStage(t *testing.T) {
	runner, _ := newTestRunner(t, Commands{BeforeStart: "true"}, 10*time.Second)

	err := runner.RunHook(t.Context(), engine.HookStage("during_start"), testApp)

	if err == nil || !strings.Contains(err.Error(), `unknown hook stage "during_start"`) {
		t.Errorf("RunHook returned %v, expected an unknown stage error", err)
	}
}

func TestRunHookConcurrentApps(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAASTIS_TEST_DIR", dir)
	runner, _ := newTestRunner(t, Commands{
		AfterStop: `echo "stopping $PAASTIS_APP_NAME"; printf '%s' "$PAASTIS_APP_NAME" > "$PAASTIS_TEST_DIR/$PAASTIS_APP_NAME"`,
	}, 10*time.Second)
	names := []string{"shop", "blog", "admin", "api"}

	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Go(func() {
			app := testApp
			app.Name = name
			errs[i] = runner.RunHook(t.Context(), engine.AfterStop, app)
		})
	}
	wg.Wait()

	for i, name := range names {
		if errs[i] != nil {
			t.Errorf("RunHook for %s returned %v", name, errs[i])
		}
		if got := readFile(t, filepath.Join(dir, name)); got != name {
			t.Errorf("hook of %s wrote %q", name, got)
		}
	}
}

func TestNewWithNilLogger(t *testing.T) {
	runner := New(Commands{AfterStart: "echo quiet"}, time.Second, nil)

	if err := runner.RunHook(t.Context(), engine.AfterStart, testApp); err != nil {
		t.Errorf("RunHook with a nil logger returned %v", err)
	}
}
