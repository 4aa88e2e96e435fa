#!/usr/bin/env bash
# Fetches the CRDs of the GitOps agents Liftoff reads (Argo CD's Application,
# Flux's Kustomization and HelmRelease) from their Go modules on the module
# proxy into a cache outside the checkout, once per version, and prints the
# directory that holds them. Tests install them into envtest from there
# (LIFTOFF_AGENT_CRDS); they are the agents' files, so they are not committed.
#
# Versions: the newest whose go.mod accepts Go 1.26 and that the proxy serves.
# helm-controller v1.3.0 (Flux 2.6, next to kustomize-controller v1.6.0) is not
# served; v1.4.0 (go 1.25.0) is, and its HelmRelease v2 status is the same shape.
set -euo pipefail

ARGOCD_VERSION="${ARGOCD_VERSION:-v3.2.0}"
KUSTOMIZE_CONTROLLER_VERSION="${KUSTOMIZE_CONTROLLER_VERSION:-v1.6.0}"
HELM_CONTROLLER_VERSION="${HELM_CONTROLLER_VERSION:-v1.4.0}"
CACHE="${LIFTOFF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/liftoff}"
OUT="$CACHE/agent-crds/argo-cd-${ARGOCD_VERSION}-kustomize-controller-${KUSTOMIZE_CONTROLLER_VERSION}-helm-controller-${HELM_CONTROLLER_VERSION}"

files=(application-crd.yaml kustomize.toolkit.fluxcd.io_kustomizations.yaml helm.toolkit.fluxcd.io_helmreleases.yaml)
complete=1
for f in "${files[@]}"; do [[ -s "$OUT/$f" ]] || complete=0; done
if [[ $complete == 1 ]]; then
  echo "$OUT"
  exit 0
fi

export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT"

# fetch MODULE@VERSION PATH-IN-MODULE: copies one file of a module's zip.
fetch() {
  local json dir gomod goversion
  json="$(cd "$work" && go mod download -json "$1")"
  dir="$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$json")"
  gomod="$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$json")"
  if [[ -z "$dir" ]]; then
    echo "$1 is not available from the module proxy:" >&2
    sed -n 's/.*"Error": "\(.*\)".*/\1/p' <<<"$json" >&2
    exit 1
  fi
  goversion="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod" | head -1)"
  echo "$1 (go $goversion): $2" >&2
  install -m 0644 "$dir/$2" "$OUT/$(basename "$2").tmp"
  mv "$OUT/$(basename "$2").tmp" "$OUT/$(basename "$2")"
}

fetch "github.com/argoproj/argo-cd/v3@${ARGOCD_VERSION}" manifests/crds/application-crd.yaml
fetch "github.com/fluxcd/kustomize-controller@${KUSTOMIZE_CONTROLLER_VERSION}" config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml
fetch "github.com/fluxcd/helm-controller@${HELM_CONTROLLER_VERSION}" config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml
echo "$OUT"
