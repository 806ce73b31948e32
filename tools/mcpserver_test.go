package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// mcpServer registers the tools and the bulk resource template on a real
// mcp-go server with its own input and output schema validation on, and a
// tool filter keyed on the caller's profile, as the server package does.
func mcpServer(e *env) *server.MCPServer {
	byName := map[string]Tool{}
	for _, tl := range e.tools {
		byName[tl.Def.Name] = tl
	}
	s := server.NewMCPServer("test", "1",
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithInputSchemaValidation(),
		server.WithOutputSchemaValidation(),
		server.WithToolFilter(func(ctx context.Context, ts []mcp.Tool) []mcp.Tool {
			p := permissions.ProfileFrom(ctx)
			var out []mcp.Tool
			for _, t := range ts {
				if Allowed(byName[t.Name], p) {
					out = append(out, t)
				}
			}
			return out
		}),
	)
	var all []Tool
	for _, n := range []string{"get_account", "get_accounts", "search_accounts", "update_account", "bulk_read_accounts", "bulk_update_accounts", "get_tier_health", "get_tier_metrics", "reset_circuit_breakers"} {
		all = append(all, byName[n])
	}
	for _, t := range all {
		s.AddTool(t.Def, t.Handler)
	}
	tmpl, h := ResourceTemplate(e.bulk)
	s.AddResourceTemplate(tmpl, h)
	return s
}

// rpc sends one JSON-RPC request as prof and returns the response's result
// (or fails on a JSON-RPC error unless wantErr).
func rpc(t *testing.T, s *server.MCPServer, prof *permissions.Profile, method string, params any) (json.RawMessage, *mcp.JSONRPCErrorDetails) {
	t.Helper()
	p, _ := json.Marshal(params)
	msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, method, p)
	ctx := permissions.WithCaller(permissions.WithProfile(context.Background(), prof), callerOf(prof))
	resp := s.HandleMessage(ctx, json.RawMessage(msg))
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Result json.RawMessage          `json:"result"`
		Error  *mcp.JSONRPCErrorDetails `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Result, out.Error
}

func TestThroughMCPGoServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1100)
	s := mcpServer(e)
	initParams := map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}}
	if _, rerr := rpc(t, s, profReader, "initialize", initParams); rerr != nil {
		t.Fatalf("initialize: %+v", rerr)
	}

	// tools/list follows the profile.
	res, rerr := rpc(t, s, profReader, "tools/list", map[string]any{})
	if rerr != nil {
		t.Fatal(rerr)
	}
	var list mcp.ListToolsResult
	if err := json.Unmarshal(res, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	if strings.Join(names, ",") != "get_account,get_accounts,get_tier_health,get_tier_metrics,search_accounts" {
		t.Errorf("reader sees %v", names)
	}
	// A hidden tool is refused on tools/call and the tier sees nothing.
	if _, rerr := rpc(t, s, profReader, "tools/call", map[string]any{"name": "update_account", "arguments": map[string]any{"account_id": acct, "data": map[string]any{"Phone": "1"}}}); rerr == nil {
		t.Error("reader called update_account")
	}
	if n := len(e.tier.Calls()); n != 0 {
		t.Errorf("tier received %d calls", n)
	}

	// A call passes mcp-go's own output schema validation and carries _meta.
	res, rerr = rpc(t, s, profSales, "tools/call", map[string]any{"name": "get_account", "arguments": map[string]any{"account_id": acct}})
	if rerr != nil {
		t.Fatal(rerr)
	}
	var call struct {
		Meta              map[string]json.RawMessage `json:"_meta"`
		IsError           bool                       `json:"isError"`
		Content           []map[string]any           `json:"content"`
		StructuredContent map[string]any             `json:"structuredContent"`
	}
	if err := json.Unmarshal(res, &call); err != nil {
		t.Fatal(err)
	}
	if call.IsError || call.StructuredContent["account"] == nil {
		t.Fatalf("get_account through mcp-go: %s", res)
	}
	if route := call.Meta[tiers.RouteMetaKey]; !strings.Contains(string(route), `"tier":"MCP"`) {
		t.Errorf("_meta = %s", res)
	}

	// Invalid input is an isError result, with the route, not a JSON-RPC error.
	res, rerr = rpc(t, s, profSales, "tools/call", map[string]any{"name": "get_account", "arguments": map[string]any{"account_id": "x"}})
	if rerr != nil || !strings.Contains(string(res), `"isError":true`) {
		t.Errorf("invalid input: %s %+v", res, rerr)
	}

	// A large bulk read: resource_link, then pages through resources/read.
	res, rerr = rpc(t, s, profAll, "tools/call", map[string]any{"name": "bulk_read_accounts", "arguments": map[string]any{}})
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err := json.Unmarshal(res, &call); err != nil {
		t.Fatal(err)
	}
	if call.IsError || len(call.Content) != 2 || call.Content[1]["type"] != "resource_link" {
		t.Fatalf("bulk read through mcp-go: %s", clipBytes(res))
	}
	uri := call.Content[1]["uri"].(string)
	total := 0
	for next := uri; next != ""; {
		res, rerr = rpc(t, s, profAll, "resources/read", map[string]any{"uri": next})
		if rerr != nil {
			t.Fatalf("resources/read %s: %+v", next, rerr)
		}
		var rr struct {
			Contents []mcp.TextResourceContents `json:"contents"`
		}
		if err := json.Unmarshal(res, &rr); err != nil || len(rr.Contents) != 1 {
			t.Fatalf("read result %s: %v", clipBytes(res), err)
		}
		var pg BulkPage
		if err := json.Unmarshal([]byte(rr.Contents[0].Text), &pg); err != nil {
			t.Fatal(err)
		}
		total += len(pg.Records)
		next = pg.NextURI
	}
	if total != 1100 {
		t.Errorf("read %d records through resources/read, want 1100", total)
	}
	// Another profile cannot read it.
	if _, rerr := rpc(t, s, profSales, "resources/read", map[string]any{"uri": uri}); rerr == nil {
		t.Error("another profile read the bulk result")
	}
}
