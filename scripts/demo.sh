#!/usr/bin/env bash
# The main job on a machine without Minikube: bring up the test cluster
# (scripts/cluster.sh), deploy the default stack with berth, show its status.
# The cluster stays up afterwards; stop it with `scripts/cluster.sh down`.
set -euo pipefail
cd "$(dirname "$0")/.."

kubeconfig=$(scripts/cluster.sh up | tail -1)
export KUBECONFIG=$kubeconfig
echo "demo: cluster ready, KUBECONFIG=$KUBECONFIG" >&2

cargo build --quiet --bin berth
berth=${CARGO_TARGET_DIR:-target}/debug/berth

"$berth" deploy --yes
"$berth" status
echo "demo: done; stop the cluster with: scripts/cluster.sh down" >&2
