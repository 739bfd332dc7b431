package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paastis/paastis/internal/config"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/clevercloud"
	"github.com/paastis/paastis/internal/provider/local"
	"github.com/paastis/paastis/internal/provider/scalingo"
	"github.com/paastis/paastis/internal/registry/memory"
	"github.com/paastis/paastis/internal/registry/redis"
)

// providerFactory creates a provider, and the function that releases it
// at shutdown (or nil). onAPICall, when the provider calls an API, receives
// each call for the metrics.
type providerFactory func(logger *slog.Logger, onAPICall apiCallObserver) (engine.Provider, func(context.Context) error, error)

// apiCallObserver receives one provider API call: a bounded operation
// name, the HTTP status (0 without a response), its duration and error.
type apiCallObserver = func(operation string, status int, duration time.Duration, err error)

// registryFactory creates the registry, and the function that releases it
// at shutdown (or nil).
type registryFactory func(ctx context.Context, logger *slog.Logger) (engine.Registry, func(context.Context) error, error)

// plan lists what the configuration requests to build, parsed and validated.
type plan struct {
	providers map[string]providerFactory
	registry  registryFactory
}

// makePlan parses the variables that the provider and registry packages
// own, and adds every problem to problems, so that one message lists all
// of them.
func makePlan(cfg *config.Config, getenv config.Getenv, problems *config.Error) *plan {
	p := &plan{providers: map[string]providerFactory{}}

	for _, name := range cfg.ProviderNames {
		addProvider(p, name, cfg, getenv, problems)
	}

	switch cfg.RegistryType {
	case config.RegistryRedis:
		opts, err := redis.OptionsFromEnv(getenv)
		if err != nil {
			problems.Add("%v", err)
		}
		opts.URL = cfg.RedisURL
		// Busy apps stay counted only while each flush renews their
		// in-flight counts before they expire.
		if inFlightTTL := cmp.Or(opts.InFlightTTL, redis.DefaultInFlightTTL); inFlightTTL <= cfg.RedisFlushInterval {
			problems.Add("REDIS_IN_FLIGHT_TTL: %s is not longer than REDIS_FLUSH_INTERVAL %s, so in-flight requests would stop counting between two flushes: set it to about three flush intervals", inFlightTTL, cfg.RedisFlushInterval)
		}
		p.registry = func(ctx context.Context, logger *slog.Logger) (engine.Registry, func(context.Context) error, error) {
			// go-redis logs every failed dial through a process-wide logger.
			// The engine logs a registry outage once, so these go to debug.
			goredis.SetLogger(redisClientLogger{logger})
			opts.Logger = logger
			registry, err := redis.New(ctx, opts)
			if err != nil {
				return nil, nil, err
			}
			return registry, func(context.Context) error { return registry.Close() }, nil
		}
	default:
		p.registry = func(context.Context, *slog.Logger) (engine.Registry, func(context.Context) error, error) {
			return memory.New(), nil, nil
		}
	}
	return p
}

// redisClientLogger writes the messages of the go-redis client to a
// logger at debug level.
type redisClientLogger struct {
	logger *slog.Logger
}

func (l redisClientLogger) Printf(ctx context.Context, format string, args ...any) {
	l.logger.DebugContext(ctx, fmt.Sprintf(format, args...))
}

// addProvider parses the variables of the named provider, adding every
// problem to problems, and adds its factory to the plan.
func addProvider(p *plan, name string, cfg *config.Config, getenv config.Getenv, problems *config.Error) {
	switch name {
	case config.ProviderLocal:
		p.providers[config.ProviderLocal] = func(logger *slog.Logger, _ apiCallObserver) (engine.Provider, func(context.Context) error, error) {
			provider, err := local.New(local.Options{ConfigPath: cfg.LocalConfig, Logger: logger})
			if err != nil {
				return nil, nil, err
			}
			return provider, provider.Close, nil
		}
	case config.ProviderScalingo:
		opts, providerProblems := scalingo.OptionsFromEnv(getenv)
		addProblems(problems, providerProblems)
		p.providers[config.ProviderScalingo] = func(logger *slog.Logger, onAPICall apiCallObserver) (engine.Provider, func(context.Context) error, error) {
			opts.Logger = logger
			opts.OnAPICall = onAPICall
			provider, err := scalingo.New(opts)
			if err != nil {
				return nil, nil, err
			}
			return provider, nil, nil
		}
	case config.ProviderCleverCloud:
		opts, providerProblems := clevercloud.OptionsFromEnv(getenv)
		addProblems(problems, providerProblems)
		p.providers[config.ProviderCleverCloud] = func(logger *slog.Logger, onAPICall apiCallObserver) (engine.Provider, func(context.Context) error, error) {
			opts.Logger = logger
			opts.OnAPICall = onAPICall
			provider, err := clevercloud.New(opts)
			if err != nil {
				return nil, nil, err
			}
			return provider, nil, nil
		}
	}
}

// addProblems adds a provider package's problems, except a missing
// variable that config.Load already reported.
func addProblems(problems *config.Error, found []string) {
	for _, problem := range found {
		name, _, _ := strings.Cut(problem, ":")
		duplicate := false
		for _, known := range problems.Problems {
			if strings.HasPrefix(known, name+": missing") && strings.HasPrefix(problem, name+": missing") {
				duplicate = true
				break
			}
		}
		if !duplicate {
			problems.Add("%s", problem)
		}
	}
}
