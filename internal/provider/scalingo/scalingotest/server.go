// Package scalingotest serves a fake of the Scalingo API over real HTTP on
// 127.0.0.1, for the tests of the Scalingo provider, end-to-end tests and the
// fakepaas demo command.
//
// One listener serves the authentication service at its root
// (/v1/tokens/exchange, /v1/regions) and one API per region under
// /regions/{region} (/regions/osc-fr1/v1/apps, ...). The regions endpoint
// points clients to those per-region base URLs. The fake also serves each
// app's upstream under /upstream/{region}/{app}/, which responds with 200
// only while the app has web containers.
//
// The shapes of requests, responses and error bodies follow the public
// Scalingo API reference (developers.scalingo.com): apps, containers, ps,
// scale, operations, child apps and review apps.
package scalingotest

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultAPIToken is the API token that the fake accepts when
// Options.APIToken is empty.
const DefaultAPIToken = "tk-us-scalingotest"

// Endpoint names, as used by Calls and FailNext. API endpoints carry no
// region prefix, so a name counts the calls to every region.
const (
	EndpointTokenExchange = "POST /v1/tokens/exchange"
	EndpointRegions       = "GET /v1/regions"
	EndpointApps          = "GET /v1/apps"
	EndpointApp           = "GET /v1/apps/{app}"
	EndpointContainers    = "GET /v1/apps/{app}/containers"
	EndpointPs            = "GET /v1/apps/{app}/ps"
	EndpointScale         = "POST /v1/apps/{app}/scale"
	EndpointOperation     = "GET /v1/apps/{app}/operations/{id}"
	EndpointChildApps     = "GET /v1/apps/{app}/child_apps"
	EndpointReviewApps    = "GET /v1/apps/{app}/scm_repo_link/review_apps"
	EndpointUpstream      = "upstream"
)

// Options configures a fake. The zero value is a working two-region fake.
type Options struct {
	// Addr is the listen address. Empty means 127.0.0.1 with a free port.
	Addr string
	// APIToken is the only API token that the token exchange accepts.
	// Empty means DefaultAPIToken.
	APIToken string
	// TokenLifetime is how long each bearer token stays valid. Zero means
	// one hour, as on Scalingo.
	TokenLifetime time.Duration
	// Regions names the regions served, the first one being the default
	// region. Empty means osc-fr1 and osc-secnum-fr1.
	Regions []string
	// OperationDelay is how long a scale operation lasts: it is pending for
	// the first half, running for the second half, then done. Zero means
	// that the operation is done when it is first read. App.OperationDelay
	// overrides it for one app.
	OperationDelay time.Duration
	// BusyStatus is the status of a scale request made while another
	// operation runs on the app: 409 or 422. Zero means 422.
	BusyStatus int
	// RateLimit is the number of requests per RateLimitWindow that one
	// token may make before the fake responds 429 with the plain-text body
	// "Retry later". Zero disables the limit, but requests are still
	// counted for PeakRequests.
	RateLimit int
	// RateLimitWindow is the sliding window of RateLimit. Zero means one
	// minute.
	RateLimitWindow time.Duration
	// OmitParentInListing drops parent_app_name from the app objects, so
	// that clients must find review apps through the child_apps or
	// review_apps endpoint.
	OmitParentInListing bool
	// Logger, if not nil, receives a line when a scale operation starts,
	// and one when the fake applies its end, at the first request that
	// looks at the app afterwards.
	Logger *slog.Logger
}

// Fault is an injected failure, see Server.FailNext.
type Fault struct {
	// Status is the HTTP status to respond with. Zero, with Drop false,
	// means that the request is handled normally after Delay.
	Status int
	// Body is the response body. Empty means a JSON {"error": ...} body
	// with the status text. A body that starts with "{" is sent as JSON,
	// any other as plain text.
	Body string
	// RetryAfter is the value of the Retry-After header, if not empty.
	RetryAfter string
	// Delay is how long the fake waits before it responds or drops the
	// connection.
	Delay time.Duration
	// Drop closes the connection without a response.
	Drop bool
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the authentication service, such as
	// http://127.0.0.1:41234. Region APIs live under URL/regions/{region}.
	URL string

	opts   Options
	secret []byte
	http   *httptest.Server

	// mu guards every field below.
	mu            sync.Mutex
	apps          map[appKey]*app
	appOrder      []*app
	operations    map[string]*operation
	nextID        int
	calls         map[string]int
	faults        map[string][]*pendingFault
	tokenLifetime time.Duration
	tokenEpoch    int
	unauthorized  int
	rateLimited   int
	requestTimes  map[string][]time.Time
	peakRequests  int
	inFlight      int
	maxInFlight   int
}

type pendingFault struct {
	fault     Fault
	remaining int
}

// New starts a fake on 127.0.0.1. It panics when it cannot listen, as
// httptest.NewServer does. Call Close when done.
func New(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a fake like New, and returns an error when it cannot listen
// on opts.Addr.
func Start(opts Options) (*Server, error) {
	opts.APIToken = cmp.Or(opts.APIToken, DefaultAPIToken)
	opts.TokenLifetime = cmp.Or(opts.TokenLifetime, time.Hour)
	opts.RateLimitWindow = cmp.Or(opts.RateLimitWindow, time.Minute)
	opts.BusyStatus = cmp.Or(opts.BusyStatus, http.StatusUnprocessableEntity)
	if len(opts.Regions) == 0 {
		opts.Regions = []string{"osc-fr1", "osc-secnum-fr1"}
	}
	opts.Regions = slices.Clone(opts.Regions)
	if opts.BusyStatus != http.StatusConflict && opts.BusyStatus != http.StatusUnprocessableEntity {
		return nil, fmt.Errorf("scalingotest: invalid busy status %d: use 409 or 422", opts.BusyStatus)
	}

	addr := cmp.Or(opts.Addr, "127.0.0.1:0")
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("scalingotest: listen on %q: %w", addr, err)
	}

	s := &Server{
		opts:          opts,
		secret:        newSecret(),
		apps:          map[appKey]*app{},
		operations:    map[string]*operation{},
		calls:         map[string]int{},
		faults:        map[string][]*pendingFault{},
		tokenLifetime: opts.TokenLifetime,
		requestTimes:  map[string][]time.Time{},
	}
	s.http = httptest.NewUnstartedServer(s.routes())
	s.http.Listener.Close()
	s.http.Listener = listener
	s.http.Start()
	s.URL = s.http.URL
	return s, nil
}

// Close shuts the fake down and waits for the requests in progress.
func (s *Server) Close() {
	s.http.CloseClientConnections()
	s.http.Close()
}

// AuthURL returns the base URL of the authentication service.
func (s *Server) AuthURL() string { return s.URL }

// APIURL returns the base URL of a region's API, without the /v1 suffix,
// as the regions endpoint reports it. An empty region means the default
// region.
func (s *Server) APIURL(region string) string {
	return s.URL + "/regions/" + s.region(region)
}

// Regions returns the names of the regions served, the default first.
func (s *Server) Regions() []string { return slices.Clone(s.opts.Regions) }

func (s *Server) region(region string) string {
	if region == "" {
		return s.opts.Regions[0]
	}
	return region
}

// Calls returns how many requests reached an endpoint, such as
// EndpointScale, including the ones that got an error or a fault.
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// TotalCalls returns how many requests reached the authentication service
// and the region APIs, upstream requests excluded.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for endpoint, n := range s.calls {
		if endpoint != EndpointUpstream {
			total += n
		}
	}
	return total
}

// ResetCalls sets every call counter, the peak request count and the
// in-flight maximum back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	clear(s.requestTimes)
	s.peakRequests = 0
	s.maxInFlight = s.inFlight
	s.unauthorized = 0
	s.rateLimited = 0
}

// FailNext makes the next n requests to endpoint fail with fault. Faults
// queued for one endpoint apply in order.
func (s *Server) FailNext(endpoint string, n int, fault Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[endpoint] = append(s.faults[endpoint], &pendingFault{fault: fault, remaining: n})
}

// Unauthorized returns how many requests the fake rejected with 401.
func (s *Server) Unauthorized() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unauthorized
}

// RateLimited returns how many requests the rate limit rejected with 429.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited
}

// PeakRequests returns the largest number of requests that one token made
// within any RateLimitWindow, counting only the requests the rate limit
// accepted.
func (s *Server) PeakRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRequests
}

// MaxInFlight returns the largest number of API and authentication
// requests that the fake handled at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// routes builds the handler. API routes are registered once per region
// prefix, so the same handler code serves every region.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(EndpointTokenExchange, s.endpoint(EndpointTokenExchange, authBasic, s.handleTokenExchange))
	mux.Handle(EndpointRegions, s.endpoint(EndpointRegions, authBearer, s.handleRegions))

	api := []struct {
		endpoint string
		handle   func(w http.ResponseWriter, r *http.Request)
	}{
		{EndpointApps, s.handleApps},
		{EndpointApp, s.handleApp},
		{EndpointContainers, s.handleContainers},
		{EndpointPs, s.handlePs},
		{EndpointScale, s.handleScale},
		{EndpointOperation, s.handleOperation},
		{EndpointChildApps, s.handleChildApps},
		{EndpointReviewApps, s.handleReviewApps},
	}
	for _, route := range api {
		method, path, _ := strings.Cut(route.endpoint, " ")
		mux.Handle(method+" /regions/{region}"+path, s.endpoint(route.endpoint, authBearer, route.handle))
	}

	mux.HandleFunc("/upstream/{region}/{app}", s.handleUpstream)
	mux.HandleFunc("/upstream/{region}/{app}/{path...}", s.handleUpstream)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	})
	return mux
}

type authKind int

const (
	authBasic authKind = iota
	authBearer
)

// endpoint wraps a handler with what every API request goes through, in
// order: counting, injected faults, authentication, the rate limit and the
// region check.
func (s *Server) endpoint(name string, auth authKind, handle func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault := s.enter(name)
		defer s.leave()

		if fault != nil && s.applyFault(w, r, *fault) {
			return
		}

		identity, ok := s.authenticate(w, r, auth)
		if !ok {
			return
		}

		if retryAfter, limited := s.admit(identity); limited {
			w.Header().Set("Retry-After", fmt.Sprint(retryAfter))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, "Retry later")
			return
		}

		if region := r.PathValue("region"); region != "" && !slices.Contains(s.opts.Regions, region) {
			writeJSON(w, http.StatusNotFound, map[string]string{"resource": "region", "error": "not found"})
			return
		}
		handle(w, r)
	})
}

// enter counts a request and takes the next fault queued for its endpoint.
func (s *Server) enter(name string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[name]++
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)

	queue := s.faults[name]
	if len(queue) == 0 {
		return nil
	}
	next := queue[0]
	next.remaining--
	if next.remaining <= 0 {
		s.faults[name] = queue[1:]
	}
	fault := next.fault
	return &fault
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
}

// applyFault carries out a fault and reports whether it wrote the
// response or dropped the connection, so that normal handling must stop.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	if fault.Delay > 0 {
		timer := time.NewTimer(fault.Delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return true
		}
	}

	if fault.Drop {
		hijacker, ok := w.(http.Hijacker)
		if !ok {
			panic("scalingotest: the response writer cannot drop connections")
		}
		conn, _, err := hijacker.Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	}
	if fault.Status == 0 {
		return false
	}

	if fault.RetryAfter != "" {
		w.Header().Set("Retry-After", fault.RetryAfter)
	}
	body := fault.Body
	if body == "" {
		writeJSON(w, fault.Status, map[string]string{"error": http.StatusText(fault.Status)})
		return true
	}
	if body[0] == '{' {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(fault.Status)
	fmt.Fprint(w, body)
	return true
}

// admit records a request of identity in the sliding window, and returns
// the seconds to wait when the rate limit rejects it.
func (s *Server) admit(identity string) (retryAfter int, limited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := time.Now()
	window := s.opts.RateLimitWindow
	times := s.requestTimes[identity]
	inWindow := times[:0]
	for _, t := range times {
		if now.Sub(t) < window {
			inWindow = append(inWindow, t)
		}
	}
	times = inWindow

	if s.opts.RateLimit > 0 && len(times) >= s.opts.RateLimit {
		s.requestTimes[identity] = times
		s.rateLimited++
		wait := window - now.Sub(times[0])
		return max(1, int((wait+time.Second-1)/time.Second)), true
	}

	times = append(times, now)
	s.requestTimes[identity] = times
	s.peakRequests = max(s.peakRequests, len(times))
	return 0, false
}

// errNotFound is returned by lookups for the handlers to map to 404.
var errNotFound = errors.New("not found")
