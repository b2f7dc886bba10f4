#!/usr/bin/env bash
# Lints the release's own files: install.sh as POSIX sh and the release scripts (with the two
# report scripts that share their toolchain.sh) with shellcheck (Debian's), and
# .github/workflows/*.yml with actionlint (pinned, built from the Go module proxy once and cached
# under $BERTH_CACHE_DIR/release-tools). Exit 1 on any finding.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/release/toolchain.sh
source scripts/release/toolchain.sh

ensure_debian_packages shellcheck
actionlint=$(ensure_go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION")

status=0
shellcheck -s sh scripts/install.sh || status=1
shellcheck -x scripts/release.sh scripts/release/toolchain.sh scripts/release-smoke.sh \
  scripts/release-install-test.sh scripts/release-lint.sh \
  scripts/coverage.sh scripts/module-graph.sh || status=1
# actionlint also runs shellcheck on each workflow step's script.
"$actionlint" .github/workflows/*.yml || status=1
[[ $status -eq 0 ]] && echo "release-lint: install.sh, release scripts and workflows clean" >&2
exit $status
