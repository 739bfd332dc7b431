package scalingo_test

import (
	"github.com/paastis/paastis/internal/testwait"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

func TestState(t *testing.T) {
	tests := []struct {
		name  string
		seed  scalingotest.App
		setup func(t *testing.T, fake *scalingotest.Server)
		want  engine.State
	}{
		{
			name: "web containers running",
			seed: scalingotest.App{Formation: "web:2"},
			want: engine.StateRunning,
		},
		{
			name: "formation all zeros",
			seed: scalingotest.App{Formation: "web:0,worker:0"},
			want: engine.StateStopped,
		},
		{
			name: "scale operation in progress",
			seed: scalingotest.App{Formation: "web:0"},
			setup: func(t *testing.T, fake *scalingotest.Server) {
				if err := fake.BeginScale("", "state-app", "web:1", time.Hour); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.StateStarting,
		},
		{
			name: "crashed app",
			seed: scalingotest.App{Status: "crashed"},
			want: engine.StateFailed,
		},
		{
			name: "app never deployed",
			seed: scalingotest.App{Status: "new"},
			want: engine.StateUnknown,
		},
		{
			name: "worker without web",
			seed: scalingotest.App{Formation: "web:0,worker:1"},
			want: engine.StateRunning,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			fake := newFake(t, scalingotest.Options{})
			test.seed.Name = "state-app"
			fake.AddApp(test.seed)
			if test.setup != nil {
				test.setup(t, fake)
			}
			provider, _ := newProvider(t, fake, nil)
			app := mustApp(t, provider, "state-app")

			state, err := provider.State(t.Context(), app)

			if err != nil {
				t.Fatalf("State: %v", err)
			}
			if state != test.want {
				t.Errorf("State = %q, want %q", state, test.want)
			}
		})
	}
}

func TestStateFollowsStart(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "waking-app", Formation: "web:0"})
	provider, _ := newProvider(t, fake, nil)
	app := mustApp(t, provider, "waking-app")
	if err := fake.BeginScale("", "waking-app", "web:1", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}

	var seen []engine.State
	testwait.Until(t, 5*time.Second, "the app runs", func() bool {
		state, err := provider.State(t.Context(), app)
		if err != nil {
			t.Fatalf("State: %v", err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != state {
			seen = append(seen, state)
		}
		return state == engine.StateRunning
	})

	if seen[0] != engine.StateStarting {
		t.Errorf("states seen = %v, want starting first", seen)
	}
	if !fake.Running("", "waking-app") {
		t.Error("fake upstream does not serve once State says running")
	}
}
