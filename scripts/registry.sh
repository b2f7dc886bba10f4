#!/usr/bin/env bash
# A real OCI registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 for berth's image tests.
#
#   scripts/registry.sh up [--python] [--node] [--static] [--edge] [--arm64]
#                              start it (or reuse a running one), seed base images, print host:port
#                              LAST; --python also seeds python:3.12- and 3.13-slim-bookworm (seed-python.sh),
#                              --node node:22-bookworm-slim (seed-node.sh), --static
#                              joseluisq/static-web-server:2-debian (seed-static-web-server.sh,
#                              amd64 only; the first run builds the server with cargo, once per
#                              version); --edge the edge proxy's nginx-unprivileged (seed-nginx.sh:
#                              Debian's nginx under that name); --arm64 adds linux/arm64 from Debian's arm64 packages
#                              (busybox:1.35.0-linux-arm64, and the python and node tags become
#                              image indexes of amd64 and arm64)
#   scripts/registry.sh down   stop it (the stored blobs stay, so the next `up` reseeds nothing)
#   scripts/registry.sh addr   print host:port of the running registry
#
# State lives in ${BERTH_REGISTRY_DIR:-${BERTH_CACHE_DIR:-$HOME/.cache/berth}/registry}, outside the repo.
# Seeded images use the same repository names as docker.io, so specs that say
# `base = "docker.io/library/busybox:1.35.0"` build with `--registry-mirror docker.io=http://HOST:PORT`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
state=${BERTH_REGISTRY_DIR:-${BERTH_CACHE_DIR:-$HOME/.cache/berth}/registry}
mkdir -p "$state/data"

log() { echo "registry.sh: $*" >&2; }

# What `up` and the seeding need (and scripts/images/auth-registry.sh's htpasswd), from Debian.
ensure_packages() {
  local missing=() p
  for p in docker-registry apache2-utils skopeo umoci busybox-static curl; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

running_addr() {
  [[ -f $state/pid && -f $state/addr ]] || return 1
  kill -0 "$(cat "$state/pid")" 2>/dev/null || return 1
  curl -fsS "http://$(cat "$state/addr")/v2/" >/dev/null 2>&1 || return 1
  cat "$state/addr"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  command -v docker-registry >/dev/null || { log "docker-registry is not installed (apt-get install docker-registry)"; exit 2; }
  local port addr
  port=$(free_port)
  addr="127.0.0.1:$port"
  cat >"$state/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/data
  delete:
    enabled: true
http:
  addr: $addr
YAML
  setsid docker-registry serve "$state/config.yml" >"$state/registry.log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  echo "$addr" >"$state/addr"
  for _ in $(seq 1 100); do
    if curl -fsS "http://$addr/v2/" >/dev/null 2>&1; then return 0; fi
    kill -0 "$(cat "$state/pid")" 2>/dev/null || break
    sleep 0.1
  done
  log "registry did not come up; log follows"; cat "$state/registry.log" >&2; exit 2
}

cmd=${1:-up}
case $cmd in
  up)
    ensure_packages
    if addr=$(running_addr); then
      log "reusing registry at $addr"
    else
      start
      addr=$(cat "$state/addr")
      log "started registry at $addr (pid $(cat "$state/pid"), data $state/data)"
    fi
    seeds=()
    export SEED_ARCHES=amd64
    for flag in "${@:2}"; do
      case $flag in
        --python) seeds+=(seed-python.sh) ;;
        --node) seeds+=(seed-node.sh) ;;
        --static) seeds+=(seed-static-web-server.sh) ;;
        --edge) seeds+=(seed-nginx.sh) ;;
        --arm64) SEED_ARCHES="amd64 arm64" ;;
        *) log "unknown flag $flag (use --python, --node, --static, --edge, --arm64)"; exit 2 ;;
      esac
    done
    for seed in seed-busybox.sh "${seeds[@]}"; do
      "$here/images/$seed" "$addr" >&2
    done
    echo "$addr"
    ;;
  down)
    if [[ -f $state/pid ]]; then
      pid=$(cat "$state/pid")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$state/pid" "$state/addr"
      log "stopped"
    fi
    ;;
  addr)
    running_addr || { log "no registry running"; exit 1; }
    ;;
  *)
    echo "usage: $0 up|down|addr" >&2; exit 2 ;;
esac
