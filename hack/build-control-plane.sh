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

mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

staging_minor="0.${KUBE_VERSION#*.}"   # 1.37.2 -> 0.37.2
echo "building kube-apiserver v${KUBE_VERSION} and etcd v${ETCD_VERSION} into $OUT (first time only, ~5 min)" >&2

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
