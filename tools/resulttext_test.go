package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// withText sets the tools' result_text.
func withText(t TextMode) envOpt { return func(d *Deps) { d.Text = t } }

// TestResultTextSummary: with result_text summary, a result's text is its
// summary line alone, without the JSON copy of the structured content,
// which stays byte for byte what result_text full gives; full keeps the
// summary line, a blank line and that JSON. Error texts written for the
// agent stay in both.
func TestResultTextSummary(t *testing.T) {
	t.Parallel()
	verdict := func(ft *tierstest.Tier) {
		ft.OnUpdate = func(_ context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
			err := &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "invalid data",
				Details: map[string]any{"api_name": "Phone"}}
			return tiers.Outcome{ID: req.ID, Status: tiers.StatusError, Code: err.Code, Message: err.Message}, err
		}
	}
	tests := []struct {
		tool, args string
		setup      func(*tierstest.Tier)
		isError    bool
		// record is a value of the answer's records that only the JSON
		// copy carries ("" = none: the summary names it too).
		record string
	}{
		{tool: "get_account", args: `{"account_id":"` + acct + `"}`, record: `"Industry"`},
		{tool: "get_accounts", args: `{"ids":["` + acct + `","3652397000000000002"]}`, record: `"Industry"`},
		{tool: "search_accounts", args: `{"where":[{"field":"Industry","op":"equals","value":"Retail"}]}`, record: `"Industry"`},
		{tool: "get_record", args: `{"module":"Accounts","record_id":"` + acct + `"}`, record: `"Industry"`},
		{tool: "get_records", args: `{"module":"Accounts","limit":2}`, record: `"Industry"`},
		{tool: "bulk_read_accounts", args: `{"account_ids":["` + acct + `","3652397000000000002"]}`, record: `"Industry"`},
		{tool: "describe_module", args: `{"module":"Contacts"}`, record: `"fields"`},
		{tool: "update_account", args: `{"account_id":"` + acct + `","data":{"Phone":"1"}}`, record: `"succeeded"`},
		{tool: "update_account", args: `{"account_id":"` + acct + `","data":{"Phone":"x"}}`, setup: verdict, isError: true, record: `"results"`},
		{tool: "bulk_update_accounts", args: `{"updates":[{"id":"` + acct + `","data":{"Phone":"1"}},{"id":"999","data":{"Phone":"2"}}]}`, isError: true, record: `"results"`},
		{tool: "get_account", args: `{"account_id":"42"}`, isError: true},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+tt.args, func(t *testing.T) {
			t.Parallel()
			run := func(mode TextMode) *mcp.CallToolResult {
				ft := newFakeTier(tiers.MCP, 3)
				if tt.setup != nil {
					tt.setup(ft)
				}
				e := newEnvWith(t, []*tierstest.Tier{ft}, withMeta(ft), withText(mode))
				res := e.call(t, profAll, tt.tool, tt.args)
				if res.IsError != tt.isError {
					t.Fatalf("mode %d: isError %v: %s", mode, res.IsError, text(res))
				}
				return res
			}
			full, short := run(TextFull), run(TextSummary)
			fs, ss := wireStructured(t, full), wireStructured(t, short)
			if fs != ss {
				t.Errorf("structuredContent differs:\nfull    %s\nsummary %s", fs, ss)
			}
			if len(full.Content) != len(short.Content) {
				t.Errorf("%d contents in full, %d in summary", len(full.Content), len(short.Content))
			}
			summary, _, _ := strings.Cut(text(full), "\n\n")
			if fs != "" && text(full) != summary+"\n\n"+fs {
				t.Errorf("full text is not the summary line and the structured content:\n%s", text(full))
			}
			if got := text(short); got != summary || strings.TrimSpace(got) == "" {
				t.Errorf("summary text = %q, want %q", got, summary)
			}
			if tt.record != "" && (!strings.Contains(text(full), tt.record) || strings.Contains(text(short), tt.record)) {
				t.Errorf("the record's JSON (%s) is in the full text but not the summary's: want it the other way round\nfull    %q\nsummary %q", tt.record, text(full), text(short))
			}
		})
	}
}

// wireStructured is the structured content as it goes on the wire; "" when
// there is none.
func wireStructured(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if res.StructuredContent == nil {
		return ""
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
