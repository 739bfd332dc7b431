package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
	"github.com/paastis/paastis/internal/provider/local"
)

// newSample returns a sample of one round with the given rate and
// latencies.
func newSample(round int, key string, rate float64, p50, p99 time.Duration) sample {
	return sample{Round: round, Target: key, Wrk: measure.WrkResult{Requests: int64(rate) * 10, RequestsPerSec: rate, P50: p50, P99: p99}, CPU: time.Second}
}

func TestSummarizeTakesMedianOfPerRoundRatios(t *testing.T) {
	ms := time.Millisecond
	result := &throughput{
		Targets: []*target{{Key: keyDirect}, {Key: keyNginx}, {Key: keyCaddy}, {Key: "paastis-memory"}},
		Samples: []sample{
			// Round 1 is fast and round 3 slow for every target, so the
			// ratios within a round stay steady while the rates drift.
			newSample(1, keyDirect, 1000, 1*ms, 4*ms), newSample(1, keyNginx, 500, 2*ms, 8*ms),
			newSample(1, keyCaddy, 250, 4*ms, 16*ms), newSample(1, "paastis-memory", 400, 2*ms, 10*ms),
			newSample(2, keyDirect, 800, 1*ms, 4*ms), newSample(2, keyNginx, 400, 2*ms, 8*ms),
			newSample(2, keyCaddy, 200, 4*ms, 16*ms), newSample(2, "paastis-memory", 320, 2*ms, 10*ms),
			newSample(3, keyDirect, 100, 1*ms, 4*ms), newSample(3, keyNginx, 50, 2*ms, 8*ms),
			newSample(3, keyCaddy, 25, 4*ms, 16*ms), newSample(3, "paastis-memory", 40, 2*ms, 12*ms),
		},
	}

	summaries := result.summarize()
	if len(summaries) != 4 {
		t.Fatalf("got %d summaries, want 4", len(summaries))
	}
	paastis := summaries[3]
	if paastis.Target.Key != "paastis-memory" {
		t.Fatalf("summaries are not in the targets' order: the last is %q", paastis.Target.Key)
	}

	if paastis.RequestsPerS != 320 {
		t.Errorf("median requests/s = %v, want 320", paastis.RequestsPerS)
	}
	if paastis.P99 != 10*ms {
		t.Errorf("median p99 = %s, want 10ms", paastis.P99)
	}

	if got := paastis.Ratios[keyNginx][0]; got != 0.8 {
		t.Errorf("requests/s ÷ nginx = %v, want 0.8 in every round", got)
	}
	if got := paastis.Ratios[keyCaddy][0]; got != 1.6 {
		t.Errorf("requests/s ÷ caddy = %v, want 1.6 in every round", got)
	}
	if got := paastis.Ratios[keyDirect][2]; got != 2.5 {
		t.Errorf("p99 ÷ direct = %v, want the median of 2.5, 2.5 and 3", got)
	}
	if got := paastis.CPUPerRequest; got != time.Second/3200 {
		t.Errorf("median CPU per request = %s, want %s", got, time.Second/3200)
	}
}

func TestSummarizeLeavesMissingReferenceOut(t *testing.T) {
	result := &throughput{
		Targets: []*target{{Key: "paastis-memory"}},
		Samples: []sample{newSample(1, "paastis-memory", 400, time.Millisecond, time.Millisecond)},
	}
	summary := result.summarize()[0]
	if _, ok := summary.Ratios[keyNginx]; ok {
		t.Error("a ratio to nginx exists although nginx never ran")
	}
	if !strings.Contains(formatRatio(math.NaN()), "n/a") {
		t.Error("a missing ratio does not print as n/a")
	}
}

func TestAppsFileLoadsInLocalProvider(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apps.yaml")
	apps := []localApp{
		{Name: "bench", Argv: []string{"/tmp/bin/upstream", "-port", "8080"}, Port: 8080, ReadinessPath: "/healthz"},
		{Name: "sleepy", Argv: []string{"upstream"}, Env: map[string]string{"BOOT_DELAY": "1s", "BOOT_JITTER": "0s"}, Port: 8081},
	}
	if err := writeAppsFile(path, apps); err != nil {
		t.Fatal(err)
	}
	provider, err := local.New(local.Options{ConfigPath: path})
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("the local provider rejects the generated file: %v\n%s", err, data)
	}
	listed, err := provider.Apps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 {
		t.Fatalf("the local provider lists %d apps, want 2", len(listed))
	}
	if listed[0].URL != "http://127.0.0.1:8080" || listed[0].ReadinessPath != "/healthz" {
		t.Errorf("first app: URL %q, readiness path %q, want http://127.0.0.1:8080 and /healthz", listed[0].URL, listed[0].ReadinessPath)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(options) bool
		wantErr string
	}{
		{"defaults are a full run", nil, func(o options) bool { return o.rounds == 5 && o.duration == 10*time.Second && o.apps == 10000 }, ""},
		{"quick shortens the run", []string{"-quick"}, func(o options) bool { return o.rounds == 1 && o.duration == 2*time.Second && o.wakes == 3 }, ""},
		{"an explicit flag wins over quick", []string{"-quick", "-rounds", "3"}, func(o options) bool { return o.rounds == 3 }, ""},
		{"only selects sections", []string{"-only", "wake, scale"}, func(o options) bool { return o.sections["wake"] && o.sections["scale"] && !o.sections["throughput"] }, ""},
		{"unknown section", []string{"-only", "latency"}, nil, `unknown section "latency"`},
		{"fractional seconds", []string{"-duration", "1500ms"}, nil, "whole seconds"},
		{"no rounds", []string{"-rounds", "0"}, nil, "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BENCH_QUICK", "")
			o, err := parseOptions(tt.args, &strings.Builder{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseOptions(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Errorf("parseOptions(%q) = %+v", tt.args, o)
			}
		})
	}
}

func TestMarkdownListsFailedSections(t *testing.T) {
	r := &report{Started: time.Now(), Finished: time.Now(), Errors: []sectionError{{"wake", os.ErrDeadlineExceeded}}}
	text := r.markdown()
	for _, want := range []string{"## Failed sections", "- wake:", "| wake overhead | < 100 ms median | n/a | not measured |"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}
