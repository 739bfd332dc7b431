package api_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paastis/paastis/internal/engine"
)

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

var screenshotPath = flag.String("screenshot", "", "write a PNG of the dashboard to this path, such as ../../docs/dashboard.png")

// newBrowser starts a headless Chromium with a fresh profile and returns
// the context of its first tab. The browser stops when the test ends.
func newBrowser(t *testing.T) (context.Context, *consoleErrors) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is missing at %s (%v): run `make test-deps`", chromiumPath, err)
	}
	allocatorCtx, cancelAllocator := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 520),
	)
	t.Cleanup(cancelAllocator)
	ctx, cancelTab := chromedp.NewContext(allocatorCtx)
	t.Cleanup(cancelTab)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)

	// Console subscribes at once, so that no message of the page is lost.
	messages := chromedp.Console(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	errs := &consoleErrors{}
	go func() {
		for message, err := range messages {
			if err != nil {
				return
			}
			if message.Type == chromedp.ConsoleError || message.IsException() {
				errs.add(message.String())
			}
		}
	}()
	return ctx, errs
}

// consoleErrors collects the page's exceptions and error logs, which
// include Content-Security-Policy violations.
type consoleErrors struct {
	mu   sync.Mutex
	list []string
}

func (c *consoleErrors) add(message string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, message)
}

func (c *consoleErrors) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.list...)
}

// row returns the selector of an app's row, in a state when state is set,
// and of the element inside it that inner selects.
func row(app string, state engine.State, inner string) chromedp.CSS {
	selector := fmt.Sprintf(`tr[data-app=%q]`, app)
	if state != "" {
		selector += fmt.Sprintf(`[data-state=%q]`, state)
	}
	if inner != "" {
		selector += " " + inner
	}
	return chromedp.CSS(selector)
}

func TestDashboardInBrowser(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})
	browser, consoleErrs := newBrowser(t)
	blog, _ := w.engine.Lookup("blog")

	// Sign in, then wait for the script's first refresh and the event
	// stream.
	err := chromedp.Do(browser,
		chromedp.Navigate(w.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), adminToken),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(row("blog", engine.StateRunning, "")),
		chromedp.WaitVisible(row("shop", engine.StateStopped, "")),
		chromedp.WaitVisible(row("legacy", engine.StateRunning, "")),
		chromedp.WaitVisible(chromedp.CSS("#status:not(.offline)")),
		// A marker that a reload would erase.
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
	)
	if err != nil {
		t.Fatalf("sign in and list the apps: %v", err)
	}
	legacyStop, err := chromedp.Run(browser, chromedp.Evaluate[bool](
		`document.querySelector('tr[data-app="legacy"] button[data-action="stop"]').disabled`))
	if err != nil {
		t.Fatal(err)
	}
	if !legacyStop {
		t.Error("the sleep button of the ignored app legacy is enabled")
	}

	// The sleep button stops blog, and the row follows.
	err = chromedp.Do(browser,
		chromedp.Click(row("blog", "", `button[data-action="stop"]`), chromedp.NodeEnabled),
		chromedp.WaitVisible(row("blog", engine.StateStopped, "")),
	)
	if err != nil {
		t.Fatalf("click sleep on blog: %v", err)
	}
	stateText, err := chromedp.Run(browser, chromedp.Text(row("blog", "", ".state")))
	if err != nil {
		t.Fatal(err)
	}
	if blog.State() != engine.StateStopped {
		t.Errorf("engine state of blog = %s after the click, expected stopped", blog.State())
	}
	if strings.TrimSpace(stateText) != "stopped" {
		t.Errorf("state shown = %q, expected stopped", stateText)
	}

	// A start made elsewhere shows up too, through the event stream.
	if err := w.engine.Start(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(browser, chromedp.WaitVisible(row("shop", engine.StateRunning, ""))); err != nil {
		t.Fatalf("wait for shop running: %v", err)
	}
	notReloaded, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.notReloaded === true`))
	if err != nil {
		t.Fatal(err)
	}
	if !notReloaded {
		t.Error("the page reloaded, expected the table updated in place")
	}

	if errs := consoleErrs.all(); len(errs) > 0 {
		t.Errorf("the page logged errors, such as policy violations: %q", errs)
	}
}

// TestDashboardScreenshot writes the screenshot of the documentation when
// the -screenshot flag names a file:
//
//	go test ./internal/api -run Screenshot -screenshot=../../docs/dashboard.png
func TestDashboardScreenshot(t *testing.T) {
	if *screenshotPath == "" {
		t.Skip("no -screenshot path given")
	}
	provider := newFakeProvider(t)
	provider.name = "scalingo"
	for name, state := range map[string]engine.State{
		"api-staging": engine.StateRunning, "blog": engine.StateRunning, "docs": engine.StateRunning,
		"review-pr-42": engine.StateStopped, "shop-demo": engine.StateStopped,
	} {
		provider.add(t, name, state)
	}
	// The apps were discovered two hours ago, then got requests at
	// different times.
	var offset atomic.Int64
	offset.Store(int64(-2 * time.Hour))
	e := newEngine(t, provider, engineOptions{
		ignored:     []string{"docs"},
		maxIdleTime: 30 * time.Minute,
		now:         func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
	})
	offset.Store(0)
	for name, ago := range map[string]time.Duration{"api-staging": 3 * time.Minute, "blog": 21 * time.Minute, "shop-demo": 47 * time.Minute} {
		h, _ := e.Lookup(name)
		h.Touch(time.Now().Add(-ago))
	}
	api, _ := e.Lookup("api-staging")
	api.Begin(time.Now().Add(-3 * time.Minute))
	defer api.End(time.Now())
	server, _ := newAdminServer(t, apiOptions(e, "v1.0.0"))
	browser, _ := newBrowser(t)

	err := chromedp.Do(browser,
		chromedp.Navigate(server.URL+"/"),
		chromedp.WaitVisible(row("shop-demo", engine.StateStopped, "")),
		chromedp.WaitVisible(chromedp.CSS("#status:not(.offline)")),
	)
	if err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}
	// Quality 100 gives a PNG of the whole page.
	png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(*screenshotPath, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
