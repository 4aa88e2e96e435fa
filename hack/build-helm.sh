#!/usr/bin/env bash
# Builds helm (v4) from its Go module on the module proxy into a cache
# outside the checkout, once per version, and prints the binary's path. The
# chart's tests (test/e2e/chart_test.go) lint, render and apply
# charts/liftoff with it.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.2}"
CACHE="${LIFTOFF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/liftoff}"
OUT="$CACHE/bin/helm-$HELM_VERSION"

if [[ -x "$OUT" ]]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$CACHE/bin"
gobin="$(mktemp -d)"
trap 'rm -rf "$gobin"' EXIT
echo "building helm $HELM_VERSION into $OUT (first time only)" >&2
GOFLAGS= GOTOOLCHAIN=local GOWORK=off GOBIN="$gobin" go install -trimpath "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}" >&2
mv "$gobin/helm" "$OUT"
echo "$OUT"
