package faults

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

var pageTokenJSON = regexp.MustCompile(`"page_token":"(?:[^"\\]|\\.)*"`)

// deniedReachedZoho returns the first request of the emulator's log that
// carries the denied field in anything but a page token: a fields list, a
// criteria, a COQL query, a body.
func deniedReachedZoho(h *harness) string {
	low := strings.ToLower(denied)
	for _, lr := range h.sim.Requests() {
		q, _ := url.ParseQuery(lr.Query)
		for k, vs := range q {
			for _, v := range vs {
				if k != "page_token" && strings.Contains(strings.ToLower(v), low) {
					return lr.Method + " " + lr.Path + "?" + lr.Query
				}
			}
		}
		body := pageTokenJSON.ReplaceAllString(string(lr.Body), "")
		if strings.Contains(strings.ToLower(body), low) {
			return lr.Method + " " + lr.Path + " " + clip(body, 200)
		}
	}
	return ""
}

// TestForgedPageTokens: page tokens are unsigned base64 JSON, so an agent
// can forge one for its own query with any offset, keyset id or Zoho token.
// None of that may carry the denied field into Zoho (criteria, COQL or
// fields) nor back into a result, whichever tier serves the page.
func TestForgedPageTokens(t *testing.T) {
	t.Parallel()
	type cursor struct {
		O int    `json:"o"`
		L string `json:"l,omitempty"`
		Z string `json:"z,omitempty"`
		Q string `json:"q"`
	}
	forge := func(c cursor) string {
		b, _ := json.Marshal(c)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	queries := []struct {
		tool string
		args map[string]any
	}{
		{"get_accounts", map[string]any{"limit": 2, "fields": []string{"Account_Name"}}},
		{"search_accounts", map[string]any{"limit": 2, "fields": []string{"Account_Name"},
			"where": []map[string]any{{"field": "Industry", "op": "not_equal", "value": "x"}}}},
	}
	payloads := []struct {
		name string
		mod  func(c cursor) cursor
	}{
		{"keyset_coql_injection", func(c cursor) cursor { c.L = "0 or Annual_Revenue > 0"; return c }},
		{"keyset_criteria_injection", func(c cursor) cursor { c.L = "1)or(Annual_Revenue:greater_than:0"; return c }},
		{"keyset_negative", func(c cursor) cursor { c.L = "-1"; return c }},
		{"zoho_token_param_injection", func(c cursor) cursor { c.Z = "x&fields=Annual_Revenue"; return c }},
		{"zoho_token_garbage", func(c cursor) cursor { c.Z = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; return c }},
		{"zoho_token_json", func(c cursor) cursor { c.Z = `{"fields":"Annual_Revenue"}`; return c }},
		{"huge_offset", func(c cursor) cursor { c.O, c.L, c.Z = 1<<40, "", ""; return c }},
		{"offset_only", func(c cursor) cursor { c.L, c.Z = "", ""; return c }},
		{"other_query", func(c cursor) cursor { c.Q = "000000000000"; return c }},
	}
	for _, down := range [][]zohosim.Surface{nil, {zohosim.SurfaceMCP}, {zohosim.SurfaceMCP, zohosim.SurfaceBulk}} {
		name := "all_up"
		for i, sf := range down {
			if i == 0 {
				name = ""
			}
			name += string(sf) + "_down_"
		}
		name = strings.TrimSuffix(name, "_")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, opts{})
			for _, sf := range down {
				h.sim.SetFault(sf, zohosim.Fault{Mode: zohosim.FaultDown})
			}
			for _, q := range queries {
				first := h.call(profSales, q.tool, q.args)
				tok, _ := first.sc["next_page_token"].(string)
				raw, err := base64.RawURLEncoding.DecodeString(tok)
				var c cursor
				if err != nil || json.Unmarshal(raw, &c) != nil || c.Q == "" {
					t.Fatalf("%s: no usable page token to forge from: %s", q.tool, first.dump)
				}
				for _, p := range payloads {
					t.Run(q.tool+"/"+p.name, func(t *testing.T) {
						args := map[string]any{"page_token": forge(p.mod(c))}
						for k, v := range q.args {
							args[k] = v
						}
						h.sim.ResetLog()
						r := h.call(profSales, q.tool, args)
						if r.err != nil {
							t.Fatalf("JSON-RPC error: %v", r.err)
						}
						if where := deniedReachedZoho(h); where != "" {
							t.Errorf("the denied field reached Zoho: %s (%s)", where, r.dump)
						}
						// An error may quote the forged token back; records may
						// never hold the field.
						if !r.isErr && strings.Contains(strings.ToLower(string(r.raw)), strings.ToLower(denied)) {
							t.Errorf("the denied field is in the answer: %s", r.dump)
						}
					})
				}
			}
		})
	}
}

// TestForgedKeysetBlamesPageToken: a page token whose keyset id is not a
// record id is the caller's bad token; the error must say so (page_token,
// start again) rather than "Zoho rejected … check the operators and values
// of the conditions". (Found here; fixed in 4db9bfc.)
func TestForgedKeysetBlamesPageToken(t *testing.T) {
	t.Parallel()
	for _, down := range []bool{false, true} {
		t.Run(map[bool]string{false: "all_up", true: "mcp_down"}[down], func(t *testing.T) {
			t.Parallel()
			h := start(t, opts{})
			if down {
				h.sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
			}
			args := map[string]any{"limit": 2, "fields": []string{"Account_Name"}}
			first := h.call(profOps, "get_accounts", args)
			tok, _ := first.sc["next_page_token"].(string)
			raw, _ := base64.RawURLEncoding.DecodeString(tok)
			var c map[string]any
			if json.Unmarshal(raw, &c) != nil {
				t.Fatalf("no page token: %s", first.dump)
			}
			c["l"] = "abc"
			delete(c, "z") // no Zoho token to continue from: the keyset is used
			b, _ := json.Marshal(c)
			args["page_token"] = base64.RawURLEncoding.EncodeToString(b)
			r := h.call(profOps, "get_accounts", args)
			if !r.isErr {
				// A tier that pages by offset may ignore the keyset: then
				// the page must be the right one.
				ids := h.ids(2, 2)
				if !strings.Contains(string(r.raw), ids[0]) || !strings.Contains(string(r.raw), ids[1]) {
					t.Errorf("a forged keyset gave the wrong page: %s", r.dump)
				}
				return
			}
			if !strings.Contains(r.text, "page_token") || strings.Contains(r.text, "Zoho rejected") {
				t.Errorf("the error blames Zoho or the conditions, not the page token: %q", r.text)
			}
		})
	}
}
