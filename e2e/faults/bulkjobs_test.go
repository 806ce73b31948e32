package faults

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
)

// bulkOut is a bulk tool's answer beyond writeOut.
type bulkOut struct {
	writeOut
	Inline      bool   `json:"inline"`
	ResourceURI string `json:"resource_uri"`
	Pages       int    `json:"pages"`
	JobID       string `json:"job_id"`
	Pending     int    `json:"pending"`
	State       string `json:"state"`
}

// fullOutcomes decodes a bulk write's answer and, when its results are not
// inline, reads every outcome from its resource through read_bulk_result as
// profile (the caller that made it).
func (h *harness) fullOutcomes(t *testing.T, profile string, r result) bulkOut {
	t.Helper()
	var out bulkOut
	mustDecode(t, r, &out)
	if out.Inline || out.ResourceURI == "" {
		return out
	}
	out.Results = nil
	id := strings.TrimPrefix(out.ResourceURI, "zoho-mcp-proxy://bulk/")
	for page := 1; page > 0; {
		pr := h.call(profile, "read_bulk_result", map[string]any{"id": id, "page": page})
		if pr.err != nil || pr.isErr {
			t.Fatalf("read_bulk_result page %d: %s", page, pr.dump)
		}
		var pg struct {
			Records  []writeOutcome `json:"records"`
			NextPage int            `json:"next_page"`
		}
		mustDecode(t, pr, &pg)
		out.Results = append(out.Results, pg.Records...)
		page = pg.NextPage
	}
	return out
}

// bulkUpdates is one update per id setting Description to want(id).
func bulkUpdates(ids []string, want func(string) string) []map[string]any {
	ups := make([]map[string]any, len(ids))
	for i, id := range ids {
		ups[i] = map[string]any{"id": id, "data": map[string]any{"Description": want(id)}}
	}
	return ups
}

// TestLongBulkUpdateWithDefaults: the case with the shipped
// defaults (30s call deadline, BULK's 60s timeout, 10-minute bulk deadline).
// A 6,000-record update runs as a Zoho bulk job that takes about 34s to
// finish; the call gets the bulk deadline, BULK's timeout does not cut a job
// whose polls answer, progress notifications arrive on the way, and every
// record comes back a success, written once, with the answer holding counts
// and failures and every outcome in a resource. Before, the call was cut at
// 30s and all 6,000 were OUTCOME_UNKNOWN although Zoho applied them.
//
// By design it takes about a minute of wall time (the job's polls back off
// to 30s).
func TestLongBulkUpdateWithDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute-long bulk job")
	}
	t.Parallel()
	const n = 6000
	h := start(t, opts{Defaults: true, Accounts: n + 10, JobStep: 17 * time.Second})
	if d := config.Default(); h.cfg.BulkTimeout != d.BulkTimeout || h.cfg.CallTimeout != d.CallTimeout || d.BulkTimeout != 10*time.Minute {
		t.Fatalf("not the shipped defaults: call %v, bulk %v", h.cfg.CallTimeout, h.cfg.BulkTimeout)
	}
	h.warmUp()
	ids := h.ids(0, n)
	want := func(id string) string { return "long job " + id }
	r := h.callWith(profOps, "bulk_update_accounts", map[string]any{"updates": bulkUpdates(ids, want), "trigger": []string{}}, "long-job")
	if r.err != nil || r.isErr {
		t.Fatalf("the long bulk update failed: %s", r.dump)
	}
	if r.dur < h.cfg.CallTimeout {
		t.Fatalf("took %v: the job did not outlast the call deadline, so this proves nothing", r.dur)
	}
	if got := strings.Join(r.route.outcomesOn(tBulk), " "); got != "success" || r.route.Tier != tBulk {
		t.Errorf("route %s: want one successful BULK attempt", r.route)
	}
	if len(r.raw) > 64<<10 {
		t.Errorf("the answer is %d bytes for %d records", len(r.raw), n)
	}
	out := h.fullOutcomes(t, profOps, r)
	if out.Inline || out.Succeeded != n || out.Failed != 0 || len(out.Results) != n {
		t.Fatalf("answer: inline %v, %d succeeded, %d failed, %d outcomes", out.Inline, out.Succeeded, out.Failed, len(out.Results))
	}
	verifyWriteOutcomes(t, h.sim, out.writeOut, ids, want, r, false)
	notes := h.notes("long-job")
	if len(notes) < 3 {
		t.Fatalf("%d progress notifications for a %v job: %+v", len(notes), r.dur, notes)
	}
	for i := 1; i < len(notes); i++ {
		if notes[i].Progress <= notes[i-1].Progress {
			t.Errorf("progress %v after %v: not increasing", notes[i].Progress, notes[i-1].Progress)
		}
	}
	if last := notes[len(notes)-1]; last.Progress != n || last.Total != n {
		t.Errorf("last progress %+v, want %d of %d", last, n, n)
	}
	polled := false
	for _, p := range notes {
		polled = polled || strings.Contains(p.Message, "status poll")
	}
	if !polled {
		t.Errorf("no notification told of the job's polls: %+v", notes)
	}
	if b := h.health()[tBulk]; b.FailureCount != 0 {
		t.Errorf("BULK breaker %+v: a job that progressed counted as a failure", b)
	}
	t.Logf("%d records in %v, %d progress notifications, answer %d bytes", n, r.dur.Round(time.Second), len(notes), len(r.raw))
}

// TestBulkJobOutlivesTheDeadline: a bulk job still running when the bulk
// deadline ends: its records come back JOB_PENDING with a job handle, none
// is sent again anywhere (before the router waited for such jobs, REST read
// them back and re-sent them, and the job then wrote them twice);
// get_bulk_job says running, then, once Zoho has finished the job, each
// record's outcome; another caller with the same profile cannot use the
// handle.
func TestBulkJobOutlivesTheDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("5,001-record job")
	}
	t.Parallel()
	const n = 5001 // tiers/bulk.UpdateCrossover + 1: a Bulk Write job
	deadline := 8 * tierTimeout()
	h := start(t, opts{Accounts: n + 10, CallTimeout: deadline, JobStep: time.Hour})
	h.warmUp()
	ids := h.ids(0, n)
	want := func(id string) string { return "job " + id }
	h.sim.ResetLog()
	r := h.call(profOps, "bulk_update_accounts", map[string]any{"updates": bulkUpdates(ids, want), "trigger": []string{}})
	if r.err != nil || !r.isErr {
		t.Fatalf("the job cannot have finished (1h per state): %s", r.dump)
	}
	var out bulkOut
	mustDecode(t, r, &out)
	if len(out.JobID) != 32 || out.Pending != n || out.Failed != n || out.Inline || out.ResourceURI == "" {
		t.Fatalf("answer: job %q, pending %d, failed %d, inline %v, resource %q: %s", out.JobID, out.Pending, out.Failed, out.Inline, out.ResourceURI, r.dump)
	}
	if len(out.Results) == 0 || out.Results[0].Code != "JOB_PENDING" || !strings.Contains(r.text, "get_bulk_job") {
		t.Errorf("results %+v; text %q", out.Results[:min(1, len(out.Results))], clip(r.text, 300))
	}
	for _, tier := range []string{tREST, tMCP} {
		if o := r.route.outcomesOn(tier); len(o) != 0 {
			t.Errorf("records pending on the job went to %s: %s", tier, r.route)
		}
	}
	for _, id := range ids[:50] {
		if h.sim.RecordWrites(id) != 0 {
			t.Fatalf("record %s written before the job ran", id)
		}
	}
	job := map[string]any{"job_id": out.JobID}
	if other := h.call(profOps2, "get_bulk_job", job); other.err != nil || !other.isErr || !strings.Contains(other.text, "another caller") {
		t.Errorf("another caller with the same profile: %s", other.dump)
	}
	running := h.call(profOps, "get_bulk_job", job)
	var st bulkOut
	mustDecode(t, running, &st)
	if running.err != nil || running.isErr || st.State != "running" || st.Pending != n {
		t.Fatalf("while the job runs: %s", running.dump)
	}
	// Zoho finishes the job (its clock moves on).
	h.sim.Advance(3 * time.Hour)
	done := h.call(profOps, "get_bulk_job", job)
	fin := h.fullOutcomes(t, profOps, done)
	if done.err != nil || done.isErr || fin.State != "finished" || fin.Succeeded != n || len(fin.Results) != n {
		t.Fatalf("after the job finished: %s", done.dump)
	}
	verifyWriteOutcomes(t, h.sim, fin.writeOut, ids, want, done, false)
}

// TestBulkResultsBoundToTheCaller: a bulk result belongs to the caller that
// made it (its bearer token), not to its profile: another token of the same
// profile can neither read it (resources/read answers not found, as does
// read_bulk_result) nor see it in resources/list, where its maker does.
// Before, any caller with the same profile could read it.
func TestBulkResultsBoundToTheCaller(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	r := h.call(profOps, "bulk_read_accounts", map[string]any{})
	var out struct {
		ResourceURI string `json:"resource_uri"`
	}
	mustDecode(t, r, &out)
	if r.err != nil || r.isErr || out.ResourceURI == "" {
		t.Fatalf("bulk read of every account: %s", r.dump)
	}
	listed := func(profile string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		lr, err := h.client(profile).ListResources(ctx, mcp.ListResourcesRequest{})
		if err != nil {
			t.Fatalf("resources/list as %s: %v", profile, err)
		}
		for _, res := range lr.Resources {
			if res.URI == out.ResourceURI {
				return true
			}
		}
		return false
	}
	if !listed(profOps) {
		t.Error("resources/list does not show the caller its own result")
	}
	if listed(profOps2) {
		t.Error("resources/list shows another caller's result")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = out.ResourceURI
	if _, err := h.client(profOps).ReadResource(ctx, req); err != nil {
		t.Fatalf("its maker cannot read it: %v", err)
	}
	if rr, err := h.client(profOps2).ReadResource(ctx, req); err == nil || !strings.Contains(err.Error(), "another caller") {
		b, _ := json.Marshal(rr)
		t.Errorf("another token of the same profile read it: %v %s", err, clip(string(b), 200))
	}
	id := strings.TrimPrefix(out.ResourceURI, "zoho-mcp-proxy://bulk/")
	if rb := h.call(profOps2, "read_bulk_result", map[string]any{"id": id}); !rb.isErr {
		t.Errorf("read_bulk_result by another caller: %s", rb.dump)
	}
	if rb := h.call(profOps, "read_bulk_result", map[string]any{"id": id, "page": 1}); rb.err != nil || rb.isErr || !strings.Contains(string(rb.raw), `"records":[{`) {
		t.Errorf("read_bulk_result by its maker: %s", rb.dump)
	}
}
