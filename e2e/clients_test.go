package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// firstID is the first seeded sandbox account.
const firstID = "5725767000001000000"

// defaultTools is what a caller without a permissions file sees: every tool
// of every toolset but the admin one.
var defaultTools = []string{"bulk_read_accounts", "bulk_read_records", "bulk_update_accounts", "bulk_update_records", "create_records", "describe_module", "get_account", "get_accounts",
	"get_bulk_job", "get_record", "get_records", "get_related_records", "get_tier_health", "get_tier_metrics", "read_bulk_result",
	"search_accounts", "search_records", "update_account", "update_records"}

var tsCalls = []tsCallSpec{
	{Label: "get", Name: "get_account", Arguments: map[string]any{"account_id": firstID}},
	{Label: "get_fields", Name: "get_account", Arguments: map[string]any{"account_id": firstID, "fields": []string{"Account_Name", "Industry"}}},
	{Label: "bad_id", Name: "get_account", Arguments: map[string]any{"account_id": "12ab"}},
	{Label: "list", Name: "get_accounts", Arguments: map[string]any{"limit": 5}},
	{Label: "search", Name: "search_accounts", Arguments: map[string]any{
		"where": []map[string]any{{"field": "Industry", "op": "equals", "value": "Retail"}}, "limit": 3}},
	{Label: "update", Name: "update_account", Arguments: map[string]any{"account_id": firstID, "data": map[string]any{"Phone": "+1 555 0199"}}},
	{Label: "health", Name: "get_tier_health"},
	{Label: "metrics", Name: "get_tier_metrics"},
	{Label: "nosuch", Name: "no_such_tool"},
}

// checkTS asserts what every transport must show the TypeScript SDK client.
func checkTS(t *testing.T, res tsResult) {
	t.Helper()
	if !slices.Equal(res.Tools, defaultTools) {
		t.Errorf("tools/list = %v, want %v", res.Tools, defaultTools)
	}
	for name, ann := range res.Annotations {
		if ann == nil {
			t.Errorf("%s: no annotations", name)
			continue
		}
		if strings.HasPrefix(name, "get_") || strings.HasPrefix(name, "search_") {
			if ann["readOnlyHint"] != true {
				t.Errorf("%s: readOnlyHint = %v, want true", name, ann["readOnlyHint"])
			}
		}
	}
	for _, label := range []string{"get", "get_fields", "list", "search", "update", "health", "metrics"} {
		c, ok := res.Calls[label]
		switch {
		case !ok:
			t.Errorf("%s: no result", label)
		case c.Thrown != "":
			// The TS SDK throws when structuredContent does not match outputSchema.
			t.Errorf("%s: client threw: %s", label, c.Thrown)
		case c.IsError:
			t.Errorf("%s: isError: %s", label, c.Text)
		case c.Structured == nil:
			t.Errorf("%s: no structuredContent", label)
		case c.Route == nil:
			t.Errorf("%s: no _meta route", label)
		}
	}
	if acct, _ := res.Calls["get"].Structured["account"].(map[string]any); acct["id"] != firstID {
		t.Errorf("get_account returned %v, want id %s", res.Calls["get"].Structured, firstID)
	}
	if got := res.Calls["get"].Route["tier"]; got != "MCP" {
		t.Errorf("get_account served by %v, want MCP (agent context → tier 1)", got)
	}
	if acct, _ := res.Calls["get_fields"].Structured["account"].(map[string]any); acct != nil {
		if _, extra := acct["Phone"]; extra {
			t.Errorf("get_account with fields returned unrequested Phone: %v", acct)
		}
	}
	if c := res.Calls["bad_id"]; !c.IsError || !strings.Contains(c.Text, "digits") {
		t.Errorf("bad id: isError=%v text=%q, want an isError naming the digits rule", c.IsError, c.Text)
	}
	if c := res.Calls["nosuch"]; c.Thrown == "" {
		t.Errorf("unknown tool: want a protocol error, got %+v", c)
	}
}

func TestTypeScriptSDKOverStdio(t *testing.T) {
	t.Parallel()
	checkTS(t, runTS(t, nil, tsCalls, "stdio", binary, "serve", "--sandbox"))
}

func TestTypeScriptSDKOverStreamableHTTP(t *testing.T) {
	t.Parallel()
	p := startHTTP(t, nil)
	checkTS(t, runTS(t, nil, tsCalls, "http", p.url("/mcp")))
}

func TestTypeScriptSDKOverSSE(t *testing.T) {
	t.Parallel()
	p := startHTTP(t, nil)
	checkTS(t, runTS(t, nil, tsCalls, "sse", p.url("/sse")))
}

// TestInspectorCLI runs the MCP Inspector CLI for one list and one call, over
// stdio and Streamable HTTP.
func TestInspectorCLI(t *testing.T) {
	t.Parallel()
	requireNode(t)
	p := startHTTP(t, nil)
	inspector, _ := filepath.Abs(filepath.Join(nodeDir, "node_modules", ".bin", "mcp-inspector-cli"))
	// inspector-cli 1.0.3 finds its package.json relative to the working
	// directory, so it runs from a folder inside the npm project.
	runDir := filepath.Join(nodeDir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	nodeBin, _ := filepath.Abs(filepath.Join(nodeDir, "node_modules", ".bin"))
	for _, target := range [][]string{{binary, "serve", "--sandbox"}, {p.url("/mcp")}} {
		list := exec.Command(inspector, append(append([]string{"--cli"}, target...), "--method", "tools/list")...)
		list.Dir = runDir
		list.Env = append(os.Environ(), "PATH="+nodeBin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := list.Output()
		if err != nil {
			t.Fatalf("inspector tools/list %v: %v", target, err)
		}
		var tl struct {
			Tools []struct{ Name string } `json:"tools"`
		}
		if err := json.Unmarshal(out, &tl); err != nil || len(tl.Tools) != len(defaultTools) {
			t.Fatalf("inspector tools/list %v: %v, %d tools: %s", target, err, len(tl.Tools), out)
		}
		call := exec.Command(inspector, append(append([]string{"--cli"}, target...),
			"--method", "tools/call", "--tool-name", "get_account", "--tool-arg", `account_id="`+firstID+`"`)...)
		call.Dir = runDir
		call.Env = list.Env
		out, err = call.Output()
		if err != nil {
			t.Fatalf("inspector tools/call %v: %v", target, err)
		}
		var res struct {
			IsError           bool           `json:"isError"`
			StructuredContent map[string]any `json:"structuredContent"`
		}
		if err := json.Unmarshal(out, &res); err != nil || res.IsError || res.StructuredContent["account"] == nil {
			t.Fatalf("inspector get_account %v: %v %s", target, err, out)
		}
	}
}
