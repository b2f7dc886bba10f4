#!/usr/bin/env bash
# The module dependency graph of berth's library, checked and drawn.
#
#   scripts/module-graph.sh [OUT_DIR]      default: docs/architecture
#
# scripts/module-graph/edges.py reads the uses between the modules of src/ from the sources
# (`crate::`, `super::`, `self::` paths in use lines and bodies, through the re-exports of each
# mod.rs; test code left out); scripts/module-graph/check.py lifts them to
#   layers.dot  the top-level modules of src/ (apply, manifests, cli, ...)
#   apply.dot   the modules of src/apply (deeper ones folded into apply's children)
# prints every cycle in both, checks the layering rules it names (manifests never reaches the
# apply engine or the cluster; apply knows neither components nor the values model) and exits 1
# on a cycle among apply's modules or a broken rule. Graphviz (Debian's, installed when missing)
# draws layers.svg and apply.svg. Cycles between the top-level modules are reported, not failed.
#
# cargo-modules (rust-analyzer's resolution) would be the exact tool; 0.27.0 is the newest that
# builds with Rust 1.95, and its rust-analyzer crates did not finish building in 50 minutes on
# this shared machine, so the graph comes from our own reader of the sources.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/release/toolchain.sh
source scripts/release/toolchain.sh

out=${1:-docs/architecture}
ensure_debian_packages graphviz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

python3 scripts/module-graph/edges.py src >"$work/crate.dot"
status=0
python3 scripts/module-graph/check.py "$work/crate.dot" "$out" || status=$?
for graph in layers apply; do
  dot -Tsvg "$out/$graph.dot" -o "$out/$graph.svg"
done
rel_say "wrote $out/layers.{dot,svg} and $out/apply.{dot,svg}"
exit "$status"
