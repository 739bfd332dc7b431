// Package measure holds the pure parts of the benchmark harness: parsing
// the output of wrk, /proc files and Redis INFO, and the statistics over
// rounds. Nothing here starts a process or opens a connection.
package measure

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WrkResult holds the figures that one wrk run printed with --latency.
type WrkResult struct {
	// Requests is the number of responses that wrk completed.
	Requests int64
	// Duration is the measured time that wrk printed with the request
	// count.
	Duration time.Duration
	// RequestsPerSec is the "Requests/sec" line.
	RequestsPerSec float64
	// P50, P75, P90 and P99 are the latency percentiles of the "Latency
	// Distribution" block.
	P50, P75, P90, P99 time.Duration
	// ConnectErrors, ReadErrors, WriteErrors and Timeouts come from the
	// "Socket errors" line, which wrk prints only when one is not zero.
	ConnectErrors, ReadErrors, WriteErrors, Timeouts int64
	// Non2xx3xx is the number of responses with another status, from the
	// line that wrk prints only when it is not zero.
	Non2xx3xx int64
}

// Errors returns the socket errors and the responses whose status was
// not 2xx or 3xx.
func (r WrkResult) Errors() int64 {
	return r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts + r.Non2xx3xx
}

// ParseWrk reads the text output of wrk 4 run with --latency. It fails
// when the request count, the rate or a percentile is missing, which is
// what wrk prints when it could not connect at all.
func ParseWrk(output string) (WrkResult, error) {
	var result WrkResult
	var haveRequests, haveRate bool
	percentiles := map[string]*time.Duration{"50%": &result.P50, "75%": &result.P75, "90%": &result.P90, "99%": &result.P99}
	found := 0

	scanner := bufio.NewScanner(strings.NewReader(output))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		fields := strings.Fields(line)
		switch {
		case len(fields) == 2 && percentiles[fields[0]] != nil:
			d, err := ParseWrkDuration(fields[1])
			if err != nil {
				return WrkResult{}, fmt.Errorf("wrk percentile line %q: %w", line, err)
			}
			*percentiles[fields[0]] = d
			found++

		case len(fields) >= 4 && fields[1] == "requests" && fields[2] == "in":
			n, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return WrkResult{}, fmt.Errorf("wrk request count in %q: %w", line, err)
			}
			d, err := ParseWrkDuration(strings.TrimSuffix(fields[3], ","))
			if err != nil {
				return WrkResult{}, fmt.Errorf("wrk duration in %q: %w", line, err)
			}
			result.Requests, result.Duration, haveRequests = n, d, true

		case strings.HasPrefix(line, "Requests/sec:") && len(fields) == 2:
			rate, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return WrkResult{}, fmt.Errorf("wrk rate in %q: %w", line, err)
			}
			result.RequestsPerSec, haveRate = rate, true

		case strings.HasPrefix(line, "Socket errors:"):
			if err := parseSocketErrors(strings.TrimPrefix(line, "Socket errors:"), &result); err != nil {
				return WrkResult{}, fmt.Errorf("wrk socket errors in %q: %w", line, err)
			}

		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(fields) == 5:
			n, err := strconv.ParseInt(fields[4], 10, 64)
			if err != nil {
				return WrkResult{}, fmt.Errorf("wrk status count in %q: %w", line, err)
			}
			result.Non2xx3xx = n
		}
	}
	if err := scanner.Err(); err != nil {
		return WrkResult{}, fmt.Errorf("read wrk output: %w", err)
	}

	var missing []string
	if !haveRequests {
		missing = append(missing, `"N requests in"`)
	}
	if !haveRate {
		missing = append(missing, `"Requests/sec:"`)
	}
	if found != len(percentiles) {
		missing = append(missing, "latency percentiles (run wrk with --latency)")
	}
	if len(missing) > 0 {
		return WrkResult{}, fmt.Errorf("wrk output lacks %s:\n%s", strings.Join(missing, ", "), output)
	}
	return result, nil
}

// parseSocketErrors reads "connect 0, read 1, write 0, timeout 2".
func parseSocketErrors(text string, result *WrkResult) error {
	targets := map[string]*int64{
		"connect": &result.ConnectErrors,
		"read":    &result.ReadErrors,
		"write":   &result.WriteErrors,
		"timeout": &result.Timeouts,
	}
	for part := range strings.SplitSeq(text, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), " ")
		target := targets[name]
		if !ok || target == nil {
			return fmt.Errorf("unknown part %q", part)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return fmt.Errorf("count of %s: %w", name, err)
		}
		*target = n
	}
	return nil
}

// wrkUnits are the suffixes that wrk prints after a time, in the order
// they must be tried: "ms" and "us" before "s", "m" last.
var wrkUnits = []struct {
	suffix string
	unit   time.Duration
}{
	{"us", time.Microsecond},
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
}

// ParseWrkDuration reads a time as wrk prints it, such as "452.00us",
// "1.20ms", "10.00s" or "2.00m".
func ParseWrkDuration(text string) (time.Duration, error) {
	for _, u := range wrkUnits {
		number, ok := strings.CutSuffix(text, u.suffix)
		if !ok {
			continue
		}
		value, err := strconv.ParseFloat(number, 64)
		if err != nil || value < 0 {
			return 0, fmt.Errorf("invalid wrk time %q", text)
		}
		return time.Duration(value * float64(u.unit)), nil
	}
	return 0, fmt.Errorf("invalid wrk time %q: no unit among us, ms, s, m, h", text)
}
