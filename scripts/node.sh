#!/usr/bin/env bash
# A real Kubernetes node for berth: the test cluster's control plane (scripts/cluster.sh) plus a
# kubelet, containerd (CRI + runc), CNI (bridge, host-local, loopback, portmap), kube-proxy
# (iptables) and CoreDNS -- all inside one network namespace this script creates, joined to the
# host by one veth pair. Pods really run; berth's images are side-loaded into the node's
# containerd. Needs root.
#
#   scripts/node.sh up       build what is missing, start, check; last stdout line = kubeconfig
#   scripts/node.sh down     stop what `up` started, remove every namespace, interface, route,
#                            mount and cgroup it created; check that nothing is left
#   scripts/node.sh status   what runs; exit 0 when all of it, 1 when not, 3 when nothing
#   scripts/node.sh env      shell lines: KUBECONFIG, NODE_IP, CONTAINERD_SOCKET, APP_URL, ...
#
# Network (nothing leaves the machine):
#   host  <-- veth 10.240.254.1/30 -- 10.240.254.2/30 -->  namespace berth-node (no default route)
#   namespace: control plane (API on 10.240.254.2:6443), kubelet, containerd, kube-proxy, bridge
#   berth0 10.244.0.1/24 with the pods; services 10.96.0.0/16 (DNS 10.96.0.10) exist only as the
#   namespace's iptables rules. The host gets blackhole routes for the pod and service ranges
#   (so host traffic to them is dropped, never sent to the default route), the namespace gets
#   them too. No NAT anywhere towards eth0; the host's own iptables are not touched.
#   NodePorts answer on 10.240.254.2 (the app: http://10.240.254.2:30080).
#
# Environment: BERTH_CLUSTER_DIR (state, as cluster.sh), BERTH_CACHE_DIR (built binaries and
# images, keyed by version), BERTH_CLUSTER_TIMEOUT (seconds per readiness step, default 180).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$repo/scripts/node
# shellcheck source=cluster/versions.env
. "$repo/scripts/cluster/versions.env"
state=${BERTH_CLUSTER_DIR:-$repo/.cluster}
# The node's own state sits next to the control plane's (cluster.sh owns and replaces $state).
nstate=$state.node
cache=${BERTH_CACHE_DIR:-$HOME/.cache/berth}
timeout=${BERTH_CLUSTER_TIMEOUT:-180}

COREDNS_VERSION=v1.15.0
NETNS=berth-node
NODE_NAME=berth-node
HOST_VETH=berth-host
NODE_VETH=berth-node
LINK_CIDR=10.240.254.0/30
HOST_IP=10.240.254.1
NODE_IP=10.240.254.2
POD_CIDR=10.244.0.0/16
NODE_POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
DNS_IP=10.96.0.10
API_PORT=6443
BRIDGE=berth0
# Node processes in start order (down stops them in reverse), after the control plane.
NODE_COMPONENTS=(containerd kubelet kube-proxy provisioner)
# Debian packages the node needs (installed when missing) and the versions checked after.
PACKAGES=(containerd runc containernetworking-plugins iptables conntrack postgresql-15 umoci
  skopeo busybox-static gcc libc6-dev iproute2 util-linux openssl curl python3)
declare -A EXPECT=([containerd]=1.6. [runc]=1.1. [containernetworking-plugins]=1.1. [postgresql-15]=15.)

log() { echo "node: $*" >&2; }
die() { echo "node: error: $*" >&2; exit 1; }
in_ns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }

# ---------------------------------------------------------------------------------------------
# Packages and binaries.

ensure_packages() {
  local p missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  for p in "${!EXPECT[@]}"; do
    local v
    v=$(dpkg-query -W -f '${Version}' "$p")
    [[ $v == "${EXPECT[$p]}"* ]] || die "$p $v installed; this node is tested with ${EXPECT[$p]}x"
  done
}

k8s_module_dir() {
  (cd "$repo/scripts/cluster/k8s" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
}

# CoreDNS from its Go module (scripts/cluster/coredns), static, cached by version + sources.
ensure_coredns() {
  local src=$repo/scripts/cluster/coredns h dir
  h=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
  dir=$cache/node/coredns-$COREDNS_VERSION-$h
  COREDNS_BIN=$dir/coredns
  [[ -x $COREDNS_BIN ]] && return 0
  command -v go >/dev/null || die "CoreDNS is not cached in $dir and 'go' is not on PATH to build it"
  mkdir -p "$dir"
  log "building CoreDNS $COREDNS_VERSION (first use; a few minutes); log $dir/build.log"
  if ! (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$dir/coredns.tmp" .) \
      >"$dir/build.log" 2>&1; then
    tail -n 20 "$dir/build.log" >&2
    die "building CoreDNS failed; log $dir/build.log"
  fi
  mv "$dir/coredns.tmp" "$COREDNS_BIN"
}

# image NAME ARGS...: a docker-archive of the node image NAME (scripts/node/images.sh), cached by
# the content of what builds it; sets IMAGE_TAR and IMAGE_REF.
image() {
  local name=$1 key dir; shift
  key=$( (cat "$here/images.sh" "$here/postgres-entrypoint.sh" "$repo/scripts/images/seed-common.sh"
    echo "$*" "$(dpkg-query -W -f '${Version}' postgresql-15)" "$POSTGRES_IMAGE"
    [[ $name != coredns ]] || cat "$1") | sha256sum | cut -c1-12)
  dir=$cache/node/images
  IMAGE_TAR=$dir/$name-$key.tar
  if [[ ! -s $IMAGE_TAR || ! -s $IMAGE_TAR.ref ]]; then
    mkdir -p "$dir"
    K8S_MODULE_DIR=$(k8s_module_dir) COREDNS_VERSION=$COREDNS_VERSION POSTGRES_IMAGE=$POSTGRES_IMAGE \
      "$here/images.sh" "$name" "$IMAGE_TAR.tmp" "$@" >"$dir/$name.log" 2>&1 ||
      { tail -n 20 "$dir/$name.log" >&2; die "building the $name image failed"; }
    tail -n 1 "$dir/$name.log" >"$IMAGE_TAR.ref"
    mv "$IMAGE_TAR.tmp" "$IMAGE_TAR"
  fi
  IMAGE_REF=$(cat "$IMAGE_TAR.ref")
}

# ---------------------------------------------------------------------------------------------
# Processes: started by us, tracked by PID, recognised by their command line naming $nstate.

pid_of() { [[ -f $nstate/pids/$1.pid ]] && cat "$nstate/pids/$1.pid"; }
is_ours() {
  [[ -n $1 && -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$nstate/"
}
alive() { local pid; pid=$(pid_of "$1") && is_ours "$pid"; }

start() { # name command...  (inside the node's network namespace)
  local name=$1; shift
  setsid nsenter --net="/run/netns/$NETNS" -- "$@" >"$nstate/logs/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$nstate/pids/$name.pid"
}

stop_pid() { # pid: TERM, wait up to 10 s, KILL
  local pid=$1 deadline=$((SECONDS + 10))
  is_ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while is_ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if is_ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
}

fail() { # component message
  local name=$1; shift
  echo "node: error: $name: $*" >&2
  if [[ -s $nstate/logs/$name.log ]]; then
    echo "---- last 25 lines of $nstate/logs/$name.log ----" >&2
    tail -n 25 "$nstate/logs/$name.log" >&2
  fi
  echo "node: state and logs kept in $state; 'scripts/node.sh down' removes them" >&2
  exit 1
}

wait_for() { # name what command...
  local name=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [[ $name == - ]] || alive "$name" || fail "$name" "exited while waiting for $what"
    ((SECONDS < deadline)) || fail "$name" "$what not reached within ${timeout}s"
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------
# Network: the namespace, the veth pair, the safety routes.

# Every range we use must be new to this machine: no route in any table may overlap it.
check_ranges() {
  python3 - "$LINK_CIDR" "$POD_CIDR" "$SERVICE_CIDR" <<'PY' || exit 1
import ipaddress, json, subprocess, sys
ours = [ipaddress.ip_network(c) for c in sys.argv[1:]]
routes = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "table", "all"],
                                   capture_output=True, text=True, check=True).stdout)
bad = []
for r in routes:
    if r.get("type") in ("local", "broadcast", "multicast") or r["dst"] == "default":
        continue
    net = ipaddress.ip_network(r["dst"] if "/" in r["dst"] else r["dst"] + "/32", strict=False)
    for o in ours:
        if net.overlaps(o):
            bad.append(f"{o} overlaps the route '{r['dst']} {r.get('type', '')} dev {r.get('dev', '-')} table {r.get('table', 'main')}'")
if bad:
    print("node: error: the node's address ranges are not free on this machine:", file=sys.stderr)
    for b in bad:
        print("  " + b, file=sys.stderr)
    print("  (another real node running? 'scripts/node.sh down' with its BERTH_CLUSTER_DIR)", file=sys.stderr)
    sys.exit(1)
PY
}

net_up() {
  ip netns add "$NETNS"
  echo "$NETNS" >"$nstate/netns"
  ip link add "$HOST_VETH" type veth peer name "$NODE_VETH" netns "$NETNS"
  ip addr add "$HOST_IP/30" dev "$HOST_VETH"
  ip link set "$HOST_VETH" up
  in_ns ip link set lo up
  in_ns ip addr add "$NODE_IP/30" dev "$NODE_VETH"
  in_ns ip link set "$NODE_VETH" up
  # Safety net: the pod and service ranges end here, on the host and in the namespace.
  ip route add blackhole "$POD_CIDR"
  ip route add blackhole "$SERVICE_CIDR"
  printf '%s\n' "$POD_CIDR" "$SERVICE_CIDR" >"$nstate/host-routes"
  in_ns ip route add blackhole "$POD_CIDR"
  in_ns ip route add blackhole "$SERVICE_CIDR"
  # Per-namespace settings the kubelet, kube-proxy and the bridge need (not the host's).
  in_ns sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
    net.ipv4.conf.all.route_localnet=1 >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Node configuration.

# Kubeconfigs for the kubelet and kube-proxy (their certificates come from cluster.sh's
# real-node PKI) and for the host (the admin, through the veth).
node_kubeconfigs() {
  local d=$state/pki who
  for who in kubelet kube-proxy; do
    sed -e "s#client-certificate-data: .*#client-certificate-data: $(base64 -w0 <"$d/$who.crt")#" \
      -e "s#client-key-data: .*#client-key-data: $(base64 -w0 <"$d/$who.key")#" \
      "$state/admin.kubeconfig" >"$nstate/$who.kubeconfig"
    chmod 600 "$nstate/$who.kubeconfig"
  done
  # The host's kubeconfig: the same admin identity, through the veth.
  sed "s#server: https://127.0.0.1:[0-9]*#server: https://$NODE_IP:$API_PORT#" \
    "$state/admin.kubeconfig" >"$nstate/admin.kubeconfig"
  chmod 600 "$nstate/admin.kubeconfig"
}

write_configs() {
  mkdir -p "$nstate"/{cni/net.d,cni/ipam,containerd,kubelet,pod-logs,volumes}
  SOCK=$nstate/containerd/containerd.sock
  cat >"$nstate/containerd.toml" <<EOF
version = 2
root = "$nstate/containerd/root"
state = "$nstate/containerd/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$nstate/containerd/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_unprivileged_ports = false
  # Root here lacks CAP_SYS_RESOURCE (CapEff 0x1fffeffffff), so no oom_score_adj below our own
  # (0) can be set: runc failed every sandbox (-998) with "failed to update
  # /proc/self/oom_score_adj: Permission denied". Clamp instead, as rootless setups do.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$nstate/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$nstate/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
EOF
  # No ipMasq: pod traffic is never NATed; the namespace has no route off the node anyway.
  cat >"$nstate/cni/net.d/10-berth.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "berth",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$nstate/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  : >"$nstate/resolv.conf" # pods with dnsPolicy Default get no upstream resolver at all
  cat >"$nstate/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
failSwapOn: false
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: $nstate/resolv.conf
podLogsDir: $nstate/pod-logs
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $state/pki/ca.crt}
authorization: {mode: Webhook}
# A test node on a disk shared with other work: no disk-pressure eviction at all (only the
# memory signal is set, so the others have no threshold) and image GC only at 100 %. With
# disk thresholds, other builds filling the disk evicted the database and garbage-collected
# the side-loaded pause image (not pinned by containerd 1.6), so no pod could start again.
evictionHard: {memory.available: 100Mi}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
rotateCertificates: false
oomScoreAdj: 0 # see restrict_oom_score_adj in containerd.toml
EOF
  cat >"$nstate/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $nstate/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
# Leave the kernel's conntrack limits alone (they are not per namespace).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
oomScoreAdj: 0
EOF
}

ctr_() { ctr -a "$SOCK" -n k8s.io "$@"; }

# The kubelet sets six machine-wide kernel tunables it wants (vm.overcommit_memory=1,
# kernel.panic=10, kernel.panic_on_oops=1, ...); with protectKernelDefaults it refuses to start
# instead. So they are saved before it starts and put back by `down`.
TUNABLES=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes)
save_tunables() {
  local t
  for t in "${TUNABLES[@]}"; do echo "$t $(cat "/proc/sys/$t")"; done >"$nstate/tunables.saved"
}
restore_tunables() {
  local t v
  [[ -f $nstate/tunables.saved ]] || return 0
  while read -r t v; do
    [[ $(cat "/proc/sys/$t") == "$v" ]] || echo "$v" >"/proc/sys/$t"
  done <"$nstate/tunables.saved"
}

import_images() {
  local tar
  for tar in "$@"; do
    ctr_ images import "$tar" >>"$nstate/logs/images.log" 2>&1 ||
      fail images "importing $tar into the node's containerd failed"
  done
}

kc() { "$KUBECTL" --kubeconfig "$nstate/admin.kubeconfig" "$@"; }

node_ready() {
  [[ $(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
coredns_ready() {
  [[ $(kc -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}') == 1 ]]
}
# What a pod's resolver (nameserver $DNS_IP, from the kubelet) answers for a cluster name, then
# for an outside one: a one-shot pod running busybox's nslookup from the PostgreSQL image.
# (The node's own namespace cannot reach Service IPs: its blackhole route for the service
# range is consulted before kube-proxy's DNAT for locally sent packets; pods' packets are
# DNATed on the way in, before routing.)
dns_check() {
  kc -n kube-system delete pod berth-dns-check --ignore-not-found --wait=true >/dev/null 2>&1
  kc -n kube-system run berth-dns-check --restart=Never --image="$POSTGRES_IMAGE" --image-pull-policy=Never \
    --command -- sh -c 'busybox nslookup kubernetes.default.svc.cluster.local; echo ---; busybox nslookup example.com; true' \
    >/dev/null || return 1
  local i
  for i in $(seq 1 60); do
    [[ $(kc -n kube-system get pod berth-dns-check -o jsonpath='{.status.phase}') == Succeeded ]] && break
    sleep 1
  done
  kc -n kube-system logs berth-dns-check
  kc -n kube-system delete pod berth-dns-check --wait=false >/dev/null 2>&1
}
dns_answers() { dns_check >"$nstate/logs/dns-check.log" 2>&1 && sed '/^---$/q' "$nstate/logs/dns-check.log" | grep -q "10.96.0.1$"; }

# What `up` promises, checked on the running node (each failure named).
verify() {
  local problems=()
  in_ns ip route show default | grep -q . && problems+=("the node's namespace has a default route")
  in_ns iptables-save -t nat | grep -E -- '-o (eth|en)[^ ]*' >/dev/null &&
    problems+=("a NAT rule in the node's namespace names an outside interface")
  # From a pod: a cluster name resolves through the Service IP; a name outside does not
  # (CoreDNS forwards nothing).
  dns_answers || problems+=("a pod cannot resolve kubernetes.default.svc.cluster.local ($nstate/logs/dns-check.log)")
  sed '1,/^---$/d' "$nstate/logs/dns-check.log" | grep -qiE 'NXDOMAIN|can.t find' ||
    problems+=("CoreDNS answered example.com instead of NXDOMAIN ($nstate/logs/dns-check.log)")
  ip route show "$POD_CIDR" | grep -q '^blackhole' || problems+=("the host has no blackhole route for $POD_CIDR")
  if ((${#problems[@]})); then
    printf 'node: check failed: %s\n' "${problems[@]}" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Commands.

cmd_up() {
  [[ $(id -u) == 0 ]] || die "a real node needs root (network namespaces, mounts, cgroups)"
  if [[ -f $nstate/node.env ]] && all_alive && node_ready 2>/dev/null; then
    log "already running"
    echo "$nstate/admin.kubeconfig"
    return 0
  fi
  if [[ -d $state || -d $nstate ]]; then
    log "found state in $state; cleaning it up first"
    cmd_down >/dev/null 2>&1 || true
  fi
  local t0=$SECONDS
  ensure_packages
  for b in ip nsenter iptables conntrack containerd ctr runc gcc; do
    command -v "$b" >/dev/null || die "$b is missing after installing the packages"
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback && -x /usr/lib/cni/portmap ]] ||
    die "CNI plugins missing in /usr/lib/cni (containernetworking-plugins)"
  ip netns list | grep -qw "$NETNS" && die "network namespace $NETNS exists but is not ours ($state); remove it or run 'scripts/node.sh down' with its BERTH_CLUSTER_DIR"
  check_ranges
  # Everything that needs the package registries happens here, outside the namespace.
  "$repo/scripts/tools.sh" >/dev/null || die "scripts/tools.sh failed (kubectl is needed)"
  "$repo/scripts/cluster.sh" build >/dev/null || die "building the Kubernetes binaries failed (above)"
  ensure_coredns
  POSTGRES_IMAGE=$(python3 -c 'import re,sys; t=open(sys.argv[1]).read(); i=t.index("internal:"); r=re.search(r"repository: (\S+)\s+tag: \"?([^\"\s]+)", t[i:]); print(r.group(1)+":"+r.group(2))' "$repo/values/values.yaml")
  image pause; local pause_tar=$IMAGE_TAR; PAUSE_IMAGE=$IMAGE_REF
  image coredns "$COREDNS_BIN"; local coredns_tar=$IMAGE_TAR; COREDNS_IMAGE=$IMAGE_REF
  image postgres; local postgres_tar=$IMAGE_TAR
  log "images ready after $((SECONDS - t0))s: $PAUSE_IMAGE, $COREDNS_IMAGE, $POSTGRES_IMAGE"

  mkdir -p "$nstate"/{logs,pids}
  net_up
  log "namespace $NETNS: node $NODE_IP, host $HOST_IP, pods $NODE_POD_CIDR, services $SERVICE_CIDR"

  # The control plane, inside the namespace (its binaries: kubelet and kube-proxy are in it too).
  BERTH_CLUSTER_NODE_IP=$NODE_IP BERTH_CLUSTER_NODE_NAME=$NODE_NAME BERTH_CLUSTER_API_PORT=$API_PORT \
    BERTH_CLUSTER_TIMEOUT=$timeout in_ns "$repo/scripts/cluster.sh" up >/dev/null ||
    { log "the control plane did not start (above)"; exit 1; }
  # shellcheck disable=SC1091
  . "$state/cluster.env"
  local k8s=$BIN_DIR/berth-k8s
  "$k8s" kubelet --version >/dev/null 2>&1 || die "$k8s has no kubelet (stale binary cache?)"
  node_kubeconfigs
  write_configs
  cat >"$nstate/node.env" <<EOF
KUBECONFIG=$nstate/admin.kubeconfig
NODE_IP=$NODE_IP
NODE_NAME=$NODE_NAME
NETNS=$NETNS
CONTAINERD_SOCKET=$SOCK
APP_URL=http://$NODE_IP:30080
KUBECTL=$KUBECTL
EOF
  log "control plane ready after $((SECONDS - t0))s"

  start containerd containerd --config "$nstate/containerd.toml"
  wait_for containerd "its socket" ctr -a "$SOCK" version
  import_images "$pause_tar" "$coredns_tar" "$postgres_tar"

  save_tunables
  start kubelet "$k8s" kubelet --config="$nstate/kubelet.yaml" --kubeconfig="$nstate/kubelet.kubeconfig" \
    --root-dir="$nstate/kubelet" --cert-dir="$nstate/kubelet/pki" --hostname-override="$NODE_NAME" \
    --node-ip="$NODE_IP" --node-labels=berth.local/real-node=true
  start kube-proxy "$k8s" kube-proxy --config="$nstate/kube-proxy.yaml"
  wait_for kubelet "node $NODE_NAME Ready" node_ready
  log "node $NODE_NAME Ready after $((SECONDS - t0))s"

  start provisioner python3 "$here/provisioner.py" "$KUBECTL" "$nstate/admin.kubeconfig" "$NODE_NAME" "$nstate/volumes"
  sed "s#@COREDNS_IMAGE@#$COREDNS_IMAGE#" "$here/cluster-addons.yaml" |
    kc apply --server-side --field-manager=berth-node -f - >"$nstate/logs/addons.log" 2>&1 ||
    fail addons "applying CoreDNS and the StorageClass failed"
  wait_for kube-proxy "CoreDNS ready" coredns_ready
  verify
  log "real node up in $((SECONDS - t0))s; app URL (after a deploy) http://$NODE_IP:30080"
  echo "$nstate/admin.kubeconfig"
}

all_alive() {
  local n
  for n in "${NODE_COMPONENTS[@]}"; do alive "$n" || return 1; done
  # shellcheck disable=SC1091
  . "$nstate/node.env"
  in_ns "$repo/scripts/cluster.sh" status >/dev/null 2>&1
}

# The netns files of the pod sandboxes our containerd created (from their OCI specs).
sandbox_netns() {
  local id
  for id in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ containers info "$id" 2>/dev/null |
      python3 -c 'import json,sys; s=json.load(sys.stdin).get("Spec") or {}
for n in (s.get("linux") or {}).get("namespaces") or []:
    if n.get("type") == "network" and n.get("path"): print(n["path"])' || true
  done | sort -u
}

cmd_down() {
  local left=() i name pid
  SOCK=$nstate/containerd/containerd.sock
  if [[ -d $nstate ]]; then
    # Stop the kubelet first (it would restart pods), then every container, then containerd.
    for ((i = ${#NODE_COMPONENTS[@]} - 1; i >= 1; i--)); do
      pid=$(pid_of "${NODE_COMPONENTS[i]}") && stop_pid "$pid"
    done
    local netns_files=()
    if alive containerd; then
      mapfile -t netns_files < <(sandbox_netns)
      for name in $(ctr_ tasks ls -q 2>/dev/null); do
        ctr_ tasks kill -s SIGKILL "$name" >/dev/null 2>&1 || true
      done
      sleep 0.5
      for name in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$name" >/dev/null 2>&1 || true; done
      pid=$(pid_of containerd) && stop_pid "$pid"
    fi
    # containerd's shims outlive it; they name our socket on their command line.
    for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK" || true); do stop_pid "$pid"; done
    for name in "${netns_files[@]}"; do
      [[ $name == /var/run/netns/cni-* || $name == /run/netns/cni-* ]] || continue
      umount "$name" 2>/dev/null || true
      rm -f "$name"
    done
    # Every mount under the state (kubelet volumes, snapshots, sandbox /dev/shm), deepest first.
    awk -v d="$nstate/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
      while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    # The kubelet's cgroups (kubepods under each controller), once their tasks are gone.
    find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} \; 2>/dev/null || true
  fi
  restore_tunables
  if [[ -f $state/cluster.env ]]; then
    "$repo/scripts/cluster.sh" down >/dev/null 2>&1 || left+=("control plane (scripts/cluster.sh down failed)")
  fi
  if ip netns list 2>/dev/null | grep -qw "$NETNS"; then
    if [[ -f $nstate/netns ]]; then ip netns delete "$NETNS" 2>/dev/null || true; fi
  fi
  if [[ -f $nstate/host-routes ]] || ip route show type blackhole | grep -qE "^blackhole ($POD_CIDR|$SERVICE_CIDR)"; then
    ip route del blackhole "$POD_CIDR" 2>/dev/null || true
    ip route del blackhole "$SERVICE_CIDR" 2>/dev/null || true
  fi
  rm -rf "$nstate" "$state"
  # Check that nothing is left.
  ip netns list 2>/dev/null | grep -qw "$NETNS" && left+=("network namespace $NETNS")
  ip link show "$HOST_VETH" >/dev/null 2>&1 && left+=("interface $HOST_VETH")
  ip route show type blackhole | grep -qE "^blackhole ($POD_CIDR|$SERVICE_CIDR)" && left+=("blackhole routes")
  grep -qF " $nstate/" /proc/mounts && left+=("mounts under $nstate")
  [[ -d /sys/fs/cgroup/memory/kubepods ]] && left+=("cgroup /sys/fs/cgroup/memory/kubepods")
  if ((${#left[@]})); then
    log "down left behind: ${left[*]}"
    return 1
  fi
  log "down: namespace, interfaces, routes, mounts, cgroups, $state and $nstate removed"
}

cmd_status() {
  if [[ ! -f $nstate/node.env ]]; then echo "no real node (no $nstate/node.env)"; return 3; fi
  # shellcheck disable=SC1091
  . "$nstate/node.env"
  local ok=0 n
  echo "namespace:  $NETNS (node $NODE_IP, host $HOST_IP)"
  echo "kubeconfig: $KUBECONFIG"
  for n in "${NODE_COMPONENTS[@]}"; do
    if alive "$n"; then printf '  %-12s running  pid %s\n' "$n" "$(pid_of "$n")"
    else printf '  %-12s STOPPED\n' "$n"; ok=1; fi
  done
  in_ns "$repo/scripts/cluster.sh" status | sed 's/^/  /' || ok=1
  kc get nodes -o wide 2>&1 | sed 's/^/  /' || ok=1
  return $ok
}

cmd_env() {
  [[ -f $nstate/node.env ]] || { echo "no real node (no $nstate/node.env)" >&2; return 3; }
  cat "$nstate/node.env"
}

lock() {
  mkdir -p "$cache/cluster/locks"
  exec 9>"$cache/cluster/locks/node.lock"
  flock -n 9 || { log "waiting for another node.sh up/down"; flock 9; }
}

case ${1:-} in
  up) lock; cmd_up ;;
  down) lock; cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
