package zohosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "/crm/v8/Accounts/search?" + v.Encode()
	}
	tests := []struct {
		name    string
		path    string
		status  int
		want    string   // exact body when set
		wantIDs []string // ids in order when set
	}{
		{name: "no search param", path: q("fields", "Phone"), status: 400,
			want: `{"code":"EXPECTED_PARAM_MISSING","details":{"param_names":["criteria","email","phone","word"]},"message":"One of the expected parameter is missing","status":"error"}`},
		{name: "email", path: q("email", "contact@acct7.example.com", "fields", "Email"), status: 200,
			want: `{"data":[{"id":"` + id(7) + `","Email":"contact@acct7.example.com"}],"info":{"per_page":200,"count":1,"page":1,"sort_by":"id","sort_order":"desc","more_records":false}}`},
		{name: "email case-insensitive", path: q("email", "CONTACT@acct7.example.com"), status: 200, wantIDs: []string{id(7)}},
		{name: "bad email", path: q("email", "nope"), status: 400,
			want: `{"code":"INVALID_DATA","details":{"param_name":"email"},"message":"the email given seems to be invalid","status":"error"}`},
		{name: "phone ignores formatting", path: q("phone", "(555) 0042"), status: 200, wantIDs: []string{id(42)}},
		{name: "phone too short", path: q("phone", "55"), status: 400,
			want: `{"code":"INVALID_DATA","details":{"param_name":"phone"},"message":"the phone given seems to be invalid; send at least 3 characters of digits, spaces, -, (, ), + or .","status":"error"}`},
		{name: "phone with letters", path: q("phone", "555-CALL"), status: 400},
		{name: "word", path: q("word", "acct123.example"), status: 200, wantIDs: []string{id(123)}},
		{name: "word of one character", path: q("word", "a"), status: 400,
			want: `{"code":"INVALID_DATA","details":{"param_name":"word"},"message":"the word given must have at least 2 characters","status":"error"}`},
		{name: "criteria", path: q("criteria", "((Account_Name:starts_with:Hooli) and (Employees:greater_than:4000))", "per_page", "3", "sort_order", "asc"),
			status: 200},
		{name: "criteria beats word", path: q("criteria", "(Email:equals:contact@acct9.example.com)", "word", "zz-no-such-word"),
			status: 200, wantIDs: []string{id(9)}},
		{name: "email beats phone and word", path: q("email", "contact@acct8.example.com", "phone", "x", "word", "y"),
			status: 200, wantIDs: []string{id(8)}},
		{name: "criteria syntax error", path: q("criteria", "(Account_Name:equals"), status: 400},
		{name: "nothing matches", path: q("word", "zz-no-such-word"), status: 204},
		{name: "per_page 201", path: q("word", "example", "per_page", "201"), status: 400,
			want: `{"code":"INVALID_DATA","details":{"param_name":"per_page"},"message":"the per_page given seems to be invalid; it must be between 1 and 200","status":"error"}`},
		{name: "past 2,000", path: q("word", "example", "page", "11"), status: 400,
			want: `{"code":"LIMIT_REACHED","details":{"limit":"2000"},"message":"maximum response iteration limit reached","status":"error"}`},
		{name: "bad sort_by", path: q("word", "example", "sort_by", "Phone"), status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.get(t, tc.path)
			assertReply(t, r, tc.status, tc.want)
			if tc.wantIDs != nil {
				p := decodePage(t, r)
				var got []string
				for _, row := range p.Data {
					got = append(got, row["id"].(string))
				}
				if len(got) != len(tc.wantIDs) {
					t.Fatalf("ids %v, want %v", got, tc.wantIDs)
				}
				for i := range got {
					if got[i] != tc.wantIDs[i] {
						t.Fatalf("ids %v, want %v", got, tc.wantIDs)
					}
				}
			}
		})
	}
}

func TestSearchCriteriaMatchesStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	crit := "((Account_Name:starts_with:Hooli) and (Employees:greater_than:2000))"
	var want []string
	e.s.Store().Each(func(r Record) bool {
		if len(r["Account_Name"].(string)) >= 5 && r["Account_Name"].(string)[:5] == "Hooli" && r["Employees"].(int64) > 2000 {
			want = append(want, r["id"].(string))
		}
		return true
	})
	if len(want) < 2 {
		t.Fatalf("seed gives %d matches; pick another criteria", len(want))
	}
	p := decodePage(t, e.get(t, "/crm/v8/Accounts/search?sort_order=asc&criteria="+url.QueryEscape(crit)))
	if len(p.Data) != len(want) || p.Info["count"] != float64(len(want)) {
		t.Fatalf("%d rows, want %d", len(p.Data), len(want))
	}
	for i, row := range p.Data {
		if row["id"] != want[i] {
			t.Fatalf("row %d = %v, want %s", i, row["id"], want[i])
		}
	}
}

func TestSearchPagingToTheCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 2_300})
	seen := map[string]bool{}
	for page := 1; page <= 10; page++ {
		p := decodePage(t, e.get(t, "/crm/v8/Accounts/search?word=example.com&fields=Phone&page="+itoa(page)))
		for _, row := range p.Data {
			seen[row["id"].(string)] = true
		}
		if p.Info["more_records"] != true {
			t.Fatalf("page %d: more_records false with 2,300 matches", page)
		}
	}
	if len(seen) != 2000 {
		t.Fatalf("%d distinct records in 10 pages, want 2000", len(seen))
	}
	// per_page 150: page 14 is cut at the 2,000th record.
	p := decodePage(t, e.get(t, "/crm/v8/Accounts/search?word=example.com&fields=Phone&per_page=150&page=14"))
	if len(p.Data) != 50 {
		t.Fatalf("page 14 of 150: %d rows, want 50 (the cap is 2,000)", len(p.Data))
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestCOQLEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 3000})
	post := func(body string) reply {
		return call(t, http.MethodPost, e.s.RESTURL()+"/crm/v8/coql", e.tok, body)
	}
	tests := []struct {
		name    string
		body    string
		status  int
		want    string
		credits int
		rows    int
		more    bool
	}{
		{name: "rows and info", body: `{"select_query":"select Account_Name from Accounts where id = '` + id(5) + `'"}`, status: 200,
			want: `{"data":[{"id":"` + id(5) + `","Account_Name":"Stark Corp 5"}],"info":{"count":1,"more_records":false}}`, credits: 1},
		{name: "limit 200 costs 1", body: `{"select_query":"select id from Accounts where id is not null limit 200"}`, status: 200, credits: 1, rows: 200, more: true},
		{name: "limit 201 costs 2", body: `{"select_query":"select id from Accounts where id is not null limit 201"}`, status: 200, credits: 2, rows: 201, more: true},
		{name: "limit 1001 costs 3", body: `{"select_query":"select id from Accounts where id is not null limit 1001"}`, status: 200, credits: 3, rows: 1001, more: true},
		{name: "last rows", body: `{"select_query":"select id from Accounts where id is not null limit 2990, 100"}`, status: 200, credits: 1, rows: 10, more: false},
		{name: "nothing matches", body: `{"select_query":"select id from Accounts where Account_Name = 'no such name'"}`, status: 204, credits: 1},
		{name: "no select_query", body: `{}`, status: 400,
			want: `{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"select_query","json_path":"$.select_query"},"message":"required field not found","status":"error"}`},
		{name: "not JSON", body: `select id from Accounts`, status: 400,
			want: `{"code":"INVALID_DATA","details":{"expected_data_type":"jsonobject"},"message":"the request body is not a valid JSON object","status":"error"}`},
		{name: "syntax error", body: `{"select_query":"select from Accounts"}`, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.s.CreditsUsed()
			r := post(tc.body)
			assertReply(t, r, tc.status, tc.want)
			if got := e.s.CreditsUsed() - before; got != tc.credits {
				t.Fatalf("cost %d credits, want %d", got, tc.credits)
			}
			if tc.status == 400 && tc.want == "" {
				var env zohoError
				if err := json.Unmarshal(r.body, &env); err != nil || env.Code != "SYNTAX_ERROR" || env.Status != "error" {
					t.Fatalf("envelope %s", r.body)
				}
			}
			if tc.rows > 0 {
				p := decodePage(t, r)
				if len(p.Data) != tc.rows || p.Info["count"] != float64(tc.rows) || p.Info["more_records"] != tc.more || len(p.Info) != 2 {
					t.Fatalf("%d rows, info %v; want %d rows, more %v", len(p.Data), p.Info, tc.rows, tc.more)
				}
			}
		})
	}
	if r := call(t, http.MethodGet, e.s.RESTURL()+"/crm/v8/coql", e.tok, ""); r.status != 400 {
		t.Fatalf("GET coql: %d, want 400 INVALID_REQUEST_METHOD", r.status)
	}
}

// TestEqualsMeaning pins what equals means on a text field on each API, as
// the reference describes them (issue 10 §3 builds one meaning on top):
//   - the search API's equals is a case-insensitive "contains" (§5:
//     (Company:equals:ABC) matches "ABC Inc."; case folding is the
//     emulator's reading, the reference is silent);
//   - COQL's = is a case-insensitive exact match (not contains).
func TestEqualsMeaning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 60})
	name := seedName(1)                                            // e.g. "Globex Industries 1"
	part := strings.ToUpper(name[strings.IndexByte(name, ' ')+1:]) // "INDUSTRIES 1": contained, other case
	var want []string
	e.s.Store().Each(func(r Record) bool {
		if n, _ := r["Account_Name"].(string); strings.Contains(strings.ToLower(n), strings.ToLower(part)) {
			want = append(want, r["id"].(string))
		}
		return true
	})
	if len(want) < 2 {
		t.Fatalf("seed gives %d names containing %q; the test needs several", len(want), part)
	}
	r := e.get(t, "/crm/v8/Accounts/search?per_page=200&criteria="+url.QueryEscape("(Account_Name:equals:"+part+")"))
	var out struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || r.status != http.StatusOK {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	var got []string
	for _, rec := range out.Data {
		got = append(got, rec["id"].(string))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("search equals %q: %v, want every name containing it, any case: %v", part, got, want)
	}
	coql := func(value string) reply {
		return call(t, http.MethodPost, e.s.RESTURL()+"/crm/v8/coql", e.tok,
			`{"select_query":"select Account_Name from Accounts where Account_Name = '`+value+`'"}`)
	}
	r = coql(strings.ToUpper(name))
	if err := json.Unmarshal(r.body, &out); err != nil || r.status != http.StatusOK || len(out.Data) != 1 || out.Data[0]["id"] != id(1) {
		t.Fatalf("COQL = on the whole name, other case: %d %s", r.status, r.body)
	}
	if r := coql(part); r.status != http.StatusNoContent {
		t.Fatalf("COQL = on a part of the name: %d %s, want 204 (exact, not contains)", r.status, r.body)
	}
}
