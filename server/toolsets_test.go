package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// rpc sends one JSON-RPC request to m as the caller with profile p and
// returns the raw answer.
func rpc(t *testing.T, m *MCP, p *permissions.Profile, method string, params any) map[string]any {
	t.Helper()
	ctx := permissions.WithProfile(context.Background(), p)
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	out, err := json.Marshal(m.Server.HandleMessage(ctx, b))
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func names(res map[string]any, key string) []string {
	r, _ := res["result"].(map[string]any)
	items, _ := r[key].([]any)
	var out []string
	for _, it := range items {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

// TestDisabledModulesAndPrompts: a disabled tool is hidden from everyone and
// refused with its reason; a tool bound to a module is hidden from and
// refused to a profile that may not touch it; a prompt is listed and served
// only to callers who may use all its tools.
func TestDisabledModulesAndPrompts(t *testing.T) {
	t.Parallel()
	tools := fakeTools(nil, nil)
	tools[0].Modules = []string{"Accounts"}                                // read_thing
	tools[1].Disabled = "the proxy runs with --read-only (writes are off)" // write_thing
	prompt := func(name string, uses ...string) Prompt {
		return Prompt{Def: mcp.NewPrompt(name), Tools: uses,
			Handler: func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
				return mcp.NewGetPromptResult(name, []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("use "+strings.Join(uses, ",")))}), nil
			}}
	}
	m, err := NewMCP(Options{Tools: tools, Logger: slog.New(slog.DiscardHandler), Prompts: []Prompt{
		prompt("reads", "read_thing"), prompt("writes", "read_thing", "write_thing"), prompt("slowly", "slow")}})
	if err != nil {
		t.Fatal(err)
	}
	all := &permissions.Profile{Name: "ops", Scopes: permissions.AllScopes()}
	contactsOnly := &permissions.Profile{Name: "contacts", Scopes: permissions.AllScopes(), Modules: []string{"Contacts"}}

	if got := names(rpc(t, m, all, "tools/list", nil), "tools"); !slices.Equal(got, []string{"boom", "read_thing", "slow"}) {
		t.Errorf("tools/list for ops = %v: the disabled write_thing must be hidden", got)
	}
	if got := names(rpc(t, m, contactsOnly, "tools/list", nil), "tools"); !slices.Equal(got, []string{"boom", "slow"}) {
		t.Errorf("tools/list for a Contacts-only profile = %v: read_thing (Accounts) must be hidden", got)
	}
	if got := names(rpc(t, m, all, "prompts/list", nil), "prompts"); !slices.Equal(got, []string{"reads", "slowly"}) {
		t.Errorf("prompts/list for ops = %v, want reads and slowly (writes uses a disabled tool)", got)
	}
	if got := names(rpc(t, m, contactsOnly, "prompts/list", nil), "prompts"); !slices.Equal(got, []string{"slowly"}) {
		t.Errorf("prompts/list for a Contacts-only profile = %v", got)
	}
	if res := rpc(t, m, all, "prompts/get", map[string]any{"name": "reads"}); res["result"] == nil {
		t.Errorf("prompts/get of a usable prompt: %v", res)
	}
	if res := rpc(t, m, contactsOnly, "prompts/get", map[string]any{"name": "reads"}); res["error"] == nil {
		t.Errorf("prompts/get of a prompt whose tools the caller may not use: %v, want an error", res)
	}

	call := func(p *permissions.Profile, tool string) string {
		h := m.observe(m.enforce(func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("ran"), nil
		}))
		req := mcp.CallToolRequest{}
		req.Params.Name = tool
		res, err := h(permissions.WithProfile(context.Background(), p), req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Content[0].(mcp.TextContent).Text
	}
	if got := call(all, "write_thing"); got != "tool write_thing is disabled: the proxy runs with --read-only (writes are off)" {
		t.Errorf("disabled tool called: %q", got)
	}
	if got := call(contactsOnly, "read_thing"); !strings.Contains(got, `tool read_thing works on module Accounts, which profile "contacts" may not touch (its modules: Contacts)`) {
		t.Errorf("tool of a forbidden module called: %q", got)
	}
	if got := call(all, "read_thing"); got != "ran" {
		t.Errorf("allowed call: %q", got)
	}
	m2, _ := NewMCP(Options{Tools: fakeTools(nil, nil), Logger: slog.New(slog.DiscardHandler), Prompts: []Prompt{
		func() Prompt { p := prompt("deals", "slow"); p.Modules = []string{"Deals"}; return p }()}})
	if got := names(rpc(t, m2, contactsOnly, "prompts/list", nil), "prompts"); len(got) != 0 {
		t.Errorf("a prompt about Deals listed to a Contacts-only profile: %v", got)
	}
	if got := names(rpc(t, m2, all, "prompts/list", nil), "prompts"); !slices.Equal(got, []string{"deals"}) {
		t.Errorf("a prompt about Deals for ops: %v", got)
	}
	if _, err := NewMCP(Options{Tools: fakeTools(nil, nil), Prompts: []Prompt{prompt("x", "nope")}}); err == nil {
		t.Error("a prompt naming an unregistered tool was accepted")
	}
}
