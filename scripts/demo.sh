#!/usr/bin/env bash
# The main job on a machine without Minikube: a real Kubernetes node (scripts/node.sh: control
# plane, kubelet, containerd, CNI, kube-proxy, CoreDNS, inside a network namespace), the Todo
# chatbot's three images built by berth and side-loaded into the node's containerd, the stack
# deployed with `berth deploy`, and the URL a browser on this machine opens.
# The node stays up afterwards; stop it with `scripts/node.sh down`. Needs root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
t0=$SECONDS

kubeconfig=$(scripts/node.sh up | tail -n 1)
eval "$(scripts/node.sh env | sed 's/^/export /')"
export KUBECONFIG=$kubeconfig
echo "demo: real node ready after $((SECONDS - t0))s, KUBECONFIG=$KUBECONFIG" >&2

cargo build --quiet --bin berth
BERTH=${CARGO_TARGET_DIR:-target}/debug/berth
# shellcheck source=node/app.sh
source scripts/node/app.sh
app_images
app_deploy
"$BERTH" status
for _ in $(seq 1 60); do app_answers "$APP_URL" && break; sleep 1; done
app_answers "$APP_URL" || { echo "demo: error: nothing answers at $APP_URL" >&2; exit 1; }
echo "demo: the Todo chatbot answers at $APP_URL after $((SECONDS - t0))s (stop: scripts/node.sh down)" >&2
echo "URL: $APP_URL"
