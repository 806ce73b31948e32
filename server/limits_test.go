package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// evictions records the sessions the table frees (and still frees them).
type evictions struct {
	mu  sync.Mutex
	ids []string
}

func (e *evictions) wrap(h *HTTP) {
	orig := h.table.evict
	h.table.evict = func(id string) {
		e.mu.Lock()
		e.ids = append(e.ids, id)
		e.mu.Unlock()
		orig(id)
	}
}

func (e *evictions) sorted() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Sorted(slices.Values(e.ids))
}

func bearerHdr(token string) map[string]string {
	if token == "" {
		return map[string]string{}
	}
	return map[string]string{"Authorization": "Bearer " + token}
}

func withSession(hdr map[string]string, id string) map[string]string {
	out := map[string]string{"Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25"}
	for k, v := range hdr {
		out[k] = v
	}
	return out
}

const listTools = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`

// overCap checks a refused initialize: 503, Retry-After, and a JSON-RPC
// error whose message contains want.
func overCap(t *testing.T, st int, h http.Header, body, want string) {
	t.Helper()
	var m struct {
		ID    any `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil || st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" ||
		m.Error.Code != ErrCodeOverCapacity || !strings.Contains(m.Error.Message, want) || m.ID != float64(1) {
		t.Fatalf("over the cap: %d (Retry-After %q) %s; want 503 with a JSON-RPC error saying %q", st, h.Get("Retry-After"), body, want)
	}
}

// TestSessionCapsAndIdleTTL: legacy sessions are capped per caller and in
// total (503 with a JSON-RPC error that says what to do), and those unused
// for the idle TTL (on an injected clock) are freed through mcp-go's DELETE
// path; a used one stays; a freed one that comes back is served again.
// Before, every initialize kept about 10 KB in mcp-go until a DELETE that
// clients rarely send, with no cap at all.
func TestSessionCapsAndIdleTTL(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	ts := startHTTP(t, testPolicy(t), func(o *HTTPOptions) {
		o.Now, o.SessionIdleTTL, o.MaxSessions, o.MaxSessionsPerCaller = clk.Now, 30*time.Minute, 5, 3
	})
	var ev evictions
	ev.wrap(ts.H)
	c := &rawClient{t: t, base: ts.URL, hc: http.DefaultClient}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reader, writer := bearerHdr(readerToken), bearerHdr(writerToken)

	var rs, ws []string
	for range 3 {
		rs = append(rs, c.initialize(ctx, reader))
	}
	st, h, body := c.post(ctx, PathMCP, initBody, reader)
	overCap(t, st, h, body, "too many open MCP sessions for this credential (3)")
	for range 2 {
		ws = append(ws, c.initialize(ctx, writer))
	}
	st, h, body = c.post(ctx, PathMCP, initBody, writer)
	overCap(t, st, h, body, "maximum of 5 MCP sessions")
	if n, _ := ts.H.Sessions(); n != 5 {
		t.Fatalf("%d sessions kept, want 5", n)
	}

	clk.Add(20 * time.Minute)
	if st, _, b := c.post(ctx, PathMCP, listTools, withSession(reader, rs[0])); st != http.StatusOK || !strings.Contains(b, "read_thing") {
		t.Fatalf("tools/list in session 1: %d %s", st, b)
	}
	clk.Add(15 * time.Minute) // the others are 35 minutes idle, session 1 15
	if n, _ := ts.H.Sweep(); n != 4 {
		t.Fatalf("swept %d sessions, want 4", n)
	}
	if got, want := ev.sorted(), slices.Sorted(slices.Values(append(append([]string{}, rs[1:]...), ws...))); !slices.Equal(got, want) {
		t.Fatalf("freed %v, want %v", got, want)
	}
	if n, _ := ts.H.Sessions(); n != 1 {
		t.Fatalf("%d sessions kept after the sweep, want 1", n)
	}
	// Room again; a freed session's client is still served (mcp-go's ids
	// are stateless) and its session taken in again.
	c.initialize(ctx, reader)
	if st, _, b := c.post(ctx, PathMCP, listTools, withSession(writer, ws[0])); st != http.StatusOK || !strings.Contains(b, "write_thing") {
		t.Fatalf("tools/list in a freed session: %d %s", st, b)
	}
	if n, _ := ts.H.Sessions(); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
	// DELETE ends one at once.
	resp := c.do(ctx, http.MethodDelete, PathMCP, "", withSession(reader, rs[0]))
	resp.Body.Close()
	if n, _ := ts.H.Sessions(); resp.StatusCode != http.StatusOK || n != 2 {
		t.Fatalf("DELETE: %d, %d sessions left, want 2", resp.StatusCode, n)
	}
	// The gauge follows.
	if _, b := getWith(t, ts.URL+PathMetrics, readerToken); !strings.Contains(b, "zoho_mcp_proxy_http_sessions 2") {
		t.Errorf("/metrics lacks zoho_mcp_proxy_http_sessions 2")
	}
}

// TestSetLevelWithFreshSessionIDsIsBounded: logging/setLevel with a new
// session id each time used to keep an entry per id in mcp-go forever. The
// ids are now sessions like any other: capped, and freed after the TTL. Ids
// that are not mcp-go's format are left to mcp-go to refuse and take no room.
func TestSetLevelWithFreshSessionIDsIsBounded(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) {
		o.Now, o.SessionIdleTTL, o.MaxSessionsPerCaller = clk.Now, time.Minute, 10
	})
	var ev evictions
	ev.wrap(ts.H)
	c := &rawClient{t: t, base: ts.URL, hc: http.DefaultClient}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	setLevel := `{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}}`
	for i := range 10 {
		id := fmt.Sprintf("mcp-session-%08d-0000-4000-8000-000000000000", i)
		if st, _, b := c.post(ctx, PathMCP, setLevel, withSession(nil, id)); st != http.StatusOK {
			t.Fatalf("setLevel %d: %d %s", i, st, b)
		}
	}
	st, h, body := c.post(ctx, PathMCP, setLevel, withSession(nil, "mcp-session-99999999-0000-4000-8000-000000000000"))
	overCap(t, st, h, body, "too many open MCP sessions")
	if st, _, _ := c.post(ctx, PathMCP, setLevel, withSession(nil, "not-a-session")); st != http.StatusNotFound {
		t.Errorf("garbage session id: %d, want mcp-go's 404", st)
	}
	clk.Add(time.Minute)
	if n, _ := ts.H.Sweep(); n != 10 || len(ev.sorted()) != 10 {
		t.Fatalf("swept %d, freed %d; want 10", n, len(ev.sorted()))
	}
}

// TestEvictFreesMCPGoSession: the table frees a session through mcp-go's own
// DELETE handling, which unregisters it (and drops its per-session stores).
func TestEvictFreesMCPGoSession(t *testing.T) {
	t.Parallel()
	hooks := &mcpserver.Hooks{}
	var mu sync.Mutex
	var gone []string
	hooks.AddOnUnregisterSession(func(_ context.Context, s mcpserver.ClientSession) {
		mu.Lock()
		gone = append(gone, s.SessionID())
		mu.Unlock()
	})
	s := mcpserver.NewMCPServer("t", "1", mcpserver.WithHooks(hooks))
	h := mcpserver.NewStreamableHTTPServer(s)
	req := httptest.NewRequest(http.MethodPost, PathMCP, strings.NewReader(initBody))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	id := rec.Header().Get("Mcp-Session-Id")
	if id == "" {
		t.Fatalf("initialize: %d %s", rec.Code, rec.Body)
	}
	evictThrough(h)(id)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(gone, []string{id}) {
		t.Fatalf("unregistered %v, want [%s]", gone, id)
	}
}

// TestStreamsHeartbeatAndIdleLimit: open SSE and Streamable HTTP GET streams
// get heartbeats; a stream whose session is used stays open however old it
// is; one unused for the idle limit is closed.
func TestStreamsHeartbeatAndIdleLimit(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) {
		o.Now, o.StreamIdleTimeout, o.StreamHeartbeat = clk.Now, 5*time.Minute, 50*time.Millisecond
	})
	c := &rawClient{t: t, base: ts.URL, hc: &http.Client{Transport: &http.Transport{}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sid := c.initialize(ctx, nil)
	getResp, getEvents := c.sseEvents(ctx, PathMCP, withSession(nil, sid))
	defer getResp.Body.Close()
	endpoint, sseEvents := c.openSSESession(ctx, nil)
	next(t, ctx, getEvents, `"method":"ping"`)
	next(t, ctx, sseEvents, `"method":"ping"`)
	if _, n := ts.H.Sessions(); n != 2 {
		t.Fatalf("%d streams open, want 2", n)
	}

	for range 3 { // 12 minutes in all, used every 4
		clk.Add(4 * time.Minute)
		c.post(ctx, PathMCP, listTools, withSession(nil, sid))
		c.post(ctx, endpoint, listTools, nil)
		if _, n := ts.H.Sweep(); n != 0 {
			t.Fatalf("closed %d streams in use", n)
		}
	}
	clk.Add(5 * time.Minute)
	if _, n := ts.H.Sweep(); n != 2 {
		t.Fatalf("closed %d idle streams, want 2", n)
	}
	for name, ev := range map[string]<-chan string{"GET /mcp": getEvents, "GET /sse": sseEvents} {
		for open := true; open; {
			select {
			case _, open = <-ev:
			case <-ctx.Done():
				t.Fatalf("%s stream still open after its idle limit", name)
			}
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, n := ts.H.Sessions(); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("streams still registered")
		}
	}
}

// TestInFlightCapSharedAcrossEndpoints: /mcp, /sse and /message share one
// in-flight cap. Each used to get its own, so the cap let three times as
// many requests and streams in.
func TestInFlightCapSharedAcrossEndpoints(t *testing.T) {
	t.Parallel()
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) { o.Security.MaxInFlight = 2 })
	c := &rawClient{t: t, base: ts.URL, hc: &http.Client{Transport: &http.Transport{}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 2 {
		resp, _ := c.sseEvents(ctx, PathSSE, nil)
		defer resp.Body.Close()
	}
	st, h, body := c.post(ctx, PathMCP, initBody, nil)
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("POST /mcp with both slots held by /sse streams: %d %s, want 503", st, body)
	}
}

// TestOneCallerCannotTakeEverySlot: with bearer tokens, one caller gets a
// share of the in-flight cap; streams it holds beyond that are refused and
// another caller is still served. One reader token used to hold every slot.
func TestOneCallerCannotTakeEverySlot(t *testing.T) {
	t.Parallel()
	ts := startHTTP(t, testPolicy(t), func(o *HTTPOptions) { o.Security.MaxInFlight = 8 }) // share: 2
	c := &rawClient{t: t, base: ts.URL, hc: &http.Client{Transport: &http.Transport{}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reader := bearerHdr(readerToken)
	for range 2 {
		resp, _ := c.sseEvents(ctx, PathSSE, reader)
		defer resp.Body.Close()
	}
	resp := c.do(ctx, http.MethodGet, PathSSE, "", reader)
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "its share") {
		t.Fatalf("the reader's third stream: %d %s, want 503 naming its share", resp.StatusCode, b)
	}
	writer := bearerHdr(writerToken)
	sid := c.initialize(ctx, writer)
	if st, _, b := c.post(ctx, PathMCP, listTools, withSession(writer, sid)); st != http.StatusOK {
		t.Fatalf("the writer was not served: %d %s", st, b)
	}
}

// TestSlowBodyCut: a body trickled in after its headers (slowloris) is cut
// with 408 once BodyReadTimeout passes; it used to hold its slot until the
// server's 60s ReadTimeout.
func TestSlowBodyCut(t *testing.T) {
	t.Parallel()
	const limit = 300 * time.Millisecond
	ts := startHTTP(t, testPolicy(t), func(o *HTTPOptions) { o.Security.BodyReadTimeout = limit })
	addr := strings.TrimPrefix(ts.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t0 := time.Now()
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", addr, readerToken)
	answered := make(chan string, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line := make([]byte, 12)
		_, err := io.ReadFull(conn, line)
		answered <- string(line) + fmt.Sprint(err)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case line := <-answered:
			took := time.Since(t0)
			if !strings.HasPrefix(line, "HTTP/1.1 408") {
				t.Fatalf("answer %q, want 408", line)
			}
			if took > limit+time.Second {
				t.Fatalf("cut after %v, want within %v", took, limit+time.Second)
			}
			return
		case <-tick.C:
			if _, err := conn.Write([]byte(" ")); err != nil {
				t.Fatalf("the server closed without answering: %v", err)
			}
		}
	}
}

// TestBrowserPageGetsNoWriteTools: without a permissions file any page a
// browser opens on localhost passes the loopback Origin check; it used to
// get write tools. Now a page whose Origin is not listed in allowed_origins
// sees and may call read tools only, and is told why; a listed origin and a
// request without Origin (not a browser) keep their tools.
func TestBrowserPageGetsNoWriteTools(t *testing.T) {
	t.Parallel()
	ts := startHTTP(t, permissions.Default())
	c := &rawClient{t: t, base: ts.URL, hc: http.DefaultClient}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	write := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"write_thing","arguments":{"id":"1"}}}`
	for _, tc := range []struct {
		origin string
		writes bool
	}{{"http://localhost:3000", false}, {"http://127.0.0.1:8080", false}, {"https://app.example.com", true}, {"", true}} {
		hdr := map[string]string{}
		if tc.origin != "" {
			hdr["Origin"] = tc.origin
		}
		sid := c.initialize(ctx, hdr)
		_, _, list := c.post(ctx, PathMCP, listTools, withSession(hdr, sid))
		_, _, call := c.post(ctx, PathMCP, write, withSession(hdr, sid))
		if got := strings.Contains(list, `"write_thing"`); got != tc.writes {
			t.Errorf("Origin %q: write_thing listed = %v, want %v", tc.origin, got, tc.writes)
		}
		if tc.writes {
			if !strings.Contains(call, "written") {
				t.Errorf("Origin %q: write refused: %s", tc.origin, call)
			}
			continue
		}
		if !strings.Contains(call, `"isError":true`) || !strings.Contains(call, "requires scope write") ||
			!strings.Contains(call, "Origin "+tc.origin) || !strings.Contains(call, "http.allowed_origins") {
			t.Errorf("Origin %q: write not refused readably: %s", tc.origin, call)
		}
	}
}

// TestOutOfScopeCallIsReadable: a tool outside the caller's scopes, called by
// name, gets a tool error naming the scope it needs and the ones the profile
// has. mcp-go's tool filter used to answer first with a bare -32602 "tool
// not found".
func TestOutOfScopeCallIsReadable(t *testing.T) {
	t.Parallel()
	ts := startHTTP(t, testPolicy(t))
	c := &rawClient{t: t, base: ts.URL, hc: http.DefaultClient}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reader := bearerHdr(readerToken)
	sid := c.initialize(ctx, reader)
	_, _, body := c.post(ctx, PathMCP, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"write_thing","arguments":{"id":"1"}}}`, withSession(reader, sid))
	if !strings.Contains(body, `"isError":true`) || !strings.Contains(body, `tool write_thing requires scope write; your profile \"reader\" has read, monitor`) {
		t.Fatalf("out-of-scope call: %s", body)
	}
	if _, _, list := c.post(ctx, PathMCP, listTools, withSession(reader, sid)); strings.Contains(list, "write_thing") || !strings.Contains(list, "read_thing") {
		t.Fatalf("tools/list: %s", list)
	}
}

// TestOpsDetailBehindBearer: with tokens, /metrics needs a bearer token of a
// profile with the monitor scope, and /readyz shows its per-tier detail only
// to such a caller; its status code stays open for load balancers.
func TestOpsDetailBehindBearer(t *testing.T) {
	t.Parallel()
	const nomonToken = "nomon-token-Qp7"
	policy, err := permissions.Parse(fmt.Appendf(nil, `
default_profile: reader
profiles:
  reader: { scopes: [read, monitor] }
  nomon: { scopes: [read] }
tokens:
  - { profile: reader, sha256: %q }
  - { profile: nomon, sha256: %q }
`, sum(readerToken), sum(nomonToken)))
	if err != nil {
		t.Fatal(err)
	}
	ts := startHTTP(t, policy)
	for _, tc := range []struct {
		path, token string
		status      int
		want, not   string
	}{
		{PathMetrics, "", 401, "bearer token", "go_goroutines"},
		{PathMetrics, nomonToken, 403, "monitor scope", "zoho_mcp_proxy"},
		{PathMetrics, readerToken, 200, "zoho_mcp_proxy_http_refused_total", ""},
		{PathReadyz, "", 200, `"ready":true`, `"tiers"`},
		{PathReadyz, nomonToken, 200, `"ready":true`, `"tiers"`},
		{PathReadyz, readerToken, 200, `"tiers"`, ""},
		{PathHealthz, "", 200, `"ok"`, ""},
	} {
		st, body := getWith(t, ts.URL+tc.path, tc.token)
		if st != tc.status || !strings.Contains(body, tc.want) || tc.not != "" && strings.Contains(body, tc.not) {
			t.Errorf("GET %s with token %q: %d %s; want %d with %q and without %q", tc.path, tc.token, st, clip(body), tc.status, tc.want, tc.not)
		}
	}
	ts.Ready.Store(false)
	if st, _ := get(t, ts.URL+PathReadyz); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz with no tier ready: %d, want 503 without a token too", st)
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// TestUnknownResourceIsNotFound: reading a resource a template matches but
// that does not exist answers -32002 (resource not found) with the handler's
// explanation; mcp-go turned the handler's error into -32603 (internal
// error). A resource that exists is read once.
func TestUnknownResourceIsNotFound(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reads := 0
	tmpl := mcp.NewResourceTemplate("test://thing/{id}", "thing")
	read := func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		mu.Lock()
		reads++
		mu.Unlock()
		if id := strings.TrimPrefix(req.Params.URI, "test://thing/"); id != "known" {
			return nil, fmt.Errorf("%w: no thing %s; make one first", mcpserver.ErrResourceNotFound, id)
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, Text: "the thing"}}, nil
	}
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) {
		m, err := NewMCP(Options{Tools: fakeTools(nil, nil), ResourceTemplates: []mcpserver.ServerResourceTemplate{{Template: tmpl, Handler: read}}})
		if err != nil {
			t.Fatal(err)
		}
		o.MCP = m
	})
	c := &rawClient{t: t, base: ts.URL, hc: http.DefaultClient}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sid := c.initialize(ctx, nil)
	readMsg := func(uri string) string {
		_, _, b := c.post(ctx, PathMCP, `{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"`+uri+`"}}`, withSession(nil, sid))
		return b
	}
	if b := readMsg("test://thing/nope"); !strings.Contains(b, `"code":-32002`) || !strings.Contains(b, "no thing nope; make one first") {
		t.Errorf("unknown resource: %s", b)
	}
	mu.Lock()
	reads = 0
	mu.Unlock()
	if b := readMsg("test://thing/known"); !strings.Contains(b, "the thing") {
		t.Errorf("known resource: %s", b)
	}
	mu.Lock()
	defer mu.Unlock()
	if reads != 1 {
		t.Errorf("the resource was read %d times, want once", reads)
	}
}
