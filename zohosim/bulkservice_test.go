package zohosim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests drive the bulk service alone on a loopback httptest server with
// a fake clock; bulksim_test.go drives it through Start.

type bulkHarness struct {
	b     *bulkService
	clock *fakeClock
	srv   *httptest.Server
	store *Store

	mu      sync.Mutex
	credits int
	writes  map[string]int
}

func newBulkHarness(t *testing.T, accounts int) *bulkHarness {
	t.Helper()
	clock := newClock()
	store := NewStore(accounts, 1, clock.Now)
	h := &bulkHarness{clock: clock, store: store, writes: map[string]int{}}
	h.b = newBulkService(map[string]*Store{ModuleAccounts: store}, clock.Now, time.Second)
	h.b.zgid = "700000001"
	h.b.charge = func(w http.ResponseWriter, n int) bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.credits += n
		return true
	}
	h.b.noteWrite = func(id string) {
		h.mu.Lock()
		h.writes[id]++
		h.mu.Unlock()
	}
	mux := http.NewServeMux()
	h.b.register(mux)
	h.b.registerDownload(mux) // the download host's route, on the same server here
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// do sends a request and returns status, headers and body.
func bulkDo(t *testing.T, method, url string, hdr http.Header, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func bulkDecode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

// bulkUnzipCSV opens a zip that must hold exactly one file named name and parses it.
func bulkUnzipCSV(t *testing.T, data []byte, name string) [][]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	if len(zr.File) != 1 || (name != "" && zr.File[0].Name != name) {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("zip holds %v, want just %q", names, name)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rows, err := csv.NewReader(rc).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return rows
}

func (h *bulkHarness) createRead(t *testing.T, body string) (int, map[string]any) {
	t.Helper()
	st, _, b := bulkDo(t, "POST", h.srv.URL+"/crm/bulk/v8/read", nil, strings.NewReader(body))
	return st, bulkDecode(t, b)
}

func bulkReadJobID(t *testing.T, m map[string]any) string {
	t.Helper()
	data, _ := m["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("create answer %v has no data[0]", m)
	}
	return data[0].(map[string]any)["details"].(map[string]any)["id"].(string)
}

func (h *bulkHarness) readStatus(t *testing.T, id string) map[string]any {
	t.Helper()
	st, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id, nil, nil)
	if st != http.StatusOK {
		t.Fatalf("status of %s: %d %s", id, st, b)
	}
	return bulkDecode(t, b)["data"].([]any)[0].(map[string]any)
}

func TestBulkReadLifecycle(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 50)
	st, m := h.createRead(t, `{"query":{"module":{"api_name":"Accounts"},"fields":["Account_Name","Owner","Employees","Created_Time"]}}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, m)
	}
	id := bulkReadJobID(t, m)
	want := map[string]any{
		"data": []any{map[string]any{"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
			"details": map[string]any{"id": id, "operation": "read", "state": "ADDED",
				"created_by":   map[string]any{"id": "5725767000000411001", "name": "Patricia Boyle"},
				"created_time": "2026-03-02T10:00:00-06:00"}}},
		"info": map[string]any{},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("create body\n got %v\nwant %v", m, want)
	}
	if h.credits != bulkReadCredits {
		t.Errorf("credits charged = %d, want %d", h.credits, bulkReadCredits)
	}

	// Not ready: the result is 404 RESOURCE_NOT_FOUND.
	st, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id+"/result", nil, nil)
	if st != http.StatusNotFound || bulkDecode(t, b)["code"] != "RESOURCE_NOT_FOUND" {
		t.Fatalf("early download: %d %s", st, b)
	}

	for i, state := range []string{"ADDED", "QUEUED", "IN PROGRESS", "COMPLETED", "COMPLETED"} {
		d := h.readStatus(t, id)
		if d["state"] != state {
			t.Fatalf("after %d steps state = %v, want %s", i, d["state"], state)
		}
		if _, has := d["result"]; has != (state == "COMPLETED") {
			t.Fatalf("state %s: result present = %v", state, has)
		}
		if state == "COMPLETED" {
			res := d["result"].(map[string]any)
			wantRes := map[string]any{"page": 1.0, "per_page": 200000.0, "count": 50.0, "more_records": false,
				"download_url": "/crm/bulk/v8/read/" + id + "/result"}
			if !reflect.DeepEqual(res, wantRes) {
				t.Fatalf("result\n got %v\nwant %v", res, wantRes)
			}
		}
		h.clock.Advance(time.Second)
	}

	st, hdr, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id+"/result", nil, nil)
	if st != http.StatusOK || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s", st, hdr.Get("Content-Type"))
	}
	rows := bulkUnzipCSV(t, b, id+".csv")
	if got := strings.Join(rows[0], ","); got != "id,Account_Name,Owner,Employees,Created_Time" {
		t.Fatalf("header = %s", got)
	}
	if len(rows) != 51 {
		t.Fatalf("rows = %d, want 50 + header", len(rows)-1)
	}
	for i, row := range rows[1:] {
		r, _ := h.store.Get(row[0])
		wantRow := []string{r["id"].(string), r["Account_Name"].(string), r["Owner"].(Record)["id"].(string),
			fmt.Sprint(r["Employees"]), r["Created_Time"].(string)}
		if !reflect.DeepEqual(row, wantRow) {
			t.Fatalf("row %d = %q, want %q", i, row, wantRow)
		}
		if _, err := time.Parse(time.RFC3339, row[4]); err != nil {
			t.Fatalf("Created_Time %q is not ISO-8601: %v", row[4], err)
		}
	}
}

func TestBulkReadAllFieldsAndEscaping(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 30)
	st, m := h.createRead(t, `{"query":{"module":{"api_name":"Accounts"}}}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, m)
	}
	id := bulkReadJobID(t, m)
	h.clock.Advance(3 * time.Second)
	_, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id+"/result", nil, nil)
	rows := bulkUnzipCSV(t, b, id+".csv")
	if len(rows[0]) != len(AccountFields) || rows[0][0] != "id" {
		t.Fatalf("header %v: want every field, id first", rows[0])
	}
	// Names with commas, quotes, backslashes and non-ASCII survive the CSV round trip.
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	seenTricky := false
	for _, row := range rows[1:] {
		r, _ := h.store.Get(row[0])
		if row[col["Account_Name"]] != r["Account_Name"] {
			t.Fatalf("Account_Name %q, want %q", row[col["Account_Name"]], r["Account_Name"])
		}
		if strings.ContainsAny(row[col["Account_Name"]], `,'\(ü`) {
			seenTricky = true
		}
		if r["Parent_Account"] != nil && row[col["Parent_Account"]] != r["Parent_Account"].(Record)["id"] {
			t.Fatalf("Parent_Account exported as %q", row[col["Parent_Account"]])
		}
	}
	if !seenTricky {
		t.Fatal("no tricky names in the seeded data: the escaping check checked nothing")
	}
}

func TestBulkReadPaging(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 8)
	h.b.readPageSize = 3
	type page struct {
		count int
		more  bool
	}
	var got []page
	var ids []string
	body := `{"query":{"module":{"api_name":"Accounts"},"fields":["Account_Name"]}}`
	for range 5 {
		st, m := h.createRead(t, body)
		if st != http.StatusCreated {
			t.Fatalf("create: %d %v", st, m)
		}
		id := bulkReadJobID(t, m)
		h.clock.Advance(3 * time.Second)
		d := h.readStatus(t, id)
		res := d["result"].(map[string]any)
		got = append(got, page{int(res["count"].(float64)), res["more_records"].(bool)})
		if res["per_page"] != 3.0 {
			t.Fatalf("per_page = %v", res["per_page"])
		}
		_, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id+"/result", nil, nil)
		rows := bulkUnzipCSV(t, b, id+".csv")
		if len(rows)-1 != int(res["count"].(float64)) {
			t.Fatalf("zip rows %d, count %v", len(rows)-1, res["count"])
		}
		for _, r := range rows[1:] {
			ids = append(ids, r[0])
		}
		tok, ok := res["next_page_token"].(string)
		if !res["more_records"].(bool) {
			if ok {
				t.Fatalf("next_page_token %q on the last page", tok)
			}
			break
		}
		if !ok || tok == "" {
			t.Fatal("more_records without next_page_token")
		}
		body = `{"query":{"module":{"api_name":"Accounts"},"fields":["Account_Name"],"page_token":"` + tok + `"}}`
	}
	if want := []page{{3, true}, {3, true}, {2, false}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	if want := h.store.IDs(); !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids over the pages %v, want %v", ids, want)
	}

	// page: 2 directly.
	st, m := h.createRead(t, `{"query":{"module":{"api_name":"Accounts"},"page":2}}`)
	if st != http.StatusCreated {
		t.Fatal(st)
	}
	id := bulkReadJobID(t, m)
	h.clock.Advance(3 * time.Second)
	res := h.readStatus(t, id)["result"].(map[string]any)
	if res["page"] != 2.0 || res["count"] != 3.0 || res["more_records"] != true {
		t.Fatalf("page 2 result %v", res)
	}
}

// TestBulkReadSnapshot checks the matching ids are fixed at job creation.
func TestBulkReadSnapshot(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 20)
	st, m := h.createRead(t, `{"query":{"module":{"api_name":"Accounts"},"fields":["Employees"],
		"criteria":{"field":{"api_name":"Employees"},"comparator":"greater_equal","value":0}}}`)
	if st != http.StatusCreated {
		t.Fatal(st, m)
	}
	id := bulkReadJobID(t, m)
	extra := h.store.insertBulk(map[string]any{"Account_Name": "Late Arrival"}, h.clock.Now())
	h.clock.Advance(3 * time.Second)
	_, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id+"/result", nil, nil)
	rows := bulkUnzipCSV(t, b, id+".csv")
	if len(rows) != 21 {
		t.Fatalf("rows %d, want the 20 ids of the snapshot", len(rows)-1)
	}
	for _, r := range rows[1:] {
		if r[0] == extra {
			t.Fatal("a record inserted after creation was exported")
		}
	}
}

func TestBulkReadCriteria(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 300)
	var recs []Record
	h.store.Each(func(r Record) bool { recs = append(recs, r); return true })
	mid := recs[150]
	tests := []struct {
		name     string
		criteria string
		want     func(r Record) bool
	}{
		{"equal picklist", `{"field":{"api_name":"Industry"},"comparator":"equal","value":"Retail"}`,
			func(r Record) bool { return r["Industry"] == "Retail" }},
		{"in picklist", `{"field":{"api_name":"Industry"},"comparator":"in","value":["Retail","Banking"]}`,
			func(r Record) bool { return r["Industry"] == "Retail" || r["Industry"] == "Banking" }},
		{"not_in picklist", `{"field":{"api_name":"Industry"},"comparator":"not_in","value":["Retail","Banking"]}`,
			func(r Record) bool { return r["Industry"] != "Retail" && r["Industry"] != "Banking" }},
		{"greater_than integer", `{"field":{"api_name":"Employees"},"comparator":"greater_than","value":2500}`,
			func(r Record) bool { return r["Employees"].(int64) > 2500 }},
		{"less_equal string number", `{"field":{"api_name":"Employees"},"comparator":"less_equal","value":"1000"}`,
			func(r Record) bool { return r["Employees"].(int64) <= 1000 }},
		{"between currency", `{"field":{"api_name":"Annual_Revenue"},"comparator":"between","value":[1000000,5000000]}`,
			func(r Record) bool { v := r["Annual_Revenue"].(float64); return v >= 1e6 && v <= 5e6 }},
		{"not_between currency", `{"field":{"api_name":"Annual_Revenue"},"comparator":"not_between","value":[1000000,5000000]}`,
			func(r Record) bool { v := r["Annual_Revenue"].(float64); return v < 1e6 || v > 5e6 }},
		{"datetime greater_equal", `{"field":{"api_name":"Created_Time"},"comparator":"greater_equal","value":"` + mid["Created_Time"].(string) + `"}`,
			func(r Record) bool { return r["id"].(string) >= mid["id"].(string) }},
		{"datetime in UTC", `{"field":{"api_name":"Created_Time"},"comparator":"less_than","value":"2024-01-09T23:02:31+00:00"}`,
			func(r Record) bool {
				t, _ := time.Parse(time.RFC3339, r["Created_Time"].(string))
				return t.Before(time.Date(2024, 1, 9, 23, 2, 31, 0, time.UTC))
			}},
		{"contains case-insensitive", `{"field":{"api_name":"Account_Name"},"comparator":"contains","value":"ZYLKER"}`,
			func(r Record) bool { return strings.Contains(r["Account_Name"].(string), "Zylker") }},
		{"starts_with", `{"field":{"api_name":"Account_Name"},"comparator":"starts_with","value":"Café"}`,
			func(r Record) bool { return strings.HasPrefix(r["Account_Name"].(string), "Café") }},
		{"ends_with", `{"field":{"api_name":"Website"},"comparator":"ends_with","value":"7.example.com"}`,
			func(r Record) bool { return strings.HasSuffix(r["Website"].(string), "7.example.com") }},
		{"not_contains", `{"field":{"api_name":"Account_Name"},"comparator":"not_contains","value":"a"}`,
			func(r Record) bool { return !strings.Contains(strings.ToLower(r["Account_Name"].(string)), "a") }},
		{"owner lookup by id", `{"field":{"api_name":"Owner"},"comparator":"equal","value":"5725767000000411002"}`,
			func(r Record) bool { return r["Owner"].(Record)["id"] == "5725767000000411002" }},
		{"parent empty", `{"field":{"api_name":"Parent_Account"},"comparator":"equal","value":"${EMPTY}"}`,
			func(r Record) bool { return r["Parent_Account"] == nil }},
		{"description not empty", `{"field":{"api_name":"Description"},"comparator":"not_equal","value":"${EMPTY}"}`,
			func(r Record) bool { return r["Description"] != nil }},
		{"id in", `{"field":{"api_name":"id"},"comparator":"in","value":["` + recs[3]["id"].(string) + `","` + recs[7]["id"].(string) + `"]}`,
			func(r Record) bool { return r["id"] == recs[3]["id"] || r["id"] == recs[7]["id"] }},
		{"boolean", `{"field":{"api_name":"Locked__s"},"comparator":"equal","value":false}`,
			func(r Record) bool { return true }},
		{"and group", `{"group_operator":"and","group":[
				{"field":{"api_name":"Industry"},"comparator":"in","value":["Retail","Banking"]},
				{"field":{"api_name":"Employees"},"comparator":"less_than","value":2000}]}`,
			func(r Record) bool {
				return (r["Industry"] == "Retail" || r["Industry"] == "Banking") && r["Employees"].(int64) < 2000
			}},
		{"nested or in and", `{"group_operator":"AND","group":[
				{"group_operator":"or","group":[
					{"field":{"api_name":"Rating"},"comparator":"equal","value":"Active"},
					{"field":{"api_name":"Rating"},"comparator":"equal","value":"Acquired"}]},
				{"field":{"api_name":"Billing_City"},"comparator":"not_equal","value":"austin"}]}`,
			func(r Record) bool {
				return (r["Rating"] == "Active" || r["Rating"] == "Acquired") && r["Billing_City"] != "Austin"
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c bulkCriteria
			if err := json.Unmarshal([]byte(tc.criteria), &c); err != nil {
				t.Fatal(err)
			}
			m, cerr := compileBulkCriteria(accounts, &c)
			if cerr != nil {
				t.Fatalf("compile: %s %s", cerr.code, cerr.message)
			}
			n := 0
			for _, r := range recs {
				if got, want := m(r), tc.want(r); got != want {
					t.Fatalf("record %s (%v): match %v, want %v", r["id"], r["Account_Name"], got, want)
				}
				if tc.want(r) {
					n++
				}
			}
			if n == 0 && tc.name != "parent empty" {
				t.Logf("note: nothing matches %s", tc.name)
			}
		})
	}
	// And through HTTP: the export holds exactly the matching rows.
	st, m := h.createRead(t, `{"query":{"module":{"api_name":"Accounts"},"fields":["Industry"],
		"criteria":{"field":{"api_name":"Industry"},"comparator":"equal","value":"Retail"}}}`)
	if st != http.StatusCreated {
		t.Fatal(st, m)
	}
	id := bulkReadJobID(t, m)
	h.clock.Advance(3 * time.Second)
	_, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id+"/result", nil, nil)
	rows := bulkUnzipCSV(t, b, id+".csv")
	want := 0
	for _, r := range recs {
		if r["Industry"] == "Retail" {
			want++
		}
	}
	if len(rows)-1 != want || want == 0 {
		t.Fatalf("exported %d rows, want %d", len(rows)-1, want)
	}
	for _, r := range rows[1:] {
		if r[1] != "Retail" {
			t.Fatalf("row %v does not match", r)
		}
	}
}

func TestBulkReadErrors(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 5)
	many := func(n int, leaf string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = leaf
		}
		return `{"group_operator":"or","group":[` + strings.Join(parts, ",") + `]}`
	}
	values := make([]string, 201)
	for i := range values {
		values[i] = fmt.Sprintf(`"v%d"`, i)
	}
	q := func(extra string) string {
		return `{"query":{"module":{"api_name":"Accounts"}` + extra + `}}`
	}
	tests := []struct {
		name, body string
		status     int
		code       string
		details    map[string]any
	}{
		{"not json", `{"query":`, 400, "REQUEST_BODY_NOT_SUPPORTED", map[string]any{}},
		{"wrong type", q(`,"page":"two"`), 400, "REQUEST_BODY_NOT_SUPPORTED", map[string]any{"json_path": "$.query.page"}},
		{"not an object", `[1]`, 400, "REQUEST_BODY_NOT_SUPPORTED", map[string]any{}},
		{"empty body", ``, 400, "INVALID_REQUEST", map[string]any{}},
		{"no query", `{}`, 400, "MANDATORY_NOT_FOUND", map[string]any{"api_name": "module", "json_path": "$.query.module.api_name"}},
		{"no module name", `{"query":{"module":{}}}`, 400, "MANDATORY_NOT_FOUND", map[string]any{"api_name": "module", "json_path": "$.query.module.api_name"}},
		{"unknown module", `{"query":{"module":{"api_name":"Leads"}}}`, 400, "MODULE_NOT_AVAILABLE", map[string]any{"api_name": "Leads", "module": "Leads"}},
		{"notes", `{"query":{"module":{"api_name":"Notes"}}}`, 400, "MODULE_NOT_SUPPORTED", map[string]any{}},
		{"unknown field", q(`,"fields":["Account_Name","Nope"]`), 400, "FIELD_NOT_AVAILABLE", map[string]any{"api_name": "Nope"}},
		{"cvid", q(`,"cvid":"123"`), 400, "CVID_NOT_SUPPORTED", map[string]any{}},
		{"page zero", q(`,"page":0`), 400, "INVALID_DATA", map[string]any{"api_name": "page", "json_path": "$.query.page"}},
		{"bad token", q(`,"page_token":"nope"`), 400, "INVALID_DATA", map[string]any{"api_name": "page_token", "json_path": "$.query.page_token"}},
		{"ics", `{"query":{"module":{"api_name":"Accounts"}},"file_type":"ics"}`, 400, "INVALID_DATA",
			map[string]any{"api_name": "file_type", "supported_values": []any{"csv"}}},
		{"callback url", `{"callback":{"url":"nope","method":"post"},"query":{"module":{"api_name":"Accounts"}}}`, 400, "INVALID_CALLBACK_URL", map[string]any{}},
		{"callback method", `{"callback":{"url":"https://x.example/cb","method":"get"},"query":{"module":{"api_name":"Accounts"}}}`, 400,
			"INVALID_CALLBACK_METHOD", map[string]any{"supported_callback_methods": []any{"post"}}},
		{"group operator", q(`,"criteria":{"group_operator":"xor","group":[{"field":{"api_name":"Industry"},"comparator":"equal","value":"Retail"}]}`),
			400, "GROUP_OPERATOR_NOT_SUPPORTED", map[string]any{"supported": []any{"and", "or"}}},
		{"empty group", q(`,"criteria":{"group_operator":"and","group":[]}`), 400, "INVALID_CRITERIA", map[string]any{}},
		{"ambiguous", q(`,"criteria":{"group_operator":"and","field":{"api_name":"Industry"},"comparator":"equal","value":"x"}`), 400, "AMBIGUOUS_CRITERIA", map[string]any{}},
		{"criteria field", q(`,"criteria":{"field":{"api_name":"Nope"},"comparator":"equal","value":"x"}`), 400, "FIELD_NOT_AVAILABLE", map[string]any{"api_name": "Nope"}},
		{"comparator for picklist", q(`,"criteria":{"field":{"api_name":"Industry"},"comparator":"contains","value":"x"}`), 400,
			"FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED", map[string]any{"api_name": "Industry", "comparator": "contains", "supported": []any{"equal", "not_equal", "in", "not_in"}}},
		{"in needs array", q(`,"criteria":{"field":{"api_name":"Industry"},"comparator":"in","value":"Retail"}`), 400,
			"COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", map[string]any{"api_name": "Industry", "comparator": "in", "value": "Retail"}},
		{"between needs two", q(`,"criteria":{"field":{"api_name":"Employees"},"comparator":"between","value":[1]}`), 400,
			"COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", map[string]any{"api_name": "Employees", "comparator": "between", "value": []any{1.0}}},
		{"number type", q(`,"criteria":{"field":{"api_name":"Employees"},"comparator":"equal","value":"many"}`), 400,
			"VALUE_TYPE_NOT_SUPPORTED", map[string]any{"api_name": "Employees", "supported": []any{"integer"}}},
		{"datetime type", q(`,"criteria":{"field":{"api_name":"Created_Time"},"comparator":"equal","value":"yesterday"}`), 400,
			"VALUE_TYPE_NOT_SUPPORTED", map[string]any{"api_name": "Created_Time", "supported": []any{"datetime"}}},
		{"26 criteria", q(`,"criteria":` + many(26, `{"field":{"api_name":"Industry"},"comparator":"equal","value":"Retail"}`)), 400,
			"CRITERIA_LIMIT_EXCEEDED", map[string]any{"max_limit": 25.0}},
		{"201 values", q(`,"criteria":{"field":{"api_name":"Account_Name"},"comparator":"in","value":[` + strings.Join(values, ",") + `]}`), 400,
			"VALUE_LIMIT_EXCEEDED_IN_CRITERIA", map[string]any{"max_limit": 200.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The verdict sits in data[], the shape of the 201 answer
			// (reference §7.1): {"data":[{"status":"error","code":…}]}.
			st, top := h.createRead(t, tc.body)
			data, _ := top["data"].([]any)
			if len(data) != 1 || len(top) != 1 {
				t.Fatalf("got %d %v, want {\"data\":[one error]}", st, top)
			}
			m, _ := data[0].(map[string]any)
			if st != tc.status || m["code"] != tc.code || m["status"] != "error" {
				t.Fatalf("got %d %v, want %d %s", st, m, tc.status, tc.code)
			}
			if msg, _ := m["message"].(string); msg == "" {
				t.Fatal("empty message")
			}
			if !reflect.DeepEqual(m["details"], tc.details) {
				t.Fatalf("details %v, want %v", m["details"], tc.details)
			}
		})
	}
	// 25 criteria and 200 values are still fine.
	for _, body := range []string{
		q(`,"criteria":` + many(25, `{"field":{"api_name":"Industry"},"comparator":"equal","value":"Retail"}`)),
		q(`,"criteria":{"field":{"api_name":"Account_Name"},"comparator":"in","value":[` + strings.Join(values[:200], ",") + `]}`),
	} {
		if st, m := h.createRead(t, body); st != http.StatusCreated {
			t.Fatalf("at the limit: %d %v", st, m)
		}
	}
	if h.credits != 2*bulkReadCredits {
		t.Fatalf("credits %d: refused jobs must not be charged", h.credits)
	}
	st, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/123", nil, nil)
	if m := bulkDecode(t, b); st != 404 || m["code"] != "RESOURCE_NOT_FOUND" || !reflect.DeepEqual(m["details"], map[string]any{"resource": "123"}) {
		t.Fatalf("unknown job: %d %s", st, b)
	}
}

func TestBulkReadDownloadLimit(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 3)
	_, m := h.createRead(t, `{"query":{"module":{"api_name":"Accounts"}}}`)
	id := bulkReadJobID(t, m)
	h.clock.Advance(3 * time.Second)
	get := func() (int, string) {
		st, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/read/"+id+"/result", nil, nil)
		if st == http.StatusOK {
			return st, ""
		}
		return st, bulkDecode(t, b)["code"].(string)
	}
	for i := range 10 {
		if st, code := get(); st != http.StatusOK {
			t.Fatalf("download %d: %d %s", i+1, st, code)
		}
		h.clock.Advance(time.Second)
	}
	if st, code := get(); st != http.StatusTooManyRequests || code != "TOO_MANY_REQUESTS" {
		t.Fatalf("11th download in a minute: %d %s", st, code)
	}
	// Blocked for the minute: even after the first downloads left the window.
	h.clock.Advance(55 * time.Second)
	if st, _ := get(); st != http.StatusTooManyRequests {
		t.Fatalf("download while blocked: %d", st)
	}
	h.clock.Advance(6 * time.Second)
	if st, code := get(); st != http.StatusOK {
		t.Fatalf("download after the block: %d %s", st, code)
	}
}

// --- Bulk Write ---

// bulkZipOf returns a zip holding one file.
func bulkZipOf(t testing.TB, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, content); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bulkMultipart builds a multipart body with data as the part named field.
func bulkMultipart(t testing.TB, field, filename string, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func bulkUploadHeaders(ct, feature, org string) http.Header {
	h := http.Header{"Content-Type": {ct}}
	if feature != "" {
		h.Set("feature", feature)
	}
	if org != "" {
		h.Set("X-CRM-ORG", org)
	}
	return h
}

func (h *bulkHarness) upload(t *testing.T, csvText string) string {
	t.Helper()
	ct, body := bulkMultipart(t, "file", "accounts.zip", bulkZipOf(t, "accounts.csv", csvText))
	st, _, b := bulkDo(t, "POST", h.srv.URL+"/crm/v8/upload", bulkUploadHeaders(ct, "bulk-write", h.b.zgid), bytes.NewReader(body))
	if st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, b)
	}
	m := bulkDecode(t, b)
	if m["code"] != "FILE_UPLOAD_SUCCESS" || m["status"] != "success" || m["message"] != "file uploaded." {
		t.Fatalf("upload answer %v", m)
	}
	return m["details"].(map[string]any)["file_id"].(string)
}

func (h *bulkHarness) createWrite(t *testing.T, body string) (int, map[string]any) {
	t.Helper()
	st, _, b := bulkDo(t, "POST", h.srv.URL+"/crm/bulk/v8/write", nil, strings.NewReader(body))
	return st, bulkDecode(t, b)
}

func TestBulkUploadErrors(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 5)
	goodZip := bulkZipOf(t, "a.csv", "id,Phone\n1,2\n")
	ct, body := bulkMultipart(t, "file", "a.zip", goodZip)
	gateway := map[string]any{"ERROR_MESSAGE": "Bad Request", "ERROR_CODE": 400.0,
		"x-error": "check if headers [feature, X-CRM-ORG] are present and valid"}
	nonZipCT, nonZip := bulkMultipart(t, "file", "a.csv", []byte("id,Phone\n1,2\n"))
	otherCT, otherPart := bulkMultipart(t, "attachment", "a.zip", goodZip)
	tests := []struct {
		name   string
		hdr    http.Header
		body   []byte
		status int
		want   map[string]any // exact body when set
		code   string
	}{
		{"no feature", bulkUploadHeaders(ct, "", "700000001"), body, 400, gateway, ""},
		{"no org", bulkUploadHeaders(ct, "bulk-write", ""), body, 400, gateway, ""},
		{"wrong org", bulkUploadHeaders(ct, "bulk-write", "1"), body, 400, gateway, ""},
		{"wrong feature", bulkUploadHeaders(ct, "bulk-read", "700000001"), body, 400, nil, "NOT_SUPPORTED_FEATURE"},
		{"not multipart", bulkUploadHeaders("application/zip", "bulk-write", "700000001"), goodZip, 400, nil, "INVALID_REQUEST"},
		{"no file part", bulkUploadHeaders(otherCT, "bulk-write", "700000001"), otherPart, 400, nil, "MANDATORY_NOT_FOUND"},
		{"not a zip", bulkUploadHeaders(nonZipCT, "bulk-write", "700000001"), nonZip, 400,
			map[string]any{"code": "INVALID_FILE_FORMAT", "details": map[string]any{}, "message": "invalid file format. only zip format is supported", "status": "error"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := bulkDo(t, "POST", h.srv.URL+"/crm/v8/upload", tc.hdr, bytes.NewReader(tc.body))
			m := bulkDecode(t, b)
			if st != tc.status {
				t.Fatalf("status %d, want %d (%s)", st, tc.status, b)
			}
			if tc.want != nil && !reflect.DeepEqual(m, tc.want) {
				t.Fatalf("body %v, want %v", m, tc.want)
			}
			if tc.code != "" && m["code"] != tc.code {
				t.Fatalf("code %v, want %s", m["code"], tc.code)
			}
		})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.b.files) != 0 {
		t.Fatalf("%d files stored by refused uploads", len(h.b.files))
	}
}

func TestBulkUploadTooLarge(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 1)
	// A zip entry stored uncompressed is as large as its content.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, _ := zw.CreateHeader(&zip.FileHeader{Name: "big.csv", Method: zip.Store})
	_, _ = f.Write(bytes.Repeat([]byte("x"), bulkUploadMaxBytes+10))
	_ = zw.Close()
	ct, body := bulkMultipart(t, "file", "big.zip", buf.Bytes())
	st, _, b := bulkDo(t, "POST", h.srv.URL+"/crm/v8/upload", bulkUploadHeaders(ct, "bulk-write", "700000001"), bytes.NewReader(body))
	if m := bulkDecode(t, b); st != http.StatusRequestEntityTooLarge || m["code"] != "FILE_TOO_LARGE" {
		t.Fatalf("got %d %s", st, b)
	}
}

func (h *bulkHarness) writeStatus(t *testing.T, id string) map[string]any {
	t.Helper()
	st, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/write/"+id, nil, nil)
	if st != http.StatusOK {
		t.Fatalf("write status %s: %d %s", id, st, b)
	}
	return bulkDecode(t, b)
}

func TestBulkWriteUpdateLifecycle(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 20)
	ids := h.store.IDs()
	before := map[string]Record{}
	for _, id := range ids[:5] {
		before[id], _ = h.store.Get(id)
	}
	csvText := "id,Phone,Employees,Industry,Billing_City\n" +
		ids[0] + ",+1 555 0001,42,Retail,\n" + // ok; empty city left alone (ignore_empty)
		ids[1] + ",+1 555 0002,many,Banking,Oslo\n" + // Employees invalid
		"5725767000001999999,+1 555 0003,7,Retail,\n" + // unknown id
		ids[2] + ",+1 555 0004,8,Nope,\n" + // picklist invalid
		",+1 555 0005,9,Retail,\n" + // no id
		ids[3] + ",\"+1 (555) 0006, ext 7\",10,Banking,\"Zürich, \"\"Old\"\" Town\"\n"
	fileID := h.upload(t, csvText)
	st, m := h.createWrite(t, `{"operation":"update","ignore_empty":true,"resource":[{"type":"data",
		"module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id"}]}`)
	if st != http.StatusCreated || m["code"] != "SUCCESS" || m["status"] != "success" || m["message"] != "success" {
		t.Fatalf("create: %d %v", st, m)
	}
	jobID := m["details"].(map[string]any)["id"].(string)
	if !reflect.DeepEqual(m["details"].(map[string]any)["created_by"], map[string]any{"id": "5725767000000411001", "name": "Patricia Boyle"}) {
		t.Fatalf("created_by %v", m["details"])
	}
	if h.credits != bulkWriteCredits {
		t.Fatalf("credits %d, want %d", h.credits, bulkWriteCredits)
	}
	for i, state := range []string{"ADDED", "IN PROGRESS"} {
		s := h.writeStatus(t, jobID)
		if s["status"] != state || s["data"] != nil || s["result"] != nil {
			t.Fatalf("step %d: %v", i, s)
		}
		// Nothing applied before completion.
		if r, _ := h.store.Get(ids[0]); r["Phone"] != before[ids[0]]["Phone"] {
			t.Fatal("a write was applied before the job completed")
		}
		st, _, b := bulkDo(t, "GET", h.srv.URL+"/v2/crm/700000001/bulk-write/"+jobID+"/"+jobID+".zip", nil, nil)
		if st != http.StatusNotFound || bulkDecode(t, b)["code"] != "RESOURCE_NOT_FOUND" {
			t.Fatalf("early result: %d %s", st, b)
		}
		h.clock.Advance(time.Second)
	}
	s := h.writeStatus(t, jobID)
	wantStatus := map[string]any{
		"status": "COMPLETED", "character_encoding": "UTF-8", "id": jobID, "operation": "update",
		"created_by":   map[string]any{"id": "5725767000000411001", "name": "Patricia Boyle"},
		"created_time": "2026-03-02T10:00:00-06:00",
		"resource": []any{map[string]any{"status": "COMPLETED", "type": "data",
			"module":  map[string]any{"api_name": "Accounts", "id": bulkAccountsModuleID},
			"find_by": "id",
			"field_mappings": []any{
				map[string]any{"api_name": "id", "index": 0.0}, map[string]any{"api_name": "Phone", "index": 1.0},
				map[string]any{"api_name": "Employees", "index": 2.0}, map[string]any{"api_name": "Industry", "index": 3.0},
				map[string]any{"api_name": "Billing_City", "index": 4.0}},
			"file": map[string]any{"status": "COMPLETED", "name": "accounts.csv", "added_count": 0.0, "updated_count": 2.0,
				"skipped_count": 4.0, "total_count": 6.0}}},
		"result": map[string]any{"download_url": h.srv.URL + "/v2/crm/700000001/bulk-write/" + jobID + "/" + jobID + ".zip"},
	}
	if !reflect.DeepEqual(s, wantStatus) {
		t.Fatalf("status\n got %v\nwant %v", s, wantStatus)
	}

	st, hdr, b := bulkDo(t, "GET", s["result"].(map[string]any)["download_url"].(string), nil, nil)
	if st != http.StatusOK || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("result: %d %s", st, b)
	}
	rows := bulkUnzipCSV(t, b, "Accounts-accounts.csv")
	want := [][]string{
		{"id", "Phone", "Employees", "Industry", "Billing_City", "RECORD_ID", "STATUS", "ERRORS"},
		{ids[0], "+1 555 0001", "42", "Retail", "", ids[0], "UPDATED", ""},
		{ids[1], "+1 555 0002", "many", "Banking", "Oslo", ids[1], "SKIPPED", "INVALID_DATA-Employees"},
		{"5725767000001999999", "+1 555 0003", "7", "Retail", "", "", "SKIPPED", "RESOURCE_NOT_FOUND-id"},
		{ids[2], "+1 555 0004", "8", "Nope", "", ids[2], "SKIPPED", "INVALID_DATA-Industry"},
		{"", "+1 555 0005", "9", "Retail", "", "", "SKIPPED", "MANDATORY_NOT_FOUND-id"},
		{ids[3], "+1 (555) 0006, ext 7", "10", "Banking", `Zürich, "Old" Town`, ids[3], "UPDATED", ""},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("result rows\n got %q\nwant %q", rows, want)
	}

	// The store changed for the applied rows only, and only the CSV's fields.
	r0, _ := h.store.Get(ids[0])
	if r0["Phone"] != "+1 555 0001" || r0["Employees"] != int64(42) || r0["Industry"] != "Retail" ||
		r0["Billing_City"] != before[ids[0]]["Billing_City"] || r0["Account_Name"] != before[ids[0]]["Account_Name"] {
		t.Fatalf("record 0 after update: %v", r0)
	}
	if r0["Modified_Time"] != "2026-03-02T10:00:02-06:00" {
		t.Fatalf("Modified_Time %v", r0["Modified_Time"])
	}
	r3, _ := h.store.Get(ids[3])
	if r3["Billing_City"] != `Zürich, "Old" Town` || r3["Phone"] != "+1 (555) 0006, ext 7" {
		t.Fatalf("record 3 after update: %v", r3)
	}
	for _, id := range ids[1:3] {
		if r, _ := h.store.Get(id); !reflect.DeepEqual(r, before[id]) {
			t.Fatalf("skipped record %s changed", id)
		}
	}
	wantWrites := map[string]int{ids[0]: 1, ids[3]: 1}
	h.mu.Lock()
	gotWrites := h.writes
	h.mu.Unlock()
	if !reflect.DeepEqual(gotWrites, wantWrites) {
		t.Fatalf("writes %v, want %v", gotWrites, wantWrites)
	}
	// Observing again applies nothing twice.
	h.writeStatus(t, jobID)
	if h.writes[ids[0]] != 1 {
		t.Fatal("job applied twice")
	}
}

func TestBulkWriteIgnoreEmptyFalseClears(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 5)
	id := h.store.IDs()[0]
	fileID := h.upload(t, "id,Billing_City,Account_Name\n"+id+",,\n")
	_, m := h.createWrite(t, `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id"}]}`)
	jobID := m["details"].(map[string]any)["id"].(string)
	h.clock.Advance(2 * time.Second)
	s := h.writeStatus(t, jobID)
	file := s["resource"].([]any)[0].(map[string]any)["file"].(map[string]any)
	// Clearing the mandatory Account_Name is refused; the whole row is skipped.
	if file["skipped_count"] != 1.0 {
		t.Fatalf("file %v", file)
	}
	fileID = h.upload(t, "id,Billing_City\n"+id+",\n")
	_, m = h.createWrite(t, `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id"}]}`)
	jobID = m["details"].(map[string]any)["id"].(string)
	h.clock.Advance(2 * time.Second)
	h.writeStatus(t, jobID)
	if r, _ := h.store.Get(id); r["Billing_City"] != nil {
		t.Fatalf("empty cell with ignore_empty false left Billing_City = %v", r["Billing_City"])
	}
}

func TestBulkWriteInsertUpsert(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 10)
	ids := h.store.IDs()
	existing, _ := h.store.Get(ids[4])
	tests := []struct {
		name, op, findBy, csv string
		wantStatus            []string
		wantErrors            []string
		ignoreEmpty           bool
	}{
		{"insert", "insert", "", "Account_Name,Phone,Owner.id,Parent_Account.id,Annual_Revenue\n" +
			"New One,+1 555 1111,5725767000000411002," + ids[1] + ",1250000.5\n" +
			",+1 555 2222,,,\n" +
			"Bad Owner,,123,,\n" +
			"Bad Parent,,,5725767000001999999,\n",
			[]string{"ADDED", "SKIPPED", "SKIPPED", "SKIPPED"},
			[]string{"", "MANDATORY_NOT_FOUND-Account_Name", "INVALID_DATA-Owner", "INVALID_DATA-Parent_Account"}, false},
		{"upsert by name", "upsert", "Account_Name", "Account_Name,Employees\n" +
			existing["Account_Name"].(string) + ",77\nBrand New,5\nBrand New,6\n",
			[]string{"UPDATED", "ADDED", "UPDATED"}, []string{"", "", ""}, false},
		{"upsert by id", "upsert", "id", "id,Account_Name,SIC_Code\n" + ids[5] + ",Renamed,1234\n,Fresh,99\n" + ids[6] + ",X,9999999999\n",
			[]string{"UPDATED", "ADDED", "SKIPPED"}, []string{"", "", "INVALID_DATA-SIC_Code"}, false},
		{"upsert ignore_empty keeps the name of an update", "upsert", "id", "id,Account_Name,Employees\n" + ids[7] + ",,3\n,,4\n5725767000001999999,,5\n",
			[]string{"UPDATED", "SKIPPED", "SKIPPED"}, []string{"", "MANDATORY_NOT_FOUND-Account_Name", "MANDATORY_NOT_FOUND-Account_Name"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fileID := h.upload(t, tc.csv)
			findBy := ""
			if tc.findBy != "" {
				findBy = `,"find_by":"` + tc.findBy + `"`
			}
			st, m := h.createWrite(t, `{"operation":"`+tc.op+`","ignore_empty":`+strconv.FormatBool(tc.ignoreEmpty)+`,"resource":[{"module":{"api_name":"Accounts"},"file_id":"`+fileID+`"`+findBy+`}]}`)
			if st != http.StatusCreated {
				t.Fatalf("create: %d %v", st, m)
			}
			jobID := m["details"].(map[string]any)["id"].(string)
			h.clock.Advance(2 * time.Second)
			s := h.writeStatus(t, jobID)
			_, _, b := bulkDo(t, "GET", s["result"].(map[string]any)["download_url"].(string), nil, nil)
			rows := bulkUnzipCSV(t, b, "")
			n := len(rows[0])
			last := map[string]int{} // record id → last row that wrote it
			for i, row := range rows[1:] {
				if row[n-2] != tc.wantStatus[i] || row[n-1] != tc.wantErrors[i] {
					t.Fatalf("row %d: %q, want %s %s", i, row, tc.wantStatus[i], tc.wantErrors[i])
				}
				if row[n-2] != "SKIPPED" {
					last[row[n-3]] = i
				}
			}
			if len(rows)-1 != len(tc.wantStatus) {
				t.Fatalf("%d result rows, want %d", len(rows)-1, len(tc.wantStatus))
			}
			for id, i := range last {
				row := rows[1+i]
				r, ok := h.store.Get(id)
				if !ok {
					t.Fatalf("row %d: record %q not in the store", i, id)
				}
				if len(id) != 19 {
					t.Fatalf("new id %q is not 19 digits", id)
				}
				for j, col := range rows[0][:n-3] {
					if row[j] == "" && tc.ignoreEmpty {
						continue
					}
					if name, _ := bulkHeaderField(accounts, col); name != "id" && bulkCSVValue(r[name]) != row[j] {
						t.Fatalf("row %d: %s = %v, want %q", i, name, r[name], row[j])
					}
				}
			}
		})
	}
	// The inserted record is complete and findable by name.
	var found Record
	h.store.Each(func(r Record) bool {
		if r["Account_Name"] == "New One" {
			found = r
			return false
		}
		return true
	})
	if found == nil || found["Owner"].(Record)["name"] != "Ravi Kumar" || found["Parent_Account"].(Record)["id"] != ids[1] ||
		found["Annual_Revenue"] != 1250000.5 || found["Created_Time"] == nil {
		t.Fatalf("inserted record %v", found)
	}
	if r, _ := h.store.Get(ids[4]); r["Employees"] != int64(77) {
		t.Fatalf("upsert by name did not update: %v", r["Employees"])
	}
}

func TestBulkWriteCreateErrors(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 5)
	good := h.upload(t, "id,Phone\n"+h.store.IDs()[0]+",1\n")
	noName := h.upload(t, "Phone\n1\n")
	badHeader := h.upload(t, "id,Nope\n1,2\n")
	res := func(extra string) string {
		return `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + good + `","find_by":"id"` + extra + `}]}`
	}
	twoCSV := func() string {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range []string{"a.csv", "b.csv"} {
			f, _ := zw.Create(n)
			_, _ = io.WriteString(f, "id\n1\n")
		}
		_ = zw.Close()
		ct, body := bulkMultipart(t, "file", "two.zip", buf.Bytes())
		_, _, b := bulkDo(t, "POST", h.srv.URL+"/crm/v8/upload", bulkUploadHeaders(ct, "bulk-write", h.b.zgid), bytes.NewReader(body))
		return bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
	}()
	var big strings.Builder
	big.WriteString("id,Phone\n")
	for i := range bulkWriteMaxRecords + 1 {
		fmt.Fprintf(&big, "%d,1\n", i)
	}
	tooMany := h.upload(t, big.String())
	tests := []struct {
		name, body, code, message string
	}{
		{"no operation", `{"resource":[]}`, "MISSING_REQUIRED_KEY", "Required key operation is not available"},
		{"bad operation", `{"operation":"delete","resource":[]}`, "INVALID_DATA", ""},
		{"no resource", `{"operation":"update"}`, "MISSING_REQUIRED_KEY", "Required key resource is not available"},
		{"no module", `{"operation":"update","resource":[{"file_id":"1","find_by":"id"}]}`, "MISSING_REQUIRED_KEY", ""},
		{"other module", `{"operation":"update","resource":[{"module":{"api_name":"Deals"},"file_id":"1","find_by":"id"}]}`, "MODULE_NOT_AVAILABLE", ""},
		{"no find_by", `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + good + `"}]}`,
			"MANDATORY_NOT_FOUND", "Required key find_by is not available"},
		{"upsert no find_by", `{"operation":"upsert","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + good + `"}]}`,
			"MANDATORY_NOT_FOUND", "Required key find_by is not available"},
		{"bad find_by", strings.Replace(res(""), `"find_by":"id"`, `"find_by":"Phone"`, 1), "INVALID_DATA", ""},
		{"unknown file", `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"999","find_by":"id"}]}`, "INVALID_FILE_ID", ""},
		{"bad mapping field", res(`,"field_mappings":[{"api_name":"id","index":0},{"api_name":"Nope","index":1}]`), "INVALID_FIELD", ""},
		{"mapping index", res(`,"field_mappings":[{"api_name":"id","index":0},{"api_name":"Phone","index":5}]`), "COLUMN_INDEX_NOT_FOUND", ""},
		{"mapping no index", res(`,"field_mappings":[{"api_name":"id"}]`), "MISSING_REQUIRED_KEY", "Required key index is not available"},
		{"read-only field", res(`,"field_mappings":[{"api_name":"id","index":0},{"api_name":"Created_Time","index":1}]`), "INVALID_FIELD", ""},
		{"find_by not mapped", res(`,"field_mappings":[{"api_name":"Phone","index":1}]`), "MANDATORY_FIELDS_NOT_MAPPED", ""},
		{"insert without name", `{"operation":"insert","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + noName + `"}]}`, "MANDATORY_FIELDS_NOT_MAPPED", ""},
		{"insert with id", `{"operation":"insert","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + good + `"}]}`, "INVALID_FIELD", ""},
		{"unknown header", `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + badHeader + `","find_by":"id"}]}`, "INVALID_FIELD", ""},
		{"two csvs", `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + twoCSV + `","find_by":"id"}]}`, "FILE_NOT_SUPPORTED", ""},
		{"25001 records", `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + tooMany + `","find_by":"id"}]}`, "LIMIT_EXCEEDED", ""},
		{"not json", `[`, "REQUEST_BODY_NOT_SUPPORTED", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := h.createWrite(t, tc.body)
			if st != http.StatusBadRequest || m["code"] != tc.code || m["status"] != "error" {
				t.Fatalf("got %d %v, want 400 %s", st, m, tc.code)
			}
			if tc.message != "" && m["message"] != tc.message {
				t.Fatalf("message %q, want %q", m["message"], tc.message)
			}
		})
	}
	if h.credits != 0 {
		t.Fatalf("refused jobs charged %d credits", h.credits)
	}
	if len(h.b.writeJobs) != 0 {
		t.Fatalf("refused requests created %d jobs", len(h.b.writeJobs))
	}
	st, _, b := bulkDo(t, "GET", h.srv.URL+"/crm/bulk/v8/write/123", nil, nil)
	if m := bulkDecode(t, b); st != http.StatusBadRequest || m["code"] != "RESOURCE_NOT_FOUND" {
		t.Fatalf("unknown write job: %d %s", st, b)
	}
}

func TestBulkWriteFieldMappingsAndDelimiter(t *testing.T) {
	t.Parallel()
	h := newBulkHarness(t, 5)
	id := h.store.IDs()[2]
	// Semicolon-separated, headers not API names, mapped by index.
	fileID := h.upload(t, "\xef\xbb\xbfRecord;Tel;Seats\n"+id+";+49 30 1234;12\n")
	st, m := h.createWrite(t, `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id",
		"field_mappings":[{"api_name":"id","index":0},{"api_name":"Employees","index":2}]}]}`)
	if st != http.StatusCreated {
		t.Fatalf("%d %v", st, m)
	}
	h.clock.Advance(2 * time.Second)
	s := h.writeStatus(t, m["details"].(map[string]any)["id"].(string))
	_, _, b := bulkDo(t, "GET", s["result"].(map[string]any)["download_url"].(string), nil, nil)
	rows := bulkUnzipCSV(t, b, "")
	want := [][]string{{"Record", "Seats", "RECORD_ID", "STATUS", "ERRORS"}, {id, "12", id, "UPDATED", ""}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	r, _ := h.store.Get(id)
	if r["Employees"] != int64(12) || r["Phone"] == "+49 30 1234" {
		t.Fatalf("record %v: only the mapped column may change", r)
	}
}

func TestRowErrorsFormat(t *testing.T) {
	t.Parallel()
	var e bulkRowErrors
	e.add("MANDATORY_NOT_FOUND", "Company")
	e.add("MANDATORY_NOT_FOUND", "Last_Name")
	e.add("DUPLICATE_DATA", "Email")
	e.add("MANDATORY_NOT_FOUND", "Company")
	if got, want := e.String(), "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}

func TestStateAt(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name string
		d    time.Duration
		step time.Duration
		want string
	}{
		{"at creation", 0, time.Second, "ADDED"},
		{"just before a step", 999 * time.Millisecond, time.Second, "ADDED"},
		{"one step", time.Second, time.Second, "QUEUED"},
		{"two steps", 2 * time.Second, time.Second, "IN PROGRESS"},
		{"three steps", 3 * time.Second, time.Second, "COMPLETED"},
		{"long after", time.Hour, time.Second, "COMPLETED"},
		{"clock behind", -time.Hour, time.Second, "ADDED"},
		{"no step", 0, 0, "COMPLETED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := bulkStateAt(t0, t0.Add(tc.d), tc.step, bulkReadStates); got != tc.want {
				t.Fatalf("%s, want %s", got, tc.want)
			}
		})
	}
}

func TestBulkIDSetBetween(t *testing.T) {
	t.Parallel()
	ids := []string{"10", "11", "12", "20", "21", "30", "5", "6", "100"}
	var set bulkIDSet
	for _, id := range ids {
		set.add(id)
	}
	if set.len() != len(ids) || len(set.runs) != 5 {
		t.Fatalf("len %d, runs %v", set.len(), set.runs)
	}
	tests := []struct {
		name   string
		lo, hi int
	}{
		{"all", 0, 9}, {"first run", 0, 3}, {"inside a run", 1, 2}, {"across runs", 2, 7},
		{"last", 8, 9}, {"empty", 4, 4}, {"past the end", 9, 20}, {"clipped", 7, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := ids[min(tc.lo, len(ids)):min(tc.hi, len(ids))]
			got := slices.Collect(set.between(tc.lo, tc.hi))
			if !slices.Equal(got, want) {
				t.Fatalf("between(%d, %d) = %v, want %v", tc.lo, tc.hi, got, want)
			}
		})
	}
	// Stopping early stops.
	n := 0
	for range set.between(0, 9) {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("iterated %d after break", n)
	}
}
