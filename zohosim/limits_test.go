package zohosim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
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
