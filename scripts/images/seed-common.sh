# Shared steps of the seed-*.sh scripts (sourced, not run): a busybox rootfs in a fresh
# umoci layout, copying host libraries (or another architecture's Debian packages) into it,
# pushing the result to a registry, and image indexes over per-architecture tags.
# seed_begin sets $work (removed on exit), $layout and $rootfs.
#
# Other architectures: SEED_ARCH=arm64 makes seed_begin use busybox-static:arm64 and seed_push
# label the image linux/arm64; seed_debs unpacks that architecture's Debian packages. Multi-arch
# bases are pushed as TAG-linux-ARCH and joined under TAG by seed_index.

# True when DEST (docker://...) is already in the registry (any architecture).
seed_present() {
  skopeo inspect --raw --tls-verify=false "$1" >/dev/null 2>&1
}

# seed_debs ARCH DIR PKG...: unpack Debian packages for ARCH (PKG:all for architecture-independent
# ones) into DIR, without docs, man pages and locales. The .debs are cached under
# $BERTH_CACHE_DIR/debs/ARCH; a foreign ARCH is added to dpkg first.
seed_debs() {
  local arch=$1 dir=$2 cache pkg name deb
  shift 2
  cache=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/debs/$arch
  mkdir -p "$cache" "$dir"
  for pkg in "$@"; do
    name=${pkg%%:*}
    [[ $pkg == *:* ]] || pkg="$pkg:$arch"
    deb=$(ls "$cache/${name}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z $deb ]]; then
      if ! (cd "$cache" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
        # A foreign architecture needs dpkg to know it and fresh package lists.
        dpkg --print-foreign-architectures | grep -qx "$arch" || [[ $arch == "$(dpkg --print-architecture)" ]] ||
          dpkg --add-architecture "$arch"
        apt-get update -qq
        (cd "$cache" && apt-get download -qq "$pkg" >/dev/null)
      fi
      deb=$(ls "$cache/${name}_"*.deb | sort -V | tail -n 1)
    fi
    dpkg-deb -x "$deb" "$dir"
  done
  rm -rf "$dir/usr/share/doc" "$dir/usr/share/man" "$dir/usr/share/locale" "$dir/usr/share/lintian"
}

# seed_begin TAG [PASSWD_LINE GROUP_LINE]: an empty image TAG unpacked to $rootfs with
# busybox-static as /bin/sh and the usual applets, root and nobody (plus one more user).
seed_begin() {
  local tag=$1 busybox
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  layout="$work/layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
  rootfs="$work/bundle/rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  if [[ ${SEED_ARCH:-amd64} == amd64 ]]; then
    busybox=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')
  else
    seed_debs "$SEED_ARCH" "$work/busybox" busybox-static
    busybox="$work/busybox/bin/busybox"
  fi
  install -m 0755 "$busybox" "$rootfs/bin/busybox"
  for applet in sh ash cat cp echo env id ls mkdir printf pwd rm sleep test true false wget whoami; do
    ln -s busybox "$rootfs/bin/$applet"
  done
  printf '%b' "root:x:0:0:root:/root:/bin/sh\n${2:+$2\n}nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" \
    >"$rootfs/etc/passwd"
  printf '%b' "root:x:0:\n${3:+$3\n}nogroup:x:65534:\n" >"$rootfs/etc/group"
}

# Reads `ldd` output on stdin and copies every library it names (except under SKIP_PREFIX,
# when given) into $rootfs at the same path, then the loader and the CA bundle.
seed_copy_libs() {
  local skip=${1:-}
  awk '/=> \// {print $3} /^\t\/lib64\// {print $1}' | { if [[ -n $skip ]]; then grep -v "^$skip"; else cat; fi; } |
    sort -u | while read -r lib; do
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done
  mkdir -p "$rootfs/lib64"
  [[ -e $rootfs/lib64/ld-linux-x86-64.so.2 ]] || cp -L /lib64/ld-linux-x86-64.so.2 "$rootfs/lib64/"
  mkdir -p "$rootfs/etc/ssl/certs"
  [[ ! -f /etc/ssl/certs/ca-certificates.crt ]] || cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
}

# seed_push TAG DEST UMOCI_CONFIG_ARGS...: repacks $rootfs as linux/$SEED_ARCH (default amd64)
# and pushes it.
seed_push() {
  local tag=$1 dest=$2
  shift 2
  umoci repack --image "$layout:$tag" "$work/bundle"
  umoci config --image "$layout:$tag" --os linux --architecture "${SEED_ARCH:-amd64}" "$@"
  skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "$dest"
}

seed_manifest_types='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'

# seed_keep_as ADDR REPO TAG NEW_TAG: when REPO:TAG is a single-platform manifest (a base seeded
# before it became multi-arch), tag it NEW_TAG too, so seed_index can list it.
seed_keep_as() {
  local addr=$1 repo=$2 tag=$3 new=$4 raw media
  raw=$(mktemp)
  if media=$(curl -fsS -H "Accept: $seed_manifest_types" -o "$raw" -w '%{content_type}' \
    "http://$addr/v2/$repo/manifests/$tag" 2>/dev/null) && [[ $media == *manifest.v* ]] &&
    ! grep -q '"manifests"' "$raw"; then
    curl -fsS -X PUT -H "Content-Type: $media" --data-binary "@$raw" "http://$addr/v2/$repo/manifests/$new" >/dev/null
  fi
  rm -f "$raw"
}

# seed_index ADDR REPO TAG ARCH...: point REPO:TAG at an OCI image index of the manifests tagged
# MEMBERS-linux-ARCH (MEMBERS is $SEED_MEMBERS, default TAG; arm64 as variant v8). Idempotent:
# the same tags give the same index.
seed_index() {
  local addr=$1 repo=$2 tag=$3 members=${SEED_MEMBERS:-$3} arch raw media digest size variant entries=""
  shift 3
  raw=$(mktemp)
  for arch in "$@"; do
    media=$(curl -fsS -H "Accept: $seed_manifest_types" -o "$raw" -w '%{content_type}' \
      "http://$addr/v2/$repo/manifests/$members-linux-$arch")
    digest="sha256:$(sha256sum "$raw" | cut -d' ' -f1)"
    size=$(stat -c %s "$raw")
    variant=""
    [[ $arch != arm64 ]] || variant=',"variant":"v8"'
    entries+="${entries:+,}{\"mediaType\":\"$media\",\"digest\":\"$digest\",\"size\":$size,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"$variant}}"
  done
  rm -f "$raw"
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
    --data-binary "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[$entries]}" \
    "http://$addr/v2/$repo/manifests/$tag" >/dev/null
}
