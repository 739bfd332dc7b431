package config

import (
	"testing"
	"time"
)

func TestPatternsMatch(t *testing.T) {
	tests := []struct {
		name     string
		patterns Patterns
		app      string
		want     bool
	}{
		{"exact name matches", Patterns{"legacy-admin"}, "legacy-admin", true},
		{"exact name ignores case", Patterns{"Legacy-Admin"}, "LEGACY-admin", true},
		{"exact name rejects a longer name", Patterns{"legacy"}, "legacy-admin", false},
		{"trailing star matches a suffix", Patterns{"review-*"}, "review-pr42", true},
		{"trailing star matches nothing after", Patterns{"review-*"}, "review-", true},
		{"trailing star needs the prefix", Patterns{"review-*"}, "my-review-pr42", false},
		{"leading star matches a prefix", Patterns{"*-staging"}, "shop-staging", true},
		{"leading star needs the suffix", Patterns{"*-staging"}, "shop-staging-2", false},
		{"inner star", Patterns{"shop-*-pr*"}, "shop-front-pr12", true},
		{"inner star needs every literal", Patterns{"shop-*-pr*"}, "shop-front-12", false},
		{"star alone matches everything", Patterns{"*"}, "anything", true},
		{"star with backtracking", Patterns{"*a*b"}, "xaxaxb", true},
		{"star with backtracking fails", Patterns{"*a*b"}, "xaxaxc", false},
		{"question mark is literal", Patterns{"app?"}, "app1", false},
		{"second pattern matches", Patterns{"foo", "bar-*"}, "bar-1", true},
		{"no pattern", nil, "foo", false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if got := test.patterns.Match(test.app); got != test.want {
				t.Errorf("%q.Match(%q) = %v, expected %v", test.patterns, test.app, got, test.want)
			}
		})
	}
}

func TestRuleForMergesRules(t *testing.T) {
	cfg := Default()
	cfg.MaxIdleTime = 15 * time.Minute
	cfg.IgnoredApps = Patterns{"paastis-proxy"}
	cfg.AppRules = []AppRule{
		{Pattern: "review-*", MaxIdleTime: 30 * time.Minute},
		{Pattern: "review-keep", Ignored: false, ignoredSet: true},
		{Pattern: "review-*", ReadinessPath: "/health", MaxIdleTime: time.Hour, Ignored: true},
		{Pattern: "legacy-admin", Ignored: true},
		{Pattern: "*", ReadinessPath: "/ready"},
	}

	tests := []struct {
		app  string
		want AppRule
	}{
		{"review-42", AppRule{Pattern: "review-42", MaxIdleTime: 30 * time.Minute, ReadinessPath: "/health", Ignored: true}},
		{"review-keep", AppRule{Pattern: "review-keep", MaxIdleTime: 30 * time.Minute, ReadinessPath: "/health", Ignored: false}},
		{"legacy-admin", AppRule{Pattern: "legacy-admin", MaxIdleTime: 15 * time.Minute, ReadinessPath: "/ready", Ignored: true}},
		{"shop", AppRule{Pattern: "shop", MaxIdleTime: 15 * time.Minute, ReadinessPath: "/ready"}},
		{"paastis-proxy", AppRule{Pattern: "paastis-proxy", MaxIdleTime: 15 * time.Minute, ReadinessPath: "/ready", Ignored: true}},
	}
	for _, test := range tests {
		t.Run(test.app, func(t *testing.T) {
			got := cfg.RuleFor(test.app)

			if got.Pattern != test.want.Pattern {
				t.Errorf("Pattern = %q, expected %q", got.Pattern, test.want.Pattern)
			}
			if got.MaxIdleTime != test.want.MaxIdleTime {
				t.Errorf("MaxIdleTime = %v, expected %v", got.MaxIdleTime, test.want.MaxIdleTime)
			}
			if got.ReadinessPath != test.want.ReadinessPath {
				t.Errorf("ReadinessPath = %q, expected %q", got.ReadinessPath, test.want.ReadinessPath)
			}
			if got.Ignored != test.want.Ignored {
				t.Errorf("Ignored = %v, expected %v", got.Ignored, test.want.Ignored)
			}
		})
	}
}

func TestRuleForEnvironmentIgnoreWins(t *testing.T) {
	cfg := Default()
	cfg.IgnoredApps = Patterns{"legacy-*"}
	cfg.AppRules = []AppRule{{Pattern: "legacy-admin", Ignored: false, ignoredSet: true}}

	if !cfg.RuleFor("legacy-admin").Ignored {
		t.Error("RuleFor(legacy-admin).Ignored = false, but REGISTRY_IGNORED_APPS matches it")
	}
}
