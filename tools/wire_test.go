package tools

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// emulatorAccountSales is emulatorAccount as profSales may see it: without
// Annual_Revenue and Owner, the other fields in Zoho's order.
const emulatorAccountSales = `{"id":"5725767000001000007","Account_Name":"Hooli Corp 7","Account_Number":100007,"Account_Site":"Sydney HQ","Account_Type":"Partner","Employees":2753,"Industry":"Communications","Ownership":"Other","Rating":"Acquired","SIC_Code":3538,"Ticker_Symbol":"T0007","Phone":"+1 555 0007","Fax":null,"Website":"https://acct7.example.com","Email":"contact@acct7.example.com","Description":null,"Parent_Account":null,"Billing_Street":"937 Main Street","Billing_City":"Sydney","Billing_State":"NSW","Billing_Code":"17924","Billing_Country":"Australia","Shipping_Street":null,"Shipping_City":"Sydney","Shipping_State":"NSW","Shipping_Code":null,"Shipping_Country":"Australia","Currency":"USD","Exchange_Rate":1,"Locked__s":false,"Created_Time":"2024-01-09T15:21:31-06:00","Modified_Time":"2024-02-22T13:21:31-06:00","Last_Activity_Time":"2024-02-22T13:21:31-06:00","Created_By":{"email":"p.boyle@example.com","id":"5725767000000411001","name":"Patricia Boyle"},"Modified_By":{"email":"p.boyle@example.com","id":"5725767000000411001","name":"Patricia Boyle"}}`

// TestRecordAnswerWire pins what a client receives for get_account and
// get_record, as the Streamable HTTP transport writes it: the JSON-RPC
// answer must decode to exactly what mcp-go writes for a plain
// mcp.CallToolResult holding the expected text (summary line, blank line,
// the record's JSON in Zoho's key order), structured content and route.
// However the proxy builds or encodes its answers, this must not move.
func TestRecordAnswerWire(t *testing.T) {
	t.Parallel()
	_, m := servedEnv(t)
	const summary = "Hooli Corp 7 (" + emulatorAccountID + ") (served by MCP).\n\n"
	tests := []struct {
		name       string
		prof       *permissions.Profile
		call       string // the tools/call params
		structured string
		text       string
	}{
		{"get_account", profAll, `{"name":"get_account","arguments":{"account_id":"` + emulatorAccountID + `"}}`,
			`{"account":` + emulatorAccount + `}`, "Account " + summary + `{"account":` + emulatorAccount + `}`},
		{"get_account with denied fields", profSales, `{"name":"get_account","arguments":{"account_id":"` + emulatorAccountID + `"}}`,
			`{"account":` + emulatorAccountSales + `}`, "Account " + summary + `{"account":` + emulatorAccountSales + `}`},
		{"get_record", profAll, `{"name":"get_record","arguments":{"module":"Accounts","record_id":"` + emulatorAccountID + `"}}`,
			`{"module":"Accounts","record":` + emulatorAccount + `}`, "Accounts record " + summary + `{"module":"Accounts","record":` + emulatorAccount + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wire bytes.Buffer
			serve(t, m, tt.prof, []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":`+tt.call+`}`), &wire)
			var got struct {
				Result struct {
					Meta map[string]json.RawMessage `json:"_meta"`
				} `json:"result"`
			}
			if err := json.Unmarshal(wire.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			var route tiers.Route
			if err := json.Unmarshal(got.Result.Meta[tiers.RouteMetaKey], &route); err != nil {
				t.Fatalf("route: %v in %s", err, wire.Bytes())
			}
			if route.Tier != tiers.MCP || len(route.Attempts) != 1 || route.Attempts[0] != (tiers.Attempt{Tier: tiers.MCP, Outcome: tiers.AttemptSuccess}) {
				t.Errorf("route = %+v", route)
			}
			ref := mcp.NewToolResultStructured(json.RawMessage(tt.structured), tt.text)
			ref.Meta = mcp.NewMetaFromMap(map[string]any{tiers.RouteMetaKey: route})
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(mcp.JSONRPCResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(int64(7)), Result: ref}); err != nil {
				t.Fatal(err)
			}
			if g, w := decodeAny(t, wire.Bytes()), decodeAny(t, want.Bytes()); !reflect.DeepEqual(g, w) {
				t.Errorf("wire answer\n%s\nwant (as decoded)\n%s", wire.Bytes(), want.Bytes())
			}
		})
	}
}

// decodeAny decodes b as encoding/json decodes into any, numbers kept as
// written.
func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

// FuzzAppendLabel checks the summary's record label against the plain
// reading of the record (tiers.RawStrings, as a decoded Record would give
// the fields): the name is the first non-empty string of the name fields,
// then the id.
func FuzzAppendLabel(f *testing.F) {
	for _, s := range []string{emulatorAccount, `{"id":"1","Last_Name":"Ann","Full_Name":""}`, `{"id":7,"Name":"a\u0026b"}`,
		`{"Name":"x","Name":"","id":"1"}`, `{"Subject":"\ud800","id":"\"q\""}`, `{"Full_Name":"\xff","id":"2"}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		if !json.Valid(rec) {
			return
		}
		vals := tiers.RawStrings(rec, append([]string{"id"}, nameFields...)...)
		want := vals[0]
		for _, name := range vals[1:] {
			if name != "" {
				want = name + " (" + vals[0] + ")"
				break
			}
		}
		if got := string(appendLabel([]byte("x"), rec, nameFields...)); got != "x"+want {
			t.Errorf("appendLabel(%s) = %q, want %q", rec, got, "x"+want)
		}
	})
}

// FuzzObjectFields checks objectFields, which reads a call's arguments,
// against json.Unmarshal into a map[string]json.RawMessage: the same
// verdict on what is an object, the same keys (unescaped) and value bytes.
func FuzzObjectFields(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `[]`, `"x"`, `1`, ` {"a" : 1 , "b":[1, {"c":"}"}] } `, `{"a":1,"a":2}`,
		`{"\u0061\"":"\ud800","b":null}`, "{\"\xff\":1}", `{"a":1`, `{"a":1}}`, `{"a":-0.5e3,"b":true,"c":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want map[string]json.RawMessage
		err := json.Unmarshal(raw, &want)
		got, ok := objectFields(raw)
		if ok != (err == nil && want != nil) {
			t.Fatalf("objectFields(%q) ok = %t; json.Unmarshal: %v, %v", raw, ok, err, want)
		}
		if !ok {
			return
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Errorf("objectFields(%q) = %q, want %q", raw, got, want)
		}
	})
}

// FuzzUnquote checks unquote, which reads string arguments, against
// json.Unmarshal into a string.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"3652397000000624001"`, `""`, `"a\"b"`, `"\u00e9"`, "\"\xff\"", "\"\x01\"", `"a"b"`, `1`, `null`, `"`, `"é"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var want string
		werr := json.Unmarshal(v, &want)
		got, err := unquote(v)
		if (err == nil) != (werr == nil) || got != want {
			t.Errorf("unquote(%q) = %q, %v; json.Unmarshal: %q, %v", v, got, err, want, werr)
		}
	})
}

// FuzzDeniedKey checks deniedKey, which redacts a record's bytes, against
// Profile.DeniedIn of the unescaped key.
func FuzzDeniedKey(f *testing.F) {
	for _, s := range []string{"Owner", "owner", "Annual_Revenue", `Own\u0065r`, "K\u212a", "Email", "\xff", `a\"b`, "Ünïcode"} {
		f.Add(s)
	}
	p := &permissions.Profile{Name: "f", DenyFields: []string{"Owner", "kelvin"}, DenyIn: map[string][]string{"accounts": {"Email", "Ünïcode", "Annual_Revenue"}}}
	f.Fuzz(func(t *testing.T, key string) {
		q, _ := json.Marshal(key)
		for _, k := range [][]byte{[]byte(key), q[1 : len(q)-1]} {
			if !json.Valid(append(append([]byte{'"'}, k...), '"')) {
				continue
			}
			if got, want := deniedKey(p.DeniedFields(Module), k), p.DeniedIn(Module, tiers.KeyString(k)); got != want {
				t.Errorf("deniedKey(%q) = %t, want %t", k, got, want)
			}
		}
	})
}
