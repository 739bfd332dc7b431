package measure

import (
	"math"
	"slices"
	"time"
)

// Median returns the median of values: the middle one, or the mean of the
// two middle ones for an even count. It returns NaN for no value. NaN
// values are left out.
func Median(values []float64) float64 {
	sorted := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			sorted = append(sorted, v)
		}
	}
	if len(sorted) == 0 {
		return math.NaN()
	}
	slices.Sort(sorted)
	middle := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[middle]
	}
	return (sorted[middle-1] + sorted[middle]) / 2
}

// MedianDuration returns the median of durations, as Median does, and 0
// for none.
func MedianDuration(durations []time.Duration) time.Duration {
	values := make([]float64, len(durations))
	for i, d := range durations {
		values[i] = float64(d)
	}
	m := Median(values)
	if math.IsNaN(m) {
		return 0
	}
	return time.Duration(math.Round(m))
}

// MaxDuration returns the largest of durations, and 0 for none.
func MaxDuration(durations []time.Duration) time.Duration {
	if len(durations) == 0 {
		return 0
	}
	return slices.Max(durations)
}

// Ratio returns value / reference, or NaN when the reference is zero or
// either one is NaN, so that a missing measure never reads as a ratio.
func Ratio(value, reference float64) float64 {
	if reference == 0 || math.IsNaN(value) || math.IsNaN(reference) {
		return math.NaN()
	}
	return value / reference
}

// PerRequest divides a CPU time by a request count, and returns 0 for no
// request.
func PerRequest(cpu time.Duration, requests int64) time.Duration {
	if requests <= 0 {
		return 0
	}
	return cpu / time.Duration(requests)
}
