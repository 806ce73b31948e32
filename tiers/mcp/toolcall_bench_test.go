package mcp

import (
	"encoding/json"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// BenchmarkToolResult reads one get_account result (the emulator's record
// as the text of one content item, ≈2 KB) with mcp-go's parser, which
// Client.CallTool runs, and with parseToolResult; then the whole read from
// the result's bytes to the record's (what callTool and readRaw do after
// the transport decoded the response, which validated the result) with the
// decoding reader this tier had (read-old, the oracle of oracle_test.go)
// and the walking one.
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
	tr := New(Config{})
	b.Run("read-old", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			res, _, err := oldParseToolResult(raw)
			if err != nil {
				b.Fatal(err)
			}
			if data, _, err := tr.oldReadResult(res); err != nil || len(data) == 0 {
				b.Fatal(data, err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			res, _, err := parseValidToolResult(raw)
			if err != nil {
				b.Fatal(err)
			}
			if data, _, err := tr.readResult(res); err != nil || len(data) == 0 {
				b.Fatal(data, err)
			}
		}
	})
}

// TestReadAllocations pins the walking reader's allocations for one
// get_account result (counted, not timed): the result and the decoded
// text; the decoding reader it replaced made 31.
func TestReadAllocations(t *testing.T) {
	sim, err := zohosim.Start(zohosim.Options{Accounts: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := sim.Store().Get(sim.Store().IDs()[0])
	_ = sim.Close()
	body, _ := json.Marshal(map[string]any{"data": []any{rec}})
	raw, _ := json.Marshal(mcpgo.NewToolResultText(string(body)))
	tr := New(Config{})
	n := testing.AllocsPerRun(100, func() {
		res, _, err := parseValidToolResult(raw)
		if err != nil {
			t.Fatal(err)
		}
		if data, _, err := tr.readResult(res); err != nil || len(data) == 0 {
			t.Fatal(data, err)
		}
	})
	if n > 2 {
		t.Errorf("reading a get_account result allocates %v times, want at most 2", n)
	}
}
