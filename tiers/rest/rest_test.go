package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startSim starts the emulator for one test.
func startSim(t testing.TB, opts zohosim.Options) *zohosim.Sim {
	t.Helper()
	s, err := zohosim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func zeroBackoff(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }

// newTier returns a REST tier pointed at sim over loopback, with no disk
// cache and no backoff waits.
func newTier(t testing.TB, sim *zohosim.Sim, mod ...func(*Config)) *Tier {
	t.Helper()
	c := sim.RESTCredential()
	cfg := Config{Config: zoho.Config{
		Credential:  zoho.Credential{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken},
		AccountsURL: sim.AccountsURL(), CacheDir: "-", Backoff: zeroBackoff, Timeout: 20 * time.Second,
		MaxRetries: tiers.DefaultsOf(tiers.REST).MaxRetries,
		Logger:     slog.New(slog.DiscardHandler),
	}}
	for _, m := range mod {
		m(&cfg)
	}
	tier := New(cfg)
	t.Cleanup(func() { tier.Client().HTTPClient().CloseIdleConnections() })
	return tier
}

// restRequests returns the logged requests to the REST surface.
func restRequests(sim *zohosim.Sim, method, pathPrefix string) []zohosim.LoggedRequest {
	var out []zohosim.LoggedRequest
	for _, r := range sim.Requests() {
		if r.Surface == zohosim.SurfaceREST && (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

func tierErr(t *testing.T, err error) *tiers.Error {
	t.Helper()
	var te *tiers.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *tiers.Error", err, err)
	}
	if te.Tier != tiers.REST {
		t.Fatalf("error %v labelled %q, want REST", err, te.Tier)
	}
	return te
}

func ctx() context.Context { return context.Background() }

func TestConfigured(t *testing.T) {
	t.Parallel()
	if New(Config{}).Configured() {
		t.Fatal("a tier without credentials must not be configured")
	}
	bad := New(Config{Config: zoho.Config{Credential: zoho.Credential{ClientID: "a", ClientSecret: "b", RefreshToken: "c"}, DC: "mars"}})
	if bad.Configured() {
		t.Fatal("an unknown DC must not be configured")
	}
	_, err := New(Config{}).Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: "1"})
	if te := tierErr(t, err); te.Class != tiers.ClassAuth || !strings.Contains(te.Message, "ZOHO_CLIENT_ID") {
		t.Fatalf("unconfigured Get: %v", err)
	}
	for _, op := range []tiers.OpKind{tiers.OpGet, tiers.OpList, tiers.OpSearch, tiers.OpUpdate, tiers.OpBulkRead, tiers.OpBulkUpdate} {
		if !New(Config{}).Supports(op) {
			t.Fatalf("REST must support %s", op)
		}
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 50})
	tier := newTier(t, sim)
	id := sim.Store().IDs()[7]
	want, _ := sim.Store().Get(id)

	rec, err := tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: id, Fields: []string{"Account_Name", "Employees"}})
	if err != nil {
		t.Fatal(err)
	}
	if rec["id"] != id || rec["Account_Name"] != want["Account_Name"] {
		t.Fatalf("Get = %v, want id %s name %v", rec, id, want["Account_Name"])
	}
	if _, ok := rec["Phone"]; ok {
		t.Fatalf("fields not applied: %v", rec)
	}
	logged := restRequests(sim, "GET", "/crm/v8/Accounts/")
	if len(logged) != 1 || logged[0].Path != "/crm/v8/Accounts/"+id || logged[0].Query != "fields=Account_Name%2CEmployees" {
		t.Fatalf("request log %+v", logged)
	}

	tests := []struct {
		name  string
		req   tiers.GetRequest
		class tiers.Class
		code  string
		sent  bool
	}{
		{"unknown id: 204 → not found", tiers.GetRequest{Module: "Accounts", ID: "5725767000009999999"}, tiers.ClassVerdict, "NOT_FOUND", true},
		{"malformed id: caught locally", tiers.GetRequest{Module: "Accounts", ID: "12a"}, tiers.ClassVerdict, "INVALID_DATA", false},
		{"path injection in module", tiers.GetRequest{Module: "Accounts/../org", ID: "1"}, tiers.ClassVerdict, "INVALID_MODULE", false},
		{"unknown module: Zoho verdict", tiers.GetRequest{Module: "Widgets", ID: "1"}, tiers.ClassVerdict, "INVALID_MODULE", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(restRequests(sim, "", "/crm/"))
			_, err := tier.Get(ctx(), tt.req)
			te := tierErr(t, err)
			if te.Class != tt.class || te.Code != tt.code {
				t.Fatalf("got %v (%v %s), want %v %s", err, te.Class, te.Code, tt.class, tt.code)
			}
			if sent := len(restRequests(sim, "", "/crm/")) > before; sent != tt.sent {
				t.Fatalf("request sent = %v, want %v", sent, tt.sent)
			}
		})
	}
}

// listAll pages through a list until the end, returning the ids.
func listAll(t *testing.T, tier *Tier, req tiers.ListRequest) []string {
	t.Helper()
	var ids []string
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("paging does not end")
		}
		p, err := tier.List(ctx(), req)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		for _, r := range p.Records {
			ids = append(ids, r["id"].(string))
		}
		if !p.MoreRecords {
			if p.NextPageToken != "" {
				t.Fatal("next token without more records")
			}
			return ids
		}
		req.PageToken = p.NextPageToken
	}
}

func TestListPagesPast2000WithZohoPageToken(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 2300})
	tier := newTier(t, sim)
	ids := listAll(t, tier, tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 200})
	if want := sim.Store().IDs(); !slices.Equal(ids, want) {
		t.Fatalf("listed %d ids, want all %d in id order (first %v)", len(ids), len(want), ids[:3])
	}
	var tokens int
	for _, r := range restRequests(sim, "GET", "/crm/v8/Accounts") {
		q, _ := url.ParseQuery(r.Query)
		if q.Get("page_token") != "" {
			tokens++
			if q.Get("page") != "" {
				t.Fatalf("page and page_token together: %s", r.Query)
			}
		} else if p := q.Get("page"); p == "" || q.Get("per_page") != "200" {
			t.Fatalf("page request without page/per_page: %s", r.Query)
		}
	}
	if tokens != 2 {
		t.Fatalf("%d page_token requests, want 2 (rows 2000–2299)", tokens)
	}
}

func TestListChangingLimitAndDesc(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 120})
	tier := newTier(t, sim)
	all := sim.Store().IDs()
	slices.Reverse(all)
	req := tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 30, SortOrder: "desc"}
	p1, err := tier.List(ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.PageToken, req.Limit = p1.NextPageToken, 50 // unaligned: rows 30–79
	p2, err := tier.List(ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range append(p1.Records, p2.Records...) {
		got = append(got, r["id"].(string))
	}
	if !slices.Equal(got, all[:80]) {
		t.Fatalf("pages = %v…, want the first 80 ids descending", got[:3])
	}
	// A token is bound to its query.
	req.SortOrder = "asc"
	_, err = tier.List(ctx(), req)
	if te := tierErr(t, err); te.Code != "INVALID_PAGE_TOKEN" || te.Class != tiers.ClassVerdict {
		t.Fatalf("token replayed on another query: %v", err)
	}
}

func TestListCursorItCannotHonour(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 10})
	tier := newTier(t, sim)
	req := tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 100}
	req.PageToken = tiers.Cursor{Offset: 5000, LastID: "5725767000001005000", Query: tiers.ListKey(req)}.Encode()
	_, err := tier.List(ctx(), req)
	if te := tierErr(t, err); te.Class != tiers.ClassUnsupported || !strings.Contains(te.Message, "2,000") {
		t.Fatalf("want a clear unsupported error, got %v", err)
	}
}

func TestListByIDsAndFilters(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 300})
	tier := newTier(t, sim)
	all := sim.Store().IDs()
	want := []string{all[5], all[9], all[250]}
	got := listAll(t, tier, tiers.ListRequest{Module: "Accounts", IDs: want, Limit: 2})
	if !slices.Equal(got, want) {
		t.Fatalf("by ids = %v, want %v", got, want)
	}
	r := restRequests(sim, "GET", "/crm/v8/Accounts")
	q, _ := url.ParseQuery(r[0].Query)
	if q.Get("ids") != all[5]+","+all[9] || !strings.Contains(q.Get("fields"), "Account_Name") {
		t.Fatalf("ids request %s", r[0].Query)
	}

	// Equality filters go through the search API with compiled criteria.
	var industry string
	rec, _ := sim.Store().Get(all[0])
	industry = rec["Industry"].(string)
	sim.ResetLog()
	got = listAll(t, tier, tiers.ListRequest{Module: "Accounts", Limit: 50, Fields: []string{"Industry"},
		Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{industry}}}})
	var wantN int
	sim.Store().Each(func(r zohosim.Record) bool {
		if r["Industry"] == industry {
			wantN++
		}
		return true
	})
	if len(got) != wantN || wantN == 0 {
		t.Fatalf("filter %s: %d records, want %d", industry, len(got), wantN)
	}
	s := restRequests(sim, "GET", "/crm/v8/Accounts/search")
	q, _ = url.ParseQuery(s[0].Query)
	if q.Get("criteria") != "(Industry:equals:"+industry+")" {
		t.Fatalf("criteria %q", q.Get("criteria"))
	}
}

func TestSearchEscapesEveryValue(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 30})
	tier := newTier(t, sim)
	id := sim.Store().IDs()[3]
	name := `Smith (UK), Ltd\ O'Neil`
	if _, err := tier.Update(ctx(), tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Account_Name": name}}); err != nil {
		t.Fatal(err)
	}
	sim.ResetLog()
	p, err := tier.Search(ctx(), tiers.SearchRequest{Module: "Accounts", Fields: []string{"Account_Name"},
		Where: []tiers.Condition{{Field: "Account_Name", Op: tiers.OpEquals, Values: []any{name}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0]["id"] != id {
		t.Fatalf("search found %v, want only %s", p.Records, id)
	}
	logged := restRequests(sim, "GET", "/crm/v8/Accounts/search")
	if len(logged) != 1 {
		t.Fatalf("%d search requests", len(logged))
	}
	q, _ := url.ParseQuery(logged[0].Query)
	if want := `(Account_Name:equals:Smith \(UK\)\, Ltd\\ O'Neil)`; q.Get("criteria") != want {
		t.Fatalf("criteria received %q, want %q", q.Get("criteria"), want)
	}
	if !strings.Contains(logged[0].Query, "%5C%28UK%5C%29%5C%2C") || !strings.Contains(logged[0].Query, "%27") {
		t.Fatalf("criteria not URL-encoded: %s", logged[0].Query)
	}

	// A value that tries to add a condition stays one value and matches nothing.
	p, err = tier.Search(ctx(), tiers.SearchRequest{Module: "Accounts",
		Where: []tiers.Condition{{Field: "Account_Name", Op: tiers.OpEquals, Values: []any{"x)or(Account_Name:starts_with:" + name[:1]}}}})
	if err != nil || len(p.Records) != 0 || p.MoreRecords {
		t.Fatalf("injection attempt matched: %d records, %v", len(p.Records), err)
	}
}

func TestSearchModes(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 100})
	tier := newTier(t, sim)
	rec, _ := sim.Store().Get(sim.Store().IDs()[1])
	tests := []struct {
		name  string
		req   tiers.SearchRequest
		param string
		class tiers.Class // -1 success
	}{
		{"word", tiers.SearchRequest{Word: fmt.Sprint(rec["Account_Name"])}, "word", -1},
		{"phone", tiers.SearchRequest{Phone: fmt.Sprint(rec["Phone"])}, "phone", -1},
		{"any of two", tiers.SearchRequest{MatchAny: true, Where: []tiers.Condition{
			{Field: "Account_Name", Op: tiers.OpStartsWith, Values: []any{"zzzz-none"}},
			{Field: "Employees", Op: tiers.OpGreaterThan, Values: []any{0}}}}, "criteria", -1},
		{"nothing to search by", tiers.SearchRequest{}, "", tiers.ClassVerdict},
		{"two modes", tiers.SearchRequest{Word: "ab", Email: "a@b.c"}, "", tiers.ClassVerdict},
		{"bad field", tiers.SearchRequest{Where: []tiers.Condition{{Field: "A:equals:x", Op: tiers.OpEquals, Values: []any{"y"}}}}, "", tiers.ClassVerdict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Module = "Accounts"
			p, err := tier.Search(ctx(), tt.req)
			if tt.class == -1 {
				if err != nil || len(p.Records) == 0 {
					t.Fatalf("%v, %d records", err, len(p.Records))
				}
				return
			}
			if te := tierErr(t, err); te.Class != tt.class {
				t.Fatalf("class %v: %v", te.Class, err)
			}
		})
	}
}

func TestSearchLimitReached(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 10})
	tier := newTier(t, sim)
	req := tiers.SearchRequest{Module: "Accounts", Word: "ab", Limit: 200}
	req.PageToken = tiers.Cursor{Offset: 2000, Query: tiers.SearchKey(req)}.Encode()
	_, err := tier.Search(ctx(), req)
	if te := tierErr(t, err); te.Class != tiers.ClassVerdict || te.Code != "LIMIT_REACHED" {
		t.Fatalf("want LIMIT_REACHED verdict, got %v", err)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 20})
	tier := newTier(t, sim)
	id := sim.Store().IDs()[2]
	out, err := tier.Update(ctx(), tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0101"}, Trigger: []string{}})
	if err != nil || out.Status != tiers.StatusSuccess || out.ID != id {
		t.Fatalf("Update = %+v, %v", out, err)
	}
	if rec, _ := sim.Store().Get(id); rec["Phone"] != "555-0101" || sim.RecordWrites(id) != 1 {
		t.Fatalf("store %v writes %d", rec["Phone"], sim.RecordWrites(id))
	}
	put := restRequests(sim, "PUT", "/crm/v8/Accounts/"+id)
	if len(put) != 1 || string(put[0].Body) != `{"data":[{"Phone":"555-0101"}],"trigger":[]}` {
		t.Fatalf("PUT body %s", put[0].Body)
	}

	// Zoho's per-record verdict comes back with its code, message and details.
	out, err = tier.Update(ctx(), tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Employees": "many"}})
	te := tierErr(t, err)
	if te.Class != tiers.ClassVerdict || te.Code != "INVALID_DATA" || te.Details["api_name"] != "Employees" || out.Status != tiers.StatusError {
		t.Fatalf("invalid value: %+v %v details %v", out, err, te.Details)
	}
	// Caller mistakes are caught before sending.
	for _, req := range []tiers.UpdateRequest{
		{Module: "Accounts", ID: id},
		{Module: "Accounts", ID: id, Data: tiers.Record{"Bad Field": 1}},
		{Module: "Accounts", ID: id, Data: tiers.Record{"id": "1", "Phone": "1"}},
		{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "1"}, Trigger: []string{"everything"}},
	} {
		before := len(restRequests(sim, "PUT", ""))
		out, err := tier.Update(ctx(), req)
		if te := tierErr(t, err); te.Class != tiers.ClassVerdict || out.Status != tiers.StatusNotSent || len(restRequests(sim, "PUT", "")) != before {
			t.Fatalf("%+v: %+v %v", req, out, err)
		}
	}
}

func TestBulkUpdatePartialFailure(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 300})
	tier := newTier(t, sim)
	ids := sim.Store().IDs()[:250]
	req := tiers.BulkUpdateRequest{Module: "Accounts", Trigger: []string{"workflow"}}
	for i, id := range ids {
		d := tiers.Record{"Phone": fmt.Sprintf("555-%04d", i)}
		switch i {
		case 17, 142: // Zoho rejects these (207 per record)
			d = tiers.Record{"Employees": "lots"}
		case 99: // caught locally, never sent
			id = "not-an-id"
		}
		req.Updates = append(req.Updates, tiers.UpdateRequest{ID: id, Data: d})
	}
	res, err := tier.BulkUpdate(ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != len(req.Updates) || res.Calls != 3 || res.Strategy != "batched-put" || res.Credits != 25 {
		t.Fatalf("outcomes %d calls %d strategy %s credits %d", len(res.Outcomes), res.Calls, res.Strategy, res.Credits)
	}
	for i, o := range res.Outcomes {
		if o.ID != req.Updates[i].ID {
			t.Fatalf("outcome %d is for %s, want %s (input order)", i, o.ID, req.Updates[i].ID)
		}
		switch i {
		case 17, 142:
			if o.Status != tiers.StatusError || o.Code != "INVALID_DATA" {
				t.Fatalf("outcome %d = %+v, want Zoho's INVALID_DATA", i, o)
			}
		case 99:
			if o.Status != tiers.StatusError {
				t.Fatalf("outcome 99 = %+v", o)
			}
		default:
			if o.Status != tiers.StatusSuccess {
				t.Fatalf("outcome %d = %+v", i, o)
			}
			if rec, _ := sim.Store().Get(o.ID); rec["Phone"] != fmt.Sprintf("555-%04d", i) {
				t.Fatalf("record %d not written", i)
			}
		}
	}
	puts := restRequests(sim, "PUT", "/crm/v8/Accounts")
	statuses := []int{puts[0].Status, puts[1].Status, puts[2].Status}
	if !slices.Equal(statuses, []int{207, 207, 200}) {
		t.Fatalf("PUT statuses %v, want 207 207 200", statuses)
	}
}

func TestBulkUpdateAllFailedIs400PerRecord(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 5})
	tier := newTier(t, sim)
	var req tiers.BulkUpdateRequest
	req.Module = "Accounts"
	for _, id := range sim.Store().IDs()[:3] {
		req.Updates = append(req.Updates, tiers.UpdateRequest{ID: id, Data: tiers.Record{"Employees": "x"}})
	}
	res, err := tier.BulkUpdate(ctx(), req)
	if err != nil {
		t.Fatalf("all-failed 400 with per-record results is not a call failure: %v", err)
	}
	for _, o := range res.Outcomes {
		if o.Status != tiers.StatusError || o.Code != "INVALID_DATA" {
			t.Fatalf("outcome %+v", o)
		}
	}
}

func TestBulkUpdateStopsOnFailureWithoutDroppingRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     zohosim.Fault
		wantFirst tiers.OutcomeStatus // the batch in flight
		class     tiers.Class
		writes    int
	}{
		{"down: nothing sent", zohosim.Fault{Mode: zohosim.FaultDown}, tiers.StatusNotSent, tiers.ClassUnavailable, 0},
		{"hang after apply: unknown", zohosim.Fault{Mode: zohosim.FaultHangAfterApply}, tiers.StatusUnknown, tiers.ClassOutcomeUnknown, 1},
		{"429 throughout: not sent", zohosim.Fault{Mode: zohosim.Fault429}, tiers.StatusNotSent, tiers.ClassRateLimited, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, zohosim.Options{Accounts: 250})
			tier := newTier(t, sim, func(c *Config) {
				if tt.fault.Mode == zohosim.FaultHangAfterApply {
					c.Timeout = 300 * time.Millisecond
				}
			})
			if _, err := tier.Client().Tokens().Token(ctx()); err != nil {
				t.Fatal(err)
			}
			var req tiers.BulkUpdateRequest
			req.Module = "Accounts"
			for _, id := range sim.Store().IDs()[:250] {
				req.Updates = append(req.Updates, tiers.UpdateRequest{ID: id, Data: tiers.Record{"Phone": "1"}})
			}
			sim.SetFault(zohosim.SurfaceREST, tt.fault)
			res, err := tier.BulkUpdate(ctx(), req)
			if te := tierErr(t, err); te.Class != tt.class {
				t.Fatalf("class %v: %v", te.Class, err)
			}
			if len(res.Outcomes) != 250 {
				t.Fatalf("%d outcomes for 250 records", len(res.Outcomes))
			}
			for i, o := range res.Outcomes {
				want := tiers.StatusNotSent
				if i < 100 {
					want = tt.wantFirst
				}
				if o.Status != want || o.ID != req.Updates[i].ID {
					t.Fatalf("outcome %d = %+v, want %s", i, o, want)
				}
			}
			if w := sim.RecordWrites(req.Updates[0].ID); w != tt.writes {
				t.Fatalf("first record written %d times, want %d", w, tt.writes)
			}
			if w := sim.RecordWrites(req.Updates[150].ID); w != 0 {
				t.Fatalf("a record after the failure was written")
			}
		})
	}
}

func TestBulkRead(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 450})
	tier := newTier(t, sim)
	all := sim.Store().IDs()
	tests := []struct {
		name  string
		req   tiers.BulkReadRequest
		want  int
		calls int
	}{
		{"everything", tiers.BulkReadRequest{Module: "Accounts", Fields: []string{"Account_Name"}}, 450, 3},
		{"by ids in chunks of 100", tiers.BulkReadRequest{Module: "Accounts", IDs: all[10:160]}, 150, 2},
		{"by conditions", tiers.BulkReadRequest{Module: "Accounts", Where: []tiers.Condition{{Field: "Employees", Op: tiers.OpGreaterEqual, Values: []any{0}}}}, 450, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &tierstest.Sink{}
			res, err := tier.BulkRead(ctx(), tt.req, sink)
			if err != nil {
				t.Fatal(err)
			}
			if res.Count != tt.want || len(sink.Records()) != tt.want || res.Calls != tt.calls || res.Strategy != "rest-pages" {
				t.Fatalf("count %d sink %d calls %d strategy %s", res.Count, len(sink.Records()), res.Calls, res.Strategy)
			}
			seen := map[any]bool{}
			for _, r := range sink.Records() {
				if seen[r["id"]] {
					t.Fatalf("duplicate %v", r["id"])
				}
				seen[r["id"]] = true
			}
		})
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 5})
	tier := newTier(t, sim, func(c *Config) { c.ProbeTimeout = 300 * time.Millisecond })
	if _, err := tier.Client().Tokens().Token(ctx()); err != nil {
		t.Fatal(err)
	}
	if err := tier.Probe(ctx()); err != nil {
		t.Fatal(err)
	}
	sim.SetFault(zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultHang})
	start := time.Now()
	err := tier.Probe(ctx())
	if te := tierErr(t, err); te.Class != tiers.ClassUnavailable {
		t.Fatalf("probe of a hung Zoho: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("probe took %v", d)
	}
}
