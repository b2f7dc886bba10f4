#!/bin/sh
# Entrypoint of the PostgreSQL image seeded by scripts/node/images.sh from Debian's postgresql
# package. The same contract as the upstream image's docker-entrypoint.sh, for what berth uses:
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and PGDATA; an empty PGDATA is initialised
# (scram-sha-256 over TCP, trust only on the local socket), then the server runs in the
# foreground as the image's user. Writes only to PGDATA, /var/run/postgresql and /tmp, so a
# read-only root filesystem works.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "postgres-entrypoint: POSTGRES_PASSWORD is empty; refusing to start without a password" >&2
  exit 1
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp /tmp/pw.XXXXXX)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" |
      postgres --single -D "$PGDATA" -c jit=off postgres >/dev/null
  fi
  echo "postgres-entrypoint: initialised $PGDATA (database $POSTGRES_DB, user $POSTGRES_USER)"
fi
# As upstream's entrypoint does on every start: the kubelet's fsGroup handling makes the volume
# group-writable again on each mount (fsGroupChangePolicy Always), and postgres refuses a data
# directory that is not 0700 or 0750.
chmod 700 "$PGDATA"
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql -c jit=off "$@"
