package api_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/api"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/redis"
	"github.com/paastis/paastis/internal/registry/redis/redistest"
)

const systemToken = "s3cret-system-token"

// systemWorld is a proxy stand-in behind SystemHandler, on a real listener.
type systemWorld struct {
	server   *httptest.Server
	engine   *engine.Engine
	provider *fakeProvider
	// proxied counts the requests that reached the proxy stand-in.
	proxied chan string
}

func newSystemWorld(t *testing.T, opts engineOptions) *systemWorld {
	t.Helper()
	provider := newFakeProvider(t)
	provider.add(t, "blog", engine.StateRunning)
	provider.add(t, "shop", engine.StateStopped)
	provider.add(t, "legacy", engine.StateRunning)
	opts.ignored = append(opts.ignored, "legacy")
	e := newEngine(t, provider, opts)
	w := &systemWorld{engine: e, provider: provider, proxied: make(chan string, 10)}
	next := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.proxied <- r.Host + r.URL.Path
		io.WriteString(rw, "from the proxy")
	})
	w.server = httptest.NewServer(api.SystemHandler(next, api.SystemOptions{Engine: e, Token: systemToken}))
	t.Cleanup(w.server.Close)
	return w
}

// system returns the headers of a system API request with token.
func system(token string) http.Header {
	header := http.Header{api.TargetHeader: {"system"}}
	if token != "" {
		header.Set(api.SystemTokenHeader, token)
	}
	return header
}

func TestSystemHandlerProxiesOtherRequests(t *testing.T) {
	w := newSystemWorld(t, engineOptions{})
	tests := []struct {
		name   string
		header http.Header
	}{
		{"no target header", http.Header{"Host": {"blog.localhost"}}},
		{"upstream target", http.Header{"Host": {"blog.localhost"}, api.TargetHeader: {"upstream"}}},
		{"token without target", http.Header{"Host": {"blog.localhost"}, api.SystemTokenHeader: {systemToken}}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, w.server.URL+"/apps", test.header, nil)

			if string(resp.body) != "from the proxy" {
				t.Errorf("body = %q, expected the proxy's", resp.body)
			}
			if got := <-w.proxied; got != "blog.localhost/apps" {
				t.Errorf("proxied %q, expected blog.localhost/apps", got)
			}
		})
	}
}

func TestSystemTokenCheck(t *testing.T) {
	w := newSystemWorld(t, engineOptions{})
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"missing token", system(""), http.StatusUnauthorized},
		{"wrong token of the same length", system(strings.Repeat("x", len(systemToken))), http.StatusUnauthorized},
		{"prefix of the token", system(systemToken[:5]), http.StatusUnauthorized},
		{"token with a suffix", system(systemToken + "x"), http.StatusUnauthorized},
		{"token in another case", system(strings.ToUpper(systemToken)), http.StatusUnauthorized},
		{"right token", system(systemToken), http.StatusOK},
		{"right token as bearer", func() http.Header {
			h := system("")
			h.Set("Authorization", "Bearer "+systemToken)
			return h
		}(), http.StatusOK},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, w.server.URL+"/apps", test.header, nil)

			if resp.status != test.want {
				t.Fatalf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
			if test.want == http.StatusUnauthorized {
				if message := errorMessage(t, resp); !strings.Contains(message, api.SystemTokenHeader) {
					t.Errorf("error %q does not name the %s header", message, api.SystemTokenHeader)
				}
				if resp.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
	select {
	case got := <-w.proxied:
		t.Errorf("a system request reached the proxy: %s", got)
	default:
	}
}

func TestSystemHandlerWithoutTokenRejectsEverything(t *testing.T) {
	provider := newFakeProvider(t)
	e := newEngine(t, provider, engineOptions{})
	server := httptest.NewServer(api.SystemHandler(http.NotFoundHandler(), api.SystemOptions{Engine: e}))
	t.Cleanup(server.Close)

	resp := do(t, http.MethodGet, server.URL+"/apps", system(""), nil)

	if resp.status != http.StatusUnauthorized {
		t.Errorf("status = %d with an empty configured token, expected 401", resp.status)
	}
}

func TestSystemListApps(t *testing.T) {
	w := newSystemWorld(t, engineOptions{})

	for _, path := range []string{"/apps", "/apps?format=json&x=1", "/apps/"} {
		t.Run(path, func(t *testing.T) {
			resp := do(t, http.MethodGet, w.server.URL+path, system(systemToken), nil)

			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, expected 200: %s", resp.status, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, expected JSON", ct)
			}
			apps := decode[[]map[string]any](t, resp)
			var names []string
			for _, app := range apps {
				names = append(names, app["name"].(string))
			}
			if !slices.Equal(names, []string{"blog", "legacy", "shop"}) {
				t.Fatalf("names = %q, expected blog, legacy, shop sorted", names)
			}

			blog := apps[0]
			for field, want := range map[string]any{
				"id":                    "id-blog",
				"provider":              "fake",
				"region":                "osc-fr1",
				"status":                "running",
				"is_monitored":          true,
				"max_idle_time":         15.0,
				"max_idle_time_seconds": 900.0,
				"in_flight":             0.0,
			} {
				if blog[field] != want {
					t.Errorf("blog[%q] = %#v, expected %#v", field, blog[field], want)
				}
			}
			for _, field := range []string{"url", "last_accessed_at", "discovered_at", "sleeps_at"} {
				if s, _ := blog[field].(string); s == "" {
					t.Errorf("blog[%q] = %#v, expected a string", field, blog[field])
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, blog["last_accessed_at"].(string)); err != nil {
				t.Errorf("last_accessed_at is not RFC 3339: %v", err)
			}
			if apps[1]["is_monitored"] != false {
				t.Errorf("legacy is_monitored = %v, expected false for an ignored app", apps[1]["is_monitored"])
			}
			if apps[2]["sleeps_at"] != nil {
				t.Errorf("shop sleeps_at = %v, expected null for a stopped app", apps[2]["sleeps_at"])
			}
		})
	}
}

func TestSystemRoutesAndErrors(t *testing.T) {
	w := newSystemWorld(t, engineOptions{})
	tests := []struct {
		name   string
		method string
		path   string
		want   int
		allow  string
	}{
		{"events", http.MethodGet, "/events", http.StatusOK, ""},
		{"events with a limit", http.MethodGet, "/events?limit=2", http.StatusOK, ""},
		{"events with an invalid limit", http.MethodGet, "/events?limit=0", http.StatusBadRequest, ""},
		{"apps with POST", http.MethodPost, "/apps", http.StatusMethodNotAllowed, "GET, DELETE"},
		{"events with DELETE", http.MethodDelete, "/events", http.StatusMethodNotAllowed, "GET"},
		{"unknown path", http.MethodGet, "/status", http.StatusNotFound, ""},
		{"path below apps", http.MethodGet, "/apps/blog", http.StatusNotFound, ""},
		{"root", http.MethodGet, "/", http.StatusNotFound, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, test.method, w.server.URL+test.path, system(systemToken), nil)

			if resp.status != test.want {
				t.Fatalf("status = %d, expected %d: %s", resp.status, test.want, resp.body)
			}
			if test.want >= 400 {
				errorMessage(t, resp)
			}
			if got := resp.header.Get("Allow"); got != test.allow {
				t.Errorf("Allow = %q, expected %q", got, test.allow)
			}
		})
	}
}

func TestSystemEventsListTransitions(t *testing.T) {
	w := newSystemWorld(t, engineOptions{})
	transitions(t, w.engine, w.provider)

	resp := do(t, http.MethodGet, w.server.URL+"/events?limit=1000", system(systemToken), nil)

	if resp.status != http.StatusOK {
		t.Fatalf("status = %d: %s", resp.status, resp.body)
	}
	events := decode[[]map[string]any](t, resp)
	checkTransitions(t, events)

	limited := decode[[]map[string]any](t, do(t, http.MethodGet, w.server.URL+"/events?limit=2", system(systemToken), nil))
	if len(limited) != 2 || limited[1]["type"] != events[len(events)-1]["type"] {
		t.Errorf("limit=2 returned %v, expected the 2 newest events", limited)
	}
}

// transitions makes the engine record one event of each type: blog, shop
// and legacy were registered by the first sweep.
func transitions(t *testing.T, e *engine.Engine, provider *fakeProvider) {
	t.Helper()
	ctx := t.Context()
	if err := e.Start(ctx, "shop"); err != nil {
		t.Fatalf("start shop: %v", err)
	}
	if err := e.Stop(ctx, "shop"); err != nil {
		t.Fatalf("stop shop: %v", err)
	}
	provider.set(func(p *fakeProvider) { p.startErr = errors.New("quota exceeded") })
	if err := e.Start(ctx, "shop"); err == nil {
		t.Fatal("start shop succeeded, expected the provider error")
	}
	provider.set(func(p *fakeProvider) { p.stopErr = errors.New("api down") })
	if err := e.Stop(ctx, "blog"); err == nil {
		t.Fatal("stop blog succeeded, expected the provider error")
	}
	provider.remove("blog")
	if err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
}

// checkTransitions checks the events that transitions caused, in order.
func checkTransitions(t *testing.T, events []map[string]any) {
	t.Helper()
	type key struct{ kind, app string }
	var got []key
	for _, event := range events {
		got = append(got, key{event["type"].(string), event["app"].(string)})
	}
	want := []key{
		{"started", "shop"},
		{"stopped", "shop"},
		{"start_failed", "shop"},
		{"stop_failed", "blog"},
		{"unregistered", "blog"},
	}
	registered := map[string]bool{}
	for _, k := range got[:3] {
		if k.kind == "registered" {
			registered[k.app] = true
		}
	}
	if len(registered) != 3 {
		t.Errorf("first events = %v, expected blog, legacy and shop registered", got[:3])
	}
	if !slices.Equal(got[3:], want) {
		t.Errorf("events after registration = %v, expected %v", got[3:], want)
	}
	for _, event := range events {
		if event["provider"] != "fake" {
			t.Errorf("event %v has provider %v, expected fake", event, event["provider"])
		}
		if _, err := time.Parse(time.RFC3339Nano, event["time"].(string)); err != nil {
			t.Errorf("event time %v is not RFC 3339: %v", event["time"], err)
		}
		switch event["type"] {
		case "start_failed", "stop_failed":
			if event["error"] == nil {
				t.Errorf("%v event has no error", event["type"])
			}
		case "started":
			if d, _ := event["duration_seconds"].(float64); d <= 0 {
				t.Errorf("started event has duration_seconds %v, expected a positive duration", event["duration_seconds"])
			}
		}
	}
}

func TestSystemClearKeepsForeignRedisKeys(t *testing.T) {
	server := redistest.Start(t)
	client := server.Client()
	foreign := []string{"sessions:42", "paastis-other:{registry}:apps", "cache"}
	for _, key := range foreign {
		if err := client.Set(t.Context(), key, "keep me", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	registry, err := redis.New(t.Context(), redis.Options{URL: server.URL(), KeyPrefix: "paastis:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { registry.Close() })
	w := newSystemWorld(t, engineOptions{registry: registry})
	if err := w.engine.Start(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	w.engine.Flush(t.Context())
	before, _ := client.Keys(t.Context(), "paastis:*").Result()
	if len(before) == 0 {
		t.Fatal("paastis wrote no key before the clear")
	}

	resp := do(t, http.MethodDelete, w.server.URL+"/apps", system(systemToken), nil)

	if resp.status != http.StatusNoContent {
		t.Fatalf("DELETE /apps = %d, expected 204: %s", resp.status, resp.body)
	}
	if len(resp.body) != 0 {
		t.Errorf("DELETE /apps body = %q, expected none", resp.body)
	}
	keys, _ := client.Keys(t.Context(), "*").Result()
	slices.Sort(keys)
	want := slices.Sorted(slices.Values(foreign))
	if !slices.Equal(keys, want) {
		t.Errorf("keys after the clear = %q, expected only the foreign keys %q", keys, want)
	}
	for _, key := range foreign {
		if value, err := client.Get(t.Context(), key).Result(); err != nil || value != "keep me" {
			t.Errorf("foreign key %q = %q, %v after the clear", key, value, err)
		}
	}
	if apps := decode[[]map[string]any](t, do(t, http.MethodGet, w.server.URL+"/apps", system(systemToken), nil)); len(apps) != 3 {
		t.Errorf("GET /apps after the clear lists %d apps, expected the 3 still routed", len(apps))
	}

	// The next sweep writes the records again.
	if err := w.engine.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	records, err := registry.Records(t.Context())
	if err != nil || len(records) != 3 {
		t.Errorf("records after the next sweep = %d, %v, expected 3", len(records), err)
	}
}
