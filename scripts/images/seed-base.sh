#!/usr/bin/env bash
# Seed a registry with the base images that image specs name, by reference, when it lacks them:
# the specs `berth init` writes name docker.io/library/python:X.Y-slim-bookworm (X.Y from the
# team's project), node:22-bookworm-slim, joseluisq/static-web-server:2-debian, and, for a
# database found in compose, postgres:TAG. Each is made the way the other seed scripts make it
# (none is the upstream image; nothing is pulled from outside):
#   python:X.Y-slim-bookworm           seed-python.sh with PYTHON_VERSIONS=X.Y (a CPython X.Y on this machine)
#   node:*                             seed-node.sh (this machine's node, under the tag asked for)
#   joseluisq/static-web-server:2-*    seed-static-web-server.sh
#   postgres:TAG                       scripts/node/images.sh postgres (Debian's postgresql-15 with the
#                                      entrypoint the node's own PostgreSQL uses), pushed under TAG
# A reference it cannot make is reported on stderr and the script goes on; exit 1 at the end if any.
# Usage: seed-base.sh HOST:PORT REF...   (REF as in a spec: docker.io/library/python:3.11-slim-bookworm)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
addr=${1:?usage: seed-base.sh HOST:PORT REF...}
shift
failed=0

present() { skopeo inspect --tls-verify=false --raw "docker://$addr/$1" >/dev/null 2>&1; }

for ref in "$@"; do
  # docker.io/library/python:3.11-slim-bookworm -> library/python:3.11-slim-bookworm
  name=${ref#docker.io/}
  [[ $name == */* ]] || name=library/$name
  repo=${name%:*} tag=${name##*:}
  [[ $name == *:* ]] || tag=latest
  if present "$repo:$tag"; then
    continue
  fi
  echo "seed-base: seeding $repo:$tag" >&2
  case $repo in
    library/python)
      version=$(sed -nE 's/^([0-9]+\.[0-9]+)-slim-bookworm$/\1/p' <<<"$tag")
      [[ -n $version ]] || { echo "seed-base: python:$tag: only X.Y-slim-bookworm tags can be seeded" >&2; failed=1; continue; }
      PYTHON_VERSIONS=$version "$here/seed-python.sh" "$addr" >&2
      ;;
    library/node)
      NODE_TAG=$tag "$here/seed-node.sh" "$addr" >&2
      ;;
    joseluisq/static-web-server)
      "$here/seed-static-web-server.sh" "$addr" >&2
      ;;
    library/postgres)
      if ! dpkg -s postgresql-15 >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null ||
          { echo "seed-base: postgres:$tag needs Debian's postgresql-15 (apt-get install failed)" >&2; failed=1; continue; }
      fi
      tmp=$(mktemp -d)
      if POSTGRES_IMAGE="docker.io/$repo:$tag" "$here/../node/images.sh" postgres "$tmp/pg.tar" >&2; then
        skopeo copy --quiet --dest-tls-verify=false "docker-archive:$tmp/pg.tar" "docker://$addr/$repo:$tag" >&2 || failed=1
      else
        failed=1
      fi
      rm -rf "$tmp"
      ;;
    *)
      echo "seed-base: $ref: no way to make this base here (python, node, static-web-server and postgres can be seeded)" >&2
      failed=1
      continue
      ;;
  esac
  present "$repo:$tag" || { echo "seed-base: $repo:$tag is still missing after seeding" >&2; failed=1; }
done
exit $failed
