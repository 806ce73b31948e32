package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// rpcMessage is a request as an upstream received it.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Name string                     `json:"name"`
		Meta map[string]json.RawMessage `json:"_meta"`
	} `json:"params"`
}

// TestToolCallEras runs tier 1 in both protocol eras against mcp-go's
// server and checks what its tools/call requests carried: in the 2025 era
// (the raw path) string ids that cannot meet the client's integer ids and
// nothing else; in the 2026-07-28 era (Client.CallTool) the per-request
// _meta and the standard headers.
func TestToolCallEras(t *testing.T) {
	t.Parallel()
	eras := []struct {
		name, pv string
		modern   bool
	}{
		{"default (2025-06-18)", "", false},
		{"2025-11-25", mcpgo.ProtocolVersion20251125, false},
		{"2026-07-28", mcpgo.ProtocolVersion20260728, true},
	}
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, defaultVariant)
			tr := newTier(t, f.endpoint(), func(c *Config) { c.ProtocolVersion = era.pv })
			ctx := context.Background()
			rec, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID})
			if err != nil || rec["Account_Name"] != "Acme 01" {
				t.Fatalf("Get = %v, %v", rec, err)
			}
			if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: "1"}); code(err) != "NOT_FOUND" {
				t.Fatalf("Get of an unknown id = %v, want NOT_FOUND", err)
			}
			if out, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Phone": "1"}}); err != nil || out.Status != tiers.StatusSuccess {
				t.Fatalf("Update = %+v, %v", out, err)
			}
			if _, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Bad_Field": "1"}}); code(err) != "INVALID_DATA" {
				t.Fatalf("Update of a bad field (an isError result) = %v, want INVALID_DATA", err)
			}

			f.mu.Lock()
			bodies, headers := f.bodies, f.headers
			f.mu.Unlock()
			ids := map[string]bool{}
			calls := 0
			for i, b := range bodies {
				var m rpcMessage
				if json.Unmarshal(b, &m) != nil || m.ID == nil {
					continue // a notification, a DELETE
				}
				if ids[string(m.ID)] {
					t.Errorf("request id %s used twice", m.ID)
				}
				ids[string(m.ID)] = true
				isString := m.ID[0] == '"'
				if m.Method != string(mcpgo.MethodToolsCall) {
					if isString {
						t.Errorf("%s has a string id %s; the client numbers its own", m.Method, m.ID)
					}
					continue
				}
				calls++
				h := headers[i]
				if era.modern {
					if got := h.Get(mcpgo.HeaderMethod); got != "tools/call" {
						t.Errorf("2026-07-28 tools/call: Mcp-Method = %q", got)
					}
					if got := string(m.Params.Meta[mcpgo.MetaKeyProtocolVersion]); got != `"`+era.pv+`"` {
						t.Errorf("2026-07-28 tools/call: _meta protocol version = %s", got)
					}
					continue
				}
				if !isString || !strings.HasPrefix(string(m.ID), `"zmp-`) {
					t.Errorf("tools/call id = %s, want a string the client never uses", m.ID)
				}
				if m.Params.Meta != nil || h.Get(mcpgo.HeaderMethod) != "" {
					t.Errorf("2025-era tools/call carries _meta %v or Mcp-Method %q", m.Params.Meta, h.Get(mcpgo.HeaderMethod))
				}
			}
			if calls != 4 {
				t.Errorf("saw %d tools/call requests, want 4", calls)
			}
		})
	}
}

// TestSimEras reads and writes through the emulator's hosted-MCP
// look-alike, stricter than mcp-go's server, in both protocol eras.
func TestSimEras(t *testing.T) {
	t.Parallel()
	for _, pv := range []string{"", mcpgo.ProtocolVersion20260728} {
		t.Run("era "+pv, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, zohosim.MCPVariant{})
			tr := newTier(t, sim.MCPEndpoint(), func(c *Config) { c.ProtocolVersion = pv })
			ctx := tiers.WithScopes(context.Background(), []string{"read", "write"})
			id := simID(7)
			if out, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0107"}}); err != nil || out.Status != tiers.StatusSuccess {
				t.Fatalf("Update = %+v, %v", out, err)
			}
			rec, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: id, Fields: []string{"Phone"}})
			if err != nil || rec["Phone"] != "555-0107" {
				t.Fatalf("Get after Update = %v, %v", rec, err)
			}
			raw, err := tr.GetRaw(ctx, tiers.GetRequest{Module: "Accounts", ID: id})
			if err != nil || !bytes.Contains(raw, []byte(`"555-0107"`)) {
				t.Fatalf("GetRaw = %s, %v", raw, err)
			}
		})
	}
}

// scripted is a hand-written 2025-era MCP endpoint whose tools/call answers
// are scripted, to reach results and errors no SDK server writes. answer
// returns the JSON-RPC member(s) after the id (`"result":…` or `"error":…`)
// for the n-th tools/call (from 1); "" hangs until the request's context
// ends.
type scripted struct {
	srv     *httptest.Server
	answer  func(n int) string
	mu      sync.Mutex
	calls   int
	methods []string
	started chan struct{} // a hanging tools/call arrived
	ended   chan struct{} // a hanging tools/call's context ended
}

const scriptedTools = `{"tools":[` +
	`{"name":"ZohoCRM_getRecord","inputSchema":{"type":"object","properties":{"path_variables":{"type":"object","properties":{"module":{"type":"string"},"recordID":{"type":"string"}}},"query_params":{"type":"object","properties":{"fields":{"type":"string"}}}}}},` +
	`{"name":"ZohoCRM_updateRecords","inputSchema":{"type":"object","properties":{"path_variables":{"type":"object","properties":{"module":{"type":"string"}}},"body":{"type":"object","properties":{"data":{"type":"array"},"trigger":{"type":"array"}}}}}}]}`

func newScripted(t *testing.T, answer func(n int) string) *scripted {
	t.Helper()
	s := &scripted{answer: answer, started: make(chan struct{}, 1), ended: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) endpoint() string { return s.srv.URL + "/mcp/" + testKey + "/message" }

func (s *scripted) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK) // the DELETE that ends the session
		return
	}
	body, _ := io.ReadAll(r.Body)
	var m rpcMessage
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.methods = append(s.methods, m.Method)
	s.mu.Unlock()
	var member string
	switch m.Method {
	case "initialize":
		w.Header().Set("Mcp-Session-Id", "scripted-1")
		member = `"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"scripted","version":"1"}}`
	case "tools/list":
		member = `"result":` + scriptedTools
	case "tools/call":
		s.mu.Lock()
		s.calls++
		n := s.calls
		s.mu.Unlock()
		if member = s.answer(n); member == "" {
			s.started <- struct{}{}
			<-r.Context().Done()
			s.ended <- struct{}{}
			return
		}
	default:
		if m.ID == nil {
			w.WriteHeader(http.StatusAccepted) // notifications/initialized
			return
		}
		member = `"error":{"code":-32601,"message":"method not found"}`
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,%s}`, m.ID, member)
}

func (s *scripted) toolCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// textResult is a result member whose one text item is text.
func textResult(text string) string {
	b, _ := json.Marshal(text)
	return `"result":{"content":[{"type":"text","text":` + string(b) + `}]}`
}

// TestToolCallResults drives the raw path with results and errors no SDK
// server writes and checks that each reads as Client.CallTool's did:
// structuredContent against text, isError, empty and malformed results,
// JSON-RPC errors (not sent) and a request for input.
func TestToolCallResults(t *testing.T) {
	t.Parallel()
	rec := func(name string) string { return `{"data":[{"id":"` + firstID + `","Account_Name":"` + name + `"}]}` }
	tests := []struct {
		name    string
		answers []string
		write   bool
		want    string // class, "ok"
		code    string
		account string // Account_Name read
		status  tiers.OutcomeStatus
		calls   int // tools/call requests; 0 means 1
	}{
		{name: "text", answers: []string{textResult(rec("A"))}, want: "ok", account: "A"},
		{name: "structuredContent only", answers: []string{`"result":{"content":[{"type":"text","text":"ok"}],"structuredContent":` + rec("S") + `}`}, want: "ok", account: "S"},
		{name: "text JSON before structuredContent", answers: []string{`"result":{"content":[{"type":"text","text":` + quote(rec("T")) + `}],"structuredContent":` + rec("S") + `}`}, want: "ok", account: "T"},
		{name: "other items skipped", answers: []string{`"result":{"content":[{"type":"image","data":"eA==","mimeType":"image/png"},{"type":"text","text":` + quote(rec("I")) + `}]}`}, want: "ok", account: "I"},
		{name: "isError with Zoho's JSON", answers: []string{`"result":{"isError":true,"content":[{"type":"text","text":` + quote(`{"code":"NO_PERMISSION","message":"permission denied","status":"error"}`) + `}]}`}, want: "verdict", code: "NO_PERMISSION"},
		{name: "isError in structuredContent", answers: []string{`"result":{"isError":true,"content":[{"type":"text","text":"failed"}],"structuredContent":{"code":"INVALID_DATA","message":"bad","status":"error"}}`}, want: "verdict", code: "INVALID_DATA"},
		{name: "isError plain text", answers: []string{`"result":{"isError":true,"content":[{"type":"text","text":"Something went wrong"}]}`}, want: "unavailable"},
		{name: "null content is no records", answers: []string{`"result":{"content":null}`}, want: "verdict", code: "NOT_FOUND"},
		{name: "empty content is no records", answers: []string{`"result":{"content":[]}`}, want: "verdict", code: "NOT_FOUND"},
		{name: "missing content", answers: []string{`"result":{}`}, want: "unavailable"},
		{name: "unknown content type", answers: []string{`"result":{"content":[{"type":"video","text":"x"}]}`}, want: "unavailable"},
		{name: "result not an object", answers: []string{`"result":"ok"`}, want: "unavailable"},
		{name: "JSON-RPC tool not found", answers: []string{`"error":{"code":-32602,"message":"tool 'ZohoCRM_getRecord' not found"}`}, want: "unsupported"},
		{name: "JSON-RPC error to a write is not sent", answers: []string{`"error":{"code":-32603,"message":"boom"}`}, write: true, want: "unavailable", status: tiers.StatusNotSent},
		{name: "unreadable result to a write", answers: []string{`"result":{"content":[{"type":"text","text":5}]}`}, write: true, want: "outcome_unknown", status: tiers.StatusUnknown},
		{name: "update result", answers: []string{textResult(`{"data":[{"code":"SUCCESS","details":{"id":"` + firstID + `"},"message":"record updated","status":"success"}]}`)}, write: true, want: "ok", status: tiers.StatusSuccess},
		{name: "input required, then the answer", answers: []string{`"result":{"resultType":"input_required","inputRequests":{},"requestState":"s1"}`, textResult(rec("R"))}, want: "ok", account: "R", calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScripted(t, func(n int) string { return tt.answers[min(n, len(tt.answers))-1] })
			tr := newTier(t, s.endpoint(), nil)
			ctx := context.Background()
			var err error
			if tt.write {
				var out tiers.Outcome
				out, err = tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Phone": "1"}})
				if out.Status != tt.status {
					t.Errorf("outcome status = %s, want %s", out.Status, tt.status)
				}
			} else {
				var r tiers.Record
				r, err = tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID})
				if tt.account != "" && (r == nil || r["Account_Name"] != tt.account) {
					t.Errorf("record = %v, want Account_Name %s", r, tt.account)
				}
			}
			if classOf(err) != tt.want || code(err) != tt.code {
				t.Fatalf("error = %v (%s, code %q), want %s, code %q", err, classOf(err), code(err), tt.want, tt.code)
			}
			if want := max(tt.calls, 1); s.toolCalls() != want {
				t.Errorf("tools/call requests = %d, want %d", s.toolCalls(), want)
			}
		})
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestToolCallCancelled: a call whose context ends while the upstream works
// on it returns at once, as canceled for a read and of unknown outcome for a
// write, and the upstream sees its request end (over HTTP that is the
// cancellation; mcp-go sends no notifications/cancelled there either).
func TestToolCallCancelled(t *testing.T) {
	t.Parallel()
	for _, write := range []bool{false, true} {
		t.Run(map[bool]string{false: "read", true: "write"}[write], func(t *testing.T) {
			t.Parallel()
			s := newScripted(t, func(int) string { return "" })
			tr := newTier(t, s.endpoint(), nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { <-s.started; cancel() }()
			var err error
			var out tiers.Outcome
			if write {
				out, err = tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: firstID, Data: tiers.Record{"Phone": "1"}})
			} else {
				_, err = tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: firstID})
			}
			want := map[bool]string{false: "canceled", true: "outcome_unknown"}[write]
			if classOf(err) != want {
				t.Fatalf("error = %v (%s), want %s", err, classOf(err), want)
			}
			if write && out.Status != tiers.StatusUnknown {
				t.Errorf("outcome status = %s, want unknown", out.Status)
			}
			<-s.ended // the upstream's request ended with ours
		})
	}
}

func TestParseToolResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in   string
		want       *oldToolResult
		needsInput bool
		err        bool
	}{
		{name: "text", in: `{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`, want: &oldToolResult{Texts: []string{"a", "b"}}},
		{name: "isError", in: `{"isError":true,"content":[{"type":"text","text":"x"}]}`, want: &oldToolResult{IsError: true, Texts: []string{"x"}}},
		{name: "structuredContent kept as sent", in: `{"content":[],"structuredContent":{"b":1, "a":[2]}}`, want: &oldToolResult{Structured: json.RawMessage(`{"b":1, "a":[2]}`)}},
		{name: "text without text", in: `{"content":[{"type":"text"}]}`, want: &oldToolResult{Texts: []string{""}}},
		{name: "non-text items skipped", in: `{"content":[{"type":"resource_link","uri":"u","name":"n"},{"type":"audio","data":"x","mimeType":"audio/wav"}]}`, want: &oldToolResult{}},
		{name: "null content", in: `{"content":null}`, want: &oldToolResult{}},
		{name: "repeated content key: the last wins", in: `{"content":[{"type":"text","text":"a"}],"content":[{"type":"image"}]}`, want: &oldToolResult{}},
		{name: "input required", in: `{"resultType":"input_required","inputRequests":{}}`, needsInput: true},
		{name: "missing content", in: `{"isError":true}`, err: true},
		{name: "item without type", in: `{"content":[{"text":"a"}]}`, err: true},
		{name: "null item", in: `{"content":[null]}`, err: true},
		{name: "unknown type", in: `{"content":[{"type":"x"}]}`, err: true},
		{name: "type not a string", in: `{"content":[{"type":1}]}`, err: true},
		{name: "text not a string", in: `{"content":[{"type":"text","text":{}}]}`, err: true},
		{name: "isError not a boolean", in: `{"content":[],"isError":"true"}`, err: true},
		{name: "content not a list", in: `{"content":{}}`, err: true},
		{name: "not an object", in: `[]`, err: true},
		{name: "empty", in: ``, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, needsInput, err := parseToolResult(json.RawMessage(tt.in))
			got := asStrings(res)
			if (err != nil) != tt.err || needsInput != tt.needsInput || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseToolResult(%s) = %+v, %v, %v; want %+v, %v, error %v", tt.in, got, needsInput, err, tt.want, tt.needsInput, tt.err)
			}
		})
	}
}

// FuzzParseToolResult holds the one-pass reading to mcp-go's: whatever
// mcp.ParseCallToolResult accepts, parseToolResult accepts with the same
// isError, texts and structuredContent, and the same request for input.
func FuzzParseToolResult(f *testing.F) {
	for _, s := range []string{
		`{"content":[{"type":"text","text":"{\"data\":[{\"id\":\"1\"}]}"}]}`,
		`{"isError":true,"content":[{"type":"text","text":"x"}],"structuredContent":{"code":"INVALID_DATA"}}`,
		`{"content":[{"type":"image","data":"eA==","mimeType":"image/png"},{"type":"text","text":"a","annotations":{"priority":1}}]}`,
		`{"content":null,"structuredContent":null}`,
		`{"resultType":"input_required","inputRequests":{},"requestState":"s"}`,
		`{"Content":[{"Type":"text","Text":"case"}],"IsError":true}`,
		`{"content":[{"type":"text","text":"a"}],"content":[]}`,
		`{"content":[{"type":"resource","resource":{"uri":"u","text":"t"}}]}`,
		`{"content":[{"type":"text","text":"\u00e9\ud800"}],"_meta":{"a":1}}`,
		`{}`, `null`, `[]`, `{"content":[null]}`, `{"content":[{"type":5}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := json.RawMessage(b)
		got, needsInput, err := parseToolResult(raw)
		want, werr := mcpgo.ParseCallToolResult(&raw)
		if werr != nil {
			return // stricter about fields this tier does not read: allowed
		}
		if err != nil {
			t.Fatalf("parseToolResult(%s): %v; mcp-go reads it", b, err)
		}
		if needsInput != want.NeedsInput() {
			t.Fatalf("parseToolResult(%s) needsInput = %v, mcp-go %v", b, needsInput, want.NeedsInput())
		}
		if needsInput {
			return
		}
		w := fromMCP(want)
		if got.IsError != w.IsError || !reflect.DeepEqual(asStrings(got).Texts, asStrings(w).Texts) || !bytes.Equal(got.Structured, w.Structured) {
			t.Fatalf("parseToolResult(%s) = %+v, mcp-go %+v", b, got, w)
		}
	})
}
