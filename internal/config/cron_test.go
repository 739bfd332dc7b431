package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseCronSchedules(t *testing.T) {
	start := time.Date(2024, 3, 10, 12, 34, 56, 0, time.UTC)
	tests := []struct {
		name string
		expr string
		// want are the next two run times after start.
		want [2]time.Time
	}{
		{"five fields every minute", "* * * * *", [2]time.Time{
			time.Date(2024, 3, 10, 12, 35, 0, 0, time.UTC),
			time.Date(2024, 3, 10, 12, 36, 0, 0, time.UTC),
		}},
		{"five fields every quarter hour", "*/15 * * * *", [2]time.Time{
			time.Date(2024, 3, 10, 12, 45, 0, 0, time.UTC),
			time.Date(2024, 3, 10, 13, 0, 0, 0, time.UTC),
		}},
		{"six fields with seconds first", "*/10 * * * * *", [2]time.Time{
			time.Date(2024, 3, 10, 12, 35, 0, 0, time.UTC),
			time.Date(2024, 3, 10, 12, 35, 10, 0, time.UTC),
		}},
		{"six fields at second 30 of each minute", "30 * * * * *", [2]time.Time{
			time.Date(2024, 3, 10, 12, 35, 30, 0, time.UTC),
			time.Date(2024, 3, 10, 12, 36, 30, 0, time.UTC),
		}},
		{"every second descriptor", "@every 1s", [2]time.Time{
			time.Date(2024, 3, 10, 12, 34, 57, 0, time.UTC),
			time.Date(2024, 3, 10, 12, 34, 58, 0, time.UTC),
		}},
		{"hourly descriptor", "@hourly", [2]time.Time{
			time.Date(2024, 3, 10, 13, 0, 0, 0, time.UTC),
			time.Date(2024, 3, 10, 14, 0, 0, 0, time.UTC),
		}},
		{"time zone prefix", "TZ=UTC 0 9 * * *", [2]time.Time{
			time.Date(2024, 3, 11, 9, 0, 0, 0, time.UTC),
			time.Date(2024, 3, 12, 9, 0, 0, 0, time.UTC),
		}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			schedule, err := ParseCron(test.expr)
			if err != nil {
				t.Fatalf("ParseCron(%q) returned an error: %v", test.expr, err)
			}

			first := schedule.Next(start).UTC()
			second := schedule.Next(first).UTC()

			if !first.Equal(test.want[0]) {
				t.Errorf("first run = %v, expected %v", first, test.want[0])
			}
			if !second.Equal(test.want[1]) {
				t.Errorf("second run = %v, expected %v", second, test.want[1])
			}
		})
	}
}

func TestLoadAcceptsCron(t *testing.T) {
	for _, expr := range []string{"* * * * *", "0 */2 * * 1-5", "*/30 * * * * *", "@every 1s", "@every 5m", "@daily"} {
		t.Run(expr, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{"START_AND_STOP_CHECKING_INTERVAL_CRON": expr})

			if cfg.CheckingCron != expr {
				t.Errorf("CheckingCron = %q, expected %q", cfg.CheckingCron, expr)
			}
		})
	}
}

func TestParseCronRejects(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"", "empty cron expression"},
		{"* * *", "found 3"},
		{"* * * * * * *", "found 7"},
		{"60 * * * *", "above maximum"},
		{"@fortnightly", "unrecognized descriptor"},
		{"@every soon", "failed to parse duration"},
		{"@every -5s", "at least 1s"},
		{"0 0 31 4 *", "never runs"},
		{"TZ=UTC", "invalid cron expression"},
		{"TZ=Nowhere/Atlantis * * * * *", "bad location"},
	}
	for _, test := range tests {
		t.Run(test.expr, func(t *testing.T) {
			_, err := ParseCron(test.expr)

			if err == nil {
				t.Fatalf("ParseCron(%q) returned no error", test.expr)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not contain %q", err, test.want)
			}
		})
	}
}
