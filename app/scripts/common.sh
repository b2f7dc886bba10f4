# Shared by scripts/app-dev.sh and scripts/app-test.sh: install the app's dependencies on
# first use (pinned, cached by content) and run the three processes on 127.0.0.1.
# Source it; it defines functions and a few variables, and starts nothing by itself.

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_CACHE="${BERTH_APP_CACHE:-$HOME/.cache/berth/app}"
VENV="$APP_CACHE/venv"
VENV_PY="$VENV/bin/python"
FRONTEND_DIR="$APP_DIR/frontend"
PIDS=()

say() { echo "app: $*" >&2; }
die() { echo "app: error: $*" >&2; exit 1; }

hash_files() { cat "$@" | sha256sum | cut -d' ' -f1; }

ensure_python_deps() {
  local python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || die "$python not found; install Python 3.10 or newer"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$python is $("$python" -V 2>&1); the backend and MCP server need Python 3.10 or newer"
  local reqs=("$APP_DIR/backend/requirements.txt" "$APP_DIR/mcp/requirements.txt" "$APP_DIR/requirements-test.txt")
  local stamp
  stamp="$(hash_files "${reqs[@]}")-$("$python" -V 2>&1)"
  if [[ -x "$VENV_PY" && "$(cat "$VENV/.berth-stamp" 2>/dev/null)" == "$stamp" ]]; then
    return
  fi
  say "installing Python dependencies into $VENV"
  rm -rf "$VENV"
  mkdir -p "$APP_CACHE"
  "$python" -m venv "$VENV" || die "could not create a venv (on Debian: apt-get install python3-venv)"
  "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "${reqs[0]}" -r "${reqs[1]}" -r "${reqs[2]}" || die "pip install failed"
  echo "$stamp" >"$VENV/.berth-stamp"
}

ensure_node_deps() {
  command -v npm >/dev/null || die "npm not found; install Node.js 20 or newer"
  local stamp
  stamp="$(hash_files "$FRONTEND_DIR/package.json" "$FRONTEND_DIR/package-lock.json")"
  if [[ -d "$FRONTEND_DIR/node_modules" && "$(cat "$FRONTEND_DIR/node_modules/.berth-stamp" 2>/dev/null)" == "$stamp" ]]; then
    return
  fi
  say "installing frontend dependencies (npm ci)"
  (cd "$FRONTEND_DIR" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  echo "$stamp" >"$FRONTEND_DIR/node_modules/.berth-stamp"
}

# The standalone server, built only when the sources changed since the last build.
ensure_frontend_build() {
  local stamp out="$FRONTEND_DIR/.next/standalone"
  stamp="$(cd "$FRONTEND_DIR" && find src public package.json package-lock.json next.config.mjs tsconfig.json -type f -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [[ -z "${APP_REBUILD:-}" && -f "$out/server.js" && "$(cat "$out/.berth-stamp" 2>/dev/null)" == "$stamp" ]]; then
    say "frontend build is up to date"
    return
  fi
  say "building the frontend (next build, output: standalone)"
  (cd "$FRONTEND_DIR" && NEXT_TELEMETRY_DISABLED=1 node node_modules/next/dist/bin/next build) || die "next build failed"
  # The standalone server serves these from beside itself, as in the image.
  rm -rf "$out/.next/static" "$out/public"
  cp -r "$FRONTEND_DIR/.next/static" "$out/.next/static"
  cp -r "$FRONTEND_DIR/public" "$out/public"
  echo "$stamp" >"$out/.berth-stamp"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The preferred port if nothing listens there, else a free one.
port_or_free() {
  if python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; then
    echo "$1"
  else
    free_port
  fi
}

# start NAME LOGFILE CMD... : run CMD in its own process group, output to LOGFILE.
start() {
  local name="$1" log="$2"
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  PIDS+=("$!")
  say "started $name (pid $!, log $log)"
}

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  PIDS=()
}

# wait_for NAME URL LOGFILE [SECONDS]: until URL answers 2xx; fail with the log's tail if the
# process died or time ran out.
wait_for() {
  local name="$1" url="$2" log="$3" limit="${4:-120}" pid="${PIDS[-1]}"
  local deadline=$((SECONDS + limit))
  until curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log" >&2
      die "$name exited before answering $url (log: $log)"
    fi
    if ((SECONDS > deadline)); then
      tail -n 30 "$log" >&2
      die "$name did not answer $url within ${limit}s (log: $log)"
    fi
    sleep 0.3
  done
  say "$name answers at $url"
}

# start_stack DATA_DIR LOG_DIR AUTH_SECRET FRONTEND_MODE(standalone|dev) [MCP_PORT BACKEND_PORT FRONTEND_PORT]
# Starts mcp, backend and frontend on 127.0.0.1 with SQLite under DATA_DIR and offline chat
# (no model keys are passed on). Sets FRONTEND_URL, BACKEND_URL_LOCAL and MCP_URL.
start_stack() {
  local data="$1" logs="$2" secret="$3" mode="$4"
  local mcp_port="${5:-$(free_port)}" backend_port="${6:-$(free_port)}" frontend_port="${7:-$(free_port)}"
  mkdir -p "$data" "$logs"
  MCP_URL="http://127.0.0.1:$mcp_port/mcp"
  BACKEND_URL_LOCAL="http://127.0.0.1:$backend_port"
  FRONTEND_URL="http://127.0.0.1:$frontend_port"

  start mcp "$logs/mcp.log" env -u DATABASE_URL -C "$APP_DIR/mcp" \
    HOST=127.0.0.1 PORT="$mcp_port" SQLITE_PATH="$data/tasks.db" LOG_LEVEL="${LOG_LEVEL:-info}" \
    "$VENV_PY" -m todo_mcp
  wait_for mcp "http://127.0.0.1:$mcp_port/health" "$logs/mcp.log" 60

  start backend "$logs/backend.log" env -u DATABASE_URL -u OPENAI_API_KEY -u GEMINI_API_KEY -u LLM_PROVIDER \
    -C "$APP_DIR/backend" \
    HOST=127.0.0.1 PORT="$backend_port" SQLITE_PATH="$data/chat.db" AUTH_SECRET="$secret" \
    MCP_SERVER_URL="$MCP_URL" LLM_PROVIDER=none LOG_LEVEL="${LOG_LEVEL:-info}" \
    "$VENV_PY" -m app
  wait_for backend "$BACKEND_URL_LOCAL/ready" "$logs/backend.log" 60

  local frontend_env=(HOSTNAME=127.0.0.1 PORT="$frontend_port" AUTH_SECRET="$secret"
    BACKEND_URL="$BACKEND_URL_LOCAL" APP_URL="$FRONTEND_URL" NEXT_TELEMETRY_DISABLED=1)
  if [[ "$mode" == dev ]]; then
    start frontend "$logs/frontend.log" env -C "$FRONTEND_DIR" "${frontend_env[@]}" NEXT_DIST_DIR=.next-dev \
      node node_modules/next/dist/bin/next dev --hostname 127.0.0.1 --port "$frontend_port"
  else
    start frontend "$logs/frontend.log" env -C "$FRONTEND_DIR/.next/standalone" "${frontend_env[@]}" \
      node server.js
  fi
  wait_for frontend "$FRONTEND_URL/healthz" "$logs/frontend.log" 180
  # The page itself (compiled on first request under `next dev`).
  wait_for "frontend page" "$FRONTEND_URL/" "$logs/frontend.log" 180
}
