package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// buildOn builds the app over a fresh emulator with cfg tweaked.
func buildOn(t *testing.T, tweak func(*config.Config)) (*App, error) {
	t.Helper()
	sim, err := zohosim.Start(zohosim.Options{Accounts: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	cfg := config.Default()
	cfg.UseSandbox(sim.Env())
	if tweak != nil {
		tweak(cfg)
	}
	a, err := Build(cfg, Options{Logger: slog.New(slog.DiscardHandler), TempDir: t.TempDir()})
	if a != nil {
		t.Cleanup(func() { a.Close() })
	}
	return a, err
}

// rpc sends one JSON-RPC request to the app's MCP server as a caller with
// profile p.
func rpc(t *testing.T, a *App, p *permissions.Profile, method string, params any) map[string]any {
	t.Helper()
	ctx := permissions.WithProfile(context.Background(), p)
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	out, _ := json.Marshal(a.MCP.Server.HandleMessage(ctx, b))
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func listed(res map[string]any, key string) []string {
	r, _ := res["result"].(map[string]any)
	items, _ := r[key].([]any)
	var out []string
	for _, it := range items {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

func TestToolSelectionAndPrompts(t *testing.T) {
	t.Parallel()
	ops := &permissions.Profile{Name: "ops", Scopes: permissions.AllScopes()}
	reader := &permissions.Profile{Name: "reader", Scopes: []permissions.Scope{permissions.ScopeRead}}
	noDeals := &permissions.Profile{Name: "nodeals", Scopes: permissions.AllScopes(), Modules: []string{"Accounts", "Contacts"}}

	if _, err := buildOn(t, func(c *config.Config) { c.Toolsets, c.Tools = []string{"records", "crm"}, []string{"get_acount"} }); err == nil ||
		!strings.Contains(err.Error(), `unknown toolset "crm" (valid: accounts, records, monitor, all); unknown tool "get_acount" (valid: get_account,`) {
		t.Errorf("unknown names: %v, want a startup error listing the valid ones", err)
	}

	a, err := buildOn(t, func(c *config.Config) { c.ReadOnly = true })
	if err != nil {
		t.Fatal(err)
	}
	tools := listed(rpc(t, a, ops, "tools/list", nil), "tools")
	for _, w := range []string{"update_account", "bulk_update_accounts", "create_records", "update_records", "bulk_update_records"} {
		if slices.Contains(tools, w) {
			t.Errorf("--read-only lists %s", w)
		}
	}
	if !slices.Contains(tools, "get_record") || !slices.Contains(tools, "bulk_read_accounts") || !slices.Contains(tools, "bulk_read_records") || !slices.Contains(tools, "reset_circuit_breakers") {
		t.Errorf("--read-only hid read tools: %v", tools)
	}
	res := rpc(t, a, ops, "tools/call", map[string]any{"name": "create_records", "arguments": map[string]any{"module": "Contacts", "records": []any{map[string]any{"Last_Name": "x"}}}})
	r, _ := res["result"].(map[string]any)
	if r["isError"] != true || !strings.Contains(strings.ToLower(mustText(r)), "create_records is disabled: the proxy runs read-only") {
		t.Errorf("direct call of a write tool under --read-only: %v", res)
	}
	if got := listed(rpc(t, a, ops, "prompts/list", nil), "prompts"); !slices.Equal(got, []string{"account_brief"}) {
		t.Errorf("prompts under --read-only = %v, want only account_brief", got)
	}

	a, err = buildOn(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prof *permissions.Profile
		want []string
	}{
		{ops, []string{"account_brief", "create_records_safely", "find_and_update_safely"}},
		{reader, []string{"account_brief"}},
		{noDeals, []string{"create_records_safely", "find_and_update_safely"}},
	} {
		if got := listed(rpc(t, a, tc.prof, "prompts/list", nil), "prompts"); !slices.Equal(got, tc.want) {
			t.Errorf("prompts/list for %s = %v, want %v", tc.prof.Name, got, tc.want)
		}
	}
	res = rpc(t, a, reader, "prompts/get", map[string]any{"name": "find_and_update_safely", "arguments": map[string]any{"module": "Deals", "find": "x", "change": "y"}})
	if res["error"] == nil {
		t.Errorf("prompts/get of a prompt the reader may not use: %v", res)
	}
	res = rpc(t, a, reader, "prompts/get", map[string]any{"name": "account_brief", "arguments": map[string]any{"account": "Acme"}})
	if r, _ := res["result"].(map[string]any); r == nil || !strings.Contains(string(mustJSON(r)), "get_related_records") {
		t.Errorf("prompts/get account_brief: %v", res)
	}

	// Only the monitor toolset: describe_module and the prompts are gone.
	a, err = buildOn(t, func(c *config.Config) { c.Toolsets = []string{"monitor"} })
	if err != nil {
		t.Fatal(err)
	}
	if got := listed(rpc(t, a, ops, "tools/list", nil), "tools"); !slices.Equal(got, []string{"get_tier_health", "get_tier_metrics", "reset_circuit_breakers"}) {
		t.Errorf("--toolsets monitor lists %v", got)
	}
	if got := listed(rpc(t, a, ops, "prompts/list", nil), "prompts"); len(got) != 0 {
		t.Errorf("--toolsets monitor lists prompts %v", got)
	}
}

// TestDescribeModuleThroughTheRouter: the metadata the record tools use is
// read from Zoho through the router (here the emulator's MCP tier) and
// cached.
func TestDescribeModuleThroughTheRouter(t *testing.T) {
	t.Parallel()
	a, err := buildOn(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	ops := &permissions.Profile{Name: "ops", Scopes: permissions.AllScopes()}
	call := func() string {
		res := rpc(t, a, ops, "tools/call", map[string]any{"name": "describe_module", "arguments": map[string]any{"module": "deals"}})
		r, _ := res["result"].(map[string]any)
		if r["isError"] == true {
			t.Fatalf("describe_module: %v", res)
		}
		return string(mustJSON(r["structuredContent"]))
	}
	out := call()
	for _, w := range []string{`"api_name":"Deals"`, `"api_name":"Stage"`, `"Closed Won"`, `"lookup":"Accounts"`, `"related_lists":[`} {
		if !strings.Contains(out, w) {
			t.Errorf("describe_module Deals lacks %s: %s", w, out)
		}
	}
	before := totalRequests(a)
	call()
	if after := totalRequests(a); after != before || before == 0 {
		t.Errorf("a second describe_module read Zoho again: %d → %d tier requests", before, after)
	}
}

// totalRequests is every tier's request count.
func totalRequests(a *App) int64 {
	var n int64
	for _, m := range a.Router.Metrics() {
		n += m.TotalRequests
	}
	return n
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func mustText(r map[string]any) string {
	c, _ := r["content"].([]any)
	if len(c) == 0 {
		return ""
	}
	s, _ := c[0].(map[string]any)["text"].(string)
	return s
}
