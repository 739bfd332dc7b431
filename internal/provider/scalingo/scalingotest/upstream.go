package scalingotest

import (
	"fmt"
	"net/http"
	"time"
)

// handleUpstream plays the app itself: it responds with the app's body
// while the app has web containers running, and with 503 otherwise. The
// request path after the app prefix is sent back in the X-Upstream-Path
// header, so that tests can check how a proxy joins paths.
func (s *Server) handleUpstream(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[EndpointUpstream]++
	a := s.apps[appKey{r.PathValue("region"), r.PathValue("app")}]
	var serving bool
	var body string
	if a != nil {
		s.advance(a, time.Now())
		serving = a.serving()
		body = a.seed.Body
	}
	s.mu.Unlock()

	w.Header().Set("X-Upstream-Path", "/"+r.PathValue("path"))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case a == nil:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "no such app")
	case !serving:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "app is stopped")
	default:
		fmt.Fprintln(w, body)
	}
}
