package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/paastis/paastis/internal/engine"
)

func TestDashboardRendersApps(t *testing.T) {
	w := newAdminWorld(t, "", engineOptions{})
	h, _ := w.engine.Lookup("blog")
	h.Begin(w.engine.Now())
	defer h.End(w.engine.Now())

	resp := do(t, http.MethodGet, w.url+"/", nil, nil)

	if resp.status != http.StatusOK {
		t.Fatalf("status = %d: %s", resp.status, resp.body)
	}
	body := string(resp.body)
	for _, want := range []string{
		`<html lang="en">`,
		`<tr data-app="blog" data-state="running">`,
		`<tr data-app="shop" data-state="stopped">`,
		`<tr data-app="legacy" data-state="running">`,
		`<td class="sleeps-in">busy</td>`,
		`<td class="sleeps-in">ignored</td>`,
		"osc-fr1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
}

func TestDashboardLanguage(t *testing.T) {
	w := newAdminWorld(t, "", engineOptions{})
	tests := []struct {
		name     string
		accept   string
		lang     string
		contains []string
	}{
		{"no header", "", "en", []string{"Last access", ">Sleep</button>", "running"}},
		{"french first", "fr-FR,fr;q=0.9,en;q=0.8", "fr", []string{"Dernier accès", ">Endormir</button>", "en marche", "il y a"}},
		{"english preferred", "de;q=1,en;q=0.9,fr;q=0.5", "en", []string{"Last access"}},
		{"french preferred by weight", "en;q=0.3,fr;q=0.7", "fr", []string{"Réveiller"}},
		{"unsupported only", "de-DE", "en", []string{"Last access"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, w.url+"/", http.Header{"Accept-Language": {test.accept}}, nil)

			if got := resp.header.Get("Content-Language"); got != test.lang {
				t.Errorf("Content-Language = %q, expected %q", got, test.lang)
			}
			for _, want := range test.contains {
				if !strings.Contains(string(resp.body), want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}

func TestDashboardContentSecurityPolicy(t *testing.T) {
	w := newAdminWorld(t, "", engineOptions{})

	first := do(t, http.MethodGet, w.url+"/", nil, nil)
	second := do(t, http.MethodGet, w.url+"/", nil, nil)

	policy := first.header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(policy)
	if nonce == nil {
		t.Fatalf("policy %q has no script nonce", policy)
	}
	for _, directive := range []string{"default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(policy, directive) {
			t.Errorf("policy %q lacks %q", policy, directive)
		}
	}
	body := string(first.body)
	if strings.Count(body, `<script nonce="`+nonce[1]+`">`) != 1 || strings.Count(body, "<script") != 1 {
		t.Error("the page's one script does not carry the policy's nonce")
	}
	if strings.Count(body, `<style nonce="`+nonce[1]+`">`) != 1 {
		t.Error("the page's style does not carry the policy's nonce")
	}
	if strings.Contains(body, " style=") || strings.Contains(body, " onclick=") {
		t.Error("the page has inline style or handler attributes, which the policy blocks")
	}
	if second.header.Get("Content-Security-Policy") == policy {
		t.Error("two pages got the same nonce")
	}
	if first.header.Get("Cache-Control") != "no-store" || first.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("Cache-Control %q, X-Frame-Options %q, expected no-store and DENY",
			first.header.Get("Cache-Control"), first.header.Get("X-Frame-Options"))
	}
}

func TestDashboardEscapesAppData(t *testing.T) {
	provider := newFakeProvider(t)
	provider.add(t, "blog", engine.StateRunning)
	provider.set(func(p *fakeProvider) {
		app := p.apps["blog"]
		app.Region = `<script>alert(1)</script>`
		p.apps["blog"] = app
	})
	e := newEngine(t, provider, engineOptions{})
	server, _ := newAdminServer(t, adminOptions(e))

	resp := do(t, http.MethodGet, server.URL+"/", nil, nil)

	if strings.Contains(string(resp.body), "<script>alert(1)") {
		t.Error("the dashboard renders a provider's region unescaped")
	}
}
