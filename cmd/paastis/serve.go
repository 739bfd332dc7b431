package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/paastis/paastis/internal/config"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/hooks"
	"github.com/paastis/paastis/internal/proxy"
)

// serve runs paastis until ctx ends (SIGINT or SIGTERM), then shuts down:
// stop accepting connections, let in-flight requests finish within
// SHUTDOWN_TIMEOUT, stop the scheduler, stop the local child processes.
func serve(ctx context.Context, stderr io.Writer) int {
	getenv, err := config.Environ(".env")
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}
	cfg, planned, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}
	logger := newLogger(stderr, cfg)

	parts, err := build(ctx, cfg, planned, logger)
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}

	address := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	listener, err := net.Listen("tcp", address)
	if err != nil {
		fmt.Fprintf(stderr, "paastis: listen on %s: %v (set HOST and PORT to a free address)\n", address, err)
		parts.close(logger)
		return 1
	}
	server := &http.Server{
		Handler:           parts.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	var running sync.WaitGroup
	running.Add(1)
	go func() {
		defer running.Done()
		parts.engine.Run(runCtx, parts.schedule)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()
	logger.Info("paastis listening", "address", listener.Addr().String(), "provider", cfg.ProviderName,
		"registry", cfg.RegistryType, "max_idle_time", cfg.MaxIdleTime, "version", version)

	code := 0
	select {
	case <-ctx.Done():
		logger.Info("shutting down: no new connections, waiting for requests in flight", "timeout", cfg.ShutdownTimeout)
	case err := <-serveErr:
		logger.Error("server stopped", "error", err)
		code = 1
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		logger.Warn("requests still in flight at the shutdown timeout were cut", "error", err)
		_ = server.Close()
	}
	stopRun()
	running.Wait()
	parts.engine.Close()
	parts.close(logger)
	logger.Info("paastis stopped")
	return code
}

// checkConfig validates the configuration without starting anything.
func checkConfig(ctx context.Context, stdout, stderr io.Writer) int {
	getenv, err := config.Environ(".env")
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}
	cfg, _, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "configuration is valid: provider %s, registry %s, max idle time %s, sweep %q\n",
		cfg.ProviderName, cfg.RegistryType, cfg.MaxIdleTime, cfg.CheckingCron)
	return 0
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	options := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, options))
	}
	return slog.New(slog.NewTextHandler(w, options))
}

// parts holds what serve builds from the configuration.
type parts struct {
	engine   *engine.Engine
	handler  http.Handler
	schedule engine.Schedule
	closers  []func(context.Context) error
}

func (p *parts) close(logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(p.closers) - 1; i >= 0; i-- {
		if err := p.closers[i](ctx); err != nil {
			logger.Error("shutdown step failed", "error", err)
		}
	}
}

// loadConfig loads and validates the whole configuration, the provider's
// and registry's variables included, and reports every problem at once.
func loadConfig(getenv config.Getenv) (*config.Config, *plan, error) {
	cfg, err := config.Load(getenv)
	problems := &config.Error{}
	if err != nil && !errors.As(err, &problems) {
		return nil, nil, err
	}
	planned := makePlan(cfg, getenv, problems)
	if err := problems.Err(); err != nil {
		return nil, nil, err
	}
	return cfg, planned, nil
}

// build creates the providers, the registry, the engine and the handler.
func build(ctx context.Context, cfg *config.Config, planned *plan, logger *slog.Logger) (*parts, error) {
	p := &parts{}
	schedule, err := config.ParseCron(cfg.CheckingCron)
	if err != nil {
		return nil, err
	}
	p.schedule = schedule

	if len(planned.providers) == 0 {
		return nil, errUnknownProvider(cfg.ProviderName)
	}
	providers := map[string]engine.Provider{}
	for name, factory := range planned.providers {
		provider, closer, err := factory(logger)
		if err != nil {
			p.close(logger)
			return nil, fmt.Errorf("provider %s: %w", name, err)
		}
		providers[name] = provider
		if closer != nil {
			p.closers = append(p.closers, closer)
		}
	}

	registry, closer, err := planned.registry(ctx, logger.With("component", "registry"))
	if err != nil {
		p.close(logger)
		return nil, err
	}
	if closer != nil {
		p.closers = append(p.closers, closer)
	}

	runner := hooks.New(hooks.Commands{
		BeforeStart: cfg.Hooks.BeforeStart,
		AfterStart:  cfg.Hooks.AfterStart,
		BeforeStop:  cfg.Hooks.BeforeStop,
		AfterStop:   cfg.Hooks.AfterStop,
	}, cfg.HooksTimeout, logger.With("component", "hooks"))

	e, err := engine.New(engine.Options{
		Providers:     providers,
		Registry:      registry,
		Hooks:         runner,
		Logger:        logger.With("component", "engine"),
		MaxIdleTime:   cfg.MaxIdleTime,
		Rules:         rules(cfg),
		FlushInterval: cfg.RedisFlushInterval,
	})
	if err != nil {
		p.close(logger)
		return nil, err
	}
	if err := e.Load(ctx); err != nil {
		p.close(logger)
		return nil, err
	}
	p.engine = e
	p.handler = proxy.New(proxy.Options{
		Engine:      e,
		Domain:      cfg.ProxyDomain,
		WakeTimeout: cfg.WakeTimeout,
		Logger:      logger.With("component", "proxy"),
	})
	return p, nil
}

// rules merges the ignore list and the config file's per-app rules.
func rules(cfg *config.Config) func(string) engine.Rule {
	return func(name string) engine.Rule {
		rule := cfg.RuleFor(name)
		return engine.Rule{
			MaxIdleTime:   rule.MaxIdleTime,
			ReadinessPath: rule.ReadinessPath,
			Ignored:       rule.Ignored || cfg.IgnoredApps.Match(name),
		}
	}
}
