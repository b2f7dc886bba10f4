#!/usr/bin/env bash
# Tests of the reference Todo chatbot under app/: pytest for the MCP server and the backend,
# the frontend's unit tests and production build, then an end-to-end run of all three as local
# processes with headless Debian chromium driven by playwright-core.
#
# Installs what it needs (pinned; Python venv under ${BERTH_APP_CACHE:-~/.cache/berth/app},
# npm ci in app/frontend, Debian's chromium and postgresql when missing). The database tests run
# on SQLite and on a throwaway PostgreSQL it starts on loopback. Exits non-zero on any failure.
# APP_REBUILD=1 forces a fresh `next build`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../app/scripts/common.sh"

RESULTS="$FRONTEND_DIR/test-results"   # git-ignored
SCREENSHOT="$RESULTS/e2e-chat.png"
PASSED=0
started=$SECONDS

# run_counted LABEL REGEX CMD...: run CMD, echo its output, add the count REGEX finds to PASSED.
run_counted() {
  local label="$1" regex="$2" out count
  shift 2
  out="$(mktemp)"
  say "── $label"
  if ! "$@" 2>&1 | tee "$out"; then
    rm -f "$out"
    die "$label failed"
  fi
  # Colour codes (vitest colours even without a TTY when CI is set) would split the match.
  count="$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -oE "$regex" | tail -n 1 | grep -oE '[0-9]+' || true)"
  rm -f "$out"
  [[ -n "$count" && "$count" -gt 0 ]] || die "$label ran no test"
  PASSED=$((PASSED + count))
}

ensure_chromium() {
  [[ -x /usr/bin/chromium ]] && return
  [[ "$(id -u)" == 0 ]] || die "/usr/bin/chromium is missing; install it with: sudo apt-get install -y chromium"
  say "installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || die "apt-get install chromium failed"
}

# A throwaway PostgreSQL on a free loopback port for the database tests (Debian's server).
ensure_postgres() {
  local initdb
  initdb="$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -z "$initdb" ]]; then
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL's initdb is missing; install it with: sudo apt-get install -y postgresql"
    say "installing Debian's postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
      || die "apt-get install postgresql failed"
    initdb="$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  fi
  PG_BIN="$(dirname "$initdb")"
}

start_postgres() {
  local port as_pg=()
  PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/todo-app-pg.XXXXXX")"
  port="$(free_port)"
  if [[ "$(id -u)" == 0 ]]; then  # initdb refuses to run as root
    chown postgres: "$PG_DIR"
    as_pg=(runuser -u postgres --)
  fi
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
  PG_AS=("${as_pg[@]}")
  export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  say "PostgreSQL for the tests at $TEST_DATABASE_URL"
}

cleanup() {
  stop_all
  if [[ -n "${PG_DIR:-}" ]]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  rm -rf "${work:-}"
}

ensure_python_deps
ensure_node_deps
ensure_chromium
ensure_postgres

work="$(mktemp -d "${TMPDIR:-/tmp}/todo-app-e2e.XXXXXX")"
PG_AS=()
trap cleanup EXIT
trap 'exit 130' INT TERM
start_postgres

# -p no:cacheprovider keeps .pytest_cache out of the tree.
run_counted "pytest app/mcp" '[0-9]+ passed' \
  env -u DATABASE_URL -C "$APP_DIR/mcp" "$VENV_PY" -m pytest -p no:cacheprovider
run_counted "pytest app/backend" '[0-9]+ passed' \
  env -u DATABASE_URL -u OPENAI_API_KEY -u GEMINI_API_KEY -u LLM_PROVIDER -C "$APP_DIR/backend" \
  "$VENV_PY" -m pytest -p no:cacheprovider
run_counted "frontend unit tests (vitest)" 'Tests +[0-9]+ passed' \
  env -C "$FRONTEND_DIR" node node_modules/vitest/vitest.mjs run --color=false
say "── frontend build"
ensure_frontend_build

say "── end to end"
start_stack "$work/data" "$work/logs" "$(head -c 32 /dev/urandom | base64)" standalone

# What a user does with curl through the frontend: chat, then list.
say "through $FRONTEND_URL: POST /api/chat {\"message\":\"add buy milk\"} then GET /api/tasks"
reply="$(curl -fsS --max-time 30 -H 'content-type: application/json' -d '{"message":"add buy milk"}' "$FRONTEND_URL/api/chat")" \
  || die "POST $FRONTEND_URL/api/chat failed"
echo "$reply"
tasks="$(curl -fsS --max-time 30 "$FRONTEND_URL/api/tasks")" || die "GET $FRONTEND_URL/api/tasks failed"
echo "$tasks"
grep -q '"title":"buy milk"' <<<"$tasks" || die "the task added through /api/chat is not in GET /api/tasks"
PASSED=$((PASSED + 1))

if ! (cd "$FRONTEND_DIR" && FRONTEND_URL="$FRONTEND_URL" SCREENSHOT="$SCREENSHOT" node e2e/chat.e2e.mjs); then
  for name in mcp backend frontend; do
    say "last lines of $name.log:"
    tail -n 20 "$work/logs/$name.log" >&2
  done
  die "end-to-end browser test failed"
fi
PASSED=$((PASSED + 1))

say "screenshot: $SCREENSHOT"
say "all app tests passed in $((SECONDS - started))s"
echo "app-test: $PASSED passed, 0 failed"
