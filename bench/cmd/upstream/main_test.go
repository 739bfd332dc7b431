package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHandlerServesEveryPath(t *testing.T) {
	listeningAt := time.Unix(1700000000, 123456789)
	server := httptest.NewServer(newHandler(listeningAt))
	defer server.Close()

	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/", http.StatusOK, body},
		{"/healthz", http.StatusOK, "ok\n"},
		{"/boot", http.StatusOK, strconv.FormatInt(listeningAt.UnixNano(), 10) + "\n"},
		{"/missing", http.StatusNotFound, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, server.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.wantStatus)
			}
			if string(got) != tt.wantBody {
				t.Errorf("GET %s: body %q, want %q", tt.path, got, tt.wantBody)
			}
		})
	}
}

func TestDurationEnvRejectsInvalidValue(t *testing.T) {
	t.Setenv("BOOT_DELAY", "one second")
	if _, err := durationEnv("BOOT_DELAY"); err == nil || !strings.Contains(err.Error(), "BOOT_DELAY") {
		t.Errorf("durationEnv error = %v, want one that names BOOT_DELAY", err)
	}
	t.Setenv("BOOT_DELAY", "")
	if d, err := durationEnv("BOOT_DELAY"); err != nil || d != 0 {
		t.Errorf("durationEnv of an unset variable = %s, %v, want 0", d, err)
	}
}
