package faults

import (
	"strings"
	"sync"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Issue 10: the paths where the emulator is as strict as Zoho's documents,
// driven through the product's tools with the shipped default config.

// TestBulkWriteThroughDownloadHost: a bulk update of 6,000 records (above
// the batched-PUT crossover, so a Bulk Write job) reads its per-record
// results from the job's absolute download_url, on the emulator's download
// host — another origin, which answers 401 without Zoho's token. Every
// record reports success, holds its value and was written exactly once.
func TestBulkWriteThroughDownloadHost(t *testing.T) {
	if testing.Short() {
		t.Skip("6,000-record job")
	}
	t.Parallel()
	const n = 6000
	h := start(t, opts{Accounts: n + 10, Defaults: true})
	h.warmUp()
	ids := h.ids(0, n)
	want := func(id string) string { return "download host " + id }
	ups := make([]map[string]any, n)
	for i, id := range ids {
		ups[i] = map[string]any{"id": id, "data": map[string]any{"Description": want(id)}}
	}
	h.sim.ResetLog()
	r := h.call(profOps, "bulk_update_accounts", map[string]any{"updates": ups})
	if r.err != nil || r.isErr {
		t.Fatalf("bulk_update_accounts: %s", r.dump)
	}
	// 6,000 outcomes do not fit inline: the answer holds the counts and a
	// result resource with every outcome, read here page by page.
	out := h.fullOutcomes(t, profOps, r).writeOut
	if unknown := verifyWriteOutcomes(t, h.sim, out, ids, want, r, false); unknown != 0 || out.Succeeded != n {
		t.Fatalf("%d succeeded, %d unknown; want all %d to succeed (%s)", out.Succeeded, unknown, n, r.dump)
	}
	for _, id := range ids {
		if w := h.sim.RecordWrites(id); w != 1 {
			t.Fatalf("record %s written %d times, want once", id, w)
		}
	}
	if r.route.Tier != tBulk || len(r.route.Attempts) != 1 {
		t.Errorf("route %s, want BULK at the first attempt", r.route)
	}
	var downloads, refused int
	for _, q := range h.sim.Requests() {
		if q.Surface == zohosim.SurfaceDownload {
			downloads++
			if q.Status != 200 {
				refused++
			}
		}
	}
	if downloads == 0 || refused != 0 {
		t.Errorf("%d requests to the download host, %d refused; want the result read there with the token", downloads, refused)
	}
}

// TestBulkReadJobVerdictReachesAgent: past the COQL crossover (36,000 rows)
// a bulk read moves to a Bulk Read job, and Zoho refuses the job's criteria
// (starts_with on a picklist, which COQL takes) with HTTP 400 and the error
// inside data[]. That is Zoho's verdict: the agent gets its code and
// message, the router does not fail over, and BULK's breaker counts no
// failure.
func TestBulkReadJobVerdictReachesAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("36,000-row read")
	}
	t.Parallel()
	h := start(t, opts{Accounts: 36_100, Defaults: true})
	h.warmUp()
	r := h.call(profOps, "bulk_read_accounts", map[string]any{"fields": []string{"Account_Name"},
		"where": []map[string]any{{"field": "Currency", "op": "starts_with", "value": "U"}}})
	if r.err != nil || !r.isErr {
		t.Fatalf("want an isError result: %s", r.dump)
	}
	if !strings.Contains(r.text, "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED") || !strings.Contains(r.text, "Currency") {
		t.Errorf("the agent does not see Zoho's code and message: %s", r.dump)
	}
	if r.route.Tier != "" && r.route.Tier != tBulk || len(r.route.Attempts) != 1 || r.route.Attempts[0].Tier != tBulk || r.route.Attempts[0].Outcome != "verdict" {
		t.Errorf("route %s, want one BULK attempt with a verdict (no failover)", r.route)
	}
	if b := h.health()[tBulk]; b.State != "closed" || b.FailureCount != 0 {
		t.Errorf("BULK breaker %+v after Zoho's verdict, want closed without failures", b)
	}
}

// TestMessageOnlyToolErrorFailsOver: the hosted MCP answers a tool call with
// a message-only isError (no Zoho code): the upstream failing, not Zoho's
// verdict. The call fails over and is served; a Zoho verdict through the
// same tier still reaches the agent.
func TestMessageOnlyToolErrorFailsOver(t *testing.T) {
	t.Parallel()
	h := start(t, opts{Defaults: true})
	h.warmUp()
	id := h.ids(5, 1)[0]
	h.sim.SetMCPToolError(zohosim.DefaultMCPToolErrorText, 0)
	r := h.call(profReader, "get_account", map[string]any{"account_id": id, "fields": []string{"Account_Name"}})
	h.sim.SetMCPToolError("", 0)
	if r.err != nil || r.isErr {
		t.Fatalf("get_account: %s", r.dump)
	}
	acct, _ := r.sc["account"].(map[string]any)
	if got := acct["Account_Name"]; got != h.field(id, "Account_Name") {
		t.Errorf("Account_Name %v, the store has %v", got, h.field(id, "Account_Name"))
	}
	if a := r.route.Attempts; r.route.Tier == tMCP || len(a) < 2 || a[0].Tier != tMCP || a[0].Outcome != "unavailable" {
		t.Errorf("route %s, want MCP unavailable, then served by another tier", r.route)
	}
}

// TestConcurrencyGovernorKeepsZohoUnderLimit: 30 tool calls at once, on
// every tier's paths (tier 1 reads and searches, BULK's batched id reads
// and PUTs, REST behind them), against an org that allows 10 API calls in
// flight (the default ZOHO_CONCURRENCY_LIMIT): Zoho never sees more than 10
// at once, never answers 429, and every call is served.
func TestConcurrencyGovernorKeepsZohoUnderLimit(t *testing.T) {
	t.Parallel()
	const limit = 10 // config.Default's ZOHO_CONCURRENCY_LIMIT
	h := start(t, opts{Accounts: 2000, Defaults: true, Sim: func(o *zohosim.Options) { o.Concurrency = limit }})
	if h.cfg.Zoho.ConcurrencyLimit != limit {
		t.Fatalf("the default config's limit is %d, this test assumes %d", h.cfg.Zoho.ConcurrencyLimit, limit)
	}
	h.warmUp()
	ids := h.ids(0, 2000)
	h.sim.ResetConcurrencyPeak()
	calls := make([]func() result, 0, 30)
	for i := range 30 {
		switch i % 5 {
		case 0, 1:
			calls = append(calls, func() result {
				return h.call(profOps, "get_account", map[string]any{"account_id": ids[i]})
			})
		case 2:
			calls = append(calls, func() result {
				return h.call(profOps, "search_accounts", map[string]any{"where": []map[string]any{{"field": "Industry", "op": "equals", "value": "Retail"}}, "limit": 50})
			})
		case 3:
			calls = append(calls, func() result {
				return h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": ids[i*50 : i*50+500]})
			})
		case 4:
			calls = append(calls, func() result {
				ups := make([]map[string]any, 200)
				for j := range ups {
					ups[j] = map[string]any{"id": ids[i*50+j], "data": map[string]any{"Description": "governed"}}
				}
				return h.call(profOps, "bulk_update_accounts", map[string]any{"updates": ups})
			})
		}
	}
	results := make([]result, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() { results[i] = c() })
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.isErr || strings.Contains(r.text, "TOO_MANY_REQUESTS") {
			t.Errorf("call %d: %s", i, r.dump)
		}
	}
	c := h.sim.Concurrency()
	if c.Peak > limit || c.SubPeak > limit || c.Refused != 0 {
		t.Errorf("Zoho saw %d calls in flight at once (%d heavy) and refused %d; the limit is %d", c.Peak, c.SubPeak, c.Refused, limit)
	}
	t.Logf("peak %d in flight (%d heavy) for a limit of %d", c.Peak, c.SubPeak, limit)
}
