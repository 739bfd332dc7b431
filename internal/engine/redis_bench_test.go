package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/redis/redistest"
)

// staticProvider lists running apps and never starts or stops them.
type staticProvider struct {
	apps []engine.App
}

func newStaticProvider(n int) *staticProvider {
	p := &staticProvider{}
	for i := range n {
		name := fmt.Sprintf("app-%d", i)
		p.apps = append(p.apps, engine.App{Name: name, ID: name, State: engine.StateRunning, URL: "http://127.0.0.1:1"})
	}
	return p
}

func (p *staticProvider) Apps(context.Context) ([]engine.App, error) { return p.apps, nil }
func (p *staticProvider) Start(context.Context, engine.App) error    { return nil }
func (p *staticProvider) State(context.Context, engine.App) (engine.State, error) {
	return engine.StateRunning, nil
}
func (p *staticProvider) Stop(context.Context, engine.App) (map[string]string, error) {
	return nil, nil
}

// newBenchEngine returns an engine on the server with n running apps
// named app-0 to app-<n-1>, swept once.
func newBenchEngine(b *testing.B, server *redistest.Server, n int) *engine.Engine {
	b.Helper()
	e, err := engine.New(engine.Options{
		Providers: map[string]engine.Provider{"static": newStaticProvider(n)},
		Registry:  newRedisRegistry(b, server),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	if err := e.Sweep(b.Context()); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkRedisCommandsPerWarmRequest measures the activity accounting of
// one request for a running app, and reports the Redis commands it sends,
// which must be 0: the request path touches only memory.
func BenchmarkRedisCommandsPerWarmRequest(b *testing.B) {
	server := redistest.Start(b)
	e := newBenchEngine(b, server, 1)
	server.ResetCommandStats()
	requests := 0

	b.ReportAllocs()
	for b.Loop() {
		h, ok := e.Lookup("app-0")
		if !ok {
			b.Fatal("app-0 is not in the table")
		}
		h.Begin(e.Now())
		h.End(e.Now())
		requests++
	}

	b.StopTimer()
	b.ReportMetric(float64(countCommands(server.CommandStats()))/float64(requests), "redis-commands/request")
}

// BenchmarkRedisCommandsPerFlush measures one activity flush after every
// app had requests, and reports its round trips (script calls) and all the
// Redis commands it runs, those of the script included.
func BenchmarkRedisCommandsPerFlush(b *testing.B) {
	for _, apps := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("apps=%d", apps), func(b *testing.B) {
			server := redistest.Start(b)
			e := newBenchEngine(b, server, apps)
			handles := e.Handles()
			touchAll := func() {
				now := time.Now()
				for _, h := range handles {
					h.Touch(now)
				}
			}
			// A first flush loads the script into Redis's cache.
			touchAll()
			e.Flush(b.Context())
			server.ResetCommandStats()
			flushes := 0

			for b.Loop() {
				b.StopTimer()
				touchAll()
				b.StartTimer()
				e.Flush(b.Context())
				flushes++
			}

			b.StopTimer()
			stats := server.CommandStats()
			b.ReportMetric(float64(stats["evalsha"]+stats["eval"])/float64(flushes), "roundtrips/flush")
			b.ReportMetric(float64(countCommands(stats))/float64(flushes), "redis-commands/flush")
		})
	}
}
