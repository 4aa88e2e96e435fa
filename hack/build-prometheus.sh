#!/usr/bin/env bash
# Builds the Prometheus server from the Go module proxy into a cache outside
# the checkout, once per version, and prints the binary's path. The
# remove_all_sd tag drops every service-discovery plugin (one of their modules
# is not served by the proxy; tests scrape static targets only).
set -euo pipefail

PROM_VERSION="${PROM_VERSION:-v0.316.0}"
CACHE="${LIFTOFF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/liftoff}"
OUT="$CACHE/prometheus/$PROM_VERSION"

if [[ -x "$OUT/prometheus" ]]; then
  echo "$OUT/prometheus"
  exit 0
fi
mkdir -p "$OUT"
# One build at a time: `make dev` starts one in the background, and the
# playground asks again once it needs the binary.
exec 9>"$OUT.lock"
flock 9
if [[ -x "$OUT/prometheus" ]]; then
  echo "$OUT/prometheus"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building prometheus $PROM_VERSION into $OUT (first time only)" >&2
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off
cd "$work"
go mod init liftoff.dev/prometheus-build >/dev/null 2>&1
go get "github.com/prometheus/prometheus@${PROM_VERSION}" >&2
go build -tags remove_all_sd -trimpath -ldflags="-s -w" -o "$OUT/prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus >&2
mv "$OUT/prometheus.tmp" "$OUT/prometheus"
echo "$OUT/prometheus"
