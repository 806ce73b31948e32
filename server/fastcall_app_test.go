package server_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/app"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// digits are what may differ between two calls of the same tool a moment
// apart: durations, counters, timestamps in the route and tier metrics.
var digits = regexp.MustCompile(`[0-9]+`)

// TestFastToolCallRealTools is the differential test of the fast path with
// every tool the proxy registers in its default configuration, against the
// emulator: each call goes to the transport with the fast path and to one
// without it, serving the same MCP server; the answers must be equal in
// status, headers and bytes (digits aside, which change between two calls),
// and the fast path must have answered every one.
func TestFastToolCallRealTools(t *testing.T) {
	sim, err := zohosim.Start(zohosim.Options{Accounts: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := config.Default()
	cfg.UseSandbox(sim.Env())
	cfg.Transport = "http"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(cfg, app.Options{Logger: slog.New(slog.DiscardHandler), Version: "test", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	mk := func(disable bool) (*server.HTTP, http.Handler) {
		h := server.NewHTTP(server.HTTPOptions{MCP: a.MCP, Security: server.Security{Policy: a.Policy},
			Logger: slog.New(slog.DiscardHandler), DisableFastToolCall: disable})
		return h, h.Handler(true)
	}
	fastH, fast := mk(false)
	_, slow := mk(true)
	post := func(h http.Handler, body string) (int, http.Header, string) {
		req := httptest.NewRequest(http.MethodPost, server.PathMCP, strings.NewReader(body))
		req.Host = "127.0.0.1:8765"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		req.Header.Set(mcpserver.HeaderKeySessionID, "mcp-session-2b0e7c1a-8f51-4f3c-9c1e-3a3f4d7e2b12")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Header(), rec.Body.String()
	}

	// Every registered tool, as tools/list shows them to the default
	// profile, plus the admin tool it may not call.
	_, _, list := post(slow, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	var listed struct {
		Result struct{ Tools []struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(list), &listed); err != nil || len(listed.Result.Tools) < 15 {
		t.Fatalf("tools/list: %v %s", err, list)
	}
	id := sim.Store().IDs()[2]
	calls := map[string][]string{ // tool → argument objects; {} for every tool
		"get_account":          {`{"account_id":"` + id + `"}`, `{"account_id":"` + id + `","fields":["Account_Name","Phone"]}`, `{"account_id":"x1"}`},
		"get_accounts":         {`{"limit":3}`, `{"limit":"three"}`},
		"search_accounts":      {`{"word":"a"}`, `{"where":"(("}`},
		"get_record":           {`{"module":"Accounts","record_id":"` + id + `"}`, `{"module":"Nope","record_id":"1"}`},
		"get_records":          {`{"module":"Accounts","limit":2}`},
		"search_records":       {`{"module":"Accounts","word":"a"}`},
		"get_related_records":  {`{"module":"Accounts","record_id":"` + id + `","related_list":"Contacts"}`},
		"describe_module":      {`{"module":"Accounts"}`},
		"get_bulk_job":         {`{"job_id":"123"}`},
		"read_bulk_result":     {`{"id":"nope"}`},
		"bulk_read_accounts":   {`{"fields":5}`},
		"bulk_read_records":    {`{"module":7}`},
		"bulk_update_accounts": {`{"updates":[]}`},
		"bulk_update_records":  {`{"module":"Accounts","updates":"x"}`},
		"create_records":       {`{"module":"Accounts","records":[]}`},
		"update_account":       {`{"account_id":"` + id + `","data":{}}`},
		"update_records":       {`{"module":"Accounts","updates":[]}`},
	}
	names := []string{"reset_circuit_breakers"}
	for _, tl := range listed.Result.Tools {
		names = append(names, tl.Name)
	}
	n := 0
	for _, name := range names {
		args := calls[name]
		switch name {
		case "bulk_read_accounts", "bulk_read_records":
			// {} would start a bulk job (a new id on each server).
		default:
			args = append(args, `{}`)
		}
		for _, arg := range args {
			n++
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, n, name, arg)
			before := server.FastCallsServed(fastH)
			fs, fh, fb := post(fast, body)
			if server.FastCallsServed(fastH) != before+1 {
				t.Errorf("%s %s: the fast path did not answer", name, arg)
			}
			ss, sh, sb := post(slow, body)
			if fs != ss || !reflect.DeepEqual(fh, sh) || digits.ReplaceAllString(fb, "0") != digits.ReplaceAllString(sb, "0") {
				t.Errorf("%s %s: fast path differs from mcp-go:\nfast: %d %v %s\nslow: %d %v %s", name, arg, fs, fh, fb, ss, sh, sb)
			}
			if fs != http.StatusOK || !strings.HasPrefix(fb, `{"jsonrpc":"2.0","id":`) {
				t.Errorf("%s %s: %d %s", name, arg, fs, fb)
			}
		}
	}
}
