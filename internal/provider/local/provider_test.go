package local_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

func TestStartRunsCommandWithPortAndEnv(t *testing.T) {
	t.Setenv("GREETING", "inherited")
	t.Setenv("PAASTIS_TEST_INHERITED", "kept")
	provider, logs := newProvider(t, `apps:
  - name: printer
    command: echo "port=$PORT greeting=$GREETING inherited=$PAASTIS_TEST_INHERITED"; echo "to stderr" >&2; sleep 300
    env:
      GREETING: configured
`)

	app := startApp(t, provider, "printer")
	waitForState(t, provider, app, engine.StateRunning)

	if app.State != engine.StateRunning {
		t.Errorf("Apps State = %q after Start, want %q", app.State, engine.StateRunning)
	}
	if _, err := strconv.Atoi(app.Details["pid"]); err != nil {
		t.Errorf("pid detail = %q, want a number", app.Details["pid"])
	}

	wantStdout := fmt.Sprintf("port=%s greeting=configured inherited=kept", app.Details["port"])
	eventually(t, 10*time.Second, func() (bool, string) {
		found := logs.find("app output", map[string]string{"app": "printer", "stream": "stdout", "line": wantStdout})
		return len(found) == 1, fmt.Sprintf("%d stdout records with line %q", len(found), wantStdout)
	})
	eventually(t, 10*time.Second, func() (bool, string) {
		found := logs.find("app output", map[string]string{"app": "printer", "stream": "stderr", "line": "to stderr"})
		return len(found) == 1, fmt.Sprintf("%d stderr records", len(found))
	})
	if found := logs.find("app output", map[string]string{"provider": "local"}); len(found) == 0 {
		t.Error("output records lack the provider attribute")
	}
}

func TestStartOfRunningAppIsNoop(t *testing.T) {
	t.Parallel()
	provider, _ := newProvider(t, `apps:
  - name: sleeper
    command: sleep 300
`)

	first := startApp(t, provider, "sleeper")
	second := startApp(t, provider, "sleeper")

	if first.Details["pid"] != second.Details["pid"] {
		t.Errorf("second Start spawned pid %s, want the running pid %s", second.Details["pid"], first.Details["pid"])
	}
}

func TestStopSendsStopSignal(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	provider, logs := newProvider(t, fmt.Sprintf(`apps:
  - name: waiter
    command: sleep 300 & echo $! > %q; wait
`, pidFile))

	app := startApp(t, provider, "waiter")
	leaderPID, _ := strconv.Atoi(app.Details["pid"])
	grandchildPID := readPID(t, pidFile)

	started := time.Now()
	saved, err := provider.Stop(t.Context(), app)
	elapsed := time.Since(started)

	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if saved != nil {
		t.Errorf("Stop returned saved data %v, want nil", saved)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Stop took %s, want well under the 10s grace period because SIGTERM ends the group", elapsed)
	}
	state, err := provider.State(t.Context(), app)
	if state != engine.StateStopped || err != nil {
		t.Errorf("State after Stop = %q, %v; want %q, nil", state, err, engine.StateStopped)
	}
	if !processGone(leaderPID) {
		t.Errorf("leader %d still alive after Stop", leaderPID)
	}
	waitForProcessGone(t, grandchildPID)
	if found := logs.find("app process stopped", map[string]string{"app": "waiter", "status": "signal SIGTERM"}); len(found) != 1 {
		t.Errorf("found %d stop records with status SIGTERM, want 1", len(found))
	}
}

func TestStopKillsGroupAfterGracePeriod(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	provider, logs := newProvider(t, fmt.Sprintf(`apps:
  - name: stubborn
    command: trap "" TERM; sleep 300 & echo $! > %q; wait
    stop_grace_period: 300ms
`, pidFile))

	app := startApp(t, provider, "stubborn")
	leaderPID, _ := strconv.Atoi(app.Details["pid"])
	grandchildPID := readPID(t, pidFile)

	started := time.Now()
	_, err := provider.Stop(t.Context(), app)
	elapsed := time.Since(started)

	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if elapsed < 300*time.Millisecond {
		t.Errorf("Stop took %s, want at least the 300ms grace period", elapsed)
	}
	if !processGone(leaderPID) {
		t.Errorf("leader %d still alive after Stop", leaderPID)
	}
	waitForProcessGone(t, grandchildPID)
	if found := logs.find("app process group still running after the stop grace period, sending SIGKILL", map[string]string{"app": "stubborn"}); len(found) != 1 {
		t.Errorf("found %d SIGKILL records, want 1", len(found))
	}
	state, err := provider.State(t.Context(), app)
	if state != engine.StateStopped || err != nil {
		t.Errorf("State after Stop = %q, %v; want %q, nil", state, err, engine.StateStopped)
	}
}

func TestStopLetsGroupFinishAfterLeaderExits(t *testing.T) {
	t.Parallel()
	// The leader shell dies on SIGTERM at once, like "go run" does, while
	// its background child needs 200ms to clean up.
	provider, logs := newProvider(t, `apps:
  - name: wrapper
    command: (trap 'sleep 0.2; echo cleaned up; exit 0' TERM; echo ready; while :; do sleep 0.05; done) & wait
    stop_grace_period: 10s
`)

	app := startApp(t, provider, "wrapper")
	eventually(t, 10*time.Second, func() (bool, string) {
		return len(logs.find("app output", map[string]string{"app": "wrapper", "line": "ready"})) == 1, "no ready line"
	})

	if _, err := provider.Stop(t.Context(), app); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	if found := logs.find("app output", map[string]string{"app": "wrapper", "line": "cleaned up"}); len(found) != 1 {
		t.Errorf("found %d cleanup lines, want 1 because the child gets the grace period after the leader exits", len(found))
	}
	if found := logs.find("app process group still running after the stop grace period, sending SIGKILL", nil); len(found) != 0 {
		t.Errorf("found %d SIGKILL records, want none", len(found))
	}
}

func TestStopHonoursContextCancellation(t *testing.T) {
	t.Parallel()
	provider, _ := newProvider(t, `apps:
  - name: stubborn
    command: trap "" TERM; echo ready; sleep 300
    stop_grace_period: 1m
`)
	app := startApp(t, provider, "stubborn")
	leaderPID, _ := strconv.Atoi(app.Details["pid"])

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	started := time.Now()
	_, err := provider.Stop(ctx, app)
	elapsed := time.Since(started)

	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("Stop took %s, want it to send SIGKILL when the context ends", elapsed)
	}
	if !processGone(leaderPID) {
		t.Errorf("leader %d still alive after Stop", leaderPID)
	}
}

func TestStopOfStoppedAppIsNoop(t *testing.T) {
	t.Parallel()
	provider, _ := newProvider(t, `apps:
  - name: sleeper
    command: sleep 300
`)
	app := appByName(t, provider, "sleeper")

	saved, err := provider.Stop(t.Context(), app)

	if err != nil {
		t.Errorf("Stop of a never started app: %v", err)
	}
	if saved != nil {
		t.Errorf("Stop returned saved data %v, want nil", saved)
	}
}

func TestStateReportsExitByItself(t *testing.T) {
	t.Parallel()
	provider, logs := newProvider(t, `apps:
  - name: broken
    command: echo "connecting"; echo "missing database URL" >&2; exit 3
`)

	app := startApp(t, provider, "broken")

	var stateErr error
	eventually(t, 10*time.Second, func() (bool, string) {
		var state engine.State
		state, stateErr = provider.State(t.Context(), app)
		return state == engine.StateStopped && stateErr != nil, fmt.Sprintf("State = %q, %v", state, stateErr)
	})
	for _, want := range []string{`local app "broken"`, "exit status 3", "connecting", "missing database URL"} {
		if !strings.Contains(stateErr.Error(), want) {
			t.Errorf("State error does not contain %q:\n%v", want, stateErr)
		}
	}

	if listed := appByName(t, provider, "broken"); listed.State != engine.StateStopped {
		t.Errorf("Apps State = %q, want %q", listed.State, engine.StateStopped)
	}
	if found := logs.find("app process exited by itself", map[string]string{"app": "broken", "status": "exit status 3"}); len(found) != 1 {
		t.Errorf("found %d exit records, want exactly 1 after several State calls", len(found))
	}
}

func TestExitByItselfKillsRestOfGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	provider, _ := newProvider(t, fmt.Sprintf(`apps:
  - name: leaky
    command: sleep 300 & echo $! > %q; sleep 0.2; exit 1
`, pidFile))

	app := startApp(t, provider, "leaky")
	grandchildPID := readPID(t, pidFile)

	eventually(t, 10*time.Second, func() (bool, string) {
		state, err := provider.State(t.Context(), app)
		return state == engine.StateStopped, fmt.Sprintf("State = %q, %v", state, err)
	})
	waitForProcessGone(t, grandchildPID)
}

func TestStartAfterExitRunsAgain(t *testing.T) {
	t.Parallel()
	provider, _ := newProvider(t, `apps:
  - name: short
    command: sleep 0.1
`)
	first := startApp(t, provider, "short")
	eventually(t, 10*time.Second, func() (bool, string) {
		state, err := provider.State(t.Context(), first)
		return state == engine.StateStopped, fmt.Sprintf("State = %q, %v", state, err)
	})

	second := startApp(t, provider, "short")

	if second.Details["pid"] == first.Details["pid"] {
		t.Errorf("Start after an exit kept pid %s, want a new process", first.Details["pid"])
	}
}

func TestStartFailsAtOnce(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		content string
		want    string
	}{
		{
			name: "missing dir fails the start",
			content: `apps:
  - name: app
    command: sleep 300
    dir: /nonexistent/paastis-test-dir
`,
			want: "/nonexistent/paastis-test-dir",
		},
		{
			name: "missing program fails the start",
			content: `apps:
  - name: app
    command: ["/nonexistent/paastis-test-program"]
`,
			want: "/nonexistent/paastis-test-program",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			provider, _ := newProvider(t, test.content)
			app := appByName(t, provider, "app")

			err := provider.Start(t.Context(), app)

			if err == nil {
				t.Fatal("Start returned no error")
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error does not contain %q: %v", test.want, err)
			}
			state, stateErr := provider.State(t.Context(), app)
			if state != engine.StateStopped || stateErr != nil {
				t.Errorf("State after a failed Start = %q, %v; want %q, nil", state, stateErr, engine.StateStopped)
			}
		})
	}
}

func TestUnknownAppIsNotFound(t *testing.T) {
	t.Parallel()
	provider, _ := newProvider(t, `apps:
  - name: sleeper
    command: sleep 300
`)
	unknown := engine.App{Name: "absent", Provider: "local"}

	err := provider.Start(t.Context(), unknown)
	if !errors.Is(err, engine.ErrAppNotFound) {
		t.Errorf("Start error = %v, want ErrAppNotFound", err)
	}
	_, err = provider.Stop(t.Context(), unknown)
	if !errors.Is(err, engine.ErrAppNotFound) {
		t.Errorf("Stop error = %v, want ErrAppNotFound", err)
	}
	_, err = provider.State(t.Context(), unknown)
	if !errors.Is(err, engine.ErrAppNotFound) {
		t.Errorf("State error = %v, want ErrAppNotFound", err)
	}
}

func TestOutputLongLineIsTruncated(t *testing.T) {
	t.Parallel()
	provider, logs := newProvider(t, `apps:
  - name: chatty
    command: head -c 20000 /dev/zero | tr '\0' a; echo; echo next; sleep 300
`)

	startApp(t, provider, "chatty")

	eventually(t, 10*time.Second, func() (bool, string) {
		return len(logs.find("app output", map[string]string{"app": "chatty", "line": "next"})) == 1, "no line after the long one"
	})
	found := logs.find("app output", map[string]string{"app": "chatty", "truncated": "true"})
	if len(found) != 1 {
		t.Fatalf("found %d truncated records, want 1", len(found))
	}
	if got := len(found[0].attrs["line"]); got != 8<<10 {
		t.Errorf("truncated line has %d bytes, want %d", got, 8<<10)
	}
}

func TestConcurrentCallsForDifferentApps(t *testing.T) {
	t.Parallel()
	var config strings.Builder
	config.WriteString("apps:\n")
	for i := range 4 {
		fmt.Fprintf(&config, "  - name: app-%d\n    command: echo started; sleep 300\n", i)
	}
	provider, _ := newProvider(t, config.String())

	var wg sync.WaitGroup
	errs := make(chan error, 4*3)
	for i := range 4 {
		wg.Go(func() {
			app := engine.App{Name: fmt.Sprintf("app-%d", i)}
			for range 2 {
				if err := provider.Start(t.Context(), app); err != nil {
					errs <- err
				}
				if _, err := provider.Apps(t.Context()); err != nil {
					errs <- err
				}
				if _, err := provider.Stop(t.Context(), app); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		t.Error(err)
	}
	for i := range 4 {
		state, err := provider.State(t.Context(), engine.App{Name: fmt.Sprintf("app-%d", i)})
		if state != engine.StateStopped || err != nil {
			t.Errorf("app-%d: State = %q, %v; want %q, nil", i, state, err, engine.StateStopped)
		}
	}
}

func TestCloseStopsEveryApp(t *testing.T) {
	t.Parallel()
	pidDir := t.TempDir()
	provider, _ := newProvider(t, fmt.Sprintf(`apps:
  - name: first
    command: sleep 300 & echo $! > %q; wait
  - name: second
    command: trap "" TERM; sleep 300 & echo $! > %q; wait
    stop_grace_period: 200ms
  - name: never-started
    command: sleep 300
`, filepath.Join(pidDir, "first"), filepath.Join(pidDir, "second")))

	var pids []int
	for _, name := range []string{"first", "second"} {
		app := startApp(t, provider, name)
		leaderPID, _ := strconv.Atoi(app.Details["pid"])
		pids = append(pids, leaderPID, readPID(t, filepath.Join(pidDir, name)))
	}

	if err := provider.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for _, pid := range pids {
		waitForProcessGone(t, pid)
	}
	for _, name := range []string{"first", "second"} {
		if state := appByName(t, provider, name).State; state != engine.StateStopped {
			t.Errorf("app %q: State = %q after Close, want %q", name, state, engine.StateStopped)
		}
	}
	err := provider.Start(t.Context(), appByName(t, provider, "never-started"))
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Start after Close = %v, want an error saying the provider is closed", err)
	}
}
