package proxy

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// waitingRefresh is the Retry-After of the waiting page and the period of
// its reload when JavaScript is off.
const waitingRefresh = 5 * time.Second

//go:embed waiting.html
var builtinWaitingPageText string

var builtinWaitingPage = template.Must(template.New("waiting.html").Parse(builtinWaitingPageText))

// WaitingPage is the data that the waiting page template receives, the
// built-in one and one set with WAKE_PAGE_TEMPLATE alike. Its AppStatus
// fields are those of the status endpoint at the time of the request.
type WaitingPage struct {
	AppStatus

	// Lang is "fr" when the request's Accept-Language header ranks French
	// above English, and "en" otherwise.
	Lang string
	// Text holds the sentences of the built-in page in Lang.
	Text WaitingText
	// Nonce is this response's Content-Security-Policy nonce. Every
	// <script> and <style> element needs it in its nonce attribute, because
	// the policy blocks inline code and styles without it.
	Nonce string
	// StatusURL is the path of the status endpoint to poll.
	StatusURL string
	// URL is the path and query of the request, which the page reloads once
	// the app is ready.
	URL string
	// ElapsedSeconds is ElapsedMS in whole seconds.
	ElapsedSeconds int64
	// PollIntervalMS is the delay between two status requests, in
	// milliseconds.
	PollIntervalMS int64
	// TimeoutMS is how long the page polls before it stops and offers a
	// link to try again, in milliseconds (WAKE_TIMEOUT).
	TimeoutMS int64
	// RefreshSeconds is the period of the page's reload when JavaScript is
	// off, and the response's Retry-After.
	RefreshSeconds int
}

// WaitingText holds the sentences of the waiting page in one language.
// The JSON names are those that the built-in page's script reads.
type WaitingText struct {
	Title    string `json:"title"`
	Lead     string `json:"lead"`
	AppLabel string `json:"app_label"`
	Provider string `json:"provider"`
	Elapsed  string `json:"elapsed"`
	Starting string `json:"starting"`
	Ready    string `json:"ready"`
	NoScript string `json:"no_script"`
	Failed   string `json:"failed"`
	FailedAt string `json:"failed_at"`
	After    string `json:"after"`
	TimedOut string `json:"timed_out"`
	Retry    string `json:"retry"`
}

var waitingTexts = map[string]WaitingText{
	"en": {
		Title:    "Waking up the app",
		Lead:     "This app was asleep to save resources. Paastis is starting it, and this page opens it as soon as it is ready.",
		AppLabel: "App",
		Provider: "Provider",
		Elapsed:  "Elapsed time",
		Starting: "Starting…",
		Ready:    "The app is ready. Loading it…",
		NoScript: "This page reloads by itself every few seconds until the app is ready.",
		Failed:   "The app failed to start",
		FailedAt: "The start failed at",
		After:    "after",
		TimedOut: "The app is still not ready, so this page stopped waiting. It may still be starting: try again in a moment.",
		Retry:    "Try again",
	},
	"fr": {
		Title:    "Réveil de l'application",
		Lead:     "Cette application était en veille pour économiser des ressources. Paastis la démarre, et cette page l'ouvre dès qu'elle est prête.",
		AppLabel: "Application",
		Provider: "Fournisseur",
		Elapsed:  "Temps écoulé",
		Starting: "Démarrage en cours…",
		Ready:    "L'application est prête. Chargement…",
		NoScript: "Cette page se recharge d'elle-même toutes les quelques secondes jusqu'à ce que l'application soit prête.",
		Failed:   "Le démarrage de l'application a échoué",
		FailedAt: "Le démarrage a échoué à",
		After:    "après",
		TimedOut: "L'application n'est toujours pas prête, donc cette page a cessé d'attendre. Elle démarre peut-être encore : réessayez dans un instant.",
		Retry:    "Réessayer",
	},
}

// loadWaitingPage parses the template file at path, and executes it on
// sample data of a start in progress and of a failed one, so that a
// misspelt field fails at start-up rather than on a visitor's request.
func loadWaitingPage(path string) (*template.Template, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read waiting page template: %w: fix the path in WAKE_PAGE_TEMPLATE, or unset it to use the built-in page", err)
	}
	// The template is named after its path, so that parse errors name the
	// file.
	tmpl, err := template.New(path).Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("parse waiting page template: %w: fix the template, or unset WAKE_PAGE_TEMPLATE to use the built-in page", err)
	}
	for _, sample := range sampleWaitingPages() {
		if err := tmpl.Execute(io.Discard, sample); err != nil {
			return nil, fmt.Errorf("execute waiting page template on sample data: %w: use only the fields of proxy.WaitingPage", err)
		}
	}
	return tmpl, nil
}

// sampleWaitingPages returns the data of a start in progress and of a
// failed start, to try a template on.
func sampleWaitingPages() []WaitingPage {
	startedAt := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	endedAt := startedAt.Add(3 * time.Second)
	waking := sampleWaitingPage(AppStatus{
		App: "sample", Provider: "local", State: engine.StateStarting, Waking: true,
		StartedAt: &startedAt, ElapsedMS: 3000,
	})
	failed := sampleWaitingPage(AppStatus{
		App: "sample", Provider: "local", State: engine.StateFailed,
		StartedAt: &startedAt, EndedAt: &endedAt, ElapsedMS: 3000, Error: "sample error",
	})
	return []WaitingPage{waking, failed}
}

func sampleWaitingPage(status AppStatus) WaitingPage {
	return WaitingPage{
		AppStatus:      status,
		Lang:           "en",
		Text:           waitingTexts["en"],
		Nonce:          "sample",
		StatusURL:      StatusPath,
		URL:            "/",
		ElapsedSeconds: 3,
		PollIntervalMS: 1000,
		TimeoutMS:      60000,
		RefreshSeconds: int(waitingRefresh / time.Second),
	}
}

// serveWaitingPage begins the app's start and responds at once with the
// waiting page: 503 while the start runs, 502 when it already failed.
func (p *Proxy) serveWaitingPage(w http.ResponseWriter, r *http.Request, h *engine.Handle) {
	if err := p.engine.BeginWake(h); err != nil {
		p.logger.Error("begin wake failed", "app", h.Name(), "error", err)
	}

	// rand.Text returns 26 base32 characters (130 random bits), which
	// need no escaping in an HTML attribute.
	nonce := rand.Text()
	lang := preferredLanguage(r)
	status := appStatus(h, p.engine.Now())
	data := WaitingPage{
		AppStatus:      status,
		Lang:           lang,
		Text:           waitingTexts[lang],
		Nonce:          nonce,
		StatusURL:      StatusPath,
		URL:            sameOriginURI(r),
		ElapsedSeconds: status.ElapsedMS / 1000,
		PollIntervalMS: p.pollInterval.Milliseconds(),
		TimeoutMS:      p.wakeTimeout.Milliseconds(),
		RefreshSeconds: int(waitingRefresh / time.Second),
	}

	var body bytes.Buffer
	if err := p.waitingPage.Execute(&body, data); err != nil {
		p.logger.Error("waiting page template failed; serving the built-in page", "app", h.Name(), "error", err)
		body.Reset()
		if err := builtinWaitingPage.Execute(&body, data); err != nil {
			p.logger.Error("built-in waiting page failed", "app", h.Name(), "error", err)
			http.Error(w, "app is starting", http.StatusServiceUnavailable)
			return
		}
	}

	code := http.StatusServiceUnavailable
	if status.Error != "" {
		code = http.StatusBadGateway
	}
	header := w.Header()
	header.Set("Content-Type", "text/html; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	header.Set("Retry-After", strconv.Itoa(data.RefreshSeconds))
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Referrer-Policy", "no-referrer")
	header.Set("Content-Security-Policy", waitingPagePolicy(nonce))
	header.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes())
	}
}

// waitingPagePolicy returns the Content-Security-Policy of a waiting page:
// nothing loads but the nonce's inline script and styles, and the script
// may only call paastis on the page's own origin.
func waitingPagePolicy(nonce string) string {
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce +
		"'; connect-src 'self'; base-uri 'none'; form-action 'none'"
}

// sameOriginURI returns the path and query of a request as a link that
// stays on the same host. A path that starts with "//" would read as
// another host, so it gets a "/." prefix, which browsers drop when they
// resolve the link.
func sameOriginURI(r *http.Request) string {
	uri := r.URL.RequestURI()
	if strings.HasPrefix(uri, "//") {
		return "/." + uri
	}
	return uri
}
