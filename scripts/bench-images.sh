#!/usr/bin/env bash
# Benchmark berth's image pipeline against real parts (issue 6, "Benchmark"):
#   1. cold build (empty cache: base pull, pip install of real backend dependencies, layers, archive)
#   2. warm rebuild with no change, and after a one-line code change (target < 1 s)
#   3. archive size vs the sum of the layer sizes
#   4. `berth images load` into containerd vs a plain `ctr images import` of the same archive
#      (fresh containerd each trial), and a repeated load that must skip the import
#
# The image is the backend's: the Python base seeded by `scripts/registry.sh up --python` (busybox
# when no CPython 3.12 is available to seed it), a deps layer from `pip install --target …
# --only-binary=:all:` of app/backend/requirements.txt (or a FastAPI-stack list), and a code layer.
#
#   scripts/bench-images.sh [TRIALS]      (BERTH_BIN=path to use a prebuilt binary)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
trials=${1:-3}
cd "$repo"

if [[ -z ${BERTH_BIN:-} ]]; then
  cargo build --quiet --bin berth
  BERTH_BIN=${CARGO_TARGET_DIR:-$repo/target}/debug/berth
fi

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
registry_was_running=no
"$repo/scripts/registry.sh" addr >/dev/null 2>&1 && registry_was_running=yes
cleanup() {
  local status=$?
  for d in "$work"/ctrd-*; do [[ -d $d ]] && "$repo/scripts/images/containerd.sh" stop "$d" || true; done
  [[ $registry_was_running == yes ]] || "$repo/scripts/registry.sh" down || true
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT INT TERM

registry=$("$repo/scripts/registry.sh" up --python 2>/dev/null | tail -n 1)
# The Python base when it could be seeded (needs a local CPython 3.12), else busybox.
base=docker.io/library/busybox:1.35.0
if skopeo inspect --tls-verify=false "docker://$registry/library/python:3.12-slim-bookworm" >/dev/null 2>&1; then
  base=docker.io/library/python:3.12-slim-bookworm
fi

now() { python3 -c 'import time; print(time.time())'; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

# A backend-shaped repository: the real app/backend when present (BENCH_BACKEND_DIR to point
# elsewhere), else a synthetic one with FastAPI-stack requirements and ~200 modules. It is copied,
# so the benchmark's code edits never touch the checkout.
root="$work/repo"
mkdir -p "$root/images" "$root/app"
backend_src=${BENCH_BACKEND_DIR:-$repo/app/backend}
if [[ -f $backend_src/requirements.txt ]]; then
  cp -a "$backend_src" "$root/app/backend"
  rm -rf "$root/app/backend/.venv" "$root/app/backend/.pytest_cache"
  code_file=$(find "$root/app/backend/app" -name main.py | head -n 1)
  backend_kind="app/backend from $backend_src"
else
  mkdir -p "$root/app/backend/app"
  cat >"$root/app/backend/requirements.txt" <<'REQ'
fastapi==0.115.12
uvicorn==0.34.2
sqlmodel==0.0.24
asyncpg==0.30.0
httpx==0.28.1
pydantic-settings==2.9.1
REQ
  for i in $(seq 1 200); do
    printf 'def handler_%d(x):\n    return x + %d\n' "$i" "$i" >"$root/app/backend/app/mod_$i.py"
  done
  printf 'from fastapi import FastAPI\napp = FastAPI()\n' >"$root/app/backend/app/main.py"
  printf '__pycache__/\n*.pyc\nrequirements.txt\n' >"$root/app/backend/.dockerignore"
  code_file="$root/app/backend/app/main.py"
  backend_kind="synthetic backend"
fi
cat >"$root/images/backend.toml" <<SPEC
kind = "build"
repository = "localhost/todo-chatbot/backend"
base = "$base"
context = "app/backend"
user = "10001:10001"
workdir = "/app"
entrypoint = ["python", "-m", "uvicorn"]
cmd = ["app.main:app", "--host", "0.0.0.0", "--port", "8000"]
ports = [8000]
[env]
PYTHONPATH = "/app/deps"
[[layers]]
name = "deps"
inputs = ["requirements.txt"]
run = ["pip", "install", "--quiet", "--no-compile", "--no-cache-dir", "--target", "{out}", "--platform", "manylinux2014_x86_64", "--only-binary=:all:", "--python-version", "3.12", "-r", "{context}/requirements.txt"]
dest = "/app/deps"
[[layers]]
name = "code"
copy = ["app"]
dest = "/app"
SPEC

cache="$work/cache"
out="$work/out"
berth() { "$BERTH_BIN" images "$@" --root "$root" --cache-dir "$cache" --out "$out" -q; }
build() { berth build --revision bench --registry-mirror "docker.io=http://$registry" >/dev/null; }

t0=$(now); build; t1=$(now)
cold=$(elapsed "$t0" "$t1")
t0=$(now); build; t1=$(now)
warm_nochange=$(elapsed "$t0" "$t1")
changes=()
for i in $(seq 1 "$trials"); do
  echo "# change $i" >>"$code_file"
  t0=$(now); build; t1=$(now)
  changes+=("$(elapsed "$t0" "$t1")")
done

record="$out/backend.json"
archive=$(python3 -c "import json; print(json.load(open('$record'))['archive'])")
read -r archive_size layers_size deps_size code_size < <(python3 - "$record" "$cache" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1])); blobs = os.path.join(sys.argv[2], "blobs/sha256")
size = lambda d: os.path.getsize(os.path.join(blobs, d.split(":")[1]))
app = {l["name"]: l["size"] for l in r["app_layers"]}
print(r["archive_size"], sum(size(d) for d in r["layers"]), app["deps"], app["code"])
PY
)

# Load: berth (check, stream, verify) vs plain ctr import, each into a fresh containerd, the
# order alternating between trials so neither always runs on a warmer machine.
load_berth=(); load_ctr=(); load_skip=()
berth_trial() {
  local sock t0 t1
  sock=$("$repo/scripts/images/containerd.sh" start "$work/ctrd-b$1" | tail -n 1)
  t0=$(now); berth load --target containerd --containerd-socket "$sock" >/dev/null; t1=$(now)
  load_berth+=("$(elapsed "$t0" "$t1")")
  t0=$(now); berth load --target containerd --containerd-socket "$sock" >/dev/null; t1=$(now)
  load_skip+=("$(elapsed "$t0" "$t1")")
  "$repo/scripts/images/containerd.sh" stop "$work/ctrd-b$1"
}
ctr_trial() {
  local sock t0 t1
  sock=$("$repo/scripts/images/containerd.sh" start "$work/ctrd-c$1" | tail -n 1)
  t0=$(now); ctr -a "$sock" -n k8s.io images import - <"$archive" >/dev/null; t1=$(now)
  load_ctr+=("$(elapsed "$t0" "$t1")")
  "$repo/scripts/images/containerd.sh" stop "$work/ctrd-c$1"
}
for i in $(seq 1 "$trials"); do
  if ((i % 2)); then berth_trial "$i"; ctr_trial "$i"; else ctr_trial "$i"; berth_trial "$i"; fi
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mib() { python3 -c "print(f'{$1/1048576:.1f} MiB')"; }
cat <<REPORT
berth image benchmark: $backend_kind on $base ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), binary $BERTH_BIN, $trials trials)
cold build (base pull + pip install + layers + archive):   ${cold} s
warm rebuild, no change:                                   ${warm_nochange} s
warm rebuild after a one-line code change (median):        $(median "${changes[@]}") s   [${changes[*]}]
archive size:                                              $(mib "$archive_size") ($archive_size B)
sum of layer sizes:                                        $(mib "$layers_size") ($layers_size B; deps $(mib "$deps_size"), code $(python3 -c "print(f'{$code_size/1024:.1f} KiB')"))
archive overhead over layers:                              $(python3 -c "print(f'{($archive_size-$layers_size)/1024:.1f} KiB ({($archive_size/$layers_size-1)*100:.2f}%)')")
berth images load (median):                                $(median "${load_berth[@]}") s   [${load_berth[*]}]
plain ctr images import (median):                          $(median "${load_ctr[@]}") s   [${load_ctr[*]}]
berth images load, image already present (median):        $(median "${load_skip[@]}") s   [${load_skip[*]}]
REPORT
