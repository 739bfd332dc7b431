package main_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/paastis/paastis/internal/e2e"
)

// The waiting page polls the status endpoint at the proxy's default
// interval.
const statusPollInterval = time.Second

// chromiumPath returns the Chromium binary, or fails the test: CI installs
// it, so a missing browser is a broken setup, not a reason to skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("chromium"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("chromium not found on PATH nor at /usr/bin/chromium: run `make test-deps` to install it")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, stopped when
// the test ends, and returns its context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	allocator, cancelAllocator := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP *.localhost 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 640),
	)
	t.Cleanup(cancelAllocator)
	browser, cancelBrowser := chromedp.NewContext(allocator)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// tab is one browser tab, with the console messages and script errors of
// its pages.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	messages []string
}

// newTab opens a tab that sends acceptLanguage as Accept-Language.
func newTab(t *testing.T, browser context.Context, acceptLanguage string) *tab {
	t.Helper()
	tb := &tab{t: t}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithListener(tb.record))
	t.Cleanup(cancel)
	tb.ctx = ctx
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": acceptLanguage},
		})
		return err
	}))
	if err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tb
}

// record keeps the browser's log entries and uncaught script errors.
func (tb *tab) record(event any) {
	var message string
	switch event := event.(type) {
	case *log.EventEntryAdded:
		message = fmt.Sprintf("%s %s: %s", event.Entry.Source, event.Entry.Level, event.Entry.Text)
	case *runtime.EventExceptionThrown:
		details := event.ExceptionDetails
		message = fmt.Sprintf("uncaught: %s at %s:%d", details.Text, details.URL, details.LineNumber+1)
		if details.Exception != nil && details.Exception.Description != "" {
			message += ": " + details.Exception.Description
		}
	default:
		return
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.messages = append(tb.messages, message)
}

// checkNoPolicyViolation fails the test when the browser reported a
// Content-Security-Policy violation or an uncaught script error.
func (tb *tab) checkNoPolicyViolation() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, message := range tb.messages {
		if strings.Contains(message, "Content Security Policy") || strings.HasPrefix(message, "uncaught") {
			tb.t.Errorf("browser reported: %s", message)
		}
	}
}

// navigate loads url and returns the response of its document.
func (tb *tab) navigate(url string) *network.Response {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		tb.t.Fatalf("navigate to %s: %v", url, err)
	}
	return resp
}

// pageState is what the tab shows.
type pageState struct {
	URL  string `json:"url"`
	Text string `json:"text"`
}

// state returns the tab's URL and visible text. It fails while a page
// loads, so callers poll it.
func (tb *tab) state() (pageState, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[pageState](`({url: location.href, text: document.body ? document.body.innerText : ""})`))
}

// waitFor polls the tab until cond holds on its state, and returns that
// state, or fails the test after timeout.
func (tb *tab) waitFor(timeout time.Duration, what string, cond func(pageState) bool) pageState {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	var last pageState
	var lastErr error
	for {
		state, err := tb.state()
		if err == nil && cond(state) {
			return state
		}
		if err == nil {
			last = state
		}
		lastErr = err
		if time.Now().After(deadline) {
			tb.t.Fatalf("timed out after %s waiting for %s; the tab shows %s:\n%s\n(last error: %v)", timeout, what, last.URL, last.Text, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// evaluate runs a script that returns a promise and decodes its result.
func evaluate[T any](tb *tab, timeout time.Duration, script string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	result, err := chromedp.Run(ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("script failed: %v", err)
	}
	return result
}

// elapsedTime matches the elapsed time of the waiting page in English and
// French, in the text of the page.
var elapsedTime = regexp.MustCompile(`(?:Elapsed time|Temps écoulé)\n(\d+) s`)

// appURL returns the address of an app behind the world's paastis, as a
// visitor types it.
func (w *world) appURL(app, pathAndQuery string) string {
	return fmt.Sprintf("http://%s.localhost:%d%s", app, w.paastis.Port, pathAndQuery)
}

// slowBoot returns an app command that runs the test app after delay.
func slowBoot(t *testing.T, delay time.Duration) string {
	t.Helper()
	return fmt.Sprintf("BOOT_DELAY=%s exec %q", delay, build(t).testapp)
}

// TestBrowser drives one Chromium through one paastis, whose apps cover
// the cases: alpha, bravo and echo boot in two seconds, broken fails after
// one second, shop boots in a minute for the screenshots, and delta stops
// after one idle second.
func TestBrowser(t *testing.T) {
	const bootDelay = 2 * time.Second
	browser := newBrowser(t)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("apps:\n  - name: delta\n    max_idle_time: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWorld(t, []appSpec{
		{name: "alpha", command: slowBoot(t, bootDelay)},
		{name: "bravo", command: slowBoot(t, bootDelay)},
		{name: "broken", command: `sleep 1; echo "missing database URL" >&2; exit 3`},
		{name: "shop", command: slowBoot(t, time.Minute)},
		{name: "delta"},
		{name: "echo", command: slowBoot(t, bootDelay)},
	}, map[string]string{"PAASTIS_CONFIG": rules})

	// Begin waking shop now, so that its page shows a few seconds of
	// waiting when the screenshots are taken at the end.
	shop := newTab(t, browser, "en-US,en;q=0.9")
	if err := chromedp.Do(shop.ctx, chromedp.EmulateViewport(900, 640)); err != nil {
		t.Fatal(err)
	}
	shop.navigate(w.appURL("shop", "/cart?id=42"))

	t.Run("sleeping app opens at the same address", func(t *testing.T) {
		tb := newTab(t, browser, "en-US,en;q=0.9")
		const path = "/some/path?x=1"
		begin := time.Now()

		resp := tb.navigate(w.appURL("alpha", path))
		if resp.Status != http.StatusServiceUnavailable {
			t.Errorf("first response status = %d, expected the waiting page's 503", resp.Status)
		}
		first, err := tb.state()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(first.Text, "Waking up the app") || !strings.Contains(first.Text, "alpha") {
			t.Errorf("the first page is not the waiting page for alpha:\n%s", first.Text)
		}

		// Boot time, at most one poll interval, and a margin for the
		// process start, the readiness probe and the reload.
		const margin = 3 * time.Second
		final := tb.waitFor(bootDelay+statusPollInterval+margin+5*time.Second, "the app's own page", func(s pageState) bool {
			return strings.HasPrefix(s.Text, "hello from alpha")
		})
		elapsed := time.Since(begin)
		if limit := bootDelay + statusPollInterval + margin; elapsed > limit {
			t.Errorf("the app's page came after %s, expected at most %s", elapsed, limit)
		}
		if final.URL != w.appURL("alpha", path) {
			t.Errorf("the tab ended at %s, expected the address typed, %s", final.URL, w.appURL("alpha", path))
		}
		if !strings.HasSuffix(final.Text, path) {
			t.Errorf("the app received another path than %s: %q", path, final.Text)
		}
		if got := w.starts("alpha"); got != 1 {
			t.Errorf("app started %d times, expected 1", got)
		}
		tb.checkNoPolicyViolation()
	})

	t.Run("French visitor reads French", func(t *testing.T) {
		tb := newTab(t, browser, "fr-FR,fr;q=0.9,en;q=0.5")
		tb.navigate(w.appURL("bravo", "/"))
		first, err := tb.state()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Réveil de l'application", "Fournisseur", "Temps écoulé"} {
			if !strings.Contains(first.Text, want) {
				t.Errorf("the French waiting page lacks %q:\n%s", want, first.Text)
			}
		}
		tb.waitFor(bootDelay+statusPollInterval+10*time.Second, "the app's own page", func(s pageState) bool {
			return strings.HasPrefix(s.Text, "hello from bravo")
		})
		tb.checkNoPolicyViolation()
	})

	t.Run("failed start shows the failure", func(t *testing.T) {
		tb := newTab(t, browser, "en-US,en;q=0.9")
		tb.navigate(w.appURL("broken", "/"))
		failed := tb.waitFor(20*time.Second, "the failure", func(s pageState) bool {
			return strings.Contains(s.Text, "The app failed to start")
		})
		if !strings.Contains(failed.Text, "missing database URL") {
			t.Errorf("the page does not show the app's error:\n%s", failed.Text)
		}
		if !regexp.MustCompile(`The start failed at \d{1,2}:\d\d:\d\d`).MatchString(failed.Text) {
			t.Errorf("the page does not show the time of the failure:\n%s", failed.Text)
		}
		if strings.Contains(failed.Text, "Starting…") {
			t.Errorf("the page still says it is starting:\n%s", failed.Text)
		}
		if !strings.Contains(failed.Text, "Try again") {
			t.Errorf("the page offers no retry link:\n%s", failed.Text)
		}
		tb.checkNoPolicyViolation()
	})

	// The last two subtests mostly wait, so they run in parallel once the
	// others, which measure times, are done.
	t.Run("page without JavaScript reloads itself", func(t *testing.T) {
		t.Parallel()
		tb := newTab(t, browser, "en-US,en;q=0.9")
		err := chromedp.Do(tb.ctx, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
		if err != nil {
			t.Fatalf("disable JavaScript: %v", err)
		}

		tb.navigate(w.appURL("echo", "/page?lang=none"))
		first, err := tb.state()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(first.Text, "This page reloads by itself") {
			t.Errorf("the waiting page does not explain its reload without JavaScript:\n%s", first.Text)
		}
		// The page reloads every 5 seconds, its Retry-After value.
		final := tb.waitFor(5*time.Second+bootDelay+10*time.Second, "the app's own page", func(s pageState) bool {
			return strings.HasPrefix(s.Text, "hello from echo")
		})
		if !strings.HasSuffix(final.Text, "/page?lang=none") {
			t.Errorf("the app received another path: %q", final.Text)
		}
	})

	t.Run("event stream and websocket keep app up", func(t *testing.T) {
		t.Parallel()
		tb := newTab(t, browser, "en-US,en;q=0.9")
		tb.navigate(w.appURL("delta", "/"))
		tb.waitFor(20*time.Second, "the app's own page", func(s pageState) bool {
			return strings.HasPrefix(s.Text, "hello from delta")
		})

		// Hold an event stream and a quiet websocket open for 3.5 seconds
		// at once, more than three idle times, while the sweep runs every
		// second.
		sweeps := w.paastis.CountLog("sweep done")
		type result struct {
			Ticks int    `json:"ticks"`
			Echo  string `json:"echo"`
		}
		got := evaluate[result](tb, 30*time.Second, `new Promise((resolve, reject) => {
			const result = {ticks: 0, echo: ""};
			let pending = 2;
			const finish = () => { if (--pending === 0) resolve(result); };

			const events = new EventSource("/events?for=3500ms");
			events.onmessage = () => { result.ticks++; };
			events.addEventListener("done", () => { events.close(); finish(); });
			events.onerror = () => { events.close(); reject(new Error("event stream failed after " + result.ticks + " events")); };

			const socket = new WebSocket("ws://" + location.host + "/ws");
			socket.onopen = () => setTimeout(() => socket.send("ping"), 3500);
			socket.onmessage = (event) => { result.echo = event.data; socket.close(); finish(); };
			socket.onerror = () => reject(new Error("websocket failed"));
		})`)

		if got.Ticks < 20 {
			t.Errorf("the event stream delivered %d events in 3.5s, expected about 35", got.Ticks)
		}
		if got.Echo != "ping" {
			t.Errorf("the websocket echoed %q after 3.5s, expected ping", got.Echo)
		}
		if ran := w.paastis.CountLog("sweep done") - sweeps; ran < 3 {
			t.Errorf("%d sweeps ran while the connections were open, expected at least 3", ran)
		}
		if got := w.paastis.CountLog(`msg="stopping app" app=delta`); got != 0 {
			t.Errorf("the app was stopped %d times with open connections, expected 0", got)
		}
		if got := w.starts("delta"); got != 1 {
			t.Errorf("app started %d times, expected 1", got)
		}
		tb.checkNoPolicyViolation()
	})

	// Set PAASTIS_SCREENSHOT_DIR=docs (from the module root) to update the
	// screenshots of the documentation.
	t.Run("screenshots in English and French", func(t *testing.T) {
		dir := os.Getenv("PAASTIS_SCREENSHOT_DIR")
		if dir == "" {
			dir = t.TempDir()
		} else if !filepath.IsAbs(dir) {
			dir = filepath.Join(e2e.ModuleRoot(t), dir)
		}
		french := newTab(t, browser, "fr-FR,fr;q=0.9")
		if err := chromedp.Do(french.ctx, chromedp.EmulateViewport(900, 640)); err != nil {
			t.Fatal(err)
		}
		french.navigate(w.appURL("shop", "/cart?id=42"))

		for lang, tb := range map[string]*tab{"en": shop, "fr": french} {
			// The elapsed time counts from the wake that the first tab
			// began, before the other subtests.
			tb.waitFor(5*time.Second, "a few seconds of waiting", func(s pageState) bool {
				match := elapsedTime.FindStringSubmatch(s.Text)
				if match == nil {
					return false
				}
				seconds, _ := strconv.Atoi(match[1])
				return seconds >= 3
			})
			ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
			image, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			cancel()
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			config, err := png.DecodeConfig(bytes.NewReader(image))
			if err != nil {
				t.Fatalf("the %s screenshot is not a PNG: %v", lang, err)
			}
			if config.Width != 900 || config.Height != 640 {
				t.Errorf("the %s screenshot is %dx%d, expected 900x640", lang, config.Width, config.Height)
			}
			if err := os.WriteFile(filepath.Join(dir, "waiting-page-"+lang+".png"), image, 0o644); err != nil {
				t.Fatal(err)
			}
			tb.checkNoPolicyViolation()
		}
	})
}

func TestMonitorNeitherWakesNorKeepsAppAwake(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, map[string]string{
		"START_AND_STOP_MAX_IDLE_TIME": "1s",
		"ACTIVITY_IGNORED_USER_AGENTS": "(?i)uptimerobot",
	})
	monitor := http.Header{"User-Agent": {"Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"}}
	request := func(header http.Header) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		status, body, err := w.paastis.Request(ctx, http.MethodGet, "alpha", "/", header)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		return status, body
	}

	status, body := request(monitor)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "asleep") {
		t.Errorf("monitor on a sleeping app: status %d body %q, expected 503 saying the app is asleep", status, body)
	}
	if got := w.starts("alpha"); got != 0 {
		t.Fatalf("a monitor's request started the app %d times, expected 0", got)
	}

	if status, body := request(nil); status != http.StatusOK {
		t.Fatalf("visitor's request: status %d body %q", status, body)
	}
	if status, body := request(monitor); status != http.StatusOK || !strings.HasPrefix(body, "hello from alpha") {
		t.Errorf("monitor on a running app: status %d body %q, expected the app's answer", status, body)
	}

	// A monitor polling every 200ms must not keep the app awake past its
	// one-second idle time.
	deadline := time.Now().Add(15 * time.Second)
	for w.paastis.CountLog("stopping app") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the app was not stopped within 15s although only a monitor called it")
		}
		request(monitor)
		time.Sleep(200 * time.Millisecond)
	}
}

func TestClientHangUpMidStreamIsLogged499(t *testing.T) {
	w := startWorld(t, []appSpec{{name: "alpha"}}, nil)
	if status, _ := w.get("alpha", "/"); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.paastis.URL+"/stream?for=10s", nil)
	req.Host = "alpha.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, len("chunk 0\n"))
	if _, err := resp.Body.Read(chunk); err != nil {
		t.Fatalf("read the first chunk: %v", err)
	}
	cancel()
	resp.Body.Close()

	w.paastis.WaitLog(t, "status=499", 10*time.Second)
	if logs := w.paastis.Logs(); strings.Contains(logs, "status=502") || strings.Contains(logs, "upstream request failed") {
		t.Errorf("a client hang-up was logged as an upstream failure:\n%s", logs)
	}
}

func TestInvalidWakeSettingsStopStartUp(t *testing.T) {
	b := build(t)
	dir := t.TempDir()
	appsFile := filepath.Join(dir, "apps.yaml")
	if err := os.WriteFile(appsFile, []byte(fmt.Sprintf("apps:\n  - name: alpha\n    command: %q\n", b.testapp)), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenTemplate := filepath.Join(dir, "waiting.html")
	if err := os.WriteFile(brokenTemplate, []byte("<p>{{.App</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		variable string
		value    string
		want     []string
	}{
		{"template that does not parse", "WAKE_PAGE_TEMPLATE", brokenTemplate, []string{"parse waiting page template", brokenTemplate + ":1"}},
		{"invalid user agent expression", "ACTIVITY_IGNORED_USER_AGENTS", "(uptime", []string{"ACTIVITY_IGNORED_USER_AGENTS", "invalid regular expression"}},
		{"unknown strategy", "WAKE_STRATEGY", "eager", []string{"WAKE_STRATEGY", `"eager"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, b.paastis)
			cmd.Dir = dir
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"),
				"HOST=127.0.0.1",
				fmt.Sprintf("PORT=%d", e2e.FreePort(t)),
				"PROVIDER_LOCAL_CONFIG=" + appsFile,
				tt.variable + "=" + tt.value,
			}
			output, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("paastis kept running with %s=%s:\n%s", tt.variable, tt.value, output)
			}
			if err == nil {
				t.Fatalf("paastis exited with status 0:\n%s", output)
			}
			for _, want := range tt.want {
				if !strings.Contains(string(output), want) {
					t.Errorf("the start-up error does not contain %q:\n%s", want, output)
				}
			}
		})
	}
}
