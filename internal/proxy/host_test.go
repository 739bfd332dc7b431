package proxy

import (
	"errors"
	"strings"
	"testing"
)

func TestAppName(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		domain  string
		want    string
		wantErr error
	}{
		{"first label of a host", "hello.localhost", "", "hello", nil},
		{"port is stripped", "hello.localhost:3000", "", "hello", nil},
		{"upper case is lowered", "Hello.LocalHost", "", "hello", nil},
		{"trailing dot is accepted", "hello.example.com.", "", "hello", nil},
		{"hyphens and digits inside a label", "review-pr-42.example.com", "", "review-pr-42", nil},
		{"single label host", "hello", "", "hello", nil},
		{"host under the proxy domain", "hello.apps.example.com", "apps.example.com", "hello", nil},
		{"host under the domain with a port", "hello.apps.example.com:8080", "apps.example.com", "hello", nil},
		{"empty host", "", "", "", ErrInvalidHost},
		{"only a port", ":3000", "", "", ErrInvalidHost},
		{"empty label", "hello..localhost", "", "", ErrInvalidHost},
		{"leading hyphen", "-hello.localhost", "", "", ErrInvalidHost},
		{"trailing hyphen", "hello-.localhost", "", "", ErrInvalidHost},
		{"underscore", "hel_lo.localhost", "", "", ErrInvalidHost},
		{"space", "hel lo.localhost", "", "", ErrInvalidHost},
		{"label of 64 characters", strings.Repeat("a", 64) + ".localhost", "", "", ErrInvalidHost},
		{"IPv4 address", "127.0.0.1:3000", "", "", ErrInvalidHost},
		{"IPv6 address", "[::1]:3000", "", "", ErrInvalidHost},
		{"non-numeric port", "hello.localhost:http", "", "", ErrInvalidHost},
		{"non-ASCII host", "héllo.localhost", "", "", ErrInvalidHost},
		{"host outside the proxy domain", "hello.other.com", "apps.example.com", "", ErrOutsideDomain},
		{"the proxy domain itself", "apps.example.com", "apps.example.com", "", ErrOutsideDomain},
		{"two labels under the proxy domain", "a.b.apps.example.com", "apps.example.com", "", ErrOutsideDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppName(tt.host, tt.domain)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("AppName(%q) error = %v, want %v", tt.host, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("AppName(%q): %v", tt.host, err)
			}
			if got != tt.want {
				t.Errorf("AppName(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestAppNameAllocatesNothingForLowercaseHosts(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := AppName("review-42.apps.example.com:3000", "apps.example.com"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppName allocated %.0f times per call, want 0", allocs)
	}
}

func BenchmarkAppName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = AppName("review-42.apps.example.com:3000", "apps.example.com")
	}
}

func TestPreferredLanguage(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"", "en"},
		{"fr-FR,fr;q=0.9,en;q=0.8", "fr"},
		{"en-US,en;q=0.9,fr;q=0.8", "en"},
		{"de-DE,fr;q=0.5", "fr"},
		{"de-DE", "en"},
		{"en;q=0.3, fr;q=0.7", "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			r := newRequest("GET", "http://x.localhost/")
			r.Header.Set("Accept-Language", tt.header)
			if got := preferredLanguage(r); got != tt.want {
				t.Errorf("preferredLanguage(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}
