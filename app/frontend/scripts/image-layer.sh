#!/usr/bin/env bash
# image-layer.sh deps|app OUT — used by images/frontend.toml.
# Builds the standalone server (npm ci + next build, skipped when the sources did not change)
# and copies one part of it into OUT: `deps` = its traced node_modules, `app` = everything else.
set -euo pipefail
part="${1:?usage: image-layer.sh deps|app OUT}"
out="${2:?usage: image-layer.sh deps|app OUT}"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
ensure_node_deps
ensure_frontend_build
standalone="$FRONTEND_DIR/.next/standalone"
mkdir -p "$out"
case "$part" in
  deps) cp -a "$standalone/node_modules/." "$out/" ;;
  app) tar -C "$standalone" --exclude=./node_modules --exclude=./.berth-stamp -cf - . | tar -C "$out" -xf - ;;
  *) die "unknown part '$part': use deps or app" ;;
esac
