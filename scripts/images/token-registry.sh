#!/usr/bin/env bash
# A real registry (Debian's docker-registry) that requires bearer tokens (`auth: token`),
# with scripts/images/token-server.py as its token server, both on free 127.0.0.1 ports.
# It serves the blobs of an existing registry's storage read-only, so the seeded base
# images can be pulled through the anonymous token flow without seeding twice.
#
#   images/token-registry.sh start DIR DATA_DIR   print host:port LAST
#   images/token-registry.sh stop DIR             stop both and remove DIR
# DIR/token.log gets one line per token request (see token-server.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start|stop}
dir=${2:?directory}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
case $cmd in
  start)
    data=${3:?registry storage directory}
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=berth-test-token-issuer \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
    token_port=$(free_port)
    port=$(free_port)
    : >"$dir/token.log"
    setsid python3 "$here/token-server.py" "$token_port" "$dir/key.pem" "$dir/cert.pem" \
      berth-test-issuer "$dir/token.log" >"$dir/token-server.log" 2>&1 </dev/null &
    echo $! >"$dir/token-server.pid"
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $data
  maintenance:
    readonly:
      enabled: true
http:
  addr: 127.0.0.1:$port
auth:
  token:
    realm: http://127.0.0.1:$token_port/token
    service: berth-test-registry
    issuer: berth-test-issuer
    rootcertbundle: $dir/cert.pem
YAML
    setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    echo $! >"$dir/registry.pid"
    for _ in $(seq 1 100); do
      # 401 means the registry is up and asking for a token; the token server must answer too.
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
      if [[ $code == 401 ]] && curl -fs -o /dev/null "http://127.0.0.1:$token_port/token?service=probe"; then
        : >"$dir/token.log"
        echo "127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "token registry did not come up; logs follow" >&2
    cat "$dir/registry.log" "$dir/token-server.log" >&2
    exit 2
    ;;
  stop)
    for name in registry token-server; do
      [[ -f $dir/$name.pid ]] || continue
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR DATA_DIR | stop DIR" >&2; exit 2 ;;
esac
