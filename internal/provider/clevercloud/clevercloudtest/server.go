// Package clevercloudtest is a fake of the Clever Cloud API v2 over real
// HTTP, for tests and for a one-machine demo.
//
// It verifies the OAuth 1.0a signature of every request: PLAINTEXT,
// HMAC-SHA1 and HMAC-SHA512, with timestamp and nonce checks. It serves the
// personal space and the organisations of one user. Redeploys and undeploys
// go through deployment and instance states after a configurable delay.
// Tests can inject faults, make the next deployment fail, count the calls
// per endpoint, and let the fake serve each app's upstream itself.
package clevercloudtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Credentials that the fake accepts when Options leave them empty.
const (
	DefaultConsumerKey    = "fake-consumer-key"
	DefaultConsumerSecret = "fake-consumer-secret"
	DefaultToken          = "fake-token"
	DefaultTokenSecret    = "fake-token-secret"
	DefaultUserID         = "user_00000000-0000-4000-8000-000000000000"
)

// Endpoints of the fake, as keys for Calls and FailNext. "{owner}" stands
// for both "self" and "organisations/{id}".
const (
	EndpointSummary     = "GET /v2/summary"
	EndpointApps        = "GET /v2/{owner}/applications"
	EndpointApp         = "GET /v2/{owner}/applications/{appId}"
	EndpointInstances   = "GET /v2/{owner}/applications/{appId}/instances"
	EndpointRedeploy    = "POST /v2/{owner}/applications/{appId}/instances"
	EndpointUndeploy    = "DELETE /v2/{owner}/applications/{appId}/instances"
	EndpointDeployments = "GET /v2/{owner}/applications/{appId}/deployments"
	EndpointDeployment  = "GET /v2/{owner}/applications/{appId}/deployments/{deploymentId}"
	// AnyEndpoint makes FailNext match every endpoint.
	AnyEndpoint = "*"
)

// Ids in the fake's error bodies. Clever Cloud's public docs show the
// {"id", "message", "type"} shape but do not list the ids.
// NOTE: these values, and the id 200 of the success bodies, are
// placeholders, not Clever Cloud's own ids.
const (
	errorIDBadRequest   = 4000
	errorIDUnauthorized = 4010
	errorIDNotFound     = 4040
	errorIDInjected     = 5000
)

// Options configures a Server. Zero values select the documented defaults.
type Options struct {
	// Addr is the listen address; empty means "127.0.0.1:0".
	Addr string
	// ConsumerKey, ConsumerSecret, Token and TokenSecret are the only
	// credentials the fake accepts. Empty fields take the Default values.
	ConsumerKey    string
	ConsumerSecret string
	Token          string
	TokenSecret    string
	// UserID is the id of the personal space; empty means DefaultUserID.
	UserID string
	// UserName is the user's display name; empty means "Fake User".
	UserName string
	// OperationDelay is how long a redeploy takes to reach OK, and an
	// undeploy to remove the instances. Zero completes them on the next
	// request.
	OperationDelay time.Duration
	// MaxClockSkew is the largest accepted distance between oauth_timestamp
	// and the fake's clock; zero means 5 minutes.
	MaxClockSkew time.Duration
	// Organisations and Apps are created at start, organisations first.
	Organisations []OrganisationSeed
	Apps          []AppSeed
	// Logger receives one line per request; nil discards them.
	Logger *slog.Logger
}

// Fault is the failure that FailNext applies to a matching request.
type Fault struct {
	// Status is the HTTP status returned with a Clever error body. Zero
	// handles the request normally after Delay.
	Status int
	// Message is the error body's message; empty derives it from Status.
	Message string
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Delay is waited before responding, or until the client gives up.
	Delay time.Duration
	// Drop closes the connection without a response.
	Drop bool
}

// Server is a running fake API.
type Server struct {
	// URL is the origin of the API, such as "http://127.0.0.1:41234". The
	// API lives under URL + "/v2".
	URL string

	opts   Options
	creds  credentials
	logger *slog.Logger
	http   *httptest.Server

	mu            sync.Mutex // guards every field below
	organisations []OrganisationSeed
	apps          map[string]*app
	appOrder      []string
	calls         map[string]int
	faults        map[string][]Fault
	nonces        map[string]time.Time
	authFailures  int
	inFlight      int
	maxInFlight   int
	upstreams     []*httptest.Server
}

// New starts a fake on 127.0.0.1 with a free port. It panics when the
// listener or the seed fails, as httptest.NewServer does; use Listen to get
// the error instead.
func New(opts Options) *Server {
	s, err := Listen(opts)
	if err != nil {
		panic(fmt.Sprintf("clevercloudtest: %v", err))
	}
	return s
}

// Listen starts a fake on opts.Addr and seeds it.
func Listen(opts Options) (*Server, error) {
	opts.Addr = cmp.Or(opts.Addr, "127.0.0.1:0")
	opts.UserID = cmp.Or(opts.UserID, DefaultUserID)
	opts.UserName = cmp.Or(opts.UserName, "Fake User")
	opts.MaxClockSkew = cmp.Or(opts.MaxClockSkew, 5*time.Minute)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	s := &Server{
		opts: opts,
		creds: credentials{
			consumerKey:    cmp.Or(opts.ConsumerKey, DefaultConsumerKey),
			consumerSecret: cmp.Or(opts.ConsumerSecret, DefaultConsumerSecret),
			token:          cmp.Or(opts.Token, DefaultToken),
			tokenSecret:    cmp.Or(opts.TokenSecret, DefaultTokenSecret),
		},
		logger: logger,
		apps:   make(map[string]*app),
		calls:  make(map[string]int),
		faults: make(map[string][]Fault),
		nonces: make(map[string]time.Time),
	}

	listener, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %q: %w", opts.Addr, err)
	}
	s.http = httptest.NewUnstartedServer(s.routes())
	s.http.Listener.Close()
	s.http.Listener = listener
	s.http.Start()
	s.URL = s.http.URL

	for _, org := range opts.Organisations {
		if _, err := s.AddOrganisation(org); err != nil {
			s.Close()
			return nil, err
		}
	}
	for _, seed := range opts.Apps {
		if _, err := s.AddApp(seed); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close stops the API and the upstreams that the fake serves.
func (s *Server) Close() {
	s.http.Close()

	s.mu.Lock()
	upstreams := s.upstreams
	s.upstreams = nil
	s.mu.Unlock()
	for _, u := range upstreams {
		u.Close()
	}
}

// AddOrganisation creates an organisation and returns its id.
func (s *Server) AddOrganisation(seed OrganisationSeed) (string, error) {
	if seed.ID == "" {
		seed.ID = "orga_" + newUUID()
	}
	if !strings.HasPrefix(seed.ID, "orga_") {
		return "", fmt.Errorf("organisation id %q: must start with \"orga_\"", seed.ID)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, org := range s.organisations {
		if org.ID == seed.ID {
			return "", fmt.Errorf("organisation %q already exists", seed.ID)
		}
	}
	s.organisations = append(s.organisations, seed)
	return seed.ID, nil
}

// AddApp creates an application and returns its id. An app without URL or
// VHosts gets an upstream that the fake serves on 127.0.0.1.
func (s *Server) AddApp(seed AppSeed) (string, error) {
	if seed.Name == "" {
		return "", errors.New("app seed without a name: set Name")
	}
	if seed.ID == "" {
		seed.ID = "app_" + newUUID()
	}
	if !strings.HasPrefix(seed.ID, "app_") {
		return "", fmt.Errorf("app id %q: must start with \"app_\"", seed.ID)
	}

	vhosts, err := seedVHosts(seed)
	if err != nil {
		return "", err
	}
	a := &app{
		id:       seed.ID,
		name:     seed.Name,
		ownerID:  cmp.Or(seed.OwnerID, s.opts.UserID),
		zone:     cmp.Or(seed.Zone, "par"),
		vhosts:   vhosts,
		response: cmp.Or(seed.Response, "hello from "+seed.Name+"\n"),
		created:  time.Now(),
		state:    AppShouldBeDown,
		commit:   "0123456789abcdef0123456789abcdef01234567",
	}
	if seed.Running {
		now := time.Now()
		a.deploy(now)
		a.advance(now, 0)
	}

	var upstream *httptest.Server
	if seed.URL == "" && len(seed.VHosts) == 0 {
		upstream = httptest.NewServer(s.upstreamHandler(seed.ID))
		a.upstreamURL = upstream.URL
		host := strings.TrimPrefix(upstream.URL, "http://")
		a.vhosts = []string{host + "/", defaultVHost(seed.ID)}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if upstream != nil {
		s.upstreams = append(s.upstreams, upstream)
	}
	if _, exists := s.apps[a.id]; exists {
		return "", fmt.Errorf("app %q already exists", a.id)
	}
	if a.ownerID != s.opts.UserID && s.organisation(a.ownerID) == nil {
		return "", fmt.Errorf("app %q: unknown owner %q: add the organisation first", a.id, a.ownerID)
	}
	s.apps[a.id] = a
	s.appOrder = append(s.appOrder, a.id)
	return a.id, nil
}

// seedVHosts returns the vhosts given by a seed's URL and VHosts.
func seedVHosts(seed AppSeed) ([]string, error) {
	var vhosts []string
	if seed.URL != "" {
		scheme, rest, found := strings.Cut(seed.URL, "://")
		if !found || (scheme != "http" && scheme != "https") || rest == "" {
			return nil, fmt.Errorf("app %q: invalid url %q: must be an http or https URL", seed.Name, seed.URL)
		}
		vhosts = append(vhosts, strings.TrimSuffix(rest, "/")+"/")
	}
	return append(vhosts, seed.VHosts...), nil
}

// FailNext makes the next n requests to endpoint (or to any endpoint, with
// AnyEndpoint) fail as fault describes.
func (s *Server) FailNext(endpoint string, n int, fault Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[endpoint] = append(s.faults[endpoint], fault)
	}
}

// FailNextDeployment makes the next redeploy of the app end in FAIL with
// the given cause.
func (s *Server) FailNextDeployment(appID, cause string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return fmt.Errorf("app %q not found", appID)
	}
	a.failNext = cause
	return nil
}

// Calls returns how many requests reached endpoint, counting rejected and
// faulted ones.
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// TotalCalls returns how many requests reached the API.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for _, n := range s.calls {
		total += n
	}
	return total
}

// AuthFailures returns how many requests got a 401.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailures
}

// MaxInFlight returns the largest number of API requests that were in
// progress at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Running reports whether the app has an UP instance.
func (s *Server) Running(appID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return false
	}
	a.advance(time.Now(), s.opts.OperationDelay)
	return a.running()
}

// AppState returns the app's Clever state (SHOULD_BE_UP and so on), or ""
// for an unknown app.
func (s *Server) AppState(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return ""
	}
	a.advance(time.Now(), s.opts.OperationDelay)
	return a.state
}

// InstanceStates returns the state of each of the app's instances.
func (s *Server) InstanceStates(appID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return nil
	}
	a.advance(time.Now(), s.opts.OperationDelay)
	states := make([]string, len(a.instances))
	for i, in := range a.instances {
		states[i] = in.state
	}
	return states
}

// Deployments returns the app's deployments, oldest first.
func (s *Server) Deployments(appID string) []DeploymentInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return nil
	}
	a.advance(time.Now(), s.opts.OperationDelay)
	out := make([]DeploymentInfo, len(a.deployments))
	for i, d := range a.deployments {
		out[i] = DeploymentInfo{UUID: d.uuid, Action: d.action, State: d.state, Cause: d.cause}
	}
	return out
}

// UpstreamURL returns the URL of the upstream that the fake serves for the
// app, or "" when the app has none.
func (s *Server) UpstreamURL(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.apps[appID]; ok {
		return a.upstreamURL
	}
	return ""
}

// AppIDs returns the ids of every app, in creation order.
func (s *Server) AppIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.appOrder...)
}

// upstreamHandler serves an app's traffic: its response while it runs,
// and 503 "app is stopped" otherwise.
func (s *Server) upstreamHandler(appID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		a := s.apps[appID]
		running, response := false, ""
		if a != nil {
			a.advance(time.Now(), s.opts.OperationDelay)
			running, response = a.running(), a.response
		}
		s.mu.Unlock()

		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !running {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "app is stopped\n")
			return
		}
		w.Header().Set("X-Clever-App", appID)
		io.WriteString(w, response)
	})
}

// organisation returns the organisation with that id, or nil. The caller
// holds s.mu.
func (s *Server) organisation(id string) *OrganisationSeed {
	for i := range s.organisations {
		if s.organisations[i].ID == id {
			return &s.organisations[i]
		}
	}
	return nil
}

// wait sleeps for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
