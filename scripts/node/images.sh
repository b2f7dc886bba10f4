#!/usr/bin/env bash
# The real node's own images, built locally and written as docker-archive tars that
# scripts/node.sh imports into the node's containerd (nothing is pulled):
#
#   images.sh pause    OUT.tar  registry.k8s.io/pause:<TAG>: Kubernetes' own build/pause/linux/pause.c
#                               (from the k8s.io/kubernetes module, TAG from its Makefile), gcc -static
#   images.sh coredns  OUT.tar BIN   berth.local/coredns:<version>: the CoreDNS binary built by node.sh
#   images.sh postgres OUT.tar  docker.io/library/postgres:<values tag>: PostgreSQL from Debian's
#                               postgresql-15 package (see postgres-entrypoint.sh), under the name the
#                               values use -- not the upstream image, and a different major version
#
# Each prints the image reference last. Uses the seed scripts' umoci helpers (images/seed-common.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../images/seed-common.sh
source "$here/../images/seed-common.sh"
what=${1:?pause|coredns|postgres}
out=${2:?output tar}

# seed_push into a docker-archive file instead of a registry.
finish() { # ref config-args...
  local ref=$1; shift
  rm -f "$out"
  seed_push latest "docker-archive:$out:$ref" "$@"
  echo "$ref"
}

case $what in
  pause)
    k8s_dir=${K8S_MODULE_DIR:?K8S_MODULE_DIR: the k8s.io/kubernetes module directory}
    tag=$(sed -n 's/^TAG ?= *//p' "$k8s_dir/build/pause/Makefile")
    seed_begin latest
    rm -rf "${rootfs:?}"/*
    gcc -Os -static -DVERSION="v$tag" -o "$rootfs/pause" "$k8s_dir/build/pause/linux/pause.c"
    strip "$rootfs/pause"
    finish "registry.k8s.io/pause:$tag" --config.entrypoint /pause --config.user 65535:65535
    ;;
  coredns)
    bin=${3:?coredns binary}
    version=${COREDNS_VERSION:?}
    seed_begin latest
    install -m 0755 "$bin" "$rootfs/coredns"
    finish "berth.local/coredns:$version" --config.entrypoint /coredns --config.user 65532:65532
    ;;
  postgres)
    ref=${POSTGRES_IMAGE:?POSTGRES_IMAGE: the reference the values use}
    pg=/usr/lib/postgresql/15
    [[ -x $pg/bin/postgres ]] || { echo "images.sh: $pg/bin/postgres missing (apt-get install postgresql-15)" >&2; exit 1; }
    version=$("$pg/bin/postgres" --version | awk '{print $3}')
    seed_begin latest "postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh" "postgres:x:999:"
    mkdir -p "$rootfs/usr/lib/postgresql" "$rootfs/usr/share/postgresql" "$rootfs/usr/share/zoneinfo" \
      "$rootfs/var/lib/postgresql/data" "$rootfs/var/run/postgresql" "$rootfs/usr/local/bin"
    for applet in awk chmod grep mktemp sed; do ln -sf busybox "$rootfs/bin/$applet"; done
    # Binaries and modules without the LLVM JIT (jit=off), the server's share dir and the UTC zone.
    tar -C /usr/lib/postgresql --exclude='15/lib/bitcode' --exclude='15/lib/llvmjit*' -cf - 15 |
      tar -C "$rootfs/usr/lib/postgresql" -xf -
    cp -a /usr/share/postgresql/15 "$rootfs/usr/share/postgresql/"
    cp -a /usr/share/zoneinfo/UTC /usr/share/zoneinfo/Etc "$rootfs/usr/share/zoneinfo/" 2>/dev/null ||
      cp -L /usr/share/zoneinfo/UTC "$rootfs/usr/share/zoneinfo/"
    install -m 0755 "$here/postgres-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
    chown -R 999:999 "$rootfs/var/lib/postgresql" "$rootfs/var/run/postgresql"
    { for f in "$pg"/bin/* "$pg"/lib/*.so; do
        [[ $f == *llvmjit* ]] || ldd "$f" 2>/dev/null || true
      done; } | seed_copy_libs
    finish "$ref" --config.entrypoint /usr/local/bin/docker-entrypoint.sh \
      --config.user 999:999 --config.workingdir /var/lib/postgresql \
      --config.env PATH=$pg/bin:/usr/local/bin:/usr/bin:/bin \
      --config.env PGDATA=/var/lib/postgresql/data --config.env TZ=UTC --config.env LANG=C.UTF-8 \
      --config.label "org.opencontainers.image.version=$version" \
      --config.label "org.opencontainers.image.description=PostgreSQL $version from Debian's postgresql-15, seeded by berth's scripts/node/images.sh"
    ;;
  *) echo "usage: $0 pause|coredns|postgres OUT.tar [BIN]" >&2; exit 2 ;;
esac
