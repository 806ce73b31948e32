// Command zoho-mcp-proxy gives AI agents permissioned, resilient access to
// Zoho CRM over MCP (stdio or HTTP), routing every call over three tiers.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Set at build time: go build -ldflags "-X main.version=1.2.3 -X main.commit=abc123".
var (
	version = "dev"
	commit  = ""
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts the graceful shutdown, a second one
	// gets the default behaviour: it kills the process.
	go func() { <-ctx.Done(); stop() }()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
