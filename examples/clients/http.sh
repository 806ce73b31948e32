#!/usr/bin/env bash
# Any HTTP client: one MCP session over Streamable HTTP with curl. It initializes,
# lists the tools, calls get_tier_health and ends the session. Start a server
# first, e.g. the sandbox on loopback:
#   zoho-mcp-proxy serve --transport http --addr 127.0.0.1:8765 --sandbox
# MCP_URL is the endpoint (default http://127.0.0.1:8765/mcp); MCP_TOKEN is your
# bearer token when the permissions file lists tokens.
set -euo pipefail
url=${MCP_URL:-http://127.0.0.1:8765/mcp}
headers=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
if [ -n "${MCP_TOKEN:-}" ]; then
  headers+=(-H "Authorization: Bearer $MCP_TOKEN")
fi
post() { curl -sS --fail-with-body "${headers[@]}" -X POST "$url" -d "$1"; }

# 1. initialize: the answer's Mcp-Session-Id header names the session.
session=$(curl -sS --fail-with-body -D - -o /dev/null "${headers[@]}" -X POST "$url" \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' |
  tr -d '\r' | awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}')
headers+=(-H "Mcp-Session-Id: $session" -H 'MCP-Protocol-Version: 2025-06-18')
post '{"jsonrpc":"2.0","method":"notifications/initialized"}'

# 2. the tools this caller's profile may use, then one call.
post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
echo
post '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_tier_health","arguments":{}}}'
echo

# 3. end the session.
curl -sS --fail-with-body "${headers[@]}" -X DELETE "$url"
