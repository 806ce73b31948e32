package faults

import (
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestBreakersOpenSkipAndReset takes each tier's surface down until its
// breaker opens and checks, through the MCP tools only: get_tier_health
// shows it open; the next call skips the tier at once (breaker_open in the
// route, nothing sent to that surface) and is served by the next tier;
// reset_circuit_breakers (admin) closes it and is refused to a reader;
// after the surface recovers and the open period passes, the tier serves
// again and its breaker closes.
func TestBreakersOpenSkipAndReset(t *testing.T) {
	t.Parallel()
	const threshold = 2
	cases := []struct {
		tier, tool string
		args       func(h *harness) map[string]any
	}{
		{tMCP, "get_account", func(h *harness) map[string]any {
			return map[string]any{"account_id": h.ids(0, 1)[0], "fields": []string{"Account_Name"}}
		}},
		{tBulk, "bulk_read_accounts", func(h *harness) map[string]any {
			return map[string]any{"account_ids": h.ids(0, 15), "fields": []string{"Account_Name"}}
		}},
	}
	for _, c := range cases {
		t.Run(c.tier, func(t *testing.T) {
			t.Parallel()
			cool := 2 * tierTimeout()
			h := start(t, opts{Threshold: threshold, BreakerTimeout: cool})
			h.warmUp()
			sf := surfaceOfTier[c.tier]
			h.sim.SetFault(sf, zohosim.Fault{Mode: zohosim.FaultDown})
			for i := range threshold {
				r := h.call(profOps, c.tool, c.args(h))
				if r.isErr || r.route.Attempts[0].Tier != c.tier || r.route.Attempts[0].Outcome != "unavailable" {
					t.Fatalf("call %d with %s down: %s", i+1, c.tier, r.dump)
				}
			}
			if st := h.health()[c.tier].State; st != "open" {
				t.Fatalf("%s breaker %s after %d failures (threshold %d)", c.tier, st, threshold, threshold)
			}
			h.sim.ResetLog()
			r := h.call(profOps, c.tool, c.args(h))
			if r.isErr || r.route.Attempts[0].Tier != c.tier || r.route.Attempts[0].Outcome != "breaker_open" || r.route.Tier == c.tier {
				t.Errorf("with the %s breaker open: %s", c.tier, r.dump)
			}
			if n := h.sim.RequestCount(sf); n != 0 {
				t.Errorf("%d requests reached the %s surface past an open breaker", n, sf)
			}
			if r.dur > tierTimeout()/2 {
				t.Errorf("skipping an open breaker took %v", r.dur)
			}

			// Admin only.
			if r := h.call(profReader, "reset_circuit_breakers", map[string]any{}); r.err == nil && !r.isErr {
				t.Errorf("a reader reset the breakers: %s", r.dump)
			}
			if st := h.health()[c.tier].State; st != "open" {
				t.Errorf("%s breaker %s after a refused reset", c.tier, st)
			}
			if r := h.call(profOps, "reset_circuit_breakers", map[string]any{}); r.err != nil || r.isErr {
				t.Fatalf("reset_circuit_breakers: %s", r.dump)
			}
			if b := h.health()[c.tier]; b.State != "closed" || b.FailureCount != 0 {
				t.Errorf("after reset_circuit_breakers %s is %+v", c.tier, b)
			}

			// Open it again, heal the surface, wait out the open period
			// (polling: the breaker's cooldown runs on gobreaker's own
			// time.Now, and the first trial after it may still meet a
			// stale upstream session), and the tier serves again.
			for range threshold {
				h.call(profOps, c.tool, c.args(h))
			}
			if st := h.health()[c.tier].State; st != "open" {
				t.Fatalf("%s breaker %s after %d more failures", c.tier, st, threshold)
			}
			h.sim.ClearFaults()
			deadline := time.Now().Add(cool + 5*tierTimeout())
			var last result
			for time.Now().Before(deadline) {
				last = h.call(profOps, c.tool, c.args(h))
				if last.route.Tier == c.tier {
					break
				}
				time.Sleep(25 * time.Millisecond)
			}
			if last.route.Tier != c.tier {
				t.Fatalf("%s never served again after it recovered: %s", c.tier, last.dump)
			}
			for range 2 { // half-open needs two successes
				if b := h.health()[c.tier]; b.State == "closed" {
					break
				}
				h.call(profOps, c.tool, c.args(h))
			}
			if st := h.health()[c.tier].State; st != "closed" {
				t.Errorf("%s breaker %s after it served again", c.tier, st)
			}
		})
	}
}
