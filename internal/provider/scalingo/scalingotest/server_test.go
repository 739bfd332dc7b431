package scalingotest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// client sends requests to a fake with a bearer token.
type client struct {
	t      *testing.T
	fake   *scalingotest.Server
	bearer string
}

func newClient(t *testing.T, opts scalingotest.Options) *client {
	t.Helper()
	fake := scalingotest.New(opts)
	t.Cleanup(fake.Close)
	c := &client{t: t, fake: fake}
	status, body := c.exchange(scalingotest.DefaultAPIToken)
	if status != http.StatusOK {
		t.Fatalf("token exchange: %d %s", status, body)
	}
	var token struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &token); err != nil {
		t.Fatal(err)
	}
	c.bearer = token.Token
	return c
}

func (c *client) exchange(apiToken string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPost, c.fake.AuthURL()+"/v1/tokens/exchange", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth("", apiToken)
	res, body := c.send(req)
	return res.StatusCode, body
}

// do sends a request to the default region's API, such as do("GET",
// "/v1/apps", "").
func (c *client) do(method, path, body string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.fake.APIURL("")+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	req.Header.Set("Content-Type", "application/json")
	return c.send(req)
}

func (c *client) send(req *http.Request) (*http.Response, []byte) {
	c.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, body
}

func (c *client) decode(body []byte, into any) {
	c.t.Helper()
	if err := json.Unmarshal(body, into); err != nil {
		c.t.Fatalf("decode %s: %v", body, err)
	}
}

func eventually(t *testing.T, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExchangeRejectsWrongToken(t *testing.T) {
	c := newClient(t, scalingotest.Options{})

	status, body := c.exchange("tk-us-wrong")

	if status != http.StatusUnauthorized {
		t.Errorf("exchange with a wrong token = %d %s, want 401", status, body)
	}
}

func TestBearerExpires(t *testing.T) {
	c := newClient(t, scalingotest.Options{TokenLifetime: 100 * time.Millisecond})

	eventually(t, "the bearer expires", func() bool {
		res, _ := c.do(http.MethodGet, "/v1/apps", "")
		return res.StatusCode == http.StatusUnauthorized
	})
	res, body := c.do(http.MethodGet, "/v1/apps", "")
	if !strings.Contains(string(body), "token expired") {
		t.Errorf("expired bearer = %d %s, want a token expired error", res.StatusCode, body)
	}
}

func TestBearerRevoked(t *testing.T) {
	c := newClient(t, scalingotest.Options{})
	c.fake.RevokeTokens()

	res, body := c.do(http.MethodGet, "/v1/apps", "")

	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "revoked") {
		t.Errorf("revoked bearer = %d %s, want 401 token revoked", res.StatusCode, body)
	}
	if got := c.fake.Unauthorized(); got != 1 {
		t.Errorf("Unauthorized = %d, want 1", got)
	}
}

func TestRegionsPointToRegionAPIs(t *testing.T) {
	c := newClient(t, scalingotest.Options{})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, c.fake.AuthURL()+"/v1/regions", nil)
	req.Header.Set("Authorization", "Bearer "+c.bearer)

	_, body := c.send(req)

	var regions struct {
		Regions []struct {
			Name    string `json:"name"`
			API     string `json:"api"`
			Default bool   `json:"default"`
		} `json:"regions"`
	}
	c.decode(body, &regions)
	if len(regions.Regions) != 2 {
		t.Fatalf("regions = %s, want two", body)
	}
	first := regions.Regions[0]
	if first.Name != "osc-fr1" || first.API != c.fake.APIURL("osc-fr1") || !first.Default {
		t.Errorf("first region = %+v, want the default osc-fr1 at %s", first, c.fake.APIURL("osc-fr1"))
	}
}

func TestScaleOperationLifecycle(t *testing.T) {
	c := newClient(t, scalingotest.Options{OperationDelay: 300 * time.Millisecond})
	c.fake.AddApp(scalingotest.App{Name: "lifecycle-app", Formation: "web:0,worker:0"})

	res, body := c.do(http.MethodPost, "/v1/apps/lifecycle-app/scale", `{"containers":[{"name":"web","amount":2}]}`)

	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("scale = %d %s, want 202", res.StatusCode, body)
	}
	location := res.Header.Get("Location")
	wantPrefix := c.fake.APIURL("") + "/v1/apps/lifecycle-app/operations/"
	if !strings.HasPrefix(location, wantPrefix) {
		t.Fatalf("Location = %q, want it under %q", location, wantPrefix)
	}
	operationPath := strings.TrimPrefix(location, c.fake.APIURL(""))

	var ps struct {
		Containers []struct {
			Type  string `json:"type"`
			State string `json:"state"`
		} `json:"containers"`
	}
	_, body = c.do(http.MethodGet, "/v1/apps/lifecycle-app/ps", "")
	c.decode(body, &ps)
	if len(ps.Containers) != 2 || ps.Containers[0].State != "booting" {
		t.Errorf("ps during the operation = %s, want two booting web containers", body)
	}
	if got := c.fake.Status("", "lifecycle-app"); got != "scaling" {
		t.Errorf("status during the operation = %q, want scaling", got)
	}

	seen := map[string]bool{}
	eventually(t, "the operation is done", func() bool {
		var op struct {
			Operation struct {
				Status string `json:"status"`
			} `json:"operation"`
		}
		_, body := c.do(http.MethodGet, operationPath, "")
		c.decode(body, &op)
		seen[op.Operation.Status] = true
		return op.Operation.Status == "done"
	})
	for _, status := range []string{"pending", "running", "done"} {
		if !seen[status] {
			t.Errorf("operation statuses seen = %v, want %q among them", seen, status)
		}
	}
	if got := c.fake.Formation("", "lifecycle-app"); got != "web:2,worker:0" {
		t.Errorf("formation = %q, want web:2,worker:0", got)
	}
	if got := c.fake.Status("", "lifecycle-app"); got != "running" {
		t.Errorf("status = %q, want running", got)
	}
}

func TestScaleRejections(t *testing.T) {
	tests := []struct {
		name       string
		opts       scalingotest.Options
		busy       bool
		body       string
		wantStatus int
		wantBody   string
	}{
		{"busy app with 422", scalingotest.Options{}, true, `{"containers":[{"name":"web","amount":1}]}`, 422, `"errors":{"app":["an operation is already in progress`},
		{"busy app with 409", scalingotest.Options{BusyStatus: 409}, true, `{"containers":[{"name":"web","amount":1}]}`, 409, `"error":"an operation is already in progress`},
		{"unknown process type", scalingotest.Options{}, false, `{"containers":[{"name":"clock","amount":1}]}`, 404, `"resource":"container_type"`},
		{"too many containers", scalingotest.Options{}, false, `{"containers":[{"name":"web","amount":11}]}`, 422, `"amount":["must be between 0 and 10"]`},
		{"invalid JSON", scalingotest.Options{}, false, `{"containers":`, 400, "There was a problem in the JSON you submitted"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			c := newClient(t, test.opts)
			c.fake.AddApp(scalingotest.App{Name: "picky-app"})
			if test.busy {
				if err := c.fake.BeginScale("", "picky-app", "web:2", time.Hour); err != nil {
					t.Fatal(err)
				}
			}

			res, body := c.do(http.MethodPost, "/v1/apps/picky-app/scale", test.body)

			if res.StatusCode != test.wantStatus || !strings.Contains(string(body), test.wantBody) {
				t.Errorf("scale = %d %s, want %d with %s", res.StatusCode, body, test.wantStatus, test.wantBody)
			}
		})
	}
}

func TestFailedOperationKeepsFormation(t *testing.T) {
	c := newClient(t, scalingotest.Options{})
	c.fake.AddApp(scalingotest.App{Name: "doomed-app", Formation: "web:0"})
	c.fake.FailNextOperation("", "doomed-app", "container web-1 failed to start")

	res, _ := c.do(http.MethodPost, "/v1/apps/doomed-app/scale", `{"containers":[{"name":"web","amount":1}]}`)
	_, body := c.do(http.MethodGet, strings.TrimPrefix(res.Header.Get("Location"), c.fake.APIURL("")), "")

	if !strings.Contains(string(body), `"status":"error"`) || !strings.Contains(string(body), "container web-1 failed to start") {
		t.Errorf("operation = %s, want status error with the message", body)
	}
	if got := c.fake.Formation("", "doomed-app"); got != "web:0" {
		t.Errorf("formation = %q, want web:0", got)
	}
}

func TestUnknownAppBody(t *testing.T) {
	c := newClient(t, scalingotest.Options{})

	res, body := c.do(http.MethodGet, "/v1/apps/ghost-app/containers", "")

	if res.StatusCode != http.StatusNotFound || strings.TrimSpace(string(body)) != `{"error":"not found","resource":"app"}` {
		t.Errorf("unknown app = %d %s, want 404 with the documented body", res.StatusCode, body)
	}
}

func TestRateLimitRespondsPlainText(t *testing.T) {
	c := newClient(t, scalingotest.Options{RateLimit: 3, RateLimitWindow: time.Minute})

	// The token exchange was the first request of the window.
	c.do(http.MethodGet, "/v1/apps", "")
	c.do(http.MethodGet, "/v1/apps", "")
	res, body := c.do(http.MethodGet, "/v1/apps", "")

	if res.StatusCode != http.StatusTooManyRequests || string(body) != "Retry later" {
		t.Errorf("fourth request = %d %q, want 429 Retry later", res.StatusCode, body)
	}
	if got := res.Header.Get("Retry-After"); got == "" || got == "0" {
		t.Errorf("Retry-After = %q, want a number of seconds", got)
	}
	if got := c.fake.PeakRequests(); got != 3 {
		t.Errorf("PeakRequests = %d, want 3", got)
	}
	if got := c.fake.RateLimited(); got != 1 {
		t.Errorf("RateLimited = %d, want 1", got)
	}
}

func TestFailNext(t *testing.T) {
	c := newClient(t, scalingotest.Options{})
	c.fake.FailNext(scalingotest.EndpointApps, 2, scalingotest.Fault{Status: 503, Body: "upstream failure", RetryAfter: "2"})

	for i := range 2 {
		res, body := c.do(http.MethodGet, "/v1/apps", "")
		if res.StatusCode != 503 || string(body) != "upstream failure" || res.Header.Get("Retry-After") != "2" {
			t.Errorf("request %d = %d %q, want the injected 503", i+1, res.StatusCode, body)
		}
	}
	res, _ := c.do(http.MethodGet, "/v1/apps", "")
	if res.StatusCode != http.StatusOK {
		t.Errorf("third request = %d, want 200 once the faults are used", res.StatusCode)
	}
	if got := c.fake.Calls(scalingotest.EndpointApps); got != 3 {
		t.Errorf("Calls = %d, want 3", got)
	}
}

func TestFailNextDropsConnection(t *testing.T) {
	c := newClient(t, scalingotest.Options{})
	c.fake.FailNext(scalingotest.EndpointApps, 1, scalingotest.Fault{Drop: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, c.fake.APIURL("")+"/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	// A client without idle connections, so that net/http does not send
	// the request again on its own.
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()

	res, err := (&http.Client{Transport: transport}).Do(req)

	if err == nil {
		res.Body.Close()
		t.Errorf("request got %d, want a dropped connection", res.StatusCode)
	}
}

func TestUpstreamServesWhileRunning(t *testing.T) {
	c := newClient(t, scalingotest.Options{})
	c.fake.AddApp(scalingotest.App{Name: "hello-app", Formation: "web:0", Body: "hello there"})
	get := func() (*http.Response, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, c.fake.UpstreamURL("", "hello-app")+"/some/page", nil)
		return c.send(req)
	}

	res, body := get()
	if res.StatusCode != http.StatusServiceUnavailable || c.fake.Running("", "hello-app") {
		t.Errorf("stopped app upstream = %d %q, want 503", res.StatusCode, body)
	}

	if err := c.fake.BeginScale("", "hello-app", "web:1", 0); err != nil {
		t.Fatal(err)
	}
	res, body = get()
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "hello there" {
		t.Errorf("running app upstream = %d %q, want 200 hello there", res.StatusCode, body)
	}
	if got := res.Header.Get("X-Upstream-Path"); got != "/some/page" {
		t.Errorf("X-Upstream-Path = %q, want /some/page", got)
	}
}

func TestChildAndReviewApps(t *testing.T) {
	c := newClient(t, scalingotest.Options{OmitParentInListing: true})
	c.fake.AddApps(
		scalingotest.App{Name: "parent-app"},
		scalingotest.App{Name: "parent-app-pr7", Parent: "parent-app"},
		scalingotest.App{Name: "lonely-app"},
	)

	_, body := c.do(http.MethodGet, "/v1/apps", "")
	if strings.Contains(string(body), "parent_app_name") {
		t.Errorf("listing = %s, want no parent_app_name with OmitParentInListing", body)
	}

	_, body = c.do(http.MethodGet, "/v1/apps/parent-app/child_apps", "")
	if !strings.Contains(string(body), `"name":"parent-app-pr7"`) || !strings.Contains(string(body), `"parent_app_name":"parent-app"`) {
		t.Errorf("child apps = %s, want parent-app-pr7 with its parent", body)
	}

	_, body = c.do(http.MethodGet, "/v1/apps/parent-app/scm_repo_link/review_apps", "")
	if !strings.Contains(string(body), `"app_name":"parent-app-pr7"`) {
		t.Errorf("review apps = %s, want parent-app-pr7", body)
	}
	res, _ := c.do(http.MethodGet, "/v1/apps/lonely-app/scm_repo_link/review_apps", "")
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("review apps of an app without children = %d, want 404", res.StatusCode)
	}
}

func TestAddAppRejectsInvalidSeed(t *testing.T) {
	fake := scalingotest.New(scalingotest.Options{})
	t.Cleanup(fake.Close)
	tests := []struct {
		name string
		seed scalingotest.App
	}{
		{"unknown region", scalingotest.App{Name: "a-app", Region: "osc-us1"}},
		{"bad formation", scalingotest.App{Name: "b-app", Formation: "web=1"}},
		{"bad status", scalingotest.App{Name: "c-app", Status: "sleeping"}},
		{"no name", scalingotest.App{}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if _, err := fake.LoadApps([]scalingotest.App{test.seed}); err == nil {
				t.Errorf("LoadApps(%+v) succeeded, want an error", test.seed)
			}
		})
	}
}
