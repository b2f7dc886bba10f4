#!/usr/bin/env bash
# Seed a registry with a Python 3.12 base under the name the app specs use,
# docker.io/library/python:3.12-slim-bookworm. Debian bookworm ships Python 3.11 only, so the
# interpreter is a CPython 3.12 already installed on this machine (pyenv's, or PYTHON312_PREFIX),
# relocated to /usr/local, with the shared libraries it and its extension modules link against
# copied from this Debian system, plus busybox-static for /bin/sh. Not the upstream image, but the
# same layout (/usr/local/bin/python3.12, a shell, numeric users) for building and running the
# app images. Usage: seed-python.sh HOST:PORT   (prints a notice and exits 0 when no 3.12 exists)
set -euo pipefail
addr=$1
tag=3.12-slim-bookworm
dest="docker://$addr/library/python:$tag"

source "$(dirname "$0")/seed-common.sh"

if seed_present "$dest"; then
  echo "seed-python: $dest already present"
  exit 0
fi
prefix=${PYTHON312_PREFIX:-}
if [[ -z $prefix ]]; then
  for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.* 2>/dev/null | sort -V -r); do
    [[ -x $candidate/bin/python3.12 ]] && { prefix=$candidate; break; }
  done
fi
if [[ -z $prefix || ! -x $prefix/bin/python3.12 ]]; then
  echo "seed-python: no CPython 3.12 found (set PYTHON312_PREFIX); skipping the Python base"
  exit 0
fi

seed_begin "$tag"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib" "$rootfs/usr/lib/x86_64-linux-gnu"

# The interpreter and its standard library, without tests, tk, idle, static libs and site-packages.
version=$("$prefix/bin/python3.12" -c 'import platform; print(platform.python_version())')
cp -a "$prefix/bin/python3.12" "$rootfs/usr/local/bin/"
ln -s python3.12 "$rootfs/usr/local/bin/python3"
ln -s python3.12 "$rootfs/usr/local/bin/python"
tar -C "$prefix/lib" \
  --exclude='python3.12/test' --exclude='python3.12/idlelib' --exclude='python3.12/tkinter' \
  --exclude='python3.12/turtledemo' --exclude='python3.12/ensurepip' --exclude='python3.12/lib2to3' \
  --exclude='python3.12/config-3.12-*' --exclude='python3.12/site-packages/*' --exclude='__pycache__' \
  --exclude='_tkinter*.so' \
  -cf - python3.12 | tar -C "$rootfs/usr/local/lib" -xf -
# libpython goes where the loader looks without an ld.so.cache.
cp -L "$prefix/lib/libpython3.12.so.1.0" "$rootfs/usr/lib/x86_64-linux-gnu/"

# Every shared library the interpreter and its extension modules need, from this system, plus
# all of glibc and the C/C++ runtimes that binary wheels expect (upstream's slim image has them).
{
  for lib in $(dpkg -L libc6 libgcc-s1 libstdc++6 zlib1g 2>/dev/null | grep -E '/lib/x86_64-linux-gnu/[^/]+\.so(\.[0-9]+)*$'); do
    [[ -e $lib ]] && printf '\t%s => %s (0x0)\n' "$(basename "$lib")" "$lib"
  done
  ldd "$prefix/bin/python3.12"
  find "$rootfs/usr/local/lib/python3.12/lib-dynload" -name '*.so' -exec ldd {} \;
} | seed_copy_libs "$prefix"

seed_push "$tag" "$dest" \
  --config.env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env LANG=C.UTF-8 --config.env PYTHON_VERSION="$version" \
  --config.cmd python3
echo "seed-python: pushed $dest (CPython $version from $prefix)"
