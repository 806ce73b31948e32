package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// BenchmarkGetAccount measures one get_account call through the handler,
// the real router and an in-process tier: what the tools layer adds on top
// of the wire.
func BenchmarkGetAccount(b *testing.B) {
	e := newEnv(b, 3)
	var req mcp.CallToolRequest
	if err := json.Unmarshal([]byte(`{"name":"get_account","arguments":{"account_id":"`+acct+`","fields":["Account_Name","Phone"]}}`), &req.Params); err != nil {
		b.Fatal(err)
	}
	ctx := permissions.WithProfile(context.Background(), profSales)
	h := e.tools["get_account"].Handler
	b.ReportAllocs()
	for b.Loop() {
		res, err := h(ctx, req)
		if err != nil || res.IsError {
			b.Fatal(err, text(res))
		}
	}
}

// BenchmarkParseBulkUpdate measures validating a maximal bulk update
// (25,000 records).
func BenchmarkParseBulkUpdate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"updates":[`)
	for i := range tiers.MaxBulkWriteRecords {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"%d","data":{"Phone":"555-%04d","Rating":%d}}`, 3652397000000000000+i, i%10000, i)
	}
	sb.WriteString(`]}`)
	raw := []byte(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse[bulkUpdateParams](raw, profAll); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBulkResourcePage measures reading one 500-record page of a
// stored bulk result.
func BenchmarkBulkResourcePage(b *testing.B) {
	e := newEnv(b, 2000)
	res := e.call(b, profAll, "bulk_read_accounts", `{}`)
	uri := structured(b, res)["resource_uri"].(string) + "?page=3"
	b.ReportAllocs()
	for b.Loop() {
		readResource(b, e, profAll, uri)
	}
}
