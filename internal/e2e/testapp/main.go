// Command testapp is the app that the end-to-end tests run under the local
// provider. It records each start in the file named by START_LOG, responds
// with its name and pid, streams, sends server-sent events, echoes
// websocket messages and delays responses on request. BOOT_DELAY, a Go
// duration, delays the moment it starts listening, like an app with a slow
// boot.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

func main() {
	name := os.Getenv("APP_NAME")
	if path := os.Getenv("START_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			log.Fatalf("open START_LOG: %v", err)
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
	}

	if value := os.Getenv("BOOT_DELAY"); value != "" {
		delay, err := time.ParseDuration(value)
		if err != nil {
			log.Fatalf("invalid BOOT_DELAY %q: %v", value, err)
		}
		time.Sleep(delay)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s (pid %d) %s", name, os.Getpid(), r.URL.RequestURI())
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		duration, _ := time.ParseDuration(r.URL.Query().Get("for"))
		flusher := w.(http.Flusher)
		deadline := time.Now().Add(duration)
		for i := 0; time.Now().Before(deadline); i++ {
			if _, err := fmt.Fprintf(w, "chunk %d\n", i); err != nil {
				return
			}
			flusher.Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintln(w, "done")
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		duration, _ := time.ParseDuration(r.URL.Query().Get("for"))
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		flusher := w.(http.Flusher)
		deadline := time.Now().Add(duration)
		for i := 0; time.Now().Before(deadline); i++ {
			if _, err := fmt.Fprintf(w, "data: tick %d\n\n", i); err != nil {
				return
			}
			flusher.Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "event: done\ndata: done\n\n")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		fmt.Println("slow request received")
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(w, "slow answer after %dms", ms)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		// Browsers send the Origin of the proxied host, such as
		// http://alpha.localhost:3000, while the Host header that reaches
		// the app is its own 127.0.0.1 address.
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"*.localhost:*"}})
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
	})

	server := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
