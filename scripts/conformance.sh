#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# on the Node 22 that e2e/node installs) against `serve --transport http
# --sandbox` on a free loopback port. Scenarios that need the suite's fixture
# tools, prompts and resources (which a CRM proxy does not have) are listed in
# e2e/conformance-baseline.yml; every other scenario must pass, and a listed
# scenario that starts passing fails the run too (stale baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
node_dir=e2e/node
node="$node_dir/node_modules/.bin/node"
[ -x "$node" ] || (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/zoho-mcp-proxy" ./cmd/zoho-mcp-proxy
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/zoho-mcp-proxy" serve --transport http --sandbox --addr "127.0.0.1:$port" --log-level warn 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

"$node" "$node_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
  --url "http://127.0.0.1:$port/mcp" \
  --expected-failures e2e/conformance-baseline.yml \
  -o "$work/results" || { echo "conformance failed; server log:"; tail -50 "$work/server.log"; exit 1; }
