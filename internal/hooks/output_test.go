package hooks

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// loggedLines writes each chunk to a lineLogger, flushes it, and returns the
// logged lines and the tail.
func loggedLines(t *testing.T, chunks ...string) ([]string, *outputTail) {
	t.Helper()
	logs := &syncBuffer{}
	tail := &outputTail{}
	writer := newLineLogger(slog.New(slog.NewJSONHandler(logs, nil)), "stdout", tail)
	for _, chunk := range chunks {
		if n, err := writer.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v, expected %d, nil", chunk, n, err, len(chunk))
		}
	}
	writer.flush()

	var lines []string
	for _, record := range logs.records(t) {
		lines = append(lines, record["line"].(string))
	}
	return lines, tail
}

func TestLineLoggerJoinsSplitWrites(t *testing.T) {
	lines, tail := loggedLines(t, "hel", "lo\nwor", "ld\n\nlast")

	want := []string{"hello", "world", "", "last"}
	if !slices.Equal(lines, want) {
		t.Errorf("logged %q, expected %q", lines, want)
	}
	if got := tail.String(); got != "hello\nworld\n\nlast" {
		t.Errorf("tail = %q, expected the same lines", got)
	}
}

func TestLineLoggerCutsLongLines(t *testing.T) {
	long := strings.Repeat("a", 2*maxLineBytes+100)

	lines, _ := loggedLines(t, long[:5000], long[5000:])

	if len(lines) != 3 {
		t.Fatalf("logged %d lines, expected 3", len(lines))
	}
	for i, want := range []int{maxLineBytes, maxLineBytes, 100} {
		if len(lines[i]) != want {
			t.Errorf("line %d has %d bytes, expected %d", i, len(lines[i]), want)
		}
	}
}
