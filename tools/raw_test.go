package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// rawTier serves GetRaw with fixed bytes, as the MCP and REST tiers pass
// Zoho's JSON through.
type rawTier struct {
	*tierstest.Tier
	raw string
}

func (r rawTier) GetRaw(context.Context, tiers.GetRequest) (json.RawMessage, error) {
	return json.RawMessage(r.raw), nil
}

// TestGetAccountPassesRecordBytesThrough: get_account (and get_record,
// which shares the path) hands the
// tier's bytes to the agent without decoding them (key order and escapes
// kept), dropping only what the profile denies, with the summary naming
// the record.
func TestGetAccountPassesRecordBytesThrough(t *testing.T) {
	t.Parallel()
	const rec = `{"id":"3652397000000000001","Zeta":{"id":"9","Owner":"x"},"Owner":{"name":"Ann","id":"77"},"Account_Name":"A \u0026 B","Annual_Revenue":1e6}`
	ft := newFakeTier(tiers.MCP, 3)
	e := newEnvWithTiers(t, ft, []tiers.Tier{rawTier{ft, rec}})
	tests := []struct {
		name string
		prof *permissions.Profile
		want string // the structured content
	}{
		{"all fields", profAll, `{"account":` + rec + `}`},
		{"denied dropped, nested keys of the same name kept", profSales,
			`{"account":{"id":"3652397000000000001","Zeta":{"id":"9","Owner":"x"},"Account_Name":"A \u0026 B"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.call(t, tt.prof, "get_account", `{"account_id":"3652397000000000001"}`)
			if res.IsError {
				t.Fatal(text(res))
			}
			if got := string(res.StructuredContent.(json.RawMessage)); got != tt.want {
				t.Errorf("structuredContent = %s, want %s", got, tt.want)
			}
			summary, body, _ := strings.Cut(text(res), "\n\n")
			if body != tt.want || summary != "Account A & B (3652397000000000001) (served by MCP)." {
				t.Errorf("text = %q", text(res))
			}
		})
	}
	if n := len(ft.CallsOf(tiers.OpGet)); n != 0 {
		t.Errorf("Get called %d times beside GetRaw", n)
	}
}
