package mcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// oldBuild is tool.build as it was before toolArgs, rendering straight into
// maps: the oracle the two renderings of toolArgs are held to.
func (t *tool) oldBuild(args []arg) (map[string]any, error) {
	out := map[string]any{}
	put := func(section, key string, v any) {
		if section == "" {
			out[key] = v
			return
		}
		m, _ := out[section].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[section] = m
		}
		m[key] = v
	}
	for _, a := range args {
		section, key, ok := t.place(a)
		if !ok {
			if a.required {
				return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnsupported,
					Message: fmt.Sprintf("upstream tool %s takes no %q argument (looked for %s)",
						t.name, a.name, strings.Join(aliases[a.name], ", "))}
			}
			continue
		}
		put(section, key, a.value)
	}
	return out, nil
}

// schemaTool is a tool whose input schema has the given sections (each
// with its property names; nil: a section without properties) and flat
// properties.
func schemaTool(name string, sections map[string][]string, flat ...string) *tool {
	props := map[string]any{}
	for sec, names := range sections {
		p := map[string]any{}
		for _, n := range names {
			p[n] = map[string]any{"type": "string"}
		}
		s := map[string]any{"type": "object"}
		if names != nil {
			s["properties"] = p
		}
		props[sec] = s
	}
	for _, n := range flat {
		props[n] = map[string]any{"type": "string"}
	}
	return newTool(mcpgo.Tool{Name: name, InputSchema: mcpgo.ToolInputSchema{Type: "object", Properties: props}})
}

// argTools are tool schemas of every shape place handles: untyped, the
// envelope with each alias spelling, arguments moved to other sections,
// sections that take anything, flat arguments, and a mix.
func argTools() []*tool {
	return []*tool{
		newTool(mcpgo.Tool{Name: "ZohoCRM_getRecord"}),
		schemaTool("ZohoCRM_getRecords", map[string][]string{
			secPath:  {"module", "recordID", "parentRecordModule", "parentRecord", "relatedList"},
			secQuery: {"fields", "ids", "per_page", "page", "page_token", "sort_by", "sort_order", "criteria", "email", "phone", "word", "module"},
			secBody:  {"data", "trigger", "select_query"},
		}),
		schemaTool("ZohoCRM_searchRecords", map[string][]string{
			secPath:  {"moduleApiName", "recordId", "parent_record_module", "parent_record", "related_list"},
			secQuery: {"fields", "perPage", "pageToken", "sortBy", "sortOrder", "criteria", "word"},
			secBody:  {"data", "trigger", "selectQuery"},
		}),
		schemaTool("ZohoCRM_updateRecords", map[string][]string{
			secPath: {"module_api_name", "page_token", "record_id"},
			secBody: {"fields", "data", "trigger", "query"},
		}),
		schemaTool("ZohoCRM_getAccountsRecord", map[string][]string{secPath: nil, secQuery: nil, secBody: nil, "headers": nil}),
		schemaTool("ZohoCRM_executeCOQLQuery", nil, "select_query", "module", "recordID", "fields", "per_page", "data", "trigger"),
		schemaTool("ZohoCRM_createRecords", map[string][]string{secQuery: {"fields"}, secBody: nil}, "moduleName", "id", "perPage"),
		schemaTool("name <&> \u2028 \xff \"quoted\"", map[string][]string{secPath: {"module"}}),
		schemaTool("Zoho&CRM", map[string][]string{secPath: {"module"}}),
	}
}

// argShapes are the argument lists the tier's operations build (ops.go,
// modules.go), with values of the kinds they carry: strings (HTML
// characters, unicode, invalid UTF-8 included), ints, records and lists.
func argShapes() map[string][]arg {
	rec := tiers.Record{"Phone": "555 <0107> & co", "Annual_Revenue": 1.5e6, "Employees": json.Number("12"),
		"Owner": map[string]any{"id": "1"}, "Tags": []any{"a", nil, true}, "Note": "caf\u00e9 \u2028 \xff", "Big": 1e21, "id": "5725767000001000007"}
	return map[string][]arg{
		"get": {{section: secPath, name: "recordID", value: "5725767000001000001", required: true}, moduleArg("Accounts", false),
			{section: secQuery, name: "fields", value: "Account_Name,Phone"}},
		"get per module": {{section: secPath, name: "recordID", value: "5725767000001000001", required: true}, moduleArg("Accounts", true)},
		"get by ids": {moduleArg("Accounts", false), {section: secQuery, name: "ids", value: "1,2,3", required: true},
			{section: secQuery, name: "fields", value: "id"}},
		"list": {moduleArg("Accounts", false), {section: secQuery, name: "fields", value: "Phone"},
			{section: secQuery, name: "sort_by", value: "Modified_Time", required: true}, {section: secQuery, name: "sort_order", value: "desc", required: true},
			{section: secQuery, name: "per_page", value: 200}, {section: secQuery, name: "page_token", value: "tok/+=<>", required: true}},
		"list by page": {moduleArg("Accounts", false), {section: secQuery, name: "per_page", value: -7},
			{section: secQuery, name: "page", value: 3, required: true}},
		"search":       {moduleArg("Accounts", false), {section: secQuery, name: "criteria", value: `((Account_Name:equals:A&B) and (Phone:starts_with:"5"))`, required: true}},
		"search word":  {moduleArg("Accounts", false), {section: secQuery, name: "word", value: "Zoë\t\n\\", required: true}},
		"search email": {moduleArg("Accounts", false), {section: secQuery, name: "email", value: "a@b.c", required: true}},
		"coql":         {{section: secBody, name: "select_query", value: "select id from Accounts where Phone like '%<5>%' limit 2", required: true}},
		"update": {{section: secBody, name: "data", value: []any{rec}, required: true},
			{section: secPath, name: "recordID", value: "5725767000001000007", required: true}, moduleArg("Accounts", false),
			{section: secBody, name: "trigger", value: []string{"workflow"}, required: true}},
		"update no trigger": {{section: secBody, name: "data", value: []any{rec}, required: true}, moduleArg("Accounts", false),
			{section: secBody, name: "trigger", value: []string{}, required: true}},
		"create":   {{section: secBody, name: "data", value: []any{tiers.Record{"Account_Name": "x"}, tiers.Record{}}, required: true}, moduleArg("Accounts", true)},
		"metadata": {{section: secQuery, name: "module", value: "Accounts", required: true}},
		"modules":  nil,
		"related": {{section: secPath, name: "parentRecordModule", value: "Accounts", required: true},
			{section: secPath, name: "parentRecord", value: "5725767000001000001", required: true},
			{section: secPath, name: "relatedList", value: "Contacts", required: true}},
		// Two logical arguments one name serves: the map keeps the last.
		"alias clash": {moduleArg("Accounts", false), {section: secPath, name: "parentRecordModule", value: "Deals"},
			{section: secPath, name: "recordID", value: "1"}, {section: secPath, name: "parentRecord", value: "2"}},
		// One character to escape (or not) per string, so that each
		// rule of encoding/json's string encoder is the only one met.
		"one escape each": {moduleArg("A&B", false), {section: secPath, name: "recordID", value: "a>b"},
			{section: secQuery, name: "fields", value: "\u2028"}, {section: secQuery, name: "word", value: "\t"},
			{section: secQuery, name: "email", value: "\x7f"}, {section: secQuery, name: "phone", value: "\xff"},
			{section: secQuery, name: "criteria", value: "é"}, {section: secQuery, name: "page_token", value: "/"},
			{section: secBody, name: "select_query", value: "\\"}, {section: secBody, name: "trigger", value: "x<"}},
		"nil and odd values": {{section: secQuery, name: "fields", value: nil}, {section: secQuery, name: "per_page", value: int64(math.MaxInt64)},
			{section: secQuery, name: "page", value: 2.5}, {section: secQuery, name: "word", value: false}},
	}
}

// TestArgsRenderings holds both renderings of every argument shape on
// every tool shape to oldBuild: object equals its map, and appendParams
// writes json.Marshal's bytes for it, as params and inside the whole
// JSON-RPC request.
func TestArgsRenderings(t *testing.T) {
	t.Parallel()
	for _, tl := range argTools() {
		for name, args := range argShapes() {
			t.Run(tl.name+"/"+name, func(t *testing.T) {
				want, werr := tl.oldBuild(args)
				got, err := tl.build(args, nil)
				if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
					t.Fatalf("build error = %v, want %v", err, werr)
				}
				if err != nil {
					return
				}
				if !reflect.DeepEqual(got.object(), want) {
					t.Errorf("object() = %#v, want %#v", got.object(), want)
				}
				sameParams(t, tl.name, got, want)
			})
		}
	}
}

// sameParams checks that appendParams writes for args what json.Marshal
// writes for the map want, as params and as a whole request.
func sameParams(t *testing.T, name string, args toolArgs, want map[string]any) {
	t.Helper()
	wb, werr := json.Marshal(mcpgo.CallToolParams{Name: name, Arguments: want})
	gb, err := appendParams(nil, name, args)
	if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
		t.Fatalf("appendParams error = %v, json.Marshal's = %v", err, werr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(gb, wb) {
		t.Fatalf("appendParams wrote\n%s\njson.Marshal writes\n%s", gb, wb)
	}
	id := mcpgo.NewRequestId("zmp-1")
	wr, _ := json.Marshal(mcpgoRequest(id, mcpgo.CallToolParams{Name: name, Arguments: want}))
	gr, err := json.Marshal(mcpgoRequest(id, json.RawMessage(gb)))
	if err != nil || !bytes.Equal(gr, wr) {
		t.Fatalf("the request with raw params is\n%s (%v)\nwith the map\n%s", gr, err, wr)
	}
}

// TestArgsUnencodable checks that a value json.Marshal cannot encode fails
// appendParams with json.Marshal's error, not a half-written request.
func TestArgsUnencodable(t *testing.T) {
	t.Parallel()
	tl := argTools()[1]
	for _, v := range []any{math.NaN(), math.Inf(1), make(chan int), map[string]any{"f": func() {}}} {
		args, err := tl.build([]arg{moduleArg("Accounts", false), {section: secBody, name: "data", value: v}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, werr := json.Marshal(mcpgo.CallToolParams{Name: tl.name, Arguments: args.object()})
		b, err := appendParams(nil, tl.name, args)
		if err == nil || werr == nil || err.Error() != werr.Error() || b != nil {
			t.Errorf("appendParams(%T) = %q, %v; json.Marshal fails with %v", v, b, err, werr)
		}
	}
}

// TestArgsAllocations pins the cost of a get's arguments on the raw path
// (counted, not timed): the params' buffer only, the placed arguments
// being on readRaw's stack; the maps they replace cost four allocations
// and json.Marshal a dozen more. A build without a buffer allocates once.
func TestArgsAllocations(t *testing.T) {
	tl := argTools()[1]
	args := argShapes()["get"]
	for _, tt := range []struct {
		name  string
		stack bool
		want  float64
	}{{"into a stack buffer", true, 1}, {"into its own slice", false, 2}} {
		t.Run(tt.name, func(t *testing.T) {
			n := testing.AllocsPerRun(100, func() {
				var into [8]placed
				var as toolArgs
				var err error
				if tt.stack {
					as, err = tl.build(args, into[:0])
				} else {
					as, err = tl.build(args, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := appendParams(make([]byte, 0, paramsSize(tl.name, as)), tl.name, as); err != nil {
					t.Fatal(err)
				}
			})
			if n > tt.want {
				t.Errorf("a get's arguments allocate %v times, want at most %v", n, tt.want)
			}
		})
	}
}

// FuzzArgsJSON builds arguments of arbitrary values (strings of any bytes,
// numbers, JSON values decoded into any) under arbitrary tool and property
// names, and checks appendParams against json.Marshal of the map form.
func FuzzArgsJSON(f *testing.F) {
	f.Add("ZohoCRM_getRecord", "recordID", "5725767000001000001", int64(3), 1.5, true, []byte(`{"a":[1,"<b>",null,{"c":"\u2028"}]}`), uint8(0))
	f.Add("<&>", "per_page", "caf\xe9 \u2029 <script>&amp;", int64(-1<<63), math.SmallestNonzeroFloat64, false, []byte(`[1e21, 0.000001, 12345678901234567890]`), uint8(7))
	f.Add("", "", "", int64(0), math.Copysign(0, -1), false, []byte(`null`), uint8(255))
	f.Add("a&b", "&", "&", int64(5), 1e21, false, []byte(`"&"`), uint8(4))
	f.Add("t\x00", "module", "\"\\\x7f\x1f\b\f", int64(1<<53+1), 1e-7, true, []byte(`"\ud800"`), uint8(42))
	f.Fuzz(func(t *testing.T, name, prop, s string, n int64, fl float64, b bool, raw []byte, pick uint8) {
		var decoded any
		if json.Unmarshal(raw, &decoded) != nil {
			decoded = string(raw)
		}
		values := []any{s, int(n), n, fl, b, nil, decoded, []any{s, decoded}, map[string]any{s: decoded, prop: n}, json.RawMessage(raw), []string{s, prop}}
		// A schema naming prop in one section, other names elsewhere,
		// and prop flat when the pick says so.
		sections := map[string][]string{secPath: {"module", prop}, secQuery: {"fields", "per_page", prop + "x"}}
		var flat []string
		if pick&1 != 0 {
			flat = append(flat, "recordID", prop+"y")
		}
		if pick&2 != 0 {
			sections[secBody] = nil
		}
		tl := newTool(mcpgo.Tool{Name: name})
		if pick&4 == 0 {
			tl = schemaTool(name, sections, flat...)
		}
		names := []string{"module", "recordID", "fields", "per_page", "data", prop, prop + "x", prop + "y"}
		secs := []string{secPath, secQuery, secBody}
		var args []arg
		for i, v := range values {
			p := int(pick) + i
			args = append(args, arg{section: secs[p%3], name: names[(p*7+int(n&7))%len(names)], value: v})
		}
		want, werr := tl.oldBuild(args)
		got, err := tl.build(args, nil)
		if (err == nil) != (werr == nil) {
			t.Fatalf("build error = %v, want %v", err, werr)
		}
		if err != nil {
			return
		}
		if gb, _ := json.Marshal(got.object()); !bytes.Equal(gb, mustMarshal(want)) {
			t.Fatalf("object() = %s, want %s", gb, mustMarshal(want))
		}
		sameParams(t, name, got, want)
	})
}

// mcpgoRequest is a tools/call request with params as the transport
// marshals it.
func mcpgoRequest(id mcpgo.RequestId, params any) transport.JSONRPCRequest {
	return transport.JSONRPCRequest{JSONRPC: mcpgo.JSONRPC_VERSION, ID: id, Method: string(mcpgo.MethodToolsCall), Params: params}
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// BenchmarkToolCallRequest is the cost of a get's tools/call request up to
// its bytes on the wire: the arguments built as maps and the request
// marshaled by encoding/json (map, as before args.go), and the arguments
// placed and written as params that json.Marshal copies through (raw).
func BenchmarkToolCallRequest(b *testing.B) {
	tl := argTools()[1]
	args := argShapes()["get"]
	id := mcpgo.NewRequestId("zmp-1")
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := tl.oldBuild(args)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(mcpgoRequest(id, mcpgo.CallToolParams{Name: tl.name, Arguments: m})); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var into [8]placed
			as, err := tl.build(args, into[:0])
			if err != nil {
				b.Fatal(err)
			}
			p, err := appendParams(make([]byte, 0, paramsSize(tl.name, as)), tl.name, as)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(mcpgoRequest(id, json.RawMessage(p))); err != nil {
				b.Fatal(err)
			}
		}
	})
}
