#!/usr/bin/env bash
# A second real registry (Debian's docker-registry) that requires HTTP basic auth (htpasswd,
# bcrypt), on a free 127.0.0.1 port, for testing credentials read from a Docker config file.
#
#   images/auth-registry.sh start DIR USER PASSWORD   print host:port LAST
#   images/auth-registry.sh stop DIR                  stop it and remove DIR
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
case $cmd in
  start)
    user=${3:?user}
    password=${4:?password}
    mkdir -p "$dir/data"
    htpasswd -Bbn "$user" "$password" >"$dir/htpasswd"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: berth-test
    path: $dir/htpasswd
YAML
    setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
      # 401 means it is up and asking for credentials.
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
      if [[ $code == 401 ]]; then echo "127.0.0.1:$port"; exit 0; fi
      sleep 0.1
    done
    echo "auth registry did not come up; log follows" >&2
    cat "$dir/registry.log" >&2
    exit 2
    ;;
  stop)
    if [[ -f $dir/pid ]]; then
      pid=$(cat "$dir/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR USER PASSWORD | stop DIR" >&2; exit 2 ;;
esac
