#!/usr/bin/env bash
# Builds the release binaries into dist/ (or $OUT): one per OS/arch of
# $TARGETS (default: the five below), named zoho-mcp-proxy-VERSION-OS-ARCH
# (.exe on Windows), with the version stamped from the git tag
# (`git describe --tags`; override with VERSION=v1.2.3) and the commit, and
# SHA256SUMS.
# Verify a download with: sha256sum --check --ignore-missing SHA256SUMS
# GO names the go command (default go; the tests put a recorder there).
set -euo pipefail
cd "$(dirname "$0")/.."
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || true)}
out=${OUT:-dist}
targets=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}
mkdir -p "$out"
names=()
for target in $targets; do
  os=${target%/*}; arch=${target#*/}
  name="zoho-mcp-proxy-$version-$os-$arch"
  [ "$os" = windows ] && name="$name.exe"
  echo "release: building $name"
  # The flags of `make build` and of the Dockerfile: tests compare them.
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch "${GO:-go}" build -trimpath -ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
    -o "$out/$name" ./cmd/zoho-mcp-proxy
  names+=("$name")
done
if command -v sha256sum >/dev/null; then sum=(sha256sum); else sum=(shasum -a 256); fi
(cd "$out" && "${sum[@]}" "${names[@]}" > SHA256SUMS)
echo "release: ${#names[@]} binaries of $version and SHA256SUMS in $out/"
