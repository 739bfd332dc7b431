package clevercloud

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

func appsByID(apps []engine.App) map[string]engine.App {
	byID := make(map[string]engine.App, len(apps))
	for _, a := range apps {
		byID[a.ID] = a
	}
	return byID
}

func TestAppsFromPersonalSpaceAndTwoOrganisations(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "api answer")
	}))
	t.Cleanup(upstream.Close)

	fake := newFake(t, clevercloudtest.Options{
		Organisations: []clevercloudtest.OrganisationSeed{
			{ID: orgA, Name: "Acme"},
			{ID: orgB, Name: "Beta Corp"},
			{ID: orgEmpty, Name: "Empty"},
		},
		Apps: []clevercloudtest.AppSeed{
			{ID: appHello, Name: "Hello World", Running: true},
			{ID: appShop, Name: "Shop Front", OwnerID: orgA, Zone: "par", VHosts: []string{"shop.example.com/"}},
			{ID: appAPI, Name: "API", OwnerID: orgB, Zone: "mtl", URL: upstream.URL},
		},
	})
	p := newProvider(t, testOptions(t, fake))

	apps, err := p.Apps(t.Context())
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	if len(apps) != 3 {
		t.Fatalf("Apps returned %d apps, want 3: %+v", len(apps), apps)
	}
	byID := appsByID(apps)

	hello := byID[appHello]
	if hello.Name != "hello-world" || hello.Provider != Name || hello.State != engine.StateRunning || hello.Region != "par" {
		t.Errorf("personal app = %+v, want hello-world, running, in par", hello)
	}
	if hello.URL != fake.UpstreamURL(appHello) {
		t.Errorf("personal app URL = %q, want the fake's upstream %q", hello.URL, fake.UpstreamURL(appHello))
	}
	if got := hello.Details[DetailOwnerID]; got != clevercloudtest.DefaultUserID {
		t.Errorf("personal app owner_id = %q, want the user id", got)
	}

	shop := byID[appShop]
	if shop.Name != "shop-front" || shop.State != engine.StateStopped || shop.URL != "http://shop.example.com" {
		t.Errorf("organisation app = %+v, want shop-front, stopped, at http://shop.example.com", shop)
	}
	wantDetails := map[string]string{
		DetailOwnerID:     orgA,
		DetailOwnerName:   "Acme",
		DetailIDLabel:     "app-00000000-0000-4000-8000-000000000002",
		DetailAppName:     "Shop Front",
		DetailCleverState: "SHOULD_BE_DOWN",
		DetailVHost:       "shop.example.com/",
		DetailRuntime:     "node",
	}
	if !maps.Equal(shop.Details, wantDetails) {
		t.Errorf("organisation app details = %v, want %v", shop.Details, wantDetails)
	}

	api := byID[appAPI]
	if api.Name != "api" || api.Region != "mtl" || api.URL != upstream.URL || api.Details[DetailOwnerID] != orgB {
		t.Errorf("second organisation app = %+v, want api in mtl at %s owned by %s", api, upstream.URL, orgB)
	}

	for _, a := range apps {
		if strings.Contains(a.URL, "push-") || strings.Contains(a.URL, ".git") {
			t.Errorf("app %q upstream %q comes from the git push URL", a.Name, a.URL)
		}
	}
	if got := fake.Calls(clevercloudtest.EndpointApps); got != 3 {
		t.Errorf("app list calls = %d, want 3 (the empty organisation is skipped)", got)
	}
	if got := fake.Calls(clevercloudtest.EndpointSummary); got != 1 {
		t.Errorf("summary calls = %d, want 1", got)
	}

	wantAliases := map[string]string{
		"app-00000000-0000-4000-8000-000000000001": "hello-world",
		"app-00000000-0000-4000-8000-000000000002": "shop-front",
		"app-00000000-0000-4000-8000-000000000003": "api",
	}
	if got := p.Aliases(); !maps.Equal(got, wantAliases) {
		t.Errorf("Aliases = %v, want %v", got, wantAliases)
	}
}

func TestAppsSlugConflict(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		Organisations: []clevercloudtest.OrganisationSeed{{ID: orgA, Name: "Acme"}},
		Apps: []clevercloudtest.AppSeed{
			{ID: appHello, Name: "My App", VHosts: []string{"a.example.com/"}},
			{ID: appShop, Name: "my_app!", OwnerID: orgA, VHosts: []string{"b.example.com/"}},
			{ID: appAPI, Name: "Other", OwnerID: orgA, VHosts: []string{"c.example.com/"}},
			// This name's slug is the id label of appHello, so it cannot be
			// used as a label for another app.
			{ID: appSecond, Name: "APP_00000000-0000-4000-8000-000000000001", VHosts: []string{"d.example.com/"}},
		},
	})
	opts := testOptions(t, fake)
	logs := captureLogs(t, &opts)
	p := newProvider(t, opts)

	for range 2 {
		apps, err := p.Apps(t.Context())
		if err != nil {
			t.Fatalf("Apps: %v", err)
		}
		byID := appsByID(apps)
		wantNames := map[string]string{
			appHello:  "app-00000000-0000-4000-8000-000000000001",
			appShop:   "app-00000000-0000-4000-8000-000000000002",
			appAPI:    "other",
			appSecond: "app-00000000-0000-4000-8000-000000000004",
		}
		for id, want := range wantNames {
			if got := byID[id].Name; got != want {
				t.Errorf("Name of %s = %q, want %q", id, got, want)
			}
		}
	}

	wantAliases := map[string]string{"app-00000000-0000-4000-8000-000000000003": "other"}
	if got := p.Aliases(); !maps.Equal(got, wantAliases) {
		t.Errorf("Aliases = %v, want %v", got, wantAliases)
	}
	if got := logs.count("share a name slug"); got != 2 {
		t.Errorf("conflict log lines after two listings = %d, want 2 (one per conflict, logged once)", got)
	}
	if !strings.Contains(logs.String(), "slug=my-app") {
		t.Errorf("logs do not name the conflicting slug my-app:\n%s", logs)
	}
}

func TestAppsUpstreamVHostSelection(t *testing.T) {
	vhosts := []string{"*.wild.example.com/", "app-x.cleverapps.io/", "www.shop.example.com/", "shop.example.com/api/"}
	fake := newFake(t, clevercloudtest.Options{
		Apps: []clevercloudtest.AppSeed{
			{ID: appHello, Name: "Shop", VHosts: vhosts},
			{ID: appShop, Name: "Wild only", VHosts: []string{"*.example.com/"}},
		},
	})
	tests := []struct {
		name, vhost, scheme, want string
	}{
		{"first usable vhost by default", "", "https", "https://app-x.cleverapps.io"},
		{"exact vhost with a path", "shop.example.com/api", "https", "https://shop.example.com/api"},
		{"domain suffix", "shop.example.com", "https", "https://www.shop.example.com"},
		{"suffix with a leading dot", ".example.com", "http", "http://www.shop.example.com"},
		{"no match falls back to the first", "other.org", "https", "https://app-x.cleverapps.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t, fake)
			opts.VHost, opts.UpstreamScheme = tt.vhost, tt.scheme
			logs := captureLogs(t, &opts)
			p := newProvider(t, opts)

			apps, err := p.Apps(t.Context())
			if err != nil {
				t.Fatalf("Apps: %v", err)
			}
			byID := appsByID(apps)
			if got := byID[appHello].URL; got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
			if got := byID[appShop].URL; got != "" {
				t.Errorf("URL of an app with only a wildcard vhost = %q, want none", got)
			}
			if got := logs.count("has no usable vhost"); got != 1 {
				t.Errorf("no-vhost log lines = %d, want 1", got)
			}
		})
	}
}

func TestAppsFailWhenOneOwnerFails(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		Organisations: []clevercloudtest.OrganisationSeed{{ID: orgA, Name: "Acme"}},
		Apps: []clevercloudtest.AppSeed{
			{ID: appHello, Name: "Mine", VHosts: []string{"a.example.com/"}},
			{ID: appShop, Name: "Theirs", OwnerID: orgA, VHosts: []string{"b.example.com/"}},
		},
	})
	p := newProvider(t, testOptions(t, fake))
	fake.FailNext(clevercloudtest.EndpointApps, 1, clevercloudtest.Fault{Status: http.StatusForbidden, Message: "You don't have access to this organisation"})

	apps, err := p.Apps(t.Context())
	if err == nil {
		t.Fatalf("Apps returned %d apps although one owner failed", len(apps))
	}
	if !strings.Contains(err.Error(), "You don't have access to this organisation") {
		t.Errorf("error %q lacks the API's message", err)
	}
}

func TestUnknownAppNotFound(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		Organisations: []clevercloudtest.OrganisationSeed{{ID: orgA, Name: "Acme"}},
		Apps:          []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello", VHosts: []string{"a.example.com/"}}},
	})
	p := newProvider(t, testOptions(t, fake))
	ghosts := []engine.App{
		{Name: "ghost"},
		{Name: "gone", ID: "app_99999999-9999-4999-8999-999999999999", Details: map[string]string{DetailOwnerID: orgA}},
		{Name: "bad-id", ID: "app_../../summary", Details: map[string]string{DetailOwnerID: orgA}},
	}
	for _, ghost := range ghosts {
		t.Run(ghost.Name, func(t *testing.T) {
			if err := p.Start(t.Context(), ghost); !errors.Is(err, engine.ErrAppNotFound) {
				t.Errorf("Start error = %v, want ErrAppNotFound", err)
			}
			if _, err := p.Stop(t.Context(), ghost); !errors.Is(err, engine.ErrAppNotFound) {
				t.Errorf("Stop error = %v, want ErrAppNotFound", err)
			}
			if _, err := p.State(t.Context(), ghost); !errors.Is(err, engine.ErrAppNotFound) {
				t.Errorf("State error = %v, want ErrAppNotFound", err)
			}
		})
	}
}

func TestStateOfAppKnownOnlyByName(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		Apps: []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello World", Running: true}},
	})
	p := newProvider(t, testOptions(t, fake))

	for _, name := range []string{"hello-world", "app-00000000-0000-4000-8000-000000000001"} {
		state, err := p.State(t.Context(), engine.App{Name: name})
		if err != nil {
			t.Fatalf("State(%q): %v", name, err)
		}
		if state != engine.StateRunning {
			t.Errorf("State(%q) = %q, want running", name, state)
		}
	}
	if got := fake.Calls(clevercloudtest.EndpointSummary); got != 1 {
		t.Errorf("summary calls = %d, want 1 (the second lookup uses the index)", got)
	}
}

func TestSlugify(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Hello World", "hello-world"},
		{"  --My__App!!  ", "my-app"},
		{"API v2.1", "api-v2-1"},
		{"Café Crème", "caf-cr-me"},
		{"日本", ""},
		{"123", "123"},
		{strings.Repeat("a", 62) + " b", strings.Repeat("a", 62)},
		{strings.Repeat("x", 80), strings.Repeat("x", 63)},
	}
	for _, tt := range tests {
		got := slugify(tt.name)
		if got != tt.want {
			t.Errorf("slugify(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if got != "" && !validLabel(got) {
			t.Errorf("slugify(%q) = %q is not a DNS label", tt.name, got)
		}
	}
}

func TestIDLabel(t *testing.T) {
	if got, want := idLabel("app_7A1F2C81-bb18-4682-95fc-b7187a056150"), "app-7a1f2c81-bb18-4682-95fc-b7187a056150"; got != want {
		t.Errorf("idLabel = %q, want %q", got, want)
	}
}
