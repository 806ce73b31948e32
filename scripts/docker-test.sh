#!/usr/bin/env bash
# Proves the container image where a Docker engine runs: builds it, checks
# that it runs as non-root and refuses to start without a permissions file
# (saying how to give one), then starts it with one, waits for its own
# HEALTHCHECK to report healthy, and checks /healthz and the bearer on /mcp
# from the host. Removes the container and the image afterwards. Without an
# engine (`docker info` fails) it prints why it skipped and succeeds: the
# Dockerfile is still checked by cmd/zoho-mcp-proxy's Go tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker >/dev/null 2>&1; then
  echo "docker-test: skipped: no docker command on this machine"
  exit 0
fi
if ! info=$(docker info 2>&1); then
  reason=$(printf '%s\n' "$info" | grep -m1 -iE 'cannot connect|permission denied|error' || printf '%s\n' "$info" | tail -n1)
  echo "docker-test: skipped: docker info failed, no Docker engine here ($reason)"
  exit 0
fi

tag=docker-test-$$
image=zoho-mcp-proxy:$tag
name=zoho-mcp-proxy-$tag
work=$(mktemp -d)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "docker-test: FAIL: $*" >&2
  docker logs "$name" 2>&1 | tail -n 20 >&2 || true
  exit 1
}

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || true)
echo "docker-test: building $image (version $version)"
docker build --quiet --build-arg VERSION="$version" --build-arg COMMIT="$commit" -t "$image" . >/dev/null

out=$(docker run --rm "$image" --version)
case "$out" in "zoho-mcp-proxy $version "*) ;; *) fail "--version printed '$out', want version $version" ;; esac
user=$(docker image inspect -f '{{.Config.User}}' "$image")
case "$user" in "" | root | 0 | 0:* | root:*) fail "the image runs as '$user', want a non-root user" ;; esac

# The default command without a permissions file: a clear refusal.
if out=$(docker run --rm "$image" serve --transport http --addr 0.0.0.0:8765 --sandbox 2>&1); then
  fail "started on 0.0.0.0 without a permissions file"
fi
case "$out" in *ZOHO_MCP_PROXY_PERMISSIONS*) ;; *) fail "refusal does not say how to give a permissions file: $out" ;; esac

# With one: a token only this run knows, stored as its sha256.
token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
if command -v sha256sum >/dev/null; then hash=$(printf %s "$token" | sha256sum); else hash=$(printf %s "$token" | shasum -a 256); fi
cat >"$work/permissions.yaml" <<YAML
default_profile: reader
profiles:
  reader: { scopes: [read, monitor] }
tokens:
  - { profile: reader, sha256: "${hash%% *}" }
YAML
chmod 0644 "$work/permissions.yaml" # the image's user (65532) must read it
docker run -d --name "$name" -p 127.0.0.1::8765 --health-interval 2s \
  -v "$work/permissions.yaml:/etc/zoho-mcp-proxy/permissions.yaml:ro" \
  -e ZOHO_MCP_PROXY_PERMISSIONS=/etc/zoho-mcp-proxy/permissions.yaml \
  "$image" serve --transport http --addr 0.0.0.0:8765 --sandbox >/dev/null

start=$SECONDS
while :; do
  health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name")
  [ "$health" = healthy ] && break
  [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || fail "the container stopped (health '$health')"
  [ $((SECONDS - start)) -lt 90 ] || fail "not healthy after 90 s (health '$health')"
  sleep 1
done
addr=$(docker port "$name" 8765/tcp | head -n1)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/healthz")
[ "$code" = 200 ] || fail "GET /healthz answered $code"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"docker-test","version":"1"}}}'
mcp() {
  curl -s -o /dev/null -w '%{http_code}' -X POST "http://$addr/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' "$@" -d "$init"
}
code=$(mcp)
[ "$code" = 401 ] || fail "POST /mcp without a token answered $code, want 401"
code=$(mcp -H "Authorization: Bearer $token")
[ "$code" = 200 ] || fail "POST /mcp with the token answered $code, want 200"
echo "docker-test: ok: $image runs as $user, refuses 0.0.0.0 without a permissions file, healthy after $((SECONDS - start)) s, /healthz 200, /mcp 401 without the token and 200 with it"
