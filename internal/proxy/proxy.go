// Package proxy is paastis's HTTP handler: it routes each request by its
// Host header to an app, records the activity, wakes a sleeping app and
// forwards the request to the app's upstream.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
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
	// before it gets a 503 (WAKE_TIMEOUT). Default 60s.
	WakeTimeout time.Duration
	// Transport sends the requests to the upstreams. Default: a pooled
	// keep-alive transport with TLS verification on.
	Transport http.RoundTripper
	// Logger receives the proxy's logs; nil discards them.
	Logger *slog.Logger
}

// Proxy is the HTTP handler that fronts every app.
type Proxy struct {
	engine      *engine.Engine
	domain      string
	wakeTimeout time.Duration
	transport   http.RoundTripper
	logger      *slog.Logger

	// proxies caches one ReverseProxy per upstream URL, keyed by the
	// *url.URL of the app's handle, which keeps its identity until the
	// provider reports another URL.
	proxies sync.Map
}

// New returns a proxy for the engine's apps.
func New(opts Options) *Proxy {
	if opts.WakeTimeout <= 0 {
		opts.WakeTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport()
	}
	return &Proxy{
		engine:      opts.Engine,
		domain:      opts.Domain,
		wakeTimeout: opts.WakeTimeout,
		transport:   opts.Transport,
		logger:      opts.Logger,
	}
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

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

	// Count the request as activity for its whole life, streams and
	// websockets included.
	h.Begin(p.engine.Now())
	defer func() { h.End(p.engine.Now()) }()

	// Wake a sleeping app, holding the request until it is ready.
	if h.State() != engine.StateRunning {
		if !p.wake(w, r, h) {
			return
		}
	}

	// Forward to the upstream the provider reports.
	target := h.Upstream()
	if target == nil {
		p.logger.Error("app has no upstream URL", "app", name, "provider", h.App().Provider)
		writePage(w, r, pageText{
			TitleEN: "App unreachable", MessageEN: "The provider reports no address for this app.",
			TitleFR: "Application injoignable", MessageFR: "Le fournisseur n'indique aucune adresse pour cette application.",
		}, page{Status: http.StatusBadGateway})
		return
	}
	p.reverseProxy(target).ServeHTTP(w, r)
}

// wake wakes the app of a request and reports whether the request may go
// on to the upstream. Otherwise it has answered the client.
func (p *Proxy) wake(w http.ResponseWriter, r *http.Request, h *engine.Handle) bool {
	if !h.Managed() {
		writePage(w, r, pageText{
			TitleEN: "App not running", MessageEN: fmt.Sprintf("The app %q is not running, and paastis does not manage it (it is on the ignore list), so it will not start it.", h.Name()),
			TitleFR: "Application arrêtée", MessageFR: fmt.Sprintf("L'application %q est arrêtée, et paastis ne la gère pas (elle est dans la liste des applications ignorées) : il ne la démarrera pas.", h.Name()),
		}, page{Status: http.StatusServiceUnavailable, RetryAfter: 60})
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
		}, page{Status: http.StatusBadGateway, Detail: err.Error(), RetryAfter: 10})
		return false
	}
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

// reverseProxy returns the cached ReverseProxy for an upstream.
func (p *Proxy) reverseProxy(target *url.URL) *httputil.ReverseProxy {
	if rp, ok := p.proxies.Load(target); ok {
		return rp.(*httputil.ReverseProxy)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// SetURL also sets the outgoing Host to the upstream's own.
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:    p.transport,
		ErrorHandler: p.upstreamError,
		ErrorLog:     slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
	actual, _ := p.proxies.LoadOrStore(target, rp)
	return actual.(*httputil.ReverseProxy)
}

// upstreamError answers a request whose upstream failed: 502 with a page,
// or nothing when the client hung up first (logged as 499).
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	name, _ := AppName(r.Host, p.domain)
	if r.Context().Err() != nil {
		p.logger.Info("client closed the request", "app", name, "status", 499)
		return
	}
	p.logger.Error("upstream request failed", "app", name, "status", http.StatusBadGateway, "error", err)
	detail := "The app did not answer."
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		detail = "The app did not answer in time."
	}
	writePage(w, r, pageText{
		TitleEN: "Bad gateway", MessageEN: "Paastis could not reach the app. " + detail,
		TitleFR: "Passerelle en erreur", MessageFR: "Paastis n'a pas pu joindre l'application.",
	}, page{Status: http.StatusBadGateway})
}
