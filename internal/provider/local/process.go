package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// outputTailLines is how many lines of output a process keeps for the
	// error that State returns after an unexpected exit.
	outputTailLines = 20
	// maxLineBytes is the maximum length of a logged line. The rest of a
	// longer line is dropped, so a process without newlines cannot grow
	// memory.
	maxLineBytes = 8 << 10
	// outputDrainTimeout is how long the output readers may run after the
	// process group was killed. Only a descendant that left the group (with
	// setsid, for instance) keeps a pipe open that long, and its output is
	// then no longer read.
	outputDrainTimeout = time.Second
	// killTimeout is how long a stop waits for the exit after SIGKILL.
	killTimeout = 5 * time.Second
	// groupPollInterval is how often a stop checks whether the processes
	// left in the group after the leader's exit are gone.
	groupPollInterval = 50 * time.Millisecond
)

// process is one run of an app's command, the leader of its own process
// group.
type process struct {
	app       string
	pid       int
	startedAt time.Time
	cmd       *exec.Cmd
	output    *outputTail
	logger    *slog.Logger

	// signalMu serialises signals to the group with the reaping of the
	// leader, because once the leader is reaped and its group is empty, the
	// group ID may be reused by an unrelated process.
	signalMu sync.Mutex
	reaped   bool // guarded by signalMu
	// stopping is set by stop, under signalMu, before it signals the group.
	// The exit is then not reported as a failure, and the rest of the group
	// gets the grace period to exit too.
	stopping atomic.Bool

	// killed is closed by stop once it sent SIGKILL to the group.
	killed     chan struct{}
	killedOnce sync.Once

	// exited is closed once the leader exited, the rest of its group was
	// killed, the leader was reaped and exitState was set.
	exited    chan struct{}
	exitState *os.ProcessState // nil when Wait failed
	exitedAt  time.Time
	// done is closed once the output readers returned too.
	done chan struct{}
}

// startProcess runs the app's command in a new process group, with PORT and
// the app's env over the environment of paastis. It returns once the
// process is spawned. Its output is logged line by line.
func startProcess(spec *appSpec, logger *slog.Logger) (*process, error) {
	stdoutReader, stdoutWriter, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	stderrReader, stderrWriter, err := os.Pipe()
	if err != nil {
		closeAll(stdoutReader, stdoutWriter)
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}

	cmd := exec.Command(spec.argv[0], spec.argv[1:]...)
	cmd.Dir = spec.dir
	cmd.Env = processEnv(spec)
	// The child writes to the pipes directly, so Wait returns when the
	// leader exits even if a descendant still holds the pipes open.
	cmd.Stdout = stdoutWriter
	cmd.Stderr = stderrWriter
	cmd.SysProcAttr = newSysProcAttr()

	startedAt := time.Now()
	err = cmd.Start()
	// The child has its own copies of the write ends, and the readers
	// would never see end of file while this process keeps them open.
	closeAll(stdoutWriter, stderrWriter)
	if err != nil {
		closeAll(stdoutReader, stderrReader)
		return nil, err
	}

	proc := &process{
		app:       spec.name,
		pid:       cmd.Process.Pid,
		startedAt: startedAt,
		cmd:       cmd,
		output:    &outputTail{},
		logger:    logger,
		killed:    make(chan struct{}),
		exited:    make(chan struct{}),
		done:      make(chan struct{}),
	}

	var readers sync.WaitGroup
	readers.Go(func() { proc.readOutput(stdoutReader, "stdout") })
	readers.Go(func() { proc.readOutput(stderrReader, "stderr") })
	go proc.wait(&readers, stdoutReader, stderrReader)

	return proc, nil
}

func processEnv(spec *appSpec) []string {
	env := os.Environ()
	for _, key := range sortedKeys(spec.env) {
		env = append(env, key+"="+spec.env[key])
	}
	// exec.Cmd keeps the last value of a duplicated key, so these win over
	// the inherited environment.
	return append(env, "PORT="+strconv.Itoa(spec.port))
}

// wait reaps the leader and kills what remains of its group, then lets the
// output readers drain.
func (p *process) wait(readers *sync.WaitGroup, pipes ...*os.File) {
	defer close(p.done)

	reaped, waitErr := awaitLeaderExit(p.cmd)

	// A wrapper such as "go run" or a shell may exit on the stop signal
	// before the server it started has finished its own shutdown, so during
	// a stop the group may run until stop sends SIGKILL.
	if p.stopping.Load() {
		p.waitGroupExit()
	}

	p.signalMu.Lock()
	if err := syscall.Kill(-p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.logger.Error("kill the rest of the app process group", "app", p.app, "pid", p.pid, "error", err)
	}
	if !reaped {
		waitErr = p.cmd.Wait()
	}
	p.reaped = true
	p.signalMu.Unlock()

	// An *exec.ExitError only repeats the exit status that ProcessState
	// contains, so only other errors are logged.
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		p.logger.Error("wait for app process", "app", p.app, "pid", p.pid, "error", waitErr)
	}
	p.exitState = p.cmd.ProcessState
	p.exitedAt = time.Now()
	close(p.exited)

	if p.stopping.Load() {
		p.logger.Info("app process stopped", "app", p.app, "pid", p.pid, "status", describeExit(p.exitState))
	} else {
		p.logger.Warn("app process exited by itself", "app", p.app, "pid", p.pid, "status", describeExit(p.exitState),
			"uptime", p.exitedAt.Sub(p.startedAt).Round(time.Millisecond))
	}

	drained := make(chan struct{})
	go func() {
		readers.Wait()
		close(drained)
	}()
	timer := time.NewTimer(outputDrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		p.logger.Warn("app output still open after the process exited, closing it", "app", p.app, "pid", p.pid)
	}
	// Closing the read ends also ends a reader blocked on a pipe that a
	// descendant outside the group keeps open.
	closeAll(pipes...)
	<-drained
}

// waitGroupExit polls until no process of the group is alive or stop has
// sent SIGKILL.
func (p *process) waitGroupExit() {
	ticker := time.NewTicker(groupPollInterval)
	defer ticker.Stop()
	for groupHasLiveMembers(p.pid) {
		select {
		case <-p.killed:
			return
		case <-ticker.C:
		}
	}
}

// signalGroup sends a signal to every process of the group, unless the
// leader was already reaped.
func (p *process) signalGroup(signal syscall.Signal) error {
	p.signalMu.Lock()
	defer p.signalMu.Unlock()
	return p.signalGroupLocked(signal)
}

func (p *process) signalGroupLocked(signal syscall.Signal) error {
	if p.reaped {
		return nil
	}
	err := syscall.Kill(-p.pid, signal)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send %s to process group %d: %w", signalName(signal), p.pid, err)
	}
	return nil
}

// stop sends the stop signal to the group and waits for every process of
// the group to exit. After the grace period, or when ctx is done first, it
// sends SIGKILL to the group. It returns once the output readers have
// finished too.
func (p *process) stop(ctx context.Context, signal syscall.Signal, grace time.Duration) error {
	p.signalMu.Lock()
	p.stopping.Store(true)
	err := p.signalGroupLocked(signal)
	p.signalMu.Unlock()
	if err != nil {
		return err
	}

	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.exited:
		<-p.done
		return nil
	case <-timer.C:
		p.logger.Warn("app process group still running after the stop grace period, sending SIGKILL",
			"app", p.app, "pid", p.pid, "grace", grace)
	case <-ctx.Done():
		p.logger.Warn("stop cancelled before the app process group exited, sending SIGKILL",
			"app", p.app, "pid", p.pid, "error", context.Cause(ctx))
	}

	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		return err
	}
	p.killedOnce.Do(func() { close(p.killed) })

	killTimer := time.NewTimer(killTimeout)
	defer killTimer.Stop()
	select {
	case <-p.exited:
		<-p.done
		return nil
	case <-killTimer.C:
		return fmt.Errorf("process %d still running %s after SIGKILL: check it with ps, it may be stuck in the kernel", p.pid, killTimeout)
	}
}

// hasExited reports whether the leader has exited and was reaped.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// exitError describes an exit that paastis did not request, with the last
// lines of output. It returns nil while the process runs or after a stop.
func (p *process) exitError() error {
	if !p.hasExited() || p.stopping.Load() {
		return nil
	}
	// The last lines often explain the exit, and the readers may still be
	// copying them from the pipes.
	timer := time.NewTimer(outputDrainTimeout)
	select {
	case <-p.done:
	case <-timer.C:
	}
	timer.Stop()

	var b strings.Builder
	fmt.Fprintf(&b, "process %d exited by itself with %s after %s", p.pid, describeExit(p.exitState),
		p.exitedAt.Sub(p.startedAt).Round(time.Millisecond))
	lines := p.output.lines()
	if len(lines) == 0 {
		b.WriteString(" and wrote no output")
	} else {
		b.WriteString(", last output:")
		for _, line := range lines {
			b.WriteString("\n  ")
			b.WriteString(line)
		}
	}
	b.WriteString("\ncheck the app's command, dir and env in the local apps file")
	return errors.New(b.String())
}

func describeExit(state *os.ProcessState) string {
	if state == nil {
		return "unknown status"
	}
	if status, ok := state.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return "signal " + signalName(status.Signal())
	}
	return "exit status " + strconv.Itoa(state.ExitCode())
}

func signalName(signal syscall.Signal) string {
	for name, known := range stopSignals {
		if known == signal {
			return name
		}
	}
	return signal.String()
}

// readOutput logs each line that the process writes to one stream, and
// keeps it in the output tail.
func (p *process) readOutput(pipe io.Reader, stream string) {
	reader := bufio.NewReaderSize(pipe, 4096)
	var line []byte
	truncated := false
	for {
		fragment, isPrefix, err := reader.ReadLine()
		if len(fragment) > 0 {
			room := maxLineBytes - len(line)
			if len(fragment) > room {
				fragment = fragment[:room]
				truncated = true
			}
			line = append(line, fragment...)
		}
		if err != nil {
			if len(line) > 0 {
				p.emitLine(stream, string(line), truncated)
			}
			return
		}
		if isPrefix {
			continue
		}
		p.emitLine(stream, string(line), truncated)
		line = line[:0]
		truncated = false
	}
}

func (p *process) emitLine(stream, line string, truncated bool) {
	p.output.add(line)
	if truncated {
		p.logger.Info("app output", "app", p.app, "stream", stream, "line", line, "truncated", true)
		return
	}
	p.logger.Info("app output", "app", p.app, "stream", stream, "line", line)
}

// outputTail keeps the last lines written to stdout and stderr.
type outputTail struct {
	mu   sync.Mutex
	tail []string // guarded by mu, at most outputTailLines
}

func (o *outputTail) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.tail) == outputTailLines {
		o.tail = slices.Delete(o.tail, 0, 1)
	}
	o.tail = append(o.tail, line)
}

func (o *outputTail) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.tail)
}

func closeAll(files ...*os.File) {
	for _, file := range files {
		_ = file.Close()
	}
}
