#!/usr/bin/env bash
# Seed a registry with a Node.js base under the name the frontend spec uses,
# docker.io/library/node:22-bookworm-slim. The upstream image cannot be fetched here, so the
# runtime is this machine's `node` (the nodejs package: version in NODE_VERSION of the image
# config, not necessarily 22) with the C/C++ runtime libraries it links against, plus
# busybox-static for /bin/sh. Not the upstream image, but the same layout (/usr/local/bin/node,
# a shell, numeric users) for building and running the frontend image.
# Usage: seed-node.sh HOST:PORT   (prints a notice and exits 0 when no node is installed)
set -euo pipefail
addr=$1
tag=22-bookworm-slim
dest="docker://$addr/library/node:$tag"

source "$(dirname "$0")/seed-common.sh"

if seed_present "$dest"; then
  echo "seed-node: $dest already present"
  exit 0
fi
node=$(command -v node || true)
if [[ -z $node ]]; then
  echo "seed-node: no node installed; skipping the Node.js base"
  exit 0
fi
node=$(readlink -f "$node")
version=$("$node" -p 'process.versions.node')

seed_begin "$tag" 'node:x:1000:1000::/home/node:/bin/sh' 'node:x:1000:'
mkdir -p "$rootfs/usr/local/bin"
install -m 0755 "$node" "$rootfs/usr/local/bin/node"
# The libraries node links against, from this system.
ldd "$node" | seed_copy_libs
seed_push "$tag" "$dest" \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env NODE_VERSION="$version" \
  --config.cmd node
echo "seed-node: pushed $dest (node $version from $node)"
