package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unsetenv removes name from the process environment for the duration of
// the test.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

func TestEnvironEnvironmentWinsOverDotenv(t *testing.T) {
	path := writeFile(t, ".env", "PORT=4000\nHOOKS_TIMEOUT=45s\nPAASTIS_TEST_FILE_ONLY=from-file\n")
	t.Setenv("PORT", "5000")
	unsetenv(t, "HOOKS_TIMEOUT")
	unsetenv(t, "PAASTIS_TEST_FILE_ONLY")

	getenv, err := Environ(path)
	if err != nil {
		t.Fatalf("Environ returned an error: %v", err)
	}

	if got := getenv("PORT"); got != "5000" {
		t.Errorf("PORT = %q, expected 5000 from the environment", got)
	}
	if got := getenv("PAASTIS_TEST_FILE_ONLY"); got != "from-file" {
		t.Errorf("PAASTIS_TEST_FILE_ONLY = %q, expected the .env value", got)
	}
	if _, set := os.LookupEnv("PAASTIS_TEST_FILE_ONLY"); set {
		t.Error("Environ set PAASTIS_TEST_FILE_ONLY in the process environment")
	}

	cfg, err := Load(getenv)
	if err != nil {
		t.Fatalf("Load returned an error: %v", err)
	}
	if cfg.Port != 5000 {
		t.Errorf("Port = %d, expected 5000 from the environment", cfg.Port)
	}
	if cfg.HooksTimeout != 45*time.Second {
		t.Errorf("HooksTimeout = %v, expected 45s from .env", cfg.HooksTimeout)
	}
}

func TestEnvironWithoutDotenv(t *testing.T) {
	t.Setenv("PAASTIS_TEST_ENVIRON", "set")
	for _, path := range []string{"", filepath.Join(t.TempDir(), ".env")} {
		t.Run("path "+path, func(t *testing.T) {
			getenv, err := Environ(path)
			if err != nil {
				t.Fatalf("Environ(%q) returned an error: %v", path, err)
			}

			if got := getenv("PAASTIS_TEST_ENVIRON"); got != "set" {
				t.Errorf("PAASTIS_TEST_ENVIRON = %q, expected the environment value", got)
			}
		})
	}
}

func TestEnvironReadsQuotedValues(t *testing.T) {
	path := writeFile(t, ".env", `# hooks keep their $ signs in single quotes
HOOKS_AFTER_START='echo "$PAASTIS_APP_NAME"'
START_AND_STOP_CHECKING_INTERVAL_CRON=*/5 * * * *
REGISTRY_IGNORED_APPS="paastis-proxy, review-*"
export LOG_LEVEL=debug
`)
	for _, name := range []string{"HOOKS_AFTER_START", "START_AND_STOP_CHECKING_INTERVAL_CRON", "REGISTRY_IGNORED_APPS", "LOG_LEVEL"} {
		unsetenv(t, name)
	}

	getenv, err := Environ(path)
	if err != nil {
		t.Fatalf("Environ returned an error: %v", err)
	}

	want := map[string]string{
		"HOOKS_AFTER_START":                     `echo "$PAASTIS_APP_NAME"`,
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "*/5 * * * *",
		"REGISTRY_IGNORED_APPS":                 "paastis-proxy, review-*",
		"LOG_LEVEL":                             "debug",
	}
	for name, value := range want {
		if got := getenv(name); got != value {
			t.Errorf("%s = %q, expected %q", name, got, value)
		}
	}
}

func TestEnvironRejectsInvalidDotenv(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"dash in a name", "PORT=4000\n# comment\nBAD-NAME=1\nTOKEN=s3cret\n",
			[]string{"line 3", `unexpected character "-" in variable name`}},
		{"unterminated quote", "PORT=4000\nTOKEN=\"s3cret\nHOST=0.0.0.0\n",
			[]string{"line 2", "unterminated quoted value"}},
		{"error after a multi-line value", "CERT=\"line one\nline two\"\nPORT=4000\nBAD-NAME=s3cret\n",
			[]string{"line 4", "unexpected character"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			path := writeFile(t, ".env", test.content)

			_, err := Environ(path)

			if err == nil {
				t.Fatal("Environ returned no error")
			}
			message := err.Error()
			if !strings.Contains(message, `invalid .env file "`+path+`"`) {
				t.Errorf("error %q does not name the file", message)
			}
			for _, want := range test.want {
				if !strings.Contains(message, want) {
					t.Errorf("error %q does not contain %q", message, want)
				}
			}
			if strings.Contains(message, "s3cret") {
				t.Errorf("error %q shows a value of the file", message)
			}
		})
	}
}

func TestEnvironRejectsDirectory(t *testing.T) {
	dir := t.TempDir()

	_, err := Environ(dir)

	if err == nil {
		t.Fatal("Environ returned no error for a directory")
	}
	if !strings.Contains(err.Error(), "read .env file") {
		t.Errorf("error %q does not say that reading failed", err)
	}
}
