package config

import (
	"fmt"
	"strings"
)

// Patterns is a list of app name patterns, such as "review-*" or
// "paastis-proxy". In a pattern, "*" matches any run of characters, empty
// included, and every other character matches itself. Matching ignores case.
type Patterns []string

// Match reports whether name matches at least one of the patterns.
func (p Patterns) Match(name string) bool {
	name = strings.ToLower(name)
	for _, pattern := range p {
		if matchGlob(strings.ToLower(pattern), name) {
			return true
		}
	}
	return false
}

// validatePattern rejects the wildcards of path.Match other than "*". App
// names are DNS labels, which never contain them, so a pattern containing
// them would silently match nothing.
func validatePattern(pattern string) error {
	if pattern == "" {
		return fmt.Errorf("empty pattern")
	}
	if i := strings.IndexAny(pattern, `?[]\`); i >= 0 {
		return fmt.Errorf("unsupported character %q: use * as the only wildcard", string(pattern[i]))
	}
	return nil
}

// matchGlob matches name against a pattern whose only wildcard is "*". When
// a literal run fails to match, it moves the last star one character further
// instead of recursing, which bounds the work by len(pattern)*len(name).
func matchGlob(pattern, name string) bool {
	p, n := 0, 0
	star, resume := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, resume = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			resume++
			p, n = star+1, resume
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// splitList splits a comma-separated list, trims each item and drops the
// empty ones.
func splitList(value string) []string {
	var items []string
	for item := range strings.SplitSeq(value, ",") {
		item = strings.TrimSpace(item)
		if item != "" {
			items = append(items, item)
		}
	}
	return items
}
