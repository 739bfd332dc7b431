package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
)

// child is a process that the harness started, in a process group of its
// own, with its output written to a log file and scanned for the "msg"
// field of JSON log lines.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	output  *logScanner
	exited  chan struct{}
	err     error // set before exited is closed
}

// startChild runs argv in dir with exactly env as its environment, its
// output going to logDir/name.log.
func startChild(name, dir, logDir string, env []string, argv ...string) (*child, error) {
	logPath := filepath.Join(logDir, name+".log")
	file, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create the log file of %s: %w", name, err)
	}
	output := &logScanner{file: file, counts: map[string]int{}}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = output
	cmd.Stderr = output
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A group of its own lets stop signal the process and the workers
		// it forks, such as nginx's, but not the apps that paastis runs in
		// groups of their own: paastis stops those itself on SIGTERM.
		Setpgid: true,
		// A backstop for a harness that dies without stopping its
		// children. Linux sends it when the thread that forked the child
		// exits, which the Go runtime does only for a locked goroutine.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, output: output, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		_ = file.Close()
		close(c.exited)
	}()
	return c, nil
}

// PID returns the process ID of the child, which is also its process
// group ID.
func (c *child) PID() int { return c.cmd.Process.Pid }

// exitError returns why the child exited, with the end of its output, or
// nil while it runs.
func (c *child) exitError() error {
	select {
	case <-c.exited:
		return fmt.Errorf("%s exited (%v); the end of its log %s:\n%s", c.name, c.err, c.logPath, c.output.Tail())
	default:
		return nil
	}
}

// stop sends SIGTERM to the child's process group, then SIGKILL when it
// is still there after grace.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = syscall.Kill(-c.PID(), syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-c.PID(), syscall.SIGKILL)
		<-c.exited
	}
}

// waitMessage waits until the child logged a JSON line whose "msg" is msg
// at least count times.
func (c *child) waitMessage(ctx context.Context, msg string, count int, timeout time.Duration) error {
	return poll(ctx, timeout, fmt.Sprintf("%s to log %q %d times", c.name, msg, count), func() (bool, error) {
		if err := c.exitError(); err != nil {
			return false, err
		}
		return c.output.Count(msg) >= count, nil
	})
}

// waitHTTP waits until a GET of url with the given Host header returns
// 200, and returns the body.
func (c *child) waitHTTP(ctx context.Context, url, host string, timeout time.Duration) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	var body string
	var last error
	err := poll(ctx, timeout, fmt.Sprintf("%s to return 200 for %s (Host %s)", c.name, url, host), func() (bool, error) {
		if err := c.exitError(); err != nil {
			return false, err
		}
		body, last = getBody(ctx, client, url, host)
		return last == nil, nil
	})
	if err != nil && last != nil {
		err = fmt.Errorf("%w; last error: %v", err, last)
	}
	return body, err
}

// getBody sends one GET and returns the body of a 200 response.
func getBody(ctx context.Context, client *http.Client, url, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, truncate(buf.String(), 200))
	}
	return buf.String(), nil
}

// memory returns the child's VmRSS and VmHWM.
func (c *child) memory() (measure.Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.PID()))
	if err != nil {
		return measure.Memory{}, fmt.Errorf("read the memory of %s: %w", c.name, err)
	}
	return measure.ParseProcStatus(data)
}

// poll calls cond every 20ms until it returns true or an error, or fails
// after timeout.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		done, err := cond()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-ticker.C:
		}
	}
}

// logScanner writes a child's output to its log file, keeps the last
// lines for error messages and counts the "msg" values of JSON lines.
type logScanner struct {
	file *os.File

	// mu guards the fields below it.
	mu      sync.Mutex
	partial []byte
	tail    []string
	counts  map[string]int
}

// tailLines is how many lines of output an error message shows.
const tailLines = 30

func (s *logScanner) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.file.Write(p); err != nil {
		return 0, err
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.scanLine(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
	// A line without a newline is kept up to 64 KiB, then dropped, so
	// that output without newlines cannot grow memory.
	if len(s.partial) > 64<<10 {
		s.partial = s.partial[:0]
	}
	return len(p), nil
}

func (s *logScanner) scanLine(line []byte) {
	s.tail = append(s.tail, string(line))
	if len(s.tail) > tailLines {
		s.tail = s.tail[len(s.tail)-tailLines:]
	}
	if len(line) == 0 || line[0] != '{' {
		return
	}
	var entry struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal(line, &entry) == nil && entry.Msg != "" {
		s.counts[entry.Msg]++
	}
}

// Count returns how many JSON lines had msg as their "msg".
func (s *logScanner) Count(msg string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[msg]
}

// Tail returns the last lines of output.
func (s *logScanner) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// portClosed reports whether nothing accepts connections on the port of
// 127.0.0.1.
func portClosed(port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return true
	}
	_ = conn.Close()
	return false
}

// cpuTime returns the user and system CPU time used so far by the
// processes, summed.
func cpuTime(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
		}
		stat, err := measure.ParseProcStat(data)
		if err != nil {
			return 0, err
		}
		total += stat.CPU()
	}
	return total, nil
}

// childrenOf returns the processes whose parent is pid, such as the
// workers of the nginx master process.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var children []int
	for _, entry := range entries {
		if _, err := strconv.Atoi(entry.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "stat"))
		if err != nil {
			continue // the process exited meanwhile
		}
		stat, err := measure.ParseProcStat(data)
		if err == nil && stat.PPID == pid {
			children = append(children, stat.PID)
		}
	}
	return children
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
