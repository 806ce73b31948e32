#!/usr/bin/env bash
# Builds dist/zoho-mcp-proxy.mcpb: the manifest plus binaries for Linux and
# macOS (amd64 and arm64, picked at launch by server/launch.sh, because MCPB
# platform overrides key on the OS only) and Windows (amd64), then checks the
# bundle with `mcpb validate` and `mcpb info`.
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin="$PWD/e2e/node/node_modules/.bin"
[ -x "$node_bin/mcpb" ] || (cd e2e/node && npm ci --no-audit --no-fund --loglevel=error)
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/server" dist
cp manifest.json "$stage/"
[ -f icon.png ] && cp icon.png "$stage/"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do
  os=${target%/*}; arch=${target#*/}
  out="$stage/server/zoho-mcp-proxy-$os-$arch"
  [ "$os" = windows ] && out="$stage/server/zoho-mcp-proxy.exe"
  echo "building $os/$arch"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "-s -w -X main.version=$version" \
    -o "$out" ./cmd/zoho-mcp-proxy
done
cp scripts/mcpb-launch.sh "$stage/server/zoho-mcp-proxy"
chmod +x "$stage/server/"*
"$node_bin/mcpb" validate "$stage/manifest.json"
"$node_bin/mcpb" pack "$stage" dist/zoho-mcp-proxy.mcpb
"$node_bin/mcpb" info dist/zoho-mcp-proxy.mcpb
