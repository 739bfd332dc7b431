// Command upstream is the app that every benchmark target forwards to: a
// net/http server on 127.0.0.1 that returns a small fixed body. It can
// wait before it listens, to stand for an app that takes time to boot.
//
// Usage:
//
//	upstream [-port N] [-boot-delay D] [-boot-jitter D]
//
// The flags default to the PORT, BOOT_DELAY and BOOT_JITTER environment
// variables, so that the local provider of paastis can run it as an app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// body is the response to every request for "/". It is small so that the
// benchmarks measure the proxies rather than the copy of the body.
const body = "hello from the bench upstream\n"

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger, os.Args[1:]); err != nil {
		logger.Error("upstream failed", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger, args []string) error {
	flags := flag.NewFlagSet("upstream", flag.ContinueOnError)
	defaultPort, _ := strconv.Atoi(os.Getenv("PORT"))
	port := flags.Int("port", defaultPort, "TCP port to listen on, on 127.0.0.1 (default: $PORT)")
	defaultDelay, err := durationEnv("BOOT_DELAY")
	if err != nil {
		return err
	}
	defaultJitter, err := durationEnv("BOOT_JITTER")
	if err != nil {
		return err
	}
	bootDelay := flags.Duration("boot-delay", defaultDelay, "time to wait before listening, as a Go duration (default: $BOOT_DELAY or 0)")
	bootJitter := flags.Duration("boot-jitter", defaultJitter, "upper bound of a random time added to the boot delay, as a Go duration (default: $BOOT_JITTER or 0)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *port <= 0 || *port > 65535 {
		return fmt.Errorf("invalid port %d: set -port or PORT to a TCP port from 1 to 65535", *port)
	}
	if *bootDelay < 0 || *bootJitter < 0 {
		return fmt.Errorf("invalid boot delay %s or jitter %s: use durations of 0 or more", *bootDelay, *bootJitter)
	}
	delay := *bootDelay
	if *bootJitter > 0 {
		delay += rand.N(*bootJitter)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Stand for an app that boots slowly, such as one that loads its
	// configuration or connects to a database first.
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil
		}
	}

	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w: pick a free port", *port, err)
	}
	listeningAt := time.Now()

	server := &http.Server{
		Handler:           newHandler(listeningAt),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	logger.Info("upstream listening", "address", listener.Addr().String(), "boot_delay", delay)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// durationEnv returns the Go duration in the named environment variable,
// or 0 when it is unset.
func durationEnv(name string) (time.Duration, error) {
	value := os.Getenv(name)
	if value == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: %w: use a Go duration such as 1s", name, value, err)
	}
	return d, nil
}

// newHandler serves the fixed body on "/", 200 on "/healthz", and on
// "/boot" the time the server began listening, in Unix nanoseconds, so
// that a client can tell how long after readiness its response came. It
// switches on the path instead of using a ServeMux so that the upstream
// spends as little CPU per request as it can.
func newHandler(listeningAt time.Time) http.Handler {
	helloBody := []byte(body)
	bootBody := []byte(strconv.FormatInt(listeningAt.UnixNano(), 10) + "\n")
	// Every response shares this header value and never changes it.
	textPlain := []string{"text/plain; charset=utf-8"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header()["Content-Type"] = textPlain
			_, _ = w.Write(helloBody)
		case "/healthz":
			_, _ = w.Write([]byte("ok\n"))
		case "/boot":
			w.Header()["Content-Type"] = textPlain
			_, _ = w.Write(bootBody)
		default:
			http.NotFound(w, r)
		}
	})
}
