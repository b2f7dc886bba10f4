#!/usr/bin/env bash
# Runs the reference Todo chatbot locally on 127.0.0.1: MCP server, backend and frontend
# (`next dev`), with SQLite and the offline chat parser. Installs dependencies on first use.
# Prints the frontend URL as its last line once everything answers; Ctrl-C or SIGTERM stops all.
#
# Ports: 8001, 8000 and 3000 when free (else any free port); override with MCP_PORT,
# BACKEND_PORT, FRONTEND_PORT. Data and logs live under ${BERTH_APP_CACHE:-~/.cache/berth/app}/dev.
# APP_DEV_FRONTEND=standalone serves the production build instead of `next dev`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../app/scripts/common.sh"

dev="$APP_CACHE/dev"
mkdir -p "$dev"
# One secret per machine, so the browser's session cookie (and its tasks) survive restarts.
[[ -s "$dev/auth-secret" ]] || (umask 077 && head -c 32 /dev/urandom | base64 >"$dev/auth-secret")

ensure_python_deps
ensure_node_deps
mode="${APP_DEV_FRONTEND:-dev}"
[[ "$mode" == standalone ]] && ensure_frontend_build

trap 'say "stopping"; stop_all; exit 0' INT TERM
trap 'stop_all' EXIT
start_stack "$dev/data" "$dev/logs" "$(cat "$dev/auth-secret")" "$mode" \
  "${MCP_PORT:-$(port_or_free 8001)}" "${BACKEND_PORT:-$(port_or_free 8000)}" "${FRONTEND_PORT:-$(port_or_free 3000)}"

say "mcp $MCP_URL, backend $BACKEND_URL_LOCAL; logs in $dev/logs; Ctrl-C stops all"
echo "$FRONTEND_URL"

# Stay up while all three run; if one dies, say which and stop the rest.
while true; do
  for pid in "${PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "a process (pid $pid) exited; see $dev/logs; stopping the others"
      exit 1
    fi
  done
  sleep 1 &
  wait $! || true
done
