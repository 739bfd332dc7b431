package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/paastis/paastis/internal/testwait"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/e2e"
)

// cliResult is the outcome of one run of the paastis binary.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the paastis binary with args in an empty folder, so that no
// .env is read, with env over a minimal environment.
func runCLI(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, build(t).paastis, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for key, value := range env {
		cmd.Env = append(cmd.Env, key+"="+value)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run paastis %v: %v", args, err)
	}
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// adminWorld is a paastis process with its admin listener on a free port,
// and the environment that points the CLI at it.
type adminWorld struct {
	*world
	adminURL string
	cliEnv   map[string]string
}

func startAdminWorld(t *testing.T, token string, apps ...string) *adminWorld {
	t.Helper()
	port := strconv.Itoa(e2e.FreePort(t))
	env := map[string]string{"ADMIN_PORT": port}
	if token != "" {
		env["ADMIN_API_TOKEN"] = token
	}
	specs := make([]appSpec, len(apps))
	for i, app := range apps {
		specs[i] = appSpec{name: app}
	}
	w := startWorld(t, specs, env)
	w.paastis.WaitLog(t, "admin listening", 10*time.Second)
	adminURL := "http://127.0.0.1:" + port
	return &adminWorld{
		world:    w,
		adminURL: adminURL,
		cliEnv:   map[string]string{"PAASTIS_ADMIN_URL": adminURL, "ADMIN_API_TOKEN": token},
	}
}

// appState returns the state of app from the admin API.
func (w *adminWorld) appState(app string) string {
	w.t.Helper()
	req, _ := http.NewRequestWithContext(w.t.Context(), http.MethodGet, w.adminURL+"/api/apps/"+app, nil)
	if token := w.cliEnv["ADMIN_API_TOKEN"]; token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("GET /api/apps/%s: %v", app, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Status
}

func TestCLIAppsWakeAndSleep(t *testing.T) {
	const token = "cli-s3cret"
	w := startAdminWorld(t, token, "alpha", "beta")
	// The first sweep lists the apps.
	testwait.Until(t, 10*time.Second, "the apps are listed", func() bool { return w.appState("beta") == "stopped" })

	wake := runCLI(t, w.cliEnv, "wake", "alpha")
	if wake.code != 0 || !strings.HasPrefix(wake.stdout, "alpha is running") {
		t.Fatalf("wake alpha: exit %d, stdout %q, stderr %q", wake.code, wake.stdout, wake.stderr)
	}
	if got := w.starts("alpha"); got != 1 {
		t.Errorf("alpha started %d times, expected 1", got)
	}
	pid := w.pids("alpha")[0]
	if !processAlive(pid) {
		t.Errorf("alpha's process %d is not running after wake", pid)
	}

	apps := runCLI(t, w.cliEnv, "apps")
	if apps.code != 0 {
		t.Fatalf("apps: exit %d, stderr %q", apps.code, apps.stderr)
	}
	lines := strings.Split(strings.TrimSpace(apps.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("apps printed %d lines, expected a header and 2 apps:\n%s", len(lines), apps.stdout)
	}
	for i, pattern := range []string{
		`^NAME\s+STATE\s+LAST ACCESS\s+SLEEPS IN\s+PROVIDER\s+REGION$`,
		`^alpha\s+running\s+\d+s ago\s+(59m|1h00m)\s+local\s+-$`,
		`^beta\s+stopped\s+\d+s ago\s+-\s+local\s+-$`,
	} {
		if !regexp.MustCompile(pattern).MatchString(lines[i]) {
			t.Errorf("line %d = %q, expected it to match %s", i, lines[i], pattern)
		}
	}

	asJSON := runCLI(t, w.cliEnv, "apps", "-json")
	var list struct {
		Apps []map[string]any `json:"apps"`
	}
	if err := json.Unmarshal([]byte(asJSON.stdout), &list); err != nil || len(list.Apps) != 2 {
		t.Errorf("apps -json = %q, expected the JSON of 2 apps (%v)", asJSON.stdout, err)
	}

	sleep := runCLI(t, w.cliEnv, "sleep", "alpha")
	if sleep.code != 0 || !strings.HasPrefix(sleep.stdout, "alpha is stopped") {
		t.Fatalf("sleep alpha: exit %d, stdout %q, stderr %q", sleep.code, sleep.stdout, sleep.stderr)
	}
	testwait.Until(t, 10*time.Second, "alpha's process exits", func() bool { return !processAlive(pid) })
	if state := w.appState("alpha"); state != "stopped" {
		t.Errorf("alpha is %s after sleep, expected stopped", state)
	}
}

func TestCLIErrors(t *testing.T) {
	const token = "cli-s3cret"
	w := startAdminWorld(t, token, "alpha")
	testwait.Until(t, 10*time.Second, "the apps are listed", func() bool { return w.appState("alpha") == "stopped" })
	unreachable := "http://127.0.0.1:" + strconv.Itoa(e2e.FreePort(t))

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"unknown app", w.cliEnv, []string{"wake", "nope"}, 1, `app "nope" not found`},
		{"wrong token", map[string]string{"PAASTIS_ADMIN_URL": w.adminURL, "ADMIN_API_TOKEN": "wrong"}, []string{"apps"}, 1, "set ADMIN_API_TOKEN"},
		{"missing token", map[string]string{"PAASTIS_ADMIN_URL": w.adminURL}, []string{"sleep", "alpha"}, 1, "set ADMIN_API_TOKEN"},
		{"no server", map[string]string{"PAASTIS_ADMIN_URL": unreachable}, []string{"apps"}, 1, "is paastis running?"},
		{"invalid admin URL", map[string]string{"PAASTIS_ADMIN_URL": "127.0.0.1:3001"}, []string{"apps"}, 1, "PAASTIS_ADMIN_URL: invalid value"},
		{"wake without a name", w.cliEnv, []string{"wake"}, 2, "usage: paastis wake NAME"},
		{"sleep with two names", w.cliEnv, []string{"sleep", "alpha", "beta"}, 2, "usage: paastis sleep NAME"},
		{"apps with an argument", w.cliEnv, []string{"apps", "alpha"}, 2, "unexpected argument"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			result := runCLI(t, test.env, test.args...)

			if result.code != test.code {
				t.Errorf("exit code = %d, expected %d (stderr %q)", result.code, test.code, result.stderr)
			}
			if !strings.Contains(result.stderr, test.stderr) {
				t.Errorf("stderr = %q, expected it to contain %q", result.stderr, test.stderr)
			}
		})
	}
	if got := w.starts("alpha"); got != 0 {
		t.Errorf("alpha started %d times after failed commands, expected 0", got)
	}
	if strings.Contains(w.paastis.Logs(), token) {
		t.Error("paastis logged the admin token")
	}
}

func TestAdminListenerWithoutTokenRefusesPublicAddress(t *testing.T) {
	result := runCLI(t, map[string]string{"ADMIN_HOST": "0.0.0.0"}, "check-config")

	if result.code != 1 {
		t.Errorf("check-config exit code = %d, expected 1", result.code)
	}
	if !strings.Contains(result.stderr, "ADMIN_HOST and ADMIN_API_TOKEN") {
		t.Errorf("stderr = %q, expected the problem to name ADMIN_HOST and ADMIN_API_TOKEN", result.stderr)
	}
}

func TestCheckConfigReadsLocalAppsFile(t *testing.T) {
	dir := t.TempDir()
	invalid := filepath.Join(dir, "apps.yaml")
	if err := os.WriteFile(invalid, []byte("apps:\n  - name: Bad_Name\n    command: \"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		expected string
	}{
		{"missing apps file", filepath.Join(dir, "nope.yaml"), "no such file"},
		{"invalid apps file", invalid, "Bad_Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result := runCLI(t, map[string]string{"PROVIDER_LOCAL_CONFIG": tt.path}, "check-config")
			if result.code != 1 {
				t.Errorf("check-config exit code = %d, expected 1", result.code)
			}
			if !strings.Contains(result.stderr, tt.expected) {
				t.Errorf("stderr = %q, expected it to contain %q", result.stderr, tt.expected)
			}
		})
	}
}

func TestSystemAPIAndMetricsOnRunningInstance(t *testing.T) {
	const systemToken = "system-s3cret"
	port := strconv.Itoa(e2e.FreePort(t))
	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{
		"ADMIN_PORT":                 port,
		"ROUTING_SYSTEM_API_ENABLED": "true",
		"ROUTING_SYSTEM_API_TOKEN":   systemToken,
	})
	w.paastis.WaitLog(t, "admin listening", 10*time.Second)
	system := http.Header{"PaastisProxyTarget": {"system"}, "PaastisProxySystemApiToken": {systemToken}}
	testwait.Until(t, 10*time.Second, "the system API lists alpha", func() bool {
		status, body, err := w.paastis.Request(t.Context(), http.MethodGet, "anything", "/apps", system)
		return err == nil && status == http.StatusOK && strings.Contains(body, `"name":"alpha"`)
	})

	if status, body := w.get("alpha", "/"); status != http.StatusOK {
		t.Fatalf("GET alpha = %d: %s", status, body)
	}
	wrong := http.Header{"PaastisProxyTarget": {"system"}, "PaastisProxySystemApiToken": {"wrong"}}
	if status, _, _ := w.paastis.Request(t.Context(), http.MethodGet, "alpha", "/apps", wrong); status != http.StatusUnauthorized {
		t.Errorf("system API with a wrong token = %d, expected 401", status)
	}

	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	for _, line := range []string{
		`paastis_proxy_requests_total{app="alpha",code="2xx"} 1`,
		// The system API requests, one of them rejected, are not proxied.
		`paastis_proxy_requests_total{app="alpha",code="4xx"} 0`,
		`paastis_wakes_total{app="alpha",provider="local"} 1`,
		`paastis_apps{provider="local",state="running"} 1`,
	} {
		if !strings.Contains(body.String(), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if strings.Contains(body.String(), `app="unknown"`) {
		t.Error("/metrics counted the system API requests as proxied requests")
	}
}

func TestCheckConfigListsMissingTokenOnce(t *testing.T) {
	result := runCLI(t, map[string]string{"PROVIDER_NAME": "scalingo"}, "check-config")
	if result.code != 1 {
		t.Errorf("check-config exit code = %d, expected 1", result.code)
	}
	if got := strings.Count(result.stderr, "PROVIDER_SCALINGO_API_TOKEN: missing"); got != 1 {
		t.Errorf("the missing token is listed %d times, expected once:\n%s", got, result.stderr)
	}
}

func TestServeWarnsAboutLocalProviderOnRedis(t *testing.T) {
	result := runCLI(t, map[string]string{
		"PROVIDER_NAME": "local",
		"REGISTRY_TYPE": "redis",
		"REDIS_URL":     "redis://127.0.0.1:1/0",
	}, "serve")
	if result.code != 1 {
		t.Errorf("serve exit code = %d, expected 1 without a Redis server", result.code)
	}
	if !strings.Contains(result.stderr, "with several instances on one Redis an app started by one instance cannot be stopped by another") {
		t.Errorf("stderr lacks the warning about the local provider on Redis:\n%s", result.stderr)
	}
}
