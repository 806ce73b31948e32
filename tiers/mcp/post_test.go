package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// oracleCallTool is callTool as it was before post: the request through the
// transport's SendRequest. It is the oracle callTool is held to.
func (t *Tier) oracleCallTool(ctx context.Context, s *session, name string, args toolArgs) (*toolResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, transport.NewError(err)
	}
	params, err := appendParams(nil, name, args)
	if err != nil {
		return nil, transport.NewError(fmt.Errorf("failed to marshal request: %w", err))
	}
	req := transport.JSONRPCRequest{
		JSONRPC: mcpgo.JSONRPC_VERSION,
		ID:      mcpgo.NewRequestId("zmp-" + strconv.FormatInt(t.callIDs.Add(1), 10)),
		Method:  string(mcpgo.MethodToolsCall),
		Params:  json.RawMessage(params),
	}
	resp, err := s.c.GetTransport().SendRequest(ctx, req)
	if err != nil {
		return nil, transport.NewError(err)
	}
	if resp == nil {
		return nil, errors.New("no response received")
	}
	if resp.Error != nil {
		return nil, resp.Error.AsError()
	}
	res, needsInput, err := parseValidToolResult(resp.Result)
	if err != nil {
		return nil, err
	}
	if needsInput {
		return clientCallTool(ctx, s, name, args)
	}
	return res, nil
}

// wire is one request as the upstream saw it.
type wire struct {
	Method, URL string
	Header      http.Header
	Body        string
}

// parityUpstream is an upstream whose tools/call answers are written by a
// scenario; it records every request after the connection's set-up.
type parityUpstream struct {
	srv    *httptest.Server
	answer func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream)
	mu     sync.Mutex
	wire   []wire
	posted chan string // bodies of the client's answers to server requests
	gone   chan struct{}
}

func newParityUpstream(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream)) *parityUpstream {
	u := &parityUpstream{answer: answer, posted: make(chan string, 4), gone: make(chan struct{}, 4)}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *parityUpstream) endpoint() string { return u.srv.URL + "/mcp/" + testKey + "/message" }

func (u *parityUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m rpcMessage
	_ = json.Unmarshal(body, &m)
	if m.Method != "initialize" && m.Method != "notifications/initialized" && m.Method != "tools/list" {
		h := r.Header.Clone()
		u.mu.Lock()
		u.wire = append(u.wire, wire{r.Method, r.URL.String(), h, string(body)})
		u.mu.Unlock()
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK) // the DELETE that ends the session
		return
	}
	switch m.Method {
	case "initialize":
		w.Header().Set("Mcp-Session-Id", "parity-1")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"p","version":"1"}}}`, m.ID)
	case "notifications/initialized":
		w.WriteHeader(http.StatusAccepted)
	case "tools/list":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, m.ID, scriptedTools)
	case "tools/call":
		u.answer(w, r, string(m.ID), u)
	default: // the client's answer to a server request
		u.posted <- string(body)
		w.WriteHeader(http.StatusAccepted)
	}
}

func (u *parityUpstream) take() []wire {
	u.mu.Lock()
	defer u.mu.Unlock()
	w := u.wire
	u.wire = nil
	return w
}

// outcome is what a path made of a scenario: the results or errors of two
// calls (the second one shows the state the first left), the transport's
// session ID, and the requests on the wire.
type outcome struct {
	Results []*toolResult
	Errors  []string
	Session string
	Wire    []wire
}

// errString is an error's text and the types of its chain, and the
// sentinels the tier looks for.
func errString(err error) string {
	if err == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(err.Error())
	for e := err; e != nil; e = errors.Unwrap(e) {
		fmt.Fprintf(&b, " <%T>", e)
	}
	var ae *transport.AuthorizationRequiredError
	fmt.Fprintf(&b, " ended=%v auth=%v sent=%v rpc=%v", errors.Is(err, transport.ErrSessionTerminated), errors.As(err, &ae), sent(err), isRPCError(err))
	return b.String()
}

type callPath func(t *Tier, ctx context.Context, s *session, name string, args toolArgs) (*toolResult, error)

var (
	oldPath callPath = (*Tier).oracleCallTool
	newPath callPath = (*Tier).callTool
)

var parityArgs = toolArgs{{section: "path_variables", key: "module", value: "Accounts"}, {section: "path_variables", key: "recordID", value: "<1&2>"}}

// run drives one scenario through path: two calls on one session.
func (u *parityUpstream) run(t *testing.T, path callPath, ctx context.Context) outcome {
	t.Helper()
	return u.runWith(t, path, ctx, nil)
}

func (u *parityUpstream) runWith(t *testing.T, path callPath, ctx context.Context, mod func(*Config)) outcome {
	t.Helper()
	tr := newTier(t, u.endpoint(), mod)
	s, err := tr.session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u.take()
	var o outcome
	for range 2 {
		hctx, _ := tr.callContext(withScopes(ctx))
		res, err := path(tr, hctx, s, "ZohoCRM_getRecord", parityArgs)
		o.Results = append(o.Results, res)
		o.Errors = append(o.Errors, errString(err))
	}
	o.Session = s.c.GetTransport().(*transport.StreamableHTTP).GetSessionId()
	_ = tr.Close()
	o.Wire = u.take()
	return o
}

// sse writes events as an SSE answer, flushing each.
func sse(w http.ResponseWriter, events ...string) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
	}
	for _, e := range events {
		fmt.Fprint(w, e)
		w.(http.Flusher).Flush()
	}
}

func jsonAnswer(status int, ct, body string) func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
	return func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, strings.ReplaceAll(body, "$ID", id))
	}
}

const parityResult = `{"content":[{"type":"text","text":"{\"data\":[{\"id\":\"1\"}]}"}],"structuredContent":{"a":1}}`

// TestPostParity runs each answer through the old path (SendRequest) and
// post, and wants the same results, errors (text, types, the tier's
// classification), transport state and requests on the wire.
func TestPostParity(t *testing.T) {
	ok := `{"jsonrpc":"2.0","id":$ID,"result":` + parityResult + `}`
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream)
	}{
		{"json", jsonAnswer(200, "application/json", ok)},
		{"json with charset", jsonAnswer(200, "Application/JSON; charset=utf-8", ok)},
		{"json with whitespace and other members", jsonAnswer(200, "application/json", " \n{\"x\":[1],\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":"+parityResult+",\"_meta\":{}}\n")},
		{"json keys in other case", jsonAnswer(200, "application/json", `{"JSONRPC":"2.0","Id":$ID,"RESULT":`+parityResult+`}`)},
		{"json repeated result", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"result":{"content":[]},"result":`+parityResult+`}`)},
		{"json trailing data", jsonAnswer(200, "application/json", ok+`garbage`)},
		{"json two values", jsonAnswer(200, "application/json", ok+ok)},
		{"json tool error", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"error":{"code":-32602,"message":"tool 'x' not found"}}`)},
		{"json error and result", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"result":`+parityResult+`,"error":null}`)},
		{"json no id", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","result":`+parityResult+`}`)},
		{"json null id", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":null,"result":`+parityResult+`}`)},
		{"json number id", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":7,"result":`+parityResult+`}`)},
		{"json bad id", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":true,"result":`+parityResult+`}`)},
		{"json jsonrpc number", jsonAnswer(200, "application/json", `{"jsonrpc":2,"id":$ID,"result":`+parityResult+`}`)},
		{"json null result", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"result":null}`)},
		{"json string result", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"result":"x"}`)},
		{"json bad result", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"result":{"content":[{"type":"text","text":5}]}}`)},
		{"json truncated", jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"result":{"content":[`)},
		{"json not an object", jsonAnswer(200, "application/json", `[1,2]`)},
		{"json empty", jsonAnswer(200, "application/json", ``)},
		{"text/plain", jsonAnswer(200, "text/plain", ok)},
		{"no content type", jsonAnswer(200, "", ok)},
		{"202", jsonAnswer(202, "", ``)},
		{"202 json", jsonAnswer(202, "application/json", ok)},
		{"404 session ended", jsonAnswer(404, "text/plain", `no such session`)},
		{"401", jsonAnswer(401, "text/plain", `no`)},
		{"401 resource metadata", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			w.Header().Set("WWW-Authenticate", `Basic resource_metadata="https://x.example/.well-known/oauth-protected-resource"`)
			w.WriteHeader(401)
		}},
		{"429 JSON-RPC body", jsonAnswer(429, "application/json", `{"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"slow down"}}`)},
		{"500 text", jsonAnswer(500, "text/plain", `boom`)},
		{"302 without Location", jsonAnswer(302, "text/plain", `moved`)},
		{"sse", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			sse(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":"+id+",\"result\":"+parityResult+"}\n\n")
		}},
		{"sse with notifications", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			sse(w, ": comment\n\n",
				"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n",
				"data: not json\n\n",
				"event: message\ndata: {\"jsonrpc\":\"2.0\",\n",
				"data: \"id\":"+id+",\"result\":"+parityResult+"}\n\n")
		}},
		{"sse with a server request", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			sse(w, `data: {"jsonrpc":"2.0","id":"srv-1","method":"sampling/createMessage","params":{}}`+"\n\n")
			select { // the client's answer arrives before the result
			case <-u.posted:
			case <-time.After(5 * time.Second):
			}
			sse(w, "data: {\"jsonrpc\":\"2.0\",\"id\":"+id+",\"result\":"+parityResult+"}\n\n")
		}},
		{"sse ended before the response, resumed", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			sse(w, "id: 1\nretry: 10\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n")
		}},
		{"sse without a response", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			sse(w, "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n")
		}},
		{"connection closed mid-body", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"jsonrpc":"2.0","id":`+id)
			w.(http.Flusher).Flush()
			c, _, _ := http.NewResponseController(w).Hijack()
			_ = c.Close()
		}},
		{"connection closed after the value", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "5000")
			w.WriteHeader(200)
			fmt.Fprint(w, strings.ReplaceAll(ok, "$ID", id))
			w.(http.Flusher).Flush()
			c, _, _ := http.NewResponseController(w).Hijack()
			_ = c.Close()
		}},
		{"connection closed before the answer", func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
			c, _, _ := http.NewResponseController(w).Hijack()
			_ = c.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newParityUpstream(t, tt.answer)
			want := u.run(t, oldPath, context.Background())
			got := u.run(t, newPath, context.Background())
			comparePaths(t, got, want)
		})
	}
}

func comparePaths(t *testing.T, got, want outcome) {
	t.Helper()
	for i := range want.Errors {
		if got.Errors[i] != want.Errors[i] {
			t.Errorf("call %d: error\n got %s\nwant %s", i+1, got.Errors[i], want.Errors[i])
		}
	}
	if !reflect.DeepEqual(got.Results, want.Results) {
		t.Errorf("results\n got %+v\nwant %+v", got.Results, want.Results)
	}
	if got.Session != want.Session {
		t.Errorf("transport session ID = %q, want %q", got.Session, want.Session)
	}
	if len(got.Wire) != len(want.Wire) {
		t.Errorf("requests on the wire:\n got %+v\nwant %+v", got.Wire, want.Wire)
		return
	}
	for i := range want.Wire {
		if !reflect.DeepEqual(got.Wire[i], want.Wire[i]) {
			t.Errorf("request %d:\n got %+v\nwant %+v", i+1, got.Wire[i], want.Wire[i])
		}
	}
}

// withScopes gives the calls scopes, so that the header func's
// X-MCP-Tools header is on the wire too.
func withScopes(ctx context.Context) context.Context {
	return tiers.WithScopes(ctx, []string{"read", "write"})
}

// TestPostRedirectNotFollowed: a redirect the caller's client does not
// follow (its CheckRedirect says so) reads as SendRequest reads it: the
// replay meets the same CheckRedirect and is not followed either.
func TestPostRedirectNotFollowed(t *testing.T) {
	u := newParityUpstream(t, func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusTemporaryRedirect)
		fmt.Fprint(w, "moved")
	})
	noFollow := func(c *Config) {
		c.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	want := u.runWith(t, oldPath, context.Background(), noFollow)
	got := u.runWith(t, newPath, context.Background(), noFollow)
	comparePaths(t, got, want)
	if len(got.Wire) != 3 { // two calls and the DELETE
		t.Errorf("requests = %+v, want the two calls and the DELETE", got.Wire)
	}
}

// TestPostCancelled: a call whose context ends while the answer's body
// arrives fails as the old path does, and its connection is closed (the
// upstream's request ends); no goroutine is left behind.
func TestPostCancelled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tt := range []struct {
		name string
		ct   string
	}{{"json", "application/json"}, {"sse", "text/event-stream"}} {
		t.Run(tt.name, func(t *testing.T) {
			hang := func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
				w.Header().Set("Content-Type", tt.ct)
				w.WriteHeader(200)
				fmt.Fprint(w, `data: {"jsonrpc":"2.0",`)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				u.gone <- struct{}{}
			}
			u := newParityUpstream(t, hang)
			var outs [2]outcome
			for i, path := range []callPath{oldPath, newPath} {
				ctx, cancel := context.WithCancel(context.Background())
				tr := newTier(t, u.endpoint(), nil)
				s, err := tr.session(ctx)
				if err != nil {
					t.Fatal(err)
				}
				u.take()
				done := make(chan struct{})
				go func() {
					defer close(done)
					hctx, _ := tr.callContext(ctx)
					_, err := path(tr, hctx, s, "ZohoCRM_getRecord", parityArgs)
					outs[i].Errors = append(outs[i].Errors, errString(err))
				}()
				time.Sleep(20 * time.Millisecond) // the answer has begun
				cancel()
				<-done
				select {
				case <-u.gone:
				case <-time.After(5 * time.Second):
					t.Fatal("the upstream's request did not end")
				}
				_ = tr.Close()
				tr.http.CloseIdleConnections()
				outs[i].Wire = u.take()
			}
			comparePaths(t, outs[1], outs[0])
		})
	}
	// the test server's connections end with it
}

// TestPostSessionClosed: closing the tier ends a call in flight on its
// session, as closing mcp-go's transport ends SendRequest's.
func TestPostSessionClosed(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request, id string, u *parityUpstream) {
		u.posted <- "started"
		<-r.Context().Done()
	}
	u := newParityUpstream(t, hang)
	var outs [2]outcome
	for i, path := range []callPath{oldPath, newPath} {
		tr := newTier(t, u.endpoint(), nil)
		s, err := tr.session(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		u.take()
		closed := make(chan struct{})
		go func() { defer close(closed); <-u.posted; _ = tr.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a broken path fails, not hangs
		defer cancel()
		hctx, _ := tr.callContext(ctx)
		_, err = path(tr, hctx, s, "ZohoCRM_getRecord", parityArgs)
		outs[i].Errors = append(outs[i].Errors, errString(err))
		<-closed // its DELETE is on the wire
		outs[i].Wire = u.take()
	}
	comparePaths(t, outs[1], outs[0])
	if !strings.Contains(outs[1].Errors[0], "context canceled") {
		t.Errorf("error = %s, want the request canceled", outs[1].Errors[0])
	}
}

// TestPostAllocations: post is taken for a JSON answer, and saves what
// SendRequest spent (both paths include the test server's allocations).
func TestPostAllocations(t *testing.T) {
	u := newParityUpstream(t, jsonAnswer(200, "application/json", `{"jsonrpc":"2.0","id":$ID,"result":`+parityResult+`}`))
	var allocs [2]float64
	for i, path := range []callPath{oldPath, newPath} {
		tr := newTier(t, u.endpoint(), nil)
		s, err := tr.session(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		allocs[i] = testing.AllocsPerRun(200, func() {
			hctx, _ := tr.callContext(context.Background())
			if _, err := path(tr, hctx, s, "ZohoCRM_getRecord", parityArgs); err != nil {
				t.Fatal(err)
			}
		})
		u.take()
	}
	if allocs[1] > allocs[0]-20 {
		t.Errorf("a call allocates %v times through post, %v through SendRequest: want at least 20 fewer", allocs[1], allocs[0])
	}
	t.Logf("allocations per call: SendRequest %v, post %v", allocs[0], allocs[1])
}

// TestResultOf: the fast reading of a JSON-RPC response agrees with the
// transport's decoder whenever it answers.
func TestResultOf(t *testing.T) {
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":"zmp-1","result":{}}`,
		`{"id":"zmp-1","result":{"a":[1]}}`,
		`{"id":"zmp-1","result":{},"error":null}`,
		`{"id":"zmp-1","id":"zmp-2","result":{}}`,
		`{"id":"zmp-1","result":{},"Result":{"b":1}}`,
		`{"id":null,"result":{}}`,
		`{"id":1,"result":{}}`,
		`{"jsonrpc":null,"id":"1","result":{}}`,
		`{"id":"1","result":[]}`,
		`{"id":"1"}`,
		`{"i\u0064":"1","result":{}}`,
		`{"id":"1","result":{}} x`,
		`["id"]`,
	} {
		checkResultOf(t, []byte(in))
	}
}

func checkResultOf(t *testing.T, b []byte) {
	t.Helper()
	result, ok := resultOf(b)
	if !ok {
		return
	}
	var resp transport.JSONRPCResponse
	if err := json.NewDecoder(strings.NewReader(string(b))).Decode(&resp); err != nil {
		t.Fatalf("%s: resultOf = %s, but the decoder fails: %v", b, result, err)
	}
	if resp.ID.IsNil() || resp.Error != nil || string(resp.Result) != string(result) {
		t.Fatalf("%s: resultOf = %s, decoder: id %v, error %v, result %s", b, result, resp.ID, resp.Error, resp.Result)
	}
}

func FuzzResultOf(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":"zmp-1","result":{"content":[]}}`,
		`{"ID":"x","RESULT":{},"Error":null}`,
		`{"id":"1","result":{},"id":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkResultOf)
}

// FuzzReadJSON: readJSON over a body cut into reads of any sizes yields
// bytes the decoder reads as it reads the whole body.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"id":"1","result":{}}`), uint8(3))
	f.Add([]byte(`{"id":"1"}  {"x":1}`), uint8(10))
	f.Add([]byte(`{"id":"1"`), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, chunk uint8) {
		r := &chunked{b: body, n: int(chunk%16) + 1}
		got, err := readJSON(r, -1)
		if err != nil {
			t.Fatal(err)
		}
		var want, have transport.JSONRPCResponse
		werr := json.NewDecoder(strings.NewReader(string(body))).Decode(&want)
		herr := json.NewDecoder(strings.NewReader(string(got))).Decode(&have)
		if fmt.Sprint(werr) != fmt.Sprint(herr) || !reflect.DeepEqual(want, have) {
			t.Fatalf("read %q of %q: %v %+v, want %v %+v", got, body, herr, have, werr, want)
		}
	})
}

// chunked reads b n bytes at a time.
type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}
