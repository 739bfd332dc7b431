// Package redistest runs a real redis-server for tests: a child process on
// a free 127.0.0.1 port, with persistence off and a temporary directory,
// killed when the test ends.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startTimeout is how long Start and Restart wait for the server to
// respond to PING.
const startTimeout = 10 * time.Second

// Server is a redis-server child process. Its methods must be called from
// the test goroutine or with the test still running.
type Server struct {
	t       testing.TB
	path    string
	dir     string
	port    int
	cluster bool

	// sentinelOf is the monitored server when this server is a sentinel,
	// and sentinelMaster the name it gives that server.
	sentinelOf     *Server
	sentinelMaster string

	// mu guards the fields below it.
	mu      sync.Mutex
	process *exec.Cmd
	exited  chan struct{}
	output  *syncBuffer
	client  *goredis.Client
}

// Start runs redis-server on a free port and waits until it responds to PING.
// The test fails when redis-server is not installed or does not start.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartCluster runs redis-server in cluster mode as a single node that
// serves all 16384 hash slots. Commands whose keys span several slots fail
// with CROSSSLOT there, as on a real cluster.
func StartCluster(t testing.TB) *Server {
	t.Helper()

	s := start(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.Client().Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("assign hash slots to redis-server on %s: %v", s.Addr(), err)
	}
	s.waitClusterOK(ctx)
	return s
}

// StartSentinel runs redis-server as a Redis Sentinel that monitors
// master under the name masterName, with a quorum of 1. Addr is then the
// sentinel's address.
func StartSentinel(t testing.TB, master *Server, masterName string) *Server {
	t.Helper()

	s := newServer(t)
	s.sentinelOf, s.sentinelMaster = master, masterName
	s.startOnFreePort()
	return s
}

func start(t testing.TB, cluster bool) *Server {
	t.Helper()

	s := newServer(t)
	s.cluster = cluster
	s.startOnFreePort()
	return s
}

// newServer returns a Server that is not running yet and is stopped when
// the test ends.
func newServer(t testing.TB) *Server {
	t.Helper()

	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: run `make test-deps` or `apt-get install redis-server`")
	}
	s := &Server{t: t, path: path, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	return s
}

// startOnFreePort runs the server on a free port.
func (s *Server) startOnFreePort() {
	s.t.Helper()

	// Another process may take the free port between the probe and the
	// server's bind, so a failed start is retried on a new port.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		s.port = freePort(s.t)
		err := s.run()
		if err == nil {
			return
		}
		if attempt == attempts {
			s.t.Fatalf("start redis-server: %v", err)
		}
	}
}

// Addr returns the server's "127.0.0.1:port" address.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns the server's redis:// URL, database 0.
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Stop kills the server and waits for it to exit. It does nothing when the
// server is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	process, exited := s.process, s.exited
	s.process = nil
	s.mu.Unlock()
	if process == nil {
		return
	}

	if err := process.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("kill redis-server (pid %d): %v", process.Process.Pid, err)
	}
	<-exited
}

// Restart starts the server again on the same port and directory after
// Stop, and waits until it responds to PING. The data is lost, except a
// cluster node's slot assignment.
func (s *Server) Restart() {
	s.t.Helper()

	s.Stop()
	if err := s.run(); err != nil {
		s.t.Fatalf("restart redis-server: %v", err)
	}
	if s.cluster {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		s.waitClusterOK(ctx)
	}
}

// Client returns a client of the server for assertions, closed when the
// test ends. Every call returns the same client.
func (s *Server) Client() *goredis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.client == nil {
		s.client = goredis.NewClient(&goredis.Options{Addr: s.Addr(), DisableIdentity: true})
		client := s.client
		s.t.Cleanup(func() { client.Close() })
	}
	return s.client
}

// CommandStats returns the number of calls per command since the server
// started or since ResetCommandStats, from INFO commandstats. Subcommands
// have keys such as "client|setinfo". The INFO call itself counts from the
// next call on.
func (s *Server) CommandStats() map[string]int64 {
	s.t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	info, err := s.Client().Info(ctx, "commandstats").Result()
	if err != nil {
		s.t.Fatalf("INFO commandstats on %s: %v", s.Addr(), err)
	}
	stats, err := parseCommandStats(info)
	if err != nil {
		s.t.Fatal(err)
	}
	return stats
}

// ResetCommandStats sets every command's call count back to zero.
func (s *Server) ResetCommandStats() {
	s.t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.Client().ConfigResetStat(ctx).Err(); err != nil {
		s.t.Fatalf("CONFIG RESETSTAT on %s: %v", s.Addr(), err)
	}
}

// parseCommandStats reads lines such as
// "cmdstat_get:calls=3,usec=12,usec_per_call=4.00" into a map from command
// to calls.
func parseCommandStats(info string) (map[string]int64, error) {
	stats := make(map[string]int64)
	scanner := bufio.NewScanner(strings.NewReader(info))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		name, fields, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		for field := range strings.SplitSeq(fields, ",") {
			calls, found := strings.CutPrefix(field, "calls=")
			if !found {
				continue
			}
			n, err := strconv.ParseInt(calls, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid INFO commandstats line %q: %w", line, err)
			}
			stats[name] = n
		}
	}
	return stats, scanner.Err()
}

// syncBuffer is a bytes.Buffer that the server process and the test can
// use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
