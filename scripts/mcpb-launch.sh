#!/bin/sh
# MCPB entry point on Linux and macOS: run the binary built for this machine.
dir=$(dirname "$0")
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
  x86_64|amd64) arch=amd64 ;;
  arm64|aarch64) arch=arm64 ;;
  *) echo "zoho-mcp-proxy: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
exec "$dir/zoho-mcp-proxy-$os-$arch" "$@"
