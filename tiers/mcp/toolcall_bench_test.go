package mcp

import (
	"encoding/json"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// BenchmarkToolResult reads one get_account result (the emulator's record
// as the text of one content item, ≈2 KB) with mcp-go's parser, which
// Client.CallTool runs, and with parseToolResult.
func BenchmarkToolResult(b *testing.B) {
	sim, err := zohosim.Start(zohosim.Options{Accounts: 1})
	if err != nil {
		b.Fatal(err)
	}
	rec, _ := sim.Store().Get(sim.Store().IDs()[0])
	_ = sim.Close()
	body, _ := json.Marshal(map[string]any{"data": []any{rec}})
	raw, _ := json.Marshal(mcpgo.NewToolResultText(string(body)))
	b.Run("mcp-go", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			m := json.RawMessage(raw)
			if _, err := mcpgo.ParseCallToolResult(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parseToolResult", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := parseToolResult(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
