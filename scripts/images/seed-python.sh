#!/usr/bin/env bash
# Seed a registry with Python bases under the names init-written and app specs use,
# docker.io/library/python:X.Y-slim-bookworm, one per version in PYTHON_VERSIONS (default
# "3.12 3.13"). Debian bookworm ships Python 3.11 only, so each interpreter is a CPython X.Y already
# installed on this machine (pyenv's newest X.Y.*, or PYTHON3YY_PREFIX, e.g. PYTHON313_PREFIX),
# relocated to /usr/local, with the shared libraries it and its extension modules link against
# copied from this Debian system, plus busybox-static for /bin/sh. Not the upstream image, but the
# same layout (/usr/local/bin/pythonX.Y, a shell, numeric users) for building and running images.
#
# With arm64 in SEED_ARCHES (`registry.sh up --python --arm64`) each tag becomes an image index
# whose linux/arm64 entry is built from Debian's arm64 packages: busybox-static, glibc, libgcc,
# libstdc++ and zlib (what manylinux wheels link against) and CPython's pure-Python standard
# library, but NO interpreter: no arm64 CPython 3.12+ can be had here (Debian bookworm has 3.11,
# the pyenv builds are x86-64, prebuilt CPythons are downloaded from outside the package
# registries). It serves builds for linux/arm64 and their architecture checks, not running them;
# its config says so in the label org.berth.stand-in.
# Usage: seed-python.sh HOST:PORT   (prints a notice and skips a version no CPython exists for)
set -euo pipefail
addr=$1
repo=library/python
arches=${SEED_ARCHES:-amd64}

source "$(dirname "$0")/seed-common.sh"

# seed_version X.Y: seeds python:X.Y-slim-bookworm (in a subshell: seed_begin's trap, globals).
seed_version() (
  py=$1
  tag=$py-slim-bookworm
  dest="docker://$addr/$repo:$tag"
  prefix_var=PYTHON${py//./}_PREFIX
  prefix=${!prefix_var:-}
  if [[ -z $prefix ]]; then
    for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$py".* 2>/dev/null | sort -V -r); do
      [[ -x $candidate/bin/python$py ]] && { prefix=$candidate; break; }
    done
  fi
  if [[ -z $prefix || ! -x $prefix/bin/python$py ]]; then
    if seed_present "$dest"; then
      echo "seed-python: $dest already present"
    else
      echo "seed-python: no CPython $py found (set $prefix_var); skipping python:$tag"
    fi
    return 0
  fi
  version=$("$prefix/bin/python$py" -c 'import platform; print(platform.python_version())')

  # The standard library without tests, tk, idle, static libs and site-packages; with PURE=1 also
  # without compiled extension modules.
  copy_stdlib() {
    local extra=() lib=python$py
    [[ -z ${PURE:-} ]] || extra=(--exclude="$lib/lib-dynload" --exclude='*.so')
    mkdir -p "$rootfs/usr/local/lib"
    tar -C "$prefix/lib" \
      --exclude="$lib/test" --exclude="$lib/idlelib" --exclude="$lib/tkinter" \
      --exclude="$lib/turtledemo" --exclude="$lib/ensurepip" --exclude="$lib/lib2to3" \
      --exclude="$lib/config-$py-*" --exclude="$lib/site-packages/*" --exclude='__pycache__' \
      --exclude='_tkinter*.so' "${extra[@]}" \
      -cf - "$lib" | tar -C "$rootfs/usr/local/lib" -xf -
  }

  config=(--config.env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
    --config.env LANG=C.UTF-8 --config.env PYTHON_VERSION="$version" --config.cmd python3)

  seed_amd64() (
    seed_begin "$tag"
    mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/lib/x86_64-linux-gnu"
    cp -a "$prefix/bin/python$py" "$rootfs/usr/local/bin/"
    ln -s "python$py" "$rootfs/usr/local/bin/python3"
    ln -s "python$py" "$rootfs/usr/local/bin/python"
    copy_stdlib
    # libpython goes where the loader looks without an ld.so.cache.
    cp -L "$prefix/lib/libpython$py.so.1.0" "$rootfs/usr/lib/x86_64-linux-gnu/"
    # Every shared library the interpreter and its extension modules need, from this system, plus
    # all of glibc and the C/C++ runtimes that binary wheels expect (upstream's slim image has them).
    {
      for lib in $(dpkg -L libc6 libgcc-s1 libstdc++6 zlib1g 2>/dev/null | grep -E '/lib/x86_64-linux-gnu/[^/]+\.so(\.[0-9]+)*$'); do
        [[ -e $lib ]] && printf '\t%s => %s (0x0)\n' "$(basename "$lib")" "$lib"
      done
      ldd "$prefix/bin/python$py"
      find "$rootfs/usr/local/lib/python$py/lib-dynload" -name '*.so' -exec ldd {} \;
    } | seed_copy_libs "$prefix"
    seed_push "$tag" "$1" "${config[@]}"
  )

  seed_arm64() (
    export SEED_ARCH=arm64
    seed_begin "$tag"
    seed_debs arm64 "$rootfs" libc6 libgcc-s1 libstdc++6 zlib1g
    PURE=1 copy_stdlib
    seed_push "$tag" "$1" "${config[@]}" \
      --config.label "org.berth.stand-in=no arm64 CPython $py here: the interpreter is missing, for builds and architecture checks only"
  )

  if [[ $arches == amd64 ]]; then
    # One platform: a plain manifest under TAG.
    if seed_present "$dest"; then
      echo "seed-python: $dest already present"
    else
      seed_amd64 "$dest"
      echo "seed-python: pushed $dest (CPython $version from $prefix)"
    fi
    return 0
  fi
  seed_keep_as "$addr" "$repo" "$tag" "$tag-linux-amd64"
  for arch in $arches; do
    arch_dest="$dest-linux-$arch"
    if seed_present "$arch_dest"; then
      echo "seed-python: $arch_dest already present"
    else
      "seed_$arch" "$arch_dest"
      echo "seed-python: pushed $arch_dest"
    fi
  done
  # shellcheck disable=SC2086 # one word per architecture
  seed_index "$addr" "$repo" "$tag" $arches
  echo "seed-python: $dest is an index of $arches (CPython $version from $prefix)"
)

for py in ${PYTHON_VERSIONS:-3.12 3.13}; do
  seed_version "$py"
done
