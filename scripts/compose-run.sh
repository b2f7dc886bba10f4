#!/usr/bin/env bash
# Runs the reference app's `berth compose export` with a real engine (issue 26): Debian's Docker
# Engine (docker.io, dockerd + containerd + runc) driven by Docker Compose v2 built from its Go
# module, all inside a network namespace of its own that has only a loopback interface (the
# Compose network's bridge and NAT live in there too, so nothing can leave the machine).
#
#   1. installs the pinned Debian packages when missing; builds `docker-compose` (github.com/docker/
#      compose/v2 at COMPOSE_VERSION, from the Go module proxy) once into $BERTH_CACHE_DIR/tools;
#   2. creates the namespace `berth-compose` (loopback only) and starts a containerd and a dockerd
#      of its own in it (own sockets under /run/berth-compose, own storage under the state dir);
#   3. builds frontend, backend and mcp with `berth images build` on the seeded bases
#      (scripts/registry.sh) and loads them with `berth images load --target docker` (the second
#      image on the Python base without the base's layers, which Docker holds); loads the
#      PostgreSQL image the node uses (scripts/node/images.sh: Debian's postgresql-15);
#   4. `berth compose export` with the built tags, fills the .env's required secrets with random
#      values (never printed) and leaves the optional ones empty;
#   5. `docker-compose up -d`, waits until every service's health check passes, checks the
#      frontend's page, the backend's /health, and a task written and read through the frontend's
#      /api (frontend -> backend -> mcp -> postgres) that a new postgres container still has after
#      `down` (the named volume); prints each service's state, health and seconds to healthy;
#   6. tears down: `docker-compose down -v`, stops dockerd and containerd, deletes the namespace
#      and the engine's storage.
#
# Exits non-zero on any failure (the services' logs are printed first).
#   usage: scripts/compose-run.sh [path/to/berth]
#   env:   BERTH_COMPOSE_DIR  engine storage (default $BERTH_CACHE_DIR/compose-run; removed at the end)
#          BERTH_COMPOSE_KEEP=1  leave the stack running (then: scripts/compose-run.sh down)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BERTH_CACHE_DIR:-$HOME/.cache/berth}
NETNS="berth-compose"
run=/run/berth-compose
state=${BERTH_COMPOSE_DIR:-$cache/compose-run}
COMPOSE_VERSION=v2.40.3
# Debian packages and the version prefixes this is tested with.
PACKAGES=(docker.io containerd runc iptables postgresql-15 umoci skopeo busybox-static iproute2
  util-linux openssl curl python3)
declare -A EXPECT=([docker.io]=20.10.24 [containerd]=1.6. [runc]=1.1.)
# The engine's own address pool, so its bridges never look like anything else on the machine.
BRIDGE_IP=10.241.255.1/24
ADDRESS_POOL=10.241.0.0/16

log() { echo "compose-run: $*" >&2; }
die() { echo "compose-run: error: $*" >&2; exit 1; }
in_ns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }
export DOCKER_HOST=unix://$run/docker.sock DOCKER_CONFIG=$run/docker-config

ensure_packages() {
  local p v missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian's policy-rc.d (or no init) keeps the packaged docker service from starting outside
    # our namespace; the check after the install makes sure of it.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  for p in "${!EXPECT[@]}"; do
    v=$(dpkg-query -W -f '${Version}' "$p")
    [[ $v == "${EXPECT[$p]}"* ]] || die "$p $v installed; this is tested with ${EXPECT[$p]}"
  done
}

# Docker Compose v2 from its Go module, built once per version. Its go.mod has exclude
# directives, so `go install pkg@version` refuses it: build inside the downloaded module instead
# (its go.sum pins every dependency).
ensure_compose() {
  local dir=$cache/tools/docker-compose-$COMPOSE_VERSION src
  COMPOSE=$dir/docker-compose
  [[ -x $COMPOSE ]] && return 0
  command -v go >/dev/null || die "docker-compose is not cached in $dir and 'go' is not on PATH to build it"
  mkdir -p "$dir"
  log "building Docker Compose $COMPOSE_VERSION from the Go module proxy (first use; several minutes); log $dir/build.log"
  src=$(cd "$dir" && go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') || die "downloading github.com/docker/compose/v2@$COMPOSE_VERSION failed"
  if ! (cd "$src" && go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
      -o "$COMPOSE.tmp" ./cmd) >"$dir/build.log" 2>&1; then
    tail -n 20 "$dir/build.log" >&2
    die "building Docker Compose failed; log $dir/build.log"
  fi
  mv "$COMPOSE.tmp" "$COMPOSE"
}

# A process of ours: its command line names $run (so a recycled PID is never touched).
ours() { [[ -n ${1:-} && -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$run/"; }

stop_pid() { # pid seconds: TERM, wait, KILL
  local pid=$1 i
  ours "$pid" || return 0
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < $2 * 10; i++)); do ours "$pid" || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

down() {
  local p m
  if [[ -S $run/docker.sock ]] && docker version >/dev/null 2>&1; then
    if [[ -n ${COMPOSE:-} && -f ${project_dir:-/nonexistent}/docker-compose.yml ]]; then
      "$COMPOSE" --project-directory "$project_dir" down -v --timeout 10 >/dev/null 2>&1 || true
    fi
    # Everything this engine holds is ours.
    for p in $(docker ps -aq); do docker rm -f -v "$p" >/dev/null 2>&1 || true; done
  fi
  stop_pid "$(cat "$run/dockerd.pid" 2>/dev/null)" 30
  # The shims of our containerd (named by its socket), then containerd itself.
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "^containerd-shim.* -address $run/containerd.sock " &&
      stop_pid "${p#/proc/}" 5
  done
  stop_pid "$(cat "$run/containerd.pid" 2>/dev/null)" 10
  # What the engine mounted (container netns files, overlays) if it did not unmount on exit.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v r="$run/" -v s="$state/" \
    'index($2, r) == 1 || index($2, s) == 1 {print $2}' /proc/mounts | sort -r)
  if [[ -f $run/netns ]] && ip netns list | grep -qw "$NETNS"; then ip netns delete "$NETNS"; fi
  # The engine's cgroup parent (--cgroup-parent) and what runc left in it, empty once the
  # containers are gone (rmdir refuses a cgroup that still has processes).
  for m in /sys/fs/cgroup/*/berth-compose; do
    [[ -d $m ]] && { find "$m" -depth -type d -exec rmdir {} + 2>/dev/null || true; }
  done
  [[ -f $run/made-key-json ]] && rm -f /etc/docker/key.json
  rm -rf "$run" "${state:?}/docker" "$state/containerd" "$state/opt"
}

up_engine() {
  if ip netns list | grep -qw "$NETNS"; then
    [[ -f $run/netns ]] || die "network namespace $NETNS exists but is not ours ($run/netns missing)"
    log "cleaning up a previous run"; down
  fi
  install -d -m 700 "$run" && mkdir -p "$state" "$DOCKER_CONFIG"
  ip netns add "$NETNS"
  echo "$NETNS" >"$run/netns"
  in_ns ip link set lo up

  cat >"$run/containerd.toml" <<EOF
version = 2
root = "$state/containerd"
state = "$run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$run/containerd.sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$state/opt"
EOF
  # Started directly (no function, no setsid) so that $! is the daemon itself.
  nsenter --net="/run/netns/$NETNS" -- containerd --config "$run/containerd.toml" >"$run/containerd.log" 2>&1 </dev/null &
  echo $! >"$run/containerd.pid"
  wait_for "containerd" 30 test -S "$run/containerd.sock"

  echo '{}' >"$run/daemon.json"
  # dockerd 20.10 writes its identity key to /etc/docker/key.json (no flag moves it here); remove
  # it at the end if this run made it.
  [[ -e /etc/docker/key.json ]] || touch "$run/made-key-json"
  nsenter --net="/run/netns/$NETNS" -- dockerd --config-file "$run/daemon.json" --data-root "$state/docker" \
    --exec-root "$run/docker" --pidfile "$run/docker.pidfile" -H "$DOCKER_HOST" \
    --containerd "$run/containerd.sock" --containerd-namespace berth-compose \
    --containerd-plugins-namespace berth-compose-plugins --cgroup-parent berth-compose \
    --bip "$BRIDGE_IP" --default-address-pool "base=$ADDRESS_POOL,size=24" \
    --log-level warn >"$run/dockerd.log" 2>&1 </dev/null &
  echo $! >"$run/dockerd.pid"
  wait_for "dockerd" 60 docker version
}

wait_for() { # what seconds command...: until the command succeeds, while the process lives
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$run/$what.pid")" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "$run/$what.log" >&2 2>/dev/null || true
  die "$what did not come up within ${secs}s"
}

# The PostgreSQL image the node uses, from the same cache and key as scripts/node.sh's `image`.
postgres_image() {
  local key dir tar
  key=$( (cat "$repo/scripts/node/images.sh" "$repo/scripts/node/postgres-entrypoint.sh" "$repo/scripts/images/seed-common.sh"
    echo "" "$(dpkg-query -W -f '${Version}' postgresql-15)" "$POSTGRES_IMAGE") | sha256sum | cut -c1-12)
  dir=$cache/node/images
  tar=$dir/postgres-$key.tar
  if [[ ! -s $tar || ! -s $tar.ref ]]; then
    mkdir -p "$dir"
    POSTGRES_IMAGE=$POSTGRES_IMAGE "$repo/scripts/node/images.sh" postgres "$tar.tmp" >"$dir/postgres.log" 2>&1 ||
      { tail -n 20 "$dir/postgres.log" >&2; die "building the postgres image failed"; }
    tail -n 1 "$dir/postgres.log" >"$tar.ref"
    mv "$tar.tmp" "$tar"
  fi
  docker load -i "$tar" >/dev/null || die "docker load of $tar failed"
}

if [[ ${1:-} == down ]]; then
  project_dir=$run/project COMPOSE=$cache/tools/docker-compose-$COMPOSE_VERSION/docker-compose
  exec 9>"$run.lock"
  flock -n 9 || die "a scripts/compose-run.sh run is in progress (lock $run.lock)"
  down; log "down"; exit 0
fi

berth=${1:-$repo/target/debug/berth}
[[ -x $berth ]] || { log "error: berth binary not found at $berth (run cargo build first)"; exit 2; }
berth=$(cd "$(dirname "$berth")" && pwd)/$(basename "$berth")
((EUID == 0)) || die "needs root (network namespace, dockerd)"
t_start=$SECONDS
ensure_packages
ensure_compose
# One run at a time (the namespace and /run/berth-compose are fixed names), taken before the trap
# so that a refused run tears nothing down; a run that died left the lock free, and up_engine
# cleans up its leftovers.
exec 9>"$run.lock"
flock -n 9 || die "another scripts/compose-run.sh is running (lock $run.lock)"
work=$(mktemp -d)
project_dir=$run/project
cleanup() {
  local rc=$?
  if ((rc != 0)) && [[ -S $run/docker.sock && -f $project_dir/docker-compose.yml ]]; then
    log "services' logs (last 30 lines each):"
    "$COMPOSE" --project-directory "$project_dir" ps -a >&2 || true
    "$COMPOSE" --project-directory "$project_dir" logs --no-color --tail 30 >&2 || true
  fi
  if [[ ${BERTH_COMPOSE_KEEP:-} == 1 ]]; then
    log "kept running (DOCKER_HOST=$DOCKER_HOST $COMPOSE --project-directory $project_dir ...); scripts/compose-run.sh down stops it"
  else
    down
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

log "engine: $(dockerd --version), $(containerd --version | awk '{print "containerd", $3}'), $(runc --version | head -1), Docker Compose $("$COMPOSE" version --short)"
up_engine
log "engine up in namespace $NETNS ($(docker version -f 'API {{.Server.APIVersion}}, storage driver ')$(docker info -f '{{.Driver}}'))"

# Images: the three app images built by berth on the seeded bases, and postgres.
t0=$SECONDS
# Without the lock's descriptor: a registry it starts outlives this run and must not hold the lock.
registry=$("$repo/scripts/registry.sh" up --python --node 9>&- | tail -n 1)
"$berth" images build frontend backend mcp --root "$repo" --out "$work/archives" --quiet \
  --registry-mirror "docker.io=http://$registry" >"$work/built" || die "berth images build failed"
"$berth" images load frontend backend mcp --root "$repo" --out "$work/archives" --target docker \
  2>"$work/load.log" || { cat "$work/load.log" >&2; die "berth images load --target docker failed"; }
cat "$work/load.log" >&2
# backend and mcp share their Python base: the second is sent without the layers Docker holds.
grep -Eq '[0-9]+ of [0-9]+ blobs \(.*\) loaded into docker' "$work/load.log" ||
  die "no image was loaded into Docker without the layers it already held"
sets=()
while IFS=$'\t' read -r ref _; do
  name=${ref%:*}; name=${name##*/}
  sets+=(--set-string "components.$name.image.tag=${ref##*:}")
done <"$work/built"
((${#sets[@]} == 6)) || die "berth images build reported $((${#sets[@]} / 2)) images, want 3: $(cat "$work/built")"
POSTGRES_IMAGE=$(cd "$work" && "$berth" compose export --out "$work/probe" >/dev/null 2>&1 &&
  awk '/^  postgres:/{p=1} p && /image:/{print $2; exit}' "$work/probe/docker-compose.yml")
[[ -n $POSTGRES_IMAGE ]] || die "no postgres image in the exported compose file"
postgres_image
log "images built and loaded in $((SECONDS - t0))s: $(docker images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')"

# The compose file, as a user gets it, with the built tags; required secrets made up here.
(cd "$repo" && "$berth" compose export --out "$project_dir" "${sets[@]}") >&2 || die "berth compose export failed"
# The variables Compose requires (${NAME:?...}) get random values, written by bash builtins only
# (no value on a command line); the optional ones stay empty, as a user may leave them.
# shellcheck disable=SC2016 # the pattern is literal
required=" $(grep -o '\${[A-Za-z0-9_]*:?' "$project_dir/docker-compose.yml" | tr -d '${:?' | sort -u | tr '\n' ' ') "
(umask 077 && : >"$project_dir/.env.new")
while IFS= read -r line; do
  name=${line%=}
  if [[ $line == *= && $required == *" $name "* ]]; then
    printf '%s=%s\n' "$name" "$(openssl rand -hex 32)"
  else
    printf '%s\n' "$line"
  fi
done <"$project_dir/.env" >"$project_dir/.env.new"
mv "$project_dir/.env.new" "$project_dir/.env"
for name in $required; do grep -q "^$name=." "$project_dir/.env" || die "$name is not in the exported .env"; done
log "docker-compose.yml services: $("$COMPOSE" --project-directory "$project_dir" config --services | tr '\n' ' ')"
compose() { "$COMPOSE" --project-directory "$project_dir" --progress plain "$@"; }

# up, and every service's health check passing; HEALTHY_AT[service] = seconds after `up` when
# `docker ps` first showed it healthy (polled every second).
declare -A HEALTHY_AT
wait_healthy() { # t0 seconds [pid]: every container of the project healthy within SECONDS of t0;
  # stops early when PID (the backgrounded `up`) failed
  local t0=$1 deadline=$(($1 + $2)) pid=${3:-} states line
  HEALTHY_AT=()
  while ((SECONDS < deadline)); do
    states=$(docker ps -a --filter "label=com.docker.compose.project=todo-chatbot" \
      --format '{{.Label "com.docker.compose.service"}}={{.State}}/{{.Status}}')
    while read -r line; do
      [[ $line == *'(healthy)'* && -z ${HEALTHY_AT[${line%%=*}]:-} ]] && HEALTHY_AT[${line%%=*}]=$((SECONDS - t0))
    done <<<"$states"
    if [[ -n $states ]] && ! grep -qv '(healthy)' <<<"$states"; then return 0; fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && ! wait "$pid"; then
      log "docker-compose up failed"; return 1
    fi
    if grep -qE '=exited|=dead|=restarting|\(unhealthy\)' <<<"$states"; then
      log "a service failed: $(tr '\n' ' ' <<<"$states")"; return 1
    fi
    sleep 1
  done
  log "not healthy after $2s: $(tr '\n' ' ' <<<"$states")"; return 1
}
# Per service: state, health, the health check's command, when its container started and when it
# was first seen healthy (seconds after `up`).
report_health() { # epoch of `up`
  local id
  for id in $(docker ps -q --filter "label=com.docker.compose.project=todo-chatbot"); do
    docker inspect "$id" | UP_EPOCH=$1 HEALTHY="$(for s in "${!HEALTHY_AT[@]}"; do echo "$s=${HEALTHY_AT[$s]}"; done)" python3 -c '
import json, os, sys
from datetime import datetime, timezone
c = json.load(sys.stdin)[0]
svc = c["Config"]["Labels"]["com.docker.compose.service"]
healthy = dict(l.split("=") for l in os.environ["HEALTHY"].split())
# RFC 3339 in UTC with nanoseconds; Python takes microseconds.
started = datetime.fromisoformat(c["State"]["StartedAt"].rstrip("Z")[:26]).replace(tzinfo=timezone.utc).timestamp()
h = c["State"].get("Health") or {}
test = (c["Config"].get("Healthcheck") or {}).get("Test", [])
print("  %-9s %s, health %s, started %+.1fs, healthy at %ss after up; image %s; check %s" % (
    svc, c["State"]["Status"], h.get("Status", "none"), started - float(os.environ["UP_EPOCH"]),
    healthy.get(svc, "?"), c["Config"]["Image"], " ".join(test[1:])[:90]))
' >&2
  done
}

# `up -d` waits for each dependency's condition before it starts the next service, so it runs in
# the background while wait_healthy watches every container from the moment it was issued.
t0=$SECONDS up_epoch=$(date +%s.%N)
compose up -d >"$work/up.log" 2>&1 &
up_pid=$!
wait_healthy "$t0" 300 "$up_pid" || { cat "$work/up.log" >&2; die "the stack did not become healthy"; }
wait "$up_pid" || { cat "$work/up.log" >&2; die "docker-compose up failed"; }
up_seconds=$((SECONDS - t0))
log "every service healthy ${up_seconds}s after 'docker-compose up -d' (state, health, container start and first seen healthy, in seconds after up):"
report_health "$up_epoch"

# Nothing in the namespace leads off the machine: no default route, only loopback and the
# engine's own bridges and veths.
[[ -z $(in_ns ip route show default) && -z $(in_ns ip -6 route show default) ]] ||
  die "the namespace $NETNS has a default route: $(in_ns ip route show default)"
links=$(in_ns ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' ')
for l in $links; do
  [[ $l == lo || $l == docker0 || $l == br-* || $l == veth* ]] || die "unexpected interface $l in $NETNS ($links)"
done
log "ok   namespace $NETNS: no default route; interfaces: $links"

# The answers, from inside the namespace.
curl_ns() { in_ns curl -sS --max-time 10 "$@"; }
curl_ns -f http://127.0.0.1:3000/ | grep -q '<html' || die "the frontend at 127.0.0.1:3000 (its published port) did not serve the page"
log "ok   GET http://127.0.0.1:3000/ (frontend, published port) serves the page"
backend_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' \
  "$(docker ps -q --filter label=com.docker.compose.project=todo-chatbot --filter label=com.docker.compose.service=backend)")
health=$(curl_ns -f "http://$backend_ip:8000/health") || die "the backend's /health at $backend_ip:8000 did not answer"
[[ $health == '{"status":"ok"}' ]] || die "the backend's /health answered $health"
log "ok   GET http://$backend_ip:8000/health (backend, on the Compose network) -> $health"
title=compose-run-$RANDOM$RANDOM
code=$(curl_ns -o "$work/post.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d "{\"title\":\"$title\"}" http://127.0.0.1:3000/api/tasks) || die "POST /api/tasks through the frontend failed"
[[ $code == 201 ]] || die "POST /api/tasks through the frontend answered $code: $(cat "$work/post.json")"
curl_ns -f http://127.0.0.1:3000/api/tasks | grep -qF "\"$title\"" || die "GET /api/tasks does not list the task just written"
log "ok   POST then GET http://127.0.0.1:3000/api/tasks: 201, listed (frontend -> backend -> mcp -> postgres)"

# The named volume: `down` (without -v) removes every container; a new postgres container finds
# the task in the volume.
t0=$SECONDS
compose down --timeout 10 >"$work/down.log" 2>&1 || { cat "$work/down.log" >&2; die "docker-compose down failed"; }
[[ -z $(docker ps -aq) ]] || die "containers left after 'docker-compose down': $(docker ps -a --format '{{.Names}}' | tr '\n' ' ')"
down_seconds=$((SECONDS - t0)) t0=$SECONDS
compose up -d postgres >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; die "docker-compose up -d postgres failed"; }
wait_healthy "$t0" 120 || die "postgres did not become healthy again"
rows=$(compose exec -T postgres psql -U todo -d todo -tAc "select count(*) from tasks where title = '$title'") ||
  die "psql in the new postgres container failed"
[[ $rows == 1 ]] || die "the new postgres container has $rows rows for the task written before 'down', want 1 (the named volume did not keep it)"
log "ok   'down' in ${down_seconds}s; a new postgres container healthy after $((SECONDS - t0))s still has the task (volume $(docker volume ls -q | tr '\n' ' '))"

log "passed in $((SECONDS - t_start))s (stack healthy ${up_seconds}s after up)"
