package scalingo_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/scalingo"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

func TestAppsReportsEachApp(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApps(
		scalingotest.App{Name: "running-app", Formation: "web:1"},
		scalingotest.App{Name: "stopped-app", Formation: "web:0"},
		scalingotest.App{Name: "crashed-app", Status: "crashed"},
		scalingotest.App{Name: "new-app", Status: "new"},
		scalingotest.App{Name: "custom-url-app", URL: "https://www.example.test"},
	)
	if err := fake.BeginScale("", "stopped-app", "web:1", time.Minute); err != nil {
		t.Fatal(err)
	}
	provider, _ := newProvider(t, fake, nil)

	apps := listApps(t, provider)

	wantStates := map[string]engine.State{
		"running-app":    engine.StateRunning,
		"stopped-app":    engine.StateStarting,
		"crashed-app":    engine.StateFailed,
		"new-app":        engine.StateUnknown,
		"custom-url-app": engine.StateRunning,
	}
	for name, want := range wantStates {
		if got := apps[name].State; got != want {
			t.Errorf("%s: State = %q, want %q", name, got, want)
		}
	}

	app := apps["running-app"]
	if app.Provider != "scalingo" || app.Region != "osc-fr1" || !strings.HasPrefix(app.ID, "app-") {
		t.Errorf("running-app = %+v, want provider scalingo, region osc-fr1 and the Scalingo ID", app)
	}
	if want := fake.UpstreamURL("osc-fr1", "running-app"); app.URL != want {
		t.Errorf("running-app URL = %q, want the app's url field %q", app.URL, want)
	}
	if got := apps["custom-url-app"].URL; got != "https://www.example.test" {
		t.Errorf("custom-url-app URL = %q, want https://www.example.test", got)
	}
	if app.Details["scalingo_name"] != "running-app" || app.Details["scalingo_status"] != "running" {
		t.Errorf("running-app Details = %v, want scalingo_name and scalingo_status", app.Details)
	}
}

func TestAppsRoutesTwoRegions(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApps(
		scalingotest.App{Name: "shop", Region: "osc-fr1", Formation: "web:1"},
		scalingotest.App{Name: "shop", Region: "osc-secnum-fr1", Formation: "web:1"},
		scalingotest.App{Name: "blog", Region: "osc-secnum-fr1", Formation: "web:1"},
	)
	provider, logs := newProvider(t, fake, nil)

	apps := listApps(t, provider)
	listApps(t, provider)

	want := map[string]string{"shop": "osc-fr1", "shop--osc-secnum-fr1": "osc-secnum-fr1", "blog": "osc-secnum-fr1"}
	if names := sortedNames(apps); len(names) != len(want) {
		t.Fatalf("Apps = %v, want %d apps", names, len(want))
	}
	for label, region := range want {
		if got := apps[label].Region; got != region {
			t.Errorf("%s: Region = %q, want %q", label, got, region)
		}
	}
	if got := apps["shop--osc-secnum-fr1"].URL; got != fake.UpstreamURL("osc-secnum-fr1", "shop") {
		t.Errorf("shop--osc-secnum-fr1 URL = %q, want the secnum app's URL", got)
	}
	if got := len(logs.withMessage("scalingo app name exists in an earlier region, routing this app under a suffixed label")); got != 1 {
		t.Errorf("collision logged %d times over two sweeps, want once", got)
	}

	if _, err := provider.Stop(t.Context(), apps["shop--osc-secnum-fr1"]); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := fake.Formation("osc-secnum-fr1", "shop"); got != "web:0" {
		t.Errorf("secnum shop formation = %q, want web:0", got)
	}
	if got := fake.Formation("osc-fr1", "shop"); got != "web:1" {
		t.Errorf("fr1 shop formation = %q, want web:1 untouched", got)
	}
}

func TestAppsSelectsRegions(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApps(
		scalingotest.App{Name: "shop", Region: "osc-fr1"},
		scalingotest.App{Name: "shop", Region: "osc-secnum-fr1"},
	)
	tests := []struct {
		name    string
		regions []string
		want    map[string]string
	}{
		{"every region by default", nil, map[string]string{"shop": "osc-fr1", "shop--osc-secnum-fr1": "osc-secnum-fr1"}},
		{"one region", []string{"osc-secnum-fr1"}, map[string]string{"shop": "osc-secnum-fr1"}},
		{"given order sets the routing priority", []string{"osc-secnum-fr1", "osc-fr1"}, map[string]string{"shop": "osc-secnum-fr1", "shop--osc-fr1": "osc-fr1"}},
		{"legacy spelling with a hyphen", []string{"osc-fr-1"}, map[string]string{"shop": "osc-fr1"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			provider, _ := newProvider(t, fake, func(opts *scalingo.Options) { opts.Regions = test.regions })
			apps := listApps(t, provider)
			if len(apps) != len(test.want) {
				t.Fatalf("Apps = %v, want %d apps", sortedNames(apps), len(test.want))
			}
			for label, region := range test.want {
				if got := apps[label].Region; got != region {
					t.Errorf("%s: Region = %q, want %q", label, got, region)
				}
			}
		})
	}
}

func TestAppsRejectsUnknownRegion(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	provider, _ := newProvider(t, fake, func(opts *scalingo.Options) { opts.Regions = []string{"osc-us1"} })

	_, err := provider.Apps(t.Context())

	if err == nil {
		t.Fatal("Apps with an unknown region succeeded")
	}
	for _, want := range []string{`"osc-us1"`, `"osc-fr1"`, "PROVIDER_SCALINGO_REGIONS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
}

func TestAppsWithSingleAPIURL(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApps(
		scalingotest.App{Name: "solo", Region: "osc-fr1"},
		scalingotest.App{Name: "elsewhere", Region: "osc-secnum-fr1"},
	)
	tests := []struct {
		name       string
		regions    []string
		wantRegion string
	}{
		{"named region", []string{"osc-fr1"}, "osc-fr1"},
		{"unnamed region", nil, "custom"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			fake.ResetCalls()
			provider, _ := newProvider(t, fake, func(opts *scalingo.Options) {
				opts.APIURL = fake.APIURL("osc-fr1")
				opts.Regions = test.regions
			})
			apps := listApps(t, provider)
			if names := sortedNames(apps); !slices.Equal(names, []string{"solo"}) {
				t.Fatalf("Apps = %v, want [solo]", names)
			}
			if got := apps["solo"].Region; got != test.wantRegion {
				t.Errorf("Region = %q, want %q", got, test.wantRegion)
			}
			if got := fake.Calls(scalingotest.EndpointRegions); got != 0 {
				t.Errorf("regions endpoint called %d times, want 0 with an API URL", got)
			}
			if err := provider.Start(t.Context(), apps["solo"]); err != nil {
				t.Errorf("Start: %v", err)
			}
		})
	}
}

func TestAppsReviewApps(t *testing.T) {
	seeds := []scalingotest.App{
		{Name: "front"},
		{Name: "front-pr12", Parent: "front"},
		{Name: "front-pr13", Parent: "front"},
		{Name: "api"},
	}
	tests := []struct {
		name       string
		omitParent bool
		onlyReview bool
		want       map[string]string
	}{
		{"every app with parents from the app objects", false, false, map[string]string{"front": "", "front-pr12": "front", "front-pr13": "front", "api": ""}},
		{"review apps only", false, true, map[string]string{"front-pr12": "front", "front-pr13": "front"}},
		{"parents from child apps when objects lack them", true, false, map[string]string{"front": "", "front-pr12": "front", "front-pr13": "front", "api": ""}},
		{"review apps only from child apps", true, true, map[string]string{"front-pr12": "front", "front-pr13": "front"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			fake := newFake(t, scalingotest.Options{Regions: []string{"osc-fr1"}, OmitParentInListing: test.omitParent})
			fake.AddApps(seeds...)
			provider, _ := newProvider(t, fake, func(opts *scalingo.Options) { opts.ReviewAppsOnly = test.onlyReview })

			apps := listApps(t, provider)

			if len(apps) != len(test.want) {
				t.Fatalf("Apps = %v, want %d apps", sortedNames(apps), len(test.want))
			}
			for label, parent := range test.want {
				app, ok := apps[label]
				if !ok {
					t.Errorf("Apps has no %q", label)
					continue
				}
				if app.Parent != parent {
					t.Errorf("%s: Parent = %q, want %q", label, app.Parent, parent)
				}
			}
		})
	}
}

func TestAppsCachesChildAppsBetweenSweeps(t *testing.T) {
	fake := newFake(t, scalingotest.Options{Regions: []string{"osc-fr1"}, OmitParentInListing: true})
	fake.AddApps(
		scalingotest.App{Name: "front"},
		scalingotest.App{Name: "front-pr12", Parent: "front"},
		// Named like a review app of legacy, but created on its own.
		scalingotest.App{Name: "legacy"},
		scalingotest.App{Name: "legacy-pr1"},
	)
	provider, _ := newProvider(t, fake, nil)

	for range 3 {
		listApps(t, provider)
	}
	if got := fake.Calls(scalingotest.EndpointChildApps); got != 2 {
		t.Fatalf("child apps read %d times over three sweeps, want 2: once for front, once for legacy", got)
	}

	fake.AddApp(scalingotest.App{Name: "front-pr14", Parent: "front"})
	apps := listApps(t, provider)

	if got := fake.Calls(scalingotest.EndpointChildApps); got != 3 {
		t.Errorf("child apps read %d times, want 3: a new candidate causes one read", got)
	}
	if got := apps["front-pr14"].Parent; got != "front" {
		t.Errorf("front-pr14 Parent = %q, want front", got)
	}
	if got := apps["legacy-pr1"].Parent; got != "" {
		t.Errorf("legacy-pr1 Parent = %q, want none", got)
	}
}

// TestAppsSweepStaysUnderRateLimit sweeps 300 apps again and again
// against a fake that enforces the rate limit. The limit and its period
// are scaled down (5 requests per 200 ms for the client, 6 for the fake,
// as 50 and 60 a minute are in production) so that the test runs in
// seconds.
func TestAppsSweepStaysUnderRateLimit(t *testing.T) {
	const window = 200 * time.Millisecond
	fake := newFake(t, scalingotest.Options{RateLimit: 6, RateLimitWindow: window})
	for i := range 300 {
		region := fake.Regions()[i%2]
		fake.AddApp(scalingotest.App{Name: fmt.Sprintf("app-%03d", i), Region: region})
	}
	provider, _ := newProvider(t, fake, func(opts *scalingo.Options) {
		opts.RateLimit = 5
		opts.RateLimitPeriod = window
	})

	const sweeps = 15
	for range sweeps {
		if got := len(listApps(t, provider)); got != 300 {
			t.Fatalf("sweep listed %d apps, want 300", got)
		}
	}

	if got := fake.RateLimited(); got != 0 {
		t.Errorf("fake rejected %d requests with 429, want 0", got)
	}
	if got := fake.PeakRequests(); got > 6 {
		t.Errorf("peak of %d requests in one window, above the fake's limit of 6", got)
	}
	if got := fake.Calls(scalingotest.EndpointApps); got != 2*sweeps {
		t.Errorf("app listings = %d, want %d: one per region and sweep", got, 2*sweeps)
	}
	perApp := fake.Calls(scalingotest.EndpointApp) + fake.Calls(scalingotest.EndpointContainers) +
		fake.Calls(scalingotest.EndpointPs) + fake.Calls(scalingotest.EndpointChildApps)
	if perApp != 0 {
		t.Errorf("sweeps made %d per-app requests, want 0", perApp)
	}
}
