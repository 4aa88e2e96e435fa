#!/usr/bin/env bash
# Installs what the dashboard's browser tests drive, once, and prints the path
# of axe-core's axe.min.js (the value for LIFTOFF_AXE):
#   - Chromium, Debian's `chromium` package, when no chromium is on PATH;
#   - axe-core (pinned) from npm into a cache outside the checkout.
# Idempotent: a second run only prints the path. Tests run Chromium headless
# with a fresh profile; nothing here is vendored into the repository.
set -euo pipefail

AXE_VERSION="${AXE_VERSION:-4.14.1}"
CACHE="${LIFTOFF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/liftoff}"
AXE_DIR="$CACHE/axe-core-$AXE_VERSION"
AXE="$AXE_DIR/node_modules/axe-core/axe.min.js"

mkdir -p "$CACHE"
exec 9>"$CACHE/.browser-tools.lock"
flock 9

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "installing Debian's chromium for the dashboard's browser tests (first time only)" >&2
  if [[ "$(id -u)" != 0 ]]; then
    echo "chromium is missing: run 'sudo apt-get install -y chromium' (or run this script as root)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
fi

if [[ ! -s "$AXE" ]]; then
  echo "fetching axe-core@$AXE_VERSION from npm into $AXE_DIR (first time only)" >&2
  tmp="$(mktemp -d "$CACHE/.axe-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$tmp" "axe-core@$AXE_VERSION" >&2
  rm -rf "$AXE_DIR"
  mv "$tmp" "$AXE_DIR"
  trap - EXIT
fi
echo "$AXE"
