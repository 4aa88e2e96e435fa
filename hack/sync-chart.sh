#!/usr/bin/env bash
# Copies what charts/liftoff shares with config/ into the chart's files/, so
# that the kustomize directories stay the one source: the CRDs, the RBAC
# rules (controller-gen's and the hand-written ones), the admission webhooks
# controller-gen writes, and the Grafana dashboard. `make manifests` runs it;
# `make verify-generated` fails when the copies are stale.
set -euo pipefail
cd "$(dirname "$0")/.."

out=charts/liftoff/files
rm -rf "$out/crds" "$out/rbac" "$out/webhook"
mkdir -p "$out/crds" "$out/rbac" "$out/webhook"
cp config/crd/bases/*.yaml "$out/crds/"
cp config/rbac/role.yaml config/rbac/leader_election_role.yaml config/rbac/metrics_auth_role.yaml \
   config/rbac/metrics_reader_role.yaml config/rbac/release_editor_role.yaml config/rbac/release_viewer_role.yaml \
   "$out/rbac/"
cp config/dashboard/auth_role.yaml "$out/rbac/dashboard_auth_role.yaml"
cp config/webhook/manifests.yaml "$out/webhook/"
cp config/prometheus/grafana-dashboard.json "$out/"
