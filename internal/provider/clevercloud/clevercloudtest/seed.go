package clevercloudtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Seed is the content of a seed file: organisations, then apps.
type Seed struct {
	Organisations []OrganisationSeed `json:"organisations" yaml:"organisations"`
	Apps          []AppSeed          `json:"apps" yaml:"apps"`
}

// LoadSeed reads a seed file, JSON or YAML by its extension (.json, .yaml
// or .yml). Unknown fields are errors, so that a typo does not go unseen.
func LoadSeed(path string) (Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, fmt.Errorf("reading seed: %w", err)
	}

	var seed Seed
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		decoder := json.NewDecoder(bytes.NewReader(data))
		decoder.DisallowUnknownFields()
		err = decoder.Decode(&seed)
	case ".yaml", ".yml":
		decoder := yaml.NewDecoder(bytes.NewReader(data))
		decoder.KnownFields(true)
		err = decoder.Decode(&seed)
	default:
		return Seed{}, fmt.Errorf("seed %q: unknown extension: use .json, .yaml or .yml", path)
	}
	if err != nil {
		return Seed{}, fmt.Errorf("parsing seed %q: %w", path, err)
	}
	return seed, nil
}

// DemoSeed returns three apps for a one-machine demo: one in the personal
// space and two in an organisation, one of them running. The fake serves
// their upstreams itself. Ids are fixed so that routing labels stay the
// same from one run to the next.
func DemoSeed() Seed {
	const org = "orga_00000000-0000-4000-8000-0000000000a1"
	return Seed{
		Organisations: []OrganisationSeed{{ID: org, Name: "Demo Company"}},
		Apps: []AppSeed{
			{
				ID:       "app_00000000-0000-4000-8000-000000000001",
				Name:     "Hello World",
				Running:  true,
				Response: "hello from the Hello World app on the fake Clever Cloud\n",
			},
			{
				ID:       "app_00000000-0000-4000-8000-000000000002",
				Name:     "Shop Front",
				OwnerID:  org,
				Zone:     "par",
				Response: "welcome to the Shop Front app on the fake Clever Cloud\n",
			},
			{
				ID:       "app_00000000-0000-4000-8000-000000000003",
				Name:     "Docs",
				OwnerID:  org,
				Zone:     "mtl",
				Response: "documentation served by the Docs app on the fake Clever Cloud\n",
			},
		},
	}
}
