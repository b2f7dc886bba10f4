#!/usr/bin/env bash
# Validates every object berth renders, for each shipped profile and the main
# variations, against the Kubernetes 1.35 OpenAPI schemas (kubernetes-validate,
# offline, --strict: unknown fields are errors). Installs its pinned Python
# packages into a venv cached outside the repository.
#   usage: scripts/validate-manifests.sh [path/to/berth]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
berth=${1:-$repo/target/debug/berth}
cache=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/pytools
k8s_version=1.35.0

log() { echo "validate: $*" >&2; }

install() {
  local stamp=$cache/venv/.requirements
  if [[ -x $cache/venv/bin/kubernetes-validate ]] && cmp -s "$repo/scripts/requirements-validate.txt" "$stamp"; then
    return
  fi
  log "installing kubernetes-validate into $cache/venv"
  mkdir -p "$cache"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/scripts/requirements-validate.txt"
  cp "$repo/scripts/requirements-validate.txt" "$stamp"
}

[[ -x $berth ]] || { log "error: berth binary not found at $berth (run cargo build first)"; exit 2; }
install

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AUTH_SECRET=validate-auth POSTGRES_PASSWORD=validate-pw
unset OPENAI_API_KEY GEMINI_API_KEY DATABASE_URL

# name | directory berth runs in (its berth.yaml is the stack; the repository: the
# embedded example) | berth render arguments
scaled="--set autoscaling.enabled=true,podDisruptionBudget.enabled=true,networkPolicy.enabled=true"
cases=(
  "default|.|"
  "dev|.|-f values/dev.yaml"
  "staging|.|-f values/staging.yaml"
  "prod|.|-f values/prod.yaml"
  "prod-ingress-tls|.|-f values/prod.yaml --set expose.mode=ingress --set expose.ingress.tlsSecretName=todo-tls"
  "prod-gateway|.|-f values/prod.yaml --set expose.mode=gateway"
  "external-db-openai|.|-f values/prod.yaml --set database.mode=external"
  "existing-secret|.|--set components.frontend.existingSecret=todo-secrets,components.backend.existingSecret=todo-secrets --set networkPolicy.enabled=true"
  "expose-none|.|--set expose.mode=none --set components.frontend.enabled=false"
  "example-nextjs-fastapi-neon|examples/nextjs-fastapi-neon|$scaled"
  "example-nextjs-fastapi-neon-ingress|examples/nextjs-fastapi-neon|--set expose.mode=ingress"
  "example-vite-fastapi-worker|examples/vite-fastapi-worker|"
  "example-vite-fastapi-worker-scaled|examples/vite-fastapi-worker|$scaled"
)
passed=0 failed=0
for case in "${cases[@]}"; do
  IFS='|' read -r name where args <<<"$case"
  dir=$work/$name
  # shellcheck disable=SC2086 # args are word-split on purpose
  if ! (cd "$repo/$where" && DATABASE_URL=postgresql://todo:pw@db.example.com/todo?sslmode=require OPENAI_API_KEY=test-key \
    NEON_DATABASE_URL=postgresql://app:pw@ep-x.neon.tech/taskpilot?sslmode=require \
    "$berth" render --include-secrets $args --output-dir "$dir") 2>"$work/$name.err"; then
    log "FAIL $name: berth render failed: $(cat "$work/$name.err")"
    failed=$((failed + 1))
    continue
  fi
  # HTTPRoute is a Gateway API CRD: not in the Kubernetes schemas, so it is
  # checked by berth's own tests (tests/render_examples.rs), not here.
  files=()
  for f in "$dir"/*.yaml; do [[ $f == *httproutes.yaml ]] || files+=("$f"); done
  if "$cache/venv/bin/kubernetes-validate" --strict --quiet -k "$k8s_version" "${files[@]}"; then
    log "ok   $name ($(cat "${files[@]}" | grep -c '^kind:') objects$([[ -e $dir/11-httproutes.yaml ]] && echo ", HTTPRoute not schema-checked"))"
    passed=$((passed + 1))
  else
    log "FAIL $name"
    failed=$((failed + 1))
  fi
done
# berth init's fixture repositories: `berth init --yes` in a copy, then render what it wrote.
for fixture in "$repo"/tests/fixtures/repos/*/; do
  name=init-$(basename "$fixture")
  copy=$work/repos/$(basename "$fixture") dir=$work/$name
  mkdir -p "$work/repos" && cp -r "$fixture" "$copy"
  # Every secret init lists in berth.env.example gets a stand-in value (a URL for a *_URL name),
  # as a team supplies its own: the render must not stop at a missing input.
  if ! "$berth" init --yes "$copy" 2>"$work/$name.err" ||
    ! { [[ ! -f $copy/berth.env.example ]] || sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$copy/berth.env.example"; } |
      awk '/_URL$/ { print $0 "=postgresql://app:pw@ep-x.neon.tech/app?sslmode=require"; next } { print $0 "=validate-" tolower($0) }' \
        >"$work/$name.env" ||
    ! (cd "$copy" && "$berth" render --include-secrets --env-file "$work/$name.env" --output-dir "$dir") 2>>"$work/$name.err"; then
    log "FAIL $name: berth init/render failed: $(cat "$work/$name.err")"
    failed=$((failed + 1))
    continue
  fi
  if "$cache/venv/bin/kubernetes-validate" --strict --quiet -k "$k8s_version" "$dir"/*.yaml; then
    log "ok   $name ($(cat "$dir"/*.yaml | grep -c '^kind:') objects)"
    passed=$((passed + 1))
  else
    log "FAIL $name"
    failed=$((failed + 1))
  fi
done
echo "validate-manifests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
