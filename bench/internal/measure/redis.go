package measure

import (
	"bufio"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// ParseCommandStats reads the "calls" count of every command from the
// output of Redis's INFO commandstats, whose lines read
// "cmdstat_get:calls=3,usec=12,usec_per_call=4.00,...". Commands are keyed
// by name, such as "get" or "client|setname".
func ParseCommandStats(info string) (map[string]int64, error) {
	calls := map[string]int64{}
	scanner := bufio.NewScanner(strings.NewReader(info))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		rest, ok := strings.CutPrefix(line, "cmdstat_")
		if !ok {
			continue
		}
		name, fields, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("invalid commandstats line %q: no colon after the command name", line)
		}
		count := int64(-1)
		for field := range strings.SplitSeq(fields, ",") {
			value, ok := strings.CutPrefix(field, "calls=")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid commandstats line %q: calls: %w", line, err)
			}
			count = n
		}
		if count < 0 {
			return nil, fmt.Errorf("invalid commandstats line %q: no calls field", line)
		}
		calls[name] = count
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read commandstats: %w", err)
	}
	return calls, nil
}

// CommandDelta returns, per command, how many more calls after has than
// before, leaving out the commands in ignore (such as the "info" calls of
// the harness itself) and those without new calls.
func CommandDelta(before, after map[string]int64, ignore ...string) map[string]int64 {
	delta := map[string]int64{}
	for name, n := range after {
		if d := n - before[name]; d > 0 {
			delta[name] = d
		}
	}
	for _, name := range ignore {
		delete(delta, name)
	}
	return delta
}

// TotalCalls returns the sum of the counts of a command map.
func TotalCalls(calls map[string]int64) int64 {
	var total int64
	for n := range maps.Values(calls) {
		total += n
	}
	return total
}
