package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Keep-alive connections of http.DefaultTransport used by clients.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

const (
	readerToken = "reader-token-Zq9"
	writerToken = "writer-token-Xw3"
)

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func testPolicy(t testing.TB) *permissions.Policy {
	t.Helper()
	p, err := permissions.Parse(fmt.Appendf(nil, `
default_profile: reader
profiles:
  reader: { scopes: [read, monitor] }
  writer: { scopes: [read, write, monitor] }
tokens:
  - { profile: reader, sha256: %q }
  - { profile: writer, sha256: %q }
`, sum(readerToken), sum(writerToken)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeTools returns a read tool, a write tool, a tool that blocks until
// release is closed (signalling started), and a panicking tool.
func fakeTools(started chan<- struct{}, release <-chan struct{}) []Tool {
	route := tiers.Route{Tier: tiers.REST, DurationMS: 3, Attempts: []tiers.Attempt{
		{Tier: tiers.MCP, Outcome: tiers.AttemptUnavailable, Error: "down"}, {Tier: tiers.REST, Outcome: tiers.AttemptSuccess}}}
	ok := func(text string) *mcp.CallToolResult {
		r := mcp.NewToolResultText(text)
		r.Meta = &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: route}}
		return r
	}
	ro := mcp.WithReadOnlyHintAnnotation(true)
	return []Tool{
		{Def: mcp.NewTool("read_thing", mcp.WithString("id", mcp.Required()), ro, mcp.WithSchemaAdditionalProperties(false)),
			Scopes: []permissions.Scope{permissions.ScopeRead},
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return ok("read " + req.GetString("id", "")), nil
			}},
		{Def: mcp.NewTool("write_thing", mcp.WithString("id"), mcp.WithSchemaAdditionalProperties(false)),
			Scopes: []permissions.Scope{permissions.ScopeWrite},
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return ok("written"), nil
			}},
		{Def: mcp.NewTool("slow", ro), Scopes: []permissions.Scope{permissions.ScopeRead},
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				if started != nil {
					started <- struct{}{}
				}
				select {
				case <-release:
					return ok("finished"), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}},
		{Def: mcp.NewTool("boom", ro), Scopes: []permissions.Scope{permissions.ScopeRead},
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				panic("kaboom secret-arg")
			}},
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = tierstest.Buffer

type testServer struct {
	URL     string
	MCP     *MCP
	H       *HTTP
	Logs    *syncBuffer
	Reg     *prometheus.Registry
	Ready   *atomic.Bool
	Release chan struct{}
	Started chan struct{}
	Closed  <-chan struct{} // closed when the server closes its listener
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
}

func (ts *testServer) Stop(t testing.TB) {
	t.Helper()
	ts.once.Do(func() {
		ts.cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

type serverOpt func(*HTTPOptions)

func startHTTP(t testing.TB, policy *permissions.Policy, opts ...serverOpt) *testServer {
	t.Helper()
	return startHTTPWith(t, policy, nil, opts...)
}

// startHTTPWith serves m (nil: the fake tools) over HTTP.
func startHTTPWith(t testing.TB, policy *permissions.Policy, m *MCP, opts ...serverOpt) *testServer {
	t.Helper()
	ts := &testServer{Logs: &syncBuffer{}, Reg: prometheus.NewRegistry(), Ready: &atomic.Bool{},
		Release: make(chan struct{}), Started: make(chan struct{}, 4), done: make(chan error, 1)}
	ts.Ready.Store(true)
	log := slog.New(slog.NewJSONHandler(ts.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if m == nil {
		var err error
		m, err = NewMCP(Options{Tools: fakeTools(ts.Started, ts.Release), Logger: log, Registerer: ts.Reg, ValidateInput: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	ts.MCP = m
	o := HTTPOptions{
		MCP:      m,
		Security: Security{Policy: policy, BodyLimit: 4096, AllowedOrigins: []string{"https://app.example.com"}},
		Ready:    ts.Ready.Load,
		Health:   func() any { return []map[string]any{{"tier": "MCP", "state": "closed"}} },
		Gatherer: ts.Reg, Logger: log, ShutdownGrace: 5 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &notifyingListener{Listener: l, closed: make(chan struct{})}
	ts.Closed = ln.closed
	ts.URL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	h := NewHTTP(o)
	ts.H = h
	go func() { ts.done <- h.Serve(ctx, ln) }()
	t.Cleanup(func() { ts.Stop(t) })
	return ts
}

// notifyingListener says when it is closed, so that a test learns when the
// server stops accepting without polling for it.
type notifyingListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *notifyingListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestHTTPSecurity(t *testing.T) {
	ts := startHTTP(t, testPolicy(t))
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		chunked    bool
		header     map[string]string
		host       string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{name: "no bearer", path: "/mcp", body: initBody, wantStatus: 401,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="zoho-mcp-proxy"`}, wantBody: "bearer token"},
		{name: "wrong bearer", path: "/mcp", body: initBody, header: map[string]string{"Authorization": "Bearer nope"}, wantStatus: 401,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="zoho-mcp-proxy"`}},
		{name: "basic auth is not bearer", path: "/mcp", body: initBody, header: map[string]string{"Authorization": "Basic " + readerToken}, wantStatus: 401},
		{name: "no bearer on sse", path: "/sse", wantStatus: 401},
		{name: "no bearer on message", path: "/message?sessionId=x", body: initBody, wantStatus: 401},
		{name: "bad origin", path: "/mcp", body: initBody, header: map[string]string{"Authorization": "Bearer " + readerToken, "Origin": "https://evil.example"}, wantStatus: 403, wantBody: "Origin"},
		{name: "null origin", path: "/mcp", body: initBody, header: map[string]string{"Authorization": "Bearer " + readerToken, "Origin": "null"}, wantStatus: 403},
		{name: "bad origin beats missing token", path: "/mcp", body: initBody, header: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "allowed origin", path: "/mcp", body: initBody, header: map[string]string{"Authorization": "Bearer " + readerToken, "Origin": "https://app.example.com"}, wantStatus: 200, wantBody: `"protocolVersion"`},
		{name: "loopback origin", path: "/mcp", body: initBody, header: map[string]string{"Authorization": "bearer " + writerToken, "Origin": "http://localhost:6274"}, wantStatus: 200},
		{name: "no origin", path: "/mcp", body: initBody, header: map[string]string{"Authorization": "Bearer " + readerToken}, wantStatus: 200},
		{name: "foreign host", path: "/mcp", body: initBody, host: "evil.example:8765", header: map[string]string{"Authorization": "Bearer " + readerToken}, wantStatus: 403, wantBody: "Host"},
		{name: "foreign host on healthz", path: "/healthz", host: "rebind.example", wantStatus: 403},
		{name: "oversized body", path: "/mcp", body: big, header: map[string]string{"Authorization": "Bearer " + readerToken}, wantStatus: 413},
		{name: "oversized chunked body", path: "/mcp", body: big, chunked: true, header: map[string]string{"Authorization": "Bearer " + readerToken}, wantStatus: 413},
		{name: "malformed JSON-RPC", path: "/mcp", body: `{"jsonrpc":"2.0","id":1,"method":`, header: map[string]string{"Authorization": "Bearer " + readerToken}, wantStatus: 400, wantBody: `"code":-32700`},
		{name: "preflight from allowed origin needs no token", method: http.MethodOptions, path: "/mcp",
			header:     map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version"},
			wantStatus: 204, wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Headers": "authorization, content-type, mcp-protocol-version"}},
		{name: "preflight from foreign origin", method: http.MethodOptions, path: "/mcp",
			header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, wantStatus: 403},
		{name: "401 readable cross-origin", path: "/mcp", body: initBody, header: map[string]string{"Origin": "https://app.example.com"}, wantStatus: 401,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{name: "healthz needs no token", path: "/healthz", wantStatus: 200, wantBody: `"ok"`},
		{name: "unknown path", path: "/nope", wantStatus: 404, wantBody: "/mcp"},
	}
	t.Run("requests", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				method := http.MethodPost
				var body io.Reader = strings.NewReader(tt.body)
				if tt.body == "" {
					method, body = http.MethodGet, nil
				} else if tt.chunked {
					body = io.MultiReader(strings.NewReader(tt.body)) // unknown length → chunked
				}
				if tt.method != "" {
					method = tt.method
				}
				req, _ := http.NewRequest(method, ts.URL+tt.path, body)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				if tt.host != "" {
					req.Host = tt.host
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, b)
				}
				if !strings.Contains(string(b), tt.wantBody) {
					t.Errorf("body %s lacks %q", b, tt.wantBody)
				}
				for k, v := range tt.wantHeader {
					if got := resp.Header.Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
			})
		}
	})
	t.Run("refusals counted", func(t *testing.T) {
		_, body := getWith(t, ts.URL+"/metrics", readerToken)
		for _, reason := range []string{"auth", "origin", "host", "body"} {
			if !strings.Contains(body, `zoho_mcp_proxy_http_refused_total{reason="`+reason+`"}`) {
				t.Errorf("/metrics lacks refusals for %s", reason)
			}
		}
	})
	t.Run("no token ever logged", func(t *testing.T) {
		for _, s := range []string{readerToken, writerToken, "nope"} {
			if strings.Contains(ts.Logs.String(), s) {
				t.Errorf("logs contain token %q", s)
			}
		}
	})
}

func TestCheckBind(t *testing.T) {
	t.Parallel()
	withTokens := testPolicy(t)
	tests := []struct {
		name    string
		addr    string
		policy  *permissions.Policy
		wantErr bool
	}{
		{"loopback v4", "127.0.0.1:8765", nil, false},
		{"loopback v6", "[::1]:8765", permissions.Default(), false},
		{"localhost", "localhost:0", permissions.Default(), false},
		{"all interfaces", ":8765", permissions.Default(), true},
		{"any v4", "0.0.0.0:8765", nil, true},
		{"lan", "192.168.1.5:8765", permissions.Default(), true},
		{"any v4 with tokens", "0.0.0.0:8765", withTokens, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckBind(tt.addr, tt.policy)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckBind(%q) = %v, wantErr %t", tt.addr, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error does not name the fix: %v", err)
			}
		})
	}
}

// bearerTransport adds a bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func sdkSession(t *testing.T, ctx context.Context, tr sdk.Transport, pv string) *sdk.ClientSession {
	t.Helper()
	c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk-test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, tr, &sdk.ClientSessionOptions{ProtocolVersion: pv})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return cs
}

func TestProfilesOverHTTPBothEras(t *testing.T) {
	ts := startHTTP(t, testPolicy(t))
	type client struct {
		list func(ctx context.Context) ([]string, error)
		call func(ctx context.Context, name string, args map[string]any) (isError bool, text string, err error)
		stop func()
	}
	sdkClient := func(t *testing.T, ctx context.Context, tr sdk.Transport, pv string) client {
		cs := sdkSession(t, ctx, tr, pv)
		return client{
			list: func(ctx context.Context) ([]string, error) {
				r, err := cs.ListTools(ctx, nil)
				if err != nil {
					return nil, err
				}
				var n []string
				for _, x := range r.Tools {
					n = append(n, x.Name)
				}
				return n, nil
			},
			call: func(ctx context.Context, name string, args map[string]any) (bool, string, error) {
				r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
				if err != nil {
					return false, "", err
				}
				txt := ""
				if len(r.Content) > 0 {
					if tc, ok := r.Content[0].(*sdk.TextContent); ok {
						txt = tc.Text
					}
				}
				return r.IsError, txt, nil
			},
			stop: func() { _ = cs.Close() },
		}
	}
	legacyClient := func(t *testing.T, ctx context.Context, token string) client {
		c, err := mcpclient.NewStreamableHttpClient(ts.URL+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		ir := mcp.InitializeRequest{}
		ir.Params.ProtocolVersion = mcp.ProtocolVersion20251125
		ir.Params.ClientInfo = mcp.Implementation{Name: "mcp-go-legacy", Version: "1"}
		res, err := c.Initialize(ctx, ir)
		if err != nil {
			t.Fatalf("initialize: %v", err)
		}
		if res.ProtocolVersion != mcp.ProtocolVersion20251125 {
			t.Fatalf("negotiated %s, want the legacy 2025-11-25", res.ProtocolVersion)
		}
		return client{
			list: func(ctx context.Context) ([]string, error) {
				r, err := c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil {
					return nil, err
				}
				var n []string
				for _, x := range r.Tools {
					n = append(n, x.Name)
				}
				return n, nil
			},
			call: func(ctx context.Context, name string, args map[string]any) (bool, string, error) {
				req := mcp.CallToolRequest{}
				req.Params.Name, req.Params.Arguments = name, args
				r, err := c.CallTool(ctx, req)
				if err != nil {
					return false, "", err
				}
				txt := ""
				if len(r.Content) > 0 {
					if tc, ok := r.Content[0].(mcp.TextContent); ok {
						txt = tc.Text
					}
				}
				return r.IsError, txt, nil
			},
			stop: func() { _ = c.Close() },
		}
	}
	hc := func(token string) *http.Client { return &http.Client{Transport: bearerTransport{token}} }
	eras := []struct {
		name string
		make func(t *testing.T, ctx context.Context, token string) client
	}{
		{"go-sdk streamable 2026-07-28", func(t *testing.T, ctx context.Context, token string) client {
			return sdkClient(t, ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: hc(token), DisableStandaloneSSE: true}, "")
		}},
		{"go-sdk streamable 2025-11-25", func(t *testing.T, ctx context.Context, token string) client {
			return sdkClient(t, ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: hc(token)}, "2025-11-25")
		}},
		{"go-sdk sse", func(t *testing.T, ctx context.Context, token string) client {
			return sdkClient(t, ctx, &sdk.SSEClientTransport{Endpoint: ts.URL + "/sse", HTTPClient: hc(token)}, "")
		}},
		{"mcp-go streamable legacy", legacyClient},
	}
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reader := era.make(t, ctx, readerToken)
			defer reader.stop()
			names, err := reader.list(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(names, ",")
			if strings.Contains(got, "write_thing") || !strings.Contains(got, "read_thing") {
				t.Errorf("reader sees %s: want read_thing and no write_thing", got)
			}
			isErr, txt, err := reader.call(ctx, "read_thing", map[string]any{"id": "42"})
			if err != nil || isErr || txt != "read 42" {
				t.Errorf("reader read_thing = (%t, %q, %v)", isErr, txt, err)
			}
			isErr, txt, err = reader.call(ctx, "write_thing", map[string]any{"id": "42"})
			if err == nil && !isErr {
				t.Errorf("reader called write_thing: %q", txt)
			}
			if err == nil && strings.Contains(txt, "written") {
				t.Errorf("write_thing ran for a reader")
			}

			writer := era.make(t, ctx, writerToken)
			defer writer.stop()
			names, err = writer.list(ctx)
			if err != nil || !strings.Contains(strings.Join(names, ","), "write_thing") {
				t.Errorf("writer tools = %v, %v; want write_thing", names, err)
			}
			isErr, txt, err = writer.call(ctx, "write_thing", map[string]any{"id": "1"})
			if err != nil || isErr || txt != "written" {
				t.Errorf("writer write_thing = (%t, %q, %v)", isErr, txt, err)
			}
		})
	}
	logs := ts.Logs.String()
	if !strings.Contains(logs, `"profile":"reader"`) || !strings.Contains(logs, `"tier":"REST"`) || !strings.Contains(logs, `"attempts":"MCP:unavailable,REST:success"`) {
		t.Errorf("tool call log lines lack profile/tier/attempts:\n%s", logs)
	}
	if strings.Contains(logs, `"42"`) || strings.Contains(logs, "read 42") {
		t.Errorf("argument values leaked into logs:\n%s", logs)
	}
}

func TestEnforceRefusesEvenWithoutFilter(t *testing.T) {
	t.Parallel()
	m, err := NewMCP(Options{Tools: fakeTools(nil, nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	reader, _ := testPolicy(t).Profile("reader")
	ctx := permissions.WithProfile(context.Background(), reader)
	called := false
	h := m.observe(m.enforce(func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		called = true
		return mcp.NewToolResultText("x"), nil
	}))
	req := mcp.CallToolRequest{}
	req.Params.Name = "write_thing"
	res, err := h(ctx, req)
	if err != nil || res == nil || !res.IsError || called {
		t.Fatalf("enforce let write_thing through: res=%+v err=%v called=%t", res, err, called)
	}
	if txt := res.Content[0].(mcp.TextContent).Text; !strings.Contains(txt, "write") || !strings.Contains(txt, `"reader"`) {
		t.Errorf("refusal text = %q", txt)
	}
	if _, err := h(context.Background(), req); err != nil {
		t.Errorf("no profile: %v", err)
	}
}

func TestNewMCPRejectsBadTools(t *testing.T) {
	t.Parallel()
	h := func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil }
	tests := []struct {
		name  string
		tools []Tool
	}{
		{"no scope", []Tool{{Def: mcp.NewTool("a"), Handler: h}}},
		{"no handler", []Tool{{Def: mcp.NewTool("a"), Scopes: []permissions.Scope{"read"}}}},
		{"duplicate", []Tool{{Def: mcp.NewTool("a"), Scopes: []permissions.Scope{"read"}, Handler: h}, {Def: mcp.NewTool("a"), Scopes: []permissions.Scope{"read"}, Handler: h}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewMCP(Options{Tools: tt.tools}); err == nil {
				t.Error("NewMCP accepted bad tools")
			}
		})
	}
}

func get(t *testing.T, url string) (int, string) { t.Helper(); return getWith(t, url, "") }

// getWith GETs url with a bearer token (none if empty).
func getWith(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOpsEndpoints(t *testing.T) {
	ts := startHTTP(t, permissions.Default())
	if code, body := get(t, ts.URL+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %s", code, body)
	}
	code, body := get(t, ts.URL+"/readyz")
	if code != 200 || !strings.Contains(body, `"ready":true`) || !strings.Contains(body, `"tier":"MCP"`) {
		t.Errorf("/readyz = %d %s", code, body)
	}
	ts.Ready.Store(false)
	code, body = get(t, ts.URL+"/readyz")
	if code != 503 || !strings.Contains(body, `"ready":false`) {
		t.Errorf("/readyz with no tier = %d %s, want 503", code, body)
	}
	// One call of each outcome, then the exposition.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs := sdkSession(t, ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", DisableStandaloneSSE: true}, "")
	defer cs.Close()
	if _, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_thing", Arguments: map[string]any{"id": "1"}}); err != nil {
		t.Fatal(err)
	}
	r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_thing", Arguments: map[string]any{"id": "1", "extra": true}})
	if err != nil || !r.IsError {
		t.Errorf("unknown argument not refused by schema validation: %+v %v", r, err)
	}
	if _, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "boom", Arguments: map[string]any{}}); err == nil {
		t.Error("a panicking tool should be a JSON-RPC error")
	} else if strings.Contains(err.Error(), "secret-arg") {
		t.Errorf("panic value reached the client: %v", err)
	}
	_, body = get(t, ts.URL+"/metrics")
	for _, want := range []string{
		`zoho_mcp_proxy_tool_calls_total{outcome="ok",tool="read_thing"} 1`,
		`zoho_mcp_proxy_tool_calls_total{outcome="panic",tool="boom"} 1`,
		`zoho_mcp_proxy_tool_call_duration_seconds_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(ts.Logs.String(), "secret-arg") {
		t.Error("panic value logged")
	}
}

func TestInFlightCap(t *testing.T) {
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) { o.Security.MaxInFlight = 1 })
	c := startSlowCall(t, ts, "")
	<-ts.Started
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp", strings.NewReader(initBody))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second request = %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(ts.Release)
	c.finished(t)
}

// sdkSlowCall is a call of the fake tools' "slow" tool that an official Go SDK
// client has in flight over Streamable HTTP.
type sdkSlowCall struct {
	ctx  context.Context // the test's deadline (10 s)
	hc   *http.Client    // the client's own connections
	done chan sdkSlowResult
}

type sdkSlowResult struct {
	r   *sdk.CallToolResult
	err error
}

// startSlowCall connects an official Go SDK client to ts's /mcp with its own
// connections (protocol pv; "" for the SDK's latest) and starts a call of
// "slow" without waiting for it; the session, connections and deadline
// end with t. The caller waits for the tool's started signal.
func startSlowCall(t *testing.T, ts *testServer, pv string) *sdkSlowCall {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	c := &sdkSlowCall{ctx: ctx, hc: &http.Client{Transport: &http.Transport{}}, done: make(chan sdkSlowResult, 1)}
	t.Cleanup(c.hc.CloseIdleConnections)
	cs := sdkSession(t, ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: c.hc, DisableStandaloneSSE: true}, pv)
	t.Cleanup(func() { _ = cs.Close() })
	go func() {
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "slow", Arguments: map[string]any{}})
		c.done <- sdkSlowResult{r, err}
	}()
	return c
}

// shutdown begins ts's shutdown (SIGTERM) with the call in flight and waits
// until the listener is closed.
func (c *sdkSlowCall) shutdown(t *testing.T, ts *testServer) {
	t.Helper()
	ts.cancel()
	select {
	case <-ts.Closed:
	case <-c.ctx.Done():
		t.Fatal("listener still open after shutdown began")
	}
}

// finished waits for the call's answer and fails t unless the tool
// finished normally.
func (c *sdkSlowCall) finished(t *testing.T) {
	t.Helper()
	got := <-c.done
	if got.err != nil || got.r.IsError {
		t.Fatalf("in-flight call did not finish: %+v %v", got.r, got.err)
	}
	if txt := got.r.Content[0].(*sdk.TextContent).Text; txt != "finished" {
		t.Errorf("in-flight result = %q", txt)
	}
}

func TestGracefulShutdownFinishesInFlightCall(t *testing.T) {
	ts := startHTTP(t, permissions.Default())
	c := startSlowCall(t, ts, "")
	<-ts.Started
	// The listener closes at once, the call still in flight: new
	// connections are refused.
	c.shutdown(t, ts)
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.URL, "http://"), time.Second); err == nil {
		conn.Close()
		t.Fatal("a new connection was accepted after the listener closed")
	}
	close(ts.Release)
	c.finished(t)
	ts.Stop(t)
}

func TestDrainRefusesNewCalls(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	m, err := NewMCP(Options{Tools: fakeTools(nil, nil), Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := m.observe(func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		t.Error("handler ran while draining")
		return nil, nil
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "read_thing"
	r, err := h(context.Background(), req)
	if err != nil || !r.IsError || !strings.Contains(r.Content[0].(mcp.TextContent).Text, "shutting down") {
		t.Errorf("call while draining = %+v, %v", r, err)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &line); err != nil || line["outcome"] != "shutting_down" {
		t.Errorf("log line = %s", logs)
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	l, err := NewLogger(&b, "warn", "auto")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if strings.Contains(b.String(), "hidden") || !json.Valid(bytes.TrimSpace(b.Bytes())) {
		t.Errorf("auto on a non-terminal must be JSON at the level: %q", b.String())
	}
	b.Reset()
	l, _ = NewLogger(&b, "debug", "text")
	l.Debug("hello", "k", "v")
	if !strings.Contains(b.String(), "hello") || json.Valid(bytes.TrimSpace(b.Bytes())) || strings.Contains(b.String(), "\x1b[") {
		t.Errorf("text on a non-terminal must be plain tint: %q", b.String())
	}
	if _, err := NewLogger(&b, "loud", "auto"); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := NewLogger(&b, "info", "xml"); err == nil {
		t.Error("bad format accepted")
	}
}

func TestReadTimeoutDoesNotCutLongCalls(t *testing.T) {
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) { o.ReadTimeout = 150 * time.Millisecond })
	c := startSlowCall(t, ts, "")
	<-ts.Started
	// Real time must pass: ReadTimeout is a deadline on the socket, kept by
	// the kernel's clock, which no test clock or channel stands in for.
	time.Sleep(400 * time.Millisecond) // well past ReadTimeout
	close(ts.Release)
	c.finished(t) // a call longer than ReadTimeout
}

func TestReadTimeoutDoesNotCutSSEStreams(t *testing.T) {
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) { o.ReadTimeout = 150 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs := sdkSession(t, ctx, &sdk.SSEClientTransport{Endpoint: ts.URL + "/sse"}, "")
	defer cs.Close()
	// Real time must pass: ReadTimeout is a deadline on the socket (see
	// TestReadTimeoutDoesNotCutLongCalls).
	time.Sleep(400 * time.Millisecond) // well past ReadTimeout
	r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_thing", Arguments: map[string]any{"id": "7"}})
	if err != nil || r.IsError {
		t.Errorf("call on an SSE stream older than ReadTimeout: %v %+v", err, r)
	}
}

func TestGracefulShutdownFinishesInFlightSSECall(t *testing.T) {
	ts := startHTTP(t, permissions.Default())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs := sdkSession(t, ctx, &sdk.SSEClientTransport{Endpoint: ts.URL + "/sse"}, "")
	defer cs.Close()
	done := make(chan *sdk.CallToolResult, 1)
	go func() {
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "slow", Arguments: map[string]any{}})
		if err != nil {
			t.Errorf("in-flight SSE call: %v", err)
		}
		done <- r
	}()
	<-ts.Started
	ts.cancel()
	select { // the drain has begun with the call in flight
	case <-ts.MCP.drain.begun():
	case <-ctx.Done():
		t.Fatal("the drain never began")
	}
	close(ts.Release)
	if r := <-done; r == nil || r.IsError || r.Content[0].(*sdk.TextContent).Text != "finished" {
		t.Errorf("in-flight SSE call result = %+v", r)
	}
	ts.Stop(t)
}

// TestRouteOf: the call log reads the route the tools put in _meta by its
// type; a value of any other type (say, JSON decoded into a map) names no
// route rather than a guessed one.
func TestRouteOf(t *testing.T) {
	t.Parallel()
	typed := tiers.Route{Tier: tiers.Bulk, Attempts: []tiers.Attempt{
		{Tier: tiers.MCP, Outcome: tiers.AttemptBreakerOpen}, {Tier: tiers.Bulk, Outcome: tiers.AttemptSuccess}}}
	tests := []struct {
		name           string
		meta           *mcp.Meta
		tier, attempts string
	}{
		{name: "typed route", meta: &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: typed}},
			tier: "BULK", attempts: "MCP:breaker_open,BULK:success"},
		{name: "no attempts", meta: &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: tiers.Route{}}}},
		{name: "a map is not a route", meta: &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: map[string]any{"tier": "REST"}}}},
		{name: "no meta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := mcp.NewToolResultText("x")
			res.Meta = tt.meta
			if tier, attempts := routeOf(res); tier != tt.tier || attempts != tt.attempts {
				t.Errorf("routeOf = %q, %q; want %q, %q", tier, attempts, tt.tier, tt.attempts)
			}
		})
	}
}
