package main_test

import (
	"bufio"
	"context"
	"fmt"
	"github.com/paastis/paastis/internal/testwait"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/paastis/paastis/internal/e2e"
	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

// binaries holds the paastis and test app binaries, built once for all
// the tests of this package.
type binaries struct {
	paastis, testapp string
}

var (
	buildOnce sync.Once
	built     binaries
	buildDir  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "paastis-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(t *testing.T) binaries {
	t.Helper()
	buildOnce.Do(func() {
		built.paastis = e2e.Build(t, "./cmd/paastis", buildDir)
		built.testapp = e2e.Build(t, "./internal/e2e/testapp", buildDir)
	})
	if built.paastis == "" || built.testapp == "" {
		t.Fatal("building the binaries failed in an earlier test")
	}
	return built
}

// world is one paastis process with local test apps.
type world struct {
	t        *testing.T
	dir      string
	paastis  *e2e.Instance
	startLog map[string]string
}

type appSpec struct {
	name    string
	command string // default: the test app
}

// startWorld writes an apps file for the given apps and starts paastis on
// it with env.
func startWorld(t *testing.T, apps []appSpec, env map[string]string) *world {
	t.Helper()
	b := build(t)
	w := &world{t: t, dir: t.TempDir(), startLog: map[string]string{}}

	var yaml strings.Builder
	yaml.WriteString("apps:\n")
	for _, app := range apps {
		command := app.command
		if command == "" {
			command = b.testapp
		}
		w.startLog[app.name] = filepath.Join(w.dir, app.name+".starts")
		fmt.Fprintf(&yaml, "  - name: %s\n    command: %q\n    readiness_path: /\n    stop_grace_period: 2s\n    env:\n      APP_NAME: %s\n      START_LOG: %q\n",
			app.name, command, app.name, w.startLog[app.name])
	}
	appsFile := filepath.Join(w.dir, "apps.yaml")
	if err := os.WriteFile(appsFile, []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	full := map[string]string{
		"PROVIDER_NAME":                         "local",
		"PROVIDER_LOCAL_CONFIG":                 appsFile,
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "* * * * * *",
		"START_AND_STOP_MAX_IDLE_TIME":          "1h",
		"WAKE_TIMEOUT":                          "30s",
	}
	for k, v := range env {
		full[k] = v
	}
	w.paastis = e2e.Start(t, b.paastis, w.dir, full)
	return w
}

// starts returns how many times the app's process started.
func (w *world) starts(app string) int {
	data, err := os.ReadFile(w.startLog[app])
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\n")
}

// pids returns the pids of every process start of the app.
func (w *world) pids(app string) []int {
	data, _ := os.ReadFile(w.startLog[app])
	var pids []int
	for line := range strings.FieldsSeq(string(data)) {
		var pid int
		fmt.Sscan(line, &pid)
		pids = append(pids, pid)
	}
	return pids
}

func (w *world) get(app, path string) (int, string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	status, body, err := w.paastis.Request(ctx, http.MethodGet, app, path, nil)
	if err != nil {
		w.t.Fatalf("GET %s%s: %v", app, path, err)
	}
	return status, body
}

// processAlive reports whether pid names a live process. A zombie counts
// as dead: this machine's init may never reap orphans.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in brackets: "pid (comm) S ...".
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestRequestWakesStoppedApp(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, nil)
	if got := w.starts("alpha"); got != 0 {
		t.Fatalf("app started %d times before any request, want 0", got)
	}
	status, body := w.get("alpha", "/some/path?x=1")
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", status, body)
	}
	if !strings.HasPrefix(body, "hello from alpha") || !strings.HasSuffix(body, "/some/path?x=1") {
		t.Errorf("body = %q, want the app's answer for /some/path?x=1", body)
	}
	if got := w.starts("alpha"); got != 1 {
		t.Errorf("app started %d times, want 1", got)
	}
}

func TestConcurrentRequestsCauseOneStart(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, nil)
	const requests = 50
	var wg sync.WaitGroup
	statuses := make(chan int, requests)
	for range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			status, _, err := w.paastis.Request(ctx, http.MethodGet, "alpha", "/", nil)
			if err != nil {
				t.Errorf("request: %v", err)
			}
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusOK {
			t.Errorf("status = %d, want 200", status)
		}
	}
	if got := w.starts("alpha"); got != 1 {
		t.Errorf("%d concurrent requests caused %d starts, want 1", requests, got)
	}
}

func TestIdleAppIsStoppedAndWokenAgain(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "2s"})
	if status, _ := w.get("alpha", "/"); status != http.StatusOK {
		t.Fatalf("first request status = %d", status)
	}
	pid := w.pids("alpha")[0]
	testwait.Until(t, 15*time.Second, "the idle app's process to exit", func() bool { return !processAlive(pid) })
	w.paastis.WaitLog(t, "app stopped", 5*time.Second)

	status, body := w.get("alpha", "/")
	if status != http.StatusOK || !strings.HasPrefix(body, "hello from alpha") {
		t.Fatalf("request after the stop: status %d body %q", status, body)
	}
	if got := w.starts("alpha"); got != 2 {
		t.Errorf("starts = %d, want 2", got)
	}
}

func TestStreamLongerThanIdleTimeIsNotCut(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "1s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.paastis.URL+"/stream?for=4s", nil)
	req.Host = "alpha.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("stream cut: %v after %q", err, body)
	}
	if !strings.HasSuffix(string(body), "done\n") {
		t.Fatalf("stream did not finish: %q", body)
	}
	if got := w.paastis.CountLog("stopping app"); got != 0 {
		t.Errorf("app was stopped %d times during a stream, want 0", got)
	}
	if got := w.starts("alpha"); got != 1 {
		t.Errorf("starts = %d, want 1", got)
	}
}

func TestWebsocketKeepsAppUp(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "1s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.paastis.URL, "http")+"/ws", &websocket.DialOptions{
		Host: "alpha.localhost",
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.CloseNow()

	// Hold the socket open, quiet, for at least four sweeps of a
	// one-second cron: more than three idle times.
	sweeps := w.paastis.CountLog("sweep done")
	testwait.Until(t, 20*time.Second, "four sweeps", func() bool { return w.paastis.CountLog("sweep done") >= sweeps+4 })
	if err := conn.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatalf("write after 3 idle times: %v", err)
	}
	_, data, err := conn.Read(ctx)
	if err != nil || string(data) != "ping" {
		t.Fatalf("echo after 3 idle times = %q, %v", data, err)
	}
	if got := w.paastis.CountLog("stopping app"); got != 0 {
		t.Errorf("app was stopped %d times with an open websocket, want 0", got)
	}
}

func TestUnknownHostGets404(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, nil)
	status, body := w.get("nope", "/")
	if status != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", status)
	}
	if !strings.Contains(body, "nope") {
		t.Errorf("404 body does not name the app: %q", body)
	}
}

func TestFailingCommandGivesClearError(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "broken", command: `sh -c 'echo "missing database URL" >&2; exit 3'`}}, nil)
	begin := time.Now()
	status, body := w.get("broken", "/")
	if status != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502; body %q", status, body)
	}
	if elapsed := time.Since(begin); elapsed > 20*time.Second {
		t.Errorf("the failure took %s to report; want it well before the wake timeout", elapsed)
	}
	if !strings.Contains(body, "failed to start") || !strings.Contains(body, "missing database URL") {
		t.Errorf("body does not explain the failure: %q", body)
	}
	w.paastis.WaitLog(t, "app start failed", 5*time.Second)
}

func TestIgnoredAppIsLeftAlone(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}, {name: "legacy"}}, map[string]string{
		"REGISTRY_IGNORED_APPS": " leg* , other",
	})
	status, body := w.get("legacy", "/")
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503; body %q", status, body)
	}
	if !strings.Contains(body, "not manage") {
		t.Errorf("body does not say the app is not managed: %q", body)
	}
	if got := w.starts("legacy"); got != 0 {
		t.Errorf("ignored app started %d times, want 0", got)
	}
}

func TestHooksRunInOrderWithAppEnvironment(t *testing.T) {
	dir := t.TempDir()
	hookLog := filepath.Join(dir, "hooks.log")
	hook := fmt.Sprintf(`echo "$PAASTIS_EVENT $PAASTIS_APP_NAME $PAASTIS_PROVIDER $PAASTIS_APP_URL" >> %q`, hookLog)
	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{
		"START_AND_STOP_MAX_IDLE_TIME": "1s",
		"HOOKS_BEFORE_START":           hook,
		"HOOKS_AFTER_START":            hook,
		"HOOKS_BEFORE_STOP":            hook,
		"HOOKS_AFTER_STOP":             hook,
	})
	if status, _ := w.get("alpha", "/"); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	testwait.Until(t, 15*time.Second, "the after-stop hook", func() bool {
		data, _ := os.ReadFile(hookLog)
		return strings.Contains(string(data), "after_stop")
	})
	data, _ := os.ReadFile(hookLog)
	var events []string
	scanner := bufio.NewScanner(strings.NewReader(string(data)))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) != 4 {
			t.Fatalf("hook line %q: want event, app, provider and URL", scanner.Text())
		}
		if fields[1] != "alpha" || fields[2] != "local" || !strings.HasPrefix(fields[3], "http://127.0.0.1:") {
			t.Errorf("hook line %q: wrong app data", scanner.Text())
		}
		events = append(events, fields[0])
	}
	if got, want := strings.Join(events, ","), "before_start,after_start,before_stop,after_stop"; got != want {
		t.Errorf("hook order = %s, want %s", got, want)
	}
}

func TestFailingBeforeStopHookKeepsAppRunning(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{
		"START_AND_STOP_MAX_IDLE_TIME": "1s",
		"HOOKS_BEFORE_STOP":            "echo 'backup failed' >&2; exit 1",
	})
	if status, _ := w.get("alpha", "/"); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	w.paastis.WaitLog(t, "app stop failed", 15*time.Second)
	pid := w.pids("alpha")[0]
	if !processAlive(pid) {
		t.Error("app process gone although the before-stop hook failed")
	}
	if !strings.Contains(w.paastis.Logs(), "backup failed") {
		t.Error("the hook's output is not in the logs")
	}
}

func TestShutdownDrainsInFlightRequest(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, nil)
	if status, _ := w.get("alpha", "/"); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	pid := w.pids("alpha")[0]

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		status, body, err := w.paastis.Request(ctx, http.MethodGet, "alpha", "/slow?ms=1500", nil)
		done <- result{status, body, err}
	}()
	w.paastis.WaitLog(t, "slow request received", 10*time.Second)
	if err := w.paastis.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, "slow answer") {
		t.Fatalf("in-flight request during shutdown: status %d body %q err %v", r.status, r.body, r.err)
	}
	if err := w.paastis.Wait(20 * time.Second); err != nil {
		t.Fatalf("paastis exit: %v", err)
	}
	if processAlive(pid) {
		t.Error("the app's process outlived paastis")
	}
}

func TestSeveralProvidersServeTheirApps(t *testing.T) {
	fake, err := clevercloudtest.Listen(clevercloudtest.Options{
		OperationDelay: 200 * time.Millisecond,
		Apps: []clevercloudtest.AppSeed{
			{ID: "app_00000000-0000-4000-8000-0000000000c1", Name: "Shop Front", Running: false, Response: "shop front on clever cloud\n"},
		},
	})
	if err != nil {
		t.Fatalf("start the fake Clever Cloud API: %v", err)
	}
	t.Cleanup(fake.Close)

	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{
		"PROVIDER_NAME":                         "local, clever-cloud",
		"PROVIDER_CLEVER_API_HOST":              fake.URL,
		"PROVIDER_CLEVER_OAUTH_CONSUMER_KEY":    clevercloudtest.DefaultConsumerKey,
		"PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET": clevercloudtest.DefaultConsumerSecret,
		"PROVIDER_CLEVER_TOKEN":                 clevercloudtest.DefaultToken,
		"PROVIDER_CLEVER_SECRET":                clevercloudtest.DefaultTokenSecret,
		"PROVIDER_CLEVER_UPSTREAM_SCHEME":       "http",
	})

	status, body := w.get("alpha", "/")
	if status != http.StatusOK || !strings.HasPrefix(body, "hello from alpha") {
		t.Errorf("local app: status %d, body %q", status, body)
	}
	status, body = w.get("shop-front", "/")
	if status != http.StatusOK || body != "shop front on clever cloud\n" {
		t.Errorf("Clever Cloud app: status %d, body %q", status, body)
	}
}
