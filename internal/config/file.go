package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The config file holds a list of per-app rules:
//
//	apps:
//	  - name: "review-*"      # an app name, where * matches any characters
//	    max_idle_time: 30m    # whole minutes, or a Go duration
//	    readiness_path: /health
//	    ignored: false
//
// Decoding walks the YAML nodes instead of unmarshalling into a struct, so
// that every problem names its file, line, rule and key, and so that all of
// them are reported at once.

// ruleKeys lists the keys accepted in one entry of apps.
const ruleKeys = "name, max_idle_time, readiness_path, ignored"

// readRulesFile reads the rules of the YAML file at path, and adds a problem
// for each invalid part. It returns the valid rules only.
func readRulesFile(path string, problems *Error) []AppRule {
	data, err := os.ReadFile(path)
	if err != nil {
		reason := err
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			reason = pathErr.Err
		}
		problems.Add("PAASTIS_CONFIG: cannot read %q: %v: check the path, or unset PAASTIS_CONFIG", path, reason)
		return nil
	}
	return parseRules(path, data, problems)
}

// parseRules decodes the content of a rules file. The path only names the
// file in problems.
func parseRules(path string, data []byte, problems *Error) []AppRule {
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	var document yaml.Node
	if err := decoder.Decode(&document); err != nil {
		if !errors.Is(err, io.EOF) {
			problems.Add("%s: invalid YAML: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	var next yaml.Node
	if err := decoder.Decode(&next); !errors.Is(err, io.EOF) {
		problems.Add("%s:%d: a second YAML document starts here: keep a single document", path, next.Line)
		return nil
	}

	root := &document
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = resolve(root.Content[0])
	}
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		problems.Add("%s:%d: expected a mapping with the key apps", path, root.Line)
		return nil
	}

	var apps *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], resolve(root.Content[i+1])
		switch {
		case seen[key.Value]:
			problems.Add("%s:%d: duplicate key %q: keep only one", path, key.Line, key.Value)
		case key.Value == "apps":
			apps = value
		default:
			problems.Add("%s:%d: unknown key %q: the only accepted key is apps", path, key.Line, key.Value)
		}
		seen[key.Value] = true
	}
	if apps == nil || isNull(apps) {
		return nil
	}
	if apps.Kind != yaml.SequenceNode {
		problems.Add("%s:%d: apps: expected a list of rules, each starting with \"- name: PATTERN\"", path, apps.Line)
		return nil
	}

	var rules []AppRule
	for index, item := range apps.Content {
		if rule, ok := parseRule(path, index, resolve(item), problems); ok {
			rules = append(rules, rule)
		}
	}
	return rules
}

// parseRule decodes apps[index]. It returns false, after adding the
// problems, when any part of the rule is invalid.
func parseRule(path string, index int, node *yaml.Node, problems *Error) (AppRule, bool) {
	label := fmt.Sprintf("apps[%d]", index)
	if node.Kind != yaml.MappingNode {
		problems.Add("%s:%d: %s: expected a mapping with the keys %s", path, node.Line, label, ruleKeys)
		return AppRule{}, false
	}

	// The problems are collected, then added in line order once the name,
	// which labels them, is known.
	type ruleProblem struct {
		line    int
		message string
	}
	var ruleProblems []ruleProblem
	report := func(line int, format string, args ...any) {
		ruleProblems = append(ruleProblems, ruleProblem{line, fmt.Sprintf(format, args...)})
	}

	values := map[string]*yaml.Node{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], resolve(node.Content[i+1])
		switch {
		case values[key.Value] != nil:
			report(key.Line, "duplicate key %q: keep only one", key.Value)
		case !isRuleKey(key.Value):
			report(key.Line, "unknown key %q: accepted keys are %s", key.Value, ruleKeys)
		default:
			values[key.Value] = value
		}
	}

	rule := AppRule{}
	nameNode := values["name"]
	switch {
	case nameNode == nil || isNull(nameNode):
		report(node.Line, "missing name: set it to an app name, or a pattern such as review-*")
	case nameNode.Kind != yaml.ScalarNode:
		report(nameNode.Line, "name: expected a string such as review-*")
	default:
		label = fmt.Sprintf("%s (%q)", label, nameNode.Value)
		if err := validatePattern(nameNode.Value); err != nil {
			report(nameNode.Line, "name: invalid pattern %q: %v", nameNode.Value, err)
		}
		rule.Pattern = nameNode.Value
	}

	if value := values["max_idle_time"]; value != nil && !isNull(value) {
		idleTime, err := parseIdleTime(value.Value)
		if value.Kind != yaml.ScalarNode {
			err = errors.New("expected a whole number of minutes or a Go duration such as 30m")
		}
		if err != nil {
			report(value.Line, "max_idle_time: invalid value %q: %v", value.Value, err)
		}
		rule.MaxIdleTime = idleTime
	}

	if value := values["readiness_path"]; value != nil && !isNull(value) {
		if value.Kind != yaml.ScalarNode || !strings.HasPrefix(value.Value, "/") || strings.ContainsAny(value.Value, " \t\r\n#") {
			report(value.Line, "readiness_path: invalid value %q: must be a URL path starting with /, such as /health", value.Value)
		}
		rule.ReadinessPath = value.Value
	}

	if value := values["ignored"]; value != nil && !isNull(value) {
		var ignored bool
		if value.Kind != yaml.ScalarNode || value.Tag != "!!bool" || value.Decode(&ignored) != nil {
			report(value.Line, "ignored: invalid value %q: must be true or false", value.Value)
		}
		rule.Ignored = ignored
		rule.ignoredSet = true
	}

	slices.SortStableFunc(ruleProblems, func(a, b ruleProblem) int { return a.line - b.line })
	for _, problem := range ruleProblems {
		problems.Add("%s:%d: %s: %s", path, problem.line, label, problem.message)
	}
	return rule, len(ruleProblems) == 0
}

func isRuleKey(key string) bool {
	switch key {
	case "name", "max_idle_time", "readiness_path", "ignored":
		return true
	}
	return false
}

// resolve follows an alias (*name) to the node that its anchor marks.
func resolve(node *yaml.Node) *yaml.Node {
	for node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	return node
}

// isNull reports whether node is an empty value, such as "key:" or "~".
func isNull(node *yaml.Node) bool {
	return node.Kind == 0 || node.Kind == yaml.ScalarNode && node.Tag == "!!null"
}
