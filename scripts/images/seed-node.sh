#!/usr/bin/env bash
# Seed a registry with a Node.js base under the name the frontend spec uses,
# docker.io/library/node:22-bookworm-slim. The upstream image cannot be fetched here, so the
# runtime is this machine's `node` (the nodejs package: version in NODE_VERSION of the image
# config, not necessarily 22) with the C/C++ runtime libraries it links against, plus
# busybox-static for /bin/sh. Not the upstream image, but the same layout (/usr/local/bin/node,
# a shell, numeric users) for building and running the frontend image.
#
# With arm64 in SEED_ARCHES (`registry.sh up --node --arm64`) the tag becomes an image index
# whose linux/arm64 entry is Debian bookworm's nodejs:arm64 (Node.js 18, with the libraries and
# JavaScript modules it depends on) and busybox-static:arm64, /usr/local/bin/node linking to it.
# NODE_TAG seeds another tag of library/node with the same runtime (seed-base.sh, for specs that
# name another one).
# Usage: seed-node.sh HOST:PORT   (prints a notice and exits 0 when no node is installed)
set -euo pipefail
addr=$1
tag=${NODE_TAG:-22-bookworm-slim}
repo=library/node
dest="docker://$addr/$repo:$tag"
arches=${SEED_ARCHES:-amd64}
user=('node:x:1000:1000::/home/node:/bin/sh' 'node:x:1000:')

source "$(dirname "$0")/seed-common.sh"

seed_amd64() (
  node=$(command -v node || true)
  [[ -n $node ]] || { echo "seed-node: no node installed; skipping the Node.js base"; exit 0; }
  node=$(readlink -f "$node")
  version=$("$node" -p 'process.versions.node')
  seed_begin "$tag" "${user[@]}"
  mkdir -p "$rootfs/usr/local/bin"
  install -m 0755 "$node" "$rootfs/usr/local/bin/node"
  # The libraries node links against, from this system.
  ldd "$node" | seed_copy_libs
  seed_push "$tag" "$1" \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env NODE_VERSION="$version" \
    --config.cmd node
  echo "seed-node: pushed $1 (node $version from $node)"
)

seed_arm64() (
  export SEED_ARCH=arm64
  seed_begin "$tag" "${user[@]}"
  seed_debs arm64 "$rootfs" nodejs libnode108 libbrotli1 libc-ares2 libc6 libgcc-s1 libicu72 \
    libnghttp2-14 libssl3 libstdc++6 libuv1 zlib1g node-acorn:all node-cjs-module-lexer:all node-undici:all
  mkdir -p "$rootfs/usr/local/bin"
  ln -s /usr/bin/node "$rootfs/usr/local/bin/node"
  version=$(dpkg-deb -f "$(ls "${BERTH_CACHE_DIR:-$HOME/.cache/berth}"/debs/arm64/nodejs_*.deb | sort -V | tail -n 1)" Version)
  seed_push "$tag" "$1" \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env NODE_VERSION="${version%%[-+~]*}" \
    --config.cmd node
  echo "seed-node: pushed $1 (Debian's nodejs $version for arm64)"
)

if [[ $arches == amd64 ]]; then
  # One platform: a plain manifest under TAG, as before.
  if seed_present "$dest"; then
    echo "seed-node: $dest already present"
  else
    seed_amd64 "$dest"
  fi
  exit 0
fi
command -v node >/dev/null || { echo "seed-node: no node installed; skipping the Node.js base"; exit 0; }
seed_keep_as "$addr" "$repo" "$tag" "$tag-linux-amd64"
for arch in $arches; do
  if seed_present "$dest-linux-$arch"; then
    echo "seed-node: $dest-linux-$arch already present"
  else
    "seed_$arch" "$dest-linux-$arch"
  fi
done
# shellcheck disable=SC2086 # one word per architecture
seed_index "$addr" "$repo" "$tag" $arches
echo "seed-node: $dest is an index of $arches"
