package measure

import (
	"math"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   float64
	}{
		{"odd count takes the middle value", []float64{3, 1, 2}, 2},
		{"even count averages the two middle values", []float64{4, 1, 3, 2}, 2.5},
		{"single value", []float64{7}, 7},
		{"NaN values are left out", []float64{math.NaN(), 5, 1, 3}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Median(tt.values); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

func TestMedianLeavesInputUnsorted(t *testing.T) {
	values := []float64{3, 1, 2}
	Median(values)
	if values[0] != 3 || values[1] != 1 || values[2] != 2 {
		t.Errorf("Median reordered its input to %v", values)
	}
}

func TestMedianAndMaxDuration(t *testing.T) {
	durations := []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 90 * time.Millisecond}
	if got, want := MedianDuration(durations), 25*time.Millisecond; got != want {
		t.Errorf("MedianDuration = %s, want %s", got, want)
	}
	if got, want := MaxDuration(durations), 90*time.Millisecond; got != want {
		t.Errorf("MaxDuration = %s, want %s", got, want)
	}
	if MedianDuration(nil) != 0 || MaxDuration(nil) != 0 {
		t.Error("MedianDuration or MaxDuration of nothing is not 0")
	}
}

func TestRatio(t *testing.T) {
	if got := Ratio(30, 20); got != 1.5 {
		t.Errorf("Ratio(30, 20) = %v, want 1.5", got)
	}
	for _, tt := range [][2]float64{{1, 0}, {math.NaN(), 1}, {1, math.NaN()}} {
		if got := Ratio(tt[0], tt[1]); !math.IsNaN(got) {
			t.Errorf("Ratio(%v, %v) = %v, want NaN", tt[0], tt[1], got)
		}
	}
}

func TestPerRequest(t *testing.T) {
	if got, want := PerRequest(3*time.Second, 100000), 30*time.Microsecond; got != want {
		t.Errorf("PerRequest = %s, want %s", got, want)
	}
	if got := PerRequest(time.Second, 0); got != 0 {
		t.Errorf("PerRequest with no request = %s, want 0", got)
	}
}
