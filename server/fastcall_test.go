package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/mark3labs/mcp-go/tracing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// diffTools are fakeTools plus tools whose answers exercise every branch of
// the fast path's answer: tool errors, handler errors (plain and URL
// elicitation), nil results, characters the encoder escapes, the context a
// handler sees, and raw arguments.
func diffTools(release <-chan struct{}) []Tool {
	ro := mcp.WithReadOnlyHintAnnotation(true)
	read := []permissions.Scope{permissions.ScopeRead}
	ts := fakeTools(nil, release)
	return append(ts,
		Tool{Def: mcp.NewTool("tool_error", ro), Scopes: read,
			Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultError("account_id must be 1–19 digits <&>"), nil
			}},
		Tool{Def: mcp.NewTool("fails", ro), Scopes: read,
			Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return nil, fmt.Errorf("upstream said <no> & %w", errors.New("more"))
			}},
		Tool{Def: mcp.NewTool("elicits", ro), Scopes: read,
			Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return nil, fmt.Errorf("need: %w", mcp.URLElicitationRequiredError{Elicitations: []mcp.ElicitationParams{
					{Mode: "url", Message: "sign in", URL: "https://example.com/a?b=c&d=<e>", ElicitationID: "e1"}}})
			}},
		Tool{Def: mcp.NewTool("nothing", ro), Scopes: read,
			Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil }},
		Tool{Def: mcp.NewTool("structured", ro), Scopes: read,
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				p := permissions.ProfileFrom(ctx)
				who := map[string]any{"profile": p.Name, "scopes": p.ScopeNames(), "caller": string(permissions.CallerFrom(ctx)),
					"origin": browserOrigin(ctx), "raw": string(req.Params.RawArguments), "args": req.GetArguments(),
					"header": req.Header.Get("X-Probe"), "method": req.Method, "html": "<b>&</b>\u2028", "n": 12345678901234567}
				return mcp.NewToolResultStructured(who, "text with <html> & \u2029"), nil
			}},
	)
}

// diffPair is the same server twice, behind the HTTP front door: with the
// fast path and without it.
type diffPair struct {
	fast, slow     http.Handler
	fastH          *HTTP
	mfast, mslow   *MCP
	sidFast, sidSl string // sessions made by initialize
}

func newDiffPair(t testing.TB, release <-chan struct{}) *diffPair {
	t.Helper()
	p := &diffPair{}
	mk := func(disable bool) (*HTTP, *MCP) {
		m, err := NewMCP(Options{Tools: diffTools(release), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		h := NewHTTP(HTTPOptions{MCP: m, Logger: slog.New(slog.DiscardHandler), DisableFastToolCall: disable,
			Security: Security{Policy: testPolicy(t), BodyLimit: 1 << 16, AllowedOrigins: []string{"https://app.example.com"}}})
		return h, m
	}
	var slowH *HTTP
	p.fastH, p.mfast = mk(false)
	slowH, p.mslow = mk(true)
	if _, ok := p.fastH.fast.(*fastCalls); !ok {
		t.Fatal("the fast path is not installed")
	}
	if _, ok := slowH.fast.(*fastCalls); ok {
		t.Fatal("DisableFastToolCall left the fast path installed")
	}
	p.fast, p.slow = p.fastH.Handler(true), slowH.Handler(true)
	p.sidFast = initSession(t, p.fast)
	p.sidSl = initSession(t, p.slow)
	return p
}

func initSession(t testing.TB, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, diffRequest(initBody, map[string]string{"Authorization": "Bearer " + readerToken}))
	id := rec.Header().Get(mcpserver.HeaderKeySessionID)
	if rec.Code != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d %s", rec.Code, rec.Body)
	}
	return id
}

func diffRequest(body string, hdr map[string]string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, PathMCP, strings.NewReader(body))
	req.Host = "127.0.0.1:8765"
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

// fixedSession is a well-formed legacy session id no initialize made
// (another replica's, say): mcp-go serves it with an ephemeral session.
const fixedSession = "mcp-session-0b0e7c1a-8f51-4f3c-9c1e-3a3f4d7e2b10"

// answer is what a client sees of a response.
type answer struct {
	status int
	header http.Header
	body   string
}

func serveOne(h http.Handler, req *http.Request) answer {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.String()}
}

// compare sends the same request to both servers and fails when the
// answers differ in status, headers or body bytes. sessions, when true,
// puts each server's own initialized session in the Mcp-Session-Id header.
// It returns whether the fast path answered.
func (p *diffPair) compare(t testing.TB, body string, hdr map[string]string, sessions bool) (bool, answer) {
	t.Helper()
	hf, hs := map[string]string{}, map[string]string{}
	for k, v := range hdr {
		hf[k], hs[k] = v, v
	}
	if sessions {
		hf[mcpserver.HeaderKeySessionID], hs[mcpserver.HeaderKeySessionID] = p.sidFast, p.sidSl
	}
	before := p.fastH.fast.(*fastCalls).served.Load()
	fa := serveOne(p.fast, diffRequest(body, hf))
	fast := p.fastH.fast.(*fastCalls).served.Load() != before
	sa := serveOne(p.slow, diffRequest(body, hs))
	if fa.status != sa.status || !reflect.DeepEqual(fa.header, sa.header) || fa.body != sa.body {
		t.Errorf("fast path (answered=%v) differs from mcp-go for %s %v:\nfast: %d %v %q\nslow: %d %v %q",
			fast, body, hdr, fa.status, fa.header, fa.body, sa.status, sa.header, sa.body)
	}
	return fast, fa
}

func call(id, name, args string) string {
	if args != "" {
		args = `,"arguments":` + args
	}
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `"` + args + `}}`
}

// TestFastToolCallMatchesMCPGo is the differential test of the fast path:
// the same requests to the server with and without it get the same status,
// headers and bytes, and the fast path answers exactly the plain legacy
// tools/call requests it is meant for.
func TestFastToolCallMatchesMCPGo(t *testing.T) {
	release := make(chan struct{})
	close(release)
	p := newDiffPair(t, release)
	reader := map[string]string{"Authorization": "Bearer " + readerToken, "Mcp-Protocol-Version": "2025-11-25", mcpserver.HeaderKeySessionID: fixedSession}
	with := func(kv ...string) map[string]string {
		h := map[string]string{}
		for k, v := range reader {
			h[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	for _, tc := range []struct {
		name     string
		body     string
		hdr      map[string]string
		sessions bool // each server's initialized session
		fast     bool // the fast path answers
	}{
		{"success", call("1", "read_thing", `{"id":"42"}`), reader, false, true},
		{"success on an initialized session", call("2", "read_thing", `{"id":"42"}`), reader, true, true},
		{"string id", call(`"abc<&>"`, "read_thing", `{"id":"x"}`), reader, false, true},
		{"fractional and huge ids", call("12345678901234567890.5", "read_thing", `{"id":"x"}`), reader, false, true},
		{"protocol 2025-06-18", call("3", "read_thing", `{"id":"1"}`), with("Mcp-Protocol-Version", "2025-06-18"), false, true},
		{"protocol 2025-03-26", call("3", "read_thing", `{"id":"1"}`), with("Mcp-Protocol-Version", "2025-03-26"), false, true},
		{"content type with charset", call("4", "read_thing", `{"id":"1"}`), with("Content-Type", "application/json; charset=utf-8"), false, true},
		{"tool error", call("5", "tool_error", ""), reader, false, true},
		{"handler error", call("6", "fails", ""), reader, false, true},
		{"URL elicitation required", call("7", "elicits", ""), reader, false, true},
		{"nil result", call("8", "nothing", ""), reader, false, true},
		{"panic", call("9", "boom", ""), reader, false, true},
		{"scope refusal", call("10", "write_thing", `{"id":"1"}`), reader, false, true},
		{"writer may write", call("11", "write_thing", `{"id":"1"}`), with("Authorization", "Bearer "+writerToken), false, true},
		{"bad arguments", call("12", "read_thing", `{"id":7}`), reader, false, true},
		{"arguments not an object", call("13", "read_thing", `[1,2]`), reader, false, true},
		{"no arguments", call("14", "read_thing", ""), reader, false, true},
		{"structured content, context and headers", call("15", "structured", `{"b":1,"a":[1.50,"<"],"big":123456789012345678901}`),
			with("X-Probe", "probe"), false, true},
		{"browser page", call("16", "structured", `{}`), with("Origin", "https://app.example.com"), false, true},
		{"extra fields", `{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"read_thing","arguments":{"id":"1"},"extra":1},"x":2}`, reader, false, true},
		{"null result field", `{"jsonrpc":"2.0","id":18,"result":null,"method":"tools/call","params":{"name":"read_thing"}}`, reader, false, true},

		{"unknown tool", call("20", "no_such_tool", ""), reader, false, false},
		{"no id", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"read_thing"}}`, reader, false, false},
		{"null id", call("null", "read_thing", ""), reader, false, false},
		{"object id", call(`{"a":1}`, "read_thing", ""), reader, false, false},
		{"bool id", call("true", "read_thing", ""), reader, false, false},
		{"wrong jsonrpc", `{"jsonrpc":"1.0","id":21,"method":"tools/call","params":{"name":"read_thing"}}`, reader, false, false},
		{"result present", `{"jsonrpc":"2.0","id":22,"result":{},"method":"tools/call","params":{"name":"read_thing"}}`, reader, false, false},
		{"progress token", `{"jsonrpc":"2.0","id":23,"method":"tools/call","params":{"name":"read_thing","arguments":{"id":"1"},"_meta":{"progressToken":"p"}}}`, reader, false, false},
		{"empty _meta", `{"jsonrpc":"2.0","id":24,"method":"tools/call","params":{"name":"read_thing","_meta":{}}}`, reader, false, false},
		{"task", `{"jsonrpc":"2.0","id":25,"method":"tools/call","params":{"name":"read_thing","task":{"ttl":1000}}}`, reader, false, false},
		{"no protocol header", call("26", "read_thing", `{"id":"1"}`), with("Mcp-Protocol-Version", ""), false, false},
		{"unknown protocol header", call("27", "read_thing", `{"id":"1"}`), with("Mcp-Protocol-Version", "2024-01-01"), false, false},
		{"modern protocol header", call("28", "read_thing", `{"id":"1"}`), with("Mcp-Protocol-Version", "2026-07-28"), false, false},
		{"no session", call("29", "read_thing", `{"id":"1"}`), with(mcpserver.HeaderKeySessionID, ""), false, false},
		{"bad session", call("30", "read_thing", `{"id":"1"}`), with(mcpserver.HeaderKeySessionID, "mcp-session-nope"), false, false},
		{"wrong content type", call("31", "read_thing", `{"id":"1"}`), with("Content-Type", "text/plain"), false, false},
		{"bad content type", call("32", "read_thing", `{"id":"1"}`), with("Content-Type", "application/json; ="), false, false},
		{"not JSON", `{"jsonrpc":"2.0","id":33,"method":"tools/call"`, reader, false, false},
		{"params not an object", `{"jsonrpc":"2.0","id":34,"method":"tools/call","params":"x"}`, reader, false, false},
		{"other method", `{"jsonrpc":"2.0","id":35,"method":"tools/list"}`, reader, false, false},
		{"ping", `{"jsonrpc":"2.0","id":36,"method":"ping"}`, reader, false, false},
		{"duplicate params hiding a modern _meta", `{"jsonrpc":"2.0","id":37,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"params":{"name":"read_thing"}}`, reader, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, a := p.compare(t, tc.body, tc.hdr, tc.sessions)
			if fast != tc.fast {
				t.Errorf("fast path answered = %v, want %v (%d %s)", fast, tc.fast, a.status, a.body)
			}
		})
	}

	t.Run("rebinding", func(t *testing.T) {
		// A loopback connection with a foreign Host: mcp-go's check (behind
		// Security, which refuses it first here) decides, not the fast path.
		req := diffRequest(call("40", "read_thing", `{"id":"1"}`), reader)
		req.Host = "evil.example.com"
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}))
		if !rebinding(req) {
			t.Error("rebinding() = false for a foreign Host on a loopback connection")
		}
		req.Host = "localhost:1"
		if rebinding(req) {
			t.Error("rebinding() = true for a loopback Host")
		}
	})

	t.Run("draining", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.mfast.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.mslow.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if fast, a := p.compare(t, call("50", "read_thing", `{"id":"1"}`), reader, false); !fast || !strings.Contains(a.body, "shutting down") {
			t.Errorf("draining: fast=%v %s", fast, a.body)
		}
	})
}

// TestFastToolCallSessionsCounted checks that a fast call still counts as
// activity of its session: the gate runs before the fast path.
func TestFastToolCallSessionsCounted(t *testing.T) {
	p := newDiffPair(t, nil)
	before, _ := p.fastH.Sessions()
	hdr := map[string]string{"Authorization": "Bearer " + readerToken, "Mcp-Protocol-Version": "2025-11-25",
		mcpserver.HeaderKeySessionID: "mcp-session-1b0e7c1a-8f51-4f3c-9c1e-3a3f4d7e2b11"}
	if fast, _ := p.compare(t, call("1", "read_thing", `{"id":"1"}`), hdr, false); !fast {
		t.Fatal("the fast path did not answer")
	}
	if after, _ := p.fastH.Sessions(); after != before+1 {
		t.Errorf("sessions %d → %d: the fast call's session was not taken in", before, after)
	}
}

// TestFastToolCallCancelled checks that notifications/cancelled on the
// session cancels a call the fast path runs, as mcp-go cancels its own.
func TestFastToolCallCancelled(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("disable=%v", disable), func(t *testing.T) {
			started := make(chan struct{}, 1)
			m, err := NewMCP(Options{Tools: fakeTools(started, make(chan struct{})), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			hh := NewHTTP(HTTPOptions{MCP: m, Logger: slog.New(slog.DiscardHandler), DisableFastToolCall: disable})
			h := hh.Handler(true)
			hdr := map[string]string{"Mcp-Protocol-Version": "2025-11-25", mcpserver.HeaderKeySessionID: fixedSession}
			done := make(chan answer, 1)
			go func() { done <- serveOne(h, diffRequest(call("7", "slow", ""), hdr)) }()
			<-started
			// The cancellation needs no protocol header (mcp-go takes it
			// without one).
			delete(hdr, "Mcp-Protocol-Version")
			if a := serveOne(h, diffRequest(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}`, hdr)); a.status != http.StatusAccepted {
				t.Fatalf("cancel: %d %s", a.status, a.body)
			}
			a := <-done
			if a.status != http.StatusOK || !strings.Contains(a.body, "context canceled") {
				t.Errorf("cancelled call: %d %s", a.status, a.body)
			}
			if f, ok := hh.fast.(*fastCalls); ok {
				// A call that ended keeps nothing.
				hdr["Mcp-Protocol-Version"] = "2025-11-25"
				if a := serveOne(h, diffRequest(call("8", "read_thing", `{"id":"1"}`), hdr)); a.status != http.StatusOK {
					t.Fatalf("call: %d %s", a.status, a.body)
				}
				f.mu.Lock()
				n := len(f.inflight)
				f.mu.Unlock()
				if n != 0 || f.served.Load() != 2 {
					t.Errorf("%d calls in flight after both ended (served %d), want 0", n, f.served.Load())
				}
			} else if !disable {
				t.Fatal("no fast path")
			}
		})
	}
}

// TestFastToolCallSkipsNothing fails when the server gains something that
// mcp-go applies to tools/call and the fast path would skip: call hooks,
// tool filters or middleware, validators, tracing or request logging. Such
// an addition must disable the fast path (or teach it) first.
func TestFastToolCallSkipsNothing(t *testing.T) {
	m, err := NewMCP(Options{Tools: fakeTools(nil, nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hv := reflect.ValueOf(m.hooks).Elem()
	for _, f := range []string{"OnBeforeAny", "OnSuccess", "OnError", "OnRequestInitialization", "OnBeforeCallTool", "OnAfterCallTool"} {
		if n := hv.FieldByName(f).Len(); n != 0 {
			t.Errorf("hooks.%s has %d hooks: the fast path would skip them", f, n)
		}
	}
	sv := reflect.ValueOf(m.Server).Elem()
	for _, f := range []string{"toolHandlerMiddlewares", "toolFilters"} {
		if n := sv.FieldByName(f).Len(); n != 0 {
			t.Errorf("mcp-go server has %d %s: the fast path would skip them", n, f)
		}
	}
	for _, f := range []string{"inputValidator", "outputValidator", "metaPropagator", "requestLogger"} {
		if v := sv.FieldByName(f); !v.IsValid() || !v.IsNil() {
			t.Errorf("mcp-go server has %s set (or no such field): the fast path would skip it", f)
		}
	}
	// mcp-go's defaults are no-ops.
	for f, noop := range map[string]any{"tracer": tracing.NoopTracer(), "propagator": tracing.NoopPropagator()} {
		if v := sv.FieldByName(f); !v.IsValid() || v.IsNil() || v.Elem().Type() != reflect.TypeOf(noop) {
			t.Errorf("mcp-go server has a %s other than its no-op: the fast path would skip it", f)
		}
	}
	if sv.FieldByName("taskTools").Len() != 0 {
		t.Error("task tools registered: the fast path does not know them")
	}
	if len(m.fast) != len(fakeTools(nil, nil)) {
		t.Errorf("fast path serves %d tools, want every one", len(m.fast))
	}
	v, err := NewMCP(Options{Tools: fakeTools(nil, nil), Logger: slog.New(slog.DiscardHandler), ValidateInput: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.fast) != 0 {
		t.Error("with ValidateInput the fast path must serve no tool")
	}
	if _, ok := NewHTTP(HTTPOptions{MCP: v}).fast.(*fastCalls); ok {
		t.Error("with ValidateInput the fast path is installed")
	}
}

// FuzzFastToolCall sends arbitrary bodies and headers to the server with
// and without the fast path: the answers must be equal (or the fast path
// must not have answered), and nothing may panic.
func FuzzFastToolCall(f *testing.F) {
	for _, s := range []struct{ body, pv, ct string }{
		{call("1", "read_thing", `{"id":"42"}`), "2025-11-25", "application/json"},
		{call(`"x"`, "structured", `{"a":"<"}`), "2025-06-18", "application/json; charset=utf-8"},
		{call("1e3", "fails", ""), "2025-03-26", "application/json"},
		{call("2", "nothing", "null"), "2025-11-25", "Application/JSON"},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_thing","_meta":null}}`, "2025-11-25", "application/json"},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_thing","task":null}}`, "2025-11-25", "application/json"},
		{`{"JSONRPC":"2.0","ID":4,"METHOD":"tools/call","PARAMS":{"NAME":"read_thing"}}`, "2025-11-25", "application/json"},
		{`{"jsonrpc":"2.0","id":5,"method":"tools/call","method":"tools/list","params":{"name":"read_thing"}}`, "2025-11-25", "application/json"},
		{`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"read_thing"},"params":{"name":"boom"}}`, "2025-11-25", "application/json"},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`, "", "application/json"},
		{call("7", "tool_error", ""), "2026-07-28", "application/json"},
		{` ` + call("8", "elicits", "") + "\n", "2025-11-25", "application/json"},
	} {
		f.Add(s.body, s.pv, s.ct, uint8(0))
	}
	release := make(chan struct{})
	close(release)
	p := newDiffPair(f, release)
	var mu sync.Mutex
	f.Fuzz(func(t *testing.T, body, pv, ct string, which uint8) {
		mu.Lock()
		defer mu.Unlock()
		hdr := map[string]string{"Authorization": "Bearer " + readerToken, "Mcp-Protocol-Version": pv,
			"Content-Type": ct, mcpserver.HeaderKeySessionID: fixedSession}
		if which%3 == 1 {
			hdr["Authorization"] = "Bearer " + writerToken
		}
		if !isHeaderSafe(pv) || !isHeaderSafe(ct) {
			return
		}
		if ct == "" {
			hdr["Content-Type"] = "application/json"
		}
		p.compare(t, body, hdr, which%3 == 2)
	})
}

// isHeaderSafe reports whether v can travel as an HTTP header value.
func isHeaderSafe(v string) bool {
	return !strings.ContainsAny(v, "\r\n\x00") && bytes.Equal([]byte(strings.TrimSpace(v)), []byte(v))
}

// TestFastToolCallInFlightCapAndShutdown runs a long call on the fast path
// (a legacy session, no input validation) and checks what sits around it
// still holds: it takes the in-flight slot (a second request gets 503),
// and a shutdown closes the listener at once and lets it finish.
func TestFastToolCallInFlightCapAndShutdown(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	m, err := NewMCP(Options{Tools: fakeTools(started, release), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := startHTTPWith(t, permissions.Default(), m, func(o *HTTPOptions) { o.Security.MaxInFlight = 1 })
	c := startSlowCall(t, ts, "2025-11-25")
	<-started
	if n := ts.H.fast.(*fastCalls).served.Load(); n != 1 {
		t.Fatalf("fast path answered %d calls, want the one in flight", n)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp", strings.NewReader(initBody))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second request = %d, want 503: the fast call holds the in-flight slot", resp.StatusCode)
	}
	c.shutdown(t, ts)
	if n := m.InFlight(); n != 1 {
		t.Errorf("in flight during shutdown = %d, want 1 (drain must see the fast call)", n)
	}
	close(release)
	c.finished(t)
	ts.Stop(t)
}

// callKey is mcp-go's key, fmt.Sprintf("%s:%v", sid, id), for every kind of
// id a client may send.
func TestCallKeyIsMCPGosKey(t *testing.T) {
	sid := "mcp-session-3b0e7c1a-8f51-4f3c-9c1e-3a3f4d7e2b13"
	for _, id := range []any{"7", "", "a:b", float64(7), float64(0), math.Copysign(0, -1), float64(-3), float64(99), float64(100),
		999999, -999999, 1e6, 1234567, 1e14 + 1, 1e15, 1e20, 1e21, 123456789012345678, 0.5, -2.25, 1e-7, math.Inf(1), math.NaN(), true, nil,
		map[string]any{"x": 1.0}, int64(5)} {
		want := fmt.Sprintf("%s:%v", sid, id)
		if got := callKey(sid, id); got != want {
			t.Errorf("callKey(%#v) = %q, want %q", id, got, want)
		}
	}
	long := strings.Repeat("s", 200)
	if got, want := callKey(long, float64(42)), long+":42"; got != want {
		t.Errorf("callKey of a long session id = %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { _ = callKey(sid, float64(4242)) }); n > 1 {
		t.Errorf("callKey allocates %v times, want 1", n)
	}
}
