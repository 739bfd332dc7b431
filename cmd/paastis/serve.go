package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paastis/paastis/internal/api"
	"github.com/paastis/paastis/internal/config"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/hooks"
	"github.com/paastis/paastis/internal/metrics"
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
	if slices.Contains(cfg.ProviderNames, config.ProviderLocal) && cfg.RegistryType == config.RegistryRedis {
		logger.Warn("the local provider runs apps as child processes of each instance, so with several instances on one Redis an app started by one instance cannot be stopped by another: run one instance, or use a PaaS provider")
	}

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
	stopMetrics := parts.metrics.ObserveEngine(parts.engine)
	defer stopMetrics()
	server := &http.Server{
		Handler:           frontHandler(cfg, parts, logger),
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
	admin := startAdmin(cfg, parts, logger, serveErr)
	logger.Info("paastis listening", "address", listener.Addr().String(), "provider", strings.Join(cfg.ProviderNames, ","),
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
	adminDone := admin.shutdown(shutdownCtx)
	if err := server.Shutdown(shutdownCtx); err != nil {
		logger.Warn("requests still in flight at the shutdown timeout were cut", "error", err)
		_ = server.Close()
	}
	<-adminDone
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
	cfg, planned, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}
	// Creating a provider reads its files (the local apps file) and checks
	// its options, without any network call.
	quiet := slog.New(slog.DiscardHandler)
	for name, factory := range planned.providers {
		_, closer, err := factory(quiet, nil)
		if err != nil {
			fmt.Fprintf(stderr, "paastis: provider %s: %v\n", name, err)
			return 1
		}
		if closer != nil {
			_ = closer(ctx)
		}
	}
	fmt.Fprintf(stdout, "configuration is valid: provider %s, registry %s, max idle time %s, sweep %q\n",
		strings.Join(cfg.ProviderNames, ", "), cfg.RegistryType, cfg.MaxIdleTime, cfg.CheckingCron)
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
	metrics  *metrics.Metrics
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

	p.metrics = metrics.New(metrics.Options{Version: version})
	providers := map[string]engine.Provider{}
	for name, factory := range planned.providers {
		provider, closer, err := factory(logger, p.metrics.ProviderCallObserver(name))
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
	registry = p.metrics.InstrumentRegistry(registry)

	runner := hooks.New(hooks.Commands{
		BeforeStart: cfg.Hooks.BeforeStart,
		AfterStart:  cfg.Hooks.AfterStart,
		BeforeStop:  cfg.Hooks.BeforeStop,
		AfterStop:   cfg.Hooks.AfterStop,
	}, cfg.HooksTimeout, logger.With("component", "hooks"))

	e, err := engine.New(engine.Options{
		Providers:     providers,
		ProviderOrder: cfg.ProviderNames,
		Registry:      registry,
		Hooks:         runner,
		Logger:        logger.With("component", "engine"),
		MaxIdleTime:   cfg.MaxIdleTime,
		Rules:         rules(cfg),
		FlushInterval: cfg.RedisFlushInterval,
		LockTTL:       cfg.RedisLeaseTTL,
		SettleDelay:   cfg.WakeSettleDelay,
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
	handler, err := proxy.New(proxy.Options{
		Engine:              e,
		Domain:              cfg.ProxyDomain,
		WakeTimeout:         cfg.WakeTimeout,
		WakeStrategy:        proxy.WakeStrategy(cfg.WakeStrategy),
		WaitingPageTemplate: cfg.WakePageTemplate,
		IgnoredUserAgents:   cfg.IgnoredUserAgents,
		Logger:              logger.With("component", "proxy"),
	})
	if err != nil {
		p.close(logger)
		return nil, err
	}
	p.handler = handler
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

// frontHandler returns the handler of the proxy's listener: the proxy
// behind the request metrics, and the system API in front of both when
// ROUTING_SYSTEM_API_ENABLED is true, so that system API calls are not
// counted as proxied requests.
func frontHandler(cfg *config.Config, p *parts, logger *slog.Logger) http.Handler {
	var handler http.Handler = p.metrics.Proxy(p.handler)
	if cfg.SystemAPIEnabled {
		handler = api.SystemHandler(handler, api.SystemOptions{
			Engine: p.engine,
			Token:  cfg.SystemAPIToken,
			Logger: logger.With("component", "system-api"),
		})
	}
	return handler
}

// adminListener is the running admin listener, or nothing when it could
// not listen.
type adminListener struct {
	server *http.Server
	admin  *api.Admin
}

// startAdmin serves the admin API, the dashboard, the health checks and the
// metrics on ADMIN_HOST:ADMIN_PORT. A failed listen is logged and paastis
// goes on without them, because the proxy matters more than its admin
// listener. A serve error after the start is sent to serveErr.
func startAdmin(cfg *config.Config, p *parts, logger *slog.Logger, serveErr chan<- error) *adminListener {
	logger = logger.With("component", "admin")
	address := net.JoinHostPort(cfg.AdminHost, strconv.Itoa(cfg.AdminPort))
	listener, err := net.Listen("tcp", address)
	if err != nil {
		logger.Error("admin listener not started, so the admin API, the dashboard, /metrics and the health checks are unavailable: set ADMIN_HOST and ADMIN_PORT to a free address",
			"address", address, "error", err)
		return &adminListener{}
	}

	admin := api.NewAdmin(api.AdminOptions{
		Engine:    p.engine,
		Token:     cfg.AdminAPIToken,
		Metrics:   p.metrics.Handler(),
		StartWait: cfg.WakeTimeout,
		Version:   version,
		Logger:    logger,
	})
	// No WriteTimeout: the event stream and the start requests stay open.
	server := &http.Server{
		Handler:           admin,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Shutdown does not interrupt the event streams, which never go idle.
	server.RegisterOnShutdown(admin.Close)
	go func() {
		if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			// The proxy's server may have failed first and filled serveErr.
			select {
			case serveErr <- fmt.Errorf("admin listener: %w", err):
			default:
			}
		}
	}()

	authentication := "bearer token"
	if cfg.AdminAPIToken == "" {
		authentication = "none (loopback only)"
	}
	logger.Info("admin listening", "address", listener.Addr().String(), "authentication", authentication)
	return &adminListener{server: server, admin: admin}
}

// shutdown stops the admin listener within ctx, and closes the returned
// channel when done.
func (a *adminListener) shutdown(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if a.server == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		if err := a.server.Shutdown(ctx); err != nil {
			_ = a.server.Close()
		}
	}()
	return done
}
