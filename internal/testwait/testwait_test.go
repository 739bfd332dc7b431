package testwait

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fatalRecorder is a testing.TB whose Fatalf records the message instead
// of stopping the test.
type fatalRecorder struct {
	testing.TB
	message string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.message = fmt.Sprintf(format, args...)
}

func TestUntilReturnsOnceConditionHolds(t *testing.T) {
	calls := 0
	Until(t, time.Second, "the third call", func() bool {
		calls++
		return calls == 3
	})
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
}

func TestUntilFailsAtTimeout(t *testing.T) {
	recorder := &fatalRecorder{TB: t}
	// The condition turns true once Fatalf ran, since the recorder does
	// not stop the test.
	Until(recorder, 30*time.Millisecond, "a flag", func() bool { return recorder.message != "" })
	if !strings.Contains(recorder.message, "timed out after 30ms waiting for a flag") {
		t.Errorf("Fatalf message = %q, want a timeout message", recorder.message)
	}
}
