#!/usr/bin/env bash
# Install what scripts/browser-check.mjs needs and print the directory holding its node_modules as
# the last line: playwright-core at the pinned version below from the npm registry (no browser
# download: it has no dependencies and drives the system's browser), under
# ${BERTH_CACHE_DIR:-$HOME/.cache/berth}/browser/playwright-core-<version>, and Debian's chromium
# through apt-get when /usr/bin/chromium is missing (root). Idempotent: when both are there it only
# prints the directory.
#
#   scripts/browser-tools.sh            install (if needed), print the directory
set -euo pipefail

PLAYWRIGHT_CORE_VERSION=1.65.1 # the reference app's e2e test uses the same (app/frontend/package.json)

dir=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/browser/playwright-core-$PLAYWRIGHT_CORE_VERSION
log() { echo "browser-tools: $*" >&2; }
die() { echo "browser-tools: error: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is needed (Node.js 18 or newer)"
command -v npm >/dev/null || die "npm is needed to install playwright-core"

if [[ ! -x /usr/bin/chromium ]]; then
  [[ $(id -u) == 0 ]] || die "/usr/bin/chromium is missing; as root: apt-get install chromium"
  log "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } ||
    die "apt-get install chromium failed"
fi

installed() {
  [[ $(node -p "require('$dir/node_modules/playwright-core/package.json').version" 2>/dev/null) == "$PLAYWRIGHT_CORE_VERSION" ]]
}
if ! installed; then
  log "installing playwright-core $PLAYWRIGHT_CORE_VERSION into $dir"
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$(dirname "$dir")/.install-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo '{"name": "berth-browser-check", "private": true}' >"$tmp/package.json"
  # No browser download (playwright-core never downloads one; the variable says so to any script).
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error \
    --save-exact "playwright-core@$PLAYWRIGHT_CORE_VERSION" >&2 || die "npm install playwright-core failed"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  installed || die "playwright-core $PLAYWRIGHT_CORE_VERSION is not in $dir after installing"
fi
echo "$dir"
