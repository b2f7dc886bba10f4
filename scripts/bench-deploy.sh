#!/usr/bin/env bash
# Benchmark (not a test): berth deploy against `kubectl apply --server-side` of
# the same objects (`berth render --include-secrets`) and against
# `helm upgrade --install --wait` of the exported chart, all until ready, on the
# test cluster KUBECONFIG points at (default: start one with scripts/cluster.sh).
# Rows: first install, no-op redeploy, one-value upgrade, and a scaled stack
# (BENCH_RELEASES namespaces of the app at once, ~24 objects each).
# Prints medians of BENCH_RUNS runs and the ratios berth/kubectl and berth/helm.
# Usage: [KUBECONFIG=...] [BENCH_RUNS=3] [BENCH_RELEASES=12] [BERTH_PROFILE=release|dev] [BERTH_BIN=path] scripts/bench-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
releases=${BENCH_RELEASES:-14}
if [[ -z "${KUBECONFIG:-}" ]]; then
  KUBECONFIG=$(scripts/cluster.sh up | tail -1)
fi
export KUBECONFIG
tools=$(scripts/tools.sh | tail -1)
kubectl=${KUBECTL:-$tools/kubectl}
helm=${BERTH_HELM:-$tools/helm}
# BERTH_PROFILE=dev benchmarks the debug build (dependencies at opt-level 1).
# BERTH_BIN=path benchmarks that binary as it is.
profile=${BERTH_PROFILE:-release}
if [[ -n "${BERTH_BIN:-}" ]]; then
  berth=$BERTH_BIN
else
  cargo build --quiet --profile "$profile" --bin berth
  berth=target/$([[ $profile == dev ]] && echo debug || echo "$profile")/berth
fi
# Fixed secrets: otherwise every render generates new ones and kubectl's
# redeploy would never be a no-op.
export AUTH_SECRET=bench-auth-secret POSTGRES_PASSWORD=bench-password
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Small CPU requests so the scaled row fits on the test cluster's 8 CPUs.
cat >"$work/small.yaml" <<'YAML'
components:
  frontend: {resources: {requests: {cpu: 10m}}}
  backend: {resources: {requests: {cpu: 10m}}}
  mcp: {resources: {requests: {cpu: 10m}}}
database: {internal: {resources: {requests: {cpu: 10m}}}}
YAML

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

# kubectl's way to "ready": apply, then rollout status of every workload.
kubectl_apply() { # ns file
  "$kubectl" apply --server-side --field-manager=kubectl-bench -f "$2" >/dev/null
  for w in $("$kubectl" get deploy,statefulset -n "$1" -o name); do
    "$kubectl" rollout status -n "$1" "$w" --timeout=2m >/dev/null
  done
}
# Each namespace gets its own NodePort (one port serves one Service per cluster).
declare -A ports
next_port=$((31000 + RANDOM % 1000))
port_of() {
  if [[ -z "${ports[$1]:-}" ]]; then ports[$1]=$next_port; next_port=$((next_port + 1)); fi
  echo "${ports[$1]}"
}
render() { # ns file [--set ...]
  local ns=$1 file=$2; shift 2
  port_of "$ns" >/dev/null
  "$berth" render --include-secrets -f "$work/small.yaml" -n "$ns" --set "expose.nodePort=${ports[$ns]}" "$@" >"$file"
}
berth_deploy() { # ns [--set ...]
  local ns=$1; shift
  "$berth" deploy --yes -f "$work/small.yaml" -n "$ns" --set "expose.nodePort=${ports[$ns]}" "$@" >/dev/null 2>&1
}
cleanup() { "$kubectl" delete namespace "$@" --timeout=2m >/dev/null 2>&1 || true; }
"$berth" chart export --out "$work/chart" >/dev/null 2>&1
chart=$work/chart/todo-chatbot
helm_deploy() { # ns [--set ...]
  local ns=$1; shift
  "$helm" upgrade --install todo-chatbot "$chart" -n "$ns" --create-namespace --wait --timeout 2m \
    -f "$work/small.yaml" --set "expose.nodePort=${ports[$ns]}" \
    --set-string "secrets.authSecret.value=$AUTH_SECRET" --set-string "secrets.postgresPassword.value=$POSTGRES_PASSWORD" "$@" >/dev/null
}

declare -A samples
record() { samples[$1]+="$2 "; }
# scaled_in_parallel TOOL DEPLOY_FN PREFIX: BENCH_RELEASES namespaces PREFIX-<i>-<pid>
# deployed at once by parallel DEPLOY_FN processes, timed as row "scaled TOOL", then removed.
scaled_in_parallel() {
  local tool=$1 deploy_fn=$2 prefix=$3 t i ns p names=() pids=()
  for i in $(seq "$releases"); do names+=("$prefix-$i-$$"); port_of "$prefix-$i-$$" >/dev/null; done
  t=$(now)
  for ns in "${names[@]}"; do "$deploy_fn" "$ns" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  record "scaled $tool" "$(elapsed "$t")"
  cleanup "${names[@]}"
}

for run in $(seq "$runs"); do
  b="bench-b-$run-$$" k="bench-k-$run-$$" h="bench-h-$run-$$"
  port_of "$b" >/dev/null; port_of "$k" >/dev/null; port_of "$h" >/dev/null
  t=$(now); helm_deploy "$h"; record "install helm" "$(elapsed "$t")"
  t=$(now); helm_deploy "$h"; record "noop helm" "$(elapsed "$t")"
  t=$(now); berth_deploy "$b"; record "install berth" "$(elapsed "$t")"
  render "$k" "$work/k.yaml"
  t=$(now); kubectl_apply "$k" "$work/k.yaml"; record "install kubectl" "$(elapsed "$t")"

  t=$(now); berth_deploy "$b"; record "noop berth" "$(elapsed "$t")"
  t=$(now); kubectl_apply "$k" "$work/k.yaml"; record "noop kubectl" "$(elapsed "$t")"

  tag="0.1.$((run + 1))"
  t=$(now); berth_deploy "$b" --set "components.backend.image.tag=$tag"; record "upgrade berth" "$(elapsed "$t")"
  render "$k" "$work/k2.yaml" --set "components.backend.image.tag=$tag"
  t=$(now); kubectl_apply "$k" "$work/k2.yaml"; record "upgrade kubectl" "$(elapsed "$t")"
  t=$(now); helm_deploy "$h" --set "components.backend.image.tag=$tag"; record "upgrade helm" "$(elapsed "$t")"
  cleanup "$b" "$k" "$h"

  # Scaled: many releases at once; berth and helm deploy them in parallel
  # processes, kubectl applies one file holding all of them.
  : >"$work/all.yaml"
  nss=()
  for i in $(seq "$releases"); do
    render "bench-sk-$run-$i-$$" "$work/one.yaml"
    cat "$work/one.yaml" >>"$work/all.yaml"; echo "---" >>"$work/all.yaml"
    nss+=("bench-sk-$run-$i-$$")
  done
  scaled_in_parallel berth berth_deploy "bench-sb-$run"
  t=$(now)
  "$kubectl" apply --server-side --field-manager=kubectl-bench -f "$work/all.yaml" >/dev/null
  for ns in "${nss[@]}"; do
    for w in $("$kubectl" get deploy,statefulset -n "$ns" -o name); do
      "$kubectl" rollout status -n "$ns" "$w" --timeout=2m >/dev/null
    done
  done
  record "scaled kubectl" "$(elapsed "$t")"
  cleanup "${nss[@]}"
  scaled_in_parallel helm helm_deploy "bench-sh-$run"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
objects=$(grep -c '^kind:' "$work/k.yaml")
printf '%-34s %8s %8s %8s %13s %10s\n' "row (median of $runs, seconds)" berth kubectl helm berth/kubectl berth/helm
for row in install noop upgrade scaled; do
  bm=$(echo "${samples[$row berth]}" | median)
  km=$(echo "${samples[$row kubectl]}" | median)
  label=$row
  [[ $row == scaled ]] && label="scaled ($releases releases, $((objects * releases)) objects)"
  if [[ -n "${samples[$row helm]:-}" ]]; then
    hm=$(echo "${samples[$row helm]}" | median)
    printf '%-34s %8.2f %8.2f %8.2f %13.2f %10.2f\n' "$label" "$bm" "$km" "$hm" "$(echo "$bm / $km" | bc -l)" "$(echo "$bm / $hm" | bc -l)"
  else
    printf '%-34s %8.2f %8.2f %8s %13.2f %10s\n' "$label" "$bm" "$km" - "$(echo "$bm / $km" | bc -l)" -
  fi
done
