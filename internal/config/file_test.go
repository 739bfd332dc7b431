package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to name in a new temporary directory and returns
// the file's path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigFileRules(t *testing.T) {
	path := writeFile(t, "paastis.yaml", `# per-app rules
apps:
  - name: "review-*"
    max_idle_time: 30m
    readiness_path: /health
    ignored: false
  - name: legacy-admin
    ignored: true
  - name: batch-*
    max_idle_time: 90
`)

	cfg := mustLoad(t, map[string]string{"PAASTIS_CONFIG": path})

	if len(cfg.AppRules) != 3 {
		t.Fatalf("expected 3 rules, got %d: %+v", len(cfg.AppRules), cfg.AppRules)
	}
	review := cfg.AppRules[0]
	if review.Pattern != "review-*" || review.MaxIdleTime != 30*time.Minute || review.ReadinessPath != "/health" || review.Ignored {
		t.Errorf("rule 0 = %+v, expected review-* with 30m, /health, not ignored", review)
	}
	if !review.ignoredSet {
		t.Error(`rule 0 does not record its explicit "ignored: false"`)
	}
	if legacy := cfg.AppRules[1]; legacy.Pattern != "legacy-admin" || !legacy.Ignored {
		t.Errorf("rule 1 = %+v, expected legacy-admin ignored", legacy)
	}
	if batch := cfg.AppRules[2]; batch.MaxIdleTime != 90*time.Minute {
		t.Errorf("rule 2 max idle time = %v, expected 90 minutes from the bare number 90", batch.MaxIdleTime)
	}
	if got := cfg.RuleFor("review-12").MaxIdleTime; got != 30*time.Minute {
		t.Errorf("RuleFor(review-12).MaxIdleTime = %v, expected 30m", got)
	}
	if !cfg.RuleFor("legacy-admin").Ignored {
		t.Error("RuleFor(legacy-admin).Ignored = false, expected true")
	}
}

func TestLoadConfigFileKeepsEnvironmentGlobals(t *testing.T) {
	path := writeFile(t, "paastis.yaml", "apps:\n  - name: shop\n    max_idle_time: 5m\n")

	cfg := mustLoad(t, map[string]string{"PAASTIS_CONFIG": path, "START_AND_STOP_MAX_IDLE_TIME": "20"})

	if cfg.MaxIdleTime != 20*time.Minute {
		t.Errorf("MaxIdleTime = %v, expected 20m from the environment", cfg.MaxIdleTime)
	}
	if got := cfg.RuleFor("other").MaxIdleTime; got != 20*time.Minute {
		t.Errorf("RuleFor(other).MaxIdleTime = %v, expected the global 20m", got)
	}
}

func TestLoadConfigFileEmpty(t *testing.T) {
	for _, content := range []string{"", "# nothing yet\n", "apps:\n", "apps: []\n", "~\n"} {
		t.Run(content, func(t *testing.T) {
			path := writeFile(t, "paastis.yaml", content)

			cfg := mustLoad(t, map[string]string{"PAASTIS_CONFIG": path})

			if len(cfg.AppRules) != 0 {
				t.Errorf("expected no rule, got %+v", cfg.AppRules)
			}
		})
	}
}

func TestLoadConfigFileProblems(t *testing.T) {
	tests := []struct {
		name    string
		content string
		// want are substrings of the single expected problem, after the
		// file path.
		want []string
	}{
		{"unknown key in a rule", "apps:\n  - name: shop\n    max_idle: 5m\n",
			[]string{`:3: apps[0] ("shop"): unknown key "max_idle": accepted keys are name, max_idle_time, readiness_path, ignored`}},
		{"unknown top-level key", "apps: []\nproviders: {}\n",
			[]string{`:2: unknown key "providers": the only accepted key is apps`}},
		{"bad duration", "apps:\n  - name: shop\n    max_idle_time: soon\n",
			[]string{`:3: apps[0] ("shop"): max_idle_time: invalid value "soon": must be a whole number of minutes`}},
		{"negative duration", "apps:\n  - name: shop\n  - name: blog\n    max_idle_time: -5m\n",
			[]string{`:4: apps[1] ("blog"): max_idle_time: invalid value "-5m": must be positive`}},
		{"missing name", "apps:\n  - max_idle_time: 5m\n",
			[]string{`:2: apps[0]: missing name`}},
		{"name with a bracket", "apps:\n  - name: \"shop[12]\"\n",
			[]string{`:2: apps[0] ("shop[12]"): name: invalid pattern "shop[12]"`}},
		{"readiness path without slash", "apps:\n  - name: shop\n    readiness_path: health\n",
			[]string{`:3: apps[0] ("shop"): readiness_path: invalid value "health": must be a URL path starting with /`}},
		{"ignored that is not a boolean", "apps:\n  - name: shop\n    ignored: sometimes\n",
			[]string{`:3: apps[0] ("shop"): ignored: invalid value "sometimes": must be true or false`}},
		{"duplicate key", "apps:\n  - name: shop\n    name: blog\n",
			[]string{`:3: apps[0] ("shop"): duplicate key "name"`}},
		{"apps that is not a list", "apps:\n  name: shop\n",
			[]string{`:2: apps: expected a list of rules`}},
		{"rule that is not a mapping", "apps:\n  - shop\n",
			[]string{`:2: apps[0]: expected a mapping with the keys name, max_idle_time, readiness_path, ignored`}},
		{"top level that is a list", "- name: shop\n",
			[]string{`:1: expected a mapping with the key apps`}},
		{"invalid YAML", "apps:\n\t- name: shop\n",
			[]string{`: invalid YAML: line 2: found character that cannot start any token`}},
		{"two documents", "apps: []\n---\napps: []\n",
			[]string{`a second YAML document starts here`}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			path := writeFile(t, "paastis.yaml", test.content)

			problems := loadProblems(t, map[string]string{"PAASTIS_CONFIG": path})

			if len(problems) != 1 {
				t.Fatalf("expected 1 problem, got %d: %q", len(problems), problems)
			}
			if !strings.HasPrefix(problems[0], path) {
				t.Errorf("problem %q does not start with the file path %q", problems[0], path)
			}
			for _, want := range test.want {
				if !strings.Contains(problems[0], want) {
					t.Errorf("problem %q does not contain %q", problems[0], want)
				}
			}
		})
	}
}

func TestLoadFileAndEnvProblemsTogether(t *testing.T) {
	path := writeFile(t, "paastis.yaml", "apps:\n  - name: shop\n    max_idle_time: soon\n    colour: blue\n")

	problems := loadProblems(t, map[string]string{"PAASTIS_CONFIG": path, "PORT": "abc"})

	if len(problems) != 3 {
		t.Fatalf("expected 3 problems (PORT, unknown key, bad duration), got %d: %q", len(problems), problems)
	}
}

func TestLoadConfigFileFollowsAliases(t *testing.T) {
	path := writeFile(t, "paastis.yaml", `apps:
  - name: shop
    max_idle_time: &short 5m
  - name: blog
    max_idle_time: *short
`)

	cfg := mustLoad(t, map[string]string{"PAASTIS_CONFIG": path})

	if len(cfg.AppRules) != 2 {
		t.Fatalf("expected 2 rules, got %+v", cfg.AppRules)
	}
	if cfg.AppRules[1].MaxIdleTime != 5*time.Minute {
		t.Errorf("rule 1 max idle time = %v, expected 5m through the alias", cfg.AppRules[1].MaxIdleTime)
	}
}
