package redis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/registry/redis"
	"github.com/paastis/paastis/internal/registry/redis/redistest"
)

// BenchmarkReportActivity measures one activity flush of n apps, and
// reports the Redis commands it takes: round trips (EVALSHA calls) and
// all commands, those that the script runs included.
func BenchmarkReportActivity(b *testing.B) {
	server := redistest.Start(b)
	registry, err := redis.New(b.Context(), redis.Options{URL: server.URL()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { registry.Close() })

	for _, apps := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("apps=%d", apps), func(b *testing.B) {
			activity := sampleActivity(apps, time.Now())
			server.ResetCommandStats()
			flushes := 0

			for b.Loop() {
				if err := registry.ReportActivity(b.Context(), activity); err != nil {
					b.Fatal(err)
				}
				flushes++
			}

			b.StopTimer()
			stats := server.CommandStats()
			var commands int64
			for command, calls := range stats {
				if command != "config|resetstat" {
					commands += calls
				}
			}
			b.ReportMetric(float64(stats["evalsha"]+stats["eval"])/float64(flushes), "roundtrips/flush")
			b.ReportMetric(float64(commands)/float64(flushes), "commands/flush")
		})
	}
}
