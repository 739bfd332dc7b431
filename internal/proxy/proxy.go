// Package proxy is paastis's HTTP handler: it routes each request by its
// Host header to an app, records the activity, wakes a sleeping app and
// forwards the request to the app's upstream.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// Options configures a Proxy.
type Options struct {
	// Engine holds the apps. Required.
	Engine *engine.Engine
	// Domain, when set, restricts routing to hosts "<app>.<Domain>"
	// (PROXY_DOMAIN).
	Domain string
	// WakeTimeout is how long a request is held while its app starts
	// before it gets a 503, and how long the waiting page polls before it
	// stops (WAKE_TIMEOUT). Default 60s.
	WakeTimeout time.Duration
	// WakeStrategy selects the requests for a sleeping app that get the
	// waiting page at once instead of being held (WAKE_STRATEGY). Empty
	// means WakeAuto.
	WakeStrategy WakeStrategy
	// WaitingPageTemplate is the path of an html/template file that
	// replaces the built-in waiting page (WAKE_PAGE_TEMPLATE). It receives
	// a WaitingPage. Empty keeps the built-in page.
	WaitingPageTemplate string
	// StatusPollInterval is the delay between two status requests of the
	// waiting page. Default 1s.
	StatusPollInterval time.Duration
	// IgnoredUserAgents matches the User-Agent headers of monitors and
	// bots (ACTIVITY_IGNORED_USER_AGENTS). Their requests reach a running
	// app but neither wake a sleeping one nor count as activity. Nil
	// ignores no client.
	IgnoredUserAgents *regexp.Regexp
	// Transport sends the requests to the upstreams. Default: a pooled
	// keep-alive transport with TLS verification on.
	Transport http.RoundTripper
	// Logger receives the proxy's logs; nil discards them.
	Logger *slog.Logger
}

// Proxy is the HTTP handler that fronts every app.
type Proxy struct {
	engine            *engine.Engine
	domain            string
	wakeTimeout       time.Duration
	strategy          WakeStrategy
	waitingPage       *template.Template
	pollInterval      time.Duration
	ignoredUserAgents *regexp.Regexp
	transport         http.RoundTripper
	logger            *slog.Logger

	// proxies caches one ReverseProxy per upstream URL, keyed by the
	// *url.URL of the app's handle, which keeps its identity until the
	// provider reports another URL.
	proxies sync.Map
	// buffers lends the copy buffers of every ReverseProxy in proxies.
	buffers *bufferPool
}

// New returns a proxy for the engine's apps. It fails when an option is
// invalid, such as an unknown wake strategy or a waiting page template
// that does not parse.
func New(opts Options) (*Proxy, error) {
	if opts.Engine == nil {
		return nil, errors.New("proxy: no engine configured")
	}
	strategy, err := ParseWakeStrategy(string(opts.WakeStrategy))
	if err != nil {
		return nil, err
	}
	waitingPage := builtinWaitingPage
	if opts.WaitingPageTemplate != "" {
		if waitingPage, err = loadWaitingPage(opts.WaitingPageTemplate); err != nil {
			return nil, err
		}
	}
	if opts.WakeTimeout <= 0 {
		opts.WakeTimeout = 60 * time.Second
	}
	if opts.StatusPollInterval <= 0 {
		opts.StatusPollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport()
	}
	return &Proxy{
		engine:            opts.Engine,
		domain:            opts.Domain,
		wakeTimeout:       opts.WakeTimeout,
		strategy:          strategy,
		waitingPage:       waitingPage,
		pollInterval:      opts.StatusPollInterval,
		ignoredUserAgents: opts.IgnoredUserAgents,
		transport:         opts.Transport,
		logger:            opts.Logger,
		buffers:           newBufferPool(),
	}, nil
}

// NewTransport returns the transport used toward upstreams: keep-alive
// connections pooled per upstream, TLS verification on.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = 0 // apps may take their time; the client decides
	return t
}

// routeRecorder is implemented by response writers that label requests
// with their app, such as the request metrics middleware.
type routeRecorder interface {
	// RecordApp names the app that the request is for, by its own name.
	RecordApp(name string)
	// RecordOwnTraffic marks a request that paastis serves itself on an
	// app's host, such as a status poll, which is not the app's traffic.
	RecordOwnTraffic()
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	recorder, _ := w.(routeRecorder)
	reserved := isReserved(r.URL.Path)
	if reserved && recorder != nil {
		recorder.RecordOwnTraffic()
	}

	// Route the Host header to an app.
	name, err := AppName(r.Host, p.domain)
	if err != nil {
		p.hostError(w, r, err)
		return
	}
	h, ok := p.engine.Lookup(name)
	if !ok {
		writePage(w, r, pageText{
			TitleEN: "App not found", MessageEN: fmt.Sprintf("No app named %q is known to paastis. Check the address, or wait for the next sync if the app was just created.", name),
			TitleFR: "Application introuvable", MessageFR: fmt.Sprintf("Aucune application nommée %q n'est connue de paastis. Vérifiez l'adresse, ou attendez la prochaine synchronisation si l'application vient d'être créée.", name),
		}, page{Status: http.StatusNotFound})
		return
	}
	if recorder != nil {
		// An alias counts under the app's own name.
		recorder.RecordApp(h.Name())
	}

	// Serve paastis's own paths, such as the status endpoint, without
	// touching the app.
	if reserved {
		p.serveReserved(w, r, h)
		return
	}

	// Let monitors and bots reach a running app without waking it or
	// counting as activity.
	if p.ignoredUserAgents != nil && p.ignoredUserAgents.MatchString(r.UserAgent()) {
		p.serveIgnoredClient(w, r, h)
		return
	}

	// Count the request as activity for its whole life, streams and
	// websockets included.
	h.Begin(p.engine.Now())
	defer func() { h.End(p.engine.Now()) }()

	// Wake a sleeping app: serve the waiting page, or hold the request
	// until the app is ready.
	if h.State() != engine.StateRunning && !p.wake(w, r, h) {
		return
	}

	p.forward(w, r, h)
}

// wake wakes the app of a request and reports whether the request may go
// on to the upstream. Otherwise it has written the response.
func (p *Proxy) wake(w http.ResponseWriter, r *http.Request, h *engine.Handle) bool {
	if !h.Managed() {
		writePage(w, r, pageText{
			TitleEN: "App not running", MessageEN: fmt.Sprintf("The app %q is not running, and paastis does not manage it (it is on the ignore list), so it will not start it.", h.Name()),
			TitleFR: "Application arrêtée", MessageFR: fmt.Sprintf("L'application %q est arrêtée, et paastis ne la gère pas (elle est dans la liste des applications ignorées) : il ne la démarrera pas.", h.Name()),
		}, page{Status: http.StatusServiceUnavailable, RetryAfter: 60})
		return false
	}
	if p.strategy.servesPage(r) {
		p.serveWaitingPage(w, r, h)
		return false
	}

	ctx, cancel := context.WithTimeout(r.Context(), p.wakeTimeout)
	defer cancel()
	begin := time.Now()
	err := p.engine.Wake(ctx, h)
	switch {
	case err == nil:
		return true
	case r.Context().Err() != nil:
		p.logger.Info("client closed the request while its app was waking", "app", h.Name(), "status", 499,
			"duration", time.Since(begin).Round(time.Millisecond))
		return false
	case errors.Is(err, context.DeadlineExceeded):
		p.logger.Warn("app still starting at the wake timeout", "app", h.Name(), "timeout", p.wakeTimeout)
		writePage(w, r, pageText{
			TitleEN: "App still starting", MessageEN: fmt.Sprintf("The app %q is starting but is not ready yet. Try again in a few seconds.", h.Name()),
			TitleFR: "Application en cours de démarrage", MessageFR: fmt.Sprintf("L'application %q démarre mais n'est pas encore prête. Réessayez dans quelques secondes.", h.Name()),
		}, page{Status: http.StatusServiceUnavailable, RetryAfter: 5})
		return false
	default:
		p.logger.Error("app failed to start", "app", h.Name(), "provider", h.App().Provider, "error", err)
		writePage(w, r, pageText{
			TitleEN: "App failed to start", MessageEN: fmt.Sprintf("Paastis tried to start the app %q and the start failed. Its logs may say more.", h.Name()),
			TitleFR: "Échec du démarrage", MessageFR: fmt.Sprintf("Paastis a tenté de démarrer l'application %q et le démarrage a échoué. Ses journaux en disent peut-être plus.", h.Name()),
		}, page{Status: http.StatusBadGateway, Detail: err.Error(), RetryAfter: 5})
		return false
	}
}

// serveIgnoredClient forwards a request from an ignored user agent to a
// running app without recording activity, and responds 503 for an app
// that does not run, without waking it.
func (p *Proxy) serveIgnoredClient(w http.ResponseWriter, r *http.Request, h *engine.Handle) {
	if h.State() == engine.StateRunning {
		p.forward(w, r, h)
		return
	}
	header := w.Header()
	header.Set("Content-Type", "text/plain; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Retry-After", "60")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = fmt.Fprintf(w, "app %q is asleep, and requests from this user agent do not wake it\n", h.Name())
}

func (p *Proxy) hostError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrOutsideDomain) {
		writePage(w, r, pageText{
			TitleEN: "Unknown host", MessageEN: "This host is not served by paastis.",
			TitleFR: "Hôte inconnu", MessageFR: "Cet hôte n'est pas servi par paastis.",
		}, page{Status: http.StatusNotFound, Detail: err.Error()})
		return
	}
	writePage(w, r, pageText{
		TitleEN: "Bad request", MessageEN: "The Host header does not name an app. Use <app>.<domain>.",
		TitleFR: "Requête invalide", MessageFR: "L'en-tête Host ne désigne aucune application. Utilisez <application>.<domaine>.",
	}, page{Status: http.StatusBadRequest, Detail: err.Error()})
}
