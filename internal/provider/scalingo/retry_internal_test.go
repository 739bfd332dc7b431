package scalingo

import (
	"context"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds are read", "7", 7 * time.Second},
		{"spaces are ignored", " 2 ", 2 * time.Second},
		{"an HTTP date gives the time left", "Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second},
		{"a date in the past gives zero", "Sun, 01 Mar 2026 11:59:00 GMT", 0},
		{"negative seconds give zero", "-3", 0},
		{"garbage gives zero", "soon", 0},
		{"an absent header gives zero", "", 0},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if got := parseRetryAfter(test.value, now); got != test.want {
				t.Errorf("parseRetryAfter(%q) = %s, want %s", test.value, got, test.want)
			}
		})
	}
}

func TestBackoffGrowsWithinBounds(t *testing.T) {
	minDelay, maxDelay := 100*time.Millisecond, time.Second
	tests := []struct {
		attempt  int
		low, top time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second},
		{40, 500 * time.Millisecond, time.Second},
	}
	for _, test := range tests {
		for range 50 {
			got := backoff(test.attempt, minDelay, maxDelay)
			if got < test.low || got > test.top {
				t.Fatalf("backoff(%d) = %s, want between %s and %s", test.attempt, got, test.low, test.top)
			}
		}
	}
}

// TestLimiterKeepsWithinLimit checks the promise of newLimiter: at most
// limit requests in any window of one period, a full bucket included.
func TestLimiterKeepsWithinLimit(t *testing.T) {
	for _, limit := range []int{2, 5, 50, 60} {
		limiter := newLimiter(limit, time.Minute)
		start := time.Now()
		allowed := 0
		// Ask every 100 ms of virtual time during one period.
		for step := time.Duration(0); step < time.Minute; step += 100 * time.Millisecond {
			if limiter.AllowN(start.Add(step), 1) {
				allowed++
			}
		}
		if allowed > limit {
			t.Errorf("limit %d: the limiter allowed %d requests in one period", limit, allowed)
		}
		if allowed < limit*8/10 {
			t.Errorf("limit %d: the limiter allowed only %d requests in one period", limit, allowed)
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := context.Canceled
	cancel(cause)
	start := time.Now()
	if err := sleep(ctx, time.Minute); err != cause {
		t.Errorf("sleep on a canceled context = %v, want %v", err, cause)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("sleep on a canceled context took %s", elapsed)
	}
}
