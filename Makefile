# zoho-mcp-proxy — run `make help` for the targets.
GO       ?= go
BIN      := bin/zoho-mcp-proxy
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
NODE_DIR := e2e/node

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets with one line each.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the binary into bin/.
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/zoho-mcp-proxy

.PHONY: run
run: build ## Run the proxy on stdio against the embedded sandbox.
	./$(BIN) serve --sandbox

.PHONY: demo
demo: ## The guided tour: sandbox + proxy + a real MCP client, failover included.
	$(GO) run ./cmd/zoho-mcp-proxy demo

.PHONY: lint
lint: ## gofmt check, go vet and staticcheck (pinned in go.mod as a tool).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: node-deps
node-deps: ## Install the independent MCP clients and validators (npm ci, lockfile).
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error

.PHONY: test-deps
test-deps: ## Install Chromium and redis-server where possible (the tests that need them skip otherwise).
	./scripts/deps-chromium.sh
	./scripts/deps-redis.sh

.PHONY: test
test: lint node-deps test-deps ## Everything CI runs: lint, go test -race, external clients, conformance, manifest, README quickstart, image (where docker runs).
	$(GO) test -race -count=1 -timeout 20m ./...
	./scripts/conformance.sh
	./scripts/validate-manifest.sh
	./scripts/readme-quickstart.sh
	./scripts/docker-test.sh

.PHONY: bench
bench: ## Go benchmarks (see docs/BENCHMARKS.md for the figures and how to read them).
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

.PHONY: soak
soak: build ## 10-minute soak of serve --sandbox: hostile callers, faults, RSS/goroutines/fds/temp files (SOAK_ARGS to change).
	$(GO) build -o bin/zmp-load ./cmd/zmp-load
	nice -n 10 ./bin/zmp-load soak -bin ./$(BIN) $(SOAK_ARGS)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 2m) each.
	./scripts/fuzz.sh $${FUZZTIME:-2m}

.PHONY: bundle
bundle: node-deps ## Build the MCPB bundle (.mcpb) with Linux, macOS and Windows binaries.
	./scripts/bundle.sh

.PHONY: release
release: ## Build the five release binaries (linux, darwin: amd64, arm64; windows/amd64) and SHA256SUMS into dist/.
	VERSION=$(VERSION) COMMIT=$(COMMIT) ./scripts/release.sh

.PHONY: docker
docker: ## Build the container image zoho-mcp-proxy:VERSION and :latest (distroless, non-root; see examples/docker/).
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t zoho-mcp-proxy:$(VERSION) -t zoho-mcp-proxy:latest .

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf bin dist
