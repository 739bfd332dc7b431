package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/paastis/paastis/internal/config"
	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/provider/clevercloud"
	"github.com/paastis/paastis/internal/provider/local"
	"github.com/paastis/paastis/internal/registry/memory"
	"github.com/paastis/paastis/internal/registry/redis"
)

// providerFactory creates a provider, and the function that releases it
// at shutdown (or nil).
type providerFactory func(logger *slog.Logger) (engine.Provider, func(context.Context) error, error)

// registryFactory creates the registry, and the function that releases it
// at shutdown (or nil).
type registryFactory func(ctx context.Context, logger *slog.Logger) (engine.Registry, func(context.Context) error, error)

// plan is what the configuration asks to build, parsed and validated.
type plan struct {
	providers map[string]providerFactory
	registry  registryFactory
}

// makePlan parses the variables that the provider and registry packages
// own, and adds every problem to problems, so that one message lists all
// of them.
func makePlan(cfg *config.Config, getenv config.Getenv, problems *config.Error) *plan {
	p := &plan{providers: map[string]providerFactory{}}

	switch cfg.ProviderName {
	case config.ProviderLocal:
		p.providers[config.ProviderLocal] = func(logger *slog.Logger) (engine.Provider, func(context.Context) error, error) {
			provider, err := local.New(local.Options{ConfigPath: cfg.LocalConfig, Logger: logger})
			if err != nil {
				return nil, nil, err
			}
			return provider, provider.Close, nil
		}
	case config.ProviderCleverCloud:
		opts, providerProblems := clevercloud.OptionsFromEnv(getenv)
		addProblems(problems, providerProblems)
		p.providers[config.ProviderCleverCloud] = func(logger *slog.Logger) (engine.Provider, func(context.Context) error, error) {
			opts.Logger = logger
			provider, err := clevercloud.New(opts)
			if err != nil {
				return nil, nil, err
			}
			return provider, nil, nil
		}
	}

	switch cfg.RegistryType {
	case config.RegistryRedis:
		opts, err := redis.OptionsFromEnv(getenv)
		if err != nil {
			problems.Add("%v", err)
		}
		opts.URL = cfg.RedisURL
		p.registry = func(ctx context.Context, logger *slog.Logger) (engine.Registry, func(context.Context) error, error) {
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

// errUnknownProvider is returned when no factory exists for the configured
// provider; config validation normally rejects such names first.
func errUnknownProvider(name string) error {
	return fmt.Errorf("provider %q is not supported by this build", name)
}
