#!/usr/bin/env bash
# Seed a registry with docker.io/library/busybox:<debian version>, built from Debian's busybox-static
# package with umoci (a real OCI image: one layer with /bin/busybox and applet links, config with
# Env/Cmd), then pushed with skopeo. Usage: seed-busybox.sh HOST:PORT [TAG]
set -euo pipefail
addr=$1
tag=${2:-1.35.0}
dest="docker://$addr/library/busybox:$tag"

if skopeo inspect --tls-verify=false "$dest" >/dev/null 2>&1; then
  echo "seed-busybox: $dest already present"
  exit 0
fi
busybox=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout="$work/layout"
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in sh ash cat cp echo env id ls mkdir printf pwd rm sleep test true false wget whoami; do
  ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
umoci repack --image "$layout:$tag" "$work/bundle"
umoci config --image "$layout:$tag" --os linux --architecture amd64 \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.cmd sh
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "$dest"
echo "seed-busybox: pushed $dest"
