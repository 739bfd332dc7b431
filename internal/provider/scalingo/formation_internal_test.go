package scalingo

import (
	"slices"
	"testing"
)

func TestFormationRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		formation []processType
		want      string
	}{
		{"types are sorted by name", []processType{{Name: "worker", Amount: 1}, {Name: "web", Amount: 2}}, "web:2,worker:1"},
		{"zero amounts are left out", []processType{{Name: "web", Amount: 1}, {Name: "clock", Amount: 0}}, "web:1"},
		{"all zeros give an empty text", []processType{{Name: "web", Amount: 0}}, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			text := formatFormation(test.formation)
			if text != test.want {
				t.Fatalf("formatFormation = %q, want %q", text, test.want)
			}
			if text == "" {
				return
			}
			parsed, err := parseFormation(text)
			if err != nil {
				t.Fatalf("parseFormation(%q): %v", text, err)
			}
			if again := formatFormation(parsed); again != text {
				t.Errorf("round trip of %q gave %q", text, again)
			}
		})
	}
}

func TestParseFormationRejectsInvalidText(t *testing.T) {
	for _, text := range []string{"", "web", "web:x", "web:-1", ":2", " , "} {
		if formation, err := parseFormation(text); err == nil {
			t.Errorf("parseFormation(%q) = %v, want an error", text, formation)
		}
	}
}

func TestParseFormationKeepsOrderAndSpaces(t *testing.T) {
	formation, err := parseFormation(" worker:1 , web:2 ")
	if err != nil {
		t.Fatalf("parseFormation: %v", err)
	}
	want := []processType{{Name: "worker", Amount: 1}, {Name: "web", Amount: 2}}
	if !slices.Equal(formation, want) {
		t.Errorf("parseFormation = %v, want %v", formation, want)
	}
}
