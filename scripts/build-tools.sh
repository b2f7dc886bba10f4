#!/usr/bin/env bash
# Install the Python build tools that image specs written by `berth init` call on the host --
# uv 0.13.9 (`uv export`) and Poetry 2.5.1 with poetry-plugin-export 1.10.1 (`poetry export`) --
# and print the directory holding `uv` and `poetry` as the last line (put it first on PATH).
#
# Everything comes from PyPI at exact versions: scripts/requirements-build-tools.txt pins the
# three tools and every package they depend on. They go into a venv under
# ${BERTH_CACHE_DIR:-$HOME/.cache/berth}/build-tools/<key>, where the key names the three versions
# and hashes that file, so fresh clones on this machine reuse it and a changed pin gets a new
# directory. Idempotent: when the directory is complete it only prints it.
#
#   scripts/build-tools.sh             install (if needed), print the bin directory
#   scripts/build-tools.sh --compile   regenerate requirements-build-tools.txt with the pinned uv
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements=$repo/scripts/requirements-build-tools.txt
root=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/build-tools

UV_VERSION=0.13.9
POETRY_VERSION=2.5.1
EXPORT_VERSION=1.10.1

log() { echo "build-tools: $*" >&2; }
die() { echo "build-tools: error: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is needed (a venv and pip for uv)"
export UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1

if [[ ${1:-} == --compile ]]; then
  # A throwaway uv of the pinned version resolves the three pins for any Python >= 3.10.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "uv==$UV_VERSION" >&2
  printf 'uv==%s\npoetry==%s\npoetry-plugin-export==%s\n' "$UV_VERSION" "$POETRY_VERSION" "$EXPORT_VERSION" |
    "$tmp/venv/bin/uv" pip compile --quiet --universal --python-version 3.10 --no-header - -o "$tmp/out.txt"
  { echo "# uv, Poetry and poetry-plugin-export for scripts/build-tools.sh, with everything they need,"
    echo "# pinned. Regenerate with: scripts/build-tools.sh --compile"
    cat "$tmp/out.txt"; } >"$requirements"
  log "wrote $requirements"
  exit 0
fi

key=uv-$UV_VERSION-poetry-$POETRY_VERSION-export-$EXPORT_VERSION-$(sha256sum "$requirements" | cut -c1-12)
dir=$root/$key
complete() { [[ -f $dir/.complete && -x $dir/bin/uv && -x $dir/bin/poetry ]]; }

for pin in "uv==$UV_VERSION" "poetry==$POETRY_VERSION" "poetry-plugin-export==$EXPORT_VERSION"; do
  grep -q "^$pin\( \|$\)" "$requirements" || die "$requirements does not pin $pin: run $0 --compile"
done

if complete; then
  echo "$dir/bin"
  exit 0
fi

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if ! complete; then
  log "installing uv $UV_VERSION and Poetry $POETRY_VERSION (poetry-plugin-export $EXPORT_VERSION) into $dir"
  # The venv's scripts name their interpreter by absolute path: build it where it stays.
  rm -rf "$dir"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "uv==$UV_VERSION" >&2 ||
    die "pip install uv==$UV_VERSION failed"
  "$dir/venv/bin/uv" pip install --quiet --python "$dir/venv/bin/python" -r "$requirements" >&2 ||
    die "installing $requirements failed"
  mkdir -p "$dir/bin"
  ln -s ../venv/bin/uv "$dir/bin/uv"
  ln -s ../venv/bin/poetry "$dir/bin/poetry"
  got=$("$dir/bin/uv" --version)
  [[ $got == "uv $UV_VERSION"* ]] || die "uv reports $got, want $UV_VERSION"
  got=$("$dir/bin/poetry" --version --no-ansi)
  [[ $got == *"version $POETRY_VERSION)"* ]] || die "poetry reports $got, want $POETRY_VERSION"
  "$dir/bin/poetry" export --help >/dev/null 2>&1 || die "poetry has no export command (poetry-plugin-export)"
  touch "$dir/.complete"
fi
echo "$dir/bin"
