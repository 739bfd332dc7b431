package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/api"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/metrics"
	"github.com/paastis/paastis/internal/registry/memory"
)

const adminToken = "s3cret-admin-token"

// adminWorld is an admin listener over an engine with three apps: blog
// (running), shop (stopped) and legacy (running, ignored).
type adminWorld struct {
	url      string
	admin    *api.Admin
	engine   *engine.Engine
	provider *fakeProvider
}

func newAdminWorld(t *testing.T, token string, opts engineOptions) *adminWorld {
	t.Helper()
	provider := newFakeProvider(t)
	provider.add(t, "blog", engine.StateRunning)
	provider.add(t, "shop", engine.StateStopped)
	provider.add(t, "legacy", engine.StateRunning)
	opts.ignored = append(opts.ignored, "legacy")
	e := newEngine(t, provider, opts)
	m := metrics.New(metrics.Options{Version: "test"})
	t.Cleanup(m.ObserveEngine(e))
	server, admin := newAdminServer(t, api.AdminOptions{
		Engine:    e,
		Token:     token,
		Metrics:   m.Handler(),
		StartWait: 5 * time.Second,
		Version:   "test",
	})
	return &adminWorld{url: server.URL, admin: admin, engine: e, provider: provider}
}

func TestAdminTokenCheck(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		want   int
	}{
		{"apps without token", http.MethodGet, "/api/apps", nil, http.StatusUnauthorized},
		{"apps with a wrong token", http.MethodGet, "/api/apps", bearer("wrong"), http.StatusUnauthorized},
		{"apps with a token prefix", http.MethodGet, "/api/apps", bearer(adminToken[:4]), http.StatusUnauthorized},
		{"apps with the token in another scheme", http.MethodGet, "/api/apps", http.Header{"Authorization": {"Basic " + adminToken}}, http.StatusUnauthorized},
		{"apps with the token", http.MethodGet, "/api/apps", bearer(adminToken), http.StatusOK},
		{"bearer scheme in lowercase", http.MethodGet, "/api/apps", http.Header{"Authorization": {"bearer " + adminToken}}, http.StatusOK},
		{"stop without token", http.MethodPost, "/api/apps/blog/stop", nil, http.StatusUnauthorized},
		{"events without token", http.MethodGet, "/api/events", nil, http.StatusUnauthorized},
		{"event stream without token", http.MethodGet, "/api/events/stream", nil, http.StatusUnauthorized},
		{"metrics without token", http.MethodGet, "/metrics", nil, http.StatusUnauthorized},
		{"metrics with the token", http.MethodGet, "/metrics", bearer(adminToken), http.StatusOK},
		{"healthz without token", http.MethodGet, "/healthz", nil, http.StatusOK},
		{"readyz without token", http.MethodGet, "/readyz", nil, http.StatusOK},
		{"openapi without token", http.MethodGet, "/api/openapi.yaml", nil, http.StatusOK},
		{"login form without token", http.MethodGet, "/login", nil, http.StatusOK},
		{"dashboard without token", http.MethodGet, "/", nil, http.StatusSeeOther},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, test.method, w.url+test.path, test.header, nil)

			if resp.status != test.want {
				t.Fatalf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
			if test.want == http.StatusUnauthorized {
				if !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q, expected Bearer", resp.header.Get("WWW-Authenticate"))
				}
				errorMessage(t, resp)
			}
		})
	}
	if h, _ := w.engine.Lookup("blog"); h.State() != engine.StateRunning {
		t.Errorf("blog is %s after unauthenticated requests, expected running", h.State())
	}
}

func TestAdminListAndGetApps(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})

	list := do(t, http.MethodGet, w.url+"/api/apps?verbose=1", bearer(adminToken), nil)
	if list.status != http.StatusOK {
		t.Fatalf("GET /api/apps = %d: %s", list.status, list.body)
	}
	apps := decode[struct {
		Apps []map[string]any `json:"apps"`
	}](t, list).Apps
	if len(apps) != 3 || apps[0]["name"] != "blog" || apps[1]["name"] != "legacy" || apps[2]["name"] != "shop" {
		t.Fatalf("apps = %v, expected blog, legacy, shop", apps)
	}

	tests := []struct {
		name   string
		path   string
		want   int
		status string
	}{
		{"running app", "/api/apps/blog", http.StatusOK, "running"},
		{"stopped app", "/api/apps/shop", http.StatusOK, "stopped"},
		{"unknown app", "/api/apps/nope", http.StatusNotFound, ""},
		{"unknown app with a dot", "/api/apps/no.pe", http.StatusNotFound, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, w.url+test.path, bearer(adminToken), nil)

			if resp.status != test.want {
				t.Fatalf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
			if test.want != http.StatusOK {
				if message := errorMessage(t, resp); !strings.Contains(message, "not found") {
					t.Errorf("error %q does not say not found", message)
				}
				return
			}
			if app := decode[map[string]any](t, resp); app["status"] != test.status {
				t.Errorf("status field = %v, expected %s", app["status"], test.status)
			}
		})
	}
}

func TestAdminStartAndStop(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		setup  func(p *fakeProvider)
		want   int
		state  engine.State
		errors bool
	}{
		{name: "start a stopped app", path: "/api/apps/shop/start", want: http.StatusOK, state: engine.StateRunning},
		{name: "start a running app", path: "/api/apps/blog/start", want: http.StatusOK, state: engine.StateRunning},
		{name: "start an ignored app", path: "/api/apps/legacy/start", want: http.StatusOK, state: engine.StateRunning},
		{name: "start an unknown app", path: "/api/apps/nope/start", want: http.StatusNotFound},
		{
			name: "start that fails", path: "/api/apps/shop/start", want: http.StatusBadGateway, state: engine.StateFailed, errors: true,
			setup: func(p *fakeProvider) { p.startErr = errors.New("quota exceeded") },
		},
		{name: "stop a running app", path: "/api/apps/blog/stop", want: http.StatusOK, state: engine.StateStopped},
		{name: "stop a stopped app", path: "/api/apps/shop/stop", want: http.StatusOK, state: engine.StateStopped},
		{name: "stop an ignored app", path: "/api/apps/legacy/stop", want: http.StatusConflict, state: engine.StateRunning, errors: true},
		{name: "stop an unknown app", path: "/api/apps/nope/stop", want: http.StatusNotFound},
		{
			name: "stop that fails", path: "/api/apps/blog/stop", want: http.StatusBadGateway, state: engine.StateRunning, errors: true,
			setup: func(p *fakeProvider) { p.stopErr = errors.New("api down") },
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			w := newAdminWorld(t, adminToken, engineOptions{})
			if test.setup != nil {
				w.provider.set(test.setup)
			}

			resp := do(t, http.MethodPost, w.url+test.path, bearer(adminToken), nil)

			if resp.status != test.want {
				t.Fatalf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
			if test.want == http.StatusNotFound {
				errorMessage(t, resp)
				return
			}
			result := decode[struct {
				App   map[string]any `json:"app"`
				Error string         `json:"error"`
			}](t, resp)
			if result.App["status"] != string(test.state) {
				t.Errorf("app status = %v, expected %s", result.App["status"], test.state)
			}
			if test.errors != (result.Error != "") {
				t.Errorf("error = %q, expected one: %v", result.Error, test.errors)
			}
		})
	}
}

func TestAdminStartAnswers202WhileStarting(t *testing.T) {
	provider := newFakeProvider(t)
	provider.add(t, "slow", engine.StateStopped)
	hold := make(chan struct{})
	provider.set(func(p *fakeProvider) { p.hold = hold })
	e := newEngine(t, provider, engineOptions{})
	server, _ := newAdminServer(t, api.AdminOptions{Engine: e, Token: adminToken, StartWait: 50 * time.Millisecond})

	resp := do(t, http.MethodPost, server.URL+"/api/apps/slow/start", bearer(adminToken), nil)

	if resp.status != http.StatusAccepted {
		t.Fatalf("status = %d, expected 202: %s", resp.status, resp.body)
	}
	if app := decode[map[string]map[string]any](t, resp)["app"]; app["status"] != "starting" {
		t.Errorf("status = %v, expected starting", app["status"])
	}
	close(hold)
	h, _ := e.Lookup("slow")
	eventually(t, "the start goes on after the response", func() bool { return h.State() == engine.StateRunning })
}

func TestAdminEvents(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})
	transitions(t, w.engine, w.provider)

	resp := do(t, http.MethodGet, w.url+"/api/events", bearer(adminToken), nil)

	if resp.status != http.StatusOK {
		t.Fatalf("status = %d: %s", resp.status, resp.body)
	}
	events := decode[struct {
		Events []map[string]any `json:"events"`
	}](t, resp).Events
	checkTransitions(t, events)

	for _, limit := range []string{"0", "1001", "ten", "-1"} {
		bad := do(t, http.MethodGet, w.url+"/api/events?limit="+limit, bearer(adminToken), nil)
		if bad.status != http.StatusBadRequest {
			t.Errorf("limit=%s: status = %d, expected 400", limit, bad.status)
		}
	}
}

func TestAdminHealthAndReadiness(t *testing.T) {
	t.Run("healthy registry", func(t *testing.T) {
		w := newAdminWorld(t, adminToken, engineOptions{})

		health := do(t, http.MethodGet, w.url+"/healthz", nil, nil)
		ready := do(t, http.MethodGet, w.url+"/readyz", nil, nil)

		if health.status != http.StatusOK || decode[map[string]string](t, health)["status"] != "ok" {
			t.Errorf("/healthz = %d %s, expected 200 ok", health.status, health.body)
		}
		body := decode[map[string]any](t, ready)
		if ready.status != http.StatusOK || body["status"] != "ready" {
			t.Errorf("/readyz = %d %s, expected 200 ready", ready.status, ready.body)
		}
		checks, _ := body["checks"].(map[string]any)
		if checks["registry"] != "ok" || checks["provider:fake"] != "not checked" {
			t.Errorf("checks = %v, expected the registry ok and the fake provider not checked", checks)
		}
	})
	t.Run("broken registry", func(t *testing.T) {
		w := newAdminWorld(t, adminToken, engineOptions{registry: brokenRegistry{memory.New()}})

		health := do(t, http.MethodGet, w.url+"/healthz", nil, nil)
		ready := do(t, http.MethodGet, w.url+"/readyz", nil, nil)

		if health.status != http.StatusOK {
			t.Errorf("/healthz = %d, expected 200 while the process is up", health.status)
		}
		if ready.status != http.StatusServiceUnavailable {
			t.Errorf("/readyz = %d, expected 503", ready.status)
		}
		if strings.Contains(string(ready.body), "connection refused") {
			t.Errorf("/readyz shows the error details without authentication: %s", ready.body)
		}
	})
}

func TestAdminUnknownRoutes(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})
	tests := []struct {
		name   string
		method string
		path   string
		want   int
		allow  string
	}{
		{"unknown API path", http.MethodGet, "/api/nope", http.StatusNotFound, ""},
		{"unknown page", http.MethodGet, "/settings", http.StatusNotFound, ""},
		{"GET on an action", http.MethodGet, "/api/apps/blog/stop", http.StatusMethodNotAllowed, "POST"},
		{"DELETE on the apps", http.MethodDelete, "/api/apps", http.StatusMethodNotAllowed, "GET, HEAD"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, test.method, w.url+test.path, bearer(adminToken), nil)

			if resp.status != test.want {
				t.Fatalf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
			errorMessage(t, resp)
			if got := resp.header.Get("Allow"); got != test.allow {
				t.Errorf("Allow = %q, expected %q", got, test.allow)
			}
		})
	}
}

func TestAdminWithoutTokenServesLoopbackHostsOnly(t *testing.T) {
	w := newAdminWorld(t, "", engineOptions{})
	port := strings.TrimPrefix(w.url, "http://127.0.0.1")
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1" + port, http.StatusOK},
		{"localhost" + port, http.StatusOK},
		{"[::1]" + port, http.StatusOK},
		{"localhost", http.StatusOK},
		{"rebind.example.com" + port, http.StatusMisdirectedRequest},
		{"10.0.0.1" + port, http.StatusMisdirectedRequest},
	}
	for _, test := range tests {
		t.Run(test.host, func(t *testing.T) {
			resp := do(t, http.MethodGet, w.url+"/api/apps", http.Header{"Host": {test.host}}, nil)

			if resp.status != test.want {
				t.Errorf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
		})
	}

	page := do(t, http.MethodGet, w.url+"/", nil, nil)
	if page.status != http.StatusOK {
		t.Errorf("dashboard without token = %d, expected 200", page.status)
	}
	if strings.Contains(string(page.body), `action="/logout"`) {
		t.Error("the dashboard shows a sign-out button without a token")
	}
	if login := do(t, http.MethodGet, w.url+"/login", nil, nil); login.status != http.StatusSeeOther {
		t.Errorf("login form without token = %d, expected a redirect to the dashboard", login.status)
	}
}

func TestAdminRejectsCrossOriginPosts(t *testing.T) {
	w := newAdminWorld(t, "", engineOptions{})
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"cross-site fetch", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"other origin", http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"same origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {w.url}}, http.StatusOK},
		{"no browser headers", nil, http.StatusOK},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, http.MethodPost, w.url+"/api/apps/blog/stop", test.header, nil)

			if resp.status != test.want {
				t.Fatalf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
		})
	}
}

func TestAdminEventStream(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.url+"/api/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q, expected text/event-stream", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	// The stream is open once its first line, the retry delay, arrives.
	if !lines.Scan() || lines.Text() != "retry: 3000" {
		t.Fatalf("first line = %q, expected the retry delay", lines.Text())
	}

	if err := w.engine.Stop(t.Context(), "blog"); err != nil {
		t.Fatal(err)
	}

	var event map[string]any
	for lines.Scan() {
		data, found := strings.CutPrefix(lines.Text(), "data: ")
		if !found {
			continue
		}
		if err := json.Unmarshal([]byte(data), &event); err != nil {
			t.Fatalf("data %q is not JSON: %v", data, err)
		}
		break
	}
	if event["type"] != "stopped" || event["app"] != "blog" {
		t.Fatalf("event = %v, expected blog stopped", event)
	}

	// Close ends the stream, as the server's shutdown does.
	w.admin.Close()
	for lines.Scan() {
	}
	if ctx.Err() != nil {
		t.Fatal("the stream did not end after Close")
	}
	if after := do(t, http.MethodGet, w.url+"/api/events/stream", bearer(adminToken), nil); after.status != http.StatusServiceUnavailable {
		t.Errorf("stream after Close = %d, expected 503", after.status)
	}
}

func TestAdminMetricsEndpoint(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})
	if err := w.engine.Start(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}

	resp := do(t, http.MethodGet, w.url+"/metrics", bearer(adminToken), nil)

	for _, line := range []string{`paastis_wakes_total{app="shop",provider="fake"} 1`, `paastis_apps{provider="fake",state="running"} 3`} {
		if !strings.Contains(string(resp.body), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func TestAdminWithoutMetricsAnswers404(t *testing.T) {
	provider := newFakeProvider(t)
	e := newEngine(t, provider, engineOptions{})
	server, _ := newAdminServer(t, api.AdminOptions{Engine: e})

	resp := do(t, http.MethodGet, server.URL+"/metrics", nil, nil)

	if resp.status != http.StatusNotFound {
		t.Errorf("status = %d, expected 404", resp.status)
	}
}

// login signs in through the form and returns the session cookie.
func login(t *testing.T, base, token string) (response, *http.Cookie) {
	t.Helper()
	form := url.Values{"token": {token}}
	resp := do(t, http.MethodPost, base+"/login", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
	for _, cookie := range (&http.Response{Header: resp.header}).Cookies() {
		if cookie.Name == "paastis_session" {
			return resp, cookie
		}
	}
	return resp, nil
}
