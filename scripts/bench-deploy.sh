#!/usr/bin/env bash
# Benchmark (not a test): berth deploy against `kubectl apply --server-side` of
# the same objects (`berth render --include-secrets`) and against
# `helm upgrade --install --wait` of the exported chart, all until ready, on the
# test cluster KUBECONFIG points at (default: start one with scripts/cluster.sh),
# and against the floors measured in the same run by scripts/bench/floor (a
# client-go program, not berth's client):
# - API floor: the same objects server-side applied with up to 128 requests in
#   flight (namespaces first), no wait; for the no-op row, one LIST per kind;
# - cluster floor: from that last write until every Deployment and StatefulSet
#   is rolled out and its simulated pods ready.
# Rows: first install, no-op redeploy, one-value upgrade, and a scaled stack
# (BENCH_RELEASES namespaces of the app at once, 21 objects each).
# berth runs in the release build and the dev build in the same run; its phases
# come from `berth deploy -v` (the `timings:` line). Peak RSS (/usr/bin/time -v)
# of berth, kubectl and helm on the scaled row and on a stack of BENCH_BIG
# components (0 skips it).
# Prints medians of BENCH_RUNS runs.
# Usage: [KUBECONFIG=...] [BENCH_RUNS=3] [BENCH_RELEASES=14] [BENCH_BIG=300] [BENCH_BIG_PEERS=0]
#        [BERTH_BIN=path BERTH_BIN_DEV=path] scripts/bench-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
releases=${BENCH_RELEASES:-14}
big=${BENCH_BIG:-300}
if [[ -z "${KUBECONFIG:-}" ]]; then
  KUBECONFIG=$(scripts/cluster.sh up | tail -1)
fi
export KUBECONFIG
tools=$(scripts/tools.sh | tail -1)
kubectl=${KUBECTL:-$tools/kubectl}
helm=${BERTH_HELM:-$tools/helm}
# The release build by default, the dev build (dependencies at opt-level 1)
# beside it; BERTH_BIN / BERTH_BIN_DEV benchmark given binaries as they are.
target=${CARGO_TARGET_DIR:-target}
if [[ -z "${BERTH_BIN:-}" ]]; then
  cargo build --quiet --release --bin berth
  BERTH_BIN=$target/release/berth
fi
if [[ -z "${BERTH_BIN_DEV:-}" ]]; then
  cargo build --quiet --bin berth
  BERTH_BIN_DEV=$target/debug/berth
fi
declare -A bins=([berth]=$BERTH_BIN [berth-dev]=$BERTH_BIN_DEV)
# The floor program, built once per source into the cache.
cache=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/tools
floor_src=scripts/bench/floor
floor=$cache/bench-floor-$(cat "$floor_src"/go.mod "$floor_src"/go.sum "$floor_src"/main.go | sha256sum | cut -c1-12)
if [[ ! -x $floor ]]; then
  mkdir -p "$cache"
  (cd "$floor_src" && go build -trimpath -o "$floor.tmp" .) && mv "$floor.tmp" "$floor"
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
# rss FILE: the peak RSS in MiB that `/usr/bin/time -v -o FILE` wrote.
rss() { awk -F: '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$1"; }

# kubectl's way to "ready": apply, then rollout status of every workload.
kubectl_apply() { # ns file
  /usr/bin/time -v -o "$work/rss-kubectl" "$kubectl" apply --server-side --field-manager=kubectl-bench -f "$2" >/dev/null
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
  "$BERTH_BIN" render --include-secrets -f "$work/small.yaml" -n "$ns" --set "expose.nodePort=${ports[$ns]}" "$@" >"$file"
}
# berth_with TOOL ns [--set ...]: one deploy by the TOOL build; its stderr
# (with the -v timings line) and peak RSS are kept under $work/TOOL-ns.*.
berth_with() {
  local tool=$1 ns=$2; shift 2
  /usr/bin/time -v -o "$work/$tool-$ns.rss" "${bins[$tool]}" deploy -v --yes -f "$work/small.yaml" -n "$ns" \
    --set "expose.nodePort=${ports[$ns]}" "$@" >/dev/null 2>"$work/$tool-$ns.err"
}
berth_deploy() { berth_with berth "$@"; }
berth_dev_deploy() { berth_with berth-dev "$@"; }
cleanup() { "$kubectl" delete namespace "$@" --timeout=2m >/dev/null 2>&1 || true; }
"$BERTH_BIN" chart export --out "$work/chart" >/dev/null 2>&1
chart=$work/chart/todo-chatbot
helm_deploy() { # ns [--set ...]
  local ns=$1; shift
  /usr/bin/time -v -o "$work/helm-$ns.rss" "$helm" upgrade --install todo-chatbot "$chart" -n "$ns" --create-namespace --wait --timeout 2m \
    -f "$work/small.yaml" --set "expose.nodePort=${ports[$ns]}" \
    --set-string "secrets.authSecret.value=$AUTH_SECRET" --set-string "secrets.postgresPassword.value=$POSTGRES_PASSWORD" "$@" >/dev/null
}

declare -A samples
record() { samples[$1]+="$2 "; }
# phases ROW TOOL FILE...: records each phase of the timings lines in FILEs
# (their mean when several releases ran at once) as "phase ROW TOOL NAME".
phases() {
  local row=$1 tool=$2; shift 2
  local line
  line=$(grep -h '^timings: ' "$@" 2>/dev/null | sed 's/^timings: //' |
    awk -F', ' '{for (i = 1; i <= NF; i++) {split($i, p, " "); sum[p[1]] += p[2]; n[p[1]]++}}
      END {for (k in sum) printf "%s=%.3f ", k, sum[k] / n[k]}') || true
  local pair
  for pair in $line; do record "phase $row $tool ${pair%%=*}" "${pair#*=}"; done
}
# floor_apply ROW FILE...: the API floor (write) and the cluster floor (ready).
floor_apply() {
  local row=$1; shift
  local out
  out=$("$floor" apply -wait "$@")
  record "$row api" "$(awk '/^write/ {print $2}' <<<"$out")"
  record "$row cluster" "$(awk '/^ready/ {print $2}' <<<"$out")"
}
max_rss() { # FILE...: the largest peak RSS among them, MiB
  local f m=0 r
  for f in "$@"; do r=$(rss "$f"); ((r > m)) && m=$r; done
  echo "$m"
}
# scaled_in_parallel TOOL DEPLOY_FN PREFIX: BENCH_RELEASES namespaces PREFIX-<i>-<pid>
# deployed at once by parallel DEPLOY_FN processes, timed as row "scaled TOOL", then removed.
scaled_in_parallel() {
  local tool=$1 deploy_fn=$2 prefix=$3 t i ns p names=() pids=()
  for i in $(seq "$releases"); do names+=("$prefix-$i-$$"); port_of "$prefix-$i-$$" >/dev/null; done
  t=$(now)
  for ns in "${names[@]}"; do "$deploy_fn" "$ns" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  record "scaled $tool" "$(elapsed "$t")"
  local errs=() peaks=()
  for ns in "${names[@]}"; do errs+=("$work/$tool-$ns.err"); peaks+=("$work/$tool-$ns.rss"); done
  [[ $tool == berth* ]] && phases scaled "$tool" "${errs[@]}"
  record "rss scaled $tool" "$(max_rss "${peaks[@]}")"
  cleanup "${names[@]}"
}
# timed_berth ROW TOOL ns [--set ...]
timed_berth() {
  local row=$1 tool=$2 ns=$3 t; shift 3
  t=$(now); berth_with "$tool" "$ns" "$@"; record "$row $tool" "$(elapsed "$t")"
  phases "$row" "$tool" "$work/$tool-$ns.err"
}

for run in $(seq "$runs"); do
  b="bench-b-$run-$$" d="bench-d-$run-$$" k="bench-k-$run-$$" h="bench-h-$run-$$" f="bench-f-$run-$$"
  for ns in "$b" "$d" "$k" "$h" "$f"; do port_of "$ns" >/dev/null; done
  t=$(now); helm_deploy "$h"; record "install helm" "$(elapsed "$t")"
  t=$(now); helm_deploy "$h"; record "noop helm" "$(elapsed "$t")"
  timed_berth install berth "$b"
  timed_berth install berth-dev "$d"
  render "$k" "$work/k.yaml"
  t=$(now); kubectl_apply "$k" "$work/k.yaml"; record "install kubectl" "$(elapsed "$t")"
  render "$f" "$work/f.yaml"
  floor_apply install "$work/f.yaml"

  timed_berth noop berth "$b"
  timed_berth noop berth-dev "$d"
  t=$(now); kubectl_apply "$k" "$work/k.yaml"; record "noop kubectl" "$(elapsed "$t")"
  record "noop api" "$("$floor" list "$work/f.yaml" | awk '/^read/ {print $2}')"
  record "noop cluster" 0

  tag="0.1.$((run + 1))"
  timed_berth upgrade berth "$b" --set-string "components.backend.image.tag=$tag"
  timed_berth upgrade berth-dev "$d" --set-string "components.backend.image.tag=$tag"
  render "$k" "$work/k2.yaml" --set-string "components.backend.image.tag=$tag"
  t=$(now); kubectl_apply "$k" "$work/k2.yaml"; record "upgrade kubectl" "$(elapsed "$t")"
  t=$(now); helm_deploy "$h" --set-string "components.backend.image.tag=$tag"; record "upgrade helm" "$(elapsed "$t")"
  render "$f" "$work/f2.yaml" --set-string "components.backend.image.tag=$tag"
  floor_apply upgrade "$work/f2.yaml"
  cleanup "$b" "$d" "$k" "$h" "$f"

  # Scaled: many releases at once; berth and helm deploy them in parallel
  # processes, kubectl applies one file holding all of them, the floor one
  # client with all their objects.
  : >"$work/all.yaml"
  nss=()
  for i in $(seq "$releases"); do
    render "bench-sk-$run-$i-$$" "$work/one.yaml"
    cat "$work/one.yaml" >>"$work/all.yaml"; echo "---" >>"$work/all.yaml"
    nss+=("bench-sk-$run-$i-$$")
  done
  scaled_in_parallel berth berth_deploy "bench-sb-$run"
  scaled_in_parallel berth-dev berth_dev_deploy "bench-sd-$run"
  t=$(now)
  /usr/bin/time -v -o "$work/rss-kubectl" "$kubectl" apply --server-side --field-manager=kubectl-bench -f "$work/all.yaml" >/dev/null
  for ns in "${nss[@]}"; do
    for w in $("$kubectl" get deploy,statefulset -n "$ns" -o name); do
      "$kubectl" rollout status -n "$ns" "$w" --timeout=2m >/dev/null
    done
  done
  record "scaled kubectl" "$(elapsed "$t")"
  record "rss scaled kubectl" "$(rss "$work/rss-kubectl")"
  cleanup "${nss[@]}"
  scaled_in_parallel helm helm_deploy "bench-sh-$run"
  sed "s/bench-sk-$run-/bench-sf-$run-/g" "$work/all.yaml" >"$work/floor-all.yaml"
  floor_apply scaled "$work/floor-all.yaml"
  cleanup $(grep -o "bench-sf-$run-[0-9]*-$$" "$work/floor-all.yaml" | sort -u)
done

median() { tr ' ' '\n' | { grep -v '^$' || true; } | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print ""; else print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m() { echo "${samples[$1]:-}" | median; }
ratio() { if [[ -n $1 && -n $2 ]]; then printf '%.2f' "$(echo "$1 / $2" | bc -l)"; else echo -; fi; }
num() { if [[ -n $1 ]]; then printf '%.2f' "$1"; else echo -; fi; }
objects=$(grep -c '^kind:' "$work/k.yaml" 2>/dev/null || echo 21)
label_of() {
  case $1 in
    scaled) echo "scaled ($releases releases, $((objects * releases)) objects)" ;;
    *) echo "$1" ;;
  esac
}
echo "## times (median of $runs, seconds); floor = API floor + cluster floor"
printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' row berth "berth dev" kubectl helm "API floor" "cluster floor" \
  berth/kubectl berth/helm berth/floor "dev/release"
echo '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
for row in install noop upgrade scaled; do
  bm=$(m "$row berth") dm=$(m "$row berth-dev") km=$(m "$row kubectl") hm=$(m "$row helm")
  am=$(m "$row api") cm=$(m "$row cluster")
  fl=$( [[ -n $am && -n $cm ]] && echo "$am + $cm" | bc -l || echo "")
  [[ $row == noop ]] && hm=$(m "noop helm")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label_of $row)" "$(num "$bm")" "$(num "$dm")" "$(num "$km")" \
    "$(num "$hm")" "$(num "$am")" "$(num "$cm")" "$(ratio "$bm" "$km")" "$(ratio "$bm" "$hm")" "$(ratio "$bm" "$fl")" "$(ratio "$dm" "$bm")"
done
echo
echo "## berth's phases (median of $runs, seconds; scaled: mean per release), release build / dev build"
all_phases="render lock compare apply prune wait record"
printf '| row |'; for p in $all_phases; do printf ' %s |' "$p"; done; echo
printf '|---|'; for p in $all_phases; do printf -- '---:|'; done; echo
for row in install noop upgrade scaled; do
  printf '| %s |' "$(label_of $row)"
  for p in $all_phases; do
    printf ' %s / %s |' "$(num "$(m "phase $row berth $p")")" "$(num "$(m "phase $row berth-dev $p")")"
  done
  echo
done

# Memory: the scaled row's peak RSS (largest process), and one stack of
# BENCH_BIG components (no replicas: the test cluster's 220 pod slots would
# not hold them) deployed once by each tool.
echo
echo "## peak RSS (MiB, /usr/bin/time -v; median of $runs for the scaled row: the largest process of each)"
printf '| %s | %s | %s | %s | %s |\n' what berth "berth dev" kubectl helm
echo '|---|---:|---:|---:|---:|'
printf '| %s | %s | %s | %s | %s |\n' "scaled row, one release per process (kubectl: one process, all)" \
  "$(m "rss scaled berth")" "$(m "rss scaled berth-dev")" "$(m "rss scaled kubectl")" "$(m "rss scaled helm")"
if ((big > 0)); then
  {
    echo "components:"
    for i in $(seq -w 1 "$big"); do
      printf '  svc%s: {replicas: 0, image: {repository: localhost/bench/svc, tag: "1"}, port: 8000, probes: {http: /health}, env: {N: "%s"}}\n' "$i" "$i"
    done
  } >"$work/big.yaml"
  declare -A big_rss big_time
  for tool in berth berth-dev; do
    ns=bench-big-${tool}-$$; port_of "$ns" >/dev/null
    t=$(now)
    /usr/bin/time -v -o "$work/big-$tool.rss" "${bins[$tool]}" deploy --yes -f "$work/small.yaml" -f "$work/big.yaml" -n "$ns" \
      --set "expose.nodePort=${ports[$ns]}" --timeout 5m >/dev/null 2>"$work/big-$tool.err" || { tail -3 "$work/big-$tool.err" >&2; }
    big_time[$tool]=$(elapsed "$t"); big_rss[$tool]=$(rss "$work/big-$tool.rss")
    cleanup "$ns"
  done
  ns=bench-big-k-$$
  render "$ns" "$work/big-k.yaml" -f "$work/big.yaml"
  big_objects=$(grep -c '^kind:' "$work/big-k.yaml")
  # BENCH_BIG_PEERS=0 leaves kubectl and helm out (berth builds compared alone).
  if [[ ${BENCH_BIG_PEERS:-1} != 0 ]]; then
    t=$(now); kubectl_apply "$ns" "$work/big-k.yaml"; big_time[kubectl]=$(elapsed "$t"); big_rss[kubectl]=$(rss "$work/rss-kubectl")
    cleanup "$ns"
    ns=bench-big-h-$$; port_of "$ns" >/dev/null
    t=$(now)
    # helm's --wait on this many objects can outlast its timeout: its peak RSS stands, its time does not.
    if helm_deploy "$ns" -f "$work/big.yaml" --timeout 3m 2>"$work/big-helm.err"; then
      big_time[helm]=$(elapsed "$t")
    else
      big_time[helm]=""; echo "helm on the $big-component stack: $(tail -1 "$work/big-helm.err" | cut -c1-160)" >&2
    fi
    big_rss[helm]=$(rss "$work/helm-$ns.rss")
    cleanup "$ns"
  fi
  printf '| %s | %s | %s | %s | %s |\n' "$big-component stack + the app ($big_objects objects), one deploy" \
    "${big_rss[berth]}" "${big_rss[berth-dev]}" "${big_rss[kubectl]:--}" "${big_rss[helm]:--}"
  printf '| %s | %s | %s | %s | %s |\n' "  its time to ready, s (-: not run, or did not finish)" \
    "$(num "${big_time[berth]}")" "$(num "${big_time[berth-dev]}")" "$(num "${big_time[kubectl]:-}")" "$(num "${big_time[helm]:-}")"
fi
