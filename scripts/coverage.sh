#!/usr/bin/env bash
# Coverage of the apply engine by its unit tests: a report, not a gate (CI does not run it).
#
#   scripts/coverage.sh [TEST_FILTER]
#       TEST_FILTER  default apply::  (every unit test under src/apply, the mock-backed
#                    engine_tests included); apply::engine_tests:: measures the mock tests alone
#
# Runs `cargo llvm-cov --lib` (source-based coverage, `-C instrument-coverage`) with the library's
# unit tests whose names match TEST_FILTER, then prints one row per function under src/apply
# (test code left out): regions covered/total and lines covered/total, as llvm-cov counts them.
# An async fn's body and the closures inside a function are counted with that function; a
# generic function's instantiations are merged (a region counts as covered when any covered it).
#
# No branch column: branch coverage (`cargo llvm-cov --branch`, rustc's
# `-Zcoverage-options=branch`) needs a nightly compiler, and the pinned toolchain is stable.
# (functions.py adds the column when an export has branch regions.)
#
# Installs, pinned and cached under $BERTH_CACHE_DIR (scripts/release/toolchain.sh's helpers):
# Rust $RUST_VERSION with its llvm-tools component (rustup), cargo-llvm-cov (crates.io).
# Builds everything instrumented under $CARGO_TARGET_DIR/llvm-cov-target (apart from the normal
# build): the first run compiles all dependencies once more.
#   BERTH_COV_JSON=FILE  also keep llvm-cov's JSON export there
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/release/toolchain.sh
source scripts/release/toolchain.sh

LLVM_COV_VERSION=0.9.1
filter=${1:-apply::}

ensure_rust_toolchain
ensure_rust_component llvm-tools
llvm_cov_bin=$(ensure_cargo_tool cargo-llvm-cov "$LLVM_COV_VERSION")
export PATH=$llvm_cov_bin:$PATH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
json=${BERTH_COV_JSON:-$work/coverage.json}

rel_say "cargo llvm-cov --lib -- $filter"
# --no-report implies --no-clean: the counts of an earlier run would be merged in.
cargo +"$RUST_VERSION" llvm-cov clean --profraw-only >&2
cargo +"$RUST_VERSION" llvm-cov --lib --no-report -- "$filter" >&2
cargo +"$RUST_VERSION" llvm-cov report --json --output-path "$json" >&2

python3 scripts/coverage/functions.py "$json" "$repo" src/apply "$llvm_cov_bin/cargo-llvm-cov"
