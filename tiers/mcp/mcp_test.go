package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const firstID = "5725767000001000001"

func newTier(t *testing.T, endpoint string, mod func(*Config)) *Tier {
	t.Helper()
	cfg := Config{
		Endpoint:   endpoint,
		CacheDir:   t.TempDir(), // never the user's token cache
		Timeout:    2 * time.Second,
		MaxRetries: 0, // no retries of its own: tests that want them say so
		Sleep:      func(context.Context, time.Duration) error { return nil },
	}
	if mod != nil {
		mod(&cfg)
	}
	tr := New(cfg)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func classOf(err error) string {
	if err == nil {
		return "ok"
	}
	return tiers.Classify(err).String()
}

func TestOperationsAcrossVariants(t *testing.T) {
	t.Parallel()
	variants := []variant{
		defaultVariant,
		{name: "renamed", moduleKey: "moduleApiName", recordKey: "recordId", perPageKey: "perPage"},
		{name: "wrapped", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page", wrap: true},
		{name: "structured", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page", structured: true, wrap: true},
		{name: "per-module", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page", perModule: true},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, v)
			tr := newTier(t, f.endpoint(), nil)
			ctx := context.Background()

			// get
			rec, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID, Fields: []string{"Account_Name"}})
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if rec["Account_Name"] != "Acme 01" || rec["id"] != firstID || rec["Phone"] != nil {
				t.Fatalf("Get = %v, want Acme 01 with only id and Account_Name", rec)
			}
			pv := sub(f.lastCall().Args, "path_variables")
			if pv[v.recordKey] != firstID {
				t.Errorf("getRecord path_variables = %v, want %s", pv, v.recordKey)
			}
			if !v.perModule && pv[v.moduleKey] != "Accounts" {
				t.Errorf("getRecord path_variables = %v, want %s=Accounts", pv, v.moduleKey)
			}
			if v.perModule && f.lastCall().Tool != "ZohoCRM_getAccountsRecord" {
				t.Errorf("tool = %s, want the per-module variant", f.lastCall().Tool)
			}

			// get of an unknown id is a not-found verdict
			_, err = tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: "1"})
			var te *tiers.Error
			if !errors.As(err, &te) || te.Code != "NOT_FOUND" || te.Class != tiers.ClassVerdict {
				t.Fatalf("Get unknown = %v, want NOT_FOUND verdict", err)
			}

			// list by ids keeps the caller's order and drops unknown ids
			ids := []string{"5725767000001000003", "9", firstID}
			p, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", IDs: ids, Fields: []string{"Account_Name"}})
			if err != nil {
				t.Fatalf("List ids: %v", err)
			}
			if len(p.Records) != 2 || p.Records[0]["id"] != ids[0] || p.Records[1]["id"] != firstID || p.MoreRecords {
				t.Fatalf("List ids = %v", p)
			}

			// list all, two pages of 20 then the rest (30 records)
			p1, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", Limit: 20, Fields: []string{"Account_Name"}})
			if err != nil || len(p1.Records) != 20 || !p1.MoreRecords {
				t.Fatalf("List page 1 = %d records more=%v err=%v", len(p1.Records), p1.MoreRecords, err)
			}
			if q := sub(f.lastCall().Args, "query_params"); toInt(q[v.perPageKey]) != 20 {
				t.Errorf("getRecords query_params = %v, want %s=20", q, v.perPageKey)
			}
			p2, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", Limit: 20, Fields: []string{"Account_Name"}, PageToken: p1.NextPageToken})
			if err != nil || len(p2.Records) != 10 || p2.MoreRecords {
				t.Fatalf("List page 2 = %d records more=%v err=%v", len(p2.Records), p2.MoreRecords, err)
			}
			if q := sub(f.lastCall().Args, "query_params"); q["page_token"] != "tok2" {
				t.Errorf("page 2 query_params = %v, want Zoho's page_token", q)
			}
			if p2.Records[0]["id"] != "5725767000001000021" {
				t.Errorf("page 2 starts at %v", p2.Records[0]["id"])
			}

			// list by filters goes through COQL
			p, err = tr.List(ctx, tiers.ListRequest{Module: "Accounts", Limit: 25, Fields: []string{"Account_Name"},
				Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{"Retail"}}}})
			if err != nil || len(p.Records) != 25 || !p.MoreRecords {
				t.Fatalf("List filters = %d more=%v err=%v", len(p.Records), p.MoreRecords, err)
			}
			q, _ := sub(f.lastCall().Args, "body")["select_query"].(string)
			if want := "select id, Account_Name from Accounts where Industry = 'Retail' order by id asc limit 26"; q != want {
				t.Errorf("COQL = %q, want %q", q, want)
			}

			p2, err = tr.List(ctx, tiers.ListRequest{Module: "Accounts", Limit: 25, Fields: []string{"Account_Name"}, PageToken: p.NextPageToken,
				Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{"Retail"}}}})
			if err != nil || len(p2.Records) != 5 || p2.MoreRecords || p2.Records[0]["id"] != "5725767000001000026" {
				t.Fatalf("List filters page 2 = %v more=%v err=%v", p2.Records, p2.MoreRecords, err)
			}
			q, _ = sub(f.lastCall().Args, "body")["select_query"].(string)
			if !strings.Contains(q, "id > 5725767000001000025") {
				t.Errorf("page 2 COQL = %q, want keyset paging by id", q)
			}

			// search by word, second page by our own offset
			sp, err := tr.Search(ctx, tiers.SearchRequest{Module: "Accounts", Word: "Acme 1", Limit: 5})
			if err != nil || len(sp.Records) != 5 || !sp.MoreRecords {
				t.Fatalf("Search = %d more=%v err=%v", len(sp.Records), sp.MoreRecords, err)
			}
			sp2, err := tr.Search(ctx, tiers.SearchRequest{Module: "Accounts", Word: "Acme 1", Limit: 5, PageToken: sp.NextPageToken})
			if err != nil || len(sp2.Records) != 5 || sp2.MoreRecords || sp2.Records[0]["Account_Name"] != "Acme 15" {
				t.Fatalf("Search page 2 = %v more=%v err=%v", sp2.Records, sp2.MoreRecords, err)
			}

			// search by conditions sends escaped criteria
			_, err = tr.Search(ctx, tiers.SearchRequest{Module: "Accounts", Where: []tiers.Condition{
				{Field: "Account_Name", Op: tiers.OpEquals, Values: []any{`Burns,B (x)\`}},
				{Field: "Employees", Op: tiers.OpGreaterThan, Values: []any{json.Number("10")}}}})
			if err != nil {
				t.Fatalf("Search where: %v", err)
			}
			crit := sub(f.lastCall().Args, "query_params")["criteria"]
			if want := `((Account_Name:equals:Burns\,B \(x\)\\)and(Employees:greater_than:10))`; crit != want {
				t.Errorf("criteria = %v, want %s", crit, want)
			}

			// update
			out, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Phone": "555-9999"}, Trigger: []string{}})
			if err != nil || out.Status != tiers.StatusSuccess || out.ID != firstID {
				t.Fatalf("Update = %+v, %v", out, err)
			}
			body := sub(f.lastCall().Args, "body")
			if tr, ok := body["trigger"].([]any); !ok || len(tr) != 0 {
				t.Errorf("update body = %v, want trigger: []", body)
			}
			f.mu.Lock()
			phone, writes := f.recs[firstID]["Phone"], f.writes[firstID]
			f.mu.Unlock()
			if phone != "555-9999" || writes != 1 {
				t.Errorf("store after update: Phone=%v writes=%d", phone, writes)
			}

			// a Zoho verdict on the record comes back as outcome and verdict
			out, err = tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Bad_Field": "x"}})
			if !errors.As(err, &te) || te.Class != tiers.ClassVerdict || te.Code != "INVALID_DATA" ||
				out.Status != tiers.StatusError || out.Code != "INVALID_DATA" {
				t.Fatalf("Update bad field = %+v, %v; want INVALID_DATA verdict", out, err)
			}
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, defaultVariant)
	tr := newTier(t, f.endpoint(), nil)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"bad id", func() error { _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: "12a"}); return err }},
		{"bad module", func() error { _, err := tr.Get(ctx, tiers.GetRequest{Module: "Acc/ounts", ID: "1"}); return err }},
		{"module with a leading digit", func() error {
			_, err := tr.Get(ctx, tiers.GetRequest{Module: "1Accounts", ID: "1"}) // no Zoho API name starts with a digit
			return err
		}},
		{"bad limit", func() error { _, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", Limit: 500}); return err }},
		{"bad token", func() error {
			_, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", PageToken: "zzz"})
			return err
		}},
		{"bad field", func() error {
			_, err := tr.Search(ctx, tiers.SearchRequest{Module: "Accounts", Where: []tiers.Condition{{Field: "A:B)", Op: tiers.OpEquals, Values: []any{"x"}}}})
			return err
		}},
		{"empty update", func() error {
			_, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := classOf(tt.call()); c != "verdict" {
				t.Fatalf("class = %s, want verdict", c)
			}
		})
	}
	if n := len(f.calls); n != 0 {
		t.Fatalf("%d tool calls reached the upstream for bad input", n)
	}
}

func TestMissingToolIsUnsupported(t *testing.T) {
	t.Parallel()
	f := newFake(t, variant{name: "no-search", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page",
		missing: map[string]bool{actSearchRecords: true, actCOQL: true}})
	now := time.Unix(1_700_000_000, 0)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	tr := newTier(t, f.endpoint(), func(c *Config) {
		c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		c.RelistInterval = time.Minute
	})
	ctx := context.Background()
	if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID}); err != nil {
		t.Fatal(err)
	}
	lists := f.lists.Load()
	clock.Add(int64(2 * time.Minute))
	_, err := tr.Search(ctx, tiers.SearchRequest{Module: "Accounts", Word: "Acme"})
	if classOf(err) != "unsupported" {
		t.Fatalf("Search on a server without searchRecords: %v (%s), want unsupported", err, classOf(err))
	}
	if got := f.lists.Load(); got != lists+1 {
		t.Errorf("tools/list calls = %d, want one re-read (%d) when a tool is missing", got, lists+1)
	}
	_, err = tr.List(ctx, tiers.ListRequest{Module: "Accounts", Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{"Retail"}}}})
	if classOf(err) != "unsupported" {
		t.Fatalf("List by filters without COQL: %v, want unsupported", err)
	}
	if got := f.lists.Load(); got != lists+1 {
		t.Errorf("tools/list re-read again within RelistInterval (%d)", got)
	}
	if !strings.Contains(err.Error(), "executeCOQLQuery") {
		t.Errorf("error does not name the missing tool: %v", err)
	}
}

// TestFaults drives every fault mode of SPEC §9 through tier 1 and checks the
// class, what reached the upstream, and that the key never shows.
func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  string
		write  bool
		want   string
		writes int // record writes the upstream made
		status tiers.OutcomeStatus
	}{
		{name: "5xx read", fault: "5xx", want: "unavailable"},
		{name: "5xx write", fault: "5xx", write: true, want: "unavailable", status: tiers.StatusNotSent},
		{name: "429 read", fault: "429", want: "rate_limited"},
		{name: "429 write", fault: "429", write: true, want: "rate_limited", status: tiers.StatusNotSent},
		// A Bearer challenge to a tier without a login: the endpoint has
		// switched to "Authorization on Demand"; tier 1 needs a login.
		{name: "bearer challenge without a login", fault: "401", want: "unsupported"},
		{name: "hang read", fault: "hang", want: "unavailable"},
		{name: "hang write", fault: "hang", write: true, want: "outcome_unknown", status: tiers.StatusUnknown},
		{name: "hang after apply", fault: "hang_after_apply", write: true, want: "outcome_unknown", writes: 1, status: tiers.StatusUnknown},
		{name: "malformed read", fault: "malformed", want: "unavailable"},
		{name: "malformed write", fault: "malformed", write: true, want: "outcome_unknown", status: tiers.StatusUnknown},
		{name: "latency", fault: "latency", want: "ok"},
		{name: "down read", fault: "down", want: "unavailable"},
		{name: "down write", fault: "down", write: true, want: "unavailable", status: tiers.StatusNotSent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, defaultVariant)
			tr := newTier(t, f.endpoint(), func(c *Config) { c.Timeout = 3 * time.Second })
			ctx := context.Background()
			if err := tr.Probe(ctx); err != nil {
				t.Fatal(err)
			}
			switch tt.fault {
			case "down":
				// Down for a while: the listener is gone and the pooled
				// connection has been found dead (by a read that failed on
				// it). A write on a pooled connection the server closed
				// meanwhile is, honestly, of unknown outcome.
				f.srv.Listener.Close()
				f.srv.CloseClientConnections()
				if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID}); classOf(err) != "unavailable" {
					t.Fatalf("read while down: %v", err)
				}
			case "latency":
			default:
				f.setFault(tt.fault)
			}
			var err error
			var out tiers.Outcome
			if tt.write {
				out, err = tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Phone": "1"}})
			} else {
				_, err = tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID})
			}
			if got := classOf(err); got != tt.want {
				t.Fatalf("class = %s (%v), want %s", got, err, tt.want)
			}
			if tt.write && out.Status != tt.status {
				t.Errorf("outcome status = %s, want %s", out.Status, tt.status)
			}
			f.mu.Lock()
			w := f.writes[firstID]
			f.mu.Unlock()
			if w != tt.writes {
				t.Errorf("upstream wrote the record %d times, want %d", w, tt.writes)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error text holds the endpoint key: %v", err)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	f := newFake(t, defaultVariant)
	tr := newTier(t, f.endpoint(), nil)
	if err := tr.Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	f.setFault("401")
	tr2 := newTier(t, f.endpoint(), nil)
	if err := tr2.Probe(context.Background()); classOf(err) != "unsupported" || !strings.Contains(err.Error(), "zoho-mcp-proxy login") || strings.Contains(err.Error(), testKey) {
		t.Fatalf("Probe answered with a Bearer challenge = %v, want unsupported naming login, without the key", err)
	}
	if tr2.Configured() || !strings.Contains(tr2.Detail(), "needs `zoho-mcp-proxy login`") {
		t.Fatalf("after a Bearer challenge: Configured %v, Detail %q", tr2.Configured(), tr2.Detail())
	}
	// A wrong key (the emulator answers 401) and a rate-limited initialize
	// are told apart, though mcp-go reports both as "a legacy SSE server".
	for _, tc := range []struct{ fault, want string }{{"401-init", "auth_failed"}, {"429-init", "rate_limited"}} {
		f3 := newFake(t, defaultVariant)
		f3.setFault(tc.fault)
		tr3 := newTier(t, f3.endpoint(), nil)
		if err := tr3.Probe(context.Background()); classOf(err) != tc.want {
			t.Errorf("Probe with %s = %v, want %s", tc.fault, err, tc.want)
		}
	}
	unconf := New(Config{})
	if unconf.Configured() || unconf.Probe(context.Background()) == nil {
		t.Fatal("a tier without endpoint must be unconfigured and fail its probe")
	}
}

func TestSessionTerminatedReinitializes(t *testing.T) {
	t.Parallel()
	for _, write := range []bool{false, true} {
		name := map[bool]string{false: "read", true: "write"}[write]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, defaultVariant)
			tr := newTier(t, f.endpoint(), nil)
			ctx := context.Background()
			if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID}); err != nil {
				t.Fatal(err)
			}
			f.setFault("terminate")
			var err error
			if write {
				_, err = tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Phone": "2"}})
			} else {
				_, err = tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID})
			}
			if err != nil {
				t.Fatalf("after a terminated session: %v", err)
			}
			if n := f.inits.Load(); n != 2 {
				t.Errorf("initialize calls = %d, want 2 (one re-initialization)", n)
			}
		})
	}
}

// TestScopesHeaderAndNoBearer: the caller's scopes go upstream as
// X-MCP-Tools, and an endpoint in key mode ("Authorization via Connection")
// gets no Authorization header at all.
func TestScopesHeaderAndNoBearer(t *testing.T) {
	t.Parallel()
	f := newFake(t, defaultVariant)
	tr := newTier(t, f.endpoint(), nil)
	ctx := tiers.WithScopes(context.Background(), []string{"read", "write"})
	for range 3 {
		if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID}); err != nil {
			t.Fatal(err)
		}
	}
	h := f.lastHeader()
	if got := h.Get("X-MCP-Tools"); got != "read,write" {
		t.Errorf("X-MCP-Tools = %q, want read,write", got)
	}
	// The header of a scope set is kept between calls: other scopes, the
	// caller's slice changed in place, and none must each be sent as they are.
	scopes := []string{"read", "write", "delete"}
	for _, c := range []struct {
		change func()
		want   string
	}{
		{func() {}, "read,write,delete"},
		{func() { scopes[1] = "admin" }, "read,admin,delete"},
		{func() { scopes = scopes[:2] }, "read,admin"},
		{func() { scopes = scopes[:1] }, "read"},
		{func() { scopes = nil }, ""},
	} {
		c.change()
		if _, err := tr.Get(tiers.WithScopes(context.Background(), scopes), tiers.GetRequest{Module: "Accounts", ID: firstID}); err != nil {
			t.Fatal(err)
		}
		if got := f.lastHeader().Get("X-MCP-Tools"); got != c.want {
			t.Errorf("scopes %v: X-MCP-Tools = %q, want %q", scopes, got, c.want)
		}
	}
	if got := h.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none in key mode", got)
	}
	if !tr.Configured() || tr.Detail() != "" {
		t.Errorf("key mode: Configured %v, Detail %q", tr.Configured(), tr.Detail())
	}
}

func TestToolErrorClassification(t *testing.T) {
	t.Parallel()
	tr := New(Config{Endpoint: "https://x-1.zohomcp.com/mcp/" + testKey + "/message"})
	tests := []struct {
		name, text, class, code string
	}{
		{"zoho verdict", `{"code":"INVALID_DATA","details":{"api_name":"Phone"},"message":"invalid","status":"error"}`, "verdict", "INVALID_DATA"},
		{"prefixed json", `Error: {"code":"NO_PERMISSION","message":"Permission denied","status":"error"}`, "verdict", "NO_PERMISSION"},
		{"per-record error", `{"data":[{"code":"DUPLICATE_DATA","message":"duplicate data","status":"error"}]}`, "verdict", "DUPLICATE_DATA"},
		{"rate limited", `{"code":"TOO_MANY_REQUESTS","message":"limit","status":"error"}`, "rate_limited", "TOO_MANY_REQUESTS"},
		{"invalid token code", `{"code":"INVALID_TOKEN","message":"invalid oauth token","status":"error"}`, "auth_failed", "INVALID_TOKEN"},
		{"401 text", `HTTP 401 Unauthorized`, "auth_failed", ""},
		{"unauthorized text", `request unauthorized: invalid_token`, "auth_failed", ""},
		{"internal", `{"code":"INTERNAL_ERROR","message":"boom","status":"error"}`, "unavailable", "INTERNAL_ERROR"},
		{"plain text", `something broke at /mcp/` + testKey + `/message`, "unavailable", ""},
		{"port is not 401", `dial tcp 127.0.0.1:54011: connection refused`, "unavailable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := tr.toolError(fromMCP(mcpgo.NewToolResultError(tt.text)))
			if e.Class.String() != tt.class || e.Code != tt.code {
				t.Fatalf("toolError(%q) = %s/%s, want %s/%s", tt.text, e.Class, e.Code, tt.class, tt.code)
			}
			if strings.Contains(e.Error(), testKey) {
				t.Fatalf("error holds the key: %v", e)
			}
		})
	}
}

// countingGovernor records the acquisitions and releases of its slots.
type countingGovernor struct {
	name string
	log  *[]string
	fail bool
}

func (g *countingGovernor) Acquire(ctx context.Context) (func(), error) {
	if g.fail {
		return nil, errors.New(g.name + " full")
	}
	*g.log = append(*g.log, "take "+g.name)
	return func() { *g.log = append(*g.log, "give "+g.name) }, nil
}

// TestAcquireGovernors: a tool call holds a slot of the org's governor; a
// COQL tool first a heavy slot too, given back in reverse order, and given
// back when the org's slot cannot be had.
func TestAcquireGovernors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tool string
		heavy, org bool // configured
		orgFull    bool
		want       string
		wantErr    bool
	}{
		{name: "plain tool", tool: "ZohoCRM_getRecord", heavy: true, org: true, want: "take org,give org"},
		{name: "COQL tool", tool: "ZohoCRM_executeCOQLQuery", heavy: true, org: true, want: "take heavy,take org,give org,give heavy"},
		{name: "COQL in another case", tool: "ZohoCRM_runCoql", heavy: true, org: true, want: "take heavy,take org,give org,give heavy"},
		{name: "no governors", tool: "ZohoCRM_executeCOQLQuery", want: ""},
		{name: "plain tool, no org governor", tool: "ZohoCRM_getRecord", heavy: true, want: ""},
		{name: "org full after heavy", tool: "ZohoCRM_executeCOQLQuery", heavy: true, org: true, orgFull: true, want: "take heavy,give heavy", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log []string
			cfg := Config{}
			if tt.heavy {
				cfg.HeavyGovernor = &countingGovernor{name: "heavy", log: &log}
			}
			if tt.org {
				cfg.Governor = &countingGovernor{name: "org", log: &log, fail: tt.orgFull}
			}
			tr := New(cfg)
			release, err := tr.acquire(context.Background(), &tool{name: tt.tool})
			if (err != nil) != tt.wantErr {
				t.Fatalf("acquire error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				release()
			}
			if got := strings.Join(log, ","); got != tt.want {
				t.Errorf("slots = %s, want %s", got, tt.want)
			}
		})
	}
}

type otherKey struct{}

// TestCallContext checks that the context of one upstream exchange is the
// caller's (values, deadline, cancellation and its cause reach it and a
// child of it) with the exchange's callInfo added, in one allocation.
func TestCallContext(t *testing.T) {
	tr := New(Config{})
	parent, cancel := context.WithCancelCause(tiers.WithScopes(context.WithValue(context.Background(), otherKey{}, "v"), []string{"read"}))
	ctx, box := tr.callContext(parent)
	if got := headers(ctx)["X-MCP-Tools"]; got != "read" {
		t.Errorf("X-MCP-Tools = %q, want read", got)
	}
	ci, _ := ctx.Value(callKey{}).(*callInfo)
	if ci == nil || &ci.box != box || ctx.Value(otherKey{}) != "v" {
		t.Fatalf("values: callInfo %p (box %p, want %p), other %v", ci, ci, box, ctx.Value(otherKey{}))
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	cause := errors.New("caller gone")
	cancel(cause)
	<-child.Done() // cancellation reaches a child of the exchange's context
	if ctx.Err() != context.Canceled || context.Cause(child) != cause {
		t.Errorf("after the caller's cancel: Err = %v, Cause(child) = %v", ctx.Err(), context.Cause(child))
	}
	live := context.Background()
	if n := testing.AllocsPerRun(100, func() { _, _ = tr.callContext(live) }); n > 1 {
		t.Errorf("callContext allocates %v times, want 1", n)
	}
}
