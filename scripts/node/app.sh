#!/usr/bin/env bash
# The reference app on the real node, with berth doing the work (used by scripts/demo.sh and
# scripts/node-test.sh). Sourced; needs node.sh's environment (KUBECONFIG, CONTAINERD_SOCKET, ...)
# and $BERTH (the berth binary).
#
#   app_images [REVISION]       build frontend, backend and mcp with berth on the seeded bases and
#                               side-load them into the node's containerd; sets APP_SETS (the
#                               --set flags naming the built tags) and IMAGE_SECONDS
#   app_deploy ARGS...          berth deploy --yes --images skip "${APP_SETS[@]}" ARGS...
#   app_answers URL             true when the frontend serves the app at URL
#   app_edge_image              import the edge proxy's image (scripts/images/seed-nginx.sh: Debian's
#                               nginx under the name expose.edge.image pins) into the node's containerd
#   app_edge_routes NS URL      the edge at URL serves / from the frontend and /api from the backend
#                               directly (the backend logs the edge pod as the caller)

# The registry with the Python and Node bases, started once (it stays, like scripts/test.sh's).
app_registry() {
  [[ -n ${APP_REGISTRY:-} ]] && return 0
  APP_REGISTRY=$("$repo/scripts/registry.sh" up --python --node | tail -n 1)
}

app_images() {
  local revision=${1:-} t0=$SECONDS out line name ref
  app_registry
  out=$(mktemp -d)
  local common=(--root "$repo" --out "$out/archives")
  # The three app images; postgres comes from the node (scripts/node/images.sh).
  "$BERTH" images build frontend backend mcp "${common[@]}" --quiet \
    --registry-mirror "docker.io=http://$APP_REGISTRY" ${revision:+--revision "$revision"} >"$out/built" ||
    { rm -rf "$out"; echo "app: berth images build failed" >&2; return 1; }
  "$BERTH" images load frontend backend mcp "${common[@]}" \
    --target containerd --containerd-socket "$CONTAINERD_SOCKET" >&2 ||
    { rm -rf "$out"; echo "app: berth images load failed" >&2; return 1; }
  app_edge_image || { rm -rf "$out"; return 1; }
  APP_SETS=()
  while IFS=$'\t' read -r ref _; do
    name=${ref%:*}; name=${name##*/}
    APP_SETS+=(--set-string "components.$name.image.tag=${ref##*:}")
    line+=" $ref"
  done <"$out/built"
  rm -rf "$out"
  IMAGE_SECONDS=$((SECONDS - t0))
  echo "app: built and loaded in ${IMAGE_SECONDS}s:$line" >&2
}

app_deploy() {
  "$BERTH" deploy --yes --images skip "${APP_SETS[@]}" "$@"
}

app_answers() {
  curl -fsS --max-time 5 "$1/" 2>/dev/null | grep -q '<html'
}

# The edge image as a docker-archive, cached by what builds it (the seed scripts, the pinned name,
# Debian's nginx version), then imported (a no-op when the node has it).
app_edge_image() {
  local dir=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/node/images key tar
  key=$( (cat "$repo/scripts/images/seed-nginx.sh" "$repo/scripts/images/seed-common.sh"
    sed -n '/^  edge:/,/^    tag:/p' "$repo/values/values.yaml"
    apt-cache policy nginx | grep Candidate) | sha256sum | cut -c1-12)
  tar=$dir/edge-$key.tar
  if [[ ! -s $tar ]]; then
    mkdir -p "$dir"
    if ! "$repo/scripts/images/seed-nginx.sh" --archive "$tar.tmp" >&2; then
      echo "app: building the edge image failed" >&2
      return 1
    fi
    mv "$tar.tmp" "$tar"
  fi
  ctr -a "$CONTAINERD_SOCKET" -n k8s.io images import "$tar" >/dev/null ||
    { echo "app: importing the edge image into the node failed" >&2; return 1; }
}

app_edge_routes() { # namespace url
  local ns=$1 url=$2 kc=("$KUBECTL" --request-timeout=30s -n "$1") types probe code edge_ip line
  types=$("${kc[@]}" get svc -l app.kubernetes.io/instance=todo-chatbot \
    -o jsonpath='{range .items[*]}{.metadata.name}={.spec.type}{" "}{end}')
  echo "services: $types"
  [[ " $types " == *" todo-chatbot-edge=NodePort "* && " $types " == *" todo-chatbot-frontend=ClusterIP "* ]] ||
    { echo "the NodePort is not on the edge's Service"; return 1; }
  curl -fsS --max-time 10 "$url/" | grep -q '<html' || { echo "$url/ is not the frontend's page"; return 1; }
  probe=edge-$RANDOM$RANDOM
  code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/api/tasks?probe=$probe")
  [[ $code == 401 ]] || { echo "GET $url/api/tasks without a session answered $code, want the backend's 401"; return 1; }
  edge_ip=$("${kc[@]}" get pods -l app.kubernetes.io/component=edge -o jsonpath='{.items[*].status.podIP}')
  sleep 1
  line=$("${kc[@]}" logs -l app.kubernetes.io/component=backend --tail 200 | grep -F "probe=$probe") ||
    { echo "the backend never saw /api/tasks?probe=$probe"; return 1; }
  echo "backend: $line"
  for ip in $edge_ip; do [[ $line == *"$ip:"* ]] && { echo "edge pod $ip -> backend directly"; return 0; }; done
  echo "the backend's caller is not the edge ($edge_ip)"; return 1
}

# Fixture (d) of issue 23, tests/fixtures/repos/same-origin-vite: a Vite page calling /api on its
# own origin and a FastAPI API, taken from `berth init --yes` (no edits) to a browser session
# through the NodePort, i.e. through the edge proxy: scripts/browser-check.mjs --scenario todo adds
# a task through the page, reloads, sees it, and reports zero failed requests and console errors.
# Uninstalls the release and deletes NS afterwards.
fixture_same_origin() { # namespace nodePort
  local ns=$1 port=$2 dir rc=0 sets=() ref name
  dir=$(mktemp -d)
  cp -r "$repo/tests/fixtures/repos/same-origin-vite" "$dir/repo"
  APP_REGISTRY_STATIC=$("$repo/scripts/registry.sh" up --python --node --static | tail -n 1) || return 1
  (cd "$dir/repo" && "$BERTH" init --yes >/dev/null 2>"$dir/init.log") || { cat "$dir/init.log"; return 1; }
  echo "berth init wrote the routes: $(sed -n '/^  routes:/,/^  [a-z]/p' "$dir/repo/berth.yaml" | tr -s ' \n' ' ')"
  "$BERTH" images build --root "$dir/repo" --out "$dir/out" --quiet \
    --registry-mirror "docker.io=http://$APP_REGISTRY_STATIC" >"$dir/built" || return 1
  "$BERTH" images load --root "$dir/repo" --out "$dir/out" --target containerd \
    --containerd-socket "$CONTAINERD_SOCKET" >&2 || return 1
  app_edge_image || return 1
  while IFS=$'\t' read -r ref _; do
    name=${ref%:*}; name=${name##*/}
    sets+=(--set-string "components.$name.image.tag=${ref##*:}")
  done <"$dir/built"
  (cd "$dir/repo" && "$BERTH" deploy --yes --images skip -n "$ns" --release same-origin \
    --set expose.mode=nodePort --set "expose.nodePort=$port" "${sets[@]}" --timeout 5m) || rc=1
  if ((rc == 0)); then
    node "$repo/scripts/browser-check.mjs" "http://$NODE_IP:$port/" --scenario todo \
      --json "$dir/browser.json" >/dev/null || rc=1
    cat "$dir/browser.json" 2>/dev/null
  fi
  (cd "$dir/repo" && "$BERTH" uninstall --yes -n "$ns" --release same-origin >/dev/null 2>&1) || true
  "$KUBECTL" delete namespace "$ns" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$dir"
  return $rc
}
