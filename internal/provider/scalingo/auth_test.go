package scalingo_test

import (
	"github.com/paastis/paastis/internal/testwait"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/provider/scalingo"
	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	fake := newFake(t, scalingotest.Options{TokenLifetime: 2 * time.Second})
	fake.AddApp(scalingotest.App{Name: "renew-app"})
	provider, _ := newProvider(t, fake, nil)
	exchanged := time.Now()
	listApps(t, provider)

	// A bearer is renewed when a fifth of its life is left: here after
	// 1.6s, while it expires after 2s. At 1.8s the provider must exchange
	// the token again before the request, rather than send the old one.
	time.Sleep(time.Until(exchanged.Add(1800 * time.Millisecond)))
	listApps(t, provider)

	if got := fake.Calls(scalingotest.EndpointTokenExchange); got != 2 {
		t.Errorf("token exchanges = %d, want 2: the bearer is due for renewal", got)
	}
	if got := fake.Unauthorized(); got != 0 {
		t.Errorf("fake rejected %d requests with 401, want 0", got)
	}
}

func TestTokenRenewalDuringRun(t *testing.T) {
	fake := newFake(t, scalingotest.Options{TokenLifetime: 500 * time.Millisecond})
	fake.AddApp(scalingotest.App{Name: "renew-app"})
	provider, _ := newProvider(t, fake, nil)

	// Sweep without pause until the bearer was renewed twice: no request
	// may fail, and renewal before expiry keeps the 401s away.
	testwait.Until(t, 10*time.Second, "the bearer token is renewed twice", func() bool {
		if _, err := provider.Apps(t.Context()); err != nil {
			t.Fatalf("Apps: %v", err)
		}
		return fake.Calls(scalingotest.EndpointTokenExchange) >= 3
	})
	if got := fake.Unauthorized(); got != 0 {
		t.Errorf("fake rejected %d requests with 401, want 0", got)
	}
}

func TestTokenRevokedIsExchangedOnce(t *testing.T) {
	// One region, so that a single listing meets the revoked bearer.
	fake := newFake(t, scalingotest.Options{Regions: []string{"osc-fr1"}})
	fake.AddApp(scalingotest.App{Name: "revoked-app"})
	provider, _ := newProvider(t, fake, nil)
	listApps(t, provider)

	fake.RevokeTokens()
	apps := listApps(t, provider)

	if _, ok := apps["revoked-app"]; !ok {
		t.Errorf("Apps after the 401 = %v, want revoked-app", sortedNames(apps))
	}
	if got := fake.Calls(scalingotest.EndpointTokenExchange); got != 2 {
		t.Errorf("token exchanges = %d, want 2: one at start, one after the 401", got)
	}
	if got := fake.Unauthorized(); got != 1 {
		t.Errorf("401 responses = %d, want 1", got)
	}
	if got := fake.Calls(scalingotest.EndpointApps); got != 3 {
		t.Errorf("app listings = %d, want 3: one before the revocation, one rejected, one after the new exchange", got)
	}
}

func TestTokenRejectedNamesVariable(t *testing.T) {
	fake := newFake(t, scalingotest.Options{APIToken: "tk-us-right"})
	const wrongToken = "tk-us-wrong-secret"
	provider, _ := newProvider(t, fake, func(opts *scalingo.Options) { opts.APIToken = wrongToken })

	_, err := provider.Apps(t.Context())

	if err == nil {
		t.Fatal("Apps with a wrong API token succeeded")
	}
	if !strings.Contains(err.Error(), "PROVIDER_SCALINGO_API_TOKEN") {
		t.Errorf("error %q does not name PROVIDER_SCALINGO_API_TOKEN", err)
	}
	if strings.Contains(err.Error(), wrongToken) {
		t.Errorf("error %q contains the API token", err)
	}
	if got := fake.Calls(scalingotest.EndpointTokenExchange); got != 1 {
		t.Errorf("token exchanges = %d, want 1: a rejected token is not retried", got)
	}
}

func TestTokenExchangeSharedByConcurrentCalls(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "shared-app"})
	provider, _ := newProvider(t, fake, nil)
	fake.FailNext(scalingotest.EndpointTokenExchange, 1, scalingotest.Fault{Delay: 100 * time.Millisecond})

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := provider.Apps(t.Context()); err != nil {
				t.Errorf("Apps: %v", err)
			}
		})
	}
	wg.Wait()

	if got := fake.Calls(scalingotest.EndpointTokenExchange); got != 1 {
		t.Errorf("token exchanges = %d, want 1 shared by 8 concurrent calls", got)
	}
}

func TestTokenNeverLogged(t *testing.T) {
	fake := newFake(t, scalingotest.Options{})
	fake.AddApp(scalingotest.App{Name: "quiet-app"})
	provider, logs := newProvider(t, fake, nil)
	fake.FailNext(scalingotest.EndpointApps, 1, scalingotest.Fault{Status: 503})
	fake.RevokeTokens()

	listApps(t, provider)

	records := logs.all()
	if len(records) == 0 {
		t.Fatal("no log records: the test cannot check them")
	}
	for _, record := range records {
		var line strings.Builder
		line.WriteString(record.Message)
		record.Attrs(func(a slog.Attr) bool {
			line.WriteString(" " + a.String())
			return true
		})
		// Every JWT starts with "eyJ", the base64 of `{"`.
		for _, secret := range []string{scalingotest.DefaultAPIToken, "eyJ", "Bearer "} {
			if strings.Contains(line.String(), secret) {
				t.Errorf("log line %q contains %q", line.String(), secret)
			}
		}
	}
}
