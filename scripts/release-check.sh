#!/usr/bin/env bash
# A compile check of berth for the release targets whose platform differs from this host's
# (`cargo check`, no link, no emulator): code that only builds on Unix (std::os::unix, symlinks,
# permission bits) fails here in a minute instead of in scripts/release.sh's Windows build
# (0.2.0's first one did). Part of CI's release step; the full builds stay with release.sh.
#
#   scripts/release-check.sh     the pinned toolchain, the Windows target and mingw-w64's gcc
#                                (ring's C) installed by scripts/release/toolchain.sh when missing
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/release/toolchain.sh
source scripts/release/toolchain.sh

target=x86_64-pc-windows-gnu
ensure_rust_targets "$target"
ensure_debian_packages gcc-mingw-w64-x86-64
t0=$SECONDS
cargo +"$RUST_VERSION" check --quiet --locked --target "$target" --bin berth
rel_say "cargo check --target $target: ok in $((SECONDS - t0)) s"
