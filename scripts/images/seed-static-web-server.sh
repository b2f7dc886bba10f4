#!/usr/bin/env bash
# Seed a registry with the static file server base `berth init` writes for static sites,
# docker.io/joseluisq/static-web-server:2-debian. The upstream image cannot be fetched here, so
# this is the real static-web-server, built from crates.io at a pinned version with `cargo install
# --locked` (cached under $BERTH_CACHE_DIR/tools, keyed by version and features), with the C
# runtime libraries it links against and busybox-static for /bin/sh and wget. Like upstream's
# Debian image: the binary at /usr/local/bin/static-web-server, a /public root, port 80 exposed;
# unlike it, the entrypoint is the server itself rather than upstream's entrypoint.sh (the specs
# berth writes set their own entrypoint, `static-web-server`).
#
# Built with only the feature the specs use (fallback-page, for single-page apps; the defaults add
# TLS, brotli/zstd compression and metrics) at opt-level 1, stripped: a test base, not a
# benchmark, and a cold build that stays within minutes on two cores.
# amd64 only: arm64 builds of static sites are not tested here.
# Usage: seed-static-web-server.sh HOST:PORT   (prints a notice and exits 0 without cargo)
set -euo pipefail
addr=$1
version=2.44.1
features=fallback-page
tag=2-debian
repo=joseluisq/static-web-server
dest="docker://$addr/$repo:$tag"

source "$(dirname "$0")/seed-common.sh"

if seed_present "$dest"; then
  echo "seed-static-web-server: $dest already present"
  exit 0
fi
command -v cargo >/dev/null || { echo "seed-static-web-server: no cargo installed; skipping the static file server base"; exit 0; }

tools=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/tools/static-web-server-$version-${features//,/+}-o1
bin="$tools/bin/static-web-server"
if [[ ! -x $bin ]]; then
  echo "seed-static-web-server: building static-web-server $version ($features) into $tools"
  build=$(mktemp -d)
  trap 'rm -rf "$build" "$tools.partial"' EXIT
  # Its own target directory: never the caller's CARGO_TARGET_DIR, removed afterwards.
  CARGO_TARGET_DIR="$build" CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_STRIP=symbols cargo install --quiet --locked static-web-server --version "=$version" \
    --no-default-features --features "$features" --root "$tools.partial"
  rm -rf "$build" "$tools"
  mv "$tools.partial" "$tools"
fi

seed_begin "$tag"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/public"
install -m 0755 "$bin" "$rootfs/usr/local/bin/static-web-server"
ldd "$bin" | seed_copy_libs
seed_push "$tag" "$dest" \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env SERVER_VERSION="$version" \
  --config.exposedports 80/tcp \
  --config.entrypoint static-web-server \
  --config.workingdir /
echo "seed-static-web-server: pushed $dest (static-web-server $version, features $features)"
