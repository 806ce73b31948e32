package zohosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGetOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	rec, _ := e.s.Store().Get(id(7))
	full, _ := json.Marshal(map[string]any{"data": []Record{rec}})
	tests := []struct {
		name, method, path string
		status             int
		want               string
	}{
		{"full record", "GET", "/crm/v8/Accounts/" + id(7), 200, string(full)},
		{"fields", "GET", "/crm/v8/Accounts/" + id(7) + "?fields=Phone,Email", 200,
			`{"data":[{"id":"` + id(7) + `","Phone":"+1 555 0007","Email":"contact@acct7.example.com"}]}`},
		{"unknown id", "GET", "/crm/v8/Accounts/5725767000009999999", 204, ""},
		{"malformed id", "GET", "/crm/v8/Accounts/12ab", 400,
			`{"code":"INVALID_DATA","details":{"resource_path_index":1},"message":"the id given seems to be invalid","status":"error"}`},
		{"unknown field", "GET", "/crm/v8/Accounts/" + id(7) + "?fields=Nope", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"fields","api_name":"Nope"},"message":"the field api name given seems to be invalid","status":"error"}`},
		{"unknown module", "GET", "/crm/v8/Widgets/" + id(7), 400,
			`{"code":"INVALID_MODULE","details":{"resource_path_index":0},"message":"the module name given seems to be invalid","status":"error"}`},
		{"module names are case-sensitive", "GET", "/crm/v8/accounts/" + id(7), 400,
			`{"code":"INVALID_MODULE","details":{"resource_path_index":0},"message":"the module name given seems to be invalid","status":"error"}`},
		{"another module's id", "GET", "/crm/v8/Leads/" + id(7), 204, ""},
		{"module the API does not serve", "GET", "/crm/v8/Home", 400,
			`{"code":"NOT_SUPPORTED","details":{"resource_path_index":0},"message":"The given module is not supported in API","status":"error"}`},
		{"wrong verb", "DELETE", "/crm/v8/Accounts/" + id(7), 400,
			`{"code":"INVALID_REQUEST_METHOD","details":{"resource_path_index":1},"message":"The http request method type is not a valid one","status":"error"}`},
		{"unknown path", "GET", "/crm/v8/Accounts/" + id(7) + "/Notes/x", 404,
			`{"code":"INVALID_URL_PATTERN","details":{},"message":"Please check if the URL trying to access is a correct one","status":"error"}`},
		{"outside the API", "GET", "/favicon.ico", 404,
			`{"code":"INVALID_URL_PATTERN","details":{},"message":"Please check if the URL trying to access is a correct one","status":"error"}`},
		{"org", "GET", "/crm/v8/org", 200, ""},
		{"org wrong verb", "POST", "/crm/v8/org", 400,
			`{"code":"INVALID_REQUEST_METHOD","details":{"resource_path_index":0},"message":"The http request method type is not a valid one","status":"error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, tc.method, e.s.RESTURL()+tc.path, e.tok, "")
			assertReply(t, r, tc.status, tc.want)
			if tc.status < 300 && r.header.Get("Content-Type") != "application/json;charset=UTF-8" && tc.status != 204 {
				t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
			}
		})
	}
}

func TestOrg(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Seed: 7})
	var body struct {
		Org []map[string]any `json:"org"`
	}
	if err := json.Unmarshal(e.get(t, "/crm/v8/org").body, &body); err != nil || len(body.Org) != 1 {
		t.Fatalf("org: %v %v", err, body)
	}
	o := body.Org[0]
	if o["zgid"] != e.s.OrgID() || o["id"] != e.s.OrgID() || o["company_name"] == "" {
		t.Fatalf("org %v, want zgid %s", o, e.s.OrgID())
	}
}

func TestGetOneServesBothAPIListeners(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	bt := mintToken(t, e.s, e.s.BulkCredential())
	r := call(t, http.MethodGet, e.s.BulkURL()+"/crm/v8/Accounts/"+id(3)+"?fields=Phone", bt, "")
	assertReply(t, r, 200, `{"data":[{"id":"`+id(3)+`","Phone":"+1 555 0003"}]}`)
	reqs := e.s.Requests()
	if last := reqs[len(reqs)-1]; last.Surface != SurfaceBulk || last.Path != "/crm/v8/Accounts/"+id(3) {
		t.Fatalf("last logged request %+v, want the bulk surface", last)
	}
}

type listPage struct {
	Data []map[string]any `json:"data"`
	Info map[string]any   `json:"info"`
}

func decodePage(t testing.TB, r reply) listPage {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var p listPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestListInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := decodePage(t, e.get(t, "/crm/v8/Accounts?fields=Account_Name,Phone"))
	if len(p.Data) != 200 || p.Data[0]["id"] != id(499) || p.Data[199]["id"] != id(300) {
		t.Fatalf("first page: %d rows from %v to %v, want 200 from the highest id down", len(p.Data), p.Data[0]["id"], p.Data[len(p.Data)-1]["id"])
	}
	if len(p.Data[0]) != 3 {
		t.Fatalf("row keys %v, want id, Account_Name, Phone", p.Data[0])
	}
	next, _ := p.Info["next_page_token"].(string)
	if next == "" || len(next) > 96 {
		t.Fatalf("next_page_token %q", next)
	}
	want := map[string]any{"call": false, "per_page": float64(200), "count": float64(200), "page": float64(1),
		"sort_by": "id", "sort_order": "desc", "email": false, "more_records": true, "next_page_token": next,
		"previous_page_token": nil, "page_token_expiry": formatTime(e.clock.Now().Add(24 * time.Hour))}
	got, _ := json.Marshal(p.Info)
	wantJSON, _ := json.Marshal(want)
	assertJSON(t, got, string(wantJSON))

	last := decodePage(t, e.get(t, "/crm/v8/Accounts?fields=Account_Name&page=3"))
	lj, _ := json.Marshal(last.Info)
	if len(last.Data) != 100 || last.Info["more_records"] != false || last.Info["next_page_token"] != nil ||
		last.Info["page_token_expiry"] != nil || last.Info["previous_page_token"] == nil || last.Info["page"] != float64(3) {
		t.Fatalf("last page: %d rows, info %s", len(last.Data), lj)
	}
}

func TestListErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	var allFields []string
	for _, f := range AccountFields {
		allFields = append(allFields, f.APIName)
	}
	// Repeated names collapse: 2×37 names are 37 distinct fields.
	repeated := strings.Join(append(allFields, allFields...), ",")
	ids101 := make([]string, 101)
	for i := range ids101 {
		ids101[i] = id(i)
	}
	page2 := decodePage(t, e.get(t, "/crm/v8/Accounts?fields=Phone&sort_by=Modified_Time"))
	modToken := page2.Info["next_page_token"].(string)
	forged := e.s.pageTokens.encode(pageToken{offset: 100_000, sortBy: "id", desc: true,
		expiry: e.clock.Now().Add(time.Hour), idsHash: hashString(""), scope: listScope(accounts)})
	tests := []struct {
		name, query string
		status      int
		want        string
	}{
		{"fields missing", "", 400,
			`{"code":"REQUIRED_PARAM_MISSING","details":{"param_name":"fields"},"message":"One of the expected parameter is missing","status":"error"}`},
		{"fields empty", "fields=", 400,
			`{"code":"REQUIRED_PARAM_MISSING","details":{"param_name":"fields"},"message":"One of the expected parameter is missing","status":"error"}`},
		{"repeated fields collapse", "fields=" + url.QueryEscape(repeated) + "&per_page=1", 200, ""},
		{"51 fields", "fields=" + url.QueryEscape(fieldList(51)), 400,
			`{"code":"LIMIT_EXCEEDED","details":{"limit":50,"param_name":"fields"},"message":"the number of fields exceeds the limit of 50","status":"error"}`},
		{"unknown field", "fields=Phone,Nope", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"fields","api_name":"Nope"},"message":"the field api name given seems to be invalid","status":"error"}`},
		{"per_page 0", "fields=Phone&per_page=0", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"per_page"},"message":"the per_page given seems to be invalid; it must be between 1 and 200","status":"error"}`},
		{"per_page 201", "fields=Phone&per_page=201", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"per_page"},"message":"the per_page given seems to be invalid; it must be between 1 and 200","status":"error"}`},
		{"per_page text", "fields=Phone&per_page=ten", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"per_page","expected_data_type":"integer"},"message":"the per_page given seems to be invalid; send an integer","status":"error"}`},
		{"page 0", "fields=Phone&page=0", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"page"},"message":"the page given seems to be invalid; it must be between 1 and 1073741824","status":"error"}`},
		{"page 10 of 200 is the last discrete page", "fields=Phone&page=10&per_page=200", 204, ""},
		{"page 11 of 200", "fields=Phone&page=11", 400,
			`{"code":"DISCRETE_PAGINATION_LIMIT_EXCEEDED","details":{"limit":2000},"message":"You can only get the first 2000 records without using page_token param","status":"error"}`},
		{"page 21 of 100", "fields=Phone&page=21&per_page=100", 400,
			`{"code":"DISCRETE_PAGINATION_LIMIT_EXCEEDED","details":{"limit":2000},"message":"You can only get the first 2000 records without using page_token param","status":"error"}`},
		{"sort_by", "fields=Phone&sort_by=Account_Name", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"sort_by","supported_values":["id","Created_Time","Modified_Time"]},"message":"the sort_by given seems to be invalid","status":"error"}`},
		{"sort_order", "fields=Phone&sort_order=up", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"sort_order","supported_values":["asc","desc"]},"message":"the sort_order given seems to be invalid","status":"error"}`},
		{"101 ids", "fields=Phone&ids=" + strings.Join(ids101, ","), 400,
			`{"code":"LIMIT_EXCEEDED","details":{"limit":100,"param_name":"ids"},"message":"the number of ids exceeds the limit of 100","status":"error"}`},
		{"bad id in ids", "fields=Phone&ids=1,x", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"ids","id":"x"},"message":"the id given seems to be invalid","status":"error"}`},
		{"unknown ids", "fields=Phone&ids=1,2", 204, ""},
		{"page with page_token", "fields=Phone&page=2&page_token=" + modToken, 400,
			`{"code":"AMBIGUITY_DURING_PROCESSING","details":{"ambiguity_due_to":["page","page_token"]},"message":"page and page_token cannot be given together","status":"error"}`},
		{"garbage page_token", "fields=Phone&page_token=abc", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"page_token"},"message":"the page_token given seems to be invalid","status":"error"}`},
		{"page_token for another sort", "fields=Phone&sort_by=id&page_token=" + modToken, 400,
			`{"code":"TOKEN_BOUND_DATA_MISMATCH","details":{"param_name":"sort_by"},"message":"the page_token was issued for other parameters","status":"error"}`},
		{"page_token for other ids", "fields=Phone&ids=" + id(1) + "&page_token=" + modToken, 400,
			`{"code":"TOKEN_BOUND_DATA_MISMATCH","details":{"param_name":"ids"},"message":"the page_token was issued for other parameters","status":"error"}`},
		{"page_token past 100000", "fields=Phone&page_token=" + forged, 400,
			`{"code":"PAGINATION_LIMIT_EXCEEDED","details":{"param_name":"page_token"},"message":"You can only get upto 100000 records using page_token param","status":"error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertReply(t, e.get(t, "/crm/v8/Accounts?"+tc.query), tc.status, tc.want)
		})
	}
}

// fieldList returns n comma-separated distinct field names (made-up ones
// beyond the registry, which the 50-field check rejects first).
func fieldList(n int) string {
	out := make([]string, n)
	for i := range out {
		if i < len(AccountFields) {
			out[i] = AccountFields[i].APIName
		} else {
			out[i] = fmt.Sprintf("Custom_%d", i)
		}
	}
	return strings.Join(out, ",")
}

func TestPageTokenExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := decodePage(t, e.get(t, "/crm/v8/Accounts?fields=Phone"))
	tok := p.Info["next_page_token"].(string)
	e.clock.Advance(24 * time.Hour)
	e.tok = mintToken(t, e.s, e.s.RESTCredential())
	assertReply(t, e.get(t, "/crm/v8/Accounts?fields=Phone&page_token="+tok), 400,
		`{"code":"EXPIRED_VALUE","details":{"api_name":"page_token","json_path":"$.page_token"},"message":"the page_token given has expired","status":"error"}`)
}

func TestPageTokenChain(t *testing.T) {
	t.Parallel()
	const n = 2_450
	e := newEnv(t, Options{Accounts: n})
	for _, order := range []string{"asc", "desc"} {
		t.Run(order, func(t *testing.T) {
			seen := map[any]bool{}
			var prev string
			q := "/crm/v8/Accounts?fields=Account_Name&sort_order=" + order
			pages := 0
			for {
				p := decodePage(t, e.get(t, q))
				pages++
				for _, row := range p.Data {
					rid := row["id"].(string)
					if seen[rid] {
						t.Fatalf("id %s twice", rid)
					}
					if prev != "" && (order == "asc") != (rid > prev) {
						t.Fatalf("%s after %s in %s order", rid, prev, order)
					}
					seen[rid], prev = true, rid
				}
				if pages > 1 && p.Info["previous_page_token"] == nil {
					t.Fatalf("page %d without previous_page_token", pages)
				}
				if p.Info["more_records"] == false {
					if p.Info["next_page_token"] != nil {
						t.Fatal("last page has a next_page_token")
					}
					break
				}
				q = "/crm/v8/Accounts?fields=Account_Name&page_token=" + p.Info["next_page_token"].(string)
			}
			if len(seen) != n || pages != 13 {
				t.Fatalf("%d records in %d pages, want %d in 13", len(seen), pages, n)
			}
		})
	}
}

func TestListSortAndIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := decodePage(t, e.get(t, "/crm/v8/Accounts?fields=Modified_Time&sort_by=Modified_Time&sort_order=asc&per_page=200"))
	for i := 1; i < len(p.Data); i++ {
		if p.Data[i-1]["Modified_Time"].(string) > p.Data[i]["Modified_Time"].(string) &&
			p.Data[i-1]["Modified_Time"].(string)[:19] > p.Data[i]["Modified_Time"].(string)[:19] {
			t.Fatalf("not ascending at %d: %v > %v", i, p.Data[i-1], p.Data[i])
		}
	}
	// A write moves the record to the end of the Modified_Time order.
	first := p.Data[0]["id"].(string)
	assertReply(t, e.put(t, "/crm/v8/Accounts/"+first, `{"data":[{"Phone":"+1 555 9999"}]}`), 200, "")
	q := decodePage(t, e.get(t, "/crm/v8/Accounts?fields=Phone&sort_by=Modified_Time&sort_order=desc&per_page=1"))
	if q.Data[0]["id"] != first {
		t.Fatalf("most recently modified is %v, want %s", q.Data[0]["id"], first)
	}
	ids := decodePage(t, e.get(t, "/crm/v8/Accounts?fields=Phone&ids="+id(3)+",1,"+id(9)))
	if len(ids.Data) != 2 || ids.Data[0]["id"] != id(9) || ids.Data[1]["id"] != id(3) || ids.Info["more_records"] != false {
		t.Fatalf("ids: %+v", ids)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	now := formatTime(e.clock.Now())
	created := func(i int) string { r, _ := e.s.Store().Get(id(i)); return r["Created_Time"].(string) }
	success := func(i int) string {
		return `{"code":"SUCCESS","details":{"Modified_Time":"` + now + `","Modified_By":{"name":"Patricia Boyle","id":"5725767000000411001"},` +
			`"Created_Time":"` + created(i) + `","id":"` + id(i) + `","Created_By":{"name":"Patricia Boyle","id":"5725767000000411001"},` +
			`"$approval_state":"approved"},"message":"record updated","status":"success"}`
	}
	hundredOne := make([]string, 101)
	for i := range hundredOne {
		hundredOne[i] = `{"id":"` + id(i) + `","Phone":"1"}`
	}
	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"all updated", "/crm/v8/Accounts",
			`{"data":[{"id":"` + id(1) + `","Phone":"+1 555 1111","Employees":12},{"id":"` + id(2) + `","Account_Name":"Renamed (2), Ltd"}],"trigger":["workflow"]}`,
			200, `{"data":[` + success(1) + `,` + success(2) + `]}`},
		{"single form", "/crm/v8/Accounts/" + id(3), `{"data":[{"Industry":"Retail","Annual_Revenue":1250000.5}],"trigger":[]}`,
			200, `{"data":[` + success(3) + `]}`},
		{"mixed results", "/crm/v8/Accounts",
			`{"data":[{"id":"` + id(4) + `","Phone":"1"},` +
				`{"id":"` + id(5) + `","Bogus":"x"},` +
				`{"id":"5725767000009999999","Phone":"1"},` +
				`{"Phone":"1"},` +
				`{"id":"` + id(6) + `","Created_Time":"2026-01-01T00:00:00+00:00"},` +
				`{"id":"` + id(7) + `","Employees":"many"},` +
				`{"id":"` + id(8) + `","Industry":"Space"},` +
				`{"id":"` + id(9) + `","Account_Name":null},` +
				`{"id":"` + id(10) + `","Owner":{"id":"1"}},` +
				`"not an object"]}`,
			207, `{"data":[` + success(4) + `,` +
				`{"code":"INVALID_DATA","details":{"api_name":"Bogus","json_path":"$.data[1].Bogus"},"message":"the field api name given seems to be invalid","status":"error"},` +
				`{"code":"INVALID_DATA","details":{"id":"5725767000009999999"},"message":"the id given seems to be invalid","status":"error"},` +
				`{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"id","json_path":"$.data[3].id"},"message":"required field not found","status":"error"},` +
				`{"code":"INVALID_DATA","details":{"api_name":"Created_Time","json_path":"$.data[4].Created_Time"},"message":"the field is read only and cannot be updated","status":"error"},` +
				`{"code":"INVALID_DATA","details":{"api_name":"Employees","json_path":"$.data[5].Employees","expected_data_type":"integer"},"message":"invalid data","status":"error"},` +
				`{"code":"INVALID_DATA","details":{"api_name":"Industry","json_path":"$.data[6].Industry","supported_values":["-None-","Banking","Communications","Consulting","Education","Government","Healthcare","Manufacturing","Retail","Technology","Transportation"]},"message":"invalid data","status":"error"},` +
				`{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Account_Name","json_path":"$.data[7].Account_Name"},"message":"required field not found","status":"error"},` +
				`{"code":"INVALID_DATA","details":{"api_name":"Owner","json_path":"$.data[8].Owner","expected_data_type":"ownerlookup","id":"1"},"message":"invalid data","status":"error"},` +
				`{"code":"INVALID_DATA","details":{"json_path":"$.data[9]","expected_data_type":"jsonobject"},"message":"invalid data","status":"error"}]}`},
		{"all failed", "/crm/v8/Accounts", `{"data":[{"id":"` + id(11) + `","Nope":1}]}`, 400,
			`{"data":[{"code":"INVALID_DATA","details":{"api_name":"Nope","json_path":"$.data[0].Nope"},"message":"the field api name given seems to be invalid","status":"error"}]}`},
		{"single unknown id", "/crm/v8/Accounts/5725767000009999999", `{"data":[{"Phone":"1"}]}`, 400,
			`{"data":[{"code":"INVALID_DATA","details":{"id":"5725767000009999999"},"message":"the id given seems to be invalid","status":"error"}]}`},
		{"101 records", "/crm/v8/Accounts", `{"data":[` + strings.Join(hundredOne, ",") + `]}`, 400,
			`{"code":"LIMIT_EXCEEDED","details":{"api_name":"data","json_path":"$.data","limit":100},"message":"the number of records exceeds the limit of 100","status":"error"}`},
		{"no data", "/crm/v8/Accounts", `{"trigger":[]}`, 400,
			`{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"data","json_path":"$.data"},"message":"required field not found","status":"error"}`},
		{"empty data", "/crm/v8/Accounts", `{"data":[]}`, 400,
			`{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"data","json_path":"$.data"},"message":"required field not found","status":"error"}`},
		{"data not an array", "/crm/v8/Accounts", `{"data":{"id":"1"}}`, 400,
			`{"code":"INVALID_DATA","details":{"api_name":"data","json_path":"$.data","expected_data_type":"jsonarray"},"message":"data must be a JSON array of records","status":"error"}`},
		{"malformed JSON", "/crm/v8/Accounts", `{"data":[{"id":`, 400,
			`{"code":"INVALID_DATA","details":{"expected_data_type":"jsonobject"},"message":"the request body is not a valid JSON object","status":"error"}`},
		{"bad trigger", "/crm/v8/Accounts", `{"data":[{"id":"` + id(12) + `"}],"trigger":["everything"]}`, 400,
			`{"code":"INVALID_DATA","details":{"api_name":"trigger","json_path":"$.trigger","supported_values":["approval","workflow","blueprint","pathfinder","orchestration"]},"message":"the trigger given seems to be invalid","status":"error"}`},
		{"two records on the single form", "/crm/v8/Accounts/" + id(13), `{"data":[{"Phone":"1"},{"Phone":"2"}]}`, 400,
			`{"code":"LIMIT_EXCEEDED","details":{"limit":1,"api_name":"data","json_path":"$.data"},"message":"only one record can be updated through this URL","status":"error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertReply(t, e.put(t, tc.path, tc.body), tc.status, tc.want)
		})
	}
	// Successful writes changed the store and were counted; failed ones did not.
	r1, _ := e.s.Store().Get(id(1))
	r2, _ := e.s.Store().Get(id(2))
	r3, _ := e.s.Store().Get(id(3))
	if r1["Phone"] != "+1 555 1111" || r1["Employees"] != int64(12) || r2["Account_Name"] != "Renamed (2), Ltd" ||
		r3["Industry"] != "Retail" || r3["Annual_Revenue"] != 1250000.5 || r1["Modified_Time"] != now {
		t.Fatalf("store not updated: %v / %v / %v", r1, r2, r3)
	}
	for i, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 1, 5: 0, 7: 0, 11: 0, 12: 0} {
		if got := e.s.RecordWrites(id(i)); got != want {
			t.Errorf("RecordWrites(%d) = %d, want %d", i, got, want)
		}
	}
}

func TestUpdateIfUnmodifiedSince(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	assertReply(t, e.put(t, "/crm/v8/Accounts/"+id(20), `{"data":[{"Phone":"1"}]}`), 200, "")
	before := e.clock.Now().Add(-time.Hour)
	stale := `{"code":"ALREADY_MODIFIED","details":{"id":"` + id(20) + `"},"message":"record updated time has already passed if-unmodified-since time","status":"error"}`
	tests := []struct {
		name, header, body string
		status             int
	}{
		{"older than Modified_Time (ISO)", formatTime(before), `{"data":[{"id":"` + id(20) + `","Phone":"2"}]}`, 412},
		{"older than Modified_Time (HTTP date)", before.Format(http.TimeFormat), `{"data":[{"id":"` + id(20) + `","Phone":"2"}]}`, 412},
		{"one stale, one fresh", formatTime(before), `{"data":[{"id":"` + id(20) + `","Phone":"2"},{"id":"` + id(0) + `","Phone":"2"}]}`, 207},
		{"not older", formatTime(e.clock.Now()), `{"data":[{"id":"` + id(20) + `","Phone":"3"}]}`, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.put(t, "/crm/v8/Accounts", tc.body, "If-Unmodified-Since", tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 412 {
				assertJSON(t, r.body, `{"data":[`+stale+`]}`)
			}
		})
	}
	assertReply(t, e.put(t, "/crm/v8/Accounts", `{"data":[{"id":"`+id(20)+`"}]}`, "If-Unmodified-Since", "yesterday"), 400,
		`{"code":"INVALID_DATA","details":{"header_name":"If-Unmodified-Since"},"message":"the If-Unmodified-Since header must be an ISO-8601 datetime","status":"error"}`)
	if r, _ := e.s.Store().Get(id(20)); r["Phone"] != "3" {
		t.Fatalf("Phone %v, want 3 (412s change nothing)", r["Phone"])
	}
}

func TestUpdateValueTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	tests := []struct {
		name, field, value string
		ok                 bool
		stored             any
	}{
		{"text", "Billing_City", `"Zürich"`, true, "Zürich"},
		{"text too long", "Billing_City", `"` + strings.Repeat("x", 256) + `"`, false, nil},
		{"text as number", "Billing_City", `5`, false, nil},
		{"null clears", "Description", `null`, true, nil},
		{"email", "Email", `"a@b.example"`, true, "a@b.example"},
		{"bad email", "Email", `"not-an-email"`, false, nil},
		{"integer", "Employees", `42`, true, int64(42)},
		{"integer with fraction", "Employees", `4.5`, false, nil},
		{"bigint as string", "Account_Number", `"12345678901"`, true, int64(12345678901)},
		{"currency", "Annual_Revenue", `99.5`, true, 99.5},
		{"currency as string", "Annual_Revenue", `"99.5"`, false, nil},
		{"picklist", "Rating", `"Active"`, true, "Active"},
		{"owner", "Owner", `{"id":"5725767000000411002"}`, true, nil},
		{"parent account", "Parent_Account", `{"id":"` + id(1) + `"}`, true, nil},
		{"parent account unknown", "Parent_Account", `{"id":"5725767000009999999"}`, false, nil},
		{"lookup as string", "Parent_Account", `"x"`, false, nil},
		{"read-only boolean", "Locked__s", `true`, false, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rid := id(100 + i)
			r := e.put(t, "/crm/v8/Accounts", `{"data":[{"id":"`+rid+`","`+tc.field+`":`+tc.value+`}]}`)
			if (r.status == 200) != tc.ok {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if !tc.ok {
				var body struct {
					Data []updateResult `json:"data"`
				}
				_ = json.Unmarshal(r.body, &body)
				if len(body.Data) != 1 || body.Data[0].Code != "INVALID_DATA" || body.Data[0].Details["api_name"] != tc.field ||
					body.Data[0].Details["json_path"] != "$.data[0]."+tc.field {
					t.Fatalf("error element %s", r.body)
				}
				return
			}
			rec, _ := e.s.Store().Get(rid)
			if tc.stored != nil && rec[tc.field] != tc.stored {
				t.Fatalf("stored %#v, want %#v", rec[tc.field], tc.stored)
			}
		})
	}
	rec, _ := e.s.Store().Get(id(100 + 13))
	if p, _ := rec["Parent_Account"].(Record); p["id"] != id(1) || p["name"] != "Zylker Corp 1" {
		t.Fatalf("Parent_Account stored as %v", rec["Parent_Account"])
	}
}
