package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/local"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		content string
		// want holds substrings that must each be in the error.
		want []string
		// problems is the number of problems the error must list.
		problems int
	}{
		{
			name: "name with uppercase letters is invalid",
			content: `apps:
  - name: Hello
    command: sleep 1
`,
			want:     []string{`apps.yaml:2: app "Hello": invalid name "Hello"`, "a-z, 0-9"},
			problems: 1,
		},
		{
			name: "name longer than 63 characters is invalid",
			content: `apps:
  - name: ` + strings.Repeat("a", 64) + `
    command: sleep 1
`,
			want:     []string{"invalid name", "1 to 63 characters"},
			problems: 1,
		},
		{
			name: "duplicate name is reported with the first line",
			content: `apps:
  - name: hello
    command: sleep 1
  - name: hello
    command: sleep 2
`,
			want:     []string{`apps.yaml:4: app "hello": duplicate name, already used at line 2`},
			problems: 1,
		},
		{
			name: "missing command is reported",
			content: `apps:
  - name: hello
`,
			want:     []string{`app "hello": missing command`},
			problems: 1,
		},
		{
			name: "empty command list is reported",
			content: `apps:
  - name: hello
    command: []
`,
			want:     []string{`app "hello": empty command list`},
			problems: 1,
		},
		{
			name: "unknown stop signal is reported with the accepted ones",
			content: `apps:
  - name: hello
    command: sleep 1
    stop_signal: SIGSTOP
`,
			want:     []string{`apps.yaml:4: app "hello": invalid stop_signal "SIGSTOP"`, "SIGTERM", "SIGKILL"},
			problems: 1,
		},
		{
			name: "grace period without unit is invalid",
			content: `apps:
  - name: hello
    command: sleep 1
    stop_grace_period: "10"
`,
			want:     []string{`apps.yaml:4: app "hello": invalid stop_grace_period "10"`, `"10s"`},
			problems: 1,
		},
		{
			name: "negative grace period is invalid",
			content: `apps:
  - name: hello
    command: sleep 1
    stop_grace_period: -1s
`,
			want:     []string{`invalid stop_grace_period "-1s"`, "zero or more"},
			problems: 1,
		},
		{
			name: "unknown key is reported with its line",
			content: `apps:
  - name: hello
    command: sleep 1
    stop_grace: 5s
`,
			want:     []string{`apps.yaml:4: unknown key "stop_grace" in app`, "stop_grace_period"},
			problems: 1,
		},
		{
			name: "unknown top-level key is reported",
			content: `apps:
  - name: hello
    command: sleep 1
services: []
`,
			want:     []string{`apps.yaml:4: unknown key "services" in top level`},
			problems: 1,
		},
		{
			name: "port out of range is invalid",
			content: `apps:
  - name: hello
    command: sleep 1
    port: 70000
`,
			want:     []string{`apps.yaml:4: app "hello": invalid port 70000`},
			problems: 1,
		},
		{
			name: "port of the wrong type is reported with its line",
			content: `apps:
  - name: hello
    command: sleep 1
    port: eighty
`,
			want:     []string{"line 4", "eighty"},
			problems: 1,
		},
		{
			name: "two apps on one port are rejected",
			content: `apps:
  - name: hello
    command: sleep 1
    port: 8081
  - name: clock
    command: sleep 1
    port: 8081
`,
			want:     []string{`app "clock": port 8081 is already used by app "hello"`},
			problems: 1,
		},
		{
			name: "PORT in env is rejected",
			content: `apps:
  - name: hello
    command: sleep 1
    env:
      PORT: "9000"
`,
			want:     []string{`app "hello": env sets PORT: set the port field instead`},
			problems: 1,
		},
		{
			name: "readiness path without slash is invalid",
			content: `apps:
  - name: hello
    command: sleep 1
    readiness_path: healthz
`,
			want:     []string{`invalid readiness_path "healthz"`},
			problems: 1,
		},
		{
			name: "file without apps is rejected",
			content: `apps: []
`,
			want:     []string{"no apps declared"},
			problems: 1,
		},
		{
			name:     "empty file is rejected",
			content:  "",
			want:     []string{"apps.yaml: the file is empty"},
			problems: 1,
		},
		{
			name: "list at the top level is rejected",
			content: `- name: hello
  command: sleep 1
`,
			want:     []string{`apps.yaml:1: the top level must be a mapping with an "apps" list`},
			problems: 1,
		},
		{
			name: "every problem is listed at once",
			content: `apps:
  - name: Bad_Name
    command: sleep 1
  - name: hello
    stop_signal: TERMINATE
    stop_grace_period: soon
    colour: blue
  - name: hello
    command: sleep 1
`,
			want: []string{
				`apps.yaml:2: app "Bad_Name": invalid name`,
				`apps.yaml:4: app "hello": missing command`,
				`apps.yaml:5: app "hello": invalid stop_signal "TERMINATE"`,
				`apps.yaml:6: app "hello": invalid stop_grace_period "soon"`,
				`apps.yaml:7: unknown key "colour" in app`,
				`apps.yaml:8: app "hello": duplicate name, already used at line 4`,
				"6 problems",
			},
			problems: 6,
		},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			_, err := local.New(local.Options{ConfigPath: writeConfig(t, test.content)})
			if err == nil {
				t.Fatal("New returned no error")
			}
			for _, want := range test.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			var configErr *local.ConfigError
			if !errors.As(err, &configErr) {
				t.Fatalf("error is a %T, want *local.ConfigError: %v", err, err)
			}
			if got := len(configErr.Problems); got != test.problems {
				t.Errorf("error lists %d problems, want %d:\n%v", got, test.problems, err)
			}
		})
	}
}

func TestNewRejectsUnreadableFile(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		path string
		want string
	}{
		{name: "empty path is rejected", path: "", want: "missing apps file path"},
		{name: "missing file is rejected", path: filepath.Join(t.TempDir(), "absent.yaml"), want: "no such file"},
		{name: "invalid YAML is rejected", path: writeConfig(t, "apps: [\n"), want: "fix the YAML syntax"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			_, err := local.New(local.Options{ConfigPath: test.path})
			if err == nil {
				t.Fatal("New returned no error")
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error does not contain %q: %v", test.want, err)
			}
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	t.Parallel()
	provider, _ := newProvider(t, `apps:
  - name: shell-form
    command: sleep 1
  - name: list-form
    command: ["sleep", "two words"]
    port: 18081
    readiness_path: /healthz
`)

	shellForm := appByName(t, provider, "shell-form")
	if shellForm.Provider != "local" {
		t.Errorf("Provider = %q, want %q", shellForm.Provider, "local")
	}
	if shellForm.ID != "shell-form" {
		t.Errorf("ID = %q, want the name", shellForm.ID)
	}
	if shellForm.State != engine.StateStopped {
		t.Errorf("State = %q before any start, want %q", shellForm.State, engine.StateStopped)
	}
	if shellForm.ReadinessPath != "/" {
		t.Errorf("ReadinessPath = %q, want the default %q", shellForm.ReadinessPath, "/")
	}
	port := shellForm.Details["port"]
	if port == "" || port == "0" {
		t.Errorf("port detail = %q, want a picked free port", port)
	}
	if want := "http://127.0.0.1:" + port; shellForm.URL != want {
		t.Errorf("URL = %q, want %q", shellForm.URL, want)
	}
	if shellForm.Details["command"] != "sleep 1" {
		t.Errorf("command detail = %q, want %q", shellForm.Details["command"], "sleep 1")
	}
	if _, ok := shellForm.Details["pid"]; ok {
		t.Errorf("pid detail = %q before any start, want none", shellForm.Details["pid"])
	}

	listForm := appByName(t, provider, "list-form")
	if listForm.URL != "http://127.0.0.1:18081" {
		t.Errorf("URL = %q, want the configured port", listForm.URL)
	}
	if listForm.ReadinessPath != "/healthz" {
		t.Errorf("ReadinessPath = %q, want %q", listForm.ReadinessPath, "/healthz")
	}
	if want := `sleep "two words"`; listForm.Details["command"] != want {
		t.Errorf("command detail = %q, want %q", listForm.Details["command"], want)
	}
}

func TestExampleAppsFileIsValid(t *testing.T) {
	t.Parallel()
	provider, err := local.New(local.Options{ConfigPath: filepath.Join("..", "..", "..", "examples", "local", "apps.yaml")})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := provider.Close(t.Context()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})

	apps, err := provider.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	want := map[string]string{
		"hello":  "http://127.0.0.1:8081",
		"clock":  "http://127.0.0.1:8082",
		"broken": "",
	}
	if len(apps) != len(want) {
		t.Fatalf("Apps returned %d apps, want %d", len(apps), len(want))
	}
	for _, app := range apps {
		url, ok := want[app.Name]
		if !ok {
			t.Errorf("unexpected app %q", app.Name)
			continue
		}
		if url != "" && app.URL != url {
			t.Errorf("app %q: URL = %q, want %q", app.Name, app.URL, url)
		}
		if app.ReadinessPath != "/healthz" {
			t.Errorf("app %q: ReadinessPath = %q, want %q", app.Name, app.ReadinessPath, "/healthz")
		}
	}
}

func TestNewResolvesDirAgainstWorkingDirectory(t *testing.T) {
	t.Parallel()
	provider, _ := newProvider(t, `apps:
  - name: pwd
    command: pwd; sleep 300
    dir: testdata-absent-folder
`)
	app := appByName(t, provider, "pwd")

	// The folder does not exist, so the start fails with the resolved path.
	err := provider.Start(t.Context(), app)
	if err == nil {
		t.Fatal("Start returned no error for a missing dir")
	}
	workingDir, wdErr := os.Getwd()
	if wdErr != nil {
		t.Fatalf("Getwd: %v", wdErr)
	}
	want := filepath.Join(workingDir, "testdata-absent-folder")
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error does not name the dir resolved against the working directory %q: %v", want, err)
	}
}
