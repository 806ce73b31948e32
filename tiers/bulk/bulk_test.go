package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestGetListSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 300})
	ctx := context.Background()
	id := seededID(7)
	want, _ := e.sim.Store().Get(id)

	t.Run("get with fields uses ids=", func(t *testing.T) {
		rec, err := e.tier.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: id, Fields: []string{"Account_Name"}})
		if err != nil || rec["Account_Name"] != want["Account_Name"] || rec["id"] != id {
			t.Fatalf("Get = %v, %v; want %v", rec, err, want["Account_Name"])
		}
		if r := requests(e.sim, "GET", "/crm/v8/Accounts"); len(r) == 0 || !strings.Contains(r[len(r)-1].Query, "ids=") {
			t.Errorf("Get did not use ids=: %+v", r)
		}
	})
	t.Run("get all fields", func(t *testing.T) {
		rec, err := e.tier.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: id})
		if err != nil || rec["Industry"] != want["Industry"] {
			t.Fatalf("Get = %v, %v", rec, err)
		}
	})
	t.Run("get unknown is NOT_FOUND", func(t *testing.T) {
		_, err := e.tier.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: "5725767000009999999", Fields: []string{"Account_Name"}})
		var te *tiers.Error
		if !errors.As(err, &te) || te.Code != "NOT_FOUND" || te.Class != tiers.ClassVerdict {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("list ids keeps order", func(t *testing.T) {
		ids := []string{seededID(9), "5725767000009999999", seededID(2), seededID(5)}
		p, err := e.tier.List(ctx, tiers.ListRequest{Module: "Accounts", IDs: ids, Fields: []string{"Account_Name"}, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) != 2 || p.Records[0]["id"] != ids[0] || p.Records[1]["id"] != ids[2] || !p.MoreRecords {
			t.Fatalf("page 1 = %v more=%v", p.Records, p.MoreRecords)
		}
		p2, err := e.tier.List(ctx, tiers.ListRequest{Module: "Accounts", IDs: ids, Fields: []string{"Account_Name"}, Limit: 3, PageToken: p.NextPageToken})
		if err != nil || len(p2.Records) != 1 || p2.Records[0]["id"] != ids[3] || p2.MoreRecords {
			t.Fatalf("page 2 = %v, %v", p2, err)
		}
	})
	t.Run("list pages by keyset", func(t *testing.T) {
		var all []string
		tok := ""
		for page := 0; ; page++ {
			p, err := e.tier.List(ctx, tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 200, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Records {
				all = append(all, r["id"].(string))
			}
			if !p.MoreRecords {
				break
			}
			tok = p.NextPageToken
			if page > 3 {
				t.Fatal("too many pages")
			}
		}
		if len(all) != 300 || all[0] != seededID(1) || all[299] != seededID(300) {
			t.Fatalf("listed %d records, first %v", len(all), all[:1])
		}
		coql := requests(e.sim, "POST", "/crm/v8/coql")
		if last := string(coql[len(coql)-1].Body); !strings.Contains(last, "id \\u003e "+seededID(200)) && !strings.Contains(last, "id > "+seededID(200)) {
			t.Errorf("second page did not page by id > last: %s", last)
		}
	})
	t.Run("list filters and sort desc", func(t *testing.T) {
		p, err := e.tier.List(ctx, tiers.ListRequest{Module: "Accounts", Fields: []string{"Industry"}, Limit: 5, SortOrder: "desc",
			Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{want["Industry"]}}}})
		if err != nil || len(p.Records) == 0 {
			t.Fatalf("List = %v, %v", p, err)
		}
		for i, r := range p.Records {
			if r["Industry"] != want["Industry"] {
				t.Errorf("record %v does not match the filter", r)
			}
			if i > 0 && r["id"].(string) > p.Records[i-1]["id"].(string) {
				t.Errorf("not sorted desc: %v after %v", r["id"], p.Records[i-1]["id"])
			}
		}
		if p.MoreRecords {
			p2, err := e.tier.List(ctx, tiers.ListRequest{Module: "Accounts", Fields: []string{"Industry"}, Limit: 5, SortOrder: "desc",
				Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{want["Industry"]}}}, PageToken: p.NextPageToken})
			if err != nil || len(p2.Records) == 0 || p2.Records[0]["id"].(string) >= p.Records[4]["id"].(string) {
				t.Fatalf("desc page 2 = %v, %v", p2.Records, err)
			}
		}
	})
	t.Run("search where with quotes", func(t *testing.T) {
		name := want["Account_Name"].(string)
		p, err := e.tier.Search(ctx, tiers.SearchRequest{Module: "Accounts", Fields: []string{"Account_Name"}, MatchAny: true,
			Where: []tiers.Condition{{Field: "Account_Name", Op: tiers.OpEquals, Values: []any{name}},
				{Field: "Account_Name", Op: tiers.OpEquals, Values: []any{`O'Brien) or (1=1`}}}})
		if err != nil || len(p.Records) != 1 || p.Records[0]["id"] != id {
			t.Fatalf("Search = %v, %v", p.Records, err)
		}
	})
	t.Run("search word", func(t *testing.T) {
		word := strings.Fields(want["Account_Name"].(string))[0]
		p, err := e.tier.Search(ctx, tiers.SearchRequest{Module: "Accounts", Word: word, Limit: 2})
		if err != nil || len(p.Records) == 0 {
			t.Fatalf("Search word %q = %v, %v", word, p, err)
		}
		if r := requests(e.sim, "GET", "/crm/v8/Accounts/search"); len(r) == 0 {
			t.Error("word search did not use the search API")
		}
	})
}

func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 10})
	ctx := context.Background()
	e.sim.ResetLog()
	tests := []struct {
		name string
		call func() error
	}{
		{"bad id", func() error { _, err := e.tier.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: "x1"}); return err }},
		{"bad module", func() error { _, err := e.tier.List(ctx, tiers.ListRequest{Module: "Acc ounts"}); return err }},
		{"bad field", func() error {
			_, err := e.tier.Search(ctx, tiers.SearchRequest{Module: "Accounts", Where: []tiers.Condition{{Field: "a)or(b", Op: tiers.OpEquals, Values: []any{"x"}}}})
			return err
		}},
		{"bad operator", func() error {
			_, err := e.tier.Search(ctx, tiers.SearchRequest{Module: "Accounts", Where: []tiers.Condition{{Field: "Phone", Op: "like", Values: []any{"x"}}}})
			return err
		}},
		{"bulk update bad record", func() error {
			res, err := e.tier.BulkUpdate(ctx, tiers.BulkUpdateRequest{Module: "Accounts", Updates: []tiers.UpdateRequest{
				{ID: seededID(1), Data: tiers.Record{"Phone": "1"}}, {ID: "nope", Data: tiers.Record{"Phone": "1"}}}})
			for _, o := range res.Outcomes {
				if o.Status != tiers.StatusNotSent {
					t.Errorf("outcome %v, want not_sent", o)
				}
			}
			return err
		}},
		{"bad trigger", func() error {
			_, err := e.tier.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: seededID(1), Data: tiers.Record{"Phone": "1"}, Trigger: []string{"fire"}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if classOf(err) != "verdict" || err.Error() == "" {
				t.Fatalf("err = %v, want a verdict", err)
			}
		})
	}
	for _, r := range e.sim.Requests() {
		if r.Surface == zohosim.SurfaceBulk {
			t.Fatalf("bad input reached Zoho: %s %s", r.Method, r.Path)
		}
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 20})
	ctx := context.Background()
	id := seededID(3)
	out, err := e.tier.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0199"}, Trigger: []string{}})
	if err != nil || out.Status != tiers.StatusSuccess {
		t.Fatalf("Update = %+v, %v", out, err)
	}
	if r, _ := e.sim.Store().Get(id); r["Phone"] != "555-0199" || e.sim.RecordWrites(id) != 1 {
		t.Fatalf("store Phone=%v writes=%d", r["Phone"], e.sim.RecordWrites(id))
	}
	put := requests(e.sim, "PUT", "/crm/v8/Accounts")
	if len(put) != 1 || !strings.Contains(string(put[0].Body), `"trigger":[]`) {
		t.Errorf("PUT body = %s", put[0].Body)
	}
	out, err = e.tier.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Industry": "Underwater Basket Weaving"}})
	var te *tiers.Error
	if !errors.As(err, &te) || te.Class != tiers.ClassVerdict || te.Code != "INVALID_DATA" || out.Status != tiers.StatusError {
		t.Fatalf("Update invalid picklist = %+v, %v; want INVALID_DATA verdict", out, err)
	}
}

// updates builds n updates of seeded records, every bad-th one invalid.
func updates(n, bad int, tag string) []tiers.UpdateRequest {
	ups := make([]tiers.UpdateRequest, n)
	for i := range ups {
		d := tiers.Record{"Phone": fmt.Sprintf("555-%s-%05d", tag, i), "Employees": json.Number(fmt.Sprint(i))}
		if bad > 0 && i%bad == bad-1 {
			d["Industry"] = "Not A Picklist Value"
		}
		ups[i] = tiers.UpdateRequest{ID: seededID(i + 1), Data: d}
	}
	return ups
}

func checkOutcomes(t *testing.T, e *env, ups []tiers.UpdateRequest, res tiers.BulkUpdateResult, bad int) {
	t.Helper()
	if len(res.Outcomes) != len(ups) {
		t.Fatalf("%d outcomes for %d records", len(res.Outcomes), len(ups))
	}
	for i, o := range res.Outcomes {
		if o.ID != ups[i].ID {
			t.Fatalf("outcome %d is for %s, want %s (input order)", i, o.ID, ups[i].ID)
		}
		isBad := bad > 0 && i%bad == bad-1
		rec, _ := e.sim.Store().Get(o.ID)
		switch {
		case isBad && (o.Status != tiers.StatusError || o.Code != "INVALID_DATA"):
			t.Fatalf("outcome %d = %+v, want INVALID_DATA error", i, o)
		case !isBad && o.Status != tiers.StatusSuccess:
			t.Fatalf("outcome %d = %+v, want success", i, o)
		case !isBad && rec["Phone"] != ups[i].Data["Phone"]:
			t.Fatalf("record %s Phone = %v, want %v: the store did not change", o.ID, rec["Phone"], ups[i].Data["Phone"])
		case isBad && e.sim.RecordWrites(o.ID) != 0:
			t.Fatalf("invalid record %s was written", o.ID)
		}
	}
}

func TestBulkUpdateBatched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 300})
	ups := updates(250, 50, "b")
	res, err := e.tier.BulkUpdate(context.Background(), tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
	if err != nil {
		t.Fatalf("BulkUpdate: %v", err)
	}
	checkOutcomes(t, e, ups, res, 50)
	if res.Strategy != StrategyBatchedPut || res.Calls != 3 || res.Credits != 25 {
		t.Errorf("strategy %s calls %d credits %d, want batched-put 3 25", res.Strategy, res.Calls, res.Credits)
	}
	if n := len(requests(e.sim, "PUT", "/crm/v8/Accounts")); n != 3 {
		t.Errorf("%d PUTs reached Zoho, want 3", n)
	}
}

func TestBulkUpdateJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int
		plan func(Kind, int) Strategy
	}{
		{name: "forced small job", n: 120, plan: func(k Kind, n int) Strategy { return Strategy{Name: StrategyBulkWriteJob} }},
		{name: "planner above crossover", n: UpdateCrossover + 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{accounts: tt.n + 10, tier: func(c *Config) { c.Plan = tt.plan }})
			ups := updates(tt.n, 40, "j")
			res, err := e.tier.BulkUpdate(context.Background(), tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
			if err != nil {
				t.Fatalf("BulkUpdate: %v", err)
			}
			if res.Strategy != StrategyBulkWriteJob {
				t.Fatalf("strategy = %s", res.Strategy)
			}
			checkOutcomes(t, e, ups, res, 40)
			up := requests(e.sim, "POST", "/crm/v8/upload")
			if len(up) != 1 {
				t.Fatalf("%d uploads, want 1", len(up))
			}
			if res.Credits < CreditsBulkWrite || res.Credits > CreditsBulkWrite+20 || res.Calls < 4 {
				t.Errorf("calls %d credits %d", res.Calls, res.Credits)
			}
			if n := len(requests(e.sim, "PUT", "/crm/v8/Accounts")); n != 0 {
				t.Errorf("%d PUTs made by a job", n)
			}
			if slept, _ := e.clock.Slept(); slept == 0 {
				t.Error("the job was never polled with backoff")
			}
		})
	}
}

func TestBulkUpdateJobFallsBackForNulls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 30, tier: func(c *Config) {
		c.Plan = func(Kind, int) Strategy { return Strategy{Name: StrategyBulkWriteJob} }
	}})
	ups := updates(20, 0, "n")
	ups[3].Data["Website"] = nil // a CSV cell cannot clear a field under ignore_empty
	res, err := e.tier.BulkUpdate(context.Background(), tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
	if err != nil || res.Strategy != StrategyBatchedPut {
		t.Fatalf("strategy %s err %v; want batched-put", res.Strategy, err)
	}
	checkOutcomes(t, e, ups, res, 0)
}

func TestBulkRead(t *testing.T) {
	t.Parallel()
	t.Run("small query is one COQL page", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{accounts: 1500})
		var s tierstest.Sink
		res, err := e.tier.BulkRead(context.Background(), tiers.BulkReadRequest{Module: "Accounts", Fields: []string{"Account_Name"}}, &s)
		if err != nil || res.Count != 1500 || len(s.Records()) != 1500 || res.Strategy != StrategyCOQL || res.Calls != 1 || res.Credits != 3 {
			t.Fatalf("BulkRead = %+v (%d records), %v", res, len(s.Records()), err)
		}
	})
	t.Run("by ids", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{accounts: 400})
		var ids []string
		for i := 350; i >= 1; i-- {
			ids = append(ids, seededID(i))
		}
		var s tierstest.Sink
		res, err := e.tier.BulkRead(context.Background(), tiers.BulkReadRequest{Module: "Accounts", IDs: ids, Fields: []string{"Phone"}}, &s)
		if err != nil || res.Count != 350 || res.Strategy != StrategyBatchedIDs || res.Calls != 4 {
			t.Fatalf("BulkRead ids = %+v, %v", res, err)
		}
		for i, r := range s.Records() {
			if r["id"] != ids[i] {
				t.Fatalf("record %d is %v, want %s (input order)", i, r["id"], ids[i])
			}
		}
	})
	t.Run("large query moves to a bulk read job", func(t *testing.T) {
		t.Parallel()
		// Switch to a job after the first COQL page.
		e := newEnv(t, envOpts{accounts: 3000, timeout: 30 * time.Second, tier: func(c *Config) {
			c.Plan = func(k Kind, n int) Strategy {
				if n > RowsPerCOQL {
					return Strategy{Name: StrategyBulkReadJob}
				}
				return Plan(k, n)
			}
		}})
		var s tierstest.Sink
		res, err := e.tier.BulkRead(context.Background(), tiers.BulkReadRequest{Module: "Accounts",
			Where: []tiers.Condition{{Field: "Employees", Op: tiers.OpGreaterEqual, Values: []any{json.Number("0")}}}}, &s)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range s.Records() {
			id, _ := r["id"].(string)
			if seen[id] {
				t.Fatalf("record %s read twice", id)
			}
			seen[id] = true
		}
		want := 0
		e.sim.Store().Each(func(r zohosim.Record) bool {
			if n, ok := r["Employees"].(int64); ok && n >= 0 {
				want++
			}
			return true
		})
		if res.Count != want || len(s.Records()) != want || res.Strategy != StrategyCOQL+"+"+StrategyBulkReadJob || s.Resets() != 0 {
			t.Fatalf("BulkRead = %+v, %d records (want %d), %d resets", res, len(s.Records()), want, s.Resets())
		}
		jobs := requests(e.sim, "POST", "/crm/bulk/v8/read")
		if len(jobs) != 1 || !strings.Contains(string(jobs[0].Body), `"comparator":"greater_than"`) || !strings.Contains(string(jobs[0].Body), `"api_name":"id"`) {
			t.Fatalf("bulk read job body = %s", jobs[0].Body)
		}
		if !strings.Contains(string(jobs[0].Body), `"comparator":"greater_equal"`) {
			t.Errorf("the caller's condition is missing from the job: %s", jobs[0].Body)
		}
		if dl := requests(e.sim, "GET", "/crm/bulk/v8/read/"); len(dl) < 2 {
			t.Errorf("expected polls and a download, got %d GETs", len(dl))
		}
	})
}

// TestBulkReadJobLifecycle follows one job through ADDED → QUEUED → IN
// PROGRESS → COMPLETED on the fake clock: the tier polls with growing waits
// and downloads once the emulator's clock says the job is done.
func TestBulkReadJobLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 50, tier: func(c *Config) {
		c.Plan = func(Kind, int) Strategy { return Strategy{Name: StrategyBulkReadJob} }
		c.PollInterval = 500 * time.Millisecond
	}})
	var s tierstest.Sink
	res, err := e.tier.readJob(context.Background(), tiers.BulkReadRequest{Module: "Accounts", Fields: []string{"Account_Name", "Owner"}},
		[]string{"Account_Name", "Owner"}, "", &s, tiers.BulkReadResult{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 50 || len(s.Records()) != 50 || res.Credits < CreditsBulkRead {
		t.Fatalf("res = %+v, %d records", res, len(s.Records()))
	}
	first := s.Records()[0]
	if first["id"] != seededID(1) || first["Account_Name"] == nil {
		t.Errorf("first row = %v", first)
	}
	if o, ok := first["Owner"].(string); !ok || !tiers.IsRecordID(o) {
		t.Errorf("Owner = %#v, want the lookup's id as CSV text", first["Owner"])
	}
	// 3 states of 1 s each: the job completes at t+3s; waits of 0.5, 1, 2 s
	// reach it at 3.5 s with ±10% jitter.
	polls := requests(e.sim, "GET", "/crm/bulk/v8/read/")
	if slept, waits := e.clock.Slept(); waits < 3 || slept < 3*time.Second || slept > 6*time.Second || len(polls) < 4 {
		t.Errorf("waited %d times for %s with %d GETs", waits, slept, len(polls))
	}
}

// TestListPastOffsetCap continues a list from a page token deep past COQL's
// 100,000-row offset cap: sorted by id it pages by keyset (id > last id) and
// works; sorted by another field it cannot, and says so before sending.
func TestListPastOffsetCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 300})
	ctx := context.Background()
	req := tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 10}
	req.PageToken = tiers.Cursor{Offset: 150_000, LastID: seededID(250), Query: tiers.ListKey(req)}.Encode()
	p, err := e.tier.List(ctx, req)
	if err != nil || len(p.Records) != 10 || p.Records[0]["id"] != seededID(251) {
		t.Fatalf("deep keyset page = %v, %v", p.Records, err)
	}
	var next tiers.Cursor
	next, err = tiers.DecodeCursor(p.NextPageToken, tiers.ListKey(tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 10}))
	if err != nil || next.Offset != 150_010 || next.LastID != seededID(260) {
		t.Fatalf("next cursor = %+v, %v", next, err)
	}
	byTime := tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 10, SortBy: "Modified_Time"}
	byTime.PageToken = tiers.Cursor{Offset: 150_000, LastID: seededID(250), Query: tiers.ListKey(byTime)}.Encode()
	e.sim.ResetLog()
	if _, err := e.tier.List(ctx, byTime); classOf(err) != "verdict" || !strings.Contains(err.Error(), "sort by id") {
		t.Fatalf("deep offset by Modified_Time = %v, want a verdict telling to sort by id", err)
	}
	if n := len(requests(e.sim, "", "/crm/v8/coql")); n != 0 {
		t.Fatalf("%d COQL calls for a page that cannot be served", n)
	}
}

// TestBulkUpdateJobPending: a Bulk Write job the tier stopped waiting for
// (its context ended before the job was seen to finish) still runs at Zoho,
// so its records are pending on it, not merely unknown: the error names the
// job (tiers.Error.PendingJob) for the router, which must not send them again
// elsewhere, and AwaitBulkUpdateJob later settles them from the job's own
// result, sending nothing but polls and the download.
func TestBulkUpdateJobPending(t *testing.T) {
	t.Parallel()
	const n = 60
	e := newEnv(t, envOpts{accounts: n + 10, tier: func(c *Config) {
		c.Plan = func(Kind, int) Strategy { return Strategy{Name: StrategyBulkWriteJob} }
	}})
	ups := updates(n, 20, "p")
	req := tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups}
	ctx, cancel := context.WithCancel(context.Background())
	e.clock.OnSleep(func(time.Duration) { cancel() }) // gives up during the first poll wait
	res, err := e.tier.BulkUpdate(ctx, req)
	cancel()
	e.clock.OnSleep(nil)

	var te *tiers.Error
	if !errors.As(err, &te) || te.Class != tiers.ClassOutcomeUnknown {
		t.Fatalf("err = %v, want outcome unknown", err)
	}
	job := te.PendingJob
	if !tiers.IsRecordID(job) || !strings.Contains(te.Message, "pending on bulk write job "+job) || tiers.PendingJobOf(err) != job {
		t.Fatalf("the error does not name the pending job: %v (pending job %q)", err, job)
	}
	for i, o := range res.Outcomes {
		if o.ID != ups[i].ID || o.Status != tiers.StatusUnknown || !strings.Contains(o.Message, job) {
			t.Fatalf("outcome %d = %+v, want unknown, pending on job %s", i, o, job)
		}
		if w := e.sim.RecordWrites(o.ID); w != 0 {
			t.Fatalf("record %s written %d times before the job was observed", o.ID, w)
		}
	}

	// Still not finished: a wait that ends at once names the job again.
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := e.tier.AwaitBulkUpdateJob(done, job, req); !errors.As(err, &te) || te.PendingJob != job {
		t.Fatalf("an interrupted wait = %v, want the job named again", err)
	}

	res, err = e.tier.AwaitBulkUpdateJob(context.Background(), job, req)
	if err != nil {
		t.Fatalf("AwaitBulkUpdateJob: %v", err)
	}
	if res.Strategy != StrategyBulkWriteJob || res.Calls < 2 {
		t.Errorf("strategy %s calls %d", res.Strategy, res.Calls)
	}
	checkOutcomes(t, e, ups, res, 20)
	for _, u := range ups {
		if w := e.sim.RecordWrites(u.ID); w > 1 {
			t.Fatalf("record %s written %d times", u.ID, w)
		}
	}
	if up, jobs := requests(e.sim, "POST", "/crm/v8/upload"), requests(e.sim, "POST", "/crm/bulk/v8/write"); len(up) != 1 || len(jobs) != 1 {
		t.Errorf("%d uploads and %d jobs, want 1 and 1 (waiting sends nothing again)", len(up), len(jobs))
	}
	if _, err := e.tier.AwaitBulkUpdateJob(context.Background(), "12ab", req); tiers.Classify(err) != tiers.ClassVerdict {
		t.Errorf("a malformed job id = %v, want a verdict", err)
	}
}
