// Command testapp is the app that the end-to-end tests run under the local
// provider. It records each start in the file named by START_LOG, answers
// with its name and pid, streams, echoes websocket messages and delays
// answers on request.
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
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		fmt.Println("slow request received")
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(w, "slow answer after %dms", ms)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
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
