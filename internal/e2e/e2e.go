// Package e2e builds the paastis binary and runs it as a child process for
// end-to-end tests, the way an operator runs it.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ModuleRoot returns the folder of the paastis go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// Build compiles the Go package at pkg (relative to the module root, such
// as "./cmd/paastis") into dir and returns the binary's path.
func Build(t testing.TB, pkg, dir string) string {
	t.Helper()
	binary := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", binary, pkg)
	cmd.Dir = ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return binary
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Instance is a running paastis process.
type Instance struct {
	// URL is the proxy's base URL, http://127.0.0.1:PORT.
	URL  string
	Port int

	cmd    *exec.Cmd
	logs   *logBuffer
	exited chan struct{}
	err    error
}

// Start runs the paastis binary in dir with env (over a minimal
// environment: PATH, HOME, GOCACHE and GOPATH are kept), on a free port
// unless env sets PORT, and waits until it listens. The process is killed
// when the test ends.
func Start(t testing.TB, binary, dir string, env map[string]string) *Instance {
	t.Helper()
	port := FreePort(t)
	if p, ok := env["PORT"]; ok {
		port, _ = strconv.Atoi(p)
	}
	environ := []string{"HOST=127.0.0.1", "PORT=" + strconv.Itoa(port), "LOG_LEVEL=debug"}
	if _, ok := env["ADMIN_PORT"]; !ok {
		// Instances of parallel tests must not race for the default port.
		environ = append(environ, "ADMIN_PORT="+strconv.Itoa(FreePort(t)))
	}
	for _, key := range []string{"PATH", "HOME", "GOCACHE", "GOPATH", "GOMODCACHE", "GOFLAGS", "TMPDIR"} {
		if v, ok := os.LookupEnv(key); ok {
			environ = append(environ, key+"="+v)
		}
	}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}

	logs := &logBuffer{}
	cmd := exec.Command(binary)
	cmd.Dir = dir
	cmd.Env = environ
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start paastis: %v", err)
	}
	inst := &Instance{URL: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() {
		inst.err = cmd.Wait()
		close(inst.exited)
	}()
	t.Cleanup(func() {
		inst.Kill()
		if t.Failed() {
			t.Logf("paastis logs:\n%s", inst.Logs())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for !inst.logs.contains("paastis listening") {
		select {
		case <-inst.exited:
			t.Fatalf("paastis exited before listening: %v\n%s", inst.err, inst.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("paastis did not listen within 30s\n%s", inst.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return inst
}

// Logs returns everything paastis printed so far.
func (i *Instance) Logs() string { return i.logs.String() }

// WaitLog waits until the logs contain text, or fails the test.
func (i *Instance) WaitLog(t testing.TB, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !i.logs.contains(text) {
		if time.Now().After(deadline) {
			t.Fatalf("paastis did not log %q within %s\n%s", text, timeout, i.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CountLog returns how many times text appears in the logs.
func (i *Instance) CountLog(text string) int { return strings.Count(i.Logs(), text) }

// Request sends a request for app through the proxy and returns the
// status and body.
func (i *Instance) Request(ctx context.Context, method, app, path string, header http.Header) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, i.URL+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = app + ".localhost"
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Signal sends sig to paastis.
func (i *Instance) Signal(sig syscall.Signal) error { return i.cmd.Process.Signal(sig) }

// Wait waits for paastis to exit and returns its exit error.
func (i *Instance) Wait(timeout time.Duration) error {
	select {
	case <-i.exited:
		return i.err
	case <-time.After(timeout):
		return fmt.Errorf("paastis still running after %s", timeout)
	}
}

// Kill stops paastis if it still runs: SIGTERM first, so that it stops
// its local apps, then SIGKILL to its process group after 15 seconds.
func (i *Instance) Kill() {
	select {
	case <-i.exited:
		return
	default:
	}
	_ = i.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-i.exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
		<-i.exited
	}
}

// logBuffer collects a process's output, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf.Bytes(), []byte(s))
}
