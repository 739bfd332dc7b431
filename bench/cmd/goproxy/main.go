// Command goproxy is the plainest Go reverse proxy, the baseline that
// shows what paastis adds to net/http/httputil: one ReverseProxy toward
// one upstream, with the default transport and no other setting.
//
// Usage:
//
//	goproxy -listen 127.0.0.1:PORT -upstream http://127.0.0.1:PORT
//
// Like paastis, it rewrites the request to the upstream URL and sets the
// X-Forwarded-* headers. http.DefaultTransport keeps at most 2 idle
// connections per upstream host. With more concurrent clients than that,
// the proxy opens and closes upstream connections all the time. That
// default is kept on purpose, because a minimal Go proxy gets it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger, os.Args[1:]); err != nil {
		logger.Error("goproxy failed", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger, args []string) error {
	flags := flag.NewFlagSet("goproxy", flag.ContinueOnError)
	listen := flags.String("listen", "127.0.0.1:8090", "address to listen on, as host:port")
	upstream := flags.String("upstream", "", "base URL of the upstream, such as http://127.0.0.1:8080 (required)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	target, err := url.Parse(*upstream)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return fmt.Errorf("invalid -upstream %q: give a base URL such as http://127.0.0.1:8080", *upstream)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
		},
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w: pick a free address", *listen, err)
	}
	server := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	logger.Info("goproxy listening", "address", listener.Addr().String(), "upstream", target.String())

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
