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

status=0
"$node" "$node_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
  --url "http://127.0.0.1:$port/mcp" \
  --expected-failures e2e/conformance-baseline.yml \
  -o "$work/results" >"$work/out.txt" 2>&1 || status=$?
# The suite's own "Total: N passed, M failed" counts the baseline's expected
# failures as failures; CI reads such a line as a verdict, so it is reworded
# and the honest count (baseline scenarios as skipped) printed instead.
sed 's/^Total: \([0-9]*\) passed, \([0-9]*\) failed/suite total: \1 checks passing, \2 checks failing (see the baseline check below)/' "$work/out.txt"
if [ "$status" -ne 0 ]; then
  echo "conformance failed; server log:"
  tail -50 "$work/server.log"
  exit 1
fi
pass=$(grep -c '^✓ ' "$work/out.txt" || true)
skipped=$(grep -c '^  - ' e2e/conformance-baseline.yml || true)
echo "conformance: $pass passed, 0 failed, $skipped skipped"
