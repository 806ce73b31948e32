# syntax=docker/dockerfile:1
# zoho-mcp-proxy as a container: `make docker` builds it, scripts/docker-test.sh
# proves it (build, start, HEALTHCHECK healthy, /healthz), examples/docker/ shows
# how to run it.
#
# The default command serves MCP over HTTP on every interface of the container,
# which the proxy only does when callers must present a bearer token: mount a
# permissions file with tokens and point ZOHO_MCP_PROXY_PERMISSIONS at it, e.g.
#   docker run -p 127.0.0.1:8765:8765 --env-file zoho.env \
#     -v "$PWD/permissions.yaml:/etc/zoho-mcp-proxy/permissions.yaml:ro" \
#     -e ZOHO_MCP_PROXY_PERMISSIONS=/etc/zoho-mcp-proxy/permissions.yaml zoho-mcp-proxy
# Without one it exits at once and says so. The file must be readable by uid 65532.

# Build on the builder's own platform and cross-compile for the target's
# (docker buildx --platform linux/arm64 needs no emulation).
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# The build context has no .git: make docker passes the commit.
ARG COMMIT=
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# The same flags as `make build` and `make release`.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/zoho-mcp-proxy ./cmd/zoho-mcp-proxy
# The token cache directory, made here because the final image has no shell.
RUN mkdir -p -m 0700 /out/cache/zoho-mcp-proxy

# Distroless static: CA certificates (Zoho is HTTPS), tzdata, /etc/passwd with
# the nonroot user, and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/zoho-mcp-proxy /zoho-mcp-proxy
# Owned by the user below, so that a named volume mounted on it starts so too.
COPY --from=build --chown=65532:65532 /out/cache /home/nonroot/.cache
# nonroot of the base image, numeric so that runAsNonRoot can verify it.
USER 65532:65532
# Access tokens are cached here (mode 0600) so restarts do not spend Zoho's
# 10 refreshes per 10 minutes; a volume mounted here must be writable by 65532.
ENV XDG_CACHE_HOME=/home/nonroot/.cache
EXPOSE 8765
# The binary checks itself: the image has no curl. If you change the port in
# the command, change it here too (or docker run --health-cmd).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --start-interval=1s --retries=3 \
    CMD ["/zoho-mcp-proxy", "healthcheck", "--url", "http://127.0.0.1:8765/healthz"]
ENTRYPOINT ["/zoho-mcp-proxy"]
CMD ["serve", "--transport", "http", "--addr", "0.0.0.0:8765"]
