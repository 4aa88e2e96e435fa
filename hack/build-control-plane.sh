#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl (the plugin tests run it) from the Go module proxy into a cache outside
# the checkout, once per version, and prints the directory that holds them
# (the value for KUBEBUILDER_ASSETS). Release binaries cannot be downloaded
# here; the module proxy is the only source.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.7.0}"
CACHE="${LIFTOFF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/liftoff}"
OUT="$CACHE/control-plane/k8s-${KUBE_VERSION}-etcd-${ETCD_VERSION}"

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" && -x "$OUT/kubectl" ]]; then
  echo "$OUT"
  exit 0
fi

# The binaries Kubernetes' controller-tools publishes for envtest (the ones
# setup-envtest installs) take seconds to fetch where GitHub is reachable;
# building them takes about 15 minutes on 2 cores from an empty Go cache.
# The archive is taken only when its SHA-512 matches the release index;
# otherwise (no network, no such release, a bad archive) the binaries are
# built below. LIFTOFF_ENVTEST_INDEX=off skips the download.
INDEX="${LIFTOFF_ENVTEST_INDEX:-https://raw.githubusercontent.com/kubernetes-sigs/controller-tools/HEAD/envtest-releases.yaml}"
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac
archive="envtest-v${KUBE_VERSION}-${os}-${arch}.tar.gz"
FETCHED="$CACHE/control-plane/${archive%.tar.gz}"
if [[ -x "$FETCHED/kube-apiserver" && -x "$FETCHED/etcd" && -x "$FETCHED/kubectl" ]]; then
  echo "$FETCHED"
  exit 0
fi

# fetch_envtest downloads, checks and unpacks $archive into $FETCHED; it
# says why on stderr and fails when it cannot.
fetch_envtest() {
  [[ "$INDEX" != off ]] && command -v curl >/dev/null && command -v sha512sum >/dev/null || return 1
  local tmp index hash link
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  curl --fail --silent --show-error --location --max-time 30 "$INDEX" -o "$tmp/index.yaml" 2>"$tmp/err" || {
    echo "envtest release index not reachable ($(head -c 200 "$tmp/err"))" >&2
    return 1
  }
  # releases: -> v1.37.2: -> envtest-v1.37.2-linux-amd64.tar.gz: -> hash:, selfLink:
  read -r hash link < <(awk -v rel="v${KUBE_VERSION}:" -v file="${archive}:" '
    $1 == rel && /^  [^ ]/ { inrel = 1; next }
    /^  [^ ]/ { inrel = 0 }
    inrel && $1 == file { infile = 1; next }
    inrel && /^    [^ ]/ { infile = 0 }
    infile && $1 == "hash:" { h = $2 }
    infile && $1 == "selfLink:" { l = $2 }
    END { print h, l }' "$tmp/index.yaml")
  if [[ -z "$hash" || -z "$link" ]]; then
    echo "the envtest release index has no ${archive}" >&2
    return 1
  fi
  echo "fetching ${archive} (kube-apiserver, etcd, kubectl) into $FETCHED" >&2
  curl --fail --silent --show-error --location --max-time 600 "$link" -o "$tmp/$archive" || return 1
  if [[ "$(sha512sum "$tmp/$archive" | cut -d' ' -f1)" != "$hash" ]]; then
    echo "${archive} does not match the SHA-512 of the release index: not used" >&2
    return 1
  fi
  mkdir -p "$tmp/x" && tar -xzf "$tmp/$archive" -C "$tmp/x" || return 1
  local bin
  for bin in kube-apiserver etcd kubectl; do
    [[ -x "$tmp/x/controller-tools/envtest/$bin" ]] || {
      echo "${archive} has no controller-tools/envtest/$bin" >&2
      return 1
    }
  done
  mkdir -p "$FETCHED.tmp" && mv "$tmp"/x/controller-tools/envtest/{kube-apiserver,etcd,kubectl} "$FETCHED.tmp/" &&
    rm -rf "$FETCHED" && mv "$FETCHED.tmp" "$FETCHED"
}
if fetch_envtest; then
  echo "$FETCHED"
  exit 0
fi
if [[ "${LIFTOFF_CONTROL_PLANE_BUILD:-1}" == 0 ]]; then
  echo "no control plane binaries for v${KUBE_VERSION} and LIFTOFF_CONTROL_PLANE_BUILD=0: not building them" >&2
  exit 1
fi

mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

staging_minor="0.${KUBE_VERSION#*.}"   # 1.37.2 -> 0.37.2
echo "building kube-apiserver v${KUBE_VERSION} and etcd v${ETCD_VERSION} into $OUT (first time only: about 15 minutes on 2 cores with an empty Go cache)" >&2

export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off
cd "$work"
go mod init liftoff.dev/control-plane-build >/dev/null 2>&1
modfile="$(go mod download -json "k8s.io/kubernetes@v${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
{
  echo "require k8s.io/kubernetes v${KUBE_VERSION}"
  echo "replace ("
  # k8s.io/kubernetes replaces every staging module with its own tree; a
  # module outside that tree points each at the matching published v0.N.M.
  sed -n '/^replace (/,/^)/p' "$modfile" | grep '=> ./staging/' |
    sed -E "s#^\s*(\S+) => \./staging/\S+#\t\1 => \1 v${staging_minor}#"
  echo ")"
} >> go.mod
cat > tools.go <<GO
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
GO
go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >&2
go build -trimpath -ldflags="-s -w" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
go build -trimpath -ldflags="-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3 >&2
go build -trimpath -ldflags="-s -w" -o "$OUT/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl >&2
mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
mv "$OUT/kubectl.tmp" "$OUT/kubectl"
mv "$OUT/etcd.tmp" "$OUT/etcd"
echo "$OUT"
