#!/usr/bin/env bash
# Benchmarks on the real node (numbers, not assertions; results in scripts/README.md):
#   1. clean to the app's first successful HTTP answer: scripts/node.sh down, then scripts/demo.sh
#      (node up, images built by berth and side-loaded, berth deploy, the URL answering)
#   2. pod start to ready per component (pod creation -> container started -> Ready), from the
#      pods' own status timestamps
#   3. image build + side-load of the three app images: unchanged sources (cache hits) and a
#      changed revision (new config, new tags)
#   4. the request loop's latency (10 req/s through the frontend to the backend) at rest and
#      during a rolling upgrade of the backend
# Leaves the node up with the app deployed. Needs root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
say() { printf '%-58s %s\n' "$1" "$2"; }

scripts/node.sh down >/dev/null 2>&1 || true
t0=$SECONDS
scripts/demo.sh >/dev/null
say "clean -> first HTTP answer (scripts/demo.sh)" "$((SECONDS - t0)) s"

eval "$(scripts/node.sh env | sed 's/^/export /')"
BERTH=${CARGO_TARGET_DIR:-target}/debug/berth
# shellcheck source=node/app.sh
source scripts/node/app.sh

"$KUBECTL" -n todo get pods -o json | python3 -c '
import json, sys
from datetime import datetime
t = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
for p in sorted(json.load(sys.stdin)["items"], key=lambda p: p["metadata"]["name"]):
    cond = {c["type"]: c["lastTransitionTime"] for c in p["status"]["conditions"]}
    started = p["status"]["containerStatuses"][0]["state"].get("running", {}).get("startedAt")
    created = t(p["metadata"]["creationTimestamp"])
    comp = p["metadata"]["labels"]["app.kubernetes.io/component"]
    # No quotes inside the f-strings: nesting them needs Python 3.12, Debian 12 has 3.11.
    label = comp + " pod start -> ready (" + p["metadata"]["name"] + ")"
    to_start = (t(started) - created).seconds
    to_ready = (t(cond["Ready"]) - created).seconds
    print(f"{label:58} {to_start} s to container start, {to_ready} s to Ready")
'

t0=$SECONDS
app_images >/dev/null 2>&1
say "build + load, unchanged sources" "$((SECONDS - t0)) s"
base_sets=("${APP_SETS[@]}")
t0=$SECONDS
app_images "bench-$RANDOM" >/dev/null 2>&1
say "build + load, changed revision (3 new images)" "$((SECONDS - t0)) s"
new_backend=$(printf '%s\n' "${APP_SETS[@]}" | sed -n 's/^components.backend.image.tag=//p')

curl -fsS -c /tmp/bench-node-cookies.$$ -o /dev/null "$APP_URL/"
cookie="todo_session=$(awk '$6 == "todo_session" {print $7}' /tmp/bench-node-cookies.$$)"
rm -f /tmp/bench-node-cookies.$$
loop() { python3 scripts/node/request-loop.py "$APP_URL/api/tasks" "$cookie" "$1" 10 "$2"; }
rest=$(loop /nonexistent-stop 20)
say "request loop at rest (20 s)" "$rest"
stop=$(mktemp -u)
loop "$stop" 600 >"$stop.json" &
pid=$!
sleep 3
t0=$SECONDS
APP_SETS=("${base_sets[@]}" --set-string "components.backend.image.tag=$new_backend")
app_deploy --timeout 5m >/dev/null 2>&1
say "rolling upgrade of the backend (berth deploy to ready)" "$((SECONDS - t0)) s"
sleep 3
touch "$stop"
wait "$pid"
say "request loop during the upgrade" "$(cat "$stop.json")"
rm -f "$stop" "$stop.json"
