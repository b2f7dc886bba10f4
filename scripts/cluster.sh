#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1 for berth's cluster tests.
#
#   scripts/cluster.sh up      build on first use, start, wait until usable; last stdout line = kubeconfig path
#   scripts/cluster.sh down    stop exactly the processes `up` started (by PID) and remove the state
#   scripts/cluster.sh status  say what runs
#   scripts/cluster.sh build   only build (or find) the binaries; last stdout line = their directory
#   scripts/cluster.sh apiserver-stop|apiserver-start    stop the API server alone / start it again
#   scripts/cluster.sh apiserver-pause|apiserver-resume  SIGSTOP / SIGCONT it (fault tests)
#   scripts/cluster.sh settle        wait until a canary claim is bound again (after a fault)
#
# Components: etcd v3.6 (embedded in the multi-call binary), kube-apiserver,
# kube-controller-manager, kube-scheduler (Kubernetes v1.35, built from the Go modules in
# scripts/cluster/k8s) and kwok (simulated nodes and pods, stages in scripts/cluster/kwok).
# Two kwok nodes of 4 CPU / 8 GiB / 110 pods; default StorageClass `standard` provisioned by
# kwok's volume stages. Service CIDR 10.96.0.0/16, pod CIDR 10.244.0.0/16 -- nothing here
# creates routes or interfaces; every component listens on 127.0.0.1 only, on free high ports.
#
# Environment:
#   BERTH_CLUSTER_DIR  state (PKI, kubeconfigs, etcd data, logs, PIDs); default <repo>/.cluster
#   BERTH_CACHE_DIR    binary cache root; binaries go to $BERTH_CACHE_DIR/cluster/<version-key>/bin
#                      (default ~/.cache/berth). Go's own build cache stays in GOCACHE.
#   BERTH_TOOLS_DIR    where scripts/tools.sh installs kubectl (default <repo>/.tools)
#   BERTH_CLUSTER_TIMEOUT  seconds to wait for each readiness step (default 120)
#   BERTH_CLUSTER_API_PORT fixed API server port (default: a free port chosen at start)
#   BERTH_CLUSTER_NODE_IP  real-node mode, set by scripts/node.sh only (see real_node_* below):
#                          run inside the node's network namespace, no kwok, the API server
#                          listens on that namespace's addresses and advertises this one
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$repo/scripts/cluster
# shellcheck source=cluster/versions.env
. "$src/versions.env"
state=${BERTH_CLUSTER_DIR:-$repo/.cluster}
cache_root=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/cluster
timeout=${BERTH_CLUSTER_TIMEOUT:-120}
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
POD_CIDR=10.244.0.0/16
# Start order; `down` stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Binaries: built once per version key, cached outside the repository.

ldflags() {
  local v=$K8S_VERSION minor
  minor=${v#v1.}; minor=${minor%%.*}
  echo "-s -w" \
    "-X k8s.io/component-base/version.gitVersion=$v" \
    "-X k8s.io/component-base/version.gitMajor=1" \
    "-X k8s.io/component-base/version.gitMinor=$minor" \
    "-X k8s.io/component-base/version.gitTreeState=clean" \
    "-X k8s.io/client-go/pkg/version.gitVersion=$v" \
    "-X k8s.io/client-go/pkg/version.gitMajor=1" \
    "-X k8s.io/client-go/pkg/version.gitMinor=$minor"
}

# The key names the versions and hashes everything the build reads from this repository,
# so an edited go.mod/main.go gets a new directory (a warm rebuild is mostly a link).
version_key() {
  local h
  h=$( (cat "$src/k8s/go.mod" "$src/k8s/go.sum" "$src"/k8s/*.go; ldflags; echo "$KWOK_VERSION") \
        | sha256sum | cut -c1-12)
  echo "k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-$h"
}

# with_heartbeat LOG COMMAND...: run COMMAND with output appended to LOG, saying every
# 2 minutes that it is still going (a cold build is silent for a long time otherwise).
# The build runs in its own process group, which is killed if this script is interrupted.
with_heartbeat() {
  local logf=$1 pid start=$SECONDS next=$((SECONDS + 120)) rc=0; shift
  setsid "$@" >>"$logf" 2>&1 </dev/null 8>&- &
  pid=$!
  trap 'kill -TERM -- -'"$pid"' 2>/dev/null' EXIT
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= next)); then
      log "  still building ($(((SECONDS - start) / 60)) min so far)"
      next=$((SECONDS + 120))
    fi
    sleep 2
  done
  wait "$pid" || rc=$?
  trap - EXIT
  return "$rc"
}

ensure_binaries() {
  key=$(version_key)
  keydir=$cache_root/$key
  bin=$keydir/bin
  if [[ -x $bin/berth-k8s && -x $bin/kwok ]]; then
    return 0
  fi
  command -v go >/dev/null || die "binaries for $key are not cached in $keydir and 'go' is not on PATH to build them"
  mkdir -p "$keydir"
  local buildlog=$keydir/build.log
  # One builder at a time per machine; a second `up` waits and then finds the binaries.
  exec 9>"$cache_root/.build.lock"
  if ! flock -n 9; then
    log "another build is running (lock $cache_root/.build.lock); waiting"
    flock 9
  fi
  if [[ -x $bin/berth-k8s && -x $bin/kwok ]]; then
    exec 9>&-
    return 0
  fi
  local tmp
  rm -rf "$keydir"/bin.tmp.* # left by an interrupted build (we hold the lock)
  tmp=$(mktemp -d "$keydir/bin.tmp.XXXXXX")
  local t0=$SECONDS
  log "building Kubernetes $K8S_VERSION + etcd $ETCD_VERSION + kwok $KWOK_VERSION (first use; cold on 2 cores: about 8 min idle, 20+ min under load)"
  log "build log: $buildlog"
  {
    echo "# $(date -u +%FT%TZ) building $key with $(go version)"
    echo "+ (cd $src/k8s && go build -trimpath -tags providerless -ldflags '$(ldflags)' -o $tmp/berth-k8s .)"
  } >"$buildlog"
  # shellcheck disable=SC2016 # $1..$3 are expanded by the inner bash
  if ! with_heartbeat "$buildlog" bash -c 'cd "$1" && exec go build -trimpath -tags providerless -ldflags "$2" -o "$3" .' \
      _ "$src/k8s" "$(ldflags)" "$tmp/berth-k8s"; then
    rm -rf "$tmp"
    tail -n 30 "$buildlog" | sed 's/^/  | /' >&2
    die "building the Kubernetes control plane failed; full log: $buildlog"
  fi
  log "built berth-k8s in $((SECONDS - t0))s; building kwok"
  echo "+ GOBIN=$tmp go install -trimpath sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >>"$buildlog"
  if ! with_heartbeat "$buildlog" env -C / GOBIN="$tmp" GOFLAGS= go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"; then
    rm -rf "$tmp"
    tail -n 30 "$buildlog" | sed 's/^/  | /' >&2
    die "building kwok $KWOK_VERSION failed; full log: $buildlog"
  fi
  rm -rf "$bin"
  mv "$tmp" "$bin"
  echo "# $(date -u +%FT%TZ) done in $((SECONDS - t0))s" >>"$buildlog"
  log "binaries ready in $((SECONDS - t0))s: $bin"
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# Helpers.

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Free TCP ports on 127.0.0.1, all distinct, below the kernel's ephemeral range (so an
# outgoing connection cannot take one between this check and the component's bind):
# 20000-32767 with the default ip_local_port_range of 32768-60999.
pick_ports() {
  local n=$1 got=() p tries=0 lo=20000 hi=32767 eph_lo
  read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_lo=32768
  if ((eph_lo > 11000)); then hi=$((eph_lo - 1)); ((lo < hi - 1000)) || lo=10000; fi
  while ((${#got[@]} < n)); do
    ((tries++ < 500)) || die "could not find $n free ports on 127.0.0.1"
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    [[ " ${got[*]} " == *" $p "* ]] && continue
    port_in_use "$p" && continue
    got+=("$p")
  done
  echo "${got[@]}"
}

pid_of() { [[ -f $state/pids/$1.pid ]] && cat "$state/pids/$1.pid"; }

# True if PID runs and is ours: its command line mentions this state directory.
is_ours() {
  local pid=$1
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$state/"
}

alive() { local pid; pid=$(pid_of "$1") && is_ours "$pid"; }

tail_log() {
  local f=$state/logs/$1.log
  if [[ -s $f ]]; then
    echo "---- last 25 lines of $f ----" >&2
    tail -n 25 "$f" >&2
    echo "----" >&2
  fi
}

start() { # name args...
  local name=$1; shift
  # 8>&- 9>&-: the components must not inherit (and so hold) this script's lock files.
  setsid "$@" >"$state/logs/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$state/pids/$name.pid"
}

fail() { # component message: show the log tail, stop what was started, keep logs
  local name=$1; shift
  echo "cluster: error: $name: $*" >&2
  tail_log "$name"
  stop_all quiet
  echo "cluster: logs kept in $state/logs ('scripts/cluster.sh down' removes them)" >&2
  exit 1
}

# wait_for NAME DESCRIPTION COMMAND...: poll COMMAND until it succeeds, while NAME is alive.
wait_for() {
  local name=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || fail "$name" "exited while waiting for $what"
    ((SECONDS < deadline)) || fail "$name" "$what not reached within ${timeout}s"
    sleep 0.5
  done
}

curl_api() { # path
  curl -fsS --max-time 5 --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" \
    --key "$state/pki/admin.key" "https://127.0.0.1:$API_PORT$1"
}
readyz_ok() { [[ $(curl_api /readyz 2>/dev/null) == ok ]]; }
healthz_ok() { [[ $(curl -ksS --max-time 5 "https://127.0.0.1:$1/healthz") == ok ]]; }
etcd_ok() { curl -fsS --max-time 5 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }

# ---------------------------------------------------------------------------------------------
# PKI and kubeconfigs (openssl): one CA, a serving cert, client certs, a service-account key.

# cert NAME SUBJECT EXTFILE-LINES: an EC key and a certificate signed by ca.crt/ca.key, in the
# current directory (the PKI directory).
cert() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  printf '%b\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

make_pki() {
  command -v openssl >/dev/null || die "openssl is needed to create the cluster PKI"
  local d=$state/pki
  mkdir -p "$d"
  (
    cd "$d"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=berth-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out ca.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    cert apiserver "/CN=kube-apiserver" \
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$SERVICE_IP"
    local client="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth"
    cert admin "/O=system:masters/CN=berth-admin" "$client"
    cert controller-manager "/CN=system:kube-controller-manager" "$client"
    cert scheduler "/CN=system:kube-scheduler" "$client"
    cert kwok "/O=system:masters/CN=kwok" "$client"
  ) || die "creating the PKI with openssl failed"
  chmod 600 "$d"/*.key
}

kubeconfig() { # name cert-basename
  local b64="base64 -w0"
  cat >"$state/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: berth-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $($b64 <"$state/pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 <"$state/pki/$2.crt")
    client-key-data: $($b64 <"$state/pki/$2.key")
contexts:
- name: berth-test
  context:
    cluster: berth-test
    user: $2
current-context: berth-test
EOF
  chmod 600 "$state/$1.kubeconfig"
}

# ---------------------------------------------------------------------------------------------
# Real-node mode (scripts/node.sh runs this script inside the node's network namespace with
# BERTH_CLUSTER_NODE_IP set). The control plane is the same; only these differ: the API server
# listens on every address of that namespace (its loopback and the node's veth end -- nothing
# else exists there) and advertises the node IP, so the `kubernetes` Service has real endpoints
# for pods; it can reach kubelets for logs and exec; and there is no kwok (no simulated nodes;
# the StorageClass comes from the node's provisioner instead of kwok's volume stages).

real_node() { [[ -n ${NODE_IP:-} ]]; }

real_node_components() {
  if real_node; then COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler); fi
}

# Extra PKI: the node IP in the serving cert, the client cert the API server shows kubelets, and
# the node's own identities (kubelet as system:node:NAME, kube-proxy).
real_node_pki() {
  real_node || return 0
  (
    cd "$state/pki"
    cert apiserver "/CN=kube-apiserver" \
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$SERVICE_IP,IP:$NODE_IP"
    local client="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth"
    cert kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
    cert kubelet "/O=system:nodes/CN=system:node:${BERTH_CLUSTER_NODE_NAME:-berth-node}" "$client"
    cert kube-proxy "/CN=system:kube-proxy" "$client"
  ) || die "creating the real node's certificates failed"
  chmod 600 "$state"/pki/*.key
}

# The API server's listening and advertising flags, one per line.
apiserver_network_flags() {
  if real_node; then
    printf '%s\n' --bind-address=0.0.0.0 --advertise-address="$NODE_IP" \
      --kubelet-client-certificate="$state/pki/kubelet-client.crt" \
      --kubelet-client-key="$state/pki/kubelet-client.key" \
      --kubelet-preferred-address-types=InternalIP
  else
    printf '%s\n' --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none
  fi
}

# ---------------------------------------------------------------------------------------------
# Commands.

stop_all() { # [quiet]
  # One at a time in reverse start order, so the API server still has etcd while it stops.
  local i name pid stopped=() deadline
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name=${COMPONENTS[i]}
    pid=$(pid_of "$name") || continue
    is_ours "$pid" || continue
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while is_ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if is_ours "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      stopped+=("$name:$pid(killed)")
    else
      stopped+=("$name:$pid")
    fi
  done
  rm -f "$state"/pids/*.pid
  [[ ${1:-} == quiet ]] && return 0
  if ((${#stopped[@]})); then log "stopped ${stopped[*]}"; else log "no running components"; fi
}

cmd_down() {
  if [[ ! -d $state ]]; then
    log "nothing to stop ($state does not exist)"
    return 0
  fi
  stop_all
  rm -rf "$state"
  log "removed $state"
}

load_state() {
  [[ -f $state/cluster.env ]] || return 1
  # shellcheck disable=SC1091
  . "$state/cluster.env"
  real_node_components
}

all_alive() {
  local name
  for name in "${COMPONENTS[@]}"; do alive "$name" || return 1; done
}

cmd_status() {
  if ! load_state; then
    echo "not running (no state in $state)"
    return 3
  fi
  local name pid ok=0
  echo "state:      $state"
  echo "binaries:   $BIN_DIR"
  echo "kubeconfig: $state/admin.kubeconfig"
  echo "api server: https://127.0.0.1:$API_PORT (etcd http://127.0.0.1:$ETCD_PORT)"
  for name in "${COMPONENTS[@]}"; do
    pid=$(pid_of "$name" || true)
    if alive "$name"; then
      printf '  %-24s running  pid %s\n' "$name" "$pid"
    else
      printf '  %-24s STOPPED  (pid %s)\n' "$name" "${pid:--}"
      ok=1
    fi
  done
  if readyz_ok; then echo "readyz:     ok"; else echo "readyz:     NOT OK"; ok=1; fi
  if ((ok == 0)) && [[ -x $KUBECTL ]]; then
    "$KUBECTL" --kubeconfig "$state/admin.kubeconfig" get nodes -o wide 2>&1 | sed 's/^/  /' || true
  fi
  return $ok
}

cmd_up() {
  command -v curl >/dev/null || die "curl is needed"
  command -v flock >/dev/null || die "flock (util-linux) is needed"
  command -v setsid >/dev/null || die "setsid (util-linux) is needed"
  if [[ -d $state ]]; then
    if load_state && all_alive && readyz_ok; then
      log "already running (api https://127.0.0.1:$API_PORT)"
      echo "$state/admin.kubeconfig"
      return 0
    fi
    log "found stale state in $state; cleaning it up first"
    stop_all quiet
    rm -rf "$state"
  fi

  local tools
  tools=$("$repo/scripts/tools.sh" | tail -n 1) || die "scripts/tools.sh failed (kubectl is needed)"
  KUBECTL=$tools/kubectl

  NODE_IP=${BERTH_CLUSTER_NODE_IP:-}
  real_node_components
  ensure_binaries
  local t0=$SECONDS
  mkdir -p "$state"/{logs,pids,etcd}
  read -r ETCD_PORT PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT <<<"$(pick_ports 6)"
  if [[ -n ${BERTH_CLUSTER_API_PORT:-} ]]; then
    port_in_use "$BERTH_CLUSTER_API_PORT" &&
      die "BERTH_CLUSTER_API_PORT=$BERTH_CLUSTER_API_PORT: port is already in use on 127.0.0.1"
    API_PORT=$BERTH_CLUSTER_API_PORT
  fi
  cat >"$state/cluster.env" <<EOF
BIN_DIR=$bin
KUBECTL=$KUBECTL
ETCD_PORT=$ETCD_PORT
PEER_PORT=$PEER_PORT
API_PORT=$API_PORT
KCM_PORT=$KCM_PORT
SCHED_PORT=$SCHED_PORT
KWOK_PORT=$KWOK_PORT
NODE_IP=$NODE_IP
EOF
  make_pki
  real_node_pki
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kwok kwok
  {
    cat "$src/kwok/config.yaml"
    echo "---"; cat "$src/kwok/stages-upstream.yaml"
    echo "---"; cat "$src/kwok/stages-failures.yaml"
    echo "---"; cat "$src/kwok/stages-resync.yaml"
    echo "---"; cat "$src/kwok/stages-volume.yaml"
    echo "---"; cat "$src/kwok/port-forward.yaml"
  } >"$state/kwok.yaml"

  local k=$bin/berth-k8s p=$state/pki
  start etcd "$k" etcd --data-dir "$state/etcd" \
    --listen-client-url "http://127.0.0.1:$ETCD_PORT" --listen-peer-url "http://127.0.0.1:$PEER_PORT"
  wait_for etcd "etcd health" etcd_ok

  local net_flags
  mapfile -t net_flags < <(apiserver_network_flags)
  start kube-apiserver "$k" kube-apiserver \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" --secure-port="$API_PORT" "${net_flags[@]}" \
    --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --client-ca-file="$p/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --authorization-mode=Node,RBAC \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --allow-privileged=true --profiling=false
  wait_for kube-apiserver "/readyz ok" readyz_ok
  log "api server ready on https://127.0.0.1:$API_PORT after $((SECONDS - t0))s"

  start kube-controller-manager "$k" kube-controller-manager \
    --kubeconfig="$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$state/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
    --root-ca-file="$p/ca.crt" --service-account-private-key-file="$p/sa.key" \
    --use-service-account-credentials --leader-elect=false \
    --service-cluster-ip-range="$SERVICE_CIDR" --cluster-cidr="$POD_CIDR" --allocate-node-cidrs=false \
    --profiling=false
  start kube-scheduler "$k" kube-scheduler \
    --kubeconfig="$state/scheduler.kubeconfig" \
    --authentication-kubeconfig="$state/scheduler.kubeconfig" \
    --authorization-kubeconfig="$state/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --leader-elect=false --profiling=false
  wait_for kube-controller-manager "healthz" healthz_ok "$KCM_PORT"
  wait_for kube-scheduler "healthz" healthz_ok "$SCHED_PORT"
  local kc=(--kubeconfig "$state/admin.kubeconfig")
  if real_node; then
    wait_for kube-controller-manager "ServiceAccount default/default" \
      "$KUBECTL" "${kc[@]}" get serviceaccount default -n default
    log "control plane up in $((SECONDS - t0))s for a real node at $NODE_IP, state $state"
    echo "$state/admin.kubeconfig"
    return 0
  fi
  # KWOK_WORKDIR: keep a personal ~/.kwok/kwok.yaml from being merged into our config.
  mkdir -p "$state/kwok"
  start kwok env KWOK_WORKDIR="$state/kwok" "$bin/kwok" \
    --kubeconfig="$state/kwok.kubeconfig" --config="$state/kwok.yaml" \
    --server-address="127.0.0.1:$KWOK_PORT" --node-ip=127.0.0.1 --node-port="$KWOK_PORT"

  "$KUBECTL" "${kc[@]}" apply --server-side --field-manager=berth-cluster \
    -f "$src/manifests/nodes.yaml" -f "$src/manifests/storage.yaml" >"$state/logs/setup.log" 2>&1 \
    || fail kwok "creating nodes and the StorageClass failed: $(tail -n 5 "$state/logs/setup.log")"
  nodes_ready() {
    [[ $("$KUBECTL" "${kc[@]}" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$') -ge 2 ]]
  }
  wait_for kwok "2 nodes Ready" nodes_ready
  wait_for kube-controller-manager "ServiceAccount default/default" \
    "$KUBECTL" "${kc[@]}" get serviceaccount default -n default
  log "cluster up in $((SECONDS - t0))s: $K8S_VERSION, 2 kwok nodes, state $state"
  echo "$state/admin.kubeconfig"
}

# ---------------------------------------------------------------------------------------------
# API server faults, for the fault tests: the API server alone stopped and started again with
# the flags it was started with (as Minikube restarting it, or a laptop waking), or paused.

# The running API server's pid (ours), or die.
apiserver_pid() {
  load_state || die "not running (no state in $state)"
  local pid
  pid=$(pid_of kube-apiserver) && is_ours "$pid" || die "kube-apiserver is not running"
  echo "$pid"
}

cmd_apiserver_stop() {
  local pid deadline
  pid=$(apiserver_pid)
  # Its command line, NUL-separated, for apiserver-start.
  cp "/proc/$pid/cmdline" "$state/kube-apiserver.cmdline"
  kill -CONT "$pid" 2>/dev/null || true # a paused process would not act on TERM
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 15))
  while is_ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  is_ours "$pid" && kill -KILL "$pid" 2>/dev/null
  rm -f "$state/pids/kube-apiserver.pid"
  log "kube-apiserver stopped (pid $pid)"
}

cmd_apiserver_start() {
  load_state || die "not running (no state in $state)"
  if alive kube-apiserver; then
    log "kube-apiserver already running (pid $(pid_of kube-apiserver))"
    return 0
  fi
  [[ -s $state/kube-apiserver.cmdline ]] || die "no saved command line: stop it with apiserver-stop first"
  local args=() t0=$SECONDS deadline=$((SECONDS + timeout))
  mapfile -d '' args <"$state/kube-apiserver.cmdline"
  setsid "${args[@]}" >>"$state/logs/kube-apiserver.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$state/pids/kube-apiserver.pid"
  until readyz_ok; do
    alive kube-apiserver || { tail_log kube-apiserver; die "kube-apiserver exited while starting"; }
    ((SECONDS < deadline)) || die "kube-apiserver not ready within ${timeout}s"
    sleep 0.2
  done
  log "kube-apiserver started (pid $(pid_of kube-apiserver)), ready after $((SECONDS - t0))s"
}

cmd_apiserver_signal() { # STOP|CONT what-it-did
  local pid
  pid=$(apiserver_pid)
  kill "-$1" "$pid"
  log "kube-apiserver $2 (pid $pid)"
}

# After a fault test stopped or paused the API server: wait until the simulated cluster answers
# and provisions again -- a canary claim is bound. kwok and the controller manager re-list with
# back-off after an outage; a test that deploys a database meanwhile measures their recovery (a
# claim Pending for minutes), not berth's. Nodes are not waited for: after a restart their leases
# can lapse for a minute or two, pods keep running (stages-resync.yaml gives their readiness back)
# and berth's own wait covers new pods.
cmd_settle() {
  load_state || die "not running (no state in $state)"
  real_node && die "settle is for the simulated cluster"
  local kc=("$KUBECTL" --kubeconfig "$state/admin.kubeconfig" --request-timeout=10s)
  local ns=berth-settle-$$ t0=$SECONDS deadline=$((SECONDS + timeout))
  local canary="apiVersion: v1
kind: Namespace
metadata: {name: $ns}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: canary, namespace: $ns}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}"
  until "${kc[@]}" apply --server-side --field-manager=berth-cluster -f - <<<"$canary" >/dev/null 2>&1 &&
    [[ $("${kc[@]}" -n "$ns" get pvc canary -o jsonpath='{.status.phase}' 2>/dev/null) == Bound ]]; do
    if ((SECONDS >= deadline)); then
      "${kc[@]}" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
      die "the cluster did not settle within ${timeout}s (a canary claim not bound)"
    fi
    sleep 0.5
  done
  "${kc[@]}" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  log "settled after $((SECONDS - t0))s: a canary claim bound"
}

# up and down of the same state directory never run at the same time.
lock_state() {
  command -v flock >/dev/null || die "flock (util-linux) is needed"
  mkdir -p "$cache_root/locks"
  exec 8>"$cache_root/locks/state-$(echo "$state" | sha256sum | cut -c1-16).lock"
  if ! flock -n 8; then
    log "waiting for another up/down of $state"
    flock 8
  fi
}

case ${1:-} in
  up) lock_state; cmd_up ;;
  down) lock_state; cmd_down ;;
  status) cmd_status ;;
  build) ensure_binaries; echo "$bin" ;;
  apiserver-stop) lock_state; cmd_apiserver_stop ;;
  apiserver-start) lock_state; cmd_apiserver_start ;;
  apiserver-pause) cmd_apiserver_signal STOP paused ;;
  apiserver-resume) cmd_apiserver_signal CONT resumed ;;
  settle) cmd_settle ;;
  *) echo "usage: $0 up|down|status|build|apiserver-stop|apiserver-start|apiserver-pause|apiserver-resume|settle" >&2; exit 2 ;;
esac
