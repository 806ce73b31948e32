#!/usr/bin/env bash
# Validates manifest.json with the MCPB CLI pinned in e2e/node (works offline).
# That the manifest's tools equal a live tools/list is checked by the Go tests.
set -euo pipefail
cd "$(dirname "$0")/.."
node_dir=e2e/node
[ -x "$node_dir/node_modules/.bin/mcpb" ] || (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
PATH="$PWD/$node_dir/node_modules/.bin:$PATH" mcpb validate manifest.json
