package memory_test

import (
	"testing"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/memory"
	"github.com/paastis/paastis/internal/registry/registrytest"
)

func TestRegistry(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) engine.Registry {
		return memory.New()
	})
}
