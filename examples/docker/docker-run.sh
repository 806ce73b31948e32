#!/bin/sh
# zoho-mcp-proxy in Docker. Build the image first: make docker (it is tagged
# zoho-mcp-proxy). Run these from the repository root; put your own token hashes
# in the permissions file first (see examples/permissions.yaml).

# HTTP on this machine's loopback, detached. The container listens on all its
# interfaces, so callers need a bearer token: mount the permissions file and
# point ZOHO_MCP_PROXY_PERMISSIONS at it (the file must be readable by uid
# 65532). The named volume keeps cached access tokens across restarts. Secrets
# given as `-e NAME` come from this shell's environment.
docker run -d --name zoho-crm -p 127.0.0.1:8765:8765 \
  -e ZOHO_DC=eu -e ZOHO_CLIENT_ID -e ZOHO_CLIENT_SECRET -e ZOHO_REFRESH_TOKEN -e ZOHO_MCP_ENDPOINT \
  -e ZOHO_MCP_PROXY_PERMISSIONS=/etc/zoho-mcp-proxy/permissions.yaml \
  -v "$PWD/examples/permissions.yaml:/etc/zoho-mcp-proxy/permissions.yaml:ro" \
  -v zoho-mcp-proxy-tokens:/home/nonroot/.cache \
  zoho-mcp-proxy
docker inspect -f '{{.State.Health.Status}}' zoho-crm # starting, then healthy
docker logs zoho-crm

# The built-in sandbox instead of your org: no Zoho account needed.
docker run --rm -p 127.0.0.1:8765:8765 \
  -e ZOHO_MCP_PROXY_PERMISSIONS=/etc/zoho-mcp-proxy/permissions.yaml \
  -v "$PWD/examples/permissions.yaml:/etc/zoho-mcp-proxy/permissions.yaml:ro" \
  zoho-mcp-proxy serve --transport http --addr 0.0.0.0:8765 --sandbox

# stdio, for a client that starts the server itself (see clients/): -i, no port.
docker run -i --rm -e ZOHO_DC=eu -e ZOHO_CLIENT_ID -e ZOHO_CLIENT_SECRET -e ZOHO_REFRESH_TOKEN \
  -v zoho-mcp-proxy-tokens:/home/nonroot/.cache \
  zoho-mcp-proxy serve --transport stdio
