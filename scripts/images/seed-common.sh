# Shared steps of the seed-*.sh scripts (sourced, not run): a busybox rootfs in a fresh
# umoci layout, copying host libraries into it, and pushing the result to a registry.
# seed_begin sets $work (removed on exit), $layout and $rootfs.

# True when DEST (docker://...) is already in the registry.
seed_present() {
  skopeo inspect --tls-verify=false "$1" >/dev/null 2>&1
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
  busybox=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')
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

# seed_push TAG DEST UMOCI_CONFIG_ARGS...: repacks $rootfs as linux/amd64 and pushes it.
seed_push() {
  local tag=$1 dest=$2
  shift 2
  umoci repack --image "$layout:$tag" "$work/bundle"
  umoci config --image "$layout:$tag" --os linux --architecture amd64 "$@"
  skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "$dest"
}
