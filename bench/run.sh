#!/usr/bin/env bash
# Runs the whole benchmark: installs wrk, nginx, Caddy and redis-server
# when missing, then builds paastis and the bench programs and runs every
# benchmark (see docs/benchmarks.md). Flags go to the harness, such as
# --quick for a smoke run of about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/install-deps.sh
exec go run ./bench/cmd/harness "$@"
