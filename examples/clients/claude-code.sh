#!/bin/sh
# Claude Code: register zoho-mcp-proxy as an MCP server (run one of these once).
# Secrets are read from this shell's environment; export them first.

# stdio: Claude Code starts the binary itself.
claude mcp add zoho-crm --env ZOHO_DC=eu --env ZOHO_CLIENT_ID="$ZOHO_CLIENT_ID" \
  --env ZOHO_CLIENT_SECRET="$ZOHO_CLIENT_SECRET" --env ZOHO_REFRESH_TOKEN="$ZOHO_REFRESH_TOKEN" \
  -- /absolute/path/to/zoho-mcp-proxy serve --transport stdio

# The built-in sandbox, no Zoho account needed.
claude mcp add zoho-crm-sandbox -- /absolute/path/to/zoho-mcp-proxy serve --sandbox

# HTTP: a proxy already running with `serve --transport http` (see http.sh),
# with a bearer token from the permissions file.
claude mcp add --transport http zoho-crm-http http://127.0.0.1:8765/mcp \
  --header "Authorization: Bearer $MCP_TOKEN"
