package proxy

import (
	"errors"
	"github.com/paastis/paastis/internal/testwait"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// waitingFixture returns a fixture whose app is stopped and takes a
// second to start, so that a navigation gets the waiting page.
func waitingFixture(t *testing.T, configure ...func(*Options)) *fixture {
	t.Helper()
	f := newFixture(t, false, configure...)
	f.provider.delay = time.Second
	return f
}

func TestWaitingPageHeaders(t *testing.T) {
	f := waitingFixture(t)
	w := f.do(appRequest(t, "GET", "/", nil, browserHeaders...))

	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	header := w.Header()
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"Retry-After":            "5",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := header.Get(name); got != want {
			t.Errorf("%s = %q, expected %q", name, got, want)
		}
	}

	policy := header.Get("Content-Security-Policy")
	match := regexp.MustCompile(`^default-src 'none'; script-src 'nonce-([A-Za-z0-9_-]{16,})'; style-src 'nonce-([A-Za-z0-9_-]{16,})'; connect-src 'self'`).FindStringSubmatch(policy)
	if match == nil {
		t.Fatalf("Content-Security-Policy = %q, expected a strict policy with nonces", policy)
	}
	if match[1] != match[2] {
		t.Errorf("script nonce %q differs from style nonce %q", match[1], match[2])
	}
	nonce := match[1]

	body := w.Body.String()
	tags := regexp.MustCompile(`<(script|style)\b[^>]*>`).FindAllString(body, -1)
	if len(tags) < 2 {
		t.Fatalf("found %d script and style tags, expected at least one of each: %s", len(tags), body)
	}
	for _, tag := range tags {
		if !strings.Contains(tag, `nonce="`+nonce+`"`) {
			t.Errorf("tag %s lacks the policy's nonce %q", tag, nonce)
		}
	}
	for _, external := range []string{"<link", " src=", "http://", "https://", "style=\""} {
		if strings.Contains(body, external) {
			t.Errorf("page contains %q, expected no external asset or inline style attribute", external)
		}
	}
}

func TestWaitingPageNonceChangesPerResponse(t *testing.T) {
	f := waitingFixture(t)
	first := f.do(appRequest(t, "GET", "/", nil, browserHeaders...)).Header().Get("Content-Security-Policy")
	second := f.do(appRequest(t, "GET", "/", nil, browserHeaders...)).Header().Get("Content-Security-Policy")
	if first == "" || first == second {
		t.Errorf("two responses share the policy %q, expected a new nonce each", first)
	}
}

func TestWaitingPageContent(t *testing.T) {
	f := waitingFixture(t)
	body := f.do(appRequest(t, "GET", "/some/path?x=1&y=2", nil, browserHeaders...)).Body.String()

	for _, want := range []string{
		`<html lang="en">`,
		"<dd>hello</dd>",                   // app name
		"<dd>fake</dd>",                    // provider
		`id="elapsed"`,                     // elapsed time
		"<progress",                        // progress indication
		`role="status" aria-live="polite"`, // announced to screen readers
		`<noscript><meta http-equiv="refresh" content="5"></noscript>`, // reload without JavaScript
		`href="/some/path?x=1&amp;y=2"`,                                // retry link keeps path and query
	} {
		if !strings.Contains(body, want) {
			t.Errorf("waiting page lacks %s", want)
		}
	}
	// html/template writes the endpoint as a JavaScript string, with or
	// without escaped slashes depending on the Go version.
	if !regexp.MustCompile(`statusURL = "\\?/\.paastis\\?/status";`).MatchString(body) {
		t.Error("waiting page does not poll the status endpoint")
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}

func TestWaitingPageSpeaksFrench(t *testing.T) {
	tests := []struct {
		name, acceptLanguage, lang, title string
	}{
		{"French browser", "fr-FR,fr;q=0.9,en;q=0.8", "fr", "Réveil de l&#39;application"},
		{"English browser", "en-US,en;q=0.9", "en", "Waking up the app"},
		{"English preferred over French", "en;q=1, fr;q=0.5", "en", "Waking up the app"},
		{"unknown language", "de-DE", "en", "Waking up the app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := waitingFixture(t)
			header := append([]string{"Accept-Language", tt.acceptLanguage}, browserHeaders...)
			body := f.do(appRequest(t, "GET", "/", nil, header...)).Body.String()
			if !strings.Contains(body, `<html lang="`+tt.lang+`">`) {
				t.Errorf("page language is not %q", tt.lang)
			}
			if !strings.Contains(body, "<h1>"+tt.title+"</h1>") {
				t.Errorf("page lacks the heading %q:\n%s", tt.title, body)
			}
		})
	}
}

func TestWaitingPageForHeadHasNoBody(t *testing.T) {
	f := waitingFixture(t)
	w := f.do(appRequest(t, "HEAD", "/", nil, browserHeaders...))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	if w.Body.Len() != 0 {
		t.Errorf("HEAD response has a %d-byte body, expected none", w.Body.Len())
	}
	if w.Header().Get("Content-Length") == "0" || w.Header().Get("Content-Length") == "" {
		t.Errorf("Content-Length = %q, expected the size of the page", w.Header().Get("Content-Length"))
	}
}

func TestWaitingPageLinkStaysOnHost(t *testing.T) {
	f := waitingFixture(t)
	r := appRequest(t, "GET", "/", nil, browserHeaders...)
	r.URL.Path = "//evil.example/path"
	body := f.do(r).Body.String()
	if strings.Contains(body, `href="//evil.example`) {
		t.Errorf("retry link leaves the host:\n%s", body)
	}
	if !strings.Contains(body, `href="/.//evil.example/path"`) {
		t.Errorf("retry link lacks the same-host form of the path:\n%s", body)
	}
}

func TestWaitingPageShowsFailedStart(t *testing.T) {
	f := newFixture(t, false)
	f.provider.delay = 300 * time.Millisecond
	f.provider.startErr = errors.New("missing database URL")
	if got := f.do(appRequest(t, "GET", "/", nil, browserHeaders...)).Code; got != http.StatusServiceUnavailable {
		t.Fatalf("first navigation status = %d, expected 503", got)
	}
	h, _ := f.engine.Lookup("hello")
	testwait.Until(t, 5*time.Second, "the start to fail", func() bool { return h.WakeStatus().Err != nil })

	w := f.do(appRequest(t, "GET", "/", nil, browserHeaders...))
	if w.Code != http.StatusBadGateway {
		t.Errorf("status after the failure = %d, expected 502", w.Code)
	}
	body := w.Body.String()
	if !strings.Contains(body, "missing database URL") {
		t.Errorf("page does not show the start's error:\n%s", body)
	}
	if !regexp.MustCompile(`The start failed at <time id="failed-at" datetime="[^"]+">\d\d:\d\d:\d\d UTC</time>`).MatchString(body) {
		t.Errorf("page does not show the time of the failure:\n%s", body)
	}
	if strings.Contains(body, `http-equiv="refresh"`) {
		t.Error("failure page reloads itself, which would retry the start without the visitor asking")
	}
	if got := f.provider.starts.Load(); got != 1 {
		t.Errorf("starts = %d, expected 1: a failed start is not retried within the failure back-off", got)
	}
}

// writeTemplate writes a template file and returns its path.
func writeTemplate(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "waiting.html")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWaitingPageTemplateReplacesBuiltIn(t *testing.T) {
	path := writeTemplate(t, `<p lang="{{.Lang}}">{{.App}} on {{.Provider}}: {{.Text.Title}}</p>`+
		`<p data-status="{{.StatusURL}}">{{.PollIntervalMS}} {{.TimeoutMS}} {{.URL}}</p><script nonce="{{.Nonce}}"></script>`)
	f := waitingFixture(t, func(opts *Options) {
		opts.WaitingPageTemplate = path
		opts.StatusPollInterval = 250 * time.Millisecond
	})
	header := append([]string{"Accept-Language", "fr"}, browserHeaders...)
	w := f.do(appRequest(t, "GET", "/a?b=c", nil, header...))

	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	nonce := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(w.Header().Get("Content-Security-Policy"))
	if nonce == nil {
		t.Fatal("custom page served without a nonce in its policy")
	}
	want := `<p lang="fr">hello on fake: Réveil de l&#39;application</p>` +
		`<p data-status="/.paastis/status">250 5000 /a?b=c</p><script nonce="` + nonce[1] + `"></script>`
	if got := w.Body.String(); got != want {
		t.Errorf("body =\n%s\nexpected\n%s", got, want)
	}
}

func TestWaitingPageTemplateErrorsFailNew(t *testing.T) {
	f := newFixture(t, true)
	tests := []struct {
		name     string
		template string
		want     []string
	}{
		{"syntax error", "<p>{{.App</p>", []string{"parse waiting page template", "waiting.html:1"}},
		{"unknown field", "<p>{{.Application}}</p>", []string{"execute waiting page template", "Application"}},
		{"unknown field shown only while waking", "{{if not .Error}}{{.Progress}}{{end}}", []string{"execute waiting page template", "Progress"}},
		{"unknown field shown only after a failure", "{{if .Error}}{{.FailedTime}}{{end}}", []string{"execute waiting page template", "FailedTime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemplate(t, tt.template)
			_, err := New(Options{Engine: f.engine, WaitingPageTemplate: path})
			if err == nil {
				t.Fatal("New accepted a broken template")
			}
			for _, want := range append(tt.want, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.html")
		_, err := New(Options{Engine: f.engine, WaitingPageTemplate: path})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "WAKE_PAGE_TEMPLATE") {
			t.Errorf("error = %v, expected one naming the file and WAKE_PAGE_TEMPLATE", err)
		}
	})
}

func TestFailingTemplateFallsBackToBuiltIn(t *testing.T) {
	// The sample data names the app "sample", so this template passes the
	// check of New and fails on the app "hello".
	path := writeTemplate(t, `{{if eq .App "sample"}}ok{{else}}{{index .Text.Title 99}}{{end}}`)
	var logs logBuffer
	f := waitingFixture(t, func(opts *Options) { opts.WaitingPageTemplate = path }, captureLogs(&logs))

	w := f.do(appRequest(t, "GET", "/", nil, browserHeaders...))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	if !strings.Contains(w.Body.String(), "Waking up the app") {
		t.Errorf("body is not the built-in page:\n%s", w.Body)
	}
	if !logs.Contains("waiting page template failed") {
		t.Errorf("the template failure was not logged:\n%s", logs.String())
	}
}

func TestDocumentedTemplateExampleWorks(t *testing.T) {
	doc, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	match := regexp.MustCompile("(?s)A minimal template:\n\n```html\n(.*?)```").FindSubmatch(doc)
	if match == nil {
		t.Fatal("README.md has no minimal template example")
	}
	path := writeTemplate(t, string(match[1]))
	f := waitingFixture(t, func(opts *Options) { opts.WaitingPageTemplate = path })

	w := f.do(appRequest(t, "GET", "/", nil, browserHeaders...))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	if body := w.Body.String(); !strings.Contains(body, "hello is starting") || !strings.Contains(body, `<script nonce="`) {
		t.Errorf("the example template rendered:\n%s", body)
	}
}
