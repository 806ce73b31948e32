package faults

import (
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestCreateHangAfterApplyDefaults: with the shipped router settings, a
// create that tier 1 applied and never answered is settled by BULK's look-up
// inside the call's deadline, and Zoho holds the record once.
func TestCreateHangAfterApplyDefaults(t *testing.T) {
	t.Parallel()
	h := start(t, opts{Defaults: true})
	h.warmUp()
	if r := h.call(profOps, "describe_module", map[string]any{"module": "Contacts"}); r.err != nil || r.isErr {
		t.Fatalf("describe_module: %s", r.dump)
	}
	email := "hung.create." + h.ids(0, 1)[0] + "@example.com"
	h.sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultHangAfterApply, Times: 1})
	r := h.call(profOps, "create_records", map[string]any{"module": "Contacts",
		"records": []any{map[string]any{"Last_Name": "Hung", "Email": email}}})
	h.sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{})
	if r.err != nil || r.isErr {
		t.Fatalf("create not settled: %s", r.dump)
	}
	var got []string
	for _, a := range r.route.Attempts {
		got = append(got, a.Tier+":"+a.Outcome)
	}
	if strings.Join(got, " ") != "MCP:outcome_unknown BULK:reconciled" {
		t.Errorf("route %s, want MCP:outcome_unknown then BULK:reconciled", r.route)
	}
	if lim := h.o.CallTimeout; r.dur > lim {
		t.Errorf("took %v, more than the call's deadline %v", r.dur, lim)
	}
	n, id := 0, ""
	h.sim.Records("Contacts").Each(func(rec zohosim.Record) bool {
		if rec["Email"] == email {
			n++
			id, _ = rec["id"].(string)
		}
		return true
	})
	res, _ := r.sc["results"].([]any)
	first, _ := res[0].(map[string]any)
	if n != 1 || first["id"] != id || !strings.Contains(first["message"].(string), "reconciled") {
		t.Errorf("%d contacts hold the email (want 1); result %v", n, first)
	}
	t.Logf("create served in %v: %s", r.dur.Round(time.Millisecond), r.route)
}
