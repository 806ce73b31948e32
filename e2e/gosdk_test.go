package e2e

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestGoSDK drives the real binary with the official Go SDK client over
// every transport and protocol era: stdio, Streamable HTTP in the
// 2026-07-28 era (server/discover, no session) and the 2025-11-25 era
// (initialize, Mcp-Session-Id), and legacy SSE.
func TestGoSDK(t *testing.T) {
	t.Parallel()
	p := startHTTP(t, nil)
	cases := []struct {
		name, pv string
		tr       func() sdk.Transport
	}{
		{"stdio", "", func() sdk.Transport {
			return &sdk.CommandTransport{Command: exec.Command(binary, "serve", "--sandbox")}
		}},
		{"http 2026-07-28", "", func() sdk.Transport {
			return &sdk.StreamableClientTransport{Endpoint: p.url("/mcp"), DisableStandaloneSSE: true}
		}},
		{"http 2025-11-25", "2025-11-25", func() sdk.Transport { return &sdk.StreamableClientTransport{Endpoint: p.url("/mcp")} }},
		{"sse", "", func() sdk.Transport { return &sdk.SSEClientTransport{Endpoint: p.url("/sse")} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk-e2e", Version: "0.0.1"}, nil)
			cs, err := c.Connect(ctx, tc.tr(), &sdk.ClientSessionOptions{ProtocolVersion: tc.pv})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if tc.pv != "" && cs.InitializeResult().ProtocolVersion != tc.pv {
				t.Errorf("negotiated %s, want %s", cs.InitializeResult().ProtocolVersion, tc.pv)
			}
			lt, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tl := range lt.Tools {
				names = append(names, tl.Name)
				if tl.OutputSchema == nil || tl.Annotations == nil {
					t.Errorf("%s: outputSchema or annotations missing", tl.Name)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, defaultTools) {
				t.Errorf("tools = %v, want %v", names, defaultTools)
			}
			res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": firstID}})
			if err != nil || res.IsError {
				t.Fatalf("get_account: %v %+v", err, res)
			}
			acct, _ := res.StructuredContent.(map[string]any)["account"].(map[string]any)
			if acct["id"] != firstID {
				t.Errorf("get_account structuredContent = %v", res.StructuredContent)
			}
			if route, _ := res.Meta["zoho-mcp-proxy/route"].(map[string]any); route["tier"] != "MCP" {
				t.Errorf("route = %v, want tier MCP", res.Meta)
			}
			res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": firstID, "colour": "red"}})
			if err != nil || !res.IsError {
				t.Errorf("unknown argument: want an isError result, got %v %+v", err, res)
			}
			// A hidden tool called by name is refused with a tool error that
			// names the scope it needs.
			res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "reset_circuit_breakers"})
			if err != nil || !res.IsError {
				t.Fatalf("admin tool without the admin scope: want an isError result, got %v %+v", err, res)
			}
			if txt, _ := res.Content[0].(*sdk.TextContent); txt == nil || !strings.Contains(txt.Text, "requires scope admin") {
				t.Errorf("admin tool refusal does not name the scope: %+v", res.Content)
			}
		})
	}
}
