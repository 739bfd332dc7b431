// Command clock is a demo app for the local provider of paastis, with
// long-lived responses to try how paastis treats busy apps. It serves on
// 127.0.0.1 and the port given in the PORT variable:
//
//	/          the current time
//	/healthz   a health check
//	/stream    a plain text chunk every 200ms for ?seconds=N (default 5)
//	/events    server-sent events, one per second, for ?seconds=N (default
//	           until the client disconnects)
//
// It shuts down cleanly on SIGTERM or SIGINT, ending the open streams.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

const (
	// shutdownTimeout is how long in-flight requests may run after SIGTERM.
	shutdownTimeout = 5 * time.Second
	// streamInterval is the delay between two chunks of /stream.
	streamInterval = 200 * time.Millisecond
	// maxSeconds caps the seconds parameter of /stream and /events.
	maxSeconds = 3600
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("clock stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	port := os.Getenv("PORT")
	if port == "" {
		return errors.New("missing PORT variable: set PORT to the port to listen on, such as PORT=8082")
	}
	startedAt := time.Now()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "The clock reads %s (pid %d, started at %s)\n",
			time.Now().Format(time.RFC3339), os.Getpid(), startedAt.Format(time.RFC3339))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /stream", serveStream)
	mux.HandleFunc("GET /events", serveEvents)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("listen on port %q: %w", port, err)
	}
	// Request contexts derive from requestsCtx, so cancelling it ends the
	// streams, which Shutdown would otherwise wait for.
	requestsCtx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	server := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return requestsCtx },
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()
	logger.Info("clock listening", "addr", listener.Addr().String(), "pid", os.Getpid())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("clock shutting down")
	cancelRequests()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	logger.Info("clock stopped cleanly")
	return nil
}

// serveStream writes one line every 200ms for the requested seconds.
func serveStream(w http.ResponseWriter, r *http.Request) {
	seconds, err := secondsParam(r, 5)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	controller := http.NewResponseController(w)

	ticker := time.NewTicker(streamInterval)
	defer ticker.Stop()
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for chunk := 1; ; chunk++ {
		fmt.Fprintf(w, "chunk %d at %s\n", chunk, time.Now().Format(time.RFC3339Nano))
		if err := controller.Flush(); err != nil {
			return
		}
		if !time.Now().Add(streamInterval).Before(deadline) {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-ticker.C:
		}
	}
}

// serveEvents sends a "tick" server-sent event every second, for the
// requested seconds or, when none are given, until the client disconnects.
func serveEvents(w http.ResponseWriter, r *http.Request) {
	seconds, err := secondsParam(r, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	controller := http.NewResponseController(w)

	ctx := r.Context()
	if seconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
		defer cancel()
	}

	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for id := 1; ; id++ {
		fmt.Fprintf(w, "id: %d\nevent: tick\ndata: %s\n\n", id, time.Now().Format(time.RFC3339))
		if err := controller.Flush(); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// secondsParam returns the seconds query parameter, or fallback when it is
// absent.
func secondsParam(r *http.Request, fallback int) (int, error) {
	raw := r.URL.Query().Get("seconds")
	if raw == "" {
		return fallback, nil
	}
	seconds, err := strconv.Atoi(raw)
	if err != nil || seconds < 1 || seconds > maxSeconds {
		return 0, fmt.Errorf("invalid seconds %q: use a whole number from 1 to %d", raw, maxSeconds)
	}
	return seconds, nil
}
