package zohosim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	admin := e.s.AdminURL()
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"set fault", "POST", "/admin/faults", `{"surface":"rest","mode":"5xx","times":1}`, 200,
			`{"surface":"rest","mode":"5xx","times":1}`},
		{"list faults", "GET", "/admin/faults", "", 200, `[{"surface":"rest","mode":"5xx","times":1}]`},
		{"unknown surface", "POST", "/admin/faults", `{"surface":"ftp","mode":"5xx"}`, 400,
			`{"error":"unknown surface \"ftp\"; use one of [oauth rest bulk mcp download mcp_auth]"}`},
		{"unknown mode", "POST", "/admin/faults", `{"surface":"rest","mode":"explode"}`, 400,
			`{"error":"unknown mode \"explode\"; use one of [down 5xx 429 latency hang hang_after_apply malformed expired_tokens refresh_cap]"}`},
		{"negative times", "POST", "/admin/faults", `{"surface":"rest","mode":"5xx","times":-1}`, 400,
			`{"error":"latency_ms and times must not be negative"}`},
		{"not JSON", "POST", "/admin/faults", `surface=rest`, 400, ""},
		{"unknown endpoint", "GET", "/admin/nope", "", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, admin+tc.path, "", tc.body)
			assertReply(t, r, tc.status, tc.want)
		})
	}
	// The fault set over HTTP is in force (once: times 1).
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 500, "")
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), 200, "")

	// down over HTTP, then DELETE heals.
	assertReply(t, call(t, "POST", admin+"/admin/faults", "", `{"surface":"rest","mode":"down"}`), 200, "")
	if _, err := tryCall(context.Background(), "GET", e.s.RESTURL()+"/crm/v8/org", e.tok, ""); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err %v, want connection refused", err)
	}
	assertReply(t, call(t, "DELETE", admin+"/admin/faults", "", ""), 204, "")
	assertReply(t, e.get(t, "/crm/v8/org"), 200, "")

	// latency over HTTP.
	assertReply(t, call(t, "POST", admin+"/admin/faults", "", `{"surface":"rest","mode":"latency","latency_ms":25}`), 200, "")
	if f, _ := e.s.faultFor(SurfaceREST); f.Latency != 25*time.Millisecond {
		t.Fatalf("latency %v", f.Latency)
	}
	e.s.ClearFaults()

	// Stats and the request log.
	var stats struct {
		Requests        map[string]int `json:"requests"`
		Refreshes       int            `json:"refreshes"`
		CreditsUsed     int            `json:"credits_used"`
		CreditsRemain   int            `json:"credits_remaining"`
		CreditsBudget   int            `json:"credits_budget"`
		CreditsLifetime int            `json:"credits_total"`
	}
	if err := json.Unmarshal(call(t, "GET", admin+"/admin/stats", "", "").body, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Requests["rest"] != 3 || stats.Requests["oauth"] != 1 || stats.Refreshes != 1 ||
		stats.CreditsUsed != 2 || stats.CreditsRemain != 1_000_000-2 || stats.CreditsBudget != 1_000_000 {
		t.Fatalf("stats %+v", stats)
	}
	var reqs []adminRequest
	if err := json.Unmarshal(call(t, "GET", admin+"/admin/requests", "", "").body, &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 4 || reqs[0].Surface != SurfaceOAuth || reqs[1].Status != 500 || reqs[2].Path != "/crm/v8/Accounts/"+id(1) {
		t.Fatalf("requests %+v", reqs)
	}
	if strings.Contains(reqs[0].Query, "refresh_token=") == false {
		t.Fatalf("refresh query not logged: %+v", reqs[0])
	}
	assertReply(t, call(t, "DELETE", admin+"/admin/requests", "", ""), 204, "")
	if n := len(e.s.Requests()); n != 0 {
		t.Fatalf("%d requests after DELETE", n)
	}

	// Expire tokens and move the clock.
	assertReply(t, call(t, "POST", admin+"/admin/expire-tokens", "", ""), 204, "")
	assertReply(t, e.get(t, "/crm/v8/org"), 401, "")
	tok := mintToken(t, e.s, e.s.RESTCredential())
	assertReply(t, call(t, "POST", admin+"/admin/clock", "", `{"advance_ms":3600000}`), 200,
		`{"now":"`+e.clock.Now().Add(time.Hour).Format(time.RFC3339)+`"}`)
	assertReply(t, call(t, "GET", e.s.RESTURL()+"/crm/v8/org", tok, ""), 401, "")
	assertReply(t, call(t, "POST", admin+"/admin/clock", "", `{"advance_ms":-1}`), 400, "")
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.ResetLog()
	body := `{"data":[{"id":"` + id(1) + `","Phone":"1"}]}`
	assertReply(t, e.put(t, "/crm/v8/Accounts", body), 200, "")
	assertReply(t, e.get(t, "/crm/v8/Accounts?fields=Phone&per_page=1"), 200, "")
	call(t, "POST", e.s.MCPEndpoint(), "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	reqs := e.s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	want := []LoggedRequest{
		{Surface: SurfaceREST, Method: "PUT", Path: "/crm/v8/Accounts", Body: []byte(body), Status: 200, Time: e.clock.Now()},
		{Surface: SurfaceREST, Method: "GET", Path: "/crm/v8/Accounts", Query: "fields=Phone&per_page=1", Status: 200, Time: e.clock.Now()},
		{Surface: SurfaceMCP, Method: "POST", Path: "/mcp/{key}/message", Body: []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`), Time: e.clock.Now()},
	}
	for i, w := range want {
		g := reqs[i]
		if g.Surface != w.Surface || g.Method != w.Method || g.Path != w.Path || g.Query != w.Query ||
			string(g.Body) != string(w.Body) || !g.Time.Equal(w.Time) || (w.Status != 0 && g.Status != w.Status) {
			t.Fatalf("request %d = %+v, want %+v", i, g, w)
		}
	}
	if strings.Contains(reqs[2].Path, e.s.opts.MCPKey) {
		t.Fatal("the MCP key reached the log")
	}
	if e.s.RequestCount(SurfaceREST) != 2 || e.s.RecordWrites(id(1)) != 1 {
		t.Fatalf("counters: rest %d, writes %d", e.s.RequestCount(SurfaceREST), e.s.RecordWrites(id(1)))
	}
	e.s.ResetLog()
	if len(e.s.Requests()) != 0 || e.s.RecordWrites(id(1)) != 0 || e.s.RequestCount(SurfaceREST) != 0 || e.s.RefreshCount() != 0 {
		t.Fatal("ResetLog kept something")
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	t.Parallel()
	l := newRequestLog(3)
	for i := range 5 {
		r, _ := http.NewRequest("GET", "http://x/"+itoa(i), nil)
		l.finish(l.begin(SurfaceREST, r, time.Time{}, ""), 200)
	}
	got := l.snapshot()
	if len(got) != 3 || got[0].Path != "/2" || got[2].Path != "/4" {
		t.Fatalf("log %+v, want the last 3 oldest first", got)
	}
}

// TestRequestLogLetsGoOfRequests: a logged request must not keep its
// *http.Request once answered. The log holds up to 100,000 entries, and a
// request (headers, URL, context chain) is several KB: kept, a long-running
// sandbox grew by about 7 KB per proxied tool call until the ring was full
// (found by zmp-load soak on `serve --sandbox`).
func TestRequestLogLetsGoOfRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	assertReply(t, e.put(t, "/crm/v8/Accounts", `{"data":[{"id":"`+id(1)+`","Phone":"1"}]}`), 200, "")
	assertReply(t, e.get(t, "/crm/v8/Accounts?fields=Phone&per_page=1"), 200, "")
	call(t, "POST", e.s.MCPEndpoint(), "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if status, _, _ := e.s.callAPI(context.Background(), "GET", "/crm/v8/org", nil); status != 200 {
		t.Fatalf("in-process call: status %d", status)
	}
	l := e.s.reqlog
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) < 4 {
		t.Fatalf("%d log entries, want at least 4", len(l.entries))
	}
	for i, en := range l.entries {
		if en.req != nil {
			t.Errorf("log entry %d (%s %s, status %d) still holds its *http.Request", i, en.Method, en.Path, en.Status)
		}
	}
}

// TestRequestLogOption: Options.RequestLog bounds the log a Sim keeps; the
// counters go on counting every request.
func TestRequestLogOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{RequestLog: 2})
	for range 4 {
		assertReply(t, e.get(t, "/crm/v8/Accounts?fields=Phone&per_page=1"), 200, "")
	}
	if n := len(e.s.Requests()); n != 2 {
		t.Errorf("%d requests logged, want the last 2", n)
	}
	if n := e.s.RequestCount(SurfaceREST); n < 4 {
		t.Errorf("RequestCount = %d, want every request counted", n)
	}
	if _, err := Start(Options{RequestLog: -1}); err == nil || !strings.Contains(err.Error(), "RequestLog") {
		t.Errorf("Start with RequestLog -1: %v, want an error naming RequestLog", err)
	}
}

func TestInProcessCallsAreLoggedAsMCP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.s.ResetLog()
	before := e.s.CreditsUsed()
	status, _, body := e.s.callAPI(context.Background(), "GET", "/crm/v8/Accounts/"+id(4)+"?fields=Phone", nil)
	if status != 200 {
		t.Fatalf("status %d %s", status, body)
	}
	assertJSON(t, body, `{"data":[{"id":"`+id(4)+`","Phone":"+1 555 0004"}]}`)
	reqs := e.s.Requests()
	if len(reqs) != 1 || reqs[0].Surface != SurfaceMCP || reqs[0].Status != 200 || reqs[0].Query != "fields=Phone" {
		t.Fatalf("log %+v", reqs)
	}
	if e.s.CreditsUsed() != before+1 {
		t.Fatal("in-process call not charged")
	}
	// Faults of the REST surface do not touch in-process calls.
	e.s.SetFault(SurfaceREST, Fault{Mode: Fault5xx})
	if status, _, _ := e.s.callAPI(context.Background(), "GET", "/crm/v8/org", nil); status != 200 {
		t.Fatalf("status %d", status)
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{MCPKey: "k3y"})
	got := map[string]string{}
	for _, line := range s.Env() {
		k, v, ok := strings.Cut(line, "=")
		if !ok || v == "" {
			t.Fatalf("bad line %q", line)
		}
		got[k] = v
	}
	rc, bc := s.RESTCredential(), s.BulkCredential()
	want := map[string]string{
		"ZOHO_MCP_ENDPOINT":       s.baseURL(SurfaceMCP) + "/mcp/k3y/message",
		"ZOHO_ACCOUNTS_URL":       s.AccountsURL(),
		"ZOHO_CLIENT_ID":          rc.ClientID,
		"ZOHO_CLIENT_SECRET":      rc.ClientSecret,
		"ZOHO_REFRESH_TOKEN":      rc.RefreshToken,
		"ZOHO_BULK_CLIENT_ID":     bc.ClientID,
		"ZOHO_BULK_CLIENT_SECRET": bc.ClientSecret,
		"ZOHO_BULK_REFRESH_TOKEN": bc.RefreshToken,
		"ZOHO_REST_CLIENT_ID":     rc.ClientID,
		"ZOHO_REST_CLIENT_SECRET": rc.ClientSecret,
		"ZOHO_REST_REFRESH_TOKEN": rc.RefreshToken,
		"ZOHO_CONTENT_URL":        s.BulkURL(),
		"ZOHO_ORG_ID":             s.OrgID(),
	}
	if len(got) != len(want) {
		t.Fatalf("Env %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	if rc.ClientID == bc.ClientID || rc.APIDomain != s.RESTURL() || bc.APIDomain != s.BulkURL() {
		t.Fatalf("credentials %+v %+v", rc, bc)
	}
	// Every listener is on loopback.
	for _, u := range []string{s.AccountsURL(), s.RESTURL(), s.BulkURL(), s.MCPEndpoint(), s.AdminURL()} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("%s is not on 127.0.0.1", u)
		}
	}
}

func TestMCPKey(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{MCPKey: "right"})
	r := call(t, "POST", s.baseURL(SurfaceMCP)+"/mcp/wrong/message", "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	assertReply(t, r, 401, `{"error":"unauthorized: invalid MCP endpoint key"}`)
	if r := call(t, "POST", s.baseURL(SurfaceMCP)+"/mcp/right/other", "", `{}`); r.status != 404 {
		t.Fatalf("status %d", r.status)
	}
}

func TestStartDefaults(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	if s.Store().Len() != 500 || len(s.opts.MCPKey) != 32 || s.opts.Concurrency != 20 || s.opts.Credits != 1_000_000 {
		t.Fatalf("defaults: %d accounts, key %q, concurrency %d, credits %d", s.Store().Len(), s.opts.MCPKey, s.opts.Concurrency, s.opts.Credits)
	}
	if _, err := Start(Options{Accounts: -1}); err == nil {
		t.Fatal("negative Accounts accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
