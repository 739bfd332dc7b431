package config

import (
	"os"
	"strings"
	"testing"
)

// TestReadmesListEveryVariable checks that the configuration tables of the
// English and French READMEs have a row for every variable that Load reads.
func TestReadmesListEveryVariable(t *testing.T) {
	for _, path := range []string{"../../README.md", "../../README.fr.md"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		text := string(data)
		for _, variable := range Variables {
			row := "| `" + variable.Name + "` |"
			if !strings.Contains(text, row) {
				t.Errorf("%s has no table row for %s", path, variable.Name)
			}
		}
	}
}
