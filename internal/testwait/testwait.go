// Package testwait lets tests wait on a condition instead of sleeping a
// fixed time.
package testwait

import (
	"testing"
	"time"
)

// pollInterval is the delay between two checks of a condition.
const pollInterval = 10 * time.Millisecond

// Until polls cond every 10ms until it returns true, and fails the test
// when timeout passes first. what completes "timed out waiting for ...".
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
}
