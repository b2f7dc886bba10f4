#!/usr/bin/env bash
# A private containerd (Debian's containerd + runc) for image tests and benchmarks: its own root,
# state and socket under DIR, never the system daemon's. Needs root.
#
#   images/containerd.sh start DIR   start it, print the socket path LAST
#   images/containerd.sh stop DIR    kill leftover tasks, stop it, unmount and remove DIR
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
sock="$dir/containerd.sock"

case $cmd in
  start)
    # Installed here too, for callers other than images-test.sh (tests/cluster_dev.rs).
    if ! dpkg -s containerd runc >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq --no-install-recommends containerd runc >/dev/null
    fi
    mkdir -p "$dir"
    cat >"$dir/containerd.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
TOML
    setsid containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
      if ctr -a "$sock" version >/dev/null 2>&1; then echo "$sock"; exit 0; fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
      sleep 0.1
    done
    echo "containerd did not start; log follows" >&2
    cat "$dir/containerd.log" >&2
    exit 2
    ;;
  stop)
    [[ -f $dir/pid ]] || exit 0
    pid=$(cat "$dir/pid")
    if kill -0 "$pid" 2>/dev/null; then
      for ns in $(ctr -a "$sock" namespaces ls -q 2>/dev/null); do
        for task in $(ctr -a "$sock" -n "$ns" tasks ls -q 2>/dev/null); do
          ctr -a "$sock" -n "$ns" tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
          ctr -a "$sock" -n "$ns" tasks delete "$task" >/dev/null 2>&1 || true
        done
      done
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    # Snapshot mounts must be gone before the directory can be removed.
    awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
