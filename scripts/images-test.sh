#!/usr/bin/env bash
# berth's image tests with real parts: a registry (Debian's docker-registry) seeded with a
# busybox base built from Debian packages (amd64 and arm64), skopeo, a containerd + runc started
# here on its own socket, root and state (never the system one), and qemu-user-static to run arm64
# binaries of arm64 builds; the pinned uv and Poetry of scripts/build-tools.sh on PATH for the
# specs `berth init` writes for uv and Poetry projects. Needs root for containerd. No TTY needed.
#
#   scripts/images-test.sh            unit tests of src/images, CLI error tests, real-parts tests
#                                     (images_wheels: sdist-only Python requirements, with pip and
#                                     the pinned setuptools from PyPI, cached under BERTH_CACHE_DIR),
#                                     and the app's backend image when app/ and images/ are present
#
# Environment: BERTH_CACHE_DIR (registry data lives under it), CARGO_TARGET_DIR as usual.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

log() { echo "images-test.sh: $*" >&2; }

packages=(docker-registry containerd runc skopeo umoci busybox-static apache2-utils openssl curl qemu-user-static)
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
  "$repo/scripts/images/auth-registry.sh" stop "$work/auth-registry" || true
  "$repo/scripts/images/token-registry.sh" stop "$work/token-registry" || true
  [[ $registry_was_running == yes ]] || "$repo/scripts/registry.sh" down || true
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT INT TERM

registry=$("$repo/scripts/registry.sh" up --python --node --static --edge --arm64 | tail -n 1)
log "registry at $registry"
socket=$("$repo/scripts/images/containerd.sh" start "$work/containerd" | tail -n 1)
log "containerd $(containerd --version | awk '{print $3}') at $socket"

auth_password="pw-$RANDOM$RANDOM"
auth_registry=$("$repo/scripts/images/auth-registry.sh" start "$work/auth-registry" berth-test "$auth_password" | tail -n 1)
log "registry with basic auth at $auth_registry"
registry_data=${BERTH_REGISTRY_DIR:-${BERTH_CACHE_DIR:-$HOME/.cache/berth}/registry}/data
token_registry=$("$repo/scripts/images/token-registry.sh" start "$work/token-registry" "$registry_data" | tail -n 1)
log "registry with token auth (read-only view of the seeded one) at $token_registry"

export BERTH_TEST_REGISTRY=$registry
export BERTH_TEST_AUTH_REGISTRY=$auth_registry
export BERTH_TEST_AUTH_CREDENTIALS=berth-test:$auth_password
export BERTH_TEST_TOKEN_REGISTRY=$token_registry
export BERTH_TEST_TOKEN_LOG=$work/token-registry/token.log
export BERTH_TEST_CONTAINERD_SOCKET=$socket
build_tools=$("$repo/scripts/build-tools.sh" | tail -n 1)
export PATH=$build_tools:$PATH
log "$(uv --version) and $(poetry --version --no-ansi) from $build_tools"
# berth's edge configuration passes nginx -t of the nginx the seeded edge image runs.
BERTH_TEST_NGINX=$("$repo/scripts/images/seed-nginx.sh" --binary | tail -n 1) cargo test --test edge_nginx -- --include-ignored
cargo test --lib images::
cargo test --test images_cli --test images_real --test images_wheels -- --include-ignored
# The specs `berth init` writes for fixture repositories: requirements.txt and Poetry projects on
# the Python 3.12 base, a uv project on 3.13 and a uv + alembic backend on 3.12 built in the team's
# directory without uv on PATH (wheels from PyPI), and berth's own install of the pinned uv and
# Poetry into an empty cache (about 50 s). A test whose base is missing is skipped by name, and
# says so.
has_base() { skopeo inspect --tls-verify=false "docker://$registry/library/$1" >/dev/null 2>&1; }
init_skips=()
if ! has_base python:3.12-slim-bookworm; then
  log "skipping the requirements.txt and Poetry fixtures' images: need python:3.12-slim-bookworm (a CPython 3.12)"
  init_skips+=(--skip an_init_written_python_spec --skip a_poetry_backend --skip a_uv_backend_builds_in_the_teams_directory)
fi
if ! has_base python:3.13-slim-bookworm; then
  log "skipping the uv fixture's images: need python:3.13-slim-bookworm (a CPython 3.13)"
  init_skips+=(--skip a_uv_project)
fi
cargo test --test init_images -- --include-ignored "${init_skips[@]}"
# The reference app's images, when the app, its specs and the bases they need are all here.
app_images=()
if [[ -f app/backend/requirements.txt && -f images/backend.toml ]] && has_base python:3.12-slim-bookworm; then
  app_images+=(backend mcp)
else
  log "skipping the backend and mcp images: need app/, images/*.toml and a CPython 3.12 for the Python base"
fi
if [[ -f app/frontend/package.json && -f images/frontend.toml ]] && has_base node:22-bookworm-slim; then
  app_images+=(frontend)
else
  log "skipping the frontend image: needs app/frontend, images/frontend.toml and node for the Node.js base"
fi
if ((${#app_images[@]})); then
  BERTH_TEST_APP_ROOT=$repo cargo test --test images_app -- --include-ignored "${app_images[@]}"
fi
# The Node specs `berth init` writes (a Vite site on static-web-server, a standalone Next.js
# server, a plain Express server) from fixtures with real lock files; npm caches its downloads outside the repository.
export npm_config_cache=${npm_config_cache:-${BERTH_CACHE_DIR:-$HOME/.cache/berth}/npm}
node_specs=()
if skopeo inspect --tls-verify=false "docker://$registry/joseluisq/static-web-server:2-debian" >/dev/null 2>&1; then
  node_specs+=(vite)
else
  log "skipping the init Vite site image: needs static-web-server in the local registry (built with cargo)"
fi
if has_base node:22-bookworm-slim && command -v npm >/dev/null; then
  node_specs+=(next node_server)
else
  log "skipping the init Next.js and Node server images: needs node and npm for the Node.js base and the build"
fi
if ((${#node_specs[@]})); then
  cargo test --test init_images_node -- --include-ignored "${node_specs[@]}"
fi
