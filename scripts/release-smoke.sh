#!/usr/bin/env bash
# Smoke tests of release archives on this machine: scripts/release-smoke.sh [DIR]  (default dist/)
#
# For every berth-*-TARGET archive in DIR: its checksum (the .sha256 beside it and sha256.sum),
# its exact contents, `file` saying static (Linux) or `objdump -p` listing only Windows system
# DLLs (.exe); then the binary itself (natively, under qemu-aarch64, under Wine) runs
# `--version`, `render` of the embedded stack and of examples/vite-fastapi-worker, `chart
# export`, `init --dry-run` on a fixture and `doctor -o json` against a test cluster. Outputs
# are compared with those of this checkout's debug build (glibc, this host): the same source
# must print the same bytes on every target.
#
#   KUBECONFIG   the test cluster for doctor; unset: scripts/cluster.sh up with
#                BERTH_CLUSTER_DIR=${BERTH_CLUSTER_DIR:-.cluster}-release-smoke, down at the end
#   BERTH_SMOKE_NO_CLUSTER=1  skip doctor (said as SKIP, never as ok)
#   BERTH_SMOKE_REFERENCE     the berth binary to compare with (default: `cargo build`'s)
# Prints one line per check and a last line "N passed, M failed"; exit 1 on any failure.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 2
# shellcheck source=scripts/release/toolchain.sh
source scripts/release/toolchain.sh
dir=$(cd "${1:-$repo/dist}" && pwd) || exit 2
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)

passed=0 failed=0 skipped=0
ok() {
  passed=$((passed + 1))
  echo "ok - $*"
}
bad() {
  failed=$((failed + 1))
  echo "FAIL - $*"
}
skip() {
  skipped=$((skipped + 1))
  echo "SKIP - $*"
}
# --version's three lines: `berth VERSION`, `commit: HASH (DATE)`, `target: TRIPLE` (CRs from Wine
# dropped). Bash's own regex: grep -z refused a newline inside a bracket expression.
version_names() {
  local text=${3//$'\r'/} re
  re="^berth ${1//./\\.}"$'\n'"commit: [0-9a-f]{7,}[^"$'\n'"]*"$'\n'"target: $2"
  [[ $text =~ $re ]]
}

check() { # check DESCRIPTION CMD...: ok when CMD succeeds
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

mapfile -t archives < <(find "$dir" -maxdepth 1 \( -name "berth-$version-*.tar.gz" -o -name "berth-$version-*.zip" \) -printf '%f\n' | LC_ALL=C sort)
if [[ ${#archives[@]} -eq 0 ]]; then
  echo "release-smoke: no berth-$version-* archive in $dir" >&2
  exit 2
fi
targets=()
for a in "${archives[@]}"; do
  t=${a#berth-"$version"-}
  targets+=("${t%%.*}")
done

need=(file)
for t in "${targets[@]}"; do
  case $t in
    aarch64-*) need+=(qemu-user) ;;
    *windows*) need+=(wine wine64 binutils-mingw-w64-x86-64 gcc-mingw-w64-x86-64) ;;
  esac
done
ensure_debian_packages "${need[@]}"
case " ${targets[*]} " in *windows*) ensure_wine_prefix ;; esac

work=$(mktemp -d)
cluster_started=
cleanup() {
  [[ -n $cluster_started ]] && scripts/cluster.sh down >&2
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${KUBECONFIG:-} && ${BERTH_SMOKE_NO_CLUSTER:-} != 1 ]]; then
  export BERTH_CLUSTER_DIR=${BERTH_CLUSTER_DIR:-$repo/.cluster}-release-smoke
  if KUBECONFIG=$(scripts/cluster.sh up | tail -n 1); then
    export KUBECONFIG
    cluster_started=1
  else
    bad "test cluster up (scripts/cluster.sh)"
    unset KUBECONFIG
  fi
fi

# Generated secrets change the pods' checksum annotations on every render: fixed values for
# the embedded stack's and the example's, and no optional keys from this environment.
export AUTH_SECRET=smoke-auth-secret POSTGRES_PASSWORD=smoke-password \
  JWT_SECRET_KEY=smoke-jwt-secret TIDY_DB_PASSWORD=smoke-db-password
unset OPENAI_API_KEY GEMINI_API_KEY DATABASE_URL BERTH_RELEASE BERTH_NAMESPACE

# Inputs shared by every target: an example stack and a fixture repository, copied so that
# nothing the binaries write lands in the checkout.
cp -r examples/vite-fastapi-worker "$work/example"
cp -r tests/fixtures/repos/compose-only "$work/fixture"
mkdir -p "$work/empty"

# run_as TARGET EXE ARGS...: the binary under its runner.
run_as() {
  local target=$1 exe=$2
  shift 2
  case $target in
    aarch64-*) qemu-aarch64 "$exe" "$@" ;;
    *windows*) wine "$exe" "$@" ;;
    *) "$exe" "$@" ;;
  esac
}

# outputs TARGET EXE OUT: every command's stdout and exit code into OUT/.
outputs() {
  local target=$1 exe=$2 o=$3
  mkdir -p "$o"
  (cd "$work/empty" && run_as "$target" "$exe" render >"$o/render-default.yaml" 2>"$o/render-default.err")
  echo $? >"$o/render-default.rc"
  (cd "$work/example" && run_as "$target" "$exe" render >"$o/render-example.yaml" 2>"$o/render-example.err")
  echo $? >"$o/render-example.rc"
  (cd "$work/empty" && run_as "$target" "$exe" chart export --out "chart-$target" >/dev/null 2>"$o/chart.err")
  echo $? >"$o/chart.rc"
  rm -rf "$o/chart" && mv "$work/empty/chart-$target" "$o/chart" 2>/dev/null
  (cd "$work" && run_as "$target" "$exe" init --dry-run --yes fixture >"$o/init.txt" 2>"$o/init.err")
  echo $? >"$o/init.rc"
  if [[ -n ${KUBECONFIG:-} ]]; then
    (cd "$work/empty" && run_as "$target" "$exe" doctor -o json >"$o/doctor.json" 2>"$o/doctor.err")
    echo $? >"$o/doctor.rc"
  fi
}

# The doctor report without what legitimately differs between two runs (durations).
doctor_summary() {
  python3 -c '
import json, sys
report = json.load(open(sys.argv[1]))
checks = report.get("checks", report if isinstance(report, list) else [])
for c in checks:
    print(c.get("id"), c.get("status"))
' "$1"
}

reference=${BERTH_SMOKE_REFERENCE:-}
if [[ -z $reference ]]; then
  cargo build --quiet --bin berth >&2 || exit 1
  reference=${CARGO_TARGET_DIR:-$repo/target}/debug/berth
fi
reference_target=$(sed -n 's/^target: //p' <("$reference" --version))
echo "# reference: $reference ($reference_target)"
outputs "$reference_target" "$reference" "$work/out-reference"

for i in "${!archives[@]}"; do
  archive=${archives[$i]} target=${targets[$i]}
  top=berth-$version-$target
  echo "# $archive"
  check "$target: $archive.sha256 matches" bash -c "cd '$dir' && sha256sum --quiet -c '$archive.sha256'"
  check "$target: sha256.sum lists $archive" bash -c "cd '$dir' && grep -E '  $archive\$' sha256.sum | sha256sum --quiet -c -"

  x=$work/x-$target
  mkdir -p "$x"
  exe=berth
  if [[ $archive == *.zip ]]; then
    exe=berth.exe
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$dir/$archive" "$x"
    listing=$(python3 -c 'import sys, zipfile; print("\n".join(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if not n.endswith("/")))' "$dir/$archive" | LC_ALL=C sort)
  else
    tar -xzf "$dir/$archive" -C "$x"
    listing=$(tar -tzf "$dir/$archive" | grep -v '/$' | LC_ALL=C sort)
  fi
  expected=$(printf '%s\n' "$top/LICENSE" "$top/README.md" "$top/$exe" "$top/completions/_berth" \
    "$top/completions/_berth.ps1" "$top/completions/berth.bash" "$top/completions/berth.fish" \
    "$top/man/berth.1" | LC_ALL=C sort)
  if [[ $listing == "$expected" ]]; then ok "$target: archive holds $(wc -l <<<"$listing") files"; else
    bad "$target: archive contents"
    diff <(echo "$expected") <(echo "$listing")
  fi
  bin=$x/$top/$exe

  if [[ $target == *linux* ]]; then
    description=$(file -b "$bin")
    echo "  file: $description"
    check "$target: file says statically linked" grep -qE 'statically linked|static-pie linked' <<<"$description"
  else
    dlls=$(x86_64-w64-mingw32-objdump -p "$bin" | sed -n 's/^\s*DLL Name: //p' | LC_ALL=C sort -f)
    echo "  DLLs: $(tr '\n' ' ' <<<"$dlls")"
    # Windows' own DLLs (and the api-ms-win-* sets it maps to them); no mingw runtime DLL
    # (libgcc_s_seh-1, libwinpthread-1, libstdc++-6) may appear.
    others=$(grep -viE '^(kernel32|ntdll|advapi32|ws2_32|userenv|bcrypt|bcryptprimitives|crypt32|secur32|ncrypt|shell32|ole32|oleaut32|user32|msvcrt|ucrtbase|iphlpapi|dbghelp|synchronization|api-ms-win-[a-z0-9-]+)\.dll$' <<<"$dlls")
    if [[ -n $dlls && -z $others ]]; then ok "$target: only Windows system DLLs"; else bad "$target: non-system DLLs: $others"; fi
  fi

  first=$(run_as "$target" "$bin" --version 2>&1)
  printf '  --version: %s\n' "${first//$'\n'/ | }"
  check "$target: --version names $version, a commit and $target" version_names "$version" "$target" "$first"

  o=$work/out-$target
  outputs "$target" "$bin" "$o"
  r=$work/out-reference
  for what in render-default render-example; do
    if [[ $(cat "$o/$what.rc") == 0 ]] && grep -q '^kind: Deployment' "$o/$what.yaml" && cmp -s "$o/$what.yaml" "$r/$what.yaml"; then
      ok "$target: $what ($(grep -c '^kind:' "$o/$what.yaml") objects, same bytes as the reference)"
    else
      bad "$target: $what (exit $(cat "$o/$what.rc"))"
      head -n 5 "$o/$what.err"
      diff "$r/$what.yaml" "$o/$what.yaml" | head -n 10
    fi
  done
  if [[ $(cat "$o/chart.rc") == 0 ]] && compgen -G "$o/chart/*/Chart.yaml" >/dev/null && diff -r "$r/chart" "$o/chart" >/dev/null; then
    ok "$target: chart export ($(find "$o/chart" -type f | wc -l) files, same as the reference)"
  else
    bad "$target: chart export (exit $(cat "$o/chart.rc"))"
    head -n 5 "$o/chart.err"
    diff -r "$r/chart" "$o/chart" | head -n 10
  fi
  if [[ $(cat "$o/init.rc") == 0 ]] && grep -q 'components:' "$o/init.txt" && cmp -s "$o/init.txt" "$r/init.txt"; then
    ok "$target: init --dry-run on tests/fixtures/repos/compose-only ($(wc -l <"$o/init.txt") lines, same as the reference)"
  else
    bad "$target: init --dry-run (exit $(cat "$o/init.rc"))"
    head -n 5 "$o/init.err"
    diff "$r/init.txt" "$o/init.txt" | head -n 10
  fi
  if [[ -z ${KUBECONFIG:-} ]]; then
    skip "$target: doctor (no test cluster)"
  elif [[ $(cat "$o/doctor.rc") =~ ^[01]$ ]] && grep -q '"status"' "$o/doctor.json" &&
    diff <(doctor_summary "$r/doctor.json") <(doctor_summary "$o/doctor.json") >/dev/null; then
    ok "$target: doctor against the test cluster (exit $(cat "$o/doctor.rc"); $(doctor_summary "$o/doctor.json" | tr '\n' ',' | sed 's/,$//'))"
  else
    bad "$target: doctor (exit $(cat "$o/doctor.rc"))"
    head -n 5 "$o/doctor.err"
    diff <(doctor_summary "$r/doctor.json") <(doctor_summary "$o/doctor.json") | head -n 10
  fi
done

echo "release-smoke: $passed passed, $failed failed${skipped:+, $skipped skipped}"
[[ $failed -eq 0 ]]
