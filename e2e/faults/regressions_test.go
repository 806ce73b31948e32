package faults

import (
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Regression tests for product bugs this package found; each reproduced the
// bug before its fix.

// TestOAuth429Named: the accounts server answers 429 while every token must
// be refreshed; the agent must be told it was rate-limited. (Found here: the
// 429 was reported as "answered without an access token"; fixed in d2a01a8.)
func TestOAuth429Named(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.warmUp()
	h.sim.Advance(2 * time.Hour)
	h.sim.SetFault(zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.Fault429})
	r := h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": h.ids(0, 3)})
	if !r.isErr {
		t.Fatalf("served although no token could be had: %s", r.dump)
	}
	if !causeRE[string(zohosim.Fault429)].MatchString(r.text) {
		t.Errorf("the error does not say Zoho rate-limited the token refresh: %q", r.text)
	}
	for _, a := range r.route.Attempts {
		if a.Outcome != "rate_limited" {
			t.Errorf("attempt on %s: outcome %s, want rate_limited", a.Tier, a.Outcome)
		}
	}
}

// TestWriteNotSentIsNotUnknown: with tier 1 down and the accounts server
// hung, update_account cannot get a write applied anywhere; the outcome must
// be "not sent", not "may or may not have been applied". Cold: no tier holds
// a token, so no write request is ever made. Expired: the tiers' cached
// tokens were expired by Zoho, so each PUT is answered 401 INVALID_TOKEN
// (proof it was not applied) before the refresh hangs. (Found here; fixed in
// a876f0d and 7adc31d.)
func TestWriteNotSentIsNotUnknown(t *testing.T) {
	t.Parallel()
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "expired_token"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, opts{})
			if warm {
				h.warmUp()
				h.sim.Advance(2 * time.Hour)
			}
			h.sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
			h.sim.SetFault(zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.FaultHang})
			h.sim.ResetLog()
			id := h.ids(1, 1)[0]
			r := h.call(profOps, "update_account", map[string]any{"account_id": id, "data": map[string]any{"Description": "never sent"}})
			for _, lr := range h.sim.Requests() {
				if writeRequest(lr) {
					t.Fatalf("a write reached the emulator (%s %s %s → %d): the premise does not hold", lr.Surface, lr.Method, lr.Path, lr.Status)
				}
			}
			var out writeOut
			mustDecode(t, r, &out)
			if len(out.Results) != 1 || out.Results[0].Code != "NOT_SENT" {
				t.Errorf("nothing was applied or left unanswered, yet the outcome is %+v: %s", out.Results, r.dump)
			}
			for _, a := range r.route.Attempts {
				if a.Outcome == "outcome_unknown" {
					t.Errorf("attempt on %s says outcome_unknown for a write that was never sent or was refused with 401: %s", a.Tier, a.Error)
				}
			}
		})
	}
}

// TestHungRefreshDoesNotStallTiers: the accounts server hangs once while
// every token must be refreshed, then recovers; after reset_circuit_breakers
// the next bulk read must be served by BULK or REST, not wait for the hung
// refresh. (Found here: a hung refresh held the tiers 15 s; fixed in
// cb02fed.)
func TestHungRefreshDoesNotStallTiers(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.warmUp()
	h.sim.Advance(2 * time.Hour)
	h.sim.SetFault(zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.FaultHang})
	ids := h.ids(0, 3)
	if r := h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": ids}); !r.isErr {
		t.Fatalf("served with the accounts server hung and every token expired: %s", r.dump)
	}
	h.sim.ClearFaults()
	if r := h.call(profOps, "reset_circuit_breakers", map[string]any{}); r.isErr {
		t.Fatal(r.dump)
	}
	r := h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": ids})
	if r.isErr {
		t.Errorf("the accounts server is back, yet: %s", r.dump)
	}
}

// TestLogKeysOnce: every log line of a proxy that served a call on each
// tier names each key once (found here as a bug; fixed in 40d8fab).
func TestLogKeysOnce(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.warmUp()
	h.call(profOps, "get_account", map[string]any{"account_id": h.ids(0, 1)[0]})
	h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": h.ids(0, 12)})
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		keys, err := topKeys(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("key %q repeated: %s", k, clip(line, 200))
			}
			seen[k] = true
		}
	}
}
