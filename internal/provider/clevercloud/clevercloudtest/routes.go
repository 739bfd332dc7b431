package clevercloudtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// routes registers every endpoint behind the call counter, the fault
// injector and the OAuth check, in that order.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, EndpointSummary, s.handleSummary)
	s.handle(mux, EndpointApps, s.handleApps)
	s.handle(mux, EndpointApp, s.handleApp)
	s.handle(mux, EndpointInstances, s.handleInstances)
	s.handle(mux, EndpointRedeploy, s.handleRedeploy)
	s.handle(mux, EndpointUndeploy, s.handleUndeploy)
	s.handle(mux, EndpointDeployments, s.handleDeployments)
	s.handle(mux, EndpointDeployment, s.handleDeployment)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errorIDNotFound, "Not Found")
	})
	return mux
}

// handle registers h for endpoint. An endpoint with "{owner}" is served at
// both "/v2/self/..." and "/v2/organisations/{ownerId}/...".
func (s *Server) handle(mux *http.ServeMux, endpoint string, h http.HandlerFunc) {
	wrapped := s.wrap(endpoint, h)
	if !strings.Contains(endpoint, "{owner}") {
		mux.HandleFunc(endpoint, wrapped)
		return
	}
	mux.HandleFunc(strings.Replace(endpoint, "{owner}", "self", 1), wrapped)
	mux.HandleFunc(strings.Replace(endpoint, "{owner}", "organisations/{ownerId}", 1), wrapped)
}

func (s *Server) wrap(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fault, faulted := s.begin(endpoint)
		defer s.end()
		s.logger.Info("clever cloud fake request", "method", r.Method, "path", r.URL.Path, "endpoint", endpoint)

		if faulted && s.applyFault(w, r, fault) {
			return
		}
		if err := s.authenticate(r); err != nil {
			s.mu.Lock()
			s.authFailures++
			s.mu.Unlock()
			if isAuthError(err) {
				writeError(w, http.StatusUnauthorized, errorIDUnauthorized, err.Error())
				return
			}
			writeError(w, http.StatusBadRequest, errorIDBadRequest, err.Error())
			return
		}
		h(w, r)
	}
}

// begin counts a call and returns the fault queued for its endpoint, if
// any.
func (s *Server) begin(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[endpoint]++
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)

	for _, key := range []string{endpoint, AnyEndpoint} {
		if queue := s.faults[key]; len(queue) > 0 {
			s.faults[key] = queue[1:]
			return queue[0], true
		}
	}
	return Fault{}, false
}

func (s *Server) end() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// applyFault waits, drops the connection or responds with an error, as the
// fault requests. It reports whether it wrote the response.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	wait(r.Context(), fault.Delay)
	if r.Context().Err() != nil {
		return true
	}

	if fault.Drop {
		if hijacker, ok := w.(http.Hijacker); ok {
			if conn, _, err := hijacker.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	if fault.Status == 0 {
		return false
	}

	if fault.RetryAfter != "" {
		w.Header().Set("Retry-After", fault.RetryAfter)
	}
	message := fault.Message
	if message == "" {
		message = http.StatusText(fault.Status)
	}
	writeError(w, fault.Status, errorIDInjected, message)
	return true
}

// authenticate verifies the OAuth signature, the timestamp and the nonce.
func (s *Server) authenticate(r *http.Request) error {
	params, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	signed, err := newSignedRequest(r, params)
	if err != nil {
		return err
	}
	if err := verifySignature(signed, params, s.creds); err != nil {
		return err
	}
	now := time.Now()
	stamp, err := checkFreshness(params, now, s.opts.MaxClockSkew)
	if err != nil {
		return err
	}

	key := params["oauth_consumer_key"] + "&" + params["oauth_token"] + "&" + params["oauth_nonce"] + "&" + params["oauth_timestamp"]
	s.mu.Lock()
	defer s.mu.Unlock()
	for seen, at := range s.nonces {
		if now.Sub(at) > 2*s.opts.MaxClockSkew {
			delete(s.nonces, seen)
		}
	}
	if _, used := s.nonces[key]; used {
		return rejectf("oauth_nonce %q was already used with this timestamp", params["oauth_nonce"])
	}
	s.nonces[key] = stamp
	return nil
}

func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()

	summarize := func(id, name string) summaryOwnerJSON {
		owner := summaryOwnerJSON{ID: id, Name: name, Applications: []summaryAppJSON{}, Addons: []any{}, Consumers: []any{}}
		for _, appID := range s.appOrder {
			a := s.apps[appID]
			if a.ownerID != id {
				continue
			}
			a.advance(now, s.opts.OperationDelay)
			owner.Applications = append(owner.Applications, summaryAppJSON{ID: a.id, Name: a.name, VariantSlug: "node", State: a.state})
		}
		return owner
	}

	body := summaryJSON{User: summarize(s.opts.UserID, s.opts.UserName), Organisations: []summaryOwnerJSON{}}
	for _, org := range s.organisations {
		body.Organisations = append(body.Organisations, summarize(org.ID, org.Name))
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleApps(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := s.owner(w, r)
	if !ok {
		return
	}

	now := time.Now()
	apps := []appJSON{}
	for _, appID := range s.appOrder {
		a := s.apps[appID]
		if a.ownerID != owner {
			continue
		}
		a.advance(now, s.opts.OperationDelay)
		apps = append(apps, a.toJSON())
	}
	writeJSON(w, http.StatusOK, apps)
}

func (s *Server) handleApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.app(w, r); ok {
		writeJSON(w, http.StatusOK, a.toJSON())
	}
}

func (s *Server) handleInstances(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.app(w, r); ok {
		writeJSON(w, http.StatusOK, a.instancesJSON())
	}
}

func (s *Server) handleRedeploy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	d := a.deploy(time.Now())
	writeJSON(w, http.StatusOK, redeployJSON{
		ID:           200,
		Message:      "The application is being redeployed",
		Type:         "success",
		DeploymentID: d.uuid,
	})
}

func (s *Server) handleUndeploy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	a.undeploy(time.Now())
	writeJSON(w, http.StatusOK, redeployJSON{
		ID:      200,
		Message: "The application is being stopped",
		Type:    "success",
	})
}

func (s *Server) handleDeployments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.app(w, r)
	if !ok {
		return
	}

	limit, err := queryInt(r, "limit", len(a.deployments))
	if err != nil {
		writeError(w, http.StatusBadRequest, errorIDBadRequest, err.Error())
		return
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, errorIDBadRequest, err.Error())
		return
	}

	newestFirst := slices.Clone(a.deployments)
	slices.Reverse(newestFirst)
	out := []deploymentJSON{}
	for i, d := range newestFirst {
		if i < offset {
			continue
		}
		if len(out) >= limit {
			break
		}
		out = append(out, d.toJSON(s.author()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeployment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	d := a.deploymentByUUID(r.PathValue("deploymentId"))
	if d == nil {
		writeError(w, http.StatusNotFound, errorIDNotFound, "Deployment not found")
		return
	}
	writeJSON(w, http.StatusOK, d.toJSON(s.author()))
}

// owner returns the owner id of a request: the user for "/v2/self/...",
// the path's organisation otherwise. It writes a 404 for an unknown
// organisation. The caller holds s.mu.
func (s *Server) owner(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("ownerId")
	if id == "" || id == s.opts.UserID {
		return s.opts.UserID, true
	}
	if s.organisation(id) == nil {
		writeError(w, http.StatusNotFound, errorIDNotFound, "Organisation not found")
		return "", false
	}
	return id, true
}

// app returns the request's application, brought up to date, or writes a
// 404 when the owner does not have it. The caller holds s.mu.
func (s *Server) app(w http.ResponseWriter, r *http.Request) (*app, bool) {
	owner, ok := s.owner(w, r)
	if !ok {
		return nil, false
	}
	a, found := s.apps[r.PathValue("appId")]
	if !found || a.ownerID != owner {
		writeError(w, http.StatusNotFound, errorIDNotFound, "Application not found")
		return nil, false
	}
	a.advance(time.Now(), s.opts.OperationDelay)
	return a, true
}

func (s *Server) author() authorJSON {
	return authorJSON{ID: s.opts.UserID, Name: s.opts.UserName}
}

func queryInt(r *http.Request, name string, fallback int) (int, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid %s %q: must be a whole number", name, raw)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status, id int, message string) {
	writeJSON(w, status, errorJSON{ID: id, Message: message, Type: "error"})
}
