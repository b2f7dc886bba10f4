#!/usr/bin/env bash
# `berth dev` on the real node. Sourced by scripts/node-test.sh (needs $BERTH, $repo, $work, k(),
# record(), app.sh's app_registry and open.sh's free_port); run directly, it runs the checks below
# against the node `scripts/node.sh env` names and prints their results:
#
#   dev_loop    berth dev on a copy of the reference app (namespace $DEV_NS, NodePort
#               $DEV_NODE_PORT, one replica each), watching the backend (live: its spec's [dev]
#               reloads the code, berth copies each edit into the container); 20 atomic saves of a
#               backend handler (scripts/node/dev-edits.py) while a client polls it through the
#               backend's local origin every 50 ms: every edit served, in order, zero failed
#               requests; p50/p95 from save to the new response; the session's per-phase medians
#               (its summary on Ctrl-C); after Ctrl-C the release still serves, its Deployment ready
#   dev_bench   the same one-line change the way `berth deploy --images load` makes it -- build
#               every image, load them (whole archives), deploy, wait -- as three commands, since
#               deploy cannot be pointed at this node's containerd socket: per-phase medians of
#               DEV_BENCH_RUNS runs beside berth dev's
#   dev_fixture berth dev on a fixture of berth init ($DEV_FIXTURE, the specs init wrote):
#               $DEV_FIXTURE_EDITS saves of a handler served through its local origin (copied live
#               when init wrote `[dev]`), Ctrl-C exit 0
#   dev_cleanup uninstalls the release and deletes its namespace (volume claims included)
#
# Environment: DEV_NS (default dev), DEV_NODE_PORT (default 31580), DEV_EDITS (default 20),
# DEV_BENCH_RUNS (default 3). Cost on the CI node: about 3 minutes.
# DEV_COMPONENT=frontend (run alone, not in CI: each change is a `next build`, about a minute
# here) watches the frontend instead and edits its /healthz route, polled through its local origin.
# DEV_SKIP_FIXTURE=1 leaves out dev_fixture; DEV_FIXTURE_ONLY=1 runs it alone.
# shellcheck disable=SC2154 # repo, work, BERTH, APP_REGISTRY, CONTAINERD_SOCKET: set by the caller
DEV_NS=${DEV_NS:-dev}
DEV_NODE_PORT=${DEV_NODE_PORT:-31580}
DEV_EDITS=${DEV_EDITS:-20}
DEV_BENCH_RUNS=${DEV_BENCH_RUNS:-3}
DEV_COMPONENT=${DEV_COMPONENT:-backend}
if [[ $DEV_COMPONENT == frontend ]]; then
  DEV_FILE=app/frontend/src/app/healthz/route.ts DEV_HANDLER='Response.json({ status: "ok" })'
  DEV_PATH=/healthz DEV_TIMEOUT_S=300
else
  DEV_FILE=app/backend/app/main.py DEV_HANDLER='return {"status": "ok"}' DEV_PATH=/health DEV_TIMEOUT_S=30
fi

# A copy of the app's sources and its three specs (postgres is the node's own image, so its mirror
# spec is left out: `berth dev` builds every spec it finds, as `berth deploy --images load` does).
dev_tree() {
  DEV_ROOT=$work/dev-root
  rm -rf "$DEV_ROOT"
  mkdir -p "$DEV_ROOT/images"
  tar -C "$repo" --exclude=node_modules --exclude=.venv --exclude=.next --exclude=__pycache__ \
    --exclude=.pytest_cache -cf - app | tar -C "$DEV_ROOT" -xf - || return 1
  cp "$repo"/images/{frontend,backend,mcp}.toml "$DEV_ROOT/images/"
  # The frontend's deps step runs scripts/images/npm-retarget.mjs from the repository's root.
  mkdir -p "$DEV_ROOT/scripts/images"
  cp "$repo/scripts/images/npm-retarget.mjs" "$DEV_ROOT/scripts/images/"
}

dev_common() {
  DEV_VALUES=(-n "$DEV_NS" --set "expose.nodePort=$DEV_NODE_PORT" --set components.frontend.replicas=1
    --set components.backend.replicas=1 --set components.mcp.replicas=1)
}

dev_start() {
  dev_tree || return 1
  app_registry || return 1
  dev_common
  DEV_APP_PORT=$(free_port) DEV_API_PORT=$(free_port)
  "$BERTH" dev "$DEV_COMPONENT" "${DEV_VALUES[@]}" --root "$DEV_ROOT" --specs-dir "$DEV_ROOT/images" \
    --registry-mirror "docker.io=http://$APP_REGISTRY" --load-target containerd \
    --containerd-socket "$CONTAINERD_SOCKET" --port "frontend=$DEV_APP_PORT" \
    --port "backend=$DEV_API_PORT" --timeout 5m >"$work/dev.out" 2>"$work/dev.err" &
  DEV_PID=$!
  local t0=$SECONDS
  until grep -q '^watching ' "$work/dev.err"; do
    kill -0 "$DEV_PID" 2>/dev/null || { echo "berth dev exited:"; tail -n 30 "$work/dev.err"; return 1; }
    ((SECONDS - t0 < 400)) || { echo "berth dev not watching after 400 s:"; tail -n 30 "$work/dev.err"; return 1; }
    sleep 0.5
  done
  DEV_STARTUP_S=$((SECONDS - t0))
  grep -E '^(deployed|watching)' "$work/dev.err"
}

# Lines of dev.err saying a change was served.
dev_served() { grep -c -- '→ serving' "$work/dev.err"; }

dev_loop() {
  dev_start || return 1
  local out rc=0 served
  local port=$DEV_API_PORT
  [[ $DEV_COMPONENT == frontend ]] && port=$DEV_APP_PORT
  out=$(python3 "$repo/scripts/node/dev-edits.py" "$DEV_ROOT/$DEV_FILE" "$DEV_HANDLER" \
    "http://localhost:$port$DEV_PATH" "$DEV_EDITS" "$DEV_TIMEOUT_S") || rc=$?
  echo "$out"
  record dev_edits "$out"
  # A change berth dev reported failed: its own words (the work directory goes with the run).
  grep -E -A3 '^error' "$work/dev.err" | grep -v ' | ' | head -n 20
  # dev-edits.py puts the original back at the end: one more change, served before Ctrl-C.
  for _ in $(seq 1 120); do
    served=$(dev_served)
    ((served >= DEV_EDITS + 1)) && break
    sleep 0.5
  done
  kill -INT "$DEV_PID"
  local code=0
  wait "$DEV_PID" || code=$?
  local summary
  summary=$(grep '^stopped: ' "$work/dev.err")
  echo "berth dev (startup ${DEV_STARTUP_S}s): ${summary:-no summary}"
  grep -c '^change: ' "$work/dev.err" | sed 's/^/changes seen: /'
  record dev_session "$(python3 -c 'import json,sys; print(json.dumps({"startup_s": int(sys.argv[1]), "summary": sys.argv[2], "exit": int(sys.argv[3])}))' "$DEV_STARTUP_S" "$summary" "$code")"
  ((code == 0)) || { echo "berth dev exited $code after Ctrl-C:"; tail -n 20 "$work/dev.err"; return 1; }
  [[ -n $summary ]] || { echo "no summary on exit"; return 1; }
  # Ctrl-C left the release serving.
  k -n "$DEV_NS" rollout status "deploy/todo-chatbot-$DEV_COMPONENT" --timeout=60s >/dev/null ||
    { echo "the $DEV_COMPONENT is not ready after Ctrl-C"; return 1; }
  # Where the last rollout's time went: the pod's creation, its container's start, Ready.
  k -n "$DEV_NS" get pods -l "app.kubernetes.io/component=$DEV_COMPONENT" -o json | python3 -c '
import json, sys
from datetime import datetime
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
for p in json.load(sys.stdin)["items"]:
    created = t(p["metadata"]["creationTimestamp"])
    started = t(p["status"]["containerStatuses"][0]["state"].get("running", {}).get("startedAt", p["metadata"]["creationTimestamp"]))
    ready = next((t(c["lastTransitionTime"]) for c in p["status"].get("conditions", []) if c["type"] == "Ready"), created)
    print("pod %s: container started %+.0fs after creation, Ready %+.0fs after the start" % (p["metadata"]["name"], (started - created).total_seconds(), (ready - started).total_seconds()))
' || true
  return $rc
}

# Seconds since $1 (a date +%s.%N), to 2 decimals.
dev_since() { python3 -c 'import sys,time; print(f"{time.time() - float(sys.argv[1]):.2f}")' "$1"; }

dev_bench() {
  [[ -n ${DEV_ROOT:-} ]] || dev_tree || return 1
  app_registry || return 1
  dev_common
  local out=$work/dev-bench run t sets ref built loaded ready
  mkdir -p "$out"
  : >"$out/phases"
  # Each run edits the original handler, so each is a new backend image.
  cp "$DEV_ROOT/app/backend/app/main.py" "$out/main.py.orig"
  # Run 0 rolls every workload out of the dev profile; it is not counted.
  for run in $(seq 0 "$DEV_BENCH_RUNS"); do
    python3 - "$DEV_ROOT/app/backend/app/main.py" "$DEV_HANDLER" "$run" "$out/main.py.orig" <<'PY' || return 1
import os, sys
path, old, run, orig = sys.argv[1:]
text = open(orig).read()
if old not in text:
    sys.exit(f"{old!r} is not in {orig}")
text = text.replace(old, old.replace('"ok"', f'"ok", "bench": "{run}"'))
open(path + ".tmp", "w").write(text)
os.replace(path + ".tmp", path)
PY
    t=$(date +%s.%N)
    "$BERTH" images build frontend backend mcp --root "$DEV_ROOT" --specs-dir "$DEV_ROOT/images" \
      --out "$out/archives" --quiet --registry-mirror "docker.io=http://$APP_REGISTRY" >"$out/built" ||
      { echo "build failed"; return 1; }
    built=$(dev_since "$t")
    t=$(date +%s.%N)
    "$BERTH" images load frontend backend mcp --root "$DEV_ROOT" --specs-dir "$DEV_ROOT/images" \
      --out "$out/archives" --target containerd --containerd-socket "$CONTAINERD_SOCKET" >"$out/loaded" 2>&1 ||
      { echo "load failed"; cat "$out/loaded"; return 1; }
    loaded=$(dev_since "$t")
    sets=()
    while IFS=$'\t' read -r ref _; do
      local name=${ref%:*}
      sets+=(--set-string "components.${name##*/}.image.tag=${ref##*:}")
    done <"$out/built"
    t=$(date +%s.%N)
    "$BERTH" deploy --yes --images skip "${DEV_VALUES[@]}" "${sets[@]}" --timeout 5m >"$out/deploy.log" 2>&1 ||
      { echo "deploy failed"; tail -n 20 "$out/deploy.log"; return 1; }
    ready=$(dev_since "$t")
    echo "run $run: built ${built}s, loaded ${loaded}s, ready ${ready}s"
    ((run == 0)) || echo "$built $loaded $ready" >>"$out/phases"
  done
  local medians
  medians=$(python3 - "$out/phases" "$work/dev.err" <<'PY'
import json, re, statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
cols = list(zip(*rows))
deploy = {k: round(statistics.median(c), 2) for k, c in zip(["built_s", "loaded_s", "ready_s"], cols)}
deploy["total_s"] = round(statistics.median([sum(r) for r in rows]), 2)
dev = {}
try:
    line = next(l for l in open(sys.argv[2]) if l.startswith("stopped: "))
    # A live change (the spec's [dev]) is copied into the running container and reloaded by
    # the server: its copy is the load column, its reload the ready one, nothing is built.
    names = {"save → serving": "total_s", "copied": "loaded_s", "reloaded": "ready_s"}
    for key, value in re.findall(r"(built|loaded|ready|copied|reloaded|save → serving) ([0-9.]+) s", line):
        dev[names.get(key, key + "_s")] = float(value)
    if "copied" in line and "built_s" not in dev:
        dev["built_s"] = 0.0
except (StopIteration, FileNotFoundError):
    pass
print(json.dumps({"runs": len(rows), "deploy_images_load": deploy, "berth_dev": dev}))
PY
  ) || return 1
  record dev_bench "$medians"
  python3 - "$medians" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
print("per-phase medians (%d runs of build+load+deploy; berth dev from its session summary):" % d["runs"])
print("%22s %8s %8s %8s %8s" % ("", "built", "loaded", "ready", "total"))
for name, row in (("build+load+deploy", d["deploy_images_load"]), ("berth dev", d["berth_dev"])):
    print("%22s " % name + " ".join("%7.2fs" % row.get(k, float("nan")) for k in ("built_s", "loaded_s", "ready_s", "total_s")))
PY
}

# berth dev on a fixture of berth init, with the specs init wrote (an app uvicorn serves gets
# [dev]: each save is copied into the running pod): DEV_FIXTURE_EDITS atomic saves of a handler,
# each served through the local origin with zero failed requests; then, when live, a broken
# save; then Ctrl-C (exit 0; the pods run the image's code). Namespace dev-fixture, NodePort 31581.
DEV_FIXTURE=${DEV_FIXTURE:-fastapi-sqlite-routers}
DEV_FIXTURE_EDITS=${DEV_FIXTURE_EDITS:-3}
dev_fixture() {
  local dir=$work/dev-fixture ns=dev-fixture port pid out rc=0 t0
  rm -rf "$dir" && mkdir -p "$dir"
  cp -r "$repo/tests/fixtures/repos/$DEV_FIXTURE" "$dir/repo"
  (cd "$dir/repo" && "$BERTH" init --yes >/dev/null 2>"$dir/init.log") || { cat "$dir/init.log"; return 1; }
  app_registry || return 1
  port=$(free_port)
  (cd "$dir/repo" && exec "$BERTH" dev -n "$ns" --set expose.nodePort=31581 \
    --registry-mirror "docker.io=http://$APP_REGISTRY" --load-target containerd \
    --containerd-socket "$CONTAINERD_SOCKET" --port "app=$port" --timeout 5m) >"$dir/dev.out" 2>"$dir/dev.err" &
  pid=$!
  t0=$SECONDS
  until grep -q '^watching ' "$dir/dev.err"; do
    kill -0 "$pid" 2>/dev/null || { echo "berth dev exited:"; tail -n 30 "$dir/dev.err"; return 1; }
    ((SECONDS - t0 < 400)) || { echo "berth dev not watching after 400 s:"; tail -n 30 "$dir/dev.err"; kill -INT "$pid"; return 1; }
    sleep 0.5
  done
  grep -E '^(deployed|watching)' "$dir/dev.err"
  out=$(python3 "$repo/scripts/node/dev-edits.py" "$dir/repo/src/api/health.py" 'return {"status": "ok"}' \
    "http://localhost:$port/health/live" "$DEV_FIXTURE_EDITS" 120) || rc=1
  echo "$out"
  record dev_fixture "$out"
  # dev-edits.py puts the original back: one more change, served before Ctrl-C.
  for _ in $(seq 1 240); do
    (($(grep -c -- '→ serving' "$dir/dev.err") >= DEV_FIXTURE_EDITS + 1)) && break
    sleep 0.5
  done
  # init writes `[dev]` for an app uvicorn serves: then every save is copied live, not rolled out.
  local live
  live=$(grep -c -- '→ copied [0-9.]* s → reloaded' "$dir/dev.err")
  echo "dev_fixture: $live of $((DEV_FIXTURE_EDITS + 1)) changes copied into the running pod"
  if grep -q '^\[dev\]' "$dir/repo/images/"*.toml && ((live < DEV_FIXTURE_EDITS)); then
    echo "dev_fixture: the spec init wrote has [dev], yet saves were rolled out"; rc=1
  fi
  # Live: a broken save (the server cannot reload it), then Ctrl-C. The broken code is not
  # recorded, and the pods start again from the last good revision's image.
  if ((live > 0)); then
    python3 - "$dir/repo/src/api/health.py" <<'PY'
import os, sys
path = sys.argv[1]
open(path + ".tmp", "w").write(open(path).read() + "\nthis line is not Python (dev.sh)\n")
os.replace(path + ".tmp", path)
PY
    for _ in $(seq 1 180); do grep -q 'did not log' "$dir/dev.err" && break; sleep 0.5; done
    grep -q 'did not log' "$dir/dev.err" || { echo "dev_fixture: the broken save was not reported"; rc=1; }
  fi
  kill -INT "$pid"
  wait "$pid" || { echo "berth dev exited $? after Ctrl-C:"; tail -n 20 "$dir/dev.err"; rc=1; }
  grep '^stopped: ' "$dir/dev.err" || { echo "no summary on exit"; rc=1; }
  if ((live > 0)); then
    grep -E 'restarted, to run the image|restoring' "$dir/dev.err" || { echo "dev_fixture: no restart after the broken save"; rc=1; }
    dev_fixture_pristine "$ns" || rc=1
  fi
  grep -E -A3 '^error' "$dir/dev.err" | grep -v ' | ' | head -n 20
  (cd "$dir/repo" && "$BERTH" uninstall --yes -n "$ns" >/dev/null 2>&1) || true
  k delete namespace "$ns" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  return $rc
}

# After Ctrl-C on a broken live save: a ready pod of the app, not stopping, whose code is the
# image's (without the broken line), within 90 s.
dev_fixture_pristine() {
  local ns=$1 pod
  for _ in $(seq 1 90); do
    pod=$(k -n "$ns" get pods -l app.kubernetes.io/component=app -o json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    if ready and not p["metadata"].get("deletionTimestamp"):
        print(p["metadata"]["name"]); break')
    if [[ -n $pod ]]; then
      if k -n "$ns" exec "$pod" -- cat /app/src/api/health.py | grep -q 'not Python (dev.sh)'; then
        echo "dev_fixture: pod $pod still has the broken code copied live"; return 1
      fi
      echo "dev_fixture: pod $pod ready with the image's code after Ctrl-C"; return 0
    fi
    sleep 1
  done
  echo "dev_fixture: no ready pod of the app 90 s after Ctrl-C"; return 1
}

dev_cleanup() {
  "$BERTH" uninstall --yes -n "$DEV_NS" >/dev/null 2>&1 || true
  k delete namespace "$DEV_NS" --wait=false --ignore-not-found >/dev/null 2>&1 || true
}

# Run directly: the checks against the node of `scripts/node.sh env`.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -uo pipefail
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cd "$repo" || exit 2
  env_lines=$(scripts/node.sh env) || { echo "dev.sh: error: no real node" >&2; exit 2; }
  eval "$(sed 's/^/export /' <<<"$env_lines")"
  BERTH=${BERTH:-${CARGO_TARGET_DIR:-$repo/target}/debug/berth}
  work=$(mktemp -d)
  results=${BERTH_NODE_RESULTS:-$work/results.json}
  trap 'dev_cleanup; rm -rf "$work"' EXIT
  k() { "$KUBECTL" --request-timeout=30s "$@"; }
  record() {
    python3 - "$results" "$1" "$2" <<'PY'
import json, os, sys
path, key, value = sys.argv[1:]
data = json.load(open(path)) if os.path.exists(path) else {}
data[key] = json.loads(value)
json.dump(data, open(path, "w"), indent=1)
PY
  }
  # shellcheck source=app.sh
  source scripts/node/app.sh
  # shellcheck source=open.sh
  source scripts/node/open.sh
  rc=0
  # node-test.sh imports the edge proxy's image before its checks; run alone, do the same, or
  # the edge cannot start and every change is reported failed while the backend serves it.
  app_edge_image || exit 1
  if [[ -z ${DEV_FIXTURE_ONLY:-} ]]; then
    dev_loop || rc=1
    [[ $DEV_COMPONENT == frontend ]] || dev_bench || rc=1
  fi
  [[ -n ${DEV_SKIP_FIXTURE:-} ]] || dev_fixture || rc=1
  echo "results:" && cat "$results"
  exit $rc
fi
