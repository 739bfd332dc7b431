package hooks

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// maxLineBytes cuts longer output lines into several log records, so that
// a hook that writes without newlines cannot grow a buffer without bound.
const maxLineBytes = 4 << 10

// lineLogger is the io.Writer of one output stream of a hook. It logs each
// complete line as one record and keeps it in the shared tail.
type lineLogger struct {
	logger  *slog.Logger
	stream  string
	tail    *outputTail
	pending []byte
}

func newLineLogger(logger *slog.Logger, stream string, tail *outputTail) *lineLogger {
	return &lineLogger{logger: logger, stream: stream, tail: tail}
}

// Write logs the complete lines of p, and keeps an unfinished last line
// for the next Write or for flush.
func (w *lineLogger) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	rest := w.pending
	for {
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			break
		}
		w.emit(rest[:end])
		rest = rest[end+1:]
	}
	for len(rest) >= maxLineBytes {
		w.emit(rest[:maxLineBytes])
		rest = rest[maxLineBytes:]
	}

	// Move the unfinished line to the front of the buffer, so that the
	// buffer stays within maxLineBytes plus one Write.
	w.pending = w.pending[:copy(w.pending, rest)]
	return len(p), nil
}

// flush logs the unfinished last line, if any. Call it once the hook has
// exited and its output is closed.
func (w *lineLogger) flush() {
	if len(w.pending) > 0 {
		w.emit(w.pending)
		w.pending = nil
	}
}

func (w *lineLogger) emit(line []byte) {
	text := strings.TrimSuffix(string(line), "\r")
	w.logger.Info("hook output", "stream", w.stream, "line", text)
	w.tail.add(text)
}

// outputTail keeps the last lines that a hook wrote on stdout and stderr,
// within maxTailLines lines and maxTailBytes bytes. The two streams write to
// it from two goroutines, so lines of different streams may be out of order.
type outputTail struct {
	mu    sync.Mutex
	lines []string // guarded by mu
	size  int      // guarded by mu
}

const (
	maxTailLines = 20
	maxTailBytes = 4 << 10
)

func (t *outputTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for len(t.lines) > maxTailLines || t.size > maxTailBytes && len(t.lines) > 1 {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

// String returns the kept lines, separated by newlines.
func (t *outputTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
