#!/usr/bin/env bash
# Release archives of berth, one per target, built on this (Linux x86_64) machine:
#
#   scripts/release.sh VERSION            all three targets into dist/ (or $BERTH_RELEASE_OUT)
#   scripts/release.sh VERSION --manifests
#                                         only sha256.sum (each archive checked against its
#                                         .sha256 first), the installers and the Homebrew, Scoop
#                                         and krew manifests, from the archives already in the
#                                         output directory (the workflow gathers every runner's)
#
# Targets (BERTH_RELEASE_TARGETS narrows them): x86_64-unknown-linux-musl and
# aarch64-unknown-linux-musl (static; also WSL2), x86_64-pc-windows-gnu. macOS cannot be linked
# here (no Apple SDK): .github/workflows/release.yml builds aarch64-apple-darwin and
# x86_64-apple-darwin with this script on macOS runners (GNU tar, coreutils and findutils from
# Homebrew there).
#
# For each target: `cargo build --profile dist` (aarch64 through cargo-zigbuild), then
# berth-VERSION-TARGET.tar.gz (.zip for Windows) holding berth-VERSION-TARGET/ with the binary,
# LICENSE, README.md, completions/ and man/berth.1 (both printed by the built binary itself, run
# natively, under qemu-aarch64 or under Wine), a .sha256 beside each archive, a CycloneDX SBOM
# berth-VERSION-TARGET.cdx.json (cargo-cyclonedx), and one sha256.sum. Then install.sh and
# install.ps1 with the release's URL, homebrew/berth.rb, scoop/berth.json and krew/berth.yaml.
#
# Every tool is pinned and installed by scripts/release/toolchain.sh (rustup, Debian, crates.io,
# PyPI), cached under $BERTH_CACHE_DIR. Builds run one at a time under `nice`: each takes
# minutes on two cores. Archives are reproducible: entries sorted, owner 0, mtimes and zip
# dates from the commit's time.
#
#   BERTH_RELEASE_TARGETS  the targets to build (default: all three)
#   BERTH_RELEASE_PROFILE  cargo profile (default dist; CI's cross smoke test uses dev)
#   BERTH_RELEASE_SBOM=0   no SBOMs (CI: spares building cargo-cyclonedx)
#   BERTH_RELEASES_URL  the project's releases page (https://github.com/OWNER/REPO/releases);
#                       default: from `git remote get-url origin` when it is on GitHub
#   CARGO_TARGET_DIR    where cargo builds (default target/)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/release/toolchain.sh
source scripts/release/toolchain.sh

usage() {
  sed -n '2,13p' "$0" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
version=$1
mode=${2:-all}
[[ $mode == all || $mode == --manifests ]] || usage
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "release: VERSION \`$version\` is not a semantic version (e.g. 0.2.0 or 1.0.0-rc.1)" >&2
  exit 2
fi
crate_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [[ $version != "$crate_version" ]]; then
  echo "release: VERSION $version differs from Cargo.toml's version $crate_version" >&2
  echo "hint: set version = \"$version\" in Cargo.toml (and commit it): berth --version prints that one" >&2
  exit 2
fi

out=${BERTH_RELEASE_OUT:-$repo/dist}
targets=${BERTH_RELEASE_TARGETS:-$RELEASE_TARGETS_ALL}
profile=${BERTH_RELEASE_PROFILE:-dist}
profile_dir=$profile
[[ $profile == dev ]] && profile_dir=debug
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
# The archives' dates. Not exported: cc-rs reruns ring's build script when SOURCE_DATE_EPOCH
# changes, which would rebuild the TLS stack for every new commit.
source_date_epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  rel_say "warning: uncommitted changes: the binaries say commit ${commit:0:12}, which does not hold them"
fi

releases_url=${BERTH_RELEASES_URL:-}
if [[ -z $releases_url ]]; then
  origin=$(git remote get-url origin 2>/dev/null || true)
  if [[ $origin =~ github\.com[:/]([^/]+)/([^/]+)$ ]]; then
    releases_url="https://github.com/${BASH_REMATCH[1]}/${BASH_REMATCH[2]%.git}/releases"
  else
    releases_url="https://github.com/OWNER/berth/releases"
    rel_say "warning: no GitHub origin: the manifests and installers name $releases_url; set BERTH_RELEASES_URL"
  fi
fi
download_url="$releases_url/download/v$version"

# A binary built for $1 runs here natively, under qemu-aarch64 or under Wine.
runner() {
  case $1 in
    x86_64-unknown-linux-* | *-apple-darwin) ;;
    aarch64-unknown-linux-*) echo qemu-aarch64 ;;
    *-windows-*) echo wine ;;
    *) return 1 ;;
  esac
}


build_target() {
  local target=$1 start=$SECONDS
  rel_say "building $target (profile $profile)"
  local cargo=(nice -n 10 cargo +"$RUST_VERSION" build --locked --profile "$profile" --target "$target" --bin berth)
  case $target in
    x86_64-unknown-linux-musl)
      CC_x86_64_unknown_linux_musl=musl-gcc "${cargo[@]}" >&2
      ;;
    aarch64-unknown-linux-musl)
      # ring's C and assembly need an aarch64 musl C compiler: zig's.
      PATH=$zig_bin:$zigbuild_bin:$PATH nice -n 10 cargo +"$RUST_VERSION" zigbuild --locked \
        --profile "$profile" --target "$target" --bin berth >&2
      ;;
    *-apple-darwin)
      # Only on a Mac of that architecture (the workflow's runners).
      "${cargo[@]}" >&2
      ;;
    x86_64-pc-windows-gnu)
      CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc \
        CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc "${cargo[@]}" >&2
      ;;
    *)
      echo "release: no recipe for target $target (known: $RELEASE_TARGETS_ALL)" >&2
      return 2
      ;;
  esac
  rel_say "built $target in $((SECONDS - start)) s"
  echo "$target $((SECONDS - start))" >>"$out/build-times.txt"
}

# Runs the built binary of $1 with the remaining arguments.
run_built() {
  local target=$1 exe
  shift
  exe=$CARGO_TARGET_DIR/$target/$profile_dir/berth
  [[ $target == *windows* ]] && exe+=.exe
  local run
  run=$(runner "$target")
  # shellcheck disable=SC2086 # the runner is one word or none
  $run "$exe" "$@"
}

# Writes the archive of $1 into $out.
package_target() {
  local target=$1 name stage ext=tar.gz exe=berth
  name=berth-$version-$target
  [[ $target == *windows* ]] && ext=zip exe=berth.exe
  stage=$(mktemp -d)
  mkdir -p "$stage/$name/completions" "$stage/$name/man"
  cp "$CARGO_TARGET_DIR/$target/$profile_dir/$exe" "$stage/$name/$exe"
  cp LICENSE README.md "$stage/$name/"
  # Printed by the binary being shipped, so they describe exactly its flags.
  local shell file
  for shell in bash zsh fish powershell; do
    case $shell in
      bash) file=berth.bash ;;
      zsh) file=_berth ;;
      fish) file=berth.fish ;;
      powershell) file=_berth.ps1 ;;
    esac
    run_built "$target" completions "$shell" >"$stage/$name/completions/$file"
    [[ -s $stage/$name/completions/$file ]] || { echo "release: empty $shell completions" >&2; return 1; }
  done
  run_built "$target" man >"$stage/$name/man/berth.1"
  grep -q '^\.TH' "$stage/$name/man/berth.1" || { echo "release: berth man printed no man page" >&2; return 1; }
  find "$stage" -exec touch -h -d "@$source_date_epoch" {} +
  rm -f "$out/$name.$ext"
  if [[ $ext == zip ]]; then
    python3 scripts/release/zip.py "$out/$name.zip" "$stage" "$name" "$source_date_epoch"
  else
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$source_date_epoch" \
      --format=gnu -C "$stage" -cf - "$name" | gzip -9 -n >"$out/$name.tar.gz"
  fi
  rm -rf "$stage"
  (cd "$out" && sha256sum "$name.$ext" >"$name.$ext.sha256")
  rel_say "$name.$ext: $(stat -c %s "$out/$name.$ext") bytes"
}

# The CycloneDX SBOM of $1's dependency tree (normal dependencies, that target's platform).
sbom_target() {
  local target=$1 name=berth-$version-$1
  (cd "$repo" && "$cyclonedx_bin/cargo-cyclonedx" cyclonedx --quiet --format json \
    --target "$target" --override-filename "$name.cdx" >&2)
  mv "$repo/$name.cdx.json" "$out/$name.cdx.json"
}

checksums() {
  (cd "$out" && find . -maxdepth 1 -type f \( -name 'berth-*.tar.gz' -o -name 'berth-*.zip' \
    -o -name 'berth-*.cdx.json' \) -printf '%f\n' | LC_ALL=C sort | xargs sha256sum >sha256.sum)
}

# install.sh / install.ps1 with this release's URL, and the package manifests.
installers_and_manifests() {
  sed "s|^releases_url=.*|releases_url='$releases_url'|" scripts/install.sh >"$out/install.sh"
  sed "s|^\$ReleasesUrl = .*|\$ReleasesUrl = '$releases_url'|" scripts/install.ps1 >"$out/install.ps1"
  chmod +x "$out/install.sh"
  python3 scripts/release/manifests.py --version "$version" --out "$out" \
    --download-url "$download_url" --releases-url "$releases_url"
}

mkdir -p "$out"
if [[ $mode == --manifests ]]; then
  (cd "$out" && cat berth-*.sha256 | sha256sum --quiet -c -) || {
    echo "release: an archive in $out does not match its .sha256" >&2
    exit 1
  }
  checksums
  installers_and_manifests
  exit 0
fi

packages=()
for target in $targets; do
  # shellcheck disable=SC2207 # one word per package
  packages+=($(debian_packages_for "$target"))
done
ensure_debian_packages "${packages[@]}"
# shellcheck disable=SC2086 # a list of targets
ensure_rust_targets $targets
zigbuild_bin='' zig_bin='' cyclonedx_bin=''
if [[ " $targets " == *" aarch64-unknown-linux-musl "* ]]; then
  zigbuild_bin=$(ensure_cargo_tool cargo-zigbuild "$ZIGBUILD_VERSION")
  zig_bin=$(ensure_zig)
fi
[[ ${BERTH_RELEASE_SBOM:-1} == 0 ]] || cyclonedx_bin=$(ensure_cargo_tool cargo-cyclonedx "$CYCLONEDX_VERSION")
case " $targets " in *windows*) ensure_wine_prefix ;; esac

rm -f "$out/build-times.txt"
for target in $targets; do
  build_target "$target"
  package_target "$target"
  [[ -z $cyclonedx_bin ]] || sbom_target "$target"
done
checksums
installers_and_manifests
rel_say "release $version ($commit) in $out:"
(cd "$out" && ls -l) >&2
