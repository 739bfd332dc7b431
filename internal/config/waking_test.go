package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWakingDefaults(t *testing.T) {
	cfg, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WakeStrategy != WakeStrategyAuto {
		t.Errorf("WakeStrategy = %q, expected auto", cfg.WakeStrategy)
	}
	if cfg.WakePageTemplate != "" || cfg.WakeSettleDelay != 0 || cfg.IgnoredUserAgents != nil {
		t.Errorf("template %q, settle delay %s, ignored user agents %v; expected none", cfg.WakePageTemplate, cfg.WakeSettleDelay, cfg.IgnoredUserAgents)
	}
}

func TestWakingVariablesDecode(t *testing.T) {
	template := filepath.Join(t.TempDir(), "waiting.html")
	if err := os.WriteFile(template, []byte("<p>{{.App}}</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(envOf(t, map[string]string{
		"WAKE_STRATEGY":                "Blocking",
		"WAKE_PAGE_TEMPLATE":           template,
		"WAKE_SETTLE_DELAY":            "1500ms",
		"ACTIVITY_IGNORED_USER_AGENTS": "(?i)uptimerobot|pingdom",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WakeStrategy != WakeStrategyBlocking {
		t.Errorf("WakeStrategy = %q, expected blocking", cfg.WakeStrategy)
	}
	if cfg.WakePageTemplate != template {
		t.Errorf("WakePageTemplate = %q, expected %q", cfg.WakePageTemplate, template)
	}
	if cfg.WakeSettleDelay != 1500*time.Millisecond {
		t.Errorf("WakeSettleDelay = %s, expected 1.5s", cfg.WakeSettleDelay)
	}
	if cfg.IgnoredUserAgents == nil || !cfg.IgnoredUserAgents.MatchString("Mozilla/5.0 (compatible; UptimeRobot/2.0)") {
		t.Errorf("IgnoredUserAgents = %v, expected it to match UptimeRobot", cfg.IgnoredUserAgents)
	}
}

func TestWakeSettleDelayAcceptsZero(t *testing.T) {
	cfg, err := Load(envOf(t, map[string]string{"WAKE_SETTLE_DELAY": "0"}))
	if err != nil || cfg.WakeSettleDelay != 0 {
		t.Errorf("WAKE_SETTLE_DELAY=0: delay %s, error %v; expected 0 and no error", cfg.WakeSettleDelay, err)
	}
}

func TestInvalidWakingVariablesAreReported(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, variable, value string
		want                  []string
	}{
		{"unknown strategy", "WAKE_STRATEGY", "eager", []string{"WAKE_STRATEGY", `"eager"`, "auto, blocking, page"}},
		{"missing template", "WAKE_PAGE_TEMPLATE", filepath.Join(dir, "absent.html"), []string{"WAKE_PAGE_TEMPLATE", "absent.html", "built-in waiting page"}},
		{"template is a directory", "WAKE_PAGE_TEMPLATE", dir, []string{"WAKE_PAGE_TEMPLATE", "is a directory"}},
		{"negative settle delay", "WAKE_SETTLE_DELAY", "-1s", []string{"WAKE_SETTLE_DELAY", `"-1s"`}},
		{"settle delay without unit", "WAKE_SETTLE_DELAY", "5", []string{"WAKE_SETTLE_DELAY", `"5"`}},
		{"invalid regular expression", "ACTIVITY_IGNORED_USER_AGENTS", "(uptime", []string{"ACTIVITY_IGNORED_USER_AGENTS", `"(uptime"`, "missing closing )"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(t, map[string]string{tt.variable: tt.value}))
			var problems *Error
			if !errors.As(err, &problems) {
				t.Fatalf("Load error = %v, expected an *Error", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}
