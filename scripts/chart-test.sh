#!/usr/bin/env bash
# Prove the exported Helm chart equivalent to berth's render with the pinned helm:
# equivalence (named cases, the examples, 200+ random stacks), helm lint --strict, packaging,
# drift. With --cluster, also helm install/upgrade/rollback against berth's render
# on the test cluster (started in $BERTH_CLUSTER_DIR, stopped again at the end).
#
#   scripts/chart-test.sh [--cluster]
#   BERTH_CHART_CASES=1000 BERTH_CHART_SEED=42 scripts/chart-test.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
tools=$(scripts/tools.sh | tail -n 1)
export BERTH_HELM=$tools/helm BERTH_KUBECTL=$tools/kubectl

cargo test --test chart_equivalence --test chart_random --test chart_lint --test chart_drift -- --nocapture

if [[ ${1:-} == --cluster ]]; then
  export BERTH_CLUSTER_DIR=${BERTH_CLUSTER_DIR:-/tmp/berth-cluster-chart}
  kc=$(scripts/cluster.sh up | tail -n 1)
  trap 'scripts/cluster.sh down' EXIT
  KUBECONFIG=$kc cargo test --features cluster-tests --test chart_cluster -- --nocapture
fi
