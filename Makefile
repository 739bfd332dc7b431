# Run `make run` to start paastis on the example local apps, `make test` to
# run every test (it installs redis-server and chromium when missing).

GO ?= go

.PHONY: run build test test-deps vet bench

# The example .env sets a one-minute idle time, so the demo apps go to
# sleep quickly. An existing .env is kept.
run:
	@test -f .env || { cp env.sample .env && echo "created .env from env.sample"; }
	$(GO) run ./cmd/paastis

build:
	CGO_ENABLED=0 $(GO) build -o bin/paastis ./cmd/paastis

test-deps:
	@bash scripts/install-test-deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }

test: test-deps vet
	$(GO) test -race -count=1 -timeout 30m ./...

# Measures paastis against nginx, Caddy and httputil.ReverseProxy; see
# docs/benchmarks.md. It installs wrk, nginx, caddy and redis-server when
# missing, and takes about 9 minutes on 2 cores.
bench:
	bash bench/run.sh
