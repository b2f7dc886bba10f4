#!/usr/bin/env bash
# The installers and "the binary alone is enough", against a directory of release archives
# (scripts/release.sh's output): scripts/release-install-test.sh DIR
#
#  1. install.sh and install.ps1 as release.sh stamped them: shellcheck (POSIX sh) and, when
#     PowerShell is installed (`pwsh`), its parser; PowerShell is not in the registries this
#     machine reaches, so install.ps1 is only run where pwsh exists.
#  2. install.sh with BERTH_DOWNLOAD_URL=file://DIR into a fresh BERTH_INSTALL_DIR: the binary
#     is installed and runs; a damaged archive (its checksum no longer matches) and a version
#     the release does not have are refused with exit 1 and nothing installed.
#  3. The installed binary alone — copied to a directory outside this checkout, on a PATH of
#     system directories only, HOME in a temp dir — in copies of a fixture repository and of an
#     example stack: `berth deploy` where there is no berth.yaml says to run `berth init`
#     (exit 2); `berth init --yes` writes berth.yaml and images/; `berth render`; `berth deploy`
#     of the fixture and of the example to the test cluster, ready; `berth uninstall`.
#
#   KUBECONFIG   the test cluster; unset: scripts/cluster.sh up with its own state directory
#                (${BERTH_CLUSTER_DIR:-.cluster}-release-install), down at the end
# Prints one line per check and a last line "N passed, M failed"; exit 1 on any failure.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 2
# shellcheck source=scripts/release/toolchain.sh
source scripts/release/toolchain.sh
dir=$(cd "${1:-$repo/dist}" && pwd) || exit 2
[[ -s $dir/sha256.sum && -f $dir/install.sh ]] || {
  echo "release-install-test: $dir has no sha256.sum or install.sh (run scripts/release.sh first)" >&2
  exit 2
}

passed=0 failed=0
ok() {
  passed=$((passed + 1))
  echo "ok - $*"
}
bad() {
  failed=$((failed + 1))
  echo "FAIL - $*"
}
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

ensure_debian_packages shellcheck
work=$(mktemp -d /tmp/berth-release-install.XXXXXX)
cluster_started=
cleanup() {
  [[ -n $cluster_started ]] && scripts/cluster.sh down >&2
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The installers as shipped.
check "install.sh is shellcheck-clean as POSIX sh" shellcheck -s sh "$dir/install.sh"
check "install.sh names the release's URL" grep -q "^releases_url='https://" "$dir/install.sh"
if command -v pwsh >/dev/null 2>&1; then
  check "install.ps1 parses (pwsh)" pwsh -NoProfile -Command \
    "\$e=\$null; [System.Management.Automation.Language.Parser]::ParseFile('$dir/install.ps1', [ref]\$null, [ref]\$e) | Out-Null; if (\$e) { \$e; exit 1 }"
else
  echo "SKIP - install.ps1 under PowerShell: no pwsh on this machine (not in Debian, PyPI, npm or crates.io)"
fi

# 2. install.sh from a local directory of archives.
install_into() { # install_into DIR [ENV...]: runs install.sh, stdin closed, output in $work/install.log
  local into=$1
  shift
  env -i PATH=/usr/bin:/bin HOME="$work/home" BERTH_INSTALL_DIR="$into" \
    BERTH_DOWNLOAD_URL="file://$dir" "$@" sh "$dir/install.sh" </dev/null >"$work/install.log" 2>&1
}
mkdir -p "$work/home"
if install_into "$work/bin"; then
  ok "install.sh installs from file://$dir: $(grep -o 'installed .*' "$work/install.log")"
else
  bad "install.sh from file://$dir"
  cat "$work/install.log"
fi
berth=$work/bin/berth
check "the installed berth runs (--version)" "$berth" --version
check "install.sh says ~/.local/bin is not on PATH when it is not" grep -q 'is not on your PATH' "$work/install.log"

# A damaged archive: a copy of the release directory whose archive lost a byte.
cp -r "$dir" "$work/damaged"
archive=$(awk '$2 ~ /x86_64-unknown-linux-musl\.tar\.gz$/ {print $2}' "$dir/sha256.sum")
if [[ -n $archive ]]; then
  truncate -s -1 "$work/damaged/$archive"
  if env -i PATH=/usr/bin:/bin HOME="$work/home" BERTH_INSTALL_DIR="$work/bin-damaged" \
    BERTH_DOWNLOAD_URL="file://$work/damaged" sh "$dir/install.sh" </dev/null >"$work/damaged.log" 2>&1; then
    bad "install.sh installed a damaged archive"
  elif grep -q 'checksum mismatch' "$work/damaged.log" && [[ ! -e $work/bin-damaged/berth ]]; then
    ok "install.sh refuses a damaged archive (checksum mismatch, nothing installed)"
  else
    bad "install.sh on a damaged archive: $(cat "$work/damaged.log")"
  fi
fi
if install_into "$work/bin-missing" BERTH_VERSION=0.0.0-none; then
  bad "install.sh installed a version the release does not have"
elif grep -q 'lists no archive' "$work/install.log" && [[ ! -e $work/bin-missing/berth ]]; then
  ok "install.sh refuses a version the release does not have"
else
  bad "install.sh with a missing version: $(cat "$work/install.log")"
fi

# The krew manifest, installed for real by krew (built from the Go module proxy) from the local
# archive, then run as a kubectl plugin: `kubectl berth`.
if [[ -f $dir/krew/berth.yaml && -n $archive ]]; then
  kubectl_dir=$(scripts/tools.sh | tail -n 1)
  krew=$(ensure_go_tool krew sigs.k8s.io/krew/cmd/krew "$KREW_VERSION")
  if KREW_ROOT=$work/krew "$krew" install --manifest "$dir/krew/berth.yaml" \
    --archive "$dir/$archive" >"$work/krew.log" 2>&1; then
    plugin=$(env -i PATH="$work/krew/bin:$kubectl_dir:/usr/bin:/bin" HOME="$work/home" \
      kubectl berth --version 2>&1 | head -n 1)
    check "krew $KREW_VERSION installs krew/berth.yaml with the archive; \`kubectl berth --version\`: $plugin" \
      grep -q "^berth " <<<"$plugin"
  else
    bad "krew install --manifest krew/berth.yaml: $(tail -n 5 "$work/krew.log")"
  fi
fi

# 3. The binary alone, outside this checkout.
if [[ -z ${KUBECONFIG:-} ]]; then
  export BERTH_CLUSTER_DIR=${BERTH_CLUSTER_DIR:-$repo/.cluster}-release-install
  if KUBECONFIG=$(scripts/cluster.sh up | tail -n 1); then
    export KUBECONFIG
    cluster_started=1
  else
    bad "test cluster up (scripts/cluster.sh)"
  fi
fi
alone=$work/alone
mkdir -p "$alone/bin" "$alone/home"
cp "$berth" "$alone/bin/berth"
cp -r tests/fixtures/repos/compose-only "$alone/team-app"
cp -r examples/vite-fastapi-worker "$alone/example"
mkdir -p "$alone/empty"
# berth with nothing of this checkout: PATH of system directories, its own HOME and cache.
alone_berth() { # alone_berth DIR ARGS...
  local in=$1
  shift
  (cd "$in" && env -i PATH="$alone/bin:/usr/bin:/bin" HOME="$alone/home" \
    KUBECONFIG="${KUBECONFIG:-}" NO_COLOR=1 berth "$@")
}
ns=release-alone-$$

alone_berth "$alone/empty" deploy --yes --images build >"$alone/nostack.out" 2>"$alone/nostack.err"
rc=$?
if [[ $rc == 2 && ! -s $alone/nostack.out ]] && grep -q 'no berth.yaml in' "$alone/nostack.err" &&
  grep -q 'berth init' "$alone/nostack.err"; then
  ok "deploy with no berth.yaml says to run berth init (exit 2): $(head -n 1 "$alone/nostack.err")"
else
  bad "deploy with no berth.yaml (exit $rc): $(cat "$alone/nostack.err")"
fi

if alone_berth "$alone/team-app" init --yes >/dev/null 2>"$alone/init.err" &&
  [[ -f $alone/team-app/berth.yaml ]] && compgen -G "$alone/team-app/images/*.toml" >/dev/null; then
  ok "init --yes in a copy of tests/fixtures/repos/compose-only: berth.yaml and $(find "$alone/team-app/images" -name '*.toml' | wc -l) image specs"
else
  bad "init --yes: $(tail -n 5 "$alone/init.err")"
fi
if alone_berth "$alone/team-app" render >"$alone/render.yaml" 2>"$alone/render.err" &&
  grep -q '^kind: Deployment' "$alone/render.yaml"; then
  ok "render of the team's stack ($(grep -c '^kind:' "$alone/render.yaml") objects)"
else
  bad "render of the team's stack: $(tail -n 5 "$alone/render.err")"
fi

if [[ -n ${KUBECONFIG:-} ]]; then
  for app in team-app example; do
    # The secrets init asks a team to supply (names in berth.env.example), with test values.
    : >"$alone/$app.env"
    [[ ! -f $alone/$app/berth.env.example ]] ||
      sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1=release-test-value/p' \
        "$alone/$app/berth.env.example" >"$alone/$app.env"
    # The test cluster's pods are simulated: the images are named, not built (--images skip).
    if alone_berth "$alone/$app" deploy --yes -n "$ns-$app" --images skip --timeout 3m \
      --env-file "$alone/$app.env" --set expose.mode=none \
      >"$alone/deploy-$app.out" 2>"$alone/deploy-$app.err"; then
      ok "deploy of the $app stack to the test cluster, ready (namespace $ns-$app)"
    else
      bad "deploy of the $app stack: $(tail -n 8 "$alone/deploy-$app.err")"
    fi
    check "uninstall of the $app stack" alone_berth "$alone/$app" uninstall -n "$ns-$app" --yes --delete-data
  done
fi

echo "release-install-test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
