package local_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// buildExamples compiles the example apps once, because "go run" would
// compile them at every start.
func buildExamples(t *testing.T) (hello, clock string) {
	t.Helper()
	dir := t.TempDir()
	hello = filepath.Join(dir, "hello")
	clock = filepath.Join(dir, "clock")
	for binary, pkg := range map[string]string{hello: "hello", clock: "clock"} {
		source := filepath.Join("..", "..", "..", "examples", "local", pkg)
		cmd := exec.CommandContext(t.Context(), "go", "build", "-o", binary, "./"+source)
		if output, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", source, err, output)
		}
	}
	return hello, clock
}

func TestExampleApps(t *testing.T) {
	t.Parallel()
	hello, clock := buildExamples(t)
	provider, logs := newProvider(t, fmt.Sprintf(`apps:
  - name: hello
    command: [%q]
    env:
      GREETING: Bonjour
    readiness_path: /healthz
  - name: clock
    command: [%q]
    readiness_path: /healthz
  - name: hello-wrapped
    # The shell stays the leader and dies on SIGTERM before hello has
    # shut down, as "go run" does.
    command: %q
    env:
      APP_NAME: hello-wrapped
`, hello, clock, hello+"; echo wrapper done"))

	t.Run("hello answers on its port", func(t *testing.T) {
		app := startApp(t, provider, "hello")
		waitForHTTP(t, app.URL+app.ReadinessPath)

		status, body := httpGet(t, app.URL+"/")

		if status != http.StatusOK {
			t.Errorf("GET / status = %d, want %d", status, http.StatusOK)
		}
		want := fmt.Sprintf("Bonjour from hello (pid %s, started at ", app.Details["pid"])
		if !strings.HasPrefix(body, want) {
			t.Errorf("GET / body = %q, want prefix %q", body, want)
		}
	})

	t.Run("hello shuts down cleanly on SIGTERM", func(t *testing.T) {
		app := startApp(t, provider, "hello")
		waitForHTTP(t, app.URL+app.ReadinessPath)

		if _, err := provider.Stop(t.Context(), app); err != nil {
			t.Fatalf("Stop: %v", err)
		}

		if found := findOutput(logs, "hello", "hello stopped cleanly"); found != 1 {
			t.Errorf("found %d clean shutdown lines, want 1", found)
		}
		if found := logs.find("app process stopped", map[string]string{"app": "hello", "status": "exit status 0"}); len(found) != 1 {
			t.Errorf("found %d stop records with exit status 0, want 1", len(found))
		}
	})

	t.Run("hello behind a shell shuts down cleanly", func(t *testing.T) {
		app := startApp(t, provider, "hello-wrapped")
		waitForHTTP(t, app.URL+"/healthz")

		if _, err := provider.Stop(t.Context(), app); err != nil {
			t.Fatalf("Stop: %v", err)
		}

		if found := findOutput(logs, "hello-wrapped", "hello stopped cleanly"); found != 1 {
			t.Errorf("found %d clean shutdown lines, want 1", found)
		}
		if found := findOutput(logs, "hello-wrapped", "wrapper done"); found != 0 {
			t.Errorf("found %d wrapper lines, want none because the shell died on SIGTERM", found)
		}
	})

	t.Run("clock streams chunks", func(t *testing.T) {
		app := startApp(t, provider, "clock")
		waitForHTTP(t, app.URL+app.ReadinessPath)

		status, body := httpGet(t, app.URL+"/stream?seconds=1")

		if status != http.StatusOK {
			t.Errorf("GET /stream status = %d, want %d", status, http.StatusOK)
		}
		if chunks := strings.Count(body, "chunk "); chunks < 3 || chunks > 6 {
			t.Errorf("GET /stream?seconds=1 returned %d chunks, want about 5 at 200ms intervals:\n%s", chunks, body)
		}
		status, _ = httpGet(t, app.URL+"/stream?seconds=-1")
		if status != http.StatusBadRequest {
			t.Errorf("GET /stream?seconds=-1 status = %d, want %d", status, http.StatusBadRequest)
		}
	})

	t.Run("clock ends open event streams on SIGTERM", func(t *testing.T) {
		app := startApp(t, provider, "clock")
		waitForHTTP(t, app.URL+app.ReadinessPath)

		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		request, err := http.NewRequestWithContext(t.Context(), http.MethodGet, app.URL+"/events", nil)
		if err != nil {
			t.Fatalf("build request: %v", err)
		}
		response, err := client.Do(request)
		if err != nil {
			t.Fatalf("GET /events: %v", err)
		}
		defer response.Body.Close()
		if contentType := response.Header.Get("Content-Type"); contentType != "text/event-stream" {
			t.Errorf("Content-Type = %q, want %q", contentType, "text/event-stream")
		}
		reader := bufio.NewReader(response.Body)
		firstLine, err := reader.ReadString('\n')
		if err != nil || firstLine != "id: 1\n" {
			t.Fatalf("first event line = %q, %v; want %q", firstLine, err, "id: 1\n")
		}

		stopped := make(chan error, 1)
		go func() {
			_, err := provider.Stop(t.Context(), app)
			stopped <- err
		}()
		// The stream must end because the app cancels it on SIGTERM, well
		// before the 10s grace period would end it with SIGKILL.
		rest, _ := readUntilEOF(reader)
		if err := <-stopped; err != nil {
			t.Fatalf("Stop: %v", err)
		}

		if !strings.Contains(firstLine+rest, "event: tick") {
			t.Errorf("event stream lacks a tick event: %q", firstLine+rest)
		}
		if found := findOutput(logs, "clock", "clock stopped cleanly"); found != 1 {
			t.Errorf("found %d clean shutdown lines, want 1", found)
		}
		state, err := provider.State(t.Context(), app)
		if state != engine.StateStopped || err != nil {
			t.Errorf("State after Stop = %q, %v; want %q, nil", state, err, engine.StateStopped)
		}
	})
}

// waitForHTTP polls url until it returns 200, as the engine's readiness
// probe does.
func waitForHTTP(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	eventually(t, 20*time.Second, func() (bool, string) {
		request, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			return false, err.Error()
		}
		response, err := client.Do(request)
		if err != nil {
			return false, err.Error()
		}
		response.Body.Close()
		return response.StatusCode == http.StatusOK, "status " + strconv.Itoa(response.StatusCode)
	})
}

// findOutput returns how many output records of the app contain text.
func findOutput(logs *logRecorder, app, text string) int {
	count := 0
	for _, entry := range logs.find("app output", map[string]string{"app": app}) {
		if strings.Contains(entry.attrs["line"], text) {
			count++
		}
	}
	return count
}

func readUntilEOF(reader *bufio.Reader) (string, error) {
	var b strings.Builder
	_, err := reader.WriteTo(&b)
	return b.String(), err
}
