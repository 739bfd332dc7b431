package fleet

import (
	"strconv"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

func TestMeasureRegistersAndStopsEveryApp(t *testing.T) {
	result, err := Measure(t.Context(), 200)
	if err != nil {
		t.Fatal(err)
	}
	if result.Apps != 200 || result.Stopped != 200 {
		t.Errorf("apps %d, stopped %d, want 200 and 200", result.Apps, result.Stopped)
	}
	for name, d := range map[string]time.Duration{"discovery": result.Discovery, "steady": result.Steady, "stop all": result.StopAll} {
		if d <= 0 {
			t.Errorf("%s sweep took %s, want a positive duration", name, d)
		}
	}
	if result.HeapInUse == 0 {
		t.Error("heap in use is 0")
	}
}

func TestProviderStartAndStopFlipTheState(t *testing.T) {
	ctx := t.Context()
	p := NewProvider(MakeApps(2, engine.StateStopped))
	app := engine.App{Name: "app-00001"}
	if err := p.Start(ctx, app); err != nil {
		t.Fatal(err)
	}
	if state, err := p.State(ctx, app); err != nil || state != engine.StateRunning {
		t.Errorf("state after Start = %s, %v, want running", state, err)
	}
	if _, err := p.Stop(ctx, app); err != nil {
		t.Fatal(err)
	}
	if state, err := p.State(ctx, app); err != nil || state != engine.StateStopped {
		t.Errorf("state after Stop = %s, %v, want stopped", state, err)
	}
	if p.Starts() != 1 || p.Stops() != 1 {
		t.Errorf("starts %d, stops %d, want 1 and 1", p.Starts(), p.Stops())
	}
	if _, err := p.State(ctx, engine.App{Name: "missing"}); err == nil {
		t.Error("State of an unknown app returned no error")
	}
}

func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n)+"AppsSteady", func(b *testing.B) {
			fe, err := NewEngine(n)
			if err != nil {
				b.Fatal(err)
			}
			defer fe.Close()
			if err := fe.Sweep(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := fe.Sweep(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDiscoverySweep10000Apps(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		fe, err := NewEngine(10000)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := fe.Sweep(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		fe.Close()
		b.StartTimer()
	}
}
