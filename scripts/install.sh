#!/bin/sh
# Installs berth on Linux (also WSL2) and macOS: picks the archive for this OS and CPU from
# the release's sha256.sum, downloads it, checks its SHA-256 and puts the binary in
# ~/.local/bin (or $BERTH_INSTALL_DIR).
#
#   curl -fsSL <releases>/latest/download/install.sh | sh
#
#   BERTH_VERSION       a version to install (default: the latest release)
#   BERTH_DOWNLOAD_URL  the directory holding the archives and sha256.sum, https://… or
#                       file:///… (default: the release's download directory)
#   BERTH_INSTALL_DIR   where the binary goes (default: ~/.local/bin)
#
# POSIX sh; needs curl or wget (not for file://), tar, and sha256sum or shasum.
set -eu

# Stamped by scripts/release.sh with the project's releases page.
releases_url=''

say() { printf 'berth-install: %s\n' "$*" >&2; }
fail() {
  say "error: $1"
  [ -z "${2:-}" ] || say "hint: $2"
  exit 1
}

target() {
  os=$(uname -s)
  arch=$(uname -m)
  case $arch in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fail "no berth build for the CPU \`$arch\`" "berth ships x86_64 and aarch64 builds" ;;
  esac
  case $os in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin) echo "$arch-apple-darwin" ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      fail "this is Windows" "run install.ps1 in PowerShell, or this script inside WSL2" ;;
    *) fail "no berth build for \`$os\`" "berth ships Linux, macOS and Windows builds" ;;
  esac
}

# fetch URL FILE: copies a file:// URL, downloads anything else.
fetch() {
  case $1 in
    file://*)
      cp "${1#file://}" "$2" 2>/dev/null || fail "cannot read ${1#file://}"
      ;;
    *)
      if command -v curl >/dev/null 2>&1; then
        curl --proto '=https' --tlsv1.2 -fsSL -o "$2" "$1" || fail "cannot download $1"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1" || fail "cannot download $1"
      else
        fail "neither curl nor wget is installed" "install one of them, or set BERTH_DOWNLOAD_URL to a file:// directory"
      fi
      ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "neither sha256sum nor shasum is installed" "berth is only installed after its checksum is verified"
  fi
}

main() {
  target=$(target)
  url=${BERTH_DOWNLOAD_URL:-}
  if [ -z "$url" ]; then
    [ -n "$releases_url" ] || fail "this copy of install.sh names no release" \
      "set BERTH_DOWNLOAD_URL to the directory holding the archives and sha256.sum"
    if [ -n "${BERTH_VERSION:-}" ]; then
      url="$releases_url/download/v${BERTH_VERSION#v}"
    else
      url="$releases_url/latest/download"
    fi
  fi
  url=${url%/}
  dir=${BERTH_INSTALL_DIR:-${HOME:?}/.local/bin}

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-install.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now
  trap "rm -rf '$tmp'" EXIT INT TERM

  fetch "$url/sha256.sum" "$tmp/sha256.sum"
  # Lines are "<sha256>  berth-<version>-<target>.tar.gz".
  if [ -n "${BERTH_VERSION:-}" ]; then
    name="berth-${BERTH_VERSION#v}-$target.tar.gz"
    line=$(awk -v n="$name" '$2 == n' "$tmp/sha256.sum")
  else
    line=$(awk -v t="-$target.tar.gz" 'substr($2, length($2) - length(t) + 1) == t && $2 ~ /^berth-/' "$tmp/sha256.sum" | head -n 1)
  fi
  [ -n "$line" ] || fail "$url/sha256.sum lists no archive for $target${BERTH_VERSION:+ version $BERTH_VERSION}" \
    "see which targets the release has: $url/sha256.sum"
  expected=${line%% *}
  name=${line##* }
  top=${name%.tar.gz}

  say "downloading $name"
  fetch "$url/$name" "$tmp/$name"
  actual=$(sha256_of "$tmp/$name")
  [ "$actual" = "$expected" ] || fail "checksum mismatch for $name: expected $expected, got $actual" \
    "the download is damaged or was changed; nothing was installed"

  tar -xzf "$tmp/$name" -C "$tmp"
  [ -f "$tmp/$top/berth" ] || fail "$name holds no $top/berth"
  mkdir -p "$dir"
  # Copy, then rename: a running berth is never overwritten in place.
  cp "$tmp/$top/berth" "$dir/.berth.new"
  chmod 755 "$dir/.berth.new"
  mv -f "$dir/.berth.new" "$dir/berth"
  say "installed $("$dir/berth" --version | head -n 1) to $dir/berth"
  say "shell completions and the man page are in the archive, or run \`berth completions SHELL\` and \`berth man\`"
  case ":$PATH:" in
    *":$dir:"*) ;;
    *) say "$dir is not on your PATH: add   export PATH=\"$dir:\$PATH\"   to your shell's profile" ;;
  esac
}

main "$@"
