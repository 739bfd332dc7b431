package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronFormat is the syntax hint that every cron error ends with.
const cronFormat = "expected 5 fields (minute hour day-of-month month day-of-week), " +
	"or 6 with seconds first, or a descriptor such as @hourly or @every 10s"

// ParseCron parses the schedule of the sweep. It accepts the standard 5
// fields, 6 fields with seconds first, and the descriptors of
// github.com/robfig/cron/v3 (@yearly, @monthly, @weekly, @daily, @hourly,
// @every DURATION). A "TZ=Area/City " or "CRON_TZ=Area/City " prefix sets the
// time zone. Load validates START_AND_STOP_CHECKING_INTERVAL_CRON with it, and
// the scheduler must use it too so that both accept the same expressions.
func ParseCron(expr string) (schedule cron.Schedule, err error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, fmt.Errorf("empty cron expression: %s", cronFormat)
	}

	// cron v3.0.1 panics on some malformed time zone prefixes, such as
	// "TZ=UTC" with no fields after it.
	defer func() {
		if recovered := recover(); recovered != nil {
			schedule = nil
			err = fmt.Errorf("invalid cron expression %q: %s: %v", expr, cronFormat, recovered)
		}
	}()

	// Count the fields here, because the library's count error does not
	// say which fields it expects.
	fields := strings.Fields(expr)
	if len(fields) > 0 && (strings.HasPrefix(fields[0], "TZ=") || strings.HasPrefix(fields[0], "CRON_TZ=")) {
		fields = fields[1:]
	}
	if len(fields) > 0 && !strings.HasPrefix(fields[0], "@") && (len(fields) < 5 || len(fields) > 6) {
		return nil, fmt.Errorf("invalid cron expression %q: %s, found %d fields", expr, cronFormat, len(fields))
	}

	parser := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
		cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	schedule, err = parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %w (%s)", expr, err, cronFormat)
	}

	// The library rounds an @every below one second up to one second, and
	// a negative one too, which would hide a typo.
	if every, found := strings.CutPrefix(expr, "@every "); found {
		interval, _ := time.ParseDuration(strings.TrimSpace(every))
		if interval < time.Second {
			return nil, fmt.Errorf("invalid cron expression %q: the @every interval must be at least 1s", expr)
		}
	}

	// A schedule such as "0 0 30 2 *" (February 30) parses but never runs,
	// and Next returns the zero time for it.
	if schedule.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("invalid cron expression %q: the schedule never runs: check the day-of-month and month fields", expr)
	}
	return schedule, nil
}
