package config

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestLoadAdminDefaults(t *testing.T) {
	cfg := mustLoad(t, nil)

	if cfg.AdminHost != "127.0.0.1" {
		t.Errorf("AdminHost = %q, expected 127.0.0.1", cfg.AdminHost)
	}
	if cfg.AdminPort != 3001 {
		t.Errorf("AdminPort = %d, expected 3001", cfg.AdminPort)
	}
	if cfg.AdminAPIToken != "" {
		t.Errorf("AdminAPIToken = %q, expected empty", cfg.AdminAPIToken)
	}
	if got := cfg.AdminBaseURL(); got != "http://127.0.0.1:3001" {
		t.Errorf("AdminBaseURL() = %q, expected http://127.0.0.1:3001", got)
	}
}

func TestLoadAdminAccepted(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]string
		baseURL string
	}{
		{
			name:    "ipv6 loopback without token",
			values:  map[string]string{"ADMIN_HOST": "::1", "ADMIN_PORT": "4001"},
			baseURL: "http://[::1]:4001",
		},
		{
			name:    "localhost without token",
			values:  map[string]string{"ADMIN_HOST": "localhost"},
			baseURL: "http://localhost:3001",
		},
		{
			name:    "any address with a token",
			values:  map[string]string{"ADMIN_HOST": "0.0.0.0", "ADMIN_API_TOKEN": "t0ken"},
			baseURL: "http://127.0.0.1:3001",
		},
		{
			name:    "explicit admin URL wins",
			values:  map[string]string{"PAASTIS_ADMIN_URL": "https://paastis.example.com/admin/"},
			baseURL: "https://paastis.example.com/admin",
		},
		{
			name:    "same port on distinct loopback addresses",
			values:  map[string]string{"HOST": "127.0.0.2", "PORT": "3001"},
			baseURL: "http://127.0.0.1:3001",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			cfg := mustLoad(t, test.values)

			if got := cfg.AdminBaseURL(); got != test.baseURL {
				t.Errorf("AdminBaseURL() = %q, expected %q", got, test.baseURL)
			}
		})
	}
}

func TestLoadAdminRejected(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]string
		problem string
	}{
		{
			name:    "public address without token",
			values:  map[string]string{"ADMIN_HOST": "0.0.0.0"},
			problem: `ADMIN_HOST and ADMIN_API_TOKEN: ADMIN_HOST is "0.0.0.0", which is not a loopback address`,
		},
		{
			name:    "host name without token",
			values:  map[string]string{"ADMIN_HOST": "admin.internal"},
			problem: "ADMIN_HOST and ADMIN_API_TOKEN:",
		},
		{
			name:    "invalid host",
			values:  map[string]string{"ADMIN_HOST": "127.0.0.1:3001"},
			problem: `ADMIN_HOST: invalid value "127.0.0.1:3001"`,
		},
		{
			name:    "port out of range",
			values:  map[string]string{"ADMIN_PORT": "70000"},
			problem: `ADMIN_PORT: invalid value "70000"`,
		},
		{
			name:    "port of the proxy",
			values:  map[string]string{"ADMIN_PORT": "3000"},
			problem: "ADMIN_PORT: 3000 is also PORT",
		},
		{
			name:    "admin URL without scheme",
			values:  map[string]string{"PAASTIS_ADMIN_URL": "127.0.0.1:3001"},
			problem: `PAASTIS_ADMIN_URL: invalid value "127.0.0.1:3001"`,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			problems := loadProblems(t, test.values)

			if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, test.problem) }) {
				t.Errorf("problems %q do not include one starting with %q", problems, test.problem)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"[::1]", true},
		{"LOCALHOST", true},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"localhost.example.com", false},
	}
	for _, test := range tests {
		if got := IsLoopback(test.host); got != test.want {
			t.Errorf("IsLoopback(%q) = %v, expected %v", test.host, got, test.want)
		}
	}
}

func TestLogValueHidesAdminToken(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"ADMIN_API_TOKEN": "admin-s3cret"})
	var output strings.Builder
	logger := slog.New(slog.NewTextHandler(&output, nil))

	logger.Info("configuration loaded", "config", cfg)

	if strings.Contains(output.String(), "admin-s3cret") {
		t.Errorf("log line shows the admin token: %s", output.String())
	}
	if !strings.Contains(output.String(), "config.admin_api_token_set=true") {
		t.Errorf("log line does not say that the admin token is set: %s", output.String())
	}
}
