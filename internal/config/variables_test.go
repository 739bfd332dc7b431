package config

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/joho/godotenv"
)

const envSamplePath = "../../env.sample"

// readNames returns every variable name that Load reads for values,
// recorded through its Getenv.
func readNames(t *testing.T, values map[string]string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	_, _ = Load(func(key string) string {
		names[key] = true
		return values[key]
	})
	return names
}

// sampleNameList returns, in file order, the names of the variables that
// env.sample sets or shows commented out, such as "# PROXY_DOMAIN=".
func sampleNameList(t *testing.T) []string {
	t.Helper()
	file, err := os.Open(envSamplePath)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	assignment := regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_]*)=`)
	var names []string
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		if match := assignment.FindStringSubmatch(scanner.Text()); match != nil {
			names = append(names, match[1])
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// sampleNames returns the names of sampleNameList as a set.
func sampleNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, name := range sampleNameList(t) {
		names[name] = true
	}
	return names
}

func TestEnvSampleListsEveryVariable(t *testing.T) {
	// Some variables are read only in some configurations.
	read := map[string]bool{}
	for _, values := range []map[string]string{
		nil,
		{"PROVIDER_NAME": ProviderScalingo},
		{"PROVIDER_NAME": ProviderCleverCloud},
		{"REGISTRY_TYPE": RegistryRedis},
		{"ROUTING_SYSTEM_API_ENABLED": "true"},
	} {
		for name := range readNames(t, values) {
			read[name] = true
		}
	}
	listed := map[string]bool{}
	for _, variable := range Variables {
		listed[variable.Name] = true
	}
	inSample := sampleNames(t)

	for name := range read {
		if !listed[name] {
			t.Errorf("Load reads %s, but Variables does not list it", name)
		}
		if !inSample[name] {
			t.Errorf("Load reads %s, but env.sample does not show it", name)
		}
	}
	for _, variable := range Variables {
		if !read[variable.Name] {
			t.Errorf("Variables lists %s, but Load never reads it", variable.Name)
		}
		if !inSample[variable.Name] {
			t.Errorf("Variables lists %s, but env.sample does not show it", variable.Name)
		}
	}
}

func TestEnvSampleFollowsVariablesOrder(t *testing.T) {
	listed := map[string]bool{}
	var want []string
	for _, variable := range Variables {
		listed[variable.Name] = true
		want = append(want, variable.Name)
	}

	var got []string
	for _, name := range sampleNameList(t) {
		if listed[name] && !slices.Contains(got, name) {
			got = append(got, name)
		}
	}

	if !slices.Equal(got, want) {
		t.Errorf("env.sample lists\n%q\nexpected the order of Variables\n%q", got, want)
	}
}

func TestVariablesAreDocumented(t *testing.T) {
	sections := []string{"Server", "Registry", "Start & Stop", "Providers", "Hooks", "System API", "Admin API", "Waking", "Logging"}
	seen := map[string]bool{}
	for _, variable := range Variables {
		if variable.Description == "" {
			t.Errorf("%s has no description", variable.Name)
		}
		if !slices.Contains(sections, variable.Section) {
			t.Errorf("%s has section %q, expected one of %q", variable.Name, variable.Section, sections)
		}
		if seen[variable.Name] {
			t.Errorf("%s is listed twice", variable.Name)
		}
		seen[variable.Name] = true
	}
}

func TestEnvSampleIsValidStart(t *testing.T) {
	values, err := godotenv.Read(envSamplePath)
	if err != nil {
		t.Fatalf("env.sample does not parse: %v", err)
	}

	cfg, err := Load(func(key string) string { return values[key] })
	if err != nil {
		t.Fatalf("env.sample does not load: %v", err)
	}

	if cfg.ProviderName() != ProviderLocal {
		t.Errorf("ProviderName = %q, expected local", cfg.ProviderName())
	}
	if cfg.LocalConfig != "examples/local/apps.yaml" {
		t.Errorf("LocalConfig = %q, expected examples/local/apps.yaml", cfg.LocalConfig)
	}
	if cfg.MaxIdleTime != time.Minute {
		t.Errorf("MaxIdleTime = %v, expected the 1 minute of the demo", cfg.MaxIdleTime)
	}
	if cfg.CheckingCron != "* * * * *" {
		t.Errorf("CheckingCron = %q, expected the 5-field default", cfg.CheckingCron)
	}
}

func TestEnvSampleValuesAreDefaults(t *testing.T) {
	values, err := godotenv.Read(envSamplePath)
	if err != nil {
		t.Fatalf("env.sample does not parse: %v", err)
	}
	// The sample shortens the idle time so that the demo apps stop quickly.
	demoValues := map[string]string{"START_AND_STOP_MAX_IDLE_TIME": "1"}

	for _, variable := range Variables {
		value, set := values[variable.Name]
		if !set {
			continue
		}
		want := variable.Default
		if demo, ok := demoValues[variable.Name]; ok {
			want = demo
		}
		if value != want {
			t.Errorf("env.sample sets %s=%q, expected %q", variable.Name, value, want)
		}
	}
	for name := range values {
		if !slices.ContainsFunc(Variables, func(variable Variable) bool { return variable.Name == name }) {
			t.Errorf("env.sample sets %s, which Variables does not list", name)
		}
	}
}
