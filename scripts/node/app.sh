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
  APP_SETS=()
  while IFS=$'\t' read -r ref _; do
    name=${ref%:*}; name=${name##*/}
    APP_SETS+=(--set "components.$name.image.tag=${ref##*:}")
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
