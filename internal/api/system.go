package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/paastis/paastis/internal/engine"
)

// Headers of the system API, as the original paastis named them.
const (
	// TargetHeader set to "system" sends a request to the system API
	// instead of an app.
	TargetHeader = "PaastisProxyTarget"
	// SystemTokenHeader carries the system API token.
	SystemTokenHeader = "PaastisProxySystemApiToken"
)

// SystemOptions configures SystemHandler.
type SystemOptions struct {
	// Engine holds the apps. Required.
	Engine *engine.Engine
	// Token is the token that requests must carry in SystemTokenHeader or
	// as "Authorization: Bearer <token>" (ROUTING_SYSTEM_API_TOKEN). An
	// empty token rejects every request.
	Token string
	// Logger receives the rejected requests and the failures; nil
	// discards them.
	Logger *slog.Logger
}

// SystemHandler returns next with the system API in front of it: a request
// with the header "PaastisProxyTarget: system" is handled by paastis, and
// every other request goes to next unchanged. Call it only when the system
// API is enabled.
//
// The routes, compatible with the original paastis:
//
//	GET    /apps    the apps, as a JSON array
//	DELETE /apps    clear paastis's registry keys (204)
//	GET    /events  the recent lifecycle events, oldest first (?limit=N)
//
// A missing or wrong token gets 401 (the original sent 400), and an
// unknown path gets 404 (the original sent an empty 200).
func SystemHandler(next http.Handler, opts SystemOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &system{opts: opts, rejections: &rate.Sometimes{First: 1, Interval: time.Minute}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(TargetHeader) != "system" {
			next.ServeHTTP(w, r)
			return
		}
		s.ServeHTTP(w, r)
	})
}

type system struct {
	opts SystemOptions
	// rejections limits the logs of rejected tokens to one a minute.
	rejections *rate.Sometimes
}

func (s *system) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		s.rejections.Do(func() {
			s.opts.Logger.Warn("system API request rejected: wrong or missing token; further rejections are logged once a minute",
				"remote_addr", r.RemoteAddr, "path", r.URL.Path)
		})
		w.Header().Set("WWW-Authenticate", `Bearer realm="paastis system API"`)
		writeError(w, http.StatusUnauthorized, "wrong or missing system API token: send it in the "+SystemTokenHeader+" header")
		return
	}

	// The path alone decides the route: a query string or a trailing slash
	// changes nothing.
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/apps" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, appViews(s.opts.Engine))
	case path == "/apps" && r.Method == http.MethodDelete:
		s.clear(w, r)
	case path == "/events" && r.Method == http.MethodGet:
		s.events(w, r)
	case path == "/apps":
		methodNotAllowed(w, "GET, DELETE")
	case path == "/events":
		methodNotAllowed(w, "GET")
	default:
		writeError(w, http.StatusNotFound, "no system API route for "+strconv.Quote(r.URL.Path)+": use GET /apps, DELETE /apps or GET /events")
	}
}

// authorized reports whether the request carries the system API token.
func (s *system) authorized(r *http.Request) bool {
	received := r.Header.Get(SystemTokenHeader)
	if received == "" {
		received, _ = bearerToken(r)
	}
	return tokenEqual(received, s.opts.Token)
}

func (s *system) clear(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Engine.Clear(r.Context()); err != nil {
		s.opts.Logger.Error("system API: clear the registry failed", "error", err)
		writeError(w, http.StatusServiceUnavailable, err.Error()+"; check the registry and try again")
		return
	}
	s.opts.Logger.Info("system API: registry cleared", "remote_addr", r.RemoteAddr)
	w.WriteHeader(http.StatusNoContent)
}

func (s *system) events(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	events, err := s.opts.Engine.Events(r.Context(), limit)
	if err != nil {
		s.opts.Logger.Error("system API: read the events failed", "error", err)
		writeError(w, http.StatusServiceUnavailable, err.Error()+"; check the registry and try again")
		return
	}
	writeJSON(w, http.StatusOK, eventViews(events))
}

func methodNotAllowed(w http.ResponseWriter, allowed string) {
	w.Header().Set("Allow", allowed)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed: use "+allowed)
}
