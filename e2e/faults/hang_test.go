package faults

import (
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestHangWithDefaultTimeouts: a surface that hangs, with the shipped
// defaults (a 30s call deadline; tier timeouts 30s, 60s, 45s). The hung tier
// must be given up within its share of the deadline (10s for the first of
// three tiers, 15s for the first of two), the next tier must serve the call,
// the hang must count against the hung tier's breaker, and writes that hung
// after Zoho applied them must end reconciled, written once. Before, the
// hung tier ate the whole deadline: the others were skipped_deadline, the
// breaker was not told, and the writes ended OUTCOME_UNKNOWN.
//
// By design each case takes one share of the default deadline (10–15s) of
// wall time, the bulk one BULK's default 60s timeout (a bulk call has the
// 10-minute bulk deadline, and a hung BULK is given up once silent for its
// timeout); they run in parallel.
func TestHangWithDefaultTimeouts(t *testing.T) {
	t.Parallel()
	if d := config.Default(); d.CallTimeout != 30*time.Second || d.Tiers.MCP.Timeout < d.CallTimeout/3 {
		t.Logf("note: the defaults changed (call %v, MCP %v); the shares below follow them", d.CallTimeout, d.Tiers.MCP.Timeout)
	}
	cases := []struct {
		name    string
		surface zohosim.Surface
		mode    zohosim.FaultMode
		hung    string // the tier the hang is on
		tool    string
		args    func(ids []string) map[string]any
		write   bool
		want    []string // the route's attempts
	}{
		{name: "get_account", surface: zohosim.SurfaceMCP, mode: zohosim.FaultHang, hung: tMCP, tool: "get_account",
			args: func(ids []string) map[string]any {
				return map[string]any{"account_id": ids[0], "fields": []string{readFields}}
			},
			want: []string{"MCP:unavailable", "BULK:success"}},
		{name: "update_account hangs after apply", surface: zohosim.SurfaceMCP, mode: zohosim.FaultHangAfterApply, hung: tMCP, tool: "update_account", write: true,
			args: func(ids []string) map[string]any {
				return map[string]any{"account_id": ids[0], "data": map[string]any{"Description": "hung after apply " + ids[0]}}
			},
			want: []string{"MCP:outcome_unknown", "BULK:reconciled"}},
		{name: "bulk_update_accounts hangs after apply", surface: zohosim.SurfaceBulk, mode: zohosim.FaultHangAfterApply, hung: tBulk, tool: "bulk_update_accounts", write: true,
			args: func(ids []string) map[string]any {
				ups := make([]map[string]any, len(ids))
				for i, id := range ids {
					ups[i] = map[string]any{"id": id, "data": map[string]any{"Description": "hung after apply " + id}}
				}
				return map[string]any{"updates": ups, "trigger": []string{}}
			},
			want: []string{"BULK:outcome_unknown", "REST:reconciled"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, opts{Defaults: true})
			h.warmUp()
			ids := h.ids(0, 1)
			if tc.tool == "bulk_update_accounts" {
				ids = h.ids(0, bulkWriteN)
			}
			h.sim.SetFault(tc.surface, zohosim.Fault{Mode: tc.mode})
			r := h.call(profOps, tc.tool, tc.args(ids))
			h.sim.SetFault(tc.surface, zohosim.Fault{})
			if r.err != nil || r.isErr {
				t.Fatalf("not served with %s hung: %s", tc.hung, r.dump)
			}
			var got []string
			for _, a := range r.route.Attempts {
				got = append(got, a.Tier+":"+a.Outcome)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("route %s, want %v", r.route, tc.want)
			}
			if !tc.write && !strings.Contains(r.route.Attempts[0].Error, "share of the call's deadline") {
				// (A write's tier says itself that it sent the write and no
				// answer came.)
				t.Errorf("the hung attempt does not say why it ended: %q", r.route.Attempts[0].Error)
			}
			lim := h.o.CallTimeout
			if strings.HasPrefix(tc.tool, "bulk_") {
				// A bulk call has the bulk deadline; a hung BULK is given up
				// once silent for its budget (its 60s timeout), well inside it.
				lim = h.cfg.Tiers.Bulk.Timeout + h.o.CallTimeout
			}
			if r.dur > lim {
				t.Errorf("took %v, more than %v", r.dur, lim)
			}
			if b := h.health()[tc.hung]; b.FailureCount < 1 {
				t.Errorf("the hang on %s did not count against its breaker: %+v", tc.hung, b)
			}
			if !tc.write {
				return
			}
			var out writeOut
			mustDecode(t, r, &out)
			verifyWriteOutcomes(t, h.sim, out, ids, func(id string) string { return "hung after apply " + id }, r, false)
			for _, o := range out.Results {
				if o.Status != "success" || !strings.Contains(o.Message, "reconciled") {
					t.Errorf("record %s: %s %q, want reconciled", o.ID, o.Status, o.Message)
				}
			}
			if n := len(out.Results); n != len(ids) {
				t.Errorf("%d outcomes for %d records", n, len(ids))
			}
			t.Logf("%s served in %v: %s", tc.tool, r.dur.Round(time.Millisecond), r.route)
		})
	}
}
