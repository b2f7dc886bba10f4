#!/usr/bin/env bash
# Validates the Compose files berth writes (`berth compose export` for the reference app, the
# examples and berth init's fixture repositories; `berth aiops export`'s gordon-mcp.yml) with
# compose-go, the Compose Specification's reference loader that Docker Compose itself uses: the
# specification's JSON schema, interpolation from the project's .env, and the project's
# consistency (depends_on targets and conditions, named volumes). Also checks that the written
# .env holds names only, and that Compose refuses to start while a required secret is empty.
# Builds compose-check (scripts/compose, compose-go pinned in its go.mod) once per version into
# the cache; only the Go module proxy is needed.
#   usage: scripts/validate-compose.sh [path/to/berth]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
berth=${1:-$repo/target/debug/berth}
log() { echo "validate-compose: $*" >&2; }
[[ -x $berth ]] || { log "error: berth binary not found at $berth (run cargo build first)"; exit 2; }

src=$repo/scripts/compose
version=$(awk '$1 == "require" && $2 ~ /compose-go/ {print $3}' "$src/go.mod")
hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
bin_dir=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/tools/compose-check-$version-$hash
check=$bin_dir/compose-check
if [[ ! -x $check ]]; then
  log "building compose-check (compose-go $version) into $bin_dir"
  mkdir -p "$bin_dir"
  (cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$check.tmp" .) && mv "$check.tmp" "$check"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { log "ok   $1"; passed=$((passed + 1)); }
fail() { log "FAIL $1"; failed=$((failed + 1)); }

# compose_case NAME DIR: export in DIR, check the .env is names only, check that an empty
# required secret stops Compose, then fill every variable and load the project.
compose_case() {
  local name=$1 where=$2 out=$work/$1
  if ! (cd "$where" && "$berth" compose export --out "$out") 2>"$work/$name.err"; then
    fail "$name: berth compose export failed: $(cat "$work/$name.err")"; return
  fi
  if grep -v '^#' "$out/.env" | grep -v '^$' | grep -qv '^[A-Za-z_][A-Za-z0-9_]*=$'; then
    fail "$name: .env holds a value: $(grep -v '^#' "$out/.env" | grep -v '=$' | head -1)"; return
  fi
  local required
  required=$(grep -o '\${[A-Za-z0-9_]*:?' "$out/docker-compose.yml" | head -1 | tr -d '${:?') || true
  if [[ -n $required ]] && "$check" "$out/docker-compose.yml" >/dev/null 2>"$work/$name.empty"; then
    fail "$name: loaded with $required empty"; return
  fi
  if [[ -n $required ]] && ! grep -q "$required" "$work/$name.empty"; then
    fail "$name: the refusal does not name $required: $(cat "$work/$name.empty")"; return
  fi
  # Test values (not secrets) for every variable, as a user fills them in.
  sed -i 's/^\([A-Za-z_][A-Za-z0-9_]*\)=$/\1=validate-value-\1/' "$out/.env"
  if ! "$check" "$out/docker-compose.yml" >"$out/project.json" 2>"$work/$name.err"; then
    fail "$name: $(cat "$work/$name.err")"; return
  fi
  local services
  services=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["services"]))' "$out/project.json")
  ok "$name ($services services$([[ -n $required ]] && echo ", refused with $required empty"))"
}

compose_case reference-app "$repo"
for example in "$repo"/examples/*/; do
  compose_case "example-$(basename "$example")" "$example"
done
for fixture in "$repo"/tests/fixtures/repos/*/; do
  copy=$work/repos/$(basename "$fixture")
  mkdir -p "$work/repos" && cp -r "$fixture" "$copy"
  if "$berth" init --yes "$copy" 2>"$work/init.err" >/dev/null; then
    compose_case "init-$(basename "$fixture")" "$copy"
  else
    fail "init-$(basename "$fixture"): berth init failed: $(cat "$work/init.err")"
  fi
done

# Gordon's MCP servers file is a Compose file too.
if (cd "$work" && "$berth" aiops export --out "$work/aiops" --kubeconfig "$work/kubeconfig") 2>"$work/aiops.err" &&
  "$check" "$work/aiops/gordon/gordon-mcp.yml" >/dev/null 2>>"$work/aiops.err"; then
  ok "gordon-mcp.yml"
else
  fail "gordon-mcp.yml: $(cat "$work/aiops.err")"
fi
echo "validate-compose: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
