package zohosim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// These tests drive the bulk API through Start: real listeners, OAuth
// tokens, credits, faults and the request log.

// startBulkSim starts an emulator on a fake clock and returns it with a
// bulk-tier access token obtained from its token endpoint.
func startBulkSim(t *testing.T, opts Options) (*Sim, *fakeClock, string) {
	t.Helper()
	clock := newClock()
	opts.Now = clock.Now
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := s.BulkCredential()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {c.ClientID},
		"client_secret": {c.ClientSecret}, "refresh_token": {c.RefreshToken}}
	resp, err := testClient.PostForm(s.AccountsURL()+"/oauth/v2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		APIDomain   string `json:"api_domain"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v %+v", err, tok)
	}
	if tok.APIDomain != s.BulkURL() {
		t.Fatalf("api_domain %s, want %s", tok.APIDomain, s.BulkURL())
	}
	return s, clock, tok.AccessToken
}

func authHeader(tok string) http.Header {
	return http.Header{"Authorization": {"Zoho-oauthtoken " + tok}}
}

func TestSimBulkReadPast200k(t *testing.T) {
	// Not parallel, so the goroutine check sees this test's goroutines only.
	ignore := goleak.IgnoreCurrent()
	s, clock, tok := startBulkSim(t, Options{Accounts: 200_001})
	defer func() {
		_ = s.Close()
		goleak.VerifyNone(t, ignore)
	}()
	before := s.CreditsUsed()
	st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/read", authHeader(tok),
		strings.NewReader(`{"query":{"module":{"api_name":"Accounts"},"fields":["Account_Name","Billing_City"]}}`))
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, b)
	}
	if got := s.CreditsUsed() - before; got != bulkReadCredits {
		t.Fatalf("bulk read initialize cost %d credits, want %d", got, bulkReadCredits)
	}
	id := bulkReadJobID(t, bulkDecode(t, b))
	status := func(base, id string) map[string]any {
		st, _, b := bulkDo(t, "GET", base+"/crm/bulk/v8/read/"+id, authHeader(tok), nil)
		if st != http.StatusOK {
			t.Fatalf("status: %d %s", st, b)
		}
		return bulkDecode(t, b)["data"].([]any)[0].(map[string]any)
	}
	for _, want := range []string{"ADDED", "QUEUED", "IN PROGRESS"} {
		if got := status(s.BulkURL(), id)["state"]; got != want {
			t.Fatalf("state %v, want %s", got, want)
		}
		clock.Advance(time.Second) // Options.JobStep defaults to 1s
	}
	// The job belongs to the org, not to the listener: the REST listener sees it too.
	d := status(s.RESTURL(), id)
	res := d["result"].(map[string]any)
	tokn, _ := res["next_page_token"].(string)
	if d["state"] != "COMPLETED" || res["count"] != 200000.0 || res["per_page"] != 200000.0 ||
		res["more_records"] != true || tokn == "" || res["download_url"] != "/crm/bulk/v8/read/"+id+"/result" {
		t.Fatalf("page 1: %v", d)
	}

	st, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/read", authHeader(tok), strings.NewReader(
		`{"query":{"module":{"api_name":"Accounts"},"fields":["Account_Name","Billing_City"],"page_token":"`+tokn+`"}}`))
	if st != http.StatusCreated {
		t.Fatalf("create page 2: %d %s", st, b)
	}
	id2 := bulkReadJobID(t, bulkDecode(t, b))
	clock.Advance(3 * time.Second)
	d = status(s.BulkURL(), id2)
	res = d["result"].(map[string]any)
	if res["page"] != 2.0 || res["count"] != 1.0 || res["more_records"] != false || res["next_page_token"] != nil {
		t.Fatalf("page 2: %v", d)
	}
	st, hdr, b := bulkDo(t, "GET", s.BulkURL()+res["download_url"].(string), authHeader(tok), nil)
	if st != http.StatusOK || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s", st, b)
	}
	rows := bulkUnzipCSV(t, b, id2+".csv")
	last, _ := s.Store().Get("5725767000001200000")
	want := [][]string{{"id", "Account_Name", "Billing_City"},
		{"5725767000001200000", last["Account_Name"].(string), last["Billing_City"].(string)}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("page 2 rows %q, want %q", rows, want)
	}
}

func TestSimBulkAuthAndRouting(t *testing.T) {
	t.Parallel()
	s, _, tok := startBulkSim(t, Options{Accounts: 5})
	tests := []struct {
		name, method, path string
		hdr                http.Header
		status             int
		code               string
	}{
		{"read without token", "POST", "/crm/bulk/v8/read", nil, 401, "AUTHENTICATION_FAILURE"},
		{"read status bad token", "GET", "/crm/bulk/v8/read/1", authHeader("1000.nope.nope"), 401, "INVALID_TOKEN"},
		{"read result without token", "GET", "/crm/bulk/v8/read/1/result", nil, 401, "AUTHENTICATION_FAILURE"},
		{"upload without token", "POST", "/crm/v8/upload", nil, 401, "AUTHENTICATION_FAILURE"},
		{"write without token", "POST", "/crm/bulk/v8/write", nil, 401, "AUTHENTICATION_FAILURE"},
		{"write status without token", "GET", "/crm/bulk/v8/write/1", nil, 401, "AUTHENTICATION_FAILURE"},
		{"unknown read job", "GET", "/crm/bulk/v8/read/42", authHeader(tok), 404, "RESOURCE_NOT_FOUND"},
		{"unknown read result", "GET", "/crm/bulk/v8/read/42/result", authHeader(tok), 404, "RESOURCE_NOT_FOUND"},
		{"unknown write job", "GET", "/crm/bulk/v8/write/42", authHeader(tok), 400, "RESOURCE_NOT_FOUND"},
		{"write result is not on the API domain", "GET", "/crm/bulk/v8/write/42/result", authHeader(tok), 404, "INVALID_URL_PATTERN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := bulkDo(t, tc.method, s.BulkURL()+tc.path, tc.hdr, strings.NewReader("{}"))
			if m := bulkDecode(t, b); st != tc.status || m["code"] != tc.code || m["status"] != "error" {
				t.Fatalf("got %d %s, want %d %s", st, b, tc.status, tc.code)
			}
		})
	}
}

func TestSimBulkDownloadLimit(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 3})
	_, _, b := bulkDo(t, "POST", s.RESTURL()+"/crm/bulk/v8/read", authHeader(tok),
		strings.NewReader(`{"query":{"module":{"api_name":"Accounts"}}}`))
	id := bulkReadJobID(t, bulkDecode(t, b))
	clock.Advance(3 * time.Second)
	for i := range 11 {
		st, _, b := bulkDo(t, "GET", s.RESTURL()+"/crm/bulk/v8/read/"+id+"/result", authHeader(tok), nil)
		want := http.StatusOK
		if i == 10 {
			want = http.StatusTooManyRequests
		}
		if st != want {
			t.Fatalf("download %d: %d %s", i+1, st, b)
		}
		if st == http.StatusTooManyRequests {
			if m := bulkDecode(t, b); m["code"] != "TOO_MANY_REQUESTS" || m["status"] != "error" {
				t.Fatalf("429 body %s", b)
			}
		}
	}
}

func TestSimBulkWriteEndToEnd(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 10})
	ids := s.Store().IDs()
	ct, body := bulkMultipart(t, "file", "upd.zip", bulkZipOf(t, "upd.csv",
		"id,Account_Name,Employees\n"+ids[0]+",Renamed Ltd,11\n"+ids[1]+",,x\n"))
	hdr := func(feature, org string) http.Header {
		h := bulkUploadHeaders(ct, feature, org)
		h.Set("Authorization", "Zoho-oauthtoken "+tok)
		return h
	}
	st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", hdr("bulk-write", ""), bytes.NewReader(body))
	if m := bulkDecode(t, b); st != 400 || m["ERROR_CODE"] != 400.0 {
		t.Fatalf("upload without X-CRM-ORG: %d %s", st, b)
	}
	st, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", hdr("bulk-write", s.OrgID()), bytes.NewReader(body))
	if st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, b)
	}
	fileID := bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)

	before := s.CreditsUsed()
	st, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/write", authHeader(tok), strings.NewReader(
		`{"operation":"update","ignore_empty":true,"resource":[{"type":"data","module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id"}]}`))
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, b)
	}
	if got := s.CreditsUsed() - before; got != bulkWriteCredits {
		t.Fatalf("bulk write initialize cost %d credits, want %d", got, bulkWriteCredits)
	}
	jobID := bulkDecode(t, b)["details"].(map[string]any)["id"].(string)
	clock.Advance(2 * time.Second)
	st, _, b = bulkDo(t, "GET", s.BulkURL()+"/crm/bulk/v8/write/"+jobID, authHeader(tok), nil)
	m := bulkDecode(t, b)
	if st != http.StatusOK || m["status"] != "COMPLETED" {
		t.Fatalf("status: %d %s", st, b)
	}
	dl := m["result"].(map[string]any)["download_url"].(string)
	if want := s.DownloadURL() + "/v2/crm/" + s.OrgID() + "/bulk-write/" + jobID + "/" + jobID + ".zip"; dl != want {
		t.Fatalf("download_url %s: want %s, an absolute URL on the download host", dl, want)
	}
	st, _, b = bulkDo(t, "GET", dl, authHeader(tok), nil)
	if st != http.StatusOK {
		t.Fatalf("result: %d %s", st, b)
	}
	rows := bulkUnzipCSV(t, b, "")
	want := [][]string{{"id", "Account_Name", "Employees", "RECORD_ID", "STATUS", "ERRORS"},
		{ids[0], "Renamed Ltd", "11", ids[0], "UPDATED", ""},
		{ids[1], "", "x", ids[1], "SKIPPED", "INVALID_DATA-Employees"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	if r, _ := s.Store().Get(ids[0]); r["Account_Name"] != "Renamed Ltd" || r["Employees"] != int64(11) {
		t.Fatalf("store: %v", r)
	}
	if s.RecordWrites(ids[0]) != 1 || s.RecordWrites(ids[1]) != 0 {
		t.Fatalf("RecordWrites %d %d, want 1 0", s.RecordWrites(ids[0]), s.RecordWrites(ids[1]))
	}
	// The record reads back changed through the records API too.
	st, _, b = bulkDo(t, "GET", s.RESTURL()+"/crm/v8/Accounts/"+ids[0], authHeader(tok), nil)
	if st == http.StatusOK && !strings.Contains(string(b), "Renamed Ltd") {
		t.Fatalf("records API after bulk write: %s", b)
	}
}

func TestSimBulkFaults(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 5})
	create := `{"query":{"module":{"api_name":"Accounts"}}}`

	// 5xx: nothing processed, nothing charged.
	s.SetFault(SurfaceBulk, Fault{Mode: Fault5xx, Times: 1})
	before := s.CreditsUsed()
	st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/read", authHeader(tok), strings.NewReader(create))
	if st != http.StatusInternalServerError || s.CreditsUsed() != before {
		t.Fatalf("5xx fault: %d %s, credits %d → %d", st, b, before, s.CreditsUsed())
	}

	// hang_after_apply on a write job: the job is created (and charged), the
	// answer never comes; the job then runs and its rows reach the store.
	id := s.Store().IDs()[2]
	ct, body := bulkMultipart(t, "file", "h.zip", bulkZipOf(t, "h.csv", "id,Phone\n"+id+",+1 555 9999\n"))
	h := bulkUploadHeaders(ct, "bulk-write", s.OrgID())
	h.Set("Authorization", "Zoho-oauthtoken "+tok)
	st, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", h, bytes.NewReader(body))
	if st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, b)
	}
	fileID := bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
	s.SetFault(SurfaceBulk, Fault{Mode: FaultHangAfterApply, Times: 1})
	before = s.CreditsUsed()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.BulkURL()+"/crm/bulk/v8/write", strings.NewReader(
		`{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id"}]}`))
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	resp, err := testClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("hang_after_apply answered %d", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang_after_apply: %v", err)
	}
	if got := s.CreditsUsed() - before; got != bulkWriteCredits {
		t.Fatalf("the hung create was charged %d credits, want %d (it was applied)", got, bulkWriteCredits)
	}
	// The hung job's id came back nowhere; it is the next id after the file's.
	clock.Advance(2 * time.Second)
	jobID := bumpID(t, fileID)
	st, _, b = bulkDo(t, "GET", s.BulkURL()+"/crm/bulk/v8/write/"+jobID, authHeader(tok), nil)
	if st != http.StatusOK || bulkDecode(t, b)["status"] != "COMPLETED" {
		t.Fatalf("hung job status: %d %s", st, b)
	}
	if r, _ := s.Store().Get(id); r["Phone"] != "+1 555 9999" || s.RecordWrites(id) != 1 {
		t.Fatalf("hung job did not apply: %v, writes %d", r["Phone"], s.RecordWrites(id))
	}
}

// bumpID returns the id after id (bulk ids are handed out in sequence).
func bumpID(t *testing.T, id string) string {
	t.Helper()
	n, ok := ParseID(id)
	if !ok {
		t.Fatalf("bad id %q", id)
	}
	return strconv.FormatInt(n+1, 10)
}

func TestSimBulkCreditsExhausted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		credits int
		path    string
		body    func(fileID string) string
		ok      int // creates that succeed before the 429
	}{
		{"bulk read costs 50", 120, "/crm/bulk/v8/read",
			func(string) string { return `{"query":{"module":{"api_name":"Accounts"}}}` }, 2},
		{"bulk write costs 500", 1200, "/crm/bulk/v8/write",
			func(f string) string {
				return `{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"` + f + `","find_by":"id"}]}`
			}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clock, tok := startBulkSim(t, Options{Accounts: 3, Credits: tc.credits})
			id := s.Store().IDs()[0]
			ct, body := bulkMultipart(t, "file", "c.zip", bulkZipOf(t, "c.csv", "id,Employees\n"+id+",5\n"))
			h := bulkUploadHeaders(ct, "bulk-write", s.OrgID())
			h.Set("Authorization", "Zoho-oauthtoken "+tok)
			st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", h, bytes.NewReader(body))
			if st != http.StatusOK {
				t.Fatalf("upload: %d %s", st, b)
			}
			fileID := bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
			for i := 0; i <= tc.ok; i++ {
				before := s.CreditsUsed()
				st, hdr, b := bulkDo(t, "POST", s.BulkURL()+tc.path, authHeader(tok), strings.NewReader(tc.body(fileID)))
				if i < tc.ok {
					if st != http.StatusCreated {
						t.Fatalf("create %d: %d %s", i+1, st, b)
					}
					continue
				}
				m := bulkDecode(t, b)
				if st != http.StatusTooManyRequests || m["code"] != "TOO_MANY_REQUESTS" || m["status"] != "error" {
					t.Fatalf("create past the budget: %d %s", st, b)
				}
				if hdr.Get("X-API-CREDITS-REMAINING") == "" {
					t.Fatal("no X-API-CREDITS-REMAINING on the 429")
				}
				if s.CreditsUsed() != before {
					t.Fatalf("the refused create spent %d credits", s.CreditsUsed()-before)
				}
			}
			// Only the accepted jobs run: the write jobs update the record once each.
			clock.Advance(3 * time.Second)
			if tc.path == "/crm/bulk/v8/write" {
				for j := range tc.ok {
					bulkDo(t, "GET", s.BulkURL()+"/crm/bulk/v8/write/"+bumpID(t, addID(t, fileID, j)), authHeader(tok), nil)
				}
				if got := s.RecordWrites(id); got != tc.ok {
					t.Fatalf("RecordWrites %d, want %d", got, tc.ok)
				}
			}
		})
	}
}

// addID returns id + n.
func addID(t *testing.T, id string, n int) string {
	t.Helper()
	v, ok := ParseID(id)
	if !ok {
		t.Fatalf("bad id %q", id)
	}
	return strconv.FormatInt(v+int64(n), 10)
}

// TestSimBulkWriteAppliesOnce polls a completed job from many goroutines at
// once: its rows must reach the store exactly once.
func TestSimBulkWriteAppliesOnce(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 50})
	ids := s.Store().IDs()
	var csvText strings.Builder
	csvText.WriteString("id,Employees\n")
	for i, id := range ids {
		csvText.WriteString(id + "," + strconv.Itoa(i+1) + "\n")
	}
	ct, body := bulkMultipart(t, "file", "once.zip", bulkZipOf(t, "once.csv", csvText.String()))
	h := bulkUploadHeaders(ct, "bulk-write", s.OrgID())
	h.Set("Authorization", "Zoho-oauthtoken "+tok)
	_, _, b := bulkDo(t, "POST", s.RESTURL()+"/crm/v8/upload", h, bytes.NewReader(body))
	fileID := bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
	_, _, b = bulkDo(t, "POST", s.RESTURL()+"/crm/bulk/v8/write", authHeader(tok), strings.NewReader(
		`{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id"}]}`))
	jobID := bulkDecode(t, b)["details"].(map[string]any)["id"].(string)
	clock.Advance(2 * time.Second)
	var wg sync.WaitGroup
	counts := make([]string, 8)
	for g := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := s.BulkURL() + "/crm/bulk/v8/write/" + jobID
			if g%2 == 1 {
				u = s.DownloadURL() + "/v2/crm/" + s.OrgID() + "/bulk-write/" + jobID + "/" + jobID + ".zip"
			}
			r, err := tryCall(context.Background(), "GET", u, tok, "")
			if err != nil || r.status != http.StatusOK {
				counts[g] = "failed"
				return
			}
			counts[g] = "ok"
		}()
	}
	wg.Wait()
	for g, c := range counts {
		if c != "ok" {
			t.Fatalf("poller %d %s", g, c)
		}
	}
	for i, id := range ids {
		if w := s.RecordWrites(id); w != 1 {
			t.Fatalf("record %s written %d times", id, w)
		}
		if r, _ := s.Store().Get(id); r["Employees"] != int64(i+1) {
			t.Fatalf("record %s Employees %v", id, r["Employees"])
		}
	}
}
