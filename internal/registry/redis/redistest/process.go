package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// run starts redis-server on s.port and waits until it responds to PING, or
// returns an error with the server's output when it exits first or does
// not respond in time.
func (s *Server) run() error {
	args, err := s.args()
	if err != nil {
		return err
	}
	process := exec.Command(s.path, args...)
	output := &syncBuffer{}
	process.Stdout = output
	process.Stderr = output
	killWithParent(process)
	if err := process.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.path, err)
	}
	exited := make(chan struct{})
	go func() {
		process.Wait()
		close(exited)
	}()

	s.mu.Lock()
	s.process, s.exited, s.output = process, exited, output
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			s.mu.Lock()
			s.process = nil
			s.mu.Unlock()
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, output)
		default:
		}
		if ping(s.Addr()) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("redis-server on port %d did not respond to PING within %s: %s", s.port, startTimeout, output)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// args returns the redis-server arguments of the server's mode. A sentinel
// reads its configuration from a file, which it rewrites.
func (s *Server) args() ([]string, error) {
	common := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
	}
	if s.sentinelOf != nil {
		config := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\n", s.sentinelMaster, s.sentinelOf.port)
		path := filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			return nil, fmt.Errorf("write sentinel configuration: %w", err)
		}
		return append([]string{path, "--sentinel"}, common...), nil
	}

	args := append(common, "--save", "", "--appendonly", "no")
	if s.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	}
	return args, nil
}

// ping sends PING over a new connection and checks for PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()

	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING returned %q", line)
	}
	return nil
}

// waitClusterOK polls CLUSTER INFO until the node reports cluster_state:ok.
func (s *Server) waitClusterOK(ctx context.Context) {
	s.t.Helper()

	for {
		info, err := s.Client().ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("redis-server on %s never reported cluster_state:ok: %v %s", s.Addr(), err, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}
