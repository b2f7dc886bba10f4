#!/usr/bin/env bash
# Seed a registry with docker.io/library/busybox:<debian version>, built from Debian's busybox-static
# package with umoci (a real OCI image: one layer with /bin/busybox and applet links, config with
# Env/Cmd), then pushed with skopeo. Usage: seed-busybox.sh HOST:PORT [TAG]
set -euo pipefail
addr=$1
tag=${2:-1.35.0}
dest="docker://$addr/library/busybox:$tag"

seed_image() {
  local work busybox layout rootfs
  busybox=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
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
}

if skopeo inspect --tls-verify=false "$dest" >/dev/null 2>&1; then
  echo "seed-busybox: $dest already present"
else
  seed_image
fi

# An image index under TAG-index listing the same manifest for linux/amd64 and (mislabelled, on
# purpose) linux/arm64/v8, so platform selection is tested against a real registry.
index_dest="$addr/v2/library/busybox/manifests/$tag-index"
if ! curl -fsS -o /dev/null -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$index_dest" 2>/dev/null; then
  raw=$(mktemp)
  accept='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
  media=$(curl -fsS -H "Accept: $accept" -o "$raw" -w '%{content_type}' "http://$addr/v2/library/busybox/manifests/$tag")
  digest="sha256:$(sha256sum "$raw" | cut -d' ' -f1)"
  size=$(stat -c %s "$raw")
  rm -f "$raw"
  entry() { printf '{"mediaType":"%s","digest":"%s","size":%s,"platform":%s}' "$media" "$digest" "$size" "$1"; }
  index=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
    "$(entry '{"architecture":"arm64","os":"linux","variant":"v8"}')" "$(entry '{"architecture":"amd64","os":"linux"}')")
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$index" "http://$index_dest" >/dev/null
  echo "seed-busybox: pushed index $addr/library/busybox:$tag-index"
fi
