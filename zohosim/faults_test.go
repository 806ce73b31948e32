package zohosim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond every millisecond for up to two seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // generous: the machine may be loaded
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFaultAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  Fault
		status int
		want   string
	}{
		{"5xx", Fault{Mode: Fault5xx}, 500,
			`{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}`},
		{"429", Fault{Mode: Fault429}, 429,
			`{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many requests: the number of API requests or the concurrency limit is exceeded","status":"error"}`},
		{"expired tokens", Fault{Mode: FaultExpiredTokens}, 401,
			`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{})
			e.s.SetFault(SurfaceREST, tc.fault)
			assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), tc.status, tc.want)
			// The bulk listener serves the same API without the fault.
			bt := mintToken(t, e.s, e.s.BulkCredential())
			assertReply(t, call(t, "GET", e.s.BulkURL()+"/crm/v8/Accounts/"+id(1)+"?fields=Phone", bt, ""), 200,
				`{"data":[{"id":"`+id(1)+`","Phone":"+1 555 0001"}]}`)
			e.s.ClearFaults()
			assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 200, "")
		})
	}
}

func TestFaultTimes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.SetFault(SurfaceREST, Fault{Mode: Fault5xx, Times: 2})
	got := []int{}
	for range 4 {
		got = append(got, e.get(t, "/crm/v8/Accounts/"+id(1)).status)
	}
	if got[0] != 500 || got[1] != 500 || got[2] != 200 || got[3] != 200 {
		t.Fatalf("statuses %v, want [500 500 200 200]", got)
	}
	if _, ok := e.s.faultFor(SurfaceREST); ok {
		t.Fatal("fault still set after its Times ran out")
	}
}

func TestFaultDownRefusesThenHealsOnSamePort(t *testing.T) {
	t.Parallel()
	for _, sf := range Surfaces {
		t.Run(string(sf), func(t *testing.T) {
			t.Parallel()
			s := startSim(t, Options{})
			base := s.baseURL(sf)
			s.SetFault(sf, Fault{Mode: FaultDown})
			_, err := tryCall(context.Background(), http.MethodGet, base+"/", "", "")
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("err %v, want connection refused", err)
			}
			s.ClearFaults()
			if s.baseURL(sf) != base {
				t.Fatalf("healed on %s, want %s", s.baseURL(sf), base)
			}
			if _, err := tryCall(context.Background(), http.MethodGet, base+"/", "", ""); err != nil {
				t.Fatalf("after healing: %v", err)
			}
		})
	}
}

func TestFaultDownEndsHungRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultHang})
	done := make(chan error, 1)
	go func() {
		_, err := tryCall(context.Background(), "GET", e.s.RESTURL()+"/crm/v8/Accounts/"+id(1), e.tok, "")
		done <- err
	}()
	waitFor(t, "the hung request", func() bool { return e.s.RequestCount(SurfaceREST) == 1 })
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultDown})
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("hung request got an answer")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("taking the surface down left the request hanging")
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultLatency, Latency: 30 * time.Millisecond})
	start := time.Now()
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 200, "")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("answered in %s, want >= 30ms", d)
	}
	// The delay honours the client's deadline and the handler ends.
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultLatency, Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := tryCall(ctx, "GET", e.s.RESTURL()+"/crm/v8/Accounts/"+id(1), e.tok, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	waitFor(t, "the delayed handler to end", func() bool {
		reqs := e.s.Requests()
		return len(reqs) == 3 && reqs[2].Status == 0 && e.s.limits.inFlight() == 0
	})
}

func TestFaultHang(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultHang})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := tryCall(ctx, "PUT", e.s.RESTURL()+"/crm/v8/Accounts/"+id(1), e.tok, `{"data":[{"Phone":"1"}]}`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	if n := e.s.RecordWrites(id(1)); n != 0 {
		t.Fatalf("hang applied %d writes, want 0", n)
	}
}

// TestFaultHangEndsWhenTheClientLeaves: a hung request whose client gives
// up must end its handler, body or not. net/http notices a client going
// away only once the handler has read the body; before hang read it, every
// POST the soak's tier 1 hang caught kept a goroutine and a socket of the
// sandbox until the process exited.
func TestFaultHangEndsWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	for _, mode := range []FaultMode{FaultHang, FaultHangAfterApply} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{})
			e.s.SetFault(SurfaceREST, Fault{Mode: mode})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			_, err := tryCall(ctx, "POST", e.s.RESTURL()+"/crm/v8/Accounts/search?criteria=x", e.tok, `{"data":[{"Phone":"1"}]}`)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err %v, want deadline exceeded", err)
			}
			// The log lets go of a request when its handler ends.
			waitFor(t, "the hung handler to end", func() bool {
				l := e.s.reqlog
				l.mu.Lock()
				defer l.mu.Unlock()
				for _, en := range l.entries {
					if en.Surface == SurfaceREST && en.Method == "POST" {
						return en.req == nil
					}
				}
				return false
			})
		})
	}
}

func TestFaultHangAfterApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultHangAfterApply, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := tryCall(ctx, "PUT", e.s.RESTURL()+"/crm/v8/Accounts/"+id(1), e.tok, `{"data":[{"Phone":"+1 555 7777"}]}`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	waitFor(t, "the write", func() bool { return e.s.RecordWrites(id(1)) == 1 })
	if r, _ := e.s.Store().Get(id(1)); r["Phone"] != "+1 555 7777" {
		t.Fatalf("Phone %v: the write was not applied", r["Phone"])
	}
	// Times: 1 — the next request is answered.
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)+"?fields=Phone"), 200, `{"data":[{"id":"`+id(1)+`","Phone":"+1 555 7777"}]}`)
}

func TestFaultMalformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultMalformed})
	for _, path := range []string{"/crm/v8/Accounts/" + id(1), "/crm/v8/Accounts/5725767000009999999"} {
		r := e.get(t, path)
		var v any
		if r.status != 200 || json.Unmarshal(r.body, &v) == nil || len(r.body) == 0 {
			t.Fatalf("%s: status %d body %q, want 200 with broken JSON", path, r.status, r.body)
		}
	}
}

func TestFaultExpiredTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	invalid := `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultExpiredTokens})
	assertReply(t, e.get(t, "/crm/v8/org"), 401, invalid)
	// Refreshing works, but new tokens fail too while the fault is set.
	tok := mintToken(t, e.s, e.s.RESTCredential())
	assertReply(t, call(t, "GET", e.s.RESTURL()+"/crm/v8/org", tok, ""), 401, invalid)
	e.s.ClearFaults()
	assertReply(t, call(t, "GET", e.s.RESTURL()+"/crm/v8/org", tok, ""), 200, "")

	// Set on the OAuth surface it holds for every API surface.
	e.s.SetFault(SurfaceOAuth, Fault{Mode: FaultExpiredTokens})
	assertReply(t, call(t, "GET", e.s.RESTURL()+"/crm/v8/org", tok, ""), 401, invalid)
	bt := mintToken(t, e.s, e.s.BulkCredential())
	assertReply(t, call(t, "GET", e.s.BulkURL()+"/crm/v8/org", bt, ""), 401, invalid)

	// On the MCP surface the look-alike answers 401 itself.
	e.s.ClearFaults()
	e.s.SetFault(SurfaceMCP, Fault{Mode: FaultExpiredTokens})
	r := call(t, "POST", e.s.MCPEndpoint(), "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	assertReply(t, r, 401, `{"error":"invalid_token","error_description":"the access token has expired"}`)
}

func TestFaultRefreshCap(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	s.SetFault(SurfaceOAuth, Fault{Mode: FaultRefreshCap, Times: 1})
	assertReply(t, refreshGrant(t, s, s.RESTCredential()), 200, accessDeniedJSON)
	if !strings.Contains(string(refreshGrant(t, s, s.RESTCredential()).body), "access_token") {
		t.Fatal("refresh still throttled after Times ran out")
	}
	if s.RefreshCount() != 2 {
		t.Fatalf("RefreshCount %d, want 2", s.RefreshCount())
	}
}

func TestSetFaultIgnoresUnknown(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	s.SetFault("ftp", Fault{Mode: Fault5xx})
	s.SetFault(SurfaceREST, Fault{Mode: "explode"})
	for _, sf := range Surfaces {
		if f, ok := s.faultFor(sf); ok {
			t.Fatalf("%s has fault %v", sf, f)
		}
	}
	s.SetFault(SurfaceREST, Fault{Mode: Fault429})
	s.SetFault(SurfaceREST, Fault{}) // zero Mode clears
	if _, ok := s.faultFor(SurfaceREST); ok {
		t.Fatal("zero Mode did not clear the fault")
	}
}

func TestCloseDoesNotWaitForHungRequests(t *testing.T) {
	t.Parallel()
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok := mintToken(t, s, s.RESTCredential())
	s.SetFault(SurfaceREST, Fault{Mode: FaultHang})
	s.SetFault(SurfaceMCP, Fault{Mode: FaultHangAfterApply})
	errs := make(chan error, 2)
	go func() {
		_, err := tryCall(context.Background(), "GET", s.RESTURL()+"/crm/v8/org", tok, "")
		errs <- err
	}()
	go func() {
		_, err := tryCall(context.Background(), "POST", s.MCPEndpoint(), "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
		errs <- err
	}()
	waitFor(t, "two hung requests", func() bool {
		return s.RequestCount(SurfaceREST) == 1 && s.RequestCount(SurfaceMCP) == 1
	})
	closed := make(chan struct{})
	go func() { _ = s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close hung")
	}
	for range 2 {
		if err := <-errs; err == nil {
			t.Fatal("a hung request got an answer at Close")
		}
	}
}

func TestPanicBecomesInternalError(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	h := s.surfaceHandler(SurfaceREST, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/crm/v8/org", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	assertJSON(t, rec.Body.Bytes(), `{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}`)
	reqs := s.Requests()
	if reqs[len(reqs)-1].Status != 500 {
		t.Fatalf("logged status %d, want 500", reqs[len(reqs)-1].Status)
	}
}

func TestFaultHangAfterApplyReadsJustHang(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.SetFault(SurfaceREST, Fault{Mode: FaultHangAfterApply})
	before := e.s.CreditsUsed()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := tryCall(ctx, "GET", e.s.RESTURL()+"/crm/v8/Accounts/"+id(1), e.tok, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	if e.s.CreditsUsed() != before {
		t.Fatal("a hung read was processed (credits spent)")
	}
}

func TestFaultTogglingRacesClose(t *testing.T) {
	t.Parallel()
	for range 5 {
		s, err := Start(Options{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 20 {
				if i%2 == 0 {
					s.SetFault(SurfaceREST, Fault{Mode: FaultDown})
				} else {
					s.ClearFaults()
				}
			}
		}()
		_ = s.Close()
		<-done
		// goleak (TestMain) fails the package if a listener outlived Close.
		if _, err := tryCall(context.Background(), "GET", s.RESTURL()+"/", "", ""); err == nil {
			t.Fatal("REST listener serves after Close")
		}
	}
}
