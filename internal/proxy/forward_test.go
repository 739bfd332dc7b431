package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/paastis/paastis/internal/testwait"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// front serves the fixture's proxy on a real listener, so that requests go
// through net/http's server as in production.
func (f *fixture) front(t *testing.T) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(f.proxy)
	t.Cleanup(server.Close)
	return server
}

// get sends a GET for the fixture's app to server and returns the
// response with its body unread.
func get(t *testing.T, ctx context.Context, server *httptest.Server, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "hello.localhost"
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

// streamingUpstream writes one line, then waits for release (or for the
// request to end) before it writes the last line.
func streamingUpstream(release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-release:
			fmt.Fprintln(w, "last")
		case <-r.Context().Done():
		}
	})
}

func TestStreamCountsAsActivityForItsWholeLife(t *testing.T) {
	release := make(chan struct{})
	f := newFixtureWithUpstream(t, true, streamingUpstream(release))
	h, _ := f.engine.Lookup("hello")

	resp := get(t, t.Context(), f.front(t), "/stream")
	defer resp.Body.Close()
	reader := bufio.NewReader(resp.Body)
	if line, err := reader.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line = %q, %v", line, err)
	}
	if got := h.InFlight(); got != 1 {
		t.Errorf("in-flight = %d during the stream, expected 1", got)
	}
	duringStream := h.LastAccess()

	close(release)
	rest, err := io.ReadAll(reader)
	if err != nil || string(rest) != "last\n" {
		t.Fatalf("rest of the stream = %q, %v", rest, err)
	}
	testwait.Until(t, 5*time.Second, "the stream's end to be recorded", func() bool { return h.InFlight() == 0 })
	if got := h.LastAccess(); !got.After(duringStream) {
		t.Errorf("last access %v did not move at the end of the stream (was %v)", got, duringStream)
	}
}

func TestWebsocketCountsAsActivityUntilClosed(t *testing.T) {
	f := newFixtureWithUpstream(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		for {
			kind, data, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			if err := conn.Write(r.Context(), kind, data); err != nil {
				return
			}
		}
	}))
	h, _ := f.engine.Lookup("hello")
	server := f.front(t)

	conn, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(server.URL, "http")+"/ws", &websocket.DialOptions{Host: "hello.localhost"})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.CloseNow()
	if err := conn.Write(t.Context(), websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, data, err := conn.Read(t.Context()); err != nil || string(data) != "ping" {
		t.Fatalf("echo = %q, %v", data, err)
	}
	if got := h.InFlight(); got != 1 {
		t.Errorf("in-flight = %d with an open websocket, expected 1", got)
	}

	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
	testwait.Until(t, 5*time.Second, "the websocket's end to be recorded", func() bool { return h.InFlight() == 0 })
}

func TestClientHangUpMidBodyLogs499(t *testing.T) {
	var logs logBuffer
	f := newFixtureWithUpstream(t, true, streamingUpstream(nil), captureLogs(&logs))
	h, _ := f.engine.Lookup("hello")

	ctx, cancel := context.WithCancel(t.Context())
	resp := get(t, ctx, f.front(t), "/stream")
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line = %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()

	testwait.Until(t, 5*time.Second, "a 499 log line", func() bool { return logs.Contains("status=499") })
	testwait.Until(t, 5*time.Second, "the request's end to be recorded", func() bool { return h.InFlight() == 0 })
	if text := logs.String(); !strings.Contains(text, `msg="client closed the request" app=hello status=499 path=/stream`) {
		t.Errorf("the 499 line lacks the app or the path:\n%s", text)
	}
	if text := logs.String(); strings.Contains(text, "status=502") || strings.Contains(text, "upstream request failed") {
		t.Errorf("a client hang-up was logged as an upstream failure:\n%s", text)
	}
}

func TestClientHangUpBeforeResponseLogs499(t *testing.T) {
	var logs logBuffer
	received := make(chan struct{})
	f := newFixtureWithUpstream(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(received)
		<-r.Context().Done()
	}), captureLogs(&logs))

	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", f.front(t).URL+"/slow", nil)
		req.Host = "hello.localhost"
		_, err := http.DefaultClient.Do(req)
		errs <- err
	}()
	<-received
	cancel()
	if err := <-errs; err == nil {
		t.Fatal("the canceled request succeeded")
	}

	testwait.Until(t, 5*time.Second, "a 499 log line", func() bool { return logs.Contains("status=499") })
	if text := logs.String(); !strings.Contains(text, "app=hello status=499") {
		t.Errorf("the 499 line does not name the app:\n%s", text)
	}
	if text := logs.String(); strings.Contains(text, "status=502") {
		t.Errorf("a client hang-up was logged as 502:\n%s", text)
	}
}

func TestUpstreamCutMidBodyIsNotLoggedAs499(t *testing.T) {
	var logs logBuffer
	f := newFixtureWithUpstream(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Promise 100 bytes, send 6, and drop the connection.
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst\n")
		buf.Flush()
	}), captureLogs(&logs))

	// The proxy drops the client's connection, before or after the
	// response headers depending on its buffering.
	server := f.front(t)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", server.URL+"/download", nil)
	req.Host = "hello.localhost"
	if resp, err := server.Client().Do(req); err == nil {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("the client read a cut body %q without an error", body)
		}
	}

	testwait.Until(t, 5*time.Second, "the copy error in the logs", func() bool { return logs.Contains("read error during body copy") })
	if text := logs.String(); !strings.Contains(text, "app=hello") {
		t.Errorf("the copy error does not name the app:\n%s", text)
	}
	if text := logs.String(); strings.Contains(text, "status=499") {
		t.Errorf("an upstream failure was logged as a client hang-up:\n%s", text)
	}
}

func TestUnreadRequestBodyIsNotReplayed(t *testing.T) {
	var requests atomic.Int64
	f := newFixtureWithUpstream(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		// Drop the connection without reading the body or responding.
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	server := f.front(t)

	req, err := http.NewRequestWithContext(t.Context(), "POST", server.URL+"/upload", bytes.NewReader(bytes.Repeat([]byte("x"), 64<<10)))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "hello.localhost"
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()

	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d, expected 502", resp.StatusCode)
	}
	if got := requests.Load(); got != 1 {
		t.Errorf("the upstream received %d requests, expected 1: a request body must not be sent twice", got)
	}
}

func TestBufferPoolReusesBuffers(t *testing.T) {
	pool := newBufferPool()
	buf := pool.Get()
	if len(buf) != copyBufferSize {
		t.Fatalf("Get returned %d bytes, expected %d", len(buf), copyBufferSize)
	}
	pool.Put(buf[:10])
	again := pool.Get()
	if len(again) != copyBufferSize {
		t.Errorf("Get after Put of a resliced buffer returned %d bytes, expected %d", len(again), copyBufferSize)
	}
	pool.Put(make([]byte, 100))
	if got := pool.Get(); len(got) != copyBufferSize {
		t.Errorf("a foreign buffer of 100 bytes came back from the pool: %d bytes", len(got))
	}
}
