package mcp

import (
	"context"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// BenchmarkGetRaw is tier 1's part of get_account: one GetRaw through the
// tier against the emulator's hosted-MCP surface on loopback, the upstream
// session already open (allocations include the emulator's, which does not
// change between builds of the tier).
func BenchmarkGetRaw(b *testing.B) {
	sim, err := zohosim.Start(zohosim.Options{Accounts: 1, MCPKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	tr := New(Config{Endpoint: sim.MCPEndpoint(), CacheDir: b.TempDir(), Timeout: 10 * time.Second})
	defer tr.Close()
	ctx := tiers.WithScopes(context.Background(), []string{"read"})
	req := tiers.GetRequest{Module: "Accounts", ID: sim.Store().IDs()[0]}
	if _, err := tr.GetRaw(ctx, req); err != nil { // connects
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.GetRaw(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
