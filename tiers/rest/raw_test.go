package rest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestGetRawAnswersAsGet holds GetRaw, the undecoded read get_account
// passes through, to Get's answers: the same record and the same errors.
func TestGetRawAnswersAsGet(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 20})
	tier := newTier(t, sim, func(c *Config) { c.MaxRetries = 0 })
	id := sim.Store().IDs()[3]
	cases := []struct {
		name  string
		req   tiers.GetRequest
		fault zohosim.FaultMode
	}{
		{"every field", tiers.GetRequest{Module: "Accounts", ID: id}, ""},
		{"some fields", tiers.GetRequest{Module: "Accounts", ID: id, Fields: []string{"Account_Name", "Phone"}}, ""},
		{"unknown id", tiers.GetRequest{Module: "Accounts", ID: "5725767000009999999"}, ""},
		{"bad id", tiers.GetRequest{Module: "Accounts", ID: "12a"}, ""},
		{"bad module", tiers.GetRequest{Module: "Nope", ID: id}, ""},
		{"malformed answer", tiers.GetRequest{Module: "Accounts", ID: id}, zohosim.FaultMalformed},
		{"5xx", tiers.GetRequest{Module: "Accounts", ID: id}, zohosim.Fault5xx},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			get := func() (tiers.Record, error) {
				if c.fault != "" {
					sim.SetFault(zohosim.SurfaceREST, zohosim.Fault{Mode: c.fault})
					defer sim.ClearFaults()
				}
				return tier.Get(ctx(), c.req)
			}
			getRaw := func() (json.RawMessage, error) {
				if c.fault != "" {
					sim.SetFault(zohosim.SurfaceREST, zohosim.Fault{Mode: c.fault})
					defer sim.ClearFaults()
				}
				return tier.GetRaw(ctx(), c.req)
			}
			want, werr := get()
			raw, gerr := getRaw()
			if tiers.Classify(gerr) != tiers.Classify(werr) || codeOf(gerr) != codeOf(werr) || (gerr == nil) != (werr == nil) {
				t.Fatalf("GetRaw error %v, Get %v", gerr, werr)
			}
			if werr != nil {
				return
			}
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			var got tiers.Record
			if err := d.Decode(&got); err != nil {
				t.Fatalf("GetRaw = %s: %v", raw, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GetRaw = %v, Get = %v", got, want)
			}
		})
	}
}

func codeOf(err error) string {
	if te, ok := err.(*tiers.Error); ok {
		return te.Code
	}
	return ""
}
