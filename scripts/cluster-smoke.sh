#!/usr/bin/env bash
# Smoke test: prove the cluster behind $KUBECONFIG is a real, working control plane.
#
#   KUBECONFIG=$(scripts/cluster.sh up | tail -1) scripts/cluster-smoke.sh
#
# Every check talks to the real API server with the pinned kubectl (scripts/tools.sh, or
# $KUBECTL). Runs in its own namespace, which is deleted at the end. Prints one line per
# check and "N passed, M failed"; exits non-zero if any check failed.
set -uo pipefail
# shellcheck disable=SC2317 # check functions are called indirectly through check/poll

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -n ${KUBECONFIG:-} ]] || { echo "smoke: error: KUBECONFIG is not set" >&2; exit 2; }
[[ -r ${KUBECONFIG%%:*} ]] || { echo "smoke: error: KUBECONFIG $KUBECONFIG is not readable" >&2; exit 2; }
if [[ -z ${KUBECTL:-} ]]; then
  tools=$("$repo/scripts/tools.sh" | tail -n 1) || { echo "smoke: error: scripts/tools.sh failed" >&2; exit 2; }
  KUBECTL=$tools/kubectl
fi
export KUBECONFIG
ns=berth-smoke-$$-$RANDOM
passed=0 failed=0 t0=$SECONDS
failures=()

k() { "$KUBECTL" --request-timeout=20s "$@"; }
kn() { k -n "$ns" "$@"; }

cleanup() { k delete namespace "$ns" --wait=false --ignore-not-found >/dev/null 2>&1 || true; }
trap cleanup EXIT

check() { # description function
  local desc=$1 out start=$SECONDS; shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    printf 'ok    %-62s (%ds)\n' "$desc" $((SECONDS - start))
  else
    failed=$((failed + 1))
    failures+=("$desc")
    printf 'FAIL  %-62s (%ds)\n' "$desc" $((SECONDS - start))
    [[ -n $out ]] && sed 's/^/      | /' <<<"$out" | tail -n 15
  fi
}

# poll SECONDS COMMAND...: retry until COMMAND succeeds; print its last output on timeout.
poll() {
  local deadline=$((SECONDS + $1)) out; shift
  while :; do
    out=$("$@" 2>&1) && return 0
    if ((SECONDS >= deadline)); then
      echo "timed out; last: $out"
      return 1
    fi
    sleep 0.5
  done
}
jp() { # resource jsonpath expected
  local got
  got=$(kn get "$1" -o "jsonpath=$2") || return 1
  [[ $got == "$3" ]] || { echo "$1 $2 = '$got', want '$3'"; return 1; }
}

deployment() { # name replicas image
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
  namespace: $ns
spec:
  replicas: $2
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
      containers:
      - name: main
        image: $3
        resources:
          requests: {cpu: 100m, memory: 64Mi}
EOF
}

pod() { # name image
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: $ns
spec:
  containers:
  - name: main
    image: $2
EOF
}

# ---------------------------------------------------------------------------------------------

t_api() {
  [[ $(k get --raw /readyz) == ok ]] || { echo "/readyz is not ok"; return 1; }
  k version -o json | grep -q '"gitVersion": "v1\.' || { k version; return 1; }
}

t_nodes() {
  local got
  got=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.allocatable.cpu} {.status.allocatable.memory} {.status.allocatable.pods}{"\n"}{end}')
  echo "$got"
  [[ $(grep -c ' True 4 8Gi 110$' <<<"$got") -ge 2 ]]
}

t_namespace() {
  k create namespace "$ns" >/dev/null || return 1
  poll 60 kn get serviceaccount default
}

t_deploy3() {
  deployment web 3 registry.example/berth-smoke:1.0 | k apply --server-side --field-manager=berth-smoke -f - || return 1
  poll 90 jp deployment/web '{.status.availableReplicas}' 3
}

t_scale5() {
  kn scale deployment/web --replicas=5 || return 1
  poll 90 jp deployment/web '{.status.availableReplicas}' 5 || return 1
  local running
  running=$(kn get pods -l app=web --field-selector=status.phase=Running -o name | wc -l)
  [[ $running == 5 ]] || { echo "$running pods Running, want 5"; return 1; }
}

t_invalid() {
  local out
  if out=$(deployment bad -1 registry.example/berth-smoke:1.0 |
      k apply --server-side --dry-run=server --field-manager=berth-smoke -f - 2>&1); then
    echo "server accepted replicas=-1: $out"
    return 1
  fi
  echo "$out"
  grep -q 'is invalid' <<<"$out" && grep -q 'spec.replicas' <<<"$out" || return 1
  ! kn get deployment bad >/dev/null 2>&1 || { echo "dry-run created the object"; return 1; }
}

t_pvc() {
  cat <<EOF | k apply --server-side --field-manager=berth-smoke -f - || return 1
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: $ns
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 1Gi}
EOF
  poll 60 jp pvc/data '{.status.phase}' Bound || return 1
  jp pvc/data '{.spec.storageClassName}' standard || return 1
  local pv
  pv=$(kn get pvc data -o 'jsonpath={.spec.volumeName}')
  [[ $(k get pv "$pv" -o 'jsonpath={.status.phase}') == Bound ]] || { echo "pv $pv not Bound"; return 1; }
}

t_job() {
  k -n "$ns" create job once --image=registry.example/berth-smoke:1.0 >/dev/null || return 1
  poll 60 jp job/once '{.status.succeeded}' 1
}

t_imagepullbackoff() {
  pod pull registry.example/berth-smoke:1.0-imagepullbackoff | k apply -f - >/dev/null || return 1
  poll 30 jp pod/pull '{.status.containerStatuses[0].state.waiting.reason}' ImagePullBackOff || return 1
  jp pod/pull '{.status.phase}' Pending
}

t_crashloop() {
  pod crash registry.example/berth-smoke:1.0-crashloop | k apply -f - >/dev/null || return 1
  poll 30 jp pod/crash '{.status.containerStatuses[0].state.waiting.reason}' CrashLoopBackOff || return 1
  local r1 r2
  r1=$(kn get pod crash -o 'jsonpath={.status.containerStatuses[0].restartCount}')
  rising() {
    r2=$(kn get pod crash -o 'jsonpath={.status.containerStatuses[0].restartCount}')
    ((r2 > r1)) || { echo "restartCount still $r2"; return 1; }
  }
  poll 20 rising || return 1
  r2=$(kn get pod crash -o 'jsonpath={.status.containerStatuses[0].restartCount}')
  echo "restartCount $r1 -> $r2"
  jp pod/crash '{.status.containerStatuses[0].lastState.terminated.reason}' Error
}

t_oom() {
  pod oom registry.example/berth-smoke:1.0-oom | k apply -f - >/dev/null || return 1
  poll 30 jp pod/oom '{.status.containerStatuses[0].lastState.terminated.reason}' OOMKilled || return 1
  jp pod/oom '{.status.containerStatuses[0].state.waiting.reason}' CrashLoopBackOff || return 1
  jp pod/oom '{.status.containerStatuses[0].lastState.terminated.exitCode}' 137
}

t_notready() {
  pod notready registry.example/berth-smoke:1.0-notready | k apply -f - >/dev/null || return 1
  poll 30 jp pod/notready '{.status.phase}' Running || return 1
  sleep 3
  local started
  started=$(kn get pod notready -o 'jsonpath={.status.containerStatuses[0].state.running.startedAt}')
  [[ -n $started ]] || { echo "container not running"; return 1; }
  jp pod/notready '{.status.containerStatuses[0].ready}' false || return 1
  jp pod/notready '{.status.conditions[?(@.type=="Ready")].status}' False
}

t_sidecar() {
  # A crash-looping container next to a healthy one: both statuses stay, only one restarts.
  cat <<EOF | k apply -f - >/dev/null || return 1
apiVersion: v1
kind: Pod
metadata:
  name: sidecar
  namespace: $ns
spec:
  containers:
  - name: app
    image: registry.example/berth-smoke:1.0-crashloop
  - name: side
    image: registry.example/berth-smoke:1.0
EOF
  restarted_twice() {
    local n
    n=$(kn get pod sidecar -o 'jsonpath={.status.containerStatuses[?(@.name=="app")].restartCount}')
    ((${n:-0} >= 2)) || { echo "app restartCount '$n', want >= 2"; return 1; }
  }
  poll 30 restarted_twice || return 1
  jp pod/sidecar '{.status.containerStatuses[?(@.name=="side")].ready}' true || return 1
  jp pod/sidecar '{.status.containerStatuses[?(@.name=="side")].restartCount}' 0 || return 1
  jp pod/sidecar '{.status.conditions[?(@.type=="Ready")].status}' False
}

t_lookalike() {
  # "-oom" in the image *name* (not the tag) must not trigger a failure stage.
  pod lookalike registry.example/app-oom:1.0 | k apply -f - >/dev/null || return 1
  poll 30 jp pod/lookalike '{.status.conditions[?(@.type=="Ready")].status}' True
}

echo "smoke: kubectl $("$KUBECTL" version --client -o json | grep -m1 gitVersion | tr -d ' ",' | cut -d: -f2), namespace $ns"
check "API server /readyz ok and version v1.x" t_api
check "2 nodes Ready with 4 CPU / 8Gi / 110 pods" t_nodes
check "namespace gets its default ServiceAccount" t_namespace
if ((failed == 0)); then
  check "server-side apply Deployment replicas=3 -> 3 available" t_deploy3
  check "kubectl scale to 5 -> 5 available" t_scale5
  check "server-side dry-run of invalid object rejected" t_invalid
  check "PVC with default StorageClass binds" t_pvc
  check "Job runs to completion" t_job
  check "tag -imagepullbackoff -> waiting ImagePullBackOff" t_imagepullbackoff
  check "tag -crashloop -> CrashLoopBackOff, restartCount rising" t_crashloop
  check "tag -oom -> lastState OOMKilled, CrashLoopBackOff" t_oom
  check "tag -notready -> running, never Ready" t_notready
  check "crash-looping container beside a healthy one" t_sidecar
  check "image name containing -oom (not the tag) runs normally" t_lookalike
fi

echo "smoke: $passed passed, $failed failed in $((SECONDS - t0))s"
if ((failed > 0)); then
  printf 'smoke: failed: %s\n' "${failures[@]}" >&2
  exit 1
fi
