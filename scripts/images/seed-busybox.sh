#!/usr/bin/env bash
# Seed a registry with docker.io/library/busybox:<debian version>, built from Debian's busybox-static
# package with umoci (a real OCI image: one layer with /bin/busybox and applet links, config with
# Env/Cmd), then pushed with skopeo. Usage: seed-busybox.sh HOST:PORT [TAG]
set -euo pipefail
addr=$1
tag=${2:-1.35.0}
dest="docker://$addr/library/busybox:$tag"

source "$(dirname "$0")/seed-common.sh"

if seed_present "$dest"; then
  echo "seed-busybox: $dest already present"
else
  seed_begin "$tag"
  seed_push "$tag" "$dest" \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.cmd sh
  echo "seed-busybox: pushed $dest"
fi

# With arm64 in SEED_ARCHES, the same busybox for linux/arm64 (Debian's busybox-static:arm64)
# under TAG-linux-arm64, a plain manifest for cross-platform builds (TAG itself stays amd64), and
# an index of both under TAG-multiarch.
if [[ " ${SEED_ARCHES:-} " == *" arm64 "* ]]; then
  arm_dest="$dest-linux-arm64"
  if seed_present "$arm_dest"; then
    echo "seed-busybox: $arm_dest already present"
  else
    (
      export SEED_ARCH=arm64
      seed_begin "$tag"
      seed_push "$tag" "$arm_dest" \
        --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --config.cmd sh
    )
    echo "seed-busybox: pushed $arm_dest"
  fi
  # Both under TAG-multiarch, a real image index for multi-platform builds.
  seed_keep_as "$addr" library/busybox "$tag" "$tag-linux-amd64"
  SEED_MEMBERS=$tag seed_index "$addr" library/busybox "$tag-multiarch" amd64 arm64
  echo "seed-busybox: $addr/library/busybox:$tag-multiarch is an index of amd64 arm64"
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
