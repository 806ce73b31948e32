package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// updatesJSON is n updates of the accounts acct, acct+1, …; those whose
// index is in failAt set Rating to "BAD", which the fake tier refuses.
func updatesJSON(n int, failAt ...int) string {
	var ups []string
	for i := range n {
		data := `{"Description":"x"}`
		for _, f := range failAt {
			if f == i {
				data = `{"Rating":"BAD"}`
			}
		}
		ups = append(ups, fmt.Sprintf(`{"id":"%d","data":%s}`, 3652397000000000000+i, data))
	}
	return `{"updates":[` + strings.Join(ups, ",") + `]}`
}

// failBad makes tier answer records whose Rating is "BAD" with INVALID_DATA.
func failBad(tier *tierstest.Tier) {
	tier.OnBulkUpdate = func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		res := tiers.BulkUpdateResult{Strategy: "fake", Calls: 1}
		for _, u := range req.Updates {
			o := tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess}
			if u.Data["Rating"] == "BAD" {
				o = tiers.Outcome{ID: u.ID, Status: tiers.StatusError, Code: "INVALID_DATA", Message: "invalid data"}
			}
			res.Outcomes = append(res.Outcomes, o)
		}
		return res, nil
	}
}

// pageAll reads every page of a bulk result through read_bulk_result as
// prof's caller.
func pageAll(t *testing.T, e *env, prof *permissions.Profile, uri string) []map[string]any {
	t.Helper()
	id := strings.TrimPrefix(uri, BulkURIPrefix)
	var out []map[string]any
	for page := 1; page > 0; {
		res := e.call(t, prof, "read_bulk_result", fmt.Sprintf(`{"id":%q,"page":%d}`, id, page))
		if res.IsError {
			t.Fatalf("read_bulk_result page %d: %s", page, text(res))
		}
		m := structured(t, res)
		for _, r := range m["records"].([]any) {
			out = append(out, r.(map[string]any))
		}
		next, _ := m["next_page"].(float64)
		page = int(next)
	}
	return out
}

// TestBulkUpdateAnswersCountsAndFailures: a bulk update larger than the
// inline limit answers counts and its failures only; every outcome, in
// request order, is in a resource only its caller can read, through
// resources/read and read_bulk_result alike. Before, every outcome came back
// inline (6,000 updates: 1.1 MB to the agent).
func TestBulkUpdateAnswersCountsAndFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	failBad(e.tier)
	const n = 1100 // three pages; InlineLimit is 10
	res := e.call(t, profAll, "bulk_update_accounts", updatesJSON(n, 3, 700))
	if !res.IsError {
		t.Fatalf("a partial failure reported as success: %s", text(res))
	}
	m := structured(t, res)
	uri, _ := m["resource_uri"].(string)
	if m["inline"] != false || m["total"] != float64(n) || m["succeeded"] != float64(n-2) || m["failed"] != float64(2) || m["pages"] != float64(3) || uri == "" {
		t.Fatalf("structured = %v", m)
	}
	results := m["results"].([]any)
	if len(results) != 2 || results[0].(map[string]any)["code"] != "INVALID_DATA" {
		t.Errorf("results = %v, want the 2 failures", results)
	}
	if b, _ := json.Marshal(res); len(b) > 8<<10 {
		t.Errorf("the answer is %d bytes for %d records", len(b), n)
	}
	if !strings.Contains(text(res), uri) || !strings.Contains(text(res), "read_bulk_result") {
		t.Errorf("text does not say where every outcome is: %s", text(res))
	}
	all := pageAll(t, e, profAll, uri)
	if len(all) != n {
		t.Fatalf("%d outcomes in the resource, want %d", len(all), n)
	}
	for i, o := range all {
		want := "success"
		if i == 3 || i == 700 {
			want = "error"
		}
		if o["id"] != fmt.Sprint(3652397000000000000+i) || o["status"] != want {
			t.Fatalf("outcome %d = %v, want %s", i, o, want)
		}
	}
	if pg := readResource(t, e, profAll, uri+"?page=3"); len(pg.Records) != 100 {
		t.Errorf("resources/read page 3 has %d records", len(pg.Records))
	}
	// Another caller with the same profile cannot read it.
	other := e.callAs(t, "token:other", profAll, "read_bulk_result", fmt.Sprintf(`{"id":%q}`, strings.TrimPrefix(uri, BulkURIPrefix)))
	if !other.IsError || !strings.Contains(text(other), "does not exist, has expired or was made by another caller") {
		t.Errorf("another caller: %s", text(other))
	}
	// A small bulk update still lists every outcome inline.
	res = e.call(t, profAll, "bulk_update_accounts", updatesJSON(5))
	if m := structured(t, res); res.IsError || m["inline"] != true || len(m["results"].([]any)) != 5 || m["resource_uri"] != nil {
		t.Errorf("small update: %v", m)
	}
}

// awaitingTier is a fake tier that can wait for its bulk jobs: the job
// finishes once done is set.
type awaitingTier struct {
	*tierstest.Tier
	done atomic.Bool
}

func (a *awaitingTier) AwaitBulkUpdateJob(ctx context.Context, job string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	res := tiers.BulkUpdateResult{Strategy: "bulk-write-job", Calls: 1, Credits: 1}
	for _, u := range req.Updates {
		o := tiers.Outcome{ID: u.ID, Status: tiers.StatusUnknown, Message: "pending on bulk write job " + job}
		if a.done.Load() {
			o = tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess}
			if u.ID == "3652397000000000001" {
				o = tiers.Outcome{ID: u.ID, Status: tiers.StatusError, Code: "INVALID_DATA", Message: "invalid data"}
			}
		}
		res.Outcomes = append(res.Outcomes, o)
	}
	if !a.done.Load() {
		return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN", Message: "still running", PendingJob: job}
	}
	return res, nil
}

var _ tiers.JobAwaiter = (*awaitingTier)(nil)

// TestBulkJobHandle: when the bulk deadline ends with records pending on a
// Zoho job, the answer holds a job handle, the records code JOB_PENDING;
// get_bulk_job says the job is running, then reports each record's outcome
// once it has finished; nothing is sent again; only the caller that made
// the handle can use it.
func TestBulkJobHandle(t *testing.T) {
	t.Parallel()
	const job = "5725767000004000001"
	ft := newFakeTier(tiers.Bulk, 0)
	ft.OnBulkUpdate = func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job", Calls: 3, Credits: 500}
		for _, u := range req.Updates {
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusUnknown})
		}
		return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN", Message: "job still running", PendingJob: job}
	}
	at := &awaitingTier{Tier: ft}
	e := newEnvWithTiers(t, ft, []tiers.Tier{at})
	res := e.call(t, profAll, "bulk_update_accounts", updatesJSON(4))
	m := structured(t, res)
	handle, _ := m["job_id"].(string)
	if !res.IsError || len(handle) != 32 || m["pending"] != float64(4) {
		t.Fatalf("answer %v: %s", m, text(res))
	}
	for _, r := range m["results"].([]any) {
		o := r.(map[string]any)
		if o["code"] != CodeJobPending || !strings.Contains(o["message"].(string), handle) {
			t.Errorf("outcome %v", o)
		}
	}
	if !strings.Contains(text(res), `get_bulk_job {"job_id": "`+handle+`"}`) {
		t.Errorf("text does not say how to follow the job: %s", text(res))
	}
	sent := len(ft.CallsOf(tiers.OpBulkUpdate))

	res = e.call(t, profAll, "get_bulk_job", fmt.Sprintf(`{"job_id":%q}`, handle))
	if m := structured(t, res); res.IsError || m["state"] != "running" || m["pending"] != float64(4) {
		t.Errorf("while running: %v %s", m, text(res))
	}
	if other := e.callAs(t, "token:other", profAll, "get_bulk_job", fmt.Sprintf(`{"job_id":%q}`, handle)); !other.IsError {
		t.Errorf("another caller used the handle: %s", text(other))
	}
	at.done.Store(true)
	res = e.call(t, profAll, "get_bulk_job", fmt.Sprintf(`{"job_id":%q}`, handle))
	m = structured(t, res)
	if !res.IsError || m["state"] != "finished" || m["succeeded"] != float64(3) || m["failed"] != float64(1) || m["total"] != float64(4) {
		t.Fatalf("finished: %v %s", m, text(res))
	}
	if len(m["results"].([]any)) != 4 || !strings.Contains(text(res), "has finished") {
		t.Errorf("finished: %v %s", m["results"], text(res))
	}
	if n := len(ft.CallsOf(tiers.OpBulkUpdate)); n != sent {
		t.Errorf("get_bulk_job sent the records again (%d bulk updates, was %d)", n, sent)
	}
	if bad := e.call(t, profAll, "get_bulk_job", `{"job_id":"`+strings.Repeat("f", 32)+`"}`); !bad.IsError || !strings.Contains(text(bad), "does not exist") {
		t.Errorf("an unknown handle: %s", text(bad))
	}
}

// TestResourcesListShowsOnlyTheCallersResults: the caller's live results,
// and no one else's.
func TestResourcesListShowsOnlyTheCallersResults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30)
	mine := structured(t, e.call(t, profAll, "bulk_read_accounts", `{}`))["resource_uri"].(string)
	theirs := structured(t, e.callAs(t, "token:other", profAll, "bulk_read_accounts", `{}`))["resource_uri"].(string)
	list := ListResources(e.bulk)
	ctx := permissions.WithCaller(permissions.WithProfile(context.Background(), profAll), callerOf(profAll))
	var uris []string
	for _, r := range list(ctx) {
		uris = append(uris, r.URI)
		if r.MIMEType != "application/json" || !strings.Contains(r.Description, "30 records") {
			t.Errorf("resource %+v", r)
		}
	}
	if len(uris) != 1 || uris[0] != mine || mine == theirs {
		t.Errorf("listed %v; mine %s, another caller's %s", uris, mine, theirs)
	}
	if got := list(permissions.WithProfile(context.Background(), profAll)); len(got) != 0 {
		t.Errorf("a call without a caller identity lists %v", got)
	}
	if got := list(permissions.WithCaller(permissions.WithProfile(context.Background(), profReader), callerOf(profAll))); len(got) != 0 {
		t.Errorf("a profile without the bulk scope lists %v", got)
	}
	var _ mcp.Resource // the type the server appends to resources/list
}
