package proxy

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/paastis/paastis/internal/engine"
)

// forward sends a request to the app's upstream and copies the response
// back, streams and websockets included.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, h *engine.Handle) {
	target := h.Upstream()
	if target == nil {
		p.logger.Error("app has no upstream URL", "app", h.Name(), "provider", h.App().Provider)
		writePage(w, r, pageText{
			TitleEN: "App unreachable", MessageEN: "The provider reports no address for this app.",
			TitleFR: "Application injoignable", MessageFR: "Le fournisseur n'indique aucune adresse pour cette application.",
		}, page{Status: http.StatusBadGateway})
		return
	}

	// When copying the response body fails, ReverseProxy panics with
	// http.ErrAbortHandler and the server drops the connection without a
	// log. This deferred function lets the panic go on, and logs a 499
	// when the client caused the failure. The canceled request context
	// shows it, because net/http cancels it when a write to the client
	// fails or the connection closes. ReverseProxy logs a failed read from
	// the upstream through its ErrorLog.
	returned := false
	defer func() {
		if !returned && r.Context().Err() != nil {
			p.logger.Info("client closed the request", "app", h.Name(), "status", 499, "path", r.URL.Path)
		}
	}()
	p.reverseProxy(h.Name(), target).ServeHTTP(w, r)
	returned = true
}

// reverseProxy returns the cached ReverseProxy for an upstream.
func (p *Proxy) reverseProxy(name string, target *url.URL) *httputil.ReverseProxy {
	if rp, ok := p.proxies.Load(target); ok {
		return rp.(*httputil.ReverseProxy)
	}
	logger := p.logger.With("app", name)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// SetURL also sets the outgoing Host to the upstream's own.
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  p.transport,
		BufferPool: p.buffers,
		// The outgoing request that ErrorHandler receives carries the
		// upstream's Host, so the app's name comes from here.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.upstreamError(w, r, name, err)
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	actual, _ := p.proxies.LoadOrStore(target, rp)
	return actual.(*httputil.ReverseProxy)
}

// upstreamError responds to a request whose upstream failed: 502 with a page,
// or nothing when the client hung up first (logged as 499).
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, name string, err error) {
	if r.Context().Err() != nil {
		p.logger.Info("client closed the request", "app", name, "status", 499, "path", r.URL.Path)
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

// copyBufferSize is the size of the buffers that copy response bodies,
// the size httputil.ReverseProxy allocates per request without a pool.
const copyBufferSize = 32 << 10

// bufferPool lends the body copy buffers of the reverse proxies, so that a
// warm request does not allocate 32 KiB for the garbage collector.
type bufferPool struct {
	pool sync.Pool
}

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any {
		buf := make([]byte, copyBufferSize)
		return &buf
	}}}
}

func (b *bufferPool) Get() []byte { return *b.pool.Get().(*[]byte) }

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != copyBufferSize {
		return
	}
	buf = buf[:copyBufferSize]
	b.pool.Put(&buf)
}
