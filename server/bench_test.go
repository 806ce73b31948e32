package server

import (
	"context"
	"net/http"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkHTTPToolCall measures one tools/call of a trivial tool through the
// whole HTTP front door (Host/Origin, bearer, body limit, in-flight cap,
// filter, middleware, call log) with the official Go SDK client, per
// protocol era.
func BenchmarkHTTPToolCall(b *testing.B) {
	for _, era := range []struct{ name, pv string }{{"2026-07-28", ""}, {"2025-11-25", "2025-11-25"}} {
		b.Run(era.name, func(b *testing.B) {
			ts := startHTTP(b, testPolicy(b))
			ctx := context.Background()
			hc := &http.Client{Transport: bearerTransport{readerToken}}
			c := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: hc, DisableStandaloneSSE: true},
				&sdk.ClientSessionOptions{ProtocolVersion: era.pv})
			if err != nil {
				b.Fatal(err)
			}
			defer cs.Close()
			args := map[string]any{"id": "1"}
			b.ReportAllocs()
			for b.Loop() {
				r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_thing", Arguments: args})
				if err != nil || r.IsError {
					b.Fatal(err, r)
				}
			}
		})
	}
}
