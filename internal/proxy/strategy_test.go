package proxy

import (
	"github.com/paastis/paastis/internal/testwait"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

func TestWakeStrategyChoosesPageOrHold(t *testing.T) {
	const (
		chromeAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
		hold         = false
		page         = true
	)
	tests := []struct {
		name   string
		method string
		header []string
		// expected choice for each strategy
		auto, blocking, pageStrategy bool
	}{
		{
			name: "browser navigation with Sec-Fetch-Mode", method: "GET",
			header: []string{"Accept", chromeAccept, "Sec-Fetch-Mode", "navigate"},
			auto:   page, blocking: hold, pageStrategy: page,
		},
		{
			name: "browser navigation without Sec-Fetch headers", method: "GET",
			header: []string{"Accept", chromeAccept},
			auto:   page, blocking: hold, pageStrategy: page,
		},
		{
			name: "fetch from a script asking for HTML", method: "GET",
			header: []string{"Accept", "text/html", "Sec-Fetch-Mode", "cors"},
			auto:   hold, blocking: hold, pageStrategy: page,
		},
		{
			name: "XMLHttpRequest asking for HTML", method: "GET",
			header: []string{"Accept", "text/html, */*; q=0.01", "X-Requested-With", "XMLHttpRequest"},
			auto:   hold, blocking: hold, pageStrategy: page,
		},
		{
			name: "API client asking for JSON", method: "GET",
			header: []string{"Accept", "application/json"},
			auto:   hold, blocking: hold, pageStrategy: page,
		},
		{
			name: "client preferring JSON over HTML", method: "GET",
			header: []string{"Accept", "application/json, text/html;q=0.9"},
			auto:   hold, blocking: hold, pageStrategy: page,
		},
		{
			name: "curl with its default Accept", method: "GET",
			header: []string{"Accept", "*/*", "User-Agent", "curl/8.5.0"},
			auto:   hold, blocking: hold, pageStrategy: page,
		},
		{
			name: "client without Accept", method: "GET",
			auto: hold, blocking: hold, pageStrategy: page,
		},
		{
			name: "HEAD from a browser", method: "HEAD",
			header: []string{"Accept", chromeAccept, "Sec-Fetch-Mode", "navigate"},
			auto:   page, blocking: hold, pageStrategy: page,
		},
		{
			name: "form POST navigation", method: "POST",
			header: []string{"Accept", chromeAccept, "Sec-Fetch-Mode", "navigate"},
			auto:   hold, blocking: hold, pageStrategy: hold,
		},
		{
			name: "DELETE from a script", method: "DELETE",
			header: []string{"Accept", "application/json"},
			auto:   hold, blocking: hold, pageStrategy: hold,
		},
		{
			name: "websocket upgrade", method: "GET",
			header: []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-Fetch-Mode", "websocket"},
			auto:   hold, blocking: hold, pageStrategy: hold,
		},
		{
			name: "HTML refused with q=0", method: "GET",
			header: []string{"Accept", "text/html;q=0, application/json"},
			auto:   hold, blocking: hold, pageStrategy: page,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := appRequest(t, tt.method, "/", nil, tt.header...)
			for strategy, want := range map[WakeStrategy]bool{WakeAuto: tt.auto, WakeBlocking: tt.blocking, WakePage: tt.pageStrategy} {
				if got := strategy.servesPage(r); got != want {
					t.Errorf("%s strategy: servesPage = %v, expected %v", strategy, got, want)
				}
			}
		})
	}
}

func TestParseWakeStrategy(t *testing.T) {
	tests := []struct {
		input   string
		want    WakeStrategy
		wantErr bool
	}{
		{input: "", want: WakeAuto},
		{input: "auto", want: WakeAuto},
		{input: " Blocking ", want: WakeBlocking},
		{input: "PAGE", want: WakePage},
		{input: "always", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseWakeStrategy(tt.input)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "auto, blocking or page") {
				t.Errorf("ParseWakeStrategy(%q) error = %v, expected one listing the accepted values", tt.input, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseWakeStrategy(%q) = %q, %v; expected %q", tt.input, got, err, tt.want)
		}
	}
}

func TestNewRejectsUnknownStrategy(t *testing.T) {
	f := newFixture(t, true)
	_, err := New(Options{Engine: f.engine, WakeStrategy: "eager"})
	if err == nil || !strings.Contains(err.Error(), `"eager"`) {
		t.Fatalf("New with strategy eager: error = %v, expected one naming the value", err)
	}
}

func TestNavigationGetsPageAndBeginsWake(t *testing.T) {
	f := newFixture(t, false)
	f.provider.delay = time.Second

	begin := time.Now()
	w := f.do(appRequest(t, "GET", "/some/path?x=1", nil, browserHeaders...))
	if elapsed := time.Since(begin); elapsed > f.provider.delay/2 {
		t.Errorf("the waiting page took %s, expected it at once, before the %s start", elapsed, f.provider.delay)
	}
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("waiting page without Retry-After")
	}
	if !strings.Contains(w.Body.String(), "Waking up the app") {
		t.Errorf("body is not the waiting page: %s", w.Body)
	}

	h, _ := f.engine.Lookup("hello")
	testwait.Until(t, 5*time.Second, "the app to run after the waiting page", func() bool { return h.State() == engine.StateRunning })
	if got := f.provider.starts.Load(); got != 1 {
		t.Errorf("starts = %d, expected 1", got)
	}
}

func TestBlockingStrategyHoldsNavigation(t *testing.T) {
	f := newFixture(t, false, func(opts *Options) { opts.WakeStrategy = WakeBlocking })
	w := f.do(appRequest(t, "GET", "/some/path?x=1", nil, browserHeaders...))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, expected 200 after the held wake; body %s", w.Code, w.Body)
	}
	if got, want := w.Body.String(), "hello /some/path?x=1 "; got != want {
		t.Errorf("body = %q, expected the app's answer %q", got, want)
	}
}

func TestPageStrategyHoldsPostAndKeepsItsBody(t *testing.T) {
	f := newFixture(t, false, func(opts *Options) { opts.WakeStrategy = WakePage })
	w := f.do(appRequest(t, "POST", "/submit", strings.NewReader("form=1"), browserHeaders...))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, expected 200; body %s", w.Code, w.Body)
	}
	if got, want := w.Body.String(), "hello /submit form=1"; got != want {
		t.Errorf("body = %q, expected %q", got, want)
	}
}

func TestPageStrategyServesPageToAPIClient(t *testing.T) {
	f := newFixture(t, false, func(opts *Options) { opts.WakeStrategy = WakePage })
	f.provider.delay = time.Second
	w := f.do(appRequest(t, "GET", "/api", nil, "Accept", "application/json"))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, expected 503", w.Code)
	}
	if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, expected the waiting page's HTML", got)
	}
}
