#!/usr/bin/env bash
# Installs the tools of the benchmark harness when they are missing: wrk,
# nginx, Caddy and redis-server, as Debian packages. nginx-light is tried
# first because it is the smallest build with proxy_pass; Debian 12 makes
# it a transitional package of nginx. The packages' services are not used:
# the harness runs each server itself, on 127.0.0.1.
set -euo pipefail

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${missing[*]}: install them with your package manager" >&2
  exit 1
fi
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
packages=()
for tool in "${missing[@]}"; do
  if [[ $tool == nginx ]]; then
    if apt-cache show nginx-light >/dev/null 2>&1; then
      packages+=(nginx-light)
    else
      packages+=(nginx)
    fi
  else
    packages+=("$tool")
  fi
done
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
