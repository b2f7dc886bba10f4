# Sourced by scripts/release.sh and scripts/release-smoke.sh (and, for the toolchain and cargo
# tools, by scripts/coverage.sh and scripts/module-graph.sh): installs the pinned tools a
# release build and its smoke tests need, each from the registries this machine reaches, and
# caches them under $BERTH_CACHE_DIR keyed by version.
#   Rust RUST_VERSION with the three targets (rustup)
#   Debian: musl-tools (x86_64 musl), gcc-mingw-w64-x86-64 + binutils-mingw-w64-x86-64 (Windows;
#           dlltool for raw-dylib imports), qemu-user (qemu-aarch64), wine + wine64, file,
#           and the shell linter (shellcheck)
#   cargo-zigbuild (crates.io) + ziglang (PyPI), for aarch64-unknown-linux-musl
#   cargo-cyclonedx (crates.io), for the SBOMs
#   krew and actionlint (Go module proxy), to install the krew manifest and lint the workflow
# shellcheck shell=bash disable=SC2034 # the pins are read by the scripts that source this

RUST_VERSION=1.95.0
ZIGBUILD_VERSION=0.24.1
ZIGLANG_VERSION=0.15.2
CYCLONEDX_VERSION=0.5.9
# The newest krew the Go module proxy serves (v0.4.4 and v0.4.5 are refused with 403).
KREW_VERSION=v0.4.3
ACTIONLINT_VERSION=v1.7.12
RELEASE_TARGETS_ALL="x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu"

# The Debian packages building (and running, for completions and the man page) a target needs.
debian_packages_for() {
  case $1 in
    x86_64-unknown-linux-musl) echo musl-tools ;;
    aarch64-unknown-linux-musl) echo qemu-user ;;
    x86_64-pc-windows-gnu) echo gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine wine64 ;;
  esac
}

release_cache=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/release-tools

rel_say() { printf 'release: %s\n' "$*" >&2; }

# Debian packages, installed only when one is missing (apt-get needs root).
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  rel_say "installing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

# The pinned toolchain.
ensure_rust_toolchain() {
  rustup toolchain list | grep -q "^$RUST_VERSION-" \
    || rustup toolchain install "$RUST_VERSION" --profile minimal >&2
}

# The pinned toolchain and the targets' standard libraries.
ensure_rust_targets() {
  local installed
  ensure_rust_toolchain
  installed=$(rustup target list --installed --toolchain "$RUST_VERSION")
  local t
  for t in "$@"; do
    grep -qx "$t" <<<"$installed" || rustup target add --toolchain "$RUST_VERSION" "$t" >&2
  done
}

# A rustup component of the pinned toolchain (llvm-tools for scripts/coverage.sh).
ensure_rust_component() {
  rustup component list --installed --toolchain "$RUST_VERSION" | grep -q "^$1" \
    || rustup component add --toolchain "$RUST_VERSION" "$1" >&2
}

# cargo install of a pinned crate into its own root under the cache; prints its bin dir.
ensure_cargo_tool() {
  local crate=$1 version=$2 root
  root=$release_cache/$crate-$version
  if [[ ! -x $root/bin/$crate ]]; then
    rel_say "building $crate $version from crates.io (once per machine)"
    # Host tools: built for the host with the pinned toolchain, not for a release target.
    env -u CARGO_BUILD_TARGET CARGO_TARGET_DIR="$release_cache/build-$crate-$version" \
      cargo +"$RUST_VERSION" install --quiet --locked --root "$root" "$crate@$version" >&2
    rm -rf "$release_cache/build-$crate-$version"
  fi
  echo "$root/bin"
}

# ziglang from PyPI in its own venv; prints the directory holding `zig`... as python -m ziglang.
ensure_zig() {
  local venv=$release_cache/ziglang-$ZIGLANG_VERSION
  if [[ ! -x $venv/bin/zig ]]; then
    rel_say "installing ziglang $ZIGLANG_VERSION from PyPI"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" >&2
    # cargo-zigbuild runs `python3 -m ziglang` or `zig`: a `zig` on PATH is simplest.
    printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$venv/bin/python" >"$venv/bin/zig"
    chmod +x "$venv/bin/zig"
  fi
  echo "$venv/bin"
}

# go install of a pinned module into its own directory under the cache; prints the binary.
ensure_go_tool() {
  local name=$1 module=$2 version=$3 dir
  dir=$release_cache/$name-$version
  if [[ ! -x $dir/$name ]]; then
    rel_say "building $name $version from the Go module proxy (once per machine)"
    (cd / && GOBIN=$dir go install "$module@$version") >&2
  fi
  echo "$dir/$name"
}

# A Wine prefix in the cache that runs Rust-built .exe files: Wine 8.0 (Debian 12) lacks
# bcryptprimitives.dll (Rust's std imports ProcessPrng from it; Windows 10+ ships it), so a shim
# built from wine-bcryptprimitives.c goes into the prefix's system32. Never part of a release.
ensure_wine_prefix() {
  export WINEPREFIX=${WINEPREFIX:-$release_cache/wine-prefix} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  mkdir -p "$WINEPREFIX"
  local system32=$WINEPREFIX/drive_c/windows/system32
  [[ -f $system32/bcryptprimitives.dll ]] && return 0
  [[ -d $system32 ]] || wineboot --init >/dev/null 2>&1 || true
  [[ -d $system32 ]] || { rel_say "wine: no prefix at $WINEPREFIX after wineboot --init"; return 1; }
  x86_64-w64-mingw32-gcc -O2 -shared -s -o "$system32/bcryptprimitives.dll" \
    "$(dirname "${BASH_SOURCE[0]}")/wine-bcryptprimitives.c" -ladvapi32
}
