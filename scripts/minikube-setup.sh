#!/usr/bin/env bash
# A Minikube profile ready for berth: enough CPU and memory for the stack, the metrics-server
# (HPAs) and storage addons, and optionally an ingress controller or the Gateway API CRDs.
# Idempotent: a running profile is left as it is (only missing addons are enabled), so it is
# safe to run again. See docs/MINIKUBE-SETUP.md.
#
#   scripts/minikube-setup.sh [--profile NAME] [--cpus N] [--memory MB] [--driver NAME]
#                             [--ingress] [--gateway]
#
# Environment: MINIKUBE (the minikube binary, default: minikube on PATH).
set -euo pipefail

# The Gateway API release whose standard CRDs --gateway installs.
GATEWAY_API_VERSION=v1.3.0

profile=berth cpus=4 memory=8192 driver="" ingress=0 gateway=0
minikube=${MINIKUBE:-minikube}

say() { echo "minikube-setup: $*" >&2; }
die() { echo "minikube-setup: error: $*" >&2; exit 2; }
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --profile) profile=${2:?--profile needs a name}; shift 2 ;;
    --cpus) cpus=${2:?--cpus needs a number}; shift 2 ;;
    --memory) memory=${2:?--memory needs megabytes}; shift 2 ;;
    --driver) driver=${2:?--driver needs a name}; shift 2 ;;
    --ingress) ingress=1; shift ;;
    --gateway) gateway=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done
[[ $cpus =~ ^[0-9]+$ && $cpus -ge 2 ]] || die "--cpus: $cpus is not a number of at least 2"
[[ $memory =~ ^[0-9]+$ && $memory -ge 4096 ]] || die "--memory: $memory is not a number of megabytes of at least 4096"
command -v "$minikube" >/dev/null || die "$minikube not found; install it: https://minikube.sigs.k8s.io/docs/start/"

mk() { "$minikube" -p "$profile" "$@"; }

if [[ $(mk status --format '{{.Host}}' 2>/dev/null || true) == Running ]]; then
  say "profile $profile is running; keeping it (to change CPU or memory: minikube delete -p $profile, then run this again)"
else
  start=(start --cpus "$cpus" --memory "$memory")
  [[ -n $driver ]] && start+=(--driver "$driver")
  say "starting profile $profile with $cpus CPUs and $memory MB"
  mk "${start[@]}"
fi

addons=(metrics-server storage-provisioner default-storageclass)
[[ $ingress == 1 ]] && addons+=(ingress)
enabled=$(mk addons list --output json)
for addon in "${addons[@]}"; do
  # `addons list -o json` holds "<addon>": {"Profile": …, "Status": "enabled"}.
  if grep -Eq "\"$addon\": *\\{[^}]*\"Status\": *\"enabled\"" <<<"$enabled"; then
    say "addon $addon already enabled"
  else
    mk addons enable "$addon"
  fi
done

if [[ $gateway == 1 ]]; then
  if mk kubectl -- get crd gateways.gateway.networking.k8s.io >/dev/null 2>&1; then
    say "Gateway API CRDs already installed"
  else
    mk kubectl -- apply --server-side -f \
      "https://github.com/kubernetes-sigs/gateway-api/releases/download/$GATEWAY_API_VERSION/standard-install.yaml"
  fi
fi

say "ready: kubectl context $profile; next: berth doctor, then berth deploy"
