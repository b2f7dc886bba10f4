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

if skopeo inspect --tls-verify=false "$dest" >/dev/null 2>&1; then
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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout="$work/layout"
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/usr/local/bin"
chmod 1777 "$rootfs/tmp"

busybox=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in sh ash cat cp echo env id ls mkdir printf pwd rm sleep test true false wget whoami; do
  ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

install -m 0755 "$node" "$rootfs/usr/local/bin/node"
# The libraries node links against, from this system, and the loader.
ldd "$node" | awk '/=> \// {print $3} /^\t\/lib64\// {print $1}' | sort -u | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
mkdir -p "$rootfs/lib64"
[[ -e $rootfs/lib64/ld-linux-x86-64.so.2 ]] || cp -L /lib64/ld-linux-x86-64.so.2 "$rootfs/lib64/"
mkdir -p "$rootfs/etc/ssl/certs"
[[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"

umoci repack --image "$layout:$tag" "$work/bundle"
umoci config --image "$layout:$tag" --os linux --architecture amd64 \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env NODE_VERSION="$version" \
  --config.cmd node
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "$dest"
echo "seed-node: pushed $dest (node $version from $node)"
