package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/paastis/paastis/internal/engine"
)

//go:embed openapi.yaml
var openAPIDocument []byte

// Limits of the event lists.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// AdminOptions configures the admin listener's handler.
type AdminOptions struct {
	// Engine holds the apps. Required.
	Engine *engine.Engine
	// Token is the bearer token of the admin API and the password of the
	// dashboard (ADMIN_API_TOKEN). Empty turns authentication off, which
	// is safe only on a loopback listener: the handler then also rejects
	// requests whose Host header is not a loopback name, so that a web
	// page cannot reach it through DNS rebinding.
	Token string
	// Metrics serves GET /metrics. Nil makes GET /metrics return 404.
	Metrics http.Handler
	// StartWait is how long POST /api/apps/{name}/start waits for the app
	// to be ready before it responds 202 and lets the start go on. Default
	// 60s.
	StartWait time.Duration
	// SessionTTL is the lifetime of a dashboard login. Default 12 hours.
	SessionTTL time.Duration
	// Version is shown by the dashboard and /healthz.
	Version string
	// Logger receives the actions and failures; nil discards them.
	Logger *slog.Logger
}

// Admin is the handler of the admin listener: the admin API under /api,
// the health checks, the metrics and the dashboard. Close ends its event
// streams, which http.Server.Shutdown does not interrupt.
type Admin struct {
	opts    AdminOptions
	handler http.Handler
	routes  []route

	// logins limits the failed dashboard logins, so that guessing the
	// token costs time.
	logins *rate.Limiter
	// readinessFailures limits the logs of failed readiness checks, which
	// probes repeat every few seconds, to one a minute.
	readinessFailures *rate.Sometimes

	closeOnce sync.Once
	closed    chan struct{}
}

// route is one pattern of the admin listener.
type route struct {
	// pattern is a http.ServeMux pattern with a method, such as
	// "GET /api/apps/{name}".
	pattern string
	// public routes need no authentication.
	public  bool
	handler http.HandlerFunc
}

// NewAdmin returns the admin listener's handler.
func NewAdmin(opts AdminOptions) *Admin {
	if opts.StartWait <= 0 {
		opts.StartWait = 60 * time.Second
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Admin{
		opts:              opts,
		logins:            rate.NewLimiter(rate.Every(time.Second), 5),
		readinessFailures: &rate.Sometimes{First: 1, Interval: time.Minute},
		closed:            make(chan struct{}),
	}
	a.routes = []route{
		{pattern: "GET /{$}", handler: a.dashboard},
		{pattern: "GET /login", public: true, handler: a.loginPage},
		{pattern: "POST /login", public: true, handler: a.login},
		{pattern: "POST /logout", public: true, handler: a.logout},
		{pattern: "GET /healthz", public: true, handler: a.healthz},
		{pattern: "GET /readyz", public: true, handler: a.readyz},
		{pattern: "GET /metrics", handler: a.metrics},
		{pattern: "GET /api/openapi.yaml", public: true, handler: serveOpenAPI},
		{pattern: "GET /api/apps", handler: a.listApps},
		{pattern: "GET /api/apps/{name}", handler: a.getApp},
		{pattern: "POST /api/apps/{name}/start", handler: a.startApp},
		{pattern: "POST /api/apps/{name}/stop", handler: a.stopApp},
		{pattern: "GET /api/events", handler: a.listEvents},
		{pattern: "GET /api/events/stream", handler: a.streamEvents},
	}

	mux := http.NewServeMux()
	for _, rt := range a.routes {
		handler := http.Handler(rt.handler)
		if !rt.public {
			handler = a.requireAuth(handler)
		}
		mux.Handle(rt.pattern, handler)
	}
	// Cross-origin POSTs from a browser are rejected, so that a web page
	// cannot make a logged-in operator's browser start or stop apps.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request rejected: use the dashboard or the API from its own origin")
	}))
	a.handler = csrf.Handler(jsonErrors(mux))
	if opts.Token == "" {
		a.handler = loopbackHostOnly(a.handler)
	}
	return a
}

func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Frame-Options", "DENY")
	a.handler.ServeHTTP(w, r)
}

// Close ends the event streams in progress and rejects new ones. Call it
// when the admin server shuts down, for instance with
// http.Server.RegisterOnShutdown.
func (a *Admin) Close() {
	a.closeOnce.Do(func() { close(a.closed) })
}

// jsonErrors writes a JSON error for the requests that match no route,
// where http.ServeMux writes plain text.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// Let the mux decide between 404 and 405, and keep its Allow
		// header, but replace its body.
		capture := &statusCapture{header: http.Header{}}
		mux.ServeHTTP(capture, r)
		if allow := capture.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		switch capture.status {
		case http.StatusMethodNotAllowed:
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %q: use %s", r.Method, r.URL.Path, capture.header.Get("Allow")))
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			http.Redirect(w, r, capture.header.Get("Location"), capture.status)
		default:
			writeError(w, http.StatusNotFound, fmt.Sprintf("no route for %q: see /api/openapi.yaml for the admin API", r.URL.Path))
		}
	})
}

// statusCapture records the status and headers that a handler writes, and
// drops its body.
type statusCapture struct {
	header http.Header
	status int
}

func (c *statusCapture) Header() http.Header { return c.header }
func (c *statusCapture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *statusCapture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(b), nil
}

func (a *Admin) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": a.opts.Version})
}

// readyz responds 200 when the registry and the providers that can be
// checked respond, and 503 otherwise. The error details are only logged,
// because /readyz needs no token.
func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status := http.StatusOK
	checks := map[string]string{}
	for _, check := range a.opts.Engine.Ready(ctx) {
		switch {
		case check.Err != nil:
			status = http.StatusServiceUnavailable
			checks[check.Name] = "unavailable"
			a.readinessFailures.Do(func() {
				a.opts.Logger.Warn("readiness check failed; further failures are logged once a minute", "component", check.Name, "error", check.Err)
			})
		case check.Skipped:
			checks[check.Name] = "not checked"
		default:
			checks[check.Name] = "ok"
		}
	}
	body := map[string]any{"status": "ready", "checks": checks}
	if status != http.StatusOK {
		body["status"] = "not ready"
	}
	writeJSON(w, status, body)
}

func (a *Admin) metrics(w http.ResponseWriter, r *http.Request) {
	if a.opts.Metrics == nil {
		writeError(w, http.StatusNotFound, "metrics are not enabled")
		return
	}
	a.opts.Metrics.ServeHTTP(w, r)
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Write(openAPIDocument)
}

func (a *Admin) listApps(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"apps": appViews(a.opts.Engine)})
}

func (a *Admin) getApp(w http.ResponseWriter, r *http.Request) {
	h, ok := a.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, newAppView(a.opts.Engine, h))
}

// lookup returns the app named in the path, or responds 404.
func (a *Admin) lookup(w http.ResponseWriter, r *http.Request) (*engine.Handle, bool) {
	name := r.PathValue("name")
	h, ok := a.opts.Engine.Lookup(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("app %q not found: list the apps with GET /api/apps", name))
		return nil, false
	}
	return h, true
}

// actionResult is the body of the start and stop responses.
type actionResult struct {
	App   appView `json:"app"`
	Error string  `json:"error,omitempty"`
}

// startApp starts the app and waits until it is ready, for StartWait at
// most: 200 when it runs, 202 when it is still starting (the start goes
// on), 409 for an ignored app, 502 when the start failed.
func (a *Admin) startApp(w http.ResponseWriter, r *http.Request) {
	h, ok := a.lookup(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.opts.StartWait)
	defer cancel()
	a.opts.Logger.Info("admin API: starting app", "app", h.Name(), "remote_addr", r.RemoteAddr)
	err := a.opts.Engine.Start(ctx, h.Name())

	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, actionResult{App: newAppView(a.opts.Engine, h)})
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		writeJSON(w, http.StatusAccepted, actionResult{App: newAppView(a.opts.Engine, h)})
	default:
		writeJSON(w, statusOf(err), actionResult{App: newAppView(a.opts.Engine, h), Error: err.Error()})
	}
}

// stopApp stops the app, idle or not: 200 once it is stopped, 409 for an
// ignored app or when another instance holds its lock, 502 when the stop
// failed. The stop goes on if the client leaves, so that it does not end
// halfway.
func (a *Admin) stopApp(w http.ResponseWriter, r *http.Request) {
	h, ok := a.lookup(w, r)
	if !ok {
		return
	}
	a.opts.Logger.Info("admin API: stopping app", "app", h.Name(), "remote_addr", r.RemoteAddr)
	err := a.opts.Engine.Stop(context.WithoutCancel(r.Context()), h.Name())

	switch {
	case err != nil:
		writeJSON(w, statusOf(err), actionResult{App: newAppView(a.opts.Engine, h), Error: err.Error()})
	case h.State() != engine.StateStopped:
		// Stop returns no error when another instance holds the app's
		// lock: it leaves the app to that instance.
		writeJSON(w, http.StatusConflict, actionResult{
			App:   newAppView(a.opts.Engine, h),
			Error: fmt.Sprintf("app %q is %s: another instance is starting or stopping it; try again in a few seconds", h.Name(), h.State()),
		})
	default:
		writeJSON(w, http.StatusOK, actionResult{App: newAppView(a.opts.Engine, h)})
	}
}

func (a *Admin) listEvents(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	events, err := a.opts.Engine.Events(r.Context(), limit)
	if err != nil {
		a.opts.Logger.Error("admin API: read the events failed", "error", err)
		writeError(w, http.StatusServiceUnavailable, err.Error()+"; check the registry and try again")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": eventViews(events)})
}

// parseLimit returns the limit query parameter of an event list, from 1
// to maxEventLimit, or defaultEventLimit when it is absent.
func parseLimit(r *http.Request) (int, error) {
	value := r.URL.Query().Get("limit")
	if value == "" {
		return defaultEventLimit, nil
	}
	limit, err := strconv.Atoi(value)
	if err != nil || limit < 1 || limit > maxEventLimit {
		return 0, fmt.Errorf("invalid limit %q: must be a number from 1 to %d", value, maxEventLimit)
	}
	return limit, nil
}
