package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestGetAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	res := e.call(t, profAll, "get_account", `{"account_id":"`+acct+`","fields":["Account_Name","Phone"]}`)
	if res.IsError {
		t.Fatalf("isError: %s", text(res))
	}
	acc := structured(t, res)["account"].(map[string]any)
	if acc["id"] != acct || acc["Account_Name"] != "Acct 1" {
		t.Errorf("account = %v", acc)
	}
	if got := text(res); !strings.HasPrefix(got, "Account Acct 1 ("+acct+") (served by MCP).") || !strings.Contains(got, `"Account_Name":"Acct 1"`) {
		t.Errorf("text rendering = %q", got)
	}
	r := routeOf(t, res)
	if r.Tier != tiers.MCP || len(r.Attempts) != 1 || r.Attempts[0].Outcome != tiers.AttemptSuccess {
		t.Errorf("route = %+v", r)
	}
	calls := e.tier.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d tier calls", len(calls))
	}
	req := calls[0].Req.(tiers.GetRequest)
	if req.Module != "Accounts" || req.ID != acct || !slices.Equal(req.Fields, []string{"Account_Name", "Phone"}) {
		t.Errorf("tier got %+v", req)
	}
	if !slices.Equal(calls[0].Scopes, profAll.ScopeNames()) {
		t.Errorf("tier saw scopes %v, want the caller's %v", calls[0].Scopes, profAll.ScopeNames())
	}
}

func TestGetAccountNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	res := e.call(t, profAll, "get_account", `{"account_id":"42"}`)
	if !res.IsError || !strings.HasPrefix(text(res), "no account with id 42;") {
		t.Fatalf("want isError 'no account with id 42', got %v %q", res.IsError, text(res))
	}
	if r := routeOf(t, res); r.Tier != tiers.MCP || len(r.Attempts) == 0 {
		t.Errorf("not-found result lacks its route: %+v", r)
	}
}

// TestDeniedFieldsRemoved: a denied field never leaves the proxy, whatever
// the tier returns, on every read path.
func TestDeniedFieldsRemoved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tool, args string
		records          func(m map[string]any) []any
	}{
		{name: "get_account", tool: "get_account", args: `{"account_id":"` + acct + `"}`,
			records: func(m map[string]any) []any { return []any{m["account"]} }},
		{name: "get_accounts", tool: "get_accounts", args: `{"limit":5}`,
			records: func(m map[string]any) []any { return m["accounts"].([]any) }},
		{name: "get_accounts by ids", tool: "get_accounts", args: `{"ids":["` + acct + `"]}`,
			records: func(m map[string]any) []any { return m["accounts"].([]any) }},
		// Not a word search: sales is denied Owner, a lookup whose name a
		// word search matches, so word is refused (TestImplicitSearchesRespectDenyList).
		{name: "search_accounts", tool: "search_accounts", args: `{"where":[{"field":"Account_Name","op":"starts_with","value":"Acct"}]}`,
			records: func(m map[string]any) []any { return m["accounts"].([]any) }},
		{name: "bulk_read_accounts inline", tool: "bulk_read_accounts", args: `{"account_ids":["` + acct + `"]}`,
			records: func(m map[string]any) []any { return m["accounts"].([]any) }},
	}
	e := newEnv(t, 3)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.call(t, profSales, tc.tool, tc.args)
			if res.IsError {
				t.Fatalf("isError: %s", text(res))
			}
			recs := tc.records(structured(t, res))
			if len(recs) == 0 {
				t.Fatal("no records")
			}
			for _, r := range recs {
				m := r.(map[string]any)
				if _, ok := m["Annual_Revenue"]; ok {
					t.Errorf("denied Annual_Revenue returned: %v", m)
				}
				if _, ok := m["Owner"]; ok {
					t.Errorf("denied Owner returned: %v", m)
				}
				if m["Phone"] == nil {
					t.Errorf("allowed field Phone missing: %v", m)
				}
			}
			if strings.Contains(text(res), "Annual_Revenue") || strings.Contains(text(res), "Ann\"") {
				t.Errorf("denied field in the text rendering: %s", text(res))
			}
		})
	}
	// The fake tier's own record is untouched: redaction copies.
	if r, _ := e.tier.Store.Get(acct, nil); r["Annual_Revenue"] == nil {
		t.Error("redaction changed the tier's record")
	}
}

func TestDeniedFieldsNotInBulkResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30)
	res := e.call(t, profSales, "bulk_read_accounts", `{}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	uri := structured(t, res)["resource_uri"].(string)
	pg := readResource(t, e, profSales, uri)
	if pg.Total != 30 || len(pg.Records) != 30 {
		t.Fatalf("page has %d of %d", len(pg.Records), pg.Total)
	}
	for _, r := range pg.Records {
		if strings.Contains(string(r), "Annual_Revenue") || strings.Contains(string(r), "Owner") {
			t.Fatalf("denied field in the stored result: %s", r)
		}
	}
}

func TestListAndSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 25)
	res := e.call(t, profAll, "get_accounts", `{"limit":10,"sort_by":"Modified_Time","sort_order":"desc","filters":{"Industry":"Retail"}}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	m := structured(t, res)
	if m["count"] != float64(10) || m["more_records"] != true || m["next_page_token"] == "" {
		t.Errorf("page = count %v more %v token %v", m["count"], m["more_records"], m["next_page_token"])
	}
	if !strings.Contains(text(res), "More records exist: call again with page_token") {
		t.Errorf("text does not say how to continue: %s", text(res))
	}
	req := e.tier.Calls()[0].Req.(tiers.ListRequest)
	want := []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{"Retail"}}}
	if req.Limit != 10 || req.SortBy != "Modified_Time" || req.SortOrder != "desc" || fmt.Sprint(req.Filters) != fmt.Sprint(want) {
		t.Errorf("tier got %+v", req)
	}

	res = e.call(t, profAll, "search_accounts", `{"where":[{"field":"Industry","op":"in","value":["Retail","Bank"]},{"field":"Rating","op":"between","value":[1,5]}],"match":"any"}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	sreq := e.tier.Calls()[1].Req.(tiers.SearchRequest)
	if !sreq.MatchAny || sreq.Limit != defaultLimit || len(sreq.Where) != 2 || sreq.Where[1].Op != tiers.OpBetween ||
		fmt.Sprint(sreq.Where[1].Values) != "[1 5]" || fmt.Sprint(sreq.Where[0].Values) != "[Retail Bank]" {
		t.Errorf("tier got %+v", sreq)
	}
	if _, isNum := sreq.Where[1].Values[0].(json.Number); !isNum {
		t.Errorf("numbers must reach the tier as json.Number, got %T", sreq.Where[1].Values[0])
	}

	// A last page has no next_page_token key at all.
	res = e.call(t, profAll, "get_accounts", `{"limit":200}`)
	if _, ok := structured(t, res)["next_page_token"]; ok {
		t.Error("next_page_token present on the last page")
	}
}

// TestErrorsForTheAgent: every failure class becomes an isError result with
// text an agent can act on, the route attached, and no Go error.
func TestErrorsForTheAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want []string
		not  []string
	}{
		{name: "zoho verdict", err: &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "NO_PERMISSION", Message: "permission denied", HTTPStatus: 403,
			Details: map[string]any{"permissions": []any{"Crm_Implied_View_Accounts"}, "secret_upstream_blob": "zzz"}},
			want: []string{"Zoho rejected account " + acct + ": NO_PERMISSION: permission denied", "ask a Zoho administrator"}, not: []string{"zzz"}},
		{name: "verdict details", err: &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "invalid data", Details: map[string]any{"api_name": "Phone", "expected_data_type": "phone"}},
			want: []string{"INVALID_DATA: invalid data", `api_name="Phone"`, `expected_data_type="phone"`, "check the field API names"}},
		{name: "tier down", err: &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "connection refused", Err: errors.New("dial tcp 127.0.0.1:1: connection refused")},
			want: []string{"no tier could serve get", "MCP", "retry"}},
		{name: "rate limited", err: &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassRateLimited, Code: "TOO_MANY_REQUESTS", Message: "too many requests"},
			want: []string{"Zoho rate limit reached; retry in about a minute or narrow the query"}},
		{name: "the proxy's own page-token verdict does not blame Zoho",
			err:  &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassVerdict, Code: "INVALID_PAGE_TOKEN", Message: "page_token is not valid for this query (not a token this server issued); start again without page_token"},
			want: []string{"page_token is not valid", "start again without page_token"}, not: []string{"Zoho rejected", "change the request"}},
		{name: "unclassified error is the tier being down", err: errors.New("EOF"),
			want: []string{"no tier could serve get", "MCP unavailable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 3)
			e.tier.Behave = tierstest.FailWith(tc.err)
			res := e.call(t, profAll, "get_account", `{"account_id":"`+acct+`"}`)
			if !res.IsError {
				t.Fatal("not an error result")
			}
			got := text(res)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("text lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("text leaks %q:\n%s", n, got)
				}
			}
			if r := routeOf(t, res); len(r.Attempts) == 0 || r.Attempts[0].Tier != tiers.MCP {
				t.Errorf("route = %+v", r)
			}
		})
	}
}

func TestDescribeCanceledAndUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	_ = e
	got := describe(context.Background(), discard(), "x", account("1"), context.DeadlineExceeded)
	if !strings.Contains(got, "canceled or ran out of time") {
		t.Errorf("deadline: %s", got)
	}
	got = describe(context.Background(), discard(), "x", account("1"), &tiers.Error{Class: tiers.ClassVerdict, Code: "NOT_FOUND"})
	if got != "no account with id 1; check the id (search_accounts finds accounts by name, email or phone)" {
		t.Errorf("not found: %s", got)
	}
	// A subject that names no record never has an id read out of its text.
	got = describe(context.Background(), discard(), "x", about("account 1 and friends"), &tiers.Error{Class: tiers.ClassVerdict, Code: "NOT_FOUND"})
	if got != "Zoho found nothing for account 1 and friends (NOT_FOUND); check the ids" {
		t.Errorf("not found without a record: %s", got)
	}
	got = describe(context.Background(), discard(), "x", account("1"), errors.New("token=abc"))
	if strings.Contains(got, "abc") || !strings.Contains(got, "logged") {
		t.Errorf("unknown error: %s", got)
	}
}

// TestFailoverRouteMeta: the route names the tier that served and why the
// others did not.
func TestFailoverRouteMeta(t *testing.T) {
	t.Parallel()
	down := newFakeTier(tiers.MCP, 3)
	down.Behave = tierstest.FailWith(&tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "connection refused"})
	e := newEnvWith(t, []*tierstest.Tier{down, newFakeTier(tiers.REST, 3)})
	res := e.call(t, profAll, "get_account", `{"account_id":"`+acct+`"}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	r := routeOf(t, res)
	if r.Tier != tiers.REST || len(r.Attempts) != 2 || r.Attempts[0].Tier != tiers.MCP || r.Attempts[0].Outcome != tiers.AttemptUnavailable ||
		r.Attempts[1].Tier != tiers.REST || r.Attempts[1].Outcome != tiers.AttemptSuccess {
		t.Errorf("route = %+v", r)
	}
	if !strings.Contains(text(res), "served by REST") {
		t.Errorf("text = %s", text(res))
	}
}

func TestUpdateAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	res := e.call(t, profAll, "update_account", `{"account_id":"`+acct+`","data":{"Phone":"+1 555","Rating":12345678901234567890},"trigger":[]}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	m := structured(t, res)
	if m["total"] != float64(1) || m["succeeded"] != float64(1) || m["failed"] != float64(0) {
		t.Errorf("totals = %v", m)
	}
	if r := m["results"].([]any)[0].(map[string]any); r["id"] != acct || r["status"] != "success" {
		t.Errorf("result = %v", r)
	}
	req := e.tier.Calls()[0].Req.(tiers.UpdateRequest)
	if req.Trigger == nil || len(req.Trigger) != 0 {
		t.Errorf("trigger [] must reach the tier as an empty non-nil slice, got %#v", req.Trigger)
	}
	if req.Data["Rating"] != json.Number("12345678901234567890") {
		t.Errorf("large number lost its digits: %#v", req.Data["Rating"])
	}
	if rec, _ := e.tier.Store.Get(acct, nil); rec["Phone"] != "+1 555" {
		t.Errorf("record not updated: %v", rec)
	}
}

func TestUpdateAccountVerdict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	e.tier.OnUpdate = func(_ context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
		err := &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "invalid data",
			Details: map[string]any{"api_name": "Phone"}}
		return tiers.Outcome{ID: req.ID, Status: tiers.StatusError, Code: err.Code, Message: err.Message}, err
	}
	res := e.call(t, profAll, "update_account", `{"account_id":"`+acct+`","data":{"Phone":"x"}}`)
	if !res.IsError {
		t.Fatal("verdict reported as success")
	}
	if got := text(res); !strings.Contains(got, "INVALID_DATA: invalid data") || !strings.Contains(got, `api_name="Phone"`) {
		t.Errorf("text = %s", got)
	}
	m := structured(t, res)
	r := m["results"].([]any)[0].(map[string]any)
	if r["status"] != "error" || r["code"] != "INVALID_DATA" || m["failed"] != float64(1) || m["succeeded"] != float64(0) {
		t.Errorf("structured = %v", m)
	}
}

func TestUpdateAccountOutcomeUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	e.tier.OnUpdate = func(_ context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
		return tiers.Outcome{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassOutcomeUnknown, Message: "timeout after sending"}
	}
	res := e.call(t, profAll, "update_account", `{"account_id":"`+acct+`","data":{"Phone":"x"}}`)
	if !res.IsError {
		t.Fatal("unknown outcome reported as success")
	}
	r := structured(t, res)["results"].([]any)[0].(map[string]any)
	if r["status"] != "error" || r["code"] != CodeOutcomeUnknown || !strings.Contains(r["message"].(string), "read it back") {
		t.Errorf("result = %v", r)
	}
}

func TestBulkUpdatePartialFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	ids := e.tier.Store.IDs()
	args := fmt.Sprintf(`{"updates":[{"id":%q,"data":{"Phone":"1"}},{"id":"999","data":{"Phone":"2"}},{"id":%q,"data":{"Phone":"3"}}],"trigger":["workflow"]}`, ids[0], ids[1])
	res := e.call(t, profAll, "bulk_update_accounts", args)
	if !res.IsError {
		t.Fatal("partial failure reported as success")
	}
	m := structured(t, res)
	if m["total"] != float64(3) || m["succeeded"] != float64(2) || m["failed"] != float64(1) || m["strategy"] != "fake-MCP" || m["calls"] != float64(1) {
		t.Errorf("totals = %v", m)
	}
	rs := m["results"].([]any)
	if len(rs) != 3 {
		t.Fatalf("%d results for 3 updates", len(rs))
	}
	wantStatus := []string{"success", "error", "success"}
	for i, r := range rs {
		r := r.(map[string]any)
		if r["status"] != wantStatus[i] {
			t.Errorf("result %d = %v", i, r)
		}
	}
	if bad := rs[1].(map[string]any); bad["id"] != "999" || bad["code"] != "INVALID_DATA" {
		t.Errorf("failed result = %v", bad)
	}
	got := text(res)
	if !strings.Contains(got, "2 of 3 accounts updated, 1 failed") || !strings.Contains(got, "999: INVALID_DATA") {
		t.Errorf("text = %s", got)
	}
	req := e.tier.Calls()[0].Req.(tiers.BulkUpdateRequest)
	if len(req.Updates) != 3 || !slices.Equal(req.Trigger, []string{"workflow"}) || req.Module != Module {
		t.Errorf("tier got %+v", req)
	}
}

func TestBulkUpdateAllSucceed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	ids := e.tier.Store.IDs()
	res := e.call(t, profAll, "bulk_update_accounts", fmt.Sprintf(`{"updates":[{"id":%q,"data":{"Phone":"1"}},{"id":%q,"data":{"Phone":"2"}}]}`, ids[0], ids[1]))
	if res.IsError {
		t.Fatal(text(res))
	}
	if m := structured(t, res); m["succeeded"] != float64(2) || m["failed"] != float64(0) {
		t.Errorf("totals = %v", m)
	}
}

// TestBulkUpdateTierDown: no record is silently dropped when the tier fails;
// every one is reported, as not sent.
func TestBulkUpdateTierDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	e.tier.Behave = tierstest.FailWith(&tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "connection refused"})
	res := e.call(t, profAll, "bulk_update_accounts", `{"updates":[{"id":"1","data":{"A":1}},{"id":"2","data":{"A":2}}]}`)
	if !res.IsError {
		t.Fatal("failure reported as success")
	}
	m := structured(t, res)
	if m["failed"] != float64(2) || len(m["results"].([]any)) != 2 {
		t.Fatalf("structured = %v", m)
	}
	for _, r := range m["results"].([]any) {
		if r.(map[string]any)["code"] != CodeNotSent {
			t.Errorf("result = %v", r)
		}
	}
	if !strings.Contains(text(res), "no tier could serve") {
		t.Errorf("text = %s", text(res))
	}
}

func TestScopeGuard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	tests := []struct {
		name, tool string
		prof       *permissions.Profile
		want       string
	}{
		{name: "reader cannot update", tool: "update_account", prof: profReader, want: `profile "reader" lacks the scopes [write]`},
		{name: "reader cannot bulk read", tool: "bulk_read_accounts", prof: profReader, want: "lacks the scopes [bulk read]"},
		{name: "no profile", tool: "get_account", prof: nil, want: "carries no permission profile"},
		{name: "default profile cannot reset", tool: "reset_circuit_breakers", prof: permissions.Default().DefaultProfile(), want: "lacks the scopes [admin]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.call(t, tc.prof, tc.tool, `{"account_id":"`+acct+`","data":{"A":1}}`)
			if !res.IsError || !strings.Contains(text(res), tc.want) {
				t.Errorf("got %v %q", res.IsError, text(res))
			}
		})
	}
	if n := len(e.tier.Calls()); n != 0 {
		t.Errorf("tier received %d calls", n)
	}
}

func TestMonitorTools(t *testing.T) {
	t.Parallel()
	down := newFakeTier(tiers.MCP, 3)
	down.Behave = tierstest.FailWith(&tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "connection refused"})
	e := newEnvWith(t, []*tierstest.Tier{down, newFakeTier(tiers.REST, 3)})
	for range 6 { // open MCP's breaker (threshold 5)
		e.call(t, profAll, "get_account", `{"account_id":"`+acct+`"}`)
	}
	res := e.call(t, profAll, "get_tier_health", `{}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	ts := structured(t, res)["tiers"].([]any)
	if len(ts) != 2 || ts[0].(map[string]any)["circuit_breaker"].(map[string]any)["state"] != "open" {
		t.Fatalf("health = %v", ts)
	}
	if !strings.HasPrefix(text(res), "Tiers: MCP open, REST closed.") {
		t.Errorf("text = %s", text(res))
	}

	res = e.call(t, profAll, "get_tier_metrics", `{}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	ms := structured(t, res)["tiers"].([]any)
	mcpm := ms[0].(map[string]any)
	if mcpm["tier"] != "MCP" || mcpm["failed_requests"].(float64) < 5 || mcpm["top_errors"] == nil {
		t.Errorf("metrics = %v", mcpm)
	}

	res = e.call(t, profAll, "reset_circuit_breakers", `{}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	ts = structured(t, res)["tiers"].([]any)
	if ts[0].(map[string]any)["circuit_breaker"].(map[string]any)["state"] != "closed" {
		t.Errorf("after reset = %v", ts)
	}
}

// TestMetricsBeforeAnyCall: an idle tier's metrics still match the schema
// (no null maps, no NaN).
func TestMetricsBeforeAnyCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	res := e.call(t, profAll, "get_tier_metrics", `{}`)
	if res.IsError {
		t.Fatal(text(res))
	}
}

func TestResultMetaOnTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	res := e.call(t, profAll, "get_account", `{"account_id":"`+acct+`"}`)
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back mcp.CallToolResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	m, ok := back.Meta.GetMetaField(tiers.RouteMetaKey).(map[string]any)
	if !ok || m["tier"] != "MCP" || m["duration_ms"] == nil {
		t.Errorf("_meta after a round trip = %s", b)
	}
}

func TestGetAccountsMissingIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	res := e.call(t, profAll, "get_accounts", `{"ids":["`+acct+`","42","43"]}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	if m := structured(t, res); m["count"] != float64(1) {
		t.Errorf("count = %v", m["count"])
	}
	if !strings.Contains(text(res), "2 of the 3 ids matched no account: 42, 43.") {
		t.Errorf("text = %s", text(res))
	}
}
