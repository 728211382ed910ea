#!/usr/bin/env bash
# Build both container images (Dockerfile targets `service` and `operator`) with podman, on a machine without
# Docker and without access to a container registry: CI, and any Debian machine with podman from apt.
#
# 1. The base image. The Dockerfile's default base is the public python:3.12-slim, which needs a registry. Here
#    it is made locally, once: a minimal Debian bookworm root (mmdebstrap) with this machine's CPython 3.12
#    copied to /usr/local (as the official image has it), trusting the machine's extra CA certificates (so pip
#    inside the build reaches the package registry through the same TLS proxy as the machine's own pip), then
#    `podman import`ed. An existing base image is reused. Why bookworm + 3.12 and not trixie + 3.13: see
#    docs/deploy.md ("Building the images without a registry").
#    Beside it, from the same packages and the same Python plus binutils, the build base: the stages that make
#    each image's venv strip the debug symbols from its shared libraries (about 40 MB in the service image) with
#    it, and the runtime images stay without binutils. The local base has no apt to install binutils with (the
#    public python:3.12-slim has, and the Dockerfile uses it there). Reused like the base.
# 2. Both targets, with --build-arg PYTHON_IMAGE=<the base> BUILD_IMAGE=<the build base>. The second reuses the
#    first one's cached layers (the wheels stage), and a rebuild reuses all that did not change.
# 3. Prints each image's size and the build time.
#
# Usage: scripts/build-images.sh [--rebuild-base]
#
# Environment (all optional):
#   APIBASE_BASE_IMAGE   base image to build on; set it (e.g. python:3.12-slim) to skip the local bases (it is
#                        then the build base too)
#   APIBASE_IMAGE_TAG    tag of both images (default: local): apibase-service:TAG, apibase-operator:TAG
#   APIBASE_PYTHON       the Python 3.12 whose installation goes into the base (default: python3.12 on PATH)
#   CONTAINERS_CONF      podman settings (default: scripts/podman/containers.conf)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/scripts/podman/containers.conf}"
LOCAL_BASE="localhost/apibase-python:3.12-bookworm"
LOCAL_BUILD_BASE="localhost/apibase-python-build:3.12-bookworm"
BASE="${APIBASE_BASE_IMAGE:-$LOCAL_BASE}"
BUILD_BASE="$BASE"
TAG="${APIBASE_IMAGE_TAG:-local}"
PYTHON="${APIBASE_PYTHON:-python3.12}"
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
REBUILD_BASE=0

for arg in "$@"; do
  case "$arg" in
    --rebuild-base) REBUILD_BASE=1 ;;
    -h | --help)
      sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

command -v podman >/dev/null || { echo "podman is not installed (apt-get install podman)" >&2; exit 1; }

# libstdc++ (greenlet and other C++ wheels); the libraries of CPython's extension modules (ssl, ctypes, sqlite3,
# bz2, lzma, zlib, readline, curses, uuid, pyexpat, nis); the CA store, /etc/services, the time zones, useradd.
# Only Essential packages besides: no apt, no perl, no compiler (the images install wheels).
BASE_PACKAGES=passwd,ca-certificates,libstdc++6,netbase,tzdata,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5
BASE_PACKAGES+=,zlib1g,libreadline8,libncursesw6,libtinfo6,libuuid1,libexpat1,libnsl2,libtirpc3

# build_base IMAGE PACKAGES: the Debian root with PACKAGES and this machine's Python, imported as IMAGE.
build_base() {
  local image="$1" packages="$2"
  command -v mmdebstrap >/dev/null || { echo "mmdebstrap is not installed (apt-get install mmdebstrap)" >&2; exit 1; }
  local prefix version rootfs
  prefix="$("$PYTHON" -c 'import sys; print(sys.base_prefix)')"
  version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [[ "$version" == 3.12 ]] || { echo "$PYTHON is Python $version; the images need 3.12" >&2; exit 1; }
  rootfs="$(mktemp -d)"
  trap 'rm -rf "${rootfs:-}"; trap - RETURN' RETURN
  echo "Building the base image $image: Debian $SUITE + Python $version from $prefix"
  # merged-usr hook: the merged /usr layout without the usrmerge package (and the perl it pulls in).
  mmdebstrap --quiet --variant=essential --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include="$packages" --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$rootfs" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $MIRROR-security $SUITE-security main"
  # The interpreter, the standard library and pip; as in the official image, no tests, no bytecode, no static
  # library or headers (nothing is compiled in the images), no Tk, and none of the machine's own site-packages.
  tar -C "$prefix" -c \
    --exclude='lib/python3.12/test' --exclude='*/tests' --exclude='*/idle_test' --exclude='*/__pycache__' \
    --exclude='lib/python3.12/idlelib' --exclude='lib/python3.12/tkinter' \
    --exclude='lib/python3.12/turtledemo' --exclude='lib/python3.12/lib-dynload/_tkinter*' \
    --exclude='lib/python3.12/config-3.12-*' \
    --exclude='lib/pkgconfig' --exclude='lib/libpython3.12.a' --exclude='bin/*-config' --exclude='bin/idle*' \
    --exclude='bin/2to3*' --exclude='bin/*-gdb.py' \
    --exclude='lib/python3.12/site-packages/*' \
    bin lib \
    | tar -C "$rootfs/usr/local" -x
  cp -a "$prefix/lib/python3.12/site-packages/pip" "$prefix"/lib/python3.12/site-packages/pip-*.dist-info \
    "$rootfs/usr/local/lib/python3.12/site-packages/"
  find "$rootfs/usr/local" -depth -name __pycache__ -exec rm -rf {} +
  # pip's scripts name the interpreter by its path on this machine.
  sed -i "1s|^#!$prefix/bin/|#!/usr/local/bin/|" "$rootfs"/usr/local/bin/pip*
  chroot "$rootfs" ldconfig
  # Trust what the machine trusts beyond Debian's CAs (a TLS-inspecting proxy in front of the registry).
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  chroot "$rootfs" update-ca-certificates --fresh >/dev/null
  chroot "$rootfs" python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, pyexpat'
  # pip uses its own CA bundle unless told otherwise: point it at the system store (which has the extra CAs).
  tar -C "$rootfs" -c . | podman import --quiet \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' \
    - "$image" >/dev/null
}

started=$SECONDS
if [[ "$BASE" == "$LOCAL_BASE" ]]; then
  BUILD_BASE="$LOCAL_BUILD_BASE"
  for image in "$LOCAL_BASE" "$LOCAL_BUILD_BASE"; do
    if ((REBUILD_BASE)) || ! podman image exists "$image"; then
      packages="$BASE_PACKAGES"
      [[ "$image" == "$LOCAL_BUILD_BASE" ]] && packages+=,binutils
      build_base "$image" "$packages"
    else
      echo "Reusing the base image $image"
    fi
  done
fi

for target in service operator; do
  echo "Building apibase-$target:$TAG on $BASE"
  # The build talks to the package registry only: the host's network, no bridge for netavark to set up.
  podman build --quiet --network=host --target "$target" \
    --build-arg PYTHON_IMAGE="$BASE" --build-arg BUILD_IMAGE="$BUILD_BASE" \
    --build-arg REVISION="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
    --tag "apibase-$target:$TAG" "$ROOT" >/dev/null
done

for target in service operator; do
  size="$(podman image inspect --format '{{.Size}}' "apibase-$target:$TAG")"
  echo "apibase-$target:$TAG $((size / 1000000)) MB"
done
echo "Built in $((SECONDS - started)) s"
