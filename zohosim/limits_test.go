package zohosim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreditsHeaderAndBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Credits: 10})
	exhausted := `{"code":"TOO_MANY_REQUESTS","details":{},"message":"the API credits for the 24 hour period are exhausted","status":"error"}`
	want := []string{"", "", "", "", "5", "4", "3", "2", "1", "0"}
	for i, h := range want {
		r := e.get(t, "/crm/v8/Accounts/"+id(1))
		if r.status != 200 || r.header.Get("X-API-CREDITS-REMAINING") != h {
			t.Fatalf("call %d: status %d, X-API-CREDITS-REMAINING %q, want %q", i+1, r.status, r.header.Get("X-API-CREDITS-REMAINING"), h)
		}
	}
	r := e.get(t, "/crm/v8/Accounts/"+id(1))
	assertReply(t, r, 429, exhausted)
	if r.header.Get("X-API-CREDITS-REMAINING") != "0" {
		t.Fatalf("429 without X-API-CREDITS-REMAINING: %v", r.header)
	}
	// Credits come back 24 hours after they were spent.
	e.clock.Advance(24*time.Hour + time.Minute)
	e.tok = mintToken(t, e.s, e.s.RESTCredential())
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 200, "")
}

func TestWriteCredits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	for _, n := range []int{1, 10, 11, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			items := make([]string, n)
			for i := range items {
				items[i] = `{"id":"` + id(i) + `","Phone":"1"}`
			}
			before := e.s.CreditsUsed()
			assertReply(t, e.put(t, "/crm/v8/Accounts", `{"data":[`+strings.Join(items, ",")+`]}`), 200, "")
			if got, want := e.s.CreditsUsed()-before, (n+9)/10; got != want {
				t.Fatalf("%d records cost %d credits, want %d", n, got, want)
			}
		})
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Concurrency: 1})
	pr, pw := io.Pipe()
	done := make(chan reply, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), "PUT", e.s.RESTURL()+"/crm/v8/Accounts", pr)
		req.Header.Set("Authorization", "Zoho-oauthtoken "+e.tok)
		resp, err := testClient.Do(req)
		if err != nil {
			done <- reply{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- reply{status: resp.StatusCode, body: b}
	}()
	_, _ = pw.Write([]byte(`{"data":[{"id":"` + id(1) + `",`))
	waitFor(t, "the slow write to hold the slot", func() bool { return e.s.limits.inFlight() == 1 })
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(2)), 429,
		`{"code":"TOO_MANY_REQUESTS","details":{},"message":"the concurrency limit of the user for the app is exceeded","status":"error"}`)
	_, _ = pw.Write([]byte(`"Phone":"1"}]}`))
	pw.Close()
	if r := <-done; r.status != 200 {
		t.Fatalf("slow write: %d %s", r.status, r.body)
	}
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(2)), 200, "")
}

func TestSubConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	for range subConcurrency {
		if !e.s.limits.acquire(true) {
			t.Fatal("could not take a sub-concurrency slot")
		}
	}
	sub := `{"code":"TOO_MANY_REQUESTS","details":{},"message":"the sub-concurrency limit of the user for the app is exceeded","status":"error"}`
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = `{"id":"` + id(i) + `","Phone":"1"}`
	}
	assertReply(t, call(t, "POST", e.s.RESTURL()+"/crm/v8/coql", e.tok, `{"select_query":"select id from Accounts limit 1"}`), 429, sub)
	assertReply(t, e.put(t, "/crm/v8/Accounts", `{"data":[`+strings.Join(eleven, ",")+`]}`), 429, sub)
	// Ten records and plain reads are not in the sub-concurrency group.
	assertReply(t, e.put(t, "/crm/v8/Accounts", `{"data":[`+strings.Join(eleven[:10], ",")+`]}`), 200, "")
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 200, "")
	if e.s.RecordWrites(id(10)) != 0 {
		t.Fatal("the refused 11-record write was applied")
	}
	for range subConcurrency {
		e.s.limits.release(true)
	}
	assertReply(t, call(t, "POST", e.s.RESTURL()+"/crm/v8/coql", e.tok, `{"select_query":"select id from Accounts where id = '`+id(1)+`'"}`), 200, "")
}

func TestEditionConcurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts Options
		want int
	}{
		{Options{}, 20}, // the default edition is Enterprise
		{Options{Edition: EditionFree}, 5},
		{Options{Edition: EditionStandard}, 10},
		{Options{Edition: EditionProfessional}, 15},
		{Options{Edition: EditionEnterprise}, 20},
		{Options{Edition: EditionUltimate}, 25},
		{Options{Edition: EditionFree, Concurrency: 7}, 7}, // an explicit limit wins
	}
	for _, tc := range tests {
		t.Run(string(tc.opts.Edition)+fmt.Sprint(tc.opts.Concurrency), func(t *testing.T) {
			tc.opts.Accounts = 1
			s := startSim(t, tc.opts)
			if got := s.Concurrency(); got.Limit != tc.want || got.SubLimit != subConcurrency {
				t.Fatalf("limits %+v, want %d and %d", got, tc.want, subConcurrency)
			}
		})
	}
	if _, err := Start(Options{Edition: "platinum"}); err == nil || !strings.Contains(err.Error(), "free") {
		t.Fatalf("unknown edition: %v", err)
	}
}

// holdSlot starts a write whose body is sent only when release is called,
// so it holds one concurrency slot of the org until then.
func holdSlot(t *testing.T, s *Sim, base, tok string) (release func() int) {
	t.Helper()
	before := s.limits.inFlight()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), "PUT", base+"/crm/v8/Accounts", pr)
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
		resp, err := testClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	_, _ = pw.Write([]byte(`{"data":[{"id":"` + id(0) + `",`))
	waitFor(t, "a write to hold a slot", func() bool { return s.limits.inFlight() > before })
	return func() int {
		_, _ = pw.Write([]byte(`"Phone":"1"}]}`))
		pw.Close()
		return <-done
	}
}

// TestConcurrencyIsOrgWide fills a Free org's 5 slots from the REST and BULK
// listeners: a call on any surface, the MCP look-alike's included, is then
// refused with 429, and the peak counts the demand.
func TestConcurrencyIsOrgWide(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Edition: EditionFree})
	var releases []func() int
	for i := range 5 {
		base := e.s.RESTURL()
		if i%2 == 1 {
			base = e.s.BulkURL()
		}
		releases = append(releases, holdSlot(t, e.s, base, e.tok))
	}
	tooMany := `{"code":"TOO_MANY_REQUESTS","details":{},"message":"the concurrency limit of the user for the app is exceeded","status":"error"}`
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 429, tooMany)
	assertReply(t, call(t, http.MethodGet, e.s.BulkURL()+"/crm/v8/org", e.tok, ""), 429, tooMany)
	c := mcpClient(t, e.s.MCPEndpoint(), "")
	text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": id(1)}})
	if !isErr || jsonOf(t, text)["code"] != "TOO_MANY_REQUESTS" {
		t.Fatalf("MCP tool call with the org's slots taken: %v %s", isErr, text)
	}
	got := e.s.Concurrency()
	if got.InFlight != 5 || got.Peak != 6 || got.Refused != 3 || got.Limit != 5 {
		t.Fatalf("concurrency %+v, want 5 in flight, peak 6, 3 refused", got)
	}
	for i, release := range releases {
		if st := release(); st != http.StatusOK {
			t.Fatalf("held write %d: %d", i, st)
		}
	}
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 200, "")
	if text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": id(1)}}); isErr {
		t.Fatalf("MCP after the slots were freed: %s", text)
	}
	if got := e.s.Concurrency(); got.Peak != 6 || got.InFlight != 0 {
		t.Fatalf("after: %+v, want the peak kept", got)
	}
	// The admin API shows and resets the counters.
	r := call(t, http.MethodGet, e.s.AdminURL()+"/admin/stats", "", "")
	var stats struct {
		Concurrency ConcurrencyStats `json:"concurrency"`
	}
	if err := json.Unmarshal(r.body, &stats); err != nil || stats.Concurrency.Peak != 6 || stats.Concurrency.Limit != 5 {
		t.Fatalf("admin stats: %v %s", err, r.body)
	}
	if r := call(t, http.MethodPost, e.s.AdminURL()+"/admin/concurrency/reset", "", ""); r.status != 200 {
		t.Fatalf("admin reset: %d", r.status)
	}
	if got := e.s.Concurrency(); got.Peak != 0 || got.Refused != 0 {
		t.Fatalf("after reset: %+v", got)
	}
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 200, "")
	if got := e.s.Concurrency(); got.Peak != 1 {
		t.Fatalf("one call after reset: peak %d, want 1", got.Peak)
	}
}

// TestSubConcurrencyBulkJobs: creating a bulk read or write job is in the
// sub-concurrency group (reference §9.3 "bulk").
func TestSubConcurrencyBulkJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	for range subConcurrency {
		if !e.s.limits.acquire(true) {
			t.Fatal("could not take a sub-concurrency slot")
		}
	}
	sub := `{"code":"TOO_MANY_REQUESTS","details":{},"message":"the sub-concurrency limit of the user for the app is exceeded","status":"error"}`
	before := e.s.CreditsUsed()
	assertReply(t, call(t, http.MethodPost, e.s.BulkURL()+"/crm/bulk/v8/read", e.tok, `{"query":{"module":{"api_name":"Accounts"}}}`), 429, sub)
	if e.s.CreditsUsed() != before {
		t.Fatal("a refused bulk read job was charged")
	}
	if got := e.s.Concurrency(); got.SubPeak != subConcurrency+1 {
		t.Fatalf("sub peak %d, want %d", got.SubPeak, subConcurrency+1)
	}
	for range subConcurrency {
		e.s.limits.release(true)
	}
	if r := call(t, http.MethodPost, e.s.BulkURL()+"/crm/bulk/v8/read", e.tok, `{"query":{"module":{"api_name":"Accounts"}}}`); r.status != http.StatusCreated {
		t.Fatalf("bulk read with a free slot: %d %s", r.status, r.body)
	}
}

// TestIssue12APIsShareTheOrgLimits: the metadata, related-records and insert
// APIs, over REST and through the MCP look-alike's tools, are held to the
// org-wide concurrency limit and charged no credits when refused; once a
// slot is free they cost what limits.go documents (1 credit a call, an
// insert 1 per 10 records), and an insert of more than 10 records is in the
// sub-concurrency group.
func TestIssue12APIsShareTheOrgLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Edition: EditionFree})
	for range 5 {
		if !e.s.limits.acquire(false) {
			t.Fatal("could not take a concurrency slot")
		}
	}
	tooMany := `{"code":"TOO_MANY_REQUESTS","details":{},"message":"the concurrency limit of the user for the app is exceeded","status":"error"}`
	insert := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"Last_Name":"Limit%d"}`, i)
		}
		return `{"data":[` + strings.Join(items, ",") + `]}`
	}
	rest := []struct {
		name, method, path, body string
		credits                  int
	}{
		{"modules", http.MethodGet, "/crm/v8/settings/modules", "", 1},
		{"fields", http.MethodGet, "/crm/v8/settings/fields?module=Contacts", "", 1},
		{"related lists", http.MethodGet, "/crm/v8/settings/related_lists?module=Accounts", "", 1},
		{"related records", http.MethodGet, "/crm/v8/Accounts/" + id(1) + "/Contacts?fields=Last_Name", "", 1},
		{"insert", http.MethodPost, "/crm/v8/Contacts", insert(1), 1},
	}
	before := e.s.CreditsUsed()
	for _, tc := range rest {
		assertReply(t, call(t, tc.method, e.s.RESTURL()+tc.path, e.tok, tc.body), 429, tooMany)
	}
	c := mcpClient(t, e.s.MCPEndpoint(), "")
	tools := []struct {
		name string
		args map[string]any
	}{
		{"ZohoCRM_getModules", map[string]any{}},
		{"ZohoCRM_getFields", map[string]any{"query_params": map[string]any{"module": "Deals"}}},
		{"ZohoCRM_getRelatedRecords", map[string]any{"path_variables": map[string]any{
			"parentRecordModule": "Accounts", "parentRecord": id(1), "relatedList": "Contacts"},
			"query_params": map[string]any{"fields": "Last_Name"}}},
		{"ZohoCRM_createRecords", map[string]any{"path_variables": map[string]any{"module": "Leads"},
			"body": map[string]any{"data": []any{map[string]any{"Last_Name": "L", "Company": "C"}}}}},
	}
	for _, tc := range tools {
		if text, isErr := callTool(t, c, tc.name, tc.args); !isErr || jsonOf(t, text)["code"] != "TOO_MANY_REQUESTS" {
			t.Fatalf("%s with the org's slots taken: %v %s", tc.name, isErr, text)
		}
	}
	if got := e.s.Concurrency(); got.Refused != len(rest)+len(tools) || got.Peak != 6 {
		t.Fatalf("concurrency %+v, want %d refused and peak 6", got, len(rest)+len(tools))
	}
	if e.s.CreditsUsed() != before {
		t.Fatalf("refused calls were charged %d credits", e.s.CreditsUsed()-before)
	}
	for range 5 {
		e.s.limits.release(false)
	}
	for _, tc := range rest {
		before := e.s.CreditsUsed()
		if r := call(t, tc.method, e.s.RESTURL()+tc.path, e.tok, tc.body); r.status >= 300 {
			t.Fatalf("%s with a free slot: %d %s", tc.name, r.status, r.body)
		}
		if got := e.s.CreditsUsed() - before; got != tc.credits {
			t.Fatalf("%s cost %d credits, want %d", tc.name, got, tc.credits)
		}
	}
	for _, tc := range tools {
		if text, isErr := callTool(t, c, tc.name, tc.args); isErr {
			t.Fatalf("%s with a free slot: %s", tc.name, text)
		}
	}
	// An insert of 11 records is a heavy call: refused while the 10
	// sub-concurrency slots are taken, and charged 2 credits once one frees.
	for range subConcurrency {
		if !e.s.limits.acquire(true) {
			t.Fatal("could not take a sub-concurrency slot")
		}
	}
	before = e.s.CreditsUsed()
	assertReply(t, call(t, http.MethodPost, e.s.RESTURL()+"/crm/v8/Contacts", e.tok, insert(11)), 429,
		`{"code":"TOO_MANY_REQUESTS","details":{},"message":"the sub-concurrency limit of the user for the app is exceeded","status":"error"}`)
	if e.s.CreditsUsed() != before {
		t.Fatal("a refused insert was charged")
	}
	for range subConcurrency {
		e.s.limits.release(true)
	}
	if r := call(t, http.MethodPost, e.s.RESTURL()+"/crm/v8/Contacts", e.tok, insert(11)); r.status != http.StatusCreated {
		t.Fatalf("insert of 11 with a free slot: %d %s", r.status, r.body)
	}
	if got := e.s.CreditsUsed() - before; got != 2 {
		t.Fatalf("insert of 11 cost %d credits, want 2", got)
	}
}

// TestServeTimeHoldsTheSlot: with ServeTime, a call holds its concurrency
// slot while Zoho serves it, so calls that overlap in time are refused past
// the limit (a latency fault, delayed before the API, would not be).
func TestServeTimeHoldsTheSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Concurrency: 2, ServeTime: 500 * time.Millisecond})
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = call(t, http.MethodGet, e.s.RESTURL()+"/crm/v8/Accounts/"+id(1), e.tok, "").status
		})
	}
	wg.Wait()
	refused := 0
	for _, st := range statuses {
		if st == http.StatusTooManyRequests {
			refused++
		}
	}
	if got := e.s.Concurrency(); got.Peak < 3 || refused == 0 {
		t.Errorf("statuses %v, peak %d; want overlapping calls past the limit of 2 refused", statuses, got.Peak)
	}
}
