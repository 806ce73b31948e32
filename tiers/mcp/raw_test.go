package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// TestGetRawAnswersAsGet holds GetRaw, the undecoded read get_account
// passes through, to Get's answers: the same record (fields projected, id
// checked), the same errors, across the upstream's variants and faults.
func TestGetRawAnswersAsGet(t *testing.T) {
	t.Parallel()
	variants := []variant{
		defaultVariant,
		{name: "wrapped", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page", wrap: true},
		{name: "structured", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page", structured: true, wrap: true},
		{name: "per-module", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page", perModule: true},
	}
	cases := []struct {
		name  string
		req   tiers.GetRequest
		fault string
	}{
		{"every field", tiers.GetRequest{Module: "Accounts", ID: firstID}, ""},
		{"some fields", tiers.GetRequest{Module: "Accounts", ID: firstID, Fields: []string{"Account_Name", "Phone"}}, ""},
		{"unknown id", tiers.GetRequest{Module: "Accounts", ID: "1"}, ""},
		{"bad id", tiers.GetRequest{Module: "Accounts", ID: "x1"}, ""},
		{"malformed answer", tiers.GetRequest{Module: "Accounts", ID: firstID}, "malformed"},
		{"5xx", tiers.GetRequest{Module: "Accounts", ID: firstID}, "5xx"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, v)
			tr := newTier(t, f.endpoint(), nil)
			ctx := context.Background()
			for _, c := range cases {
				f.setFault(c.fault)
				want, werr := tr.Get(ctx, c.req)
				raw, gerr := tr.GetRaw(ctx, c.req)
				f.setFault("")
				if classOf(gerr) != classOf(werr) || code(gerr) != code(werr) {
					t.Errorf("%s: GetRaw error %v, Get %v", c.name, gerr, werr)
					continue
				}
				if werr != nil {
					continue
				}
				d := json.NewDecoder(bytes.NewReader(raw))
				d.UseNumber()
				var got tiers.Record
				if err := d.Decode(&got); err != nil {
					t.Fatalf("%s: GetRaw = %s: %v", c.name, raw, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: GetRaw = %v, Get = %v", c.name, got, want)
				}
			}
		})
	}
}

func code(err error) string {
	var te *tiers.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}

func TestUnwrap(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"Zoho's own body", `{"data":[{"id":"1"}],"info":{"count":1}}`, `{"data":[{"id":"1"}],"info":{"count":1}}`},
		{"wrapped", `{"data":{"data":[{"id":"1"}]},"status":"success"}`, `{"data":[{"id":"1"}]}`},
		{"wrapped twice", `{"data":{"Data":{"data":[]},"status":"success"}}`, `{"data":[]}`},
		{"key case ignored", `{"Data":{"data":[]},"Status":"success"}`, `{"data":[]}`},
		{"too many keys: not a wrapper", `{"data":{"data":[]},"status":"success","a":1,"b":2}`, `{"data":{"data":[]},"status":"success","a":1,"b":2}`},
		{"status not a string: not a wrapper", `{"data":{"data":[]},"status":1}`, `{"data":{"data":[]},"status":1}`},
		{"not JSON", `{"data":{`, `{"data":{`},
		{"array", `[{"id":"1"}]`, `[{"id":"1"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(unwrap([]byte(tt.in))); got != tt.want {
				t.Errorf("unwrap(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
