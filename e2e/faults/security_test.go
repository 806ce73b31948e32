package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

const denied = "Annual_Revenue" // denied to the sales and analyst profiles

// quiet asserts that nothing reached any surface of the emulator since the
// last ResetLog and that the records were not written.
func (h *harness) quiet(t *testing.T, what string, ids ...string) {
	t.Helper()
	for _, sf := range zohosim.Surfaces {
		if n := h.sim.RequestCount(sf); n != 0 {
			var seen []string
			for _, r := range h.sim.Requests() {
				seen = append(seen, fmt.Sprintf("%s %s %s", r.Surface, r.Method, r.Path))
			}
			t.Errorf("%s: %d requests reached the emulator's %s surface: %v", what, n, sf, seen)
		}
	}
	for _, id := range ids {
		if n := h.sim.RecordWrites(id); n != 0 {
			t.Errorf("%s: record %s was written %d times", what, id, n)
		}
	}
}

// refused asserts the call was refused: a tool error, or a JSON-RPC error
// for a tool the caller cannot see.
func refused(t *testing.T, what string, r result) {
	t.Helper()
	if r.err == nil && !r.isErr {
		t.Errorf("%s was not refused: %s", what, r.dump)
	}
}

// TestHiddenToolsRefused: a tool outside the caller's scopes is absent from
// tools/list and refused when called by name, with nothing sent to Zoho.
func TestHiddenToolsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	id := h.ids(0, 1)[0]
	calls := map[string]map[string]any{
		"update_account":         {"account_id": id, "data": map[string]any{"Description": "bypass"}},
		"bulk_update_accounts":   {"updates": []map[string]any{{"id": id, "data": map[string]any{"Description": "bypass"}}}},
		"bulk_read_accounts":     {"account_ids": []string{id}},
		"bulk_read_records":      {"module": "Accounts", "ids": []string{id}},
		"bulk_update_records":    {"module": "Accounts", "updates": []map[string]any{{"id": id, "data": map[string]any{"Description": "bypass"}}}},
		"reset_circuit_breakers": {},
		"get_tier_health":        {},
		"get_tier_metrics":       {},
	}
	records := []string{"describe_module", "get_record", "get_records", "search_records", "get_related_records"}
	visible := map[string][]string{
		profReader: append([]string{"get_account", "get_accounts", "search_accounts", "get_tier_health", "get_tier_metrics"}, records...),
		profSales:  append([]string{"get_account", "get_accounts", "search_accounts", "update_account", "create_records", "update_records"}, records...),
	}
	for prof, want := range visible {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		lt, err := h.client(prof).ListTools(ctx, mcp.ListToolsRequest{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tl := range lt.Tools {
			got = append(got, tl.Name)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("tools/list for %s: %v, want %v", prof, got, want)
		}
		for tool, args := range calls {
			if slices.Contains(want, tool) {
				continue
			}
			t.Run(prof+"/"+tool, func(t *testing.T) {
				h.sim.ResetLog()
				r := h.call(prof, tool, args)
				refused(t, prof+" calling "+tool, r)
				// A readable tool error, not mcp-go's bare "tool not found".
				if r.err != nil || !strings.Contains(r.text, "tool "+tool+" requires scope") || !strings.Contains(r.text, `your profile "`+prof+`" has`) {
					t.Errorf("%s calling %s: not told which scope it lacks: %s", prof, tool, r.dump)
				}
				h.quiet(t, prof+" calling "+tool, id)
			})
		}
	}
	if h.field(id, "Description") == "bypass" {
		t.Error("a hidden write tool changed the record")
	}
}

// fieldTricks are field names that must never reach Zoho: the denied field
// itself, then look-alikes that a careless comparison or a Unicode
// normalisation downstream could turn into it.
//
// Case variants are not refused by the proxy (Zoho API names are compared
// case-sensitively, permissions.Profile.Denied): they reach Zoho, which
// must reject them as unknown fields; what matters is that the denied value
// never comes back (caseTricks).
var fieldTricks = []struct{ name, field string }{
	{"denied", denied},
	{"fullwidth_A", "Ａnnual_Revenue"},
	{"cyrillic_A", "Аnnual_Revenue"},
	{"greek_alpha_lookalike", "Annuαl_Revenue"},
	{"zero_width_joiner", "Annual\u200d_Revenue"},
	{"zero_width_space", "Annual_\u200bRevenue"},
	{"soft_hyphen", "Annual\u00ad_Revenue"},
	{"bom_prefix", "\ufeffAnnual_Revenue"},
	{"combining_ring", "Annual_Revenue\u030a"},
	{"trailing_space", "Annual_Revenue "},
	{"nul", "Annual_Revenue\x00"},
	{"newline", "Annual_Revenue\n"},
	{"sql_ish", "Annual_Revenue) or (id"},
	{"coql_comment", "Annual_Revenue--"},
	{"dotted_path", "Owner.Annual_Revenue"},
	{"json_path", "$.Annual_Revenue"},
}

var caseTricks = []struct{ name, field string }{
	{"lower_case", strings.ToLower(denied)},
	{"upper_case", strings.ToUpper(denied)},
	{"mixed_case", "Annual_revenue"},
}

// restrictedDeny is the deny list of profRestricted: a field of every kind an
// argument can reach (a number, a phone, a text area, a website, a sortable
// time, and a custom field of unknown type, which every implicit search may
// match).
var restrictedDeny = []string{denied, "Phone", "Description", "Website", "Created_Time", "Secret_Email"}

// denyProbes returns the deny-list probes of every argument of every tool
// (tools.DenyProbes: generated from the tools' declared params) for fields,
// and checks that they cover every argument of every tool the live server
// lists, so that a new tool or argument cannot go unprobed.
func (h *harness) denyProbes(t *testing.T, fields []string, ids []string) []tools.DenyProbe {
	t.Helper()
	probes, err := tools.DenyProbes(tools.All(tools.Deps{}), fields, ids)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, p := range probes {
		covered[p.Tool+"."+p.Param] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lt, err := h.client(profOps).ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range lt.Tools {
		var in struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(tl.RawInputSchema, &in); err != nil {
			b, _ := json.Marshal(tl.InputSchema)
			_ = json.Unmarshal(b, &in)
		}
		for arg := range in.Properties {
			if !covered[tl.Name+"."+arg] {
				t.Errorf("no deny-list probe covers argument %s of live tool %s", arg, tl.Name)
			}
		}
	}
	return probes
}

// TestDeniedFieldsEveryParameter: every argument of every tool, probed with
// calls generated from the tools' declared params (tools.DenyProbes), by a
// profile denied a field of every kind: an argument that names fields
// (fields, data, filters, where, updates, sort_by) is refused for the deny
// list when it names a denied field, and so are implicit searches (word,
// email, phone) that would match one; an argument that names no field is
// refused when given a field's name, or does no harm. Then the same with the
// denied field's Unicode look-alikes and case variants. Nothing reaches
// Zoho; no record is written. Before, word, email, phone and sort_by went
// through.
func TestDeniedFieldsEveryParameter(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	ids := h.ids(0, 2)
	revs := []any{h.field(ids[0], denied), h.field(ids[1], denied)}
	probes := h.denyProbes(t, restrictedDeny, ids)
	for _, p := range probes {
		t.Run(p.String(), func(t *testing.T) {
			h.sim.ResetLog()
			r := h.call(profRestricted, p.Tool, p.Args)
			if r.err != nil {
				t.Fatalf("JSON-RPC error instead of a tool error: %v", r.err)
			}
			if p.NoField {
				if !r.isErr && strings.Contains(string(r.raw), `"`+p.Field+`":`) {
					t.Errorf("a field's name as the value of %s brought the field back: %s", p.Param, clip(string(r.raw), 300))
				}
				for _, id := range ids {
					if n := h.sim.RecordWrites(id); n != 0 {
						t.Errorf("record %s was written", id)
					}
				}
				return
			}
			if !r.isErr || !strings.Contains(r.text, "denied for profile") {
				t.Errorf("not refused for the deny list: %s", r.dump)
			}
			h.quiet(t, p.String(), ids...)
		})
	}
	for _, ft := range fieldTricks {
		tricks, err := tools.DenyProbes(tools.All(tools.Deps{}), []string{ft.field}, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tricks {
			if p.NoField || !names(p, ft.field) {
				continue
			}
			t.Run(p.Tool+"."+p.Param+"/"+ft.name, func(t *testing.T) {
				h.sim.ResetLog()
				r := h.call(profRestricted, p.Tool, p.Args)
				if r.err != nil {
					t.Fatalf("JSON-RPC error instead of a tool error: %v", r.err)
				}
				if !r.isErr {
					t.Errorf("not refused: %s", r.dump)
				}
				h.quiet(t, p.String(), ids...)
			})
		}
	}
	for _, ft := range caseTricks {
		tricks, err := tools.DenyProbes(tools.All(tools.Deps{}), []string{ft.field}, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tricks {
			if p.NoField || !names(p, ft.field) {
				continue
			}
			t.Run(p.Tool+"."+p.Param+"/"+ft.name, func(t *testing.T) {
				h.sim.ResetLog()
				r := h.call(profRestricted, p.Tool, p.Args)
				if r.err == nil && !r.isErr {
					t.Errorf("a case variant of the denied field was accepted: %s", r.dump)
				}
				whole, _ := json.Marshal(r.res)
				if strings.Contains(string(whole), `"`+ft.field+`":`) {
					t.Errorf("the denied value came back under %q: %s", ft.field, clip(string(whole), 300))
				}
				h.quiet(t, p.String(), ids...)
			})
		}
	}
	for i, id := range ids {
		if v := h.field(id, denied); v != revs[i] {
			t.Errorf("record %s: %s changed from %v to %v", id, denied, revs[i], v)
		}
	}
}

// names reports whether probe p names field in its arguments (an implicit
// search probe does not: its value is matched against fields).
func names(p tools.DenyProbe, field string) bool {
	b, _ := json.Marshal(p.Args)
	f, _ := json.Marshal(field)
	return strings.Contains(string(b), string(f[1:len(f)-1]))
}

// TestImplicitSearchesRespectDenyList: the case, end to end. A
// profile denied Phone, Description and Website (among others) is refused
// a phone search for an account's real phone number, a word search, and
// sort_by on its denied Created_Time, with nothing sent to Zoho; the same
// phone search by ops finds the account (so the refusal hides something),
// and a profile denied only a number field still searches by word.
func TestImplicitSearchesRespectDenyList(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	id := h.ids(0, 1)[0]
	phone, _ := h.field(id, "Phone").(string)
	name, _ := h.field(id, "Account_Name").(string)
	if phone == "" || name == "" {
		t.Fatalf("account %s has no phone or name", id)
	}
	if r := h.call(profOps, "search_accounts", map[string]any{"phone": phone}); r.err != nil || r.isErr || !strings.Contains(string(r.raw), id) {
		t.Fatalf("ops did not find account %s by its phone: %s", id, r.dump)
	}
	for _, c := range []struct {
		name string
		tool string
		args map[string]any
		want string
	}{
		{"phone", "search_accounts", map[string]any{"phone": phone}, "a phone search matches every phone field of Accounts"},
		{"word", "search_accounts", map[string]any{"word": name}, "a word search matches every text field of Accounts"},
		{"sort_by", "get_accounts", map[string]any{"sort_by": "Created_Time"}, "sort_by: field Created_Time is denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.sim.ResetLog()
			r := h.call(profRestricted, c.tool, c.args)
			if r.err != nil || !r.isErr || !strings.Contains(r.text, c.want) {
				t.Errorf("not refused: %s", r.dump)
			}
			if strings.Contains(string(r.raw), id) {
				t.Errorf("the account came back: %s", clip(string(r.raw), 300))
			}
			h.quiet(t, c.name, id)
		})
	}
	if r := h.call(profSales, "search_accounts", map[string]any{"word": name}); r.err != nil || r.isErr {
		t.Errorf("sales (denied only %s) could not search by word: %s", denied, r.dump)
	}
}

// TestDeniedFieldNeverInResults: reads that ask for every field never return
// the denied field (under any capitalisation) to a profile that is denied
// it, whichever tier serves the read.
func TestDeniedFieldNeverInResults(t *testing.T) {
	t.Parallel()
	for _, sf := range []zohosim.Surface{"", zohosim.SurfaceMCP, zohosim.SurfaceBulk} {
		name := "all_tiers_up"
		if sf != "" {
			name = string(sf) + "_down"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, opts{})
			if sf != "" {
				h.sim.SetFault(sf, zohosim.Fault{Mode: zohosim.FaultDown})
			}
			ids := h.ids(0, 5)
			reads := []struct {
				tool, prof string
				args       map[string]any
			}{
				{"get_account", profSales, map[string]any{"account_id": ids[0]}},
				{"get_accounts", profSales, map[string]any{"ids": ids}},
				{"get_accounts", profSales, map[string]any{"limit": 50}},
				{"search_accounts", profSales, map[string]any{"where": []map[string]any{{"field": "Industry", "op": "not_equal", "value": "x"}}, "limit": 50}},
				{"search_accounts", profSales, map[string]any{"word": "Acme"}},
				{"bulk_read_accounts", profAnalyst, map[string]any{"account_ids": ids}},
				{"bulk_read_accounts", profAnalyst, map[string]any{"where": []map[string]any{{"field": "Employees", "op": "greater_than", "value": 0}}}},
			}
			for _, rd := range reads {
				r := h.call(rd.prof, rd.tool, rd.args)
				if r.err != nil || r.isErr {
					t.Errorf("%s as %s: %s", rd.tool, rd.prof, r.dump)
					continue
				}
				whole, _ := json.Marshal(r.res)
				if uri, _ := r.sc["resource_uri"].(string); uri != "" {
					// A large result is a resource: read its first page too.
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					req := mcp.ReadResourceRequest{}
					req.Params.URI = uri
					rr, err := h.client(rd.prof).ReadResource(ctx, req)
					cancel()
					if err != nil {
						t.Fatalf("resources/read %s: %v", uri, err)
					}
					page, _ := json.Marshal(rr)
					h.assertNoSecrets("a bulk result resource", string(page))
					whole = append(whole, page...)
				}
				if bytes.Contains(bytes.ToLower(whole), []byte(strings.ToLower(denied))) {
					t.Errorf("%s as %s (served by %s) returned the denied field %s: %s", rd.tool, rd.prof, r.route.Tier, denied, clip(string(whole), 400))
				}
				if n := strings.Count(string(whole), `"id\":`) + strings.Count(string(whole), `"id":`); n == 0 {
					t.Errorf("%s as %s returned no account: the check above proves nothing", rd.tool, rd.prof)
				}
			}
		})
	}
}

// TestMalformedArgumentsRefused: bad ids, oversized and deeply nested
// arguments are refused as tool errors, nothing reaches Zoho, and the server
// keeps serving.
func TestMalformedArgumentsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	good := h.ids(0, 1)[0]
	badIDs := []struct {
		name string
		id   any
	}{
		{"letters", "57257670000a1000000"},
		{"hex", "0x1F"},
		{"negative", "-5725767000001000000"},
		{"plus", "+5725767000001000000"},
		{"twenty_digits", "57257670000010000001"},
		{"twenty_digits_zero_padded", "05725767000001000000"},
		{"empty", ""},
		{"space", " 5725767000001000000"},
		{"newline", "5725767000001000000\n"},
		{"exponent", "5.725767e18"},
		{"fullwidth_digits", "５７２５７６７"},
		{"arabic_indic_digits", "٥٧٢٥"},
		{"number_not_string", 5725767000001000000},
		{"null", nil},
		{"object", map[string]any{"id": good}},
		{"path_traversal", "../../org"},
		{"criteria_injection", "1) or (id:equals:1"},
	}
	nested := func(depth int) any {
		var v any = "x"
		for range depth {
			v = map[string]any{"a": v}
		}
		return v
	}
	deepArray := func(depth int) any {
		var v any = "x"
		for range depth {
			v = []any{v}
		}
		return v
	}
	long := strings.Repeat("A", 101)
	many := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	type call struct {
		name, tool string
		args       map[string]any
	}
	var calls []call
	for _, b := range badIDs {
		calls = append(calls,
			call{"get_account.account_id/" + b.name, "get_account", map[string]any{"account_id": b.id}},
			call{"update_account.account_id/" + b.name, "update_account", map[string]any{"account_id": b.id, "data": map[string]any{"Description": "x"}}},
			call{"get_accounts.ids/" + b.name, "get_accounts", map[string]any{"ids": []any{good, b.id}}},
			call{"bulk_read_accounts.account_ids/" + b.name, "bulk_read_accounts", map[string]any{"account_ids": []any{good, b.id}}},
			call{"bulk_update_accounts.id/" + b.name, "bulk_update_accounts", map[string]any{"updates": []any{
				map[string]any{"id": good, "data": map[string]any{"Description": "x"}}, map[string]any{"id": b.id, "data": map[string]any{"Description": "x"}}}}},
		)
	}
	calls = append(calls,
		call{"nested_data_value_64", "update_account", map[string]any{"account_id": good, "data": map[string]any{"Description": nested(64)}}},
		call{"nested_data_value_2000", "update_account", map[string]any{"account_id": good, "data": map[string]any{"Description": nested(2000)}}},
		call{"nested_array_value_5000", "update_account", map[string]any{"account_id": good, "data": map[string]any{"Description": deepArray(5000)}}},
		call{"nested_where_value", "search_accounts", map[string]any{"where": []any{map[string]any{"field": "Industry", "op": "equals", "value": nested(500)}}}},
		call{"nested_filter_value", "get_accounts", map[string]any{"filters": map[string]any{"Industry": deepArray(500)}}},
		call{"field_name_101_chars", "get_account", map[string]any{"account_id": good, "fields": []any{long}}},
		call{"fields_51", "get_account", map[string]any{"account_id": good, "fields": many(51, func(i int) any { return fmt.Sprintf("F%d", i) })}},
		call{"ids_101", "get_accounts", map[string]any{"ids": many(101, func(i int) any { return fmt.Sprint(5725767000001000000 + i) })}},
		call{"limit_201", "get_accounts", map[string]any{"limit": 201}},
		call{"limit_zero", "get_accounts", map[string]any{"limit": 0}},
		call{"limit_fraction", "get_accounts", map[string]any{"limit": 1.5}},
		call{"page_token_1025", "get_accounts", map[string]any{"page_token": strings.Repeat("x", 1025)}},
		call{"page_token_forged", "get_accounts", map[string]any{"page_token": "eyJvZmZzZXQiOjB9"}},
		call{"where_26", "search_accounts", map[string]any{"where": many(26, func(int) any { return map[string]any{"field": "Industry", "op": "equals", "value": "Retail"} })}},
		call{"in_101_values", "search_accounts", map[string]any{"where": []any{map[string]any{"field": "Industry", "op": "in", "value": many(101, func(i int) any { return fmt.Sprint(i) })}}}},
		call{"unknown_operator", "search_accounts", map[string]any{"where": []any{map[string]any{"field": "Industry", "op": "like", "value": "%"}}}},
		call{"unknown_argument", "get_account", map[string]any{"account_id": good, "module": "Users"}},
		call{"data_empty", "update_account", map[string]any{"account_id": good, "data": map[string]any{}}},
		call{"data_201_fields", "update_account", map[string]any{"account_id": good, "data": func() map[string]any {
			m := map[string]any{}
			for i := range 201 {
				m[fmt.Sprintf("F%d", i)] = 1
			}
			return m
		}()}},
		call{"data_id", "update_account", map[string]any{"account_id": good, "data": map[string]any{"id": "1"}}},
		call{"updates_duplicate_id", "bulk_update_accounts", map[string]any{"updates": []any{
			map[string]any{"id": good, "data": map[string]any{"Description": "x"}}, map[string]any{"id": good, "data": map[string]any{"Description": "y"}}}}},
		call{"trigger_unknown", "update_account", map[string]any{"account_id": good, "data": map[string]any{"Description": "x"}, "trigger": []any{"delete"}}},
		call{"empty_argument_name", "get_account", map[string]any{"": []any{1}}},
	)
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			h.sim.ResetLog()
			r := h.call(profOps, c.tool, c.args)
			refused(t, c.name, r)
			if r.err == nil && r.isErr && !r.hasRt {
				t.Logf("no route on a refusal (nothing was routed): %s", clip(r.text, 120))
			}
			h.quiet(t, c.name, good)
		})
	}
	// The server still serves after all that.
	if r := h.call(profOps, "get_account", map[string]any{"account_id": good, "fields": []string{"Account_Name"}}); r.err != nil || r.isErr {
		t.Errorf("the server stopped serving: %s", r.dump)
	}
}

// rawPost posts body to the MCP endpoint with headers and returns the status,
// headers and body.
func (h *harness) rawPost(t *testing.T, hdr map[string]string, body io.Reader, length int64) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+server.PathMCP, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", server.PathMCP, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	h.assertNoSecrets("an HTTP answer", string(b))
	return resp.StatusCode, resp.Header, string(b)
}

const unauthWrite = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"update_account","arguments":{"account_id":"5725767000001000000","data":{"Description":"unauthenticated"}}}}`

// TestHTTPFrontDoor attacks the HTTP transport: no or wrong bearer, foreign
// Origin and Host, oversized bodies. Every refusal happens before MCP, so
// nothing reaches Zoho.
func TestHTTPFrontDoor(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	bad := "tok-wrong-5ecretBearer-0c0ffee0c0ffee"
	h.secrets = append(h.secrets, bad)
	auth := "Bearer " + tokenOps
	big := int64(h.cfg.HTTP.BodyLimit + 1)
	cases := []struct {
		name   string
		hdr    map[string]string
		body   func() (io.Reader, int64)
		status int
	}{
		{"no_bearer", nil, nil, http.StatusUnauthorized},
		{"wrong_bearer", map[string]string{"Authorization": "Bearer " + bad}, nil, http.StatusUnauthorized},
		{"hash_as_bearer", map[string]string{"Authorization": "Bearer " + sum(tokenOps)}, nil, http.StatusUnauthorized},
		{"token_prefix", map[string]string{"Authorization": "Bearer " + tokenOps[:len(tokenOps)-1]}, nil, http.StatusUnauthorized},
		{"token_case", map[string]string{"Authorization": "Bearer " + strings.ToUpper(tokenOps)}, nil, http.StatusUnauthorized},
		{"basic_scheme", map[string]string{"Authorization": "Basic " + tokenOps}, nil, http.StatusUnauthorized},
		{"empty_bearer", map[string]string{"Authorization": "Bearer "}, nil, http.StatusUnauthorized},
		{"bad_origin", map[string]string{"Authorization": auth, "Origin": "http://evil.example"}, nil, http.StatusForbidden},
		{"null_origin", map[string]string{"Authorization": auth, "Origin": "null"}, nil, http.StatusForbidden},
		{"loopback_lookalike_origin", map[string]string{"Authorization": auth, "Origin": "http://127.0.0.1.evil.example"}, nil, http.StatusForbidden},
		{"foreign_host", map[string]string{"Authorization": auth, "Host": "evil.example"}, nil, http.StatusForbidden},
		{"loopback_lookalike_host", map[string]string{"Authorization": auth, "Host": "127.0.0.1.evil.example"}, nil, http.StatusForbidden},
		{"localhost_suffix_host", map[string]string{"Authorization": auth, "Host": "localhost.evil.example:80"}, nil, http.StatusForbidden},
		{"oversized_declared", map[string]string{"Authorization": auth}, func() (io.Reader, int64) {
			return bytes.NewReader(bytes.Repeat([]byte(" "), int(big))), big
		}, http.StatusRequestEntityTooLarge},
		{"oversized_chunked", map[string]string{"Authorization": auth}, func() (io.Reader, int64) {
			return io.MultiReader(strings.NewReader(unauthWrite), bytes.NewReader(bytes.Repeat([]byte(" "), int(big)))), -1
		}, http.StatusRequestEntityTooLarge},
		{"oversized_unauthenticated", nil, func() (io.Reader, int64) {
			return bytes.NewReader(bytes.Repeat([]byte(" "), int(big))), big
		}, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.sim.ResetLog()
			var body io.Reader = strings.NewReader(unauthWrite)
			n := int64(len(unauthWrite))
			if c.body != nil {
				body, n = c.body()
			}
			status, hdr, text := h.rawPost(t, c.hdr, body, n)
			if status != c.status {
				t.Errorf("status %d, want %d (%s)", status, c.status, clip(text, 200))
			}
			if status == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer WWW-Authenticate challenge: %q", hdr.Get("WWW-Authenticate"))
			}
			h.quiet(t, c.name, h.ids(0, 1)...)
		})
	}
	if h.field(h.ids(0, 1)[0], "Description") == "unauthenticated" {
		t.Error("an unauthenticated call changed a record")
	}
	// The operations endpoints: /healthz and /readyz's status answer
	// without a token; /readyz's per-tier detail and /metrics need a token
	// of a profile with the monitor scope (tokens are configured). None
	// leaks a secret.
	for _, c := range []struct {
		path, token string
		status      int
		detail      bool
	}{
		{server.PathHealthz, "", 200, false},
		{server.PathReadyz, "", 200, false},
		{server.PathReadyz, tokenSales, 200, false}, // sales has no monitor scope
		{server.PathReadyz, tokenReader, 200, true},
		{server.PathMetrics, "", 401, false},
		{server.PathMetrics, bad, 401, false},
		{server.PathMetrics, tokenSales, 403, false},
		{server.PathMetrics, tokenOps, 200, true},
	} {
		req, _ := http.NewRequest(http.MethodGet, h.base+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := h.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		detail := strings.Contains(string(b), `"tiers"`) || strings.Contains(string(b), "go_goroutines")
		if resp.StatusCode != c.status || detail != c.detail {
			t.Errorf("GET %s (token %.8s): %d, detail %v; want %d, detail %v: %s", c.path, c.token, resp.StatusCode, detail, c.status, c.detail, clip(string(b), 200))
		}
		h.assertNoSecrets("GET "+c.path, string(b))
	}
}

// TestSlowHeadersCut: a client that trickles its request headers
// (slowloris) is cut off once ReadHeaderTimeout passes, and the server keeps
// serving others meanwhile.
func TestSlowHeadersCut(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	rht := h.cfg.HTTP.ReadHeaderTimeout
	addr := strings.TrimPrefix(h.base, "http://")
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t0 := time.Now()
	if _, err := io.WriteString(conn, "POST /mcp HTTP/1.1\r\nHost: "+addr+"\r\n"); err != nil {
		t.Fatal(err)
	}
	// Trickle one header byte every 20ms until the server hangs up, at most
	// for 10 ReadHeaderTimeouts.
	closed := make(chan time.Duration, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(10 * rht))
		_, _ = bufio.NewReader(conn).ReadByte() // EOF (or a 408) when the server gives up
		closed <- time.Since(t0)
	}()
	hdr := "X-Slow: " + strings.Repeat("a", 1000)
	var took time.Duration
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
trickle:
	for i := 0; ; i++ {
		select {
		case took = <-closed:
			break trickle
		case <-tick.C:
			if i == 3 {
				// Meanwhile a normal client is served.
				if r := h.call(profOps, "get_tier_health", map[string]any{}); r.err != nil || r.isErr {
					t.Errorf("a normal call failed during the slow client: %s", r.dump)
				}
			}
			if _, err := conn.Write([]byte{hdr[i%len(hdr)]}); err != nil {
				took = <-closed
				break trickle
			}
		}
	}
	if took > rht+time.Second {
		t.Errorf("the server held a slow-header connection %v (ReadHeaderTimeout %v)", took, rht)
	}
	if took < rht/2 {
		t.Errorf("the connection closed after %v, before ReadHeaderTimeout %v: the test did not exercise it", took, rht)
	}
}

// openStream opens GET path (an SSE or Streamable HTTP GET stream) as token
// and returns its status and a func that closes it.
func (h *harness) openStream(t *testing.T, path, token string, hdr map[string]string) (int, string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		return resp.StatusCode, string(b), func() {}
	}
	return resp.StatusCode, "", func() { cancel(); resp.Body.Close() }
}

// TestOneTokenCannotStarveAnother: one low-privilege token opens SSE and
// Streamable HTTP streams until the proxy refuses it. It is refused at its
// share of the shared in-flight cap (one reader used to hold 511 streams and
// lock everyone out), with a 503 that says so, and another caller is still
// served and can still open streams.
func TestOneTokenCannotStarveAnother(t *testing.T) {
	t.Parallel()
	const cap = 16 // share: 4
	h := start(t, opts{Tune: func(c *config.Config) { c.HTTP.MaxInFlight = cap }})
	opened := 0
	refusedAt := -1
	var body string
	for i := range cap + 1 {
		path := server.PathSSE
		var hdr map[string]string
		if i%2 == 1 {
			path, hdr = server.PathMCP, map[string]string{"Mcp-Protocol-Version": "2025-11-25"}
		}
		st, b, closeStream := h.openStream(t, path, tokenReader, hdr)
		defer closeStream()
		if st != http.StatusOK {
			refusedAt, body = i, b
			if st != http.StatusServiceUnavailable {
				t.Fatalf("stream %d refused with %d, want 503: %s", i, st, b)
			}
			break
		}
		opened++
	}
	if refusedAt != cap/4 || !strings.Contains(body, "its share") {
		t.Fatalf("the reader opened %d streams (refused at %d: %q); want its share, %d", opened, refusedAt, body, cap/4)
	}
	// The others are served: tool calls and their own streams.
	if r := h.call(profOps, "get_tier_health", map[string]any{}); r.err != nil || r.isErr {
		t.Fatalf("ops was not served while the reader held its share: %s", r.dump)
	}
	st, b, closeStream := h.openStream(t, server.PathSSE, tokenSales, nil)
	defer closeStream()
	if st != http.StatusOK {
		t.Fatalf("sales could not open a stream: %d %s", st, b)
	}
}

// TestSlowLorisBodyCut: a caller that sends its headers and then trickles
// the body one byte at a time is answered 408 and disconnected once the
// default body_read_timeout passes, well before the 60s read timeout that
// used to bound it; others are served meanwhile.
func TestSlowLorisBodyCut(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	limit := config.Default().HTTP.BodyReadTimeout
	if h.cfg.HTTP.BodyReadTimeout != limit || limit >= h.cfg.HTTP.ReadTimeout {
		t.Fatalf("body_read_timeout %v (default %v), read_timeout %v", h.cfg.HTTP.BodyReadTimeout, limit, h.cfg.HTTP.ReadTimeout)
	}
	addr := strings.TrimPrefix(h.base, "http://")
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t0 := time.Now()
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", addr, tokenReader)
	answered := make(chan string, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(limit + 10*time.Second))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- line
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case line := <-answered:
			took := time.Since(t0)
			if !strings.HasPrefix(line, "HTTP/1.1 408") {
				t.Fatalf("answer %q after %v, want 408", line, took)
			}
			if took > limit+2*time.Second || took < limit/2 {
				t.Fatalf("cut after %v, want about %v", took, limit)
			}
			return
		case <-tick.C:
			if i == 5 {
				if r := h.call(profOps, "get_tier_health", map[string]any{}); r.err != nil || r.isErr {
					t.Errorf("a normal call failed during the slow body: %s", r.dump)
				}
			}
			_, _ = conn.Write([]byte(" "))
		}
	}
}

// TestBrowserOriginGetsReadOnlyTools: a request from a browser page on a
// loopback origin that http.allowed_origins does not list passes the Origin
// check, but gets no write or bulk tool, even with an ops token, and is told
// why; nothing reaches Zoho. The same token without an Origin writes.
func TestBrowserOriginGetsReadOnlyTools(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	id := h.ids(0, 1)[0]
	write := callMsg(5, "update_account", `{"account_id":"`+id+`","data":{"Description":"from a page"}}`)
	hdr := map[string]string{"Origin": "http://localhost:5173"}
	st, rh, body := h.post(t, server.PathMCP, tokenOps, initMsg, hdr)
	sid := rh.Get("Mcp-Session-Id")
	if st != http.StatusOK || sid == "" {
		t.Fatalf("initialize from a page: %d %s", st, clip(body, 200))
	}
	hdr["Mcp-Session-Id"] = sid
	h.post(t, server.PathMCP, tokenOps, initializedMsg, hdr)
	_, _, list := h.post(t, server.PathMCP, tokenOps, `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`, hdr)
	for _, tool := range []string{"update_account", "bulk_update_accounts", "bulk_read_accounts", "reset_circuit_breakers"} {
		if strings.Contains(list, `"`+tool+`"`) {
			t.Errorf("a page sees %s", tool)
		}
	}
	if !strings.Contains(list, `"get_account"`) {
		t.Errorf("a page does not see get_account: %s", clip(list, 300))
	}
	h.sim.ResetLog()
	_, _, ans := h.post(t, server.PathMCP, tokenOps, write, hdr)
	if !strings.Contains(ans, `"isError":true`) || !strings.Contains(ans, "requires scope write") || !strings.Contains(ans, "http.allowed_origins") {
		t.Errorf("a page's write was not refused readably: %s", clip(ans, 400))
	}
	h.quiet(t, "a page's write", id)
	if r := h.call(profOps, "update_account", map[string]any{"account_id": id, "data": map[string]any{"Description": "no origin"}}); r.err != nil || r.isErr {
		t.Errorf("ops without an Origin could not write: %s", r.dump)
	}
}

// TestUnknownBulkResultIsNotFound: resources/read of a bulk result that does
// not exist answers -32002 (resource not found), not -32603 (internal error).
func TestUnknownBulkResultIsNotFound(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	st, rh, body := h.post(t, server.PathMCP, tokenOps, initMsg, nil)
	sid := rh.Get("Mcp-Session-Id")
	if st != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", st, clip(body, 200))
	}
	hdr := map[string]string{"Mcp-Session-Id": sid}
	h.post(t, server.PathMCP, tokenOps, initializedMsg, hdr)
	_, _, ans := h.post(t, server.PathMCP, tokenOps, `{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"zoho-mcp-proxy://bulk/0123456789abcdef0123456789abcdef"}}`, hdr)
	if !strings.Contains(ans, `"code":-32002`) || !strings.Contains(ans, "run bulk_read_accounts") {
		t.Errorf("unknown bulk result: %s", clip(ans, 400))
	}
}

// TestSessionFloodCapped: a caller that initializes sessions and never ends
// them is refused at its cap with a 503 whose JSON-RPC error says what to do;
// another caller still gets sessions.
func TestSessionFloodCapped(t *testing.T) {
	t.Parallel()
	const perCaller = 40
	h := start(t, opts{Tune: func(c *config.Config) { c.HTTP.MaxSessionsPerCaller = perCaller }})
	for i := range perCaller + 1 {
		st, rh, body := h.post(t, server.PathMCP, tokenReader, initMsg, nil)
		if i < perCaller {
			if st != http.StatusOK {
				t.Fatalf("session %d refused: %d %s", i, st, clip(body, 200))
			}
			continue
		}
		if st != http.StatusServiceUnavailable || rh.Get("Retry-After") == "" || !strings.Contains(body, `"jsonrpc":"2.0"`) ||
			!strings.Contains(body, "too many open MCP sessions for this credential") || !strings.Contains(body, "DELETE") {
			t.Fatalf("session %d over the cap: %d %s", i, st, clip(body, 300))
		}
	}
	if st, _, body := h.post(t, server.PathMCP, tokenSales, initMsg, nil); st != http.StatusOK {
		t.Fatalf("another caller was refused a session: %d %s", st, clip(body, 200))
	}
}
