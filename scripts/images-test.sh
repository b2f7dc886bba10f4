#!/usr/bin/env bash
# berth's image tests with real parts: a registry (Debian's docker-registry) seeded with a
# busybox base built from Debian packages, skopeo, and a containerd + runc started here on its own
# socket, root and state (never the system one). Needs root for containerd. No TTY needed.
#
#   scripts/images-test.sh            unit tests of src/images, CLI error tests, real-parts tests
#
# Environment: BERTH_CACHE_DIR (registry data lives under it), CARGO_TARGET_DIR as usual.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

log() { echo "images-test.sh: $*" >&2; }

packages=(docker-registry containerd runc skopeo umoci busybox-static)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/berth-images-test.XXXXXX)
registry_was_running=no
"$repo/scripts/registry.sh" addr >/dev/null 2>&1 && registry_was_running=yes
cleanup() {
  local status=$?
  "$repo/scripts/images/containerd.sh" stop "$work/containerd" || true
  [[ $registry_was_running == yes ]] || "$repo/scripts/registry.sh" down || true
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT INT TERM

registry=$("$repo/scripts/registry.sh" up | tail -n 1)
log "registry at $registry"
socket=$("$repo/scripts/images/containerd.sh" start "$work/containerd" | tail -n 1)
log "containerd $(containerd --version | awk '{print $3}') at $socket"

export BERTH_TEST_REGISTRY=$registry
export BERTH_TEST_CONTAINERD_SOCKET=$socket
cargo test --lib images::
cargo test --test images_cli --test images_real -- --include-ignored
