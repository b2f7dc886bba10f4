#!/usr/bin/env bash
# berth's whole test suite, as CI runs it. Installs what it needs (pinned) through
# the project's own scripts, then runs, in order:
#   1. cargo fmt --check and cargo clippy -D warnings
#   2. unit and integration tests that need no cluster (cargo test)
#   3. OpenAPI validation of every rendered profile (scripts/validate-manifests.sh), the
#      Compose files berth writes against the Compose Specification (scripts/validate-compose.sh),
#      and the reference app's Compose file run by Docker Engine and Docker Compose in a network
#      namespace of its own (scripts/compose-run.sh, needs root)
#   4. the reference app's tests, including the browser end-to-end test (scripts/app-test.sh)
#   5. image build/load/push tests against a real registry and containerd (scripts/images-test.sh)
#   6. the test cluster: scripts/cluster.sh up, its smoke test, the cluster-backed
#      cargo tests (feature cluster-tests), and scripts/cluster.sh down, also on failure.
#   7. the release path, one target (scripts/release.sh, release-smoke.sh, release-install-test.sh):
#      a static x86_64-unknown-linux-musl build (dev profile) packaged as a release archive, its
#      smoke tests (compared with the debug build; doctor on a test cluster), install.sh from a
#      file:// directory, and the installed binary alone: init, render, deploy to the cluster.
#   8. the real node: scripts/node.sh up (kubelet, containerd, CoreDNS in a network namespace),
#      scripts/node-test.sh (the app built, loaded, deployed and tested in a browser, upgrades
#      under load, root causes, Pod Security restricted, resources), the browser check's own tests
#      (tests/browser_check.rs), every fixture under tests/fixtures/repos from `berth init --yes`
#      to Ready on the node (scripts/real-repos.sh --fixtures), scripts/node.sh down.
# Every step runs even when an earlier one failed; the exit code is non-zero if any failed.
#   BERTH_TEST_ONLY="cargo cluster" runs only the named steps.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
berth=$target_dir/debug/berth
export BERTH_CLUSTER_DIR=${BERTH_CLUSTER_DIR:-$repo/.cluster}

passed=0 failed=0 failures=()
# Peer tools first: the chart tests run the real helm, the cluster tests kubectl.
tools=$(scripts/tools.sh | tail -n 1) || { echo "scripts/tools.sh failed" >&2; exit 1; }
export BERTH_HELM=$tools/helm KUBECTL=$tools/kubectl PATH=$tools:$PATH
say() { printf '\n=== %s\n' "$*" >&2; }

wanted() { [[ -z ${BERTH_TEST_ONLY:-} || " $BERTH_TEST_ONLY " == *" $1 "* ]]; }

# step NAME CMD...: runs CMD, records its outcome.
step() {
  local name=$1 start=$SECONDS
  shift
  wanted "$name" || return 0
  say "$name: $*"
  if "$@"; then
    passed=$((passed + 1))
    echo "--- $name ok ($((SECONDS - start)) s)" >&2
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "--- $name FAILED ($((SECONDS - start)) s)" >&2
  fi
}

lint() {
  cargo fmt --all -- --check && cargo clippy --all-targets --all-features --quiet -- -D warnings
}

cargo_tests() {
  cargo build --quiet && cargo test --quiet --no-fail-fast 2>&1
}

cluster_tests() {
  local kc py
  # The MCP tests drive `berth mcp` with the reference app's pinned Python MCP SDK.
  py=$(bash -c 'source app/scripts/common.sh && ensure_python_deps >&2 && echo "$VENV_PY"') || return 1
  export BERTH_MCP_PYTHON=$py
  kc=$(scripts/cluster.sh up | tail -n 1) || { scripts/cluster.sh down >/dev/null 2>&1; return 1; }
  # The cluster goes down whatever happens below.
  trap 'scripts/cluster.sh down >&2 || true' RETURN
  local ok=0
  KUBECONFIG=$kc scripts/cluster-smoke.sh || ok=1
  # cluster_faults last: it restarts the API server, after which kwok's nodes can go minutes
  # without their addresses (port-forwards and logs through the API server fail meanwhile).
  local tests=() t
  for t in tests/cluster_*.rs; do
    t=${t#tests/} t=${t%.rs}
    [[ $t == cluster_faults ]] || tests+=(--test "$t")
  done
  KUBECONFIG=$kc cargo test --quiet --no-fail-fast --features cluster-tests "${tests[@]}" --test chart_cluster 2>&1 || ok=1
  KUBECONFIG=$kc cargo test --quiet --no-fail-fast --features cluster-tests --test cluster_faults 2>&1 || ok=1
  return $ok
}

images_tests() {
  if [[ ! -x scripts/images-test.sh ]]; then
    echo "scripts/images-test.sh is missing" >&2
    return 1
  fi
  scripts/images-test.sh
}

# The release path for the one target CI can afford: it runs here without an emulator, and the
# aarch64 and Windows builds (minutes each, plus zig and Wine) stay with scripts/release.sh.
release_tests() {
  local out kc version ok=0
  scripts/release-lint.sh || ok=1
  scripts/release-check.sh || ok=1
  cargo build --quiet --bin berth || return 1
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
  out=$(mktemp -d)
  local -x BERTH_CLUSTER_DIR=$BERTH_CLUSTER_DIR-release
  if ! BERTH_RELEASE_OUT=$out BERTH_RELEASE_TARGETS=x86_64-unknown-linux-musl \
    BERTH_RELEASE_PROFILE=dev BERTH_RELEASE_SBOM=0 scripts/release.sh "$version"; then
    rm -rf "$out"
    return 1
  fi
  kc=$(scripts/cluster.sh up | tail -n 1) || { scripts/cluster.sh down >&2; rm -rf "$out"; return 1; }
  KUBECONFIG=$kc BERTH_SMOKE_REFERENCE=$berth scripts/release-smoke.sh "$out" || ok=1
  KUBECONFIG=$kc scripts/release-install-test.sh "$out" || ok=1
  scripts/cluster.sh down >&2 || ok=1
  rm -rf "$out"
  return $ok
}

node_tests() {
  cargo build --quiet --bin berth || return 1
  # Its own state directory: the cluster step's may still be going down.
  local kc ok=0
  local -x BERTH_CLUSTER_DIR=$BERTH_CLUSTER_DIR-node
  kc=$(scripts/node.sh up | tail -n 1) || { scripts/node.sh down >&2 || true; return 1; }
  KUBECONFIG=$kc BERTH=$berth scripts/node-test.sh || ok=1
  # The browser check itself (pages of our own on 127.0.0.1), then every fixture repository from
  # `berth init --yes` to Ready on the node, with the browser check where it serves a page.
  local t0=$SECONDS
  BERTH_PLAYWRIGHT_DIR=$(scripts/browser-tools.sh | tail -n 1) &&
    BERTH_PLAYWRIGHT_DIR=$BERTH_PLAYWRIGHT_DIR cargo test --quiet --test browser_check -- --include-ignored 2>&1 || ok=1
  # A fixture that fails any step fails the node step, the browser check at the NodePort origin
  # (through the edge proxy where several components are routed) included. Three fixtures also go
  # through `berth open` (issue 23's acceptance: (a) an API URL with a CORS list, (b) a Vite SPA,
  # (c) Better Auth with localhost origins and a JWKS-verifying backend): built for the local
  # origin, the browser check at localhost, a rolling upgrade with zero requests lost.
  BERTH=$berth scripts/real-repos.sh --fixtures \
    --open next-api-cors --open vite-api-root --open better-auth-jwks --out "$BERTH_CLUSTER_DIR.node/fixtures" || ok=1
  echo "--- fixtures on the real node: $((SECONDS - t0)) s" >&2
  scripts/node.sh down >&2 || ok=1
  return $ok
}

step lint lint
step cargo cargo_tests
validate() {
  local ok=0
  scripts/validate-manifests.sh "$berth" || ok=1
  scripts/validate-compose.sh "$berth" || ok=1
  scripts/compose-run.sh "$berth" || ok=1
  return $ok
}

step validate validate
step app scripts/app-test.sh
step images images_tests
step cluster cluster_tests
step release release_tests
step node node_tests

echo
[[ $failed -eq 0 ]] || echo "failed steps: ${failures[*]}" >&2
echo "test-steps: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
