package clevercloudtest

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"github.com/paastis/paastis/internal/testwait"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
)

const testOrg = "orga_11111111-1111-4111-8111-111111111111"

// sha512Signer signs with HMAC-SHA512 for these tests; oauth1 has none.
type sha512Signer struct{ consumerSecret string }

func (s sha512Signer) Name() string { return "HMAC-SHA512" }

func (s sha512Signer) Sign(tokenSecret, message string) (string, error) {
	mac := hmac.New(sha512.New, []byte(oauth1.PercentEncode(s.consumerSecret)+"&"+oauth1.PercentEncode(tokenSecret)))
	mac.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// signingClient returns an HTTP client that signs with the default
// credentials, or with consumerSecret when it is not empty. Each request
// uses a new connection, so that net/http never resends a request whose
// connection the fake dropped.
func signingClient(t *testing.T, consumerSecret string) *http.Client {
	t.Helper()
	if consumerSecret == "" {
		consumerSecret = DefaultConsumerSecret
	}
	config := oauth1.NewConfig(DefaultConsumerKey, consumerSecret)
	config.Signer = sha512Signer{consumerSecret: consumerSecret}
	base := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, base)
	client := config.Client(ctx, oauth1.NewToken(DefaultToken, DefaultTokenSecret))
	client.Timeout = 5 * time.Second
	return client
}

// call sends a request and returns the status, the headers and the body.
func call(t *testing.T, client *http.Client, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s %s: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, body
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Listen(opts)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestServerAuthentication(t *testing.T) {
	s := newTestServer(t, Options{})

	status, _, body := call(t, signingClient(t, ""), http.MethodGet, s.URL+"/v2/summary")
	if status != http.StatusOK {
		t.Fatalf("signed request: status %d, body %s", status, body)
	}

	status, _, body = call(t, signingClient(t, "wrong-secret"), http.MethodGet, s.URL+"/v2/summary")
	if status != http.StatusUnauthorized {
		t.Fatalf("request signed with a wrong secret: status %d, want 401", status)
	}
	e := decode[errorJSON](t, body)
	if e.Type != "error" || e.Message != "invalid OAuth signature" {
		t.Errorf("error body = %+v, want type error and message %q", e, "invalid OAuth signature")
	}

	status, _, _ = call(t, http.DefaultClient, http.MethodGet, s.URL+"/v2/summary")
	if status != http.StatusUnauthorized {
		t.Errorf("unsigned request: status %d, want 401", status)
	}
	if got := s.AuthFailures(); got != 2 {
		t.Errorf("AuthFailures = %d, want 2", got)
	}
	if got := s.Calls(EndpointSummary); got != 3 {
		t.Errorf("Calls(EndpointSummary) = %d, want 3", got)
	}
}

// headerRecorder keeps the Authorization header of the last request.
type headerRecorder struct{ header string }

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.header = r.Header.Get("Authorization")
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
}

func TestServerRejectsReplayedNonce(t *testing.T) {
	s := newTestServer(t, Options{})

	recorder := &headerRecorder{}
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: recorder})
	config := oauth1.NewConfig(DefaultConsumerKey, DefaultConsumerSecret)
	signer := config.Client(ctx, oauth1.NewToken(DefaultToken, DefaultTokenSecret))
	if _, err := signer.Get(s.URL + "/v2/summary"); err != nil {
		t.Fatalf("signing: %v", err)
	}

	send := func() (int, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v2/summary", nil)
		req.Header.Set("Authorization", recorder.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET summary: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if status, body := send(); status != http.StatusOK {
		t.Fatalf("first use of the signature: status %d, body %s", status, body)
	}
	status, body := send()
	if status != http.StatusUnauthorized {
		t.Fatalf("replayed signature: status %d, want 401", status)
	}
	if e := decode[errorJSON](t, body); !strings.Contains(e.Message, "already used") {
		t.Errorf("replay message = %q, want it to mention the used nonce", e.Message)
	}
}

func TestServerListsOwnersAndApps(t *testing.T) {
	s := newTestServer(t, Options{
		Organisations: []OrganisationSeed{{ID: testOrg, Name: "Acme"}},
		Apps: []AppSeed{
			{ID: "app_00000000-0000-4000-8000-00000000000a", Name: "Mine", VHosts: []string{"mine.example.com/"}},
			{ID: "app_00000000-0000-4000-8000-00000000000b", Name: "Theirs", OwnerID: testOrg, Zone: "mtl", Running: true},
		},
	})
	client := signingClient(t, "")

	_, _, body := call(t, client, http.MethodGet, s.URL+"/v2/summary")
	summary := decode[summaryJSON](t, body)
	if summary.User.ID != DefaultUserID || len(summary.User.Applications) != 1 || summary.User.Applications[0].Name != "Mine" {
		t.Errorf("summary user = %+v, want the default user with app Mine", summary.User)
	}
	if len(summary.Organisations) != 1 || summary.Organisations[0].ID != testOrg || len(summary.Organisations[0].Applications) != 1 {
		t.Errorf("summary organisations = %+v, want Acme with one app", summary.Organisations)
	}

	_, _, body = call(t, client, http.MethodGet, s.URL+"/v2/self/applications")
	mine := decode[[]appJSON](t, body)
	if len(mine) != 1 || mine[0].OwnerID != DefaultUserID || mine[0].State != AppShouldBeDown {
		t.Fatalf("personal apps = %+v, want one stopped app owned by the user", mine)
	}
	if got := mine[0].VHosts; len(got) != 1 || got[0].FQDN != "mine.example.com/" {
		t.Errorf("personal app vhosts = %+v, want the seeded one", got)
	}

	_, _, body = call(t, client, http.MethodGet, s.URL+"/v2/organisations/"+testOrg+"/applications")
	theirs := decode[[]appJSON](t, body)
	if len(theirs) != 1 || theirs[0].Zone != "mtl" || theirs[0].State != AppShouldBeUp {
		t.Fatalf("organisation apps = %+v, want one running app in mtl", theirs)
	}
	if !strings.HasPrefix(theirs[0].VHosts[0].FQDN, "127.0.0.1:") || theirs[0].VHosts[1].FQDN != "app-00000000-0000-4000-8000-00000000000b.cleverapps.io/" {
		t.Errorf("organisation app vhosts = %+v, want the fake's upstream then the cleverapps.io default", theirs[0].VHosts)
	}
	if !strings.HasPrefix(theirs[0].Deployment.HTTPURL, "https://push-") {
		t.Errorf("deployment.httpUrl = %q, want a git push URL", theirs[0].Deployment.HTTPURL)
	}

	status, _, _ := call(t, client, http.MethodGet, s.URL+"/v2/organisations/orga_unknown/applications")
	if status != http.StatusNotFound {
		t.Errorf("unknown organisation: status %d, want 404", status)
	}
	status, _, body = call(t, client, http.MethodGet, s.URL+"/v2/self/applications/app_00000000-0000-4000-8000-00000000000b/instances")
	if status != http.StatusNotFound {
		t.Errorf("organisation app through /self: status %d, want 404", status)
	}
	if e := decode[errorJSON](t, body); e.Type != "error" || e.Message == "" {
		t.Errorf("404 body = %+v, want a Clever error body", e)
	}
}

func TestServerRedeployLifecycle(t *testing.T) {
	const appID = "app_00000000-0000-4000-8000-000000000001"
	s := newTestServer(t, Options{
		OperationDelay: 300 * time.Millisecond,
		Apps:           []AppSeed{{ID: appID, Name: "Web", Response: "web answer\n"}},
	})
	client := signingClient(t, "")
	appURL := s.URL + "/v2/self/applications/" + appID

	status, _, body := call(t, http.DefaultClient, http.MethodGet, s.UpstreamURL(appID))
	if status != http.StatusServiceUnavailable || string(body) != "app is stopped\n" {
		t.Fatalf("upstream of a stopped app: status %d, body %q", status, body)
	}

	status, _, body = call(t, client, http.MethodPost, appURL+"/instances")
	if status != http.StatusOK {
		t.Fatalf("redeploy: status %d, body %s", status, body)
	}
	deploymentID := decode[redeployJSON](t, body).DeploymentID
	if deploymentID == "" {
		t.Fatal("redeploy returned no deploymentId")
	}
	if got := s.AppState(appID); got != AppWantsToBeUp {
		t.Errorf("app state during the deploy = %q, want %q", got, AppWantsToBeUp)
	}

	_, _, body = call(t, client, http.MethodGet, appURL+"/deployments/"+deploymentID)
	if d := decode[deploymentJSON](t, body); d.State != DeploymentWIP || d.Action != ActionDeploy {
		t.Errorf("deployment right after the redeploy = %+v, want WIP DEPLOY", d)
	}
	seen := map[string]bool{}
	testwait.Until(t, 5*time.Second, "the deployment to be OK", func() bool {
		for _, state := range s.InstanceStates(appID) {
			seen[state] = true
		}
		_, _, body := call(t, client, http.MethodGet, appURL+"/deployments/"+deploymentID)
		return decode[deploymentJSON](t, body).State == DeploymentOK
	})
	if !seen[InstanceBooting] {
		t.Errorf("instance states seen = %v, want BOOTING among them", seen)
	}

	_, _, body = call(t, client, http.MethodGet, appURL+"/instances")
	if instances := decode[[]instanceJSON](t, body); len(instances) != 1 || instances[0].State != InstanceUp {
		t.Errorf("instances after the deploy = %+v, want one UP", instances)
	}
	if !s.Running(appID) || s.AppState(appID) != AppShouldBeUp {
		t.Errorf("Running = %v, AppState = %q, want true and SHOULD_BE_UP", s.Running(appID), s.AppState(appID))
	}
	status, header, body := call(t, http.DefaultClient, http.MethodGet, s.UpstreamURL(appID))
	if status != http.StatusOK || string(body) != "web answer\n" || header.Get("X-Clever-App") != appID {
		t.Errorf("upstream of a running app: status %d, body %q, X-Clever-App %q", status, body, header.Get("X-Clever-App"))
	}

	_, _, body = call(t, client, http.MethodGet, appURL+"/deployments?limit=1")
	if list := decode[[]deploymentJSON](t, body); len(list) != 1 || list[0].UUID != deploymentID {
		t.Errorf("deployments?limit=1 = %+v, want the newest deployment only", list)
	}
}

func TestServerUndeploy(t *testing.T) {
	const appID = "app_00000000-0000-4000-8000-000000000002"
	s := newTestServer(t, Options{
		OperationDelay: 200 * time.Millisecond,
		Apps:           []AppSeed{{ID: appID, Name: "Web", Running: true}},
	})
	client := signingClient(t, "")

	status, _, body := call(t, client, http.MethodDelete, s.URL+"/v2/self/applications/"+appID+"/instances")
	if status != http.StatusOK {
		t.Fatalf("undeploy: status %d, body %s", status, body)
	}
	if got := s.InstanceStates(appID); !slices.Equal(got, []string{InstanceStopping}) {
		t.Errorf("instances right after the undeploy = %v, want [STOPPING]", got)
	}
	if s.Running(appID) {
		t.Error("Running = true while the instance stops")
	}
	testwait.Until(t, 5*time.Second, "the instances to be gone", func() bool {
		return len(s.InstanceStates(appID)) == 0
	})
	if got := s.AppState(appID); got != AppShouldBeDown {
		t.Errorf("app state after the undeploy = %q, want %q", got, AppShouldBeDown)
	}
	status, _, _ = call(t, http.DefaultClient, http.MethodGet, s.UpstreamURL(appID))
	if status != http.StatusServiceUnavailable {
		t.Errorf("upstream after the undeploy: status %d, want 503", status)
	}
}

func TestServerFailNextDeployment(t *testing.T) {
	const appID = "app_00000000-0000-4000-8000-000000000003"
	s := newTestServer(t, Options{Apps: []AppSeed{{ID: appID, Name: "Web"}}})
	if err := s.FailNextDeployment(appID, "build failed: npm install exited with 1"); err != nil {
		t.Fatalf("FailNextDeployment: %v", err)
	}
	client := signingClient(t, "")

	_, _, body := call(t, client, http.MethodPost, s.URL+"/v2/self/applications/"+appID+"/instances")
	deploymentID := decode[redeployJSON](t, body).DeploymentID
	_, _, body = call(t, client, http.MethodGet, s.URL+"/v2/self/applications/"+appID+"/deployments/"+deploymentID)

	d := decode[deploymentJSON](t, body)
	if d.State != DeploymentFail || d.Cause != "build failed: npm install exited with 1" {
		t.Errorf("deployment = %+v, want FAIL with the injected cause", d)
	}
	if got := s.InstanceStates(appID); len(got) != 0 {
		t.Errorf("instances after a failed deploy = %v, want none", got)
	}
	if got := s.AppState(appID); got != AppShouldBeDown {
		t.Errorf("app state after a failed deploy = %q, want %q", got, AppShouldBeDown)
	}
	if err := s.FailNextDeployment("app_unknown", "x"); err == nil {
		t.Error("FailNextDeployment accepted an unknown app")
	}
}

func TestServerFailNext(t *testing.T) {
	s := newTestServer(t, Options{})
	client := signingClient(t, "")

	s.FailNext(EndpointSummary, 2, Fault{Status: http.StatusServiceUnavailable, RetryAfter: "3"})
	for i := range 2 {
		status, header, body := call(t, client, http.MethodGet, s.URL+"/v2/summary")
		if status != http.StatusServiceUnavailable || header.Get("Retry-After") != "3" {
			t.Fatalf("faulted call %d: status %d, Retry-After %q", i+1, status, header.Get("Retry-After"))
		}
		if e := decode[errorJSON](t, body); e.Type != "error" || e.Message != "Service Unavailable" {
			t.Errorf("faulted call %d body = %+v", i+1, e)
		}
	}
	if status, _, _ := call(t, client, http.MethodGet, s.URL+"/v2/summary"); status != http.StatusOK {
		t.Errorf("call after the faults: status %d, want 200", status)
	}

	s.FailNext(AnyEndpoint, 1, Fault{Drop: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v2/self/applications", nil)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("dropped call: status %d, want a connection error", resp.StatusCode)
	}

	s.FailNext(EndpointApps, 1, Fault{Delay: 50 * time.Millisecond})
	start := time.Now()
	if status, _, _ := call(t, client, http.MethodGet, s.URL+"/v2/self/applications"); status != http.StatusOK {
		t.Errorf("delayed call: status %d, want 200", status)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("delayed call took %s, want at least 50ms", elapsed)
	}
	if got := s.Calls(EndpointApps); got != 2 {
		t.Errorf("Calls(EndpointApps) = %d, want 2", got)
	}
}

func TestListenRejectsBadSeeds(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"app of an unknown organisation", Options{Apps: []AppSeed{{Name: "x", OwnerID: testOrg}}}},
		{"app without a name", Options{Apps: []AppSeed{{ID: "app_1"}}}},
		{"app id without prefix", Options{Apps: []AppSeed{{ID: "1", Name: "x"}}}},
		{"duplicate app", Options{Apps: []AppSeed{{ID: "app_1", Name: "x", VHosts: []string{"a/"}}, {ID: "app_1", Name: "y", VHosts: []string{"b/"}}}}},
		{"organisation id without prefix", Options{Organisations: []OrganisationSeed{{ID: "acme"}}}},
		{"app url without scheme", Options{Apps: []AppSeed{{Name: "x", URL: "127.0.0.1:1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Listen(tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Listen accepted the seed")
			}
		})
	}
}

func TestLoadSeed(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"seed.json": `{"organisations": [{"id": "` + testOrg + `", "name": "Acme"}],
			"apps": [{"name": "Shop", "owner_id": "` + testOrg + `", "url": "http://127.0.0.1:9999"}]}`,
		"seed.yaml": "organisations:\n  - id: " + testOrg + "\n    name: Acme\napps:\n  - name: Shop\n    owner_id: " + testOrg + "\n    url: http://127.0.0.1:9999\n",
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			seed, err := LoadSeed(path)
			if err != nil {
				t.Fatalf("LoadSeed: %v", err)
			}
			if len(seed.Organisations) != 1 || seed.Organisations[0].Name != "Acme" {
				t.Errorf("organisations = %+v", seed.Organisations)
			}
			if len(seed.Apps) != 1 || seed.Apps[0].OwnerID != testOrg || seed.Apps[0].URL != "http://127.0.0.1:9999" {
				t.Errorf("apps = %+v", seed.Apps)
			}
		})
	}

	t.Run("unknown field", func(t *testing.T) {
		path := filepath.Join(dir, "typo.json")
		if err := os.WriteFile(path, []byte(`{"apps": [{"nmae": "x"}]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadSeed(path); err == nil {
			t.Error("LoadSeed accepted an unknown field")
		}
	})
}

func TestDemoSeedStarts(t *testing.T) {
	seed := DemoSeed()
	s := newTestServer(t, Options{Organisations: seed.Organisations, Apps: seed.Apps})
	if got := len(s.AppIDs()); got != 3 {
		t.Fatalf("demo apps = %d, want 3", got)
	}
	for _, id := range s.AppIDs() {
		if s.UpstreamURL(id) == "" {
			t.Errorf("demo app %q has no upstream served by the fake", id)
		}
	}
}
