package scalingo_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/provider/scalingo"
)

const testToken = "tk-us-SECRET-token"

func envOf(values map[string]string) func(string) string {
	return func(name string) string { return values[name] }
}

func TestOptionsFromEnvDefaults(t *testing.T) {
	opts, problems := scalingo.OptionsFromEnv(envOf(map[string]string{
		"PROVIDER_SCALINGO_API_TOKEN": testToken,
	}))

	if len(problems) != 0 {
		t.Fatalf("problems = %q, want none", problems)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"APIToken", opts.APIToken, testToken},
		{"AuthURL", opts.AuthURL, "https://auth.scalingo.com"},
		{"APIURL", opts.APIURL, ""},
		{"Regions", len(opts.Regions), 0},
		{"ReviewAppsOnly", opts.ReviewAppsOnly, false},
		{"RateLimit", opts.RateLimit, 50},
		{"Concurrency", opts.Concurrency, 4},
		{"OperationTimeout", opts.OperationTimeout, 60 * time.Second},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
}

func TestOptionsFromEnvReadsEveryVariable(t *testing.T) {
	opts, problems := scalingo.OptionsFromEnv(envOf(map[string]string{
		"PROVIDER_SCALINGO_API_TOKEN":         testToken,
		"PROVIDER_SCALINGO_AUTH_URL":          "https://auth.example.test/",
		"PROVIDER_SCALINGO_API_URL":           "http://127.0.0.1:9000/regions/osc-fr1",
		"PROVIDER_SCALINGO_REGIONS":           "osc-fr1",
		"PROVIDER_SCALINGO_RATE_LIMIT":        "30",
		"PROVIDER_SCALINGO_CONCURRENCY":       "2",
		"PROVIDER_SCALINGO_OPERATION_TIMEOUT": "120",
		"PROVIDER_SCALINGO_REVIEW_APPS_ONLY":  "true",
	}))

	if len(problems) != 0 {
		t.Fatalf("problems = %q, want none", problems)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"AuthURL", opts.AuthURL, "https://auth.example.test"},
		{"APIURL", opts.APIURL, "http://127.0.0.1:9000/regions/osc-fr1"},
		{"Regions", strings.Join(opts.Regions, ","), "osc-fr1"},
		{"ReviewAppsOnly", opts.ReviewAppsOnly, true},
		{"RateLimit", opts.RateLimit, 30},
		{"Concurrency", opts.Concurrency, 2},
		{"OperationTimeout", opts.OperationTimeout, 2 * time.Minute},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
}

func TestOptionsFromEnvRegions(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{
			name: "comma list is trimmed and lowercased",
			env:  map[string]string{"PROVIDER_SCALINGO_REGIONS": " osc-fr1 , OSC-SECNUM-FR1,"},
			want: []string{"osc-fr1", "osc-secnum-fr1"},
		},
		{
			name: "legacy variable gives one region",
			env:  map[string]string{"PROVIDER_REGION": "osc-fr-1"},
			want: []string{"osc-fr-1"},
		},
		{
			name: "new variable wins over the legacy one",
			env:  map[string]string{"PROVIDER_SCALINGO_REGIONS": "osc-secnum-fr1", "PROVIDER_REGION": "osc-fr1"},
			want: []string{"osc-secnum-fr1"},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			test.env["PROVIDER_SCALINGO_API_TOKEN"] = testToken
			opts, problems := scalingo.OptionsFromEnv(envOf(test.env))
			if len(problems) != 0 {
				t.Fatalf("problems = %q, want none", problems)
			}
			if !slices.Equal(opts.Regions, test.want) {
				t.Errorf("Regions = %q, want %q", opts.Regions, test.want)
			}
		})
	}
}

func TestOptionsFromEnvReportsProblems(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{
			name: "missing token",
			env:  map[string]string{"PROVIDER_SCALINGO_API_TOKEN": ""},
			want: "PROVIDER_SCALINGO_API_TOKEN: missing: set it to a Scalingo API token",
		},
		{
			name: "timeout that is not a number",
			env:  map[string]string{"PROVIDER_SCALINGO_OPERATION_TIMEOUT": "abc"},
			want: `PROVIDER_SCALINGO_OPERATION_TIMEOUT: invalid value "abc": must be a whole number of seconds from 1 to 3600`,
		},
		{
			name: "zero rate limit",
			env:  map[string]string{"PROVIDER_SCALINGO_RATE_LIMIT": "0"},
			want: `PROVIDER_SCALINGO_RATE_LIMIT: invalid value "0": must be a whole number of requests per minute from 1 to 1000`,
		},
		{
			name: "concurrency that is not a number",
			env:  map[string]string{"PROVIDER_SCALINGO_CONCURRENCY": "four"},
			want: `PROVIDER_SCALINGO_CONCURRENCY: invalid value "four": must be a whole number of requests in flight from 1 to 64`,
		},
		{
			name: "review apps flag that is not a boolean",
			env:  map[string]string{"PROVIDER_SCALINGO_REVIEW_APPS_ONLY": "maybe"},
			want: `PROVIDER_SCALINGO_REVIEW_APPS_ONLY: invalid value "maybe": must be true or false`,
		},
		{
			name: "auth URL over plain http to a remote host",
			env:  map[string]string{"PROVIDER_SCALINGO_AUTH_URL": "http://auth.example.test"},
			want: `PROVIDER_SCALINGO_AUTH_URL: invalid value "http://auth.example.test": must use https`,
		},
		{
			name: "API URL that is not http",
			env:  map[string]string{"PROVIDER_SCALINGO_API_URL": "ftp://api.example.test"},
			want: `PROVIDER_SCALINGO_API_URL: invalid value "ftp://api.example.test": must be an absolute https URL`,
		},
		{
			name: "auth URL credentials are masked",
			env:  map[string]string{"PROVIDER_SCALINGO_AUTH_URL": "https://user:hunter2@auth.example.test"},
			want: `PROVIDER_SCALINGO_AUTH_URL: invalid value "https://user:xxxxx@auth.example.test": must not contain credentials`,
		},
		{
			name: "region with invalid characters",
			env:  map[string]string{"PROVIDER_SCALINGO_REGIONS": "osc-fr1,osc_fr2"},
			want: `PROVIDER_SCALINGO_REGIONS: invalid value "osc_fr2": must be comma-separated region names`,
		},
		{
			name: "several legacy regions",
			env:  map[string]string{"PROVIDER_REGION": "osc-fr1,osc-secnum-fr1"},
			want: `PROVIDER_REGION: invalid value "osc-fr1,osc-secnum-fr1": must be a single region name`,
		},
		{
			name: "two regions with one API URL",
			env: map[string]string{
				"PROVIDER_SCALINGO_API_URL": "https://api.osc-fr1.scalingo.com",
				"PROVIDER_SCALINGO_REGIONS": "osc-fr1,osc-secnum-fr1",
			},
			want: `PROVIDER_SCALINGO_REGIONS: invalid value "osc-fr1,osc-secnum-fr1": must name at most one region when PROVIDER_SCALINGO_API_URL is set`,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			env := map[string]string{"PROVIDER_SCALINGO_API_TOKEN": testToken}
			for name, value := range test.env {
				env[name] = value
			}
			_, problems := scalingo.OptionsFromEnv(envOf(env))
			if len(problems) != 1 {
				t.Fatalf("problems = %q, want exactly one", problems)
			}
			if !strings.HasPrefix(problems[0], test.want) {
				t.Errorf("problem = %q, want it to start with %q", problems[0], test.want)
			}
			if strings.Contains(problems[0], testToken) || strings.Contains(problems[0], "hunter2") {
				t.Errorf("problem %q contains a secret", problems[0])
			}
		})
	}
}

func TestOptionsFromEnvReportsEveryProblem(t *testing.T) {
	_, problems := scalingo.OptionsFromEnv(envOf(map[string]string{
		"PROVIDER_SCALINGO_RATE_LIMIT":        "-1",
		"PROVIDER_SCALINGO_CONCURRENCY":       "0",
		"PROVIDER_SCALINGO_OPERATION_TIMEOUT": "1.5",
	}))
	if len(problems) != 4 {
		t.Errorf("problems = %q, want 4: the token and three numbers", problems)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts scalingo.Options
		want string
	}{
		{"missing token", scalingo.Options{}, "missing API token: set PROVIDER_SCALINGO_API_TOKEN"},
		{"plain http auth URL", scalingo.Options{APIToken: testToken, AuthURL: "http://auth.example.test"}, "auth URL: must use https"},
		{"negative concurrency", scalingo.Options{APIToken: testToken, Concurrency: -1}, "invalid concurrency -1: must be positive"},
		{"two regions with one API URL", scalingo.Options{APIToken: testToken, APIURL: "https://api.example.test", Regions: []string{"a1", "b1"}}, "2 regions given with a single API URL"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := scalingo.New(test.opts)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not contain %q", err, test.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q contains the API token", err)
			}
		})
	}
}
