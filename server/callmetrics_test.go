package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// TestCallOutcomesCountedAndLogged: every outcome of a tool call reaches
// the call metrics (one series per tool and outcome that happened, none
// made for the others) and the call log line, with the route of results
// that carry one; a tool's handler still sees the caller's context values.
func TestCallOutcomesCountedAndLogged(t *testing.T) {
	t.Parallel()
	type key struct{}
	seen := ""
	ts := append(fakeTools(nil, nil),
		Tool{Def: mcp.NewTool("broken"), Scopes: []permissions.Scope{permissions.ScopeRead},
			Handler: func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				seen, _ = ctx.Value(key{}).(string)
				return nil, errors.New("broken")
			}},
		Tool{Def: mcp.NewTool("refuses"), Scopes: []permissions.Scope{permissions.ScopeRead},
			Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultError("no"), nil
			}},
		Tool{Def: mcp.NewTool("off"), Scopes: []permissions.Scope{permissions.ScopeRead}, Disabled: "maintenance",
			Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				t.Error("a disabled tool ran")
				return nil, nil
			}})
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	m, err := NewMCP(Options{Tools: ts, Registerer: reg, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	reader := &permissions.Profile{Name: "reader", Scopes: []permissions.Scope{permissions.ScopeRead}}
	call := func(ctx context.Context, tool string) {
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{"id":"1"}}}`, tool)
		m.Server.HandleMessage(permissions.WithProfile(ctx, reader), []byte(msg))
	}
	ctx := context.WithValue(context.Background(), key{}, "caller's")
	for _, tool := range []string{"read_thing", "read_thing", "write_thing", "boom", "broken", "refuses", "off"} {
		call(ctx, tool)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	call(canceled, "slow")
	if err := m.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	call(ctx, "read_thing")
	if seen != "caller's" {
		t.Errorf("the handler saw context value %q", seen)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	durations := map[string]uint64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range mt.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetName() {
			case "zoho_mcp_proxy_tool_calls_total":
				got[l["tool"]+"/"+l["outcome"]] = mt.GetCounter().GetValue()
			case "zoho_mcp_proxy_tool_call_duration_seconds":
				durations[l["tool"]] = mt.GetHistogram().GetSampleCount()
			}
		}
	}
	want := map[string]float64{"read_thing/ok": 2, "read_thing/shutting_down": 1, "write_thing/denied": 1, "boom/panic": 1,
		"broken/error": 1, "refuses/tool_error": 1, "off/disabled": 1, "slow/canceled": 1}
	if !maps.Equal(got, want) {
		t.Errorf("tool_calls_total = %v\nwant %v", got, want)
	}
	wantDur := map[string]uint64{"read_thing": 2, "write_thing": 1, "boom": 1, "broken": 1, "refuses": 1, "off": 1, "slow": 1}
	if !maps.Equal(durations, wantDur) {
		t.Errorf("durations observed = %v, want %v", durations, wantDur)
	}

	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if l["msg"] == "tool call" {
			lines = append(lines, fmt.Sprintf("%s %v %v %v %v %v", l["level"], l["tool"], l["profile"], l["tier"], l["attempts"], l["outcome"]))
		}
	}
	wantLines := []string{
		"INFO read_thing reader REST MCP:unavailable,REST:success ok",
		"INFO read_thing reader REST MCP:unavailable,REST:success ok",
		"INFO write_thing reader   denied",
		"ERROR boom reader   panic",
		"ERROR broken reader   error",
		"INFO refuses reader   tool_error",
		"INFO off reader   disabled",
		"INFO slow reader   canceled",
		"INFO read_thing reader <nil> <nil> shutting_down",
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("call log:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
}
