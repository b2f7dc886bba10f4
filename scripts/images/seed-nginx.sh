#!/usr/bin/env bash
# The edge proxy's image for tests, under the name berth's values pin
# (expose.edge.image in values/values.yaml, docker.io/nginxinc/nginx-unprivileged:<tag>). The
# upstream image cannot be fetched here, so this is **Debian's nginx** (the bookworm `nginx`
# package, a different version than the tag says) laid out the way nginx-unprivileged is: user
# nginx 101:101, port 8080, `nginx` on the PATH, its pid and temporary files under /tmp, logs to
# stdout/stderr, STOPSIGNAL SIGQUIT, a default server on 8080. berth runs it with its own
# configuration (`nginx -e stderr -c /etc/berth-edge/nginx.conf`), so only that shape matters.
#
#   seed-nginx.sh HOST:PORT            push it to a registry (skipped when present)
#   seed-nginx.sh --archive OUT.tar    write it as a docker-archive (for a node's containerd)
#   seed-nginx.sh --binary             only unpack Debian's nginx; print the binary's path last
#
# Debian's .debs are cached under $BERTH_CACHE_DIR/debs, the unpacked package under
# $BERTH_CACHE_DIR/tools/nginx-<version> (tests run `nginx -t` on berth's configuration with it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode=${1:?HOST:PORT, --archive OUT.tar or --binary}
source "$here/seed-common.sh"

# The reference berth's defaults pin: expose.edge.image.
ref=$(python3 - "$repo/values/values.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
edge = text[text.index("\n  edge:"):]
m = re.search(r"repository: (\S+)\s+tag: \"?([^\"\s]+)", edge)
print(m.group(1) + ":" + m.group(2))
PY
)

cache=${BERTH_CACHE_DIR:-$HOME/.cache/berth}
# Unpack nginx and nginx-common (mime.types) once per Debian version.
unpack() {
  local version
  version=$(apt-cache policy nginx 2>/dev/null | awk '/Candidate:/ {print $2}')
  [[ -n $version && $version != "(none)" ]] || { apt-get update -qq; version=$(apt-cache policy nginx | awk '/Candidate:/ {print $2}'); }
  NGINX_DIR=$cache/tools/nginx-$version
  if [[ ! -x $NGINX_DIR/usr/sbin/nginx ]]; then
    rm -rf "$NGINX_DIR.partial"
    seed_debs amd64 "$NGINX_DIR.partial" nginx nginx-common:all >&2
    rm -rf "$NGINX_DIR"
    mv "$NGINX_DIR.partial" "$NGINX_DIR"
  fi
  NGINX_VERSION=$version
}

unpack
if [[ $mode == --binary ]]; then
  echo "$NGINX_DIR/usr/sbin/nginx"
  exit 0
fi
case $mode in
  --archive) dest="docker-archive:${2:?OUT.tar}:$ref" ;;
  *)
    dest="docker://$mode/${ref#docker.io/}"
    if seed_present "$dest"; then
      echo "seed-nginx: $dest already present"
      exit 0
    fi
    ;;
esac

seed_begin latest "nginx:x:101:101:nginx:/nonexistent:/bin/false" "nginx:x:101:"
install -D -m 0755 "$NGINX_DIR/usr/sbin/nginx" "$rootfs/usr/sbin/nginx"
install -D -m 0644 "$NGINX_DIR/etc/nginx/mime.types" "$rootfs/etc/nginx/mime.types"
ldd "$NGINX_DIR/usr/sbin/nginx" | seed_copy_libs
mkdir -p "$rootfs/etc/nginx/conf.d" "$rootfs/usr/share/nginx/html" "$rootfs/var/cache/nginx" "$rootfs/var/log/nginx"
ln -s /dev/stdout "$rootfs/var/log/nginx/access.log"
ln -s /dev/stderr "$rootfs/var/log/nginx/error.log"
echo "Debian's nginx $NGINX_VERSION, seeded by berth under the name $ref" >"$rootfs/usr/share/nginx/html/index.html"
cat >"$rootfs/etc/nginx/nginx.conf" <<'CONF'
# As nginx-unprivileged: unprivileged port, pid and temporary files under /tmp.
worker_processes auto;
pid /tmp/nginx.pid;
error_log /var/log/nginx/error.log notice;
events {
    worker_connections 1024;
}
http {
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path /tmp/proxy_temp_path;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    include /etc/nginx/conf.d/*.conf;
    server {
        listen 8080;
        root /usr/share/nginx/html;
    }
}
CONF
chown -R 101:101 "$rootfs/var/cache/nginx"
seed_push latest "$dest" \
  --config.user 101:101 \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env NGINX_VERSION="${NGINX_VERSION%%-*}" \
  --config.exposedports 8080/tcp \
  --config.stopsignal SIGQUIT \
  --config.cmd nginx --config.cmd -g --config.cmd "daemon off;" \
  --config.label "org.opencontainers.image.version=$NGINX_VERSION" \
  --config.label "org.opencontainers.image.description=Debian's nginx $NGINX_VERSION seeded by berth's scripts/images/seed-nginx.sh under the name $ref (not the upstream image)"
echo "seed-nginx: wrote $ref (Debian's nginx $NGINX_VERSION) to ${dest%%:"$ref"}"
