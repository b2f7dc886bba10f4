#!/usr/bin/env bash
# `berth open` on the real node (sourced by scripts/node-test.sh). Needs: $BERTH, $ns (the
# release's namespace), $work, k() (kubectl), record(), COOKIE (a session cookie the backend
# accepts), APP_SETS (app.sh's --set flags), and optionally OPEN_UPGRADE_TAG (a backend image tag
# on the node other than the running one; without it the upgrade is a pod-template change).
#
#   open_start              berth open on two free local ports (the app, and the backend's own)
#   open_serves             the app answers at http://localhost:<app port>, the API at the backend's
#   open_rolling_upgrade    a rolling upgrade of the backend under 10 req/s through the open
#                           session (the backend's local port and the app's): zero of >= 200 lost
#   open_pod_deleted        a backend pod deleted mid-session: zero lost, berth open still running
#   open_stop               Ctrl-C (SIGINT) ends berth open with exit 0
# shellcheck disable=SC2154 # ns, work, COOKIE, APP_SETS: set by the script that sources this
OPEN_RELEASE=${OPEN_RELEASE:-todo-chatbot}

# A TCP port nothing listens on (the kernel picks it; closed again at once).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

open_start() {
  OPEN_APP_PORT=$(free_port) OPEN_API_PORT=$(free_port)
  "$BERTH" open -n "$ns" --release "$OPEN_RELEASE" --port "frontend=$OPEN_APP_PORT" \
    --port "backend=$OPEN_API_PORT" >"$work/open.out" 2>"$work/open.err" &
  OPEN_PID=$!
  local i
  for i in $(seq 1 60); do
    grep -q "http://localhost:$OPEN_API_PORT" "$work/open.out" 2>/dev/null && break
    kill -0 "$OPEN_PID" 2>/dev/null || { echo "berth open exited:"; cat "$work/open.err"; return 1; }
    sleep 0.5
  done
  cat "$work/open.out"
  grep -q "^http://localhost:$OPEN_APP_PORT " "$work/open.out" || { echo "no app URL printed"; cat "$work/open.err"; return 1; }
}

open_serves() {
  [[ -n ${COOKIE:-} ]] || session || { echo "no session cookie"; return 1; }
  app_answers "http://localhost:$OPEN_APP_PORT" || { echo "no page at http://localhost:$OPEN_APP_PORT"; return 1; }
  local out
  out=$(curl -fsS --max-time 10 -H "Cookie: $COOKIE" "http://localhost:$OPEN_API_PORT/api/tasks") ||
    { echo "the backend's own port does not answer /api/tasks"; return 1; }
  echo "app at http://localhost:$OPEN_APP_PORT, API at http://localhost:$OPEN_API_PORT: ${out:0:80}"
}

# Runs "$@" while two request loops (the backend's local port, and /api through the app's)
# run at 10 req/s each, for at least MIN seconds and 200 requests each (under load a request
# can take longer than 100 ms: the loops then run on after the change); wants zero failures.
open_under_load() { # name min-seconds command...
  local name=$1 min=$2 t0=$SECONDS rc=0 url; shift 2
  local stop=$work/stop-open-$name
  rm -f "$stop"
  local loops=()
  for url in "http://localhost:$OPEN_API_PORT/api/tasks" "http://localhost:$OPEN_APP_PORT/api/tasks"; do
    python3 scripts/node/request-loop.py "$url" "$COOKIE" "$stop" 10 900 200 >"$work/open-$name-${#loops[@]}.json" &
    loops+=($!)
  done
  sleep 3
  "$@" >"$work/open-$name.log" 2>&1 || rc=$?
  while ((SECONDS - t0 < min)); do sleep 1; done
  touch "$stop"
  wait "${loops[@]}"
  local i summary ok=0
  for i in 0 1; do
    summary=$(cat "$work/open-$name-$i.json")
    record "open_$name$([[ $i == 0 ]] && echo _backend_port || echo _app_port)" "$summary"
    echo "${name} via $([[ $i == 0 ]] && echo "the backend's local port" || echo "the app's local port"): $summary"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["requests"] >= 200 and d["failures"] == 0 else 1)' \
      "$work/open-$name-$i.json" || ok=1
  done
  ((rc == 0)) || { echo "command failed:"; tail -n 20 "$work/open-$name.log"; return 1; }
  kill -0 "$OPEN_PID" 2>/dev/null || { echo "berth open died:"; tail -n 20 "$work/open.err"; return 1; }
  return $ok
}

backend_pods() { k -n "$ns" get pods -l "app.kubernetes.io/instance=$OPEN_RELEASE,app.kubernetes.io/component=backend" -o name | sort; }
backend_template_image() { k -n "$ns" get deploy "$OPEN_RELEASE-backend" -o jsonpath='{.spec.template.spec.containers[0].image}'; }

open_rolling_upgrade() {
  local before after change
  before=$(backend_pods)
  if [[ -n ${OPEN_UPGRADE_TAG:-} ]]; then
    change=(--set-string "components.backend.image.tag=$OPEN_UPGRADE_TAG")
  else
    change=(--set "components.backend.podAnnotations.rollout=r$RANDOM$RANDOM")
  fi
  open_under_load upgrade 22 app_deploy --release "$OPEN_RELEASE" -n "$ns" "${change[@]}" --timeout 5m || return 1
  after=$(backend_pods)
  [[ -z $(comm -12 <(echo "$before") <(echo "$after")) ]] || { echo "backend pods not all replaced: $after"; return 1; }
  echo "backend $(backend_template_image); pods replaced: ${before//$'\n'/ } -> ${after//$'\n'/ }"
}

delete_one_backend_pod() {
  local pod
  pod=$(backend_pods | head -n 1)
  k -n "$ns" delete "$pod" --wait=true && k -n "$ns" rollout status "deploy/$OPEN_RELEASE-backend" --timeout=180s && echo "deleted $pod"
}
open_pod_deleted() { open_under_load pod-deleted 22 delete_one_backend_pod && tail -n 2 "$work/open-pod-deleted.log"; }

open_stop() {
  kill -INT "$OPEN_PID" 2>/dev/null || { echo "berth open was not running"; return 1; }
  local rc=0
  wait "$OPEN_PID" || rc=$?
  ((rc == 0)) || { echo "berth open exited $rc after Ctrl-C:"; tail -n 5 "$work/open.err"; return 1; }
  ! curl -fsS --max-time 2 -o /dev/null "http://localhost:$OPEN_APP_PORT/" 2>/dev/null || { echo "still served after Ctrl-C"; return 1; }
  echo "connections closed unanswered during the session: $(grep -c 'connection was closed unanswered' "$work/open.err" || true)"
}
