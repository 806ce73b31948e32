package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// variant shapes a fake upstream the way real Zoho MCP servers differ
// (zoho-mcp-anchors §1.7–1.9).
type variant struct {
	name       string
	moduleKey  string          // "module" or "moduleApiName"
	recordKey  string          // "recordID" or "recordId"
	perPageKey string          // "per_page" or "perPage"
	missing    map[string]bool // actions not offered
	wrap       bool            // re-wrap results as {"data": <zoho>, "status": "success"}
	structured bool            // put the payload in structuredContent, not text
	perModule  bool            // offer getAccountsRecord … instead of the generic tools
}

var defaultVariant = variant{name: "default", moduleKey: "module", recordKey: "recordID", perPageKey: "per_page"}

// fakeUpstream is a tiny hosted-MCP look-alike on loopback HTTP: mcp-go's
// Streamable HTTP server with envelope tools over an in-memory Accounts
// store, behind a fault-injecting handler.
type fakeUpstream struct {
	t       *testing.T
	v       variant
	key     string
	srv     *httptest.Server
	mcp     *server.MCPServer
	mu      sync.Mutex
	recs    map[string]map[string]any
	writes  map[string]int
	calls   []fakeCall
	headers []http.Header
	bodies  [][]byte     // every request body, in order (with headers)
	fault   atomic.Value // string
	inits   atomic.Int32
	lists   atomic.Int32
	release chan struct{}
}

type fakeCall struct {
	Tool string
	Args map[string]any
}

const testKey = "fe46ddbc48fec3713c8754cea8ec9ac5"

func newFake(t *testing.T, v variant) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{t: t, v: v, key: testKey, recs: map[string]map[string]any{}, writes: map[string]int{}, release: make(chan struct{})}
	f.fault.Store("")
	for i := 1; i <= 30; i++ {
		id := strconv.Itoa(5725767000001000000 + i)
		f.recs[id] = map[string]any{"id": id, "Account_Name": fmt.Sprintf("Acme %02d", i), "Phone": "555-01" + fmt.Sprintf("%02d", i), "Industry": "Retail"}
	}
	f.mcp = server.NewMCPServer("fake-zoho", "1", server.WithToolCapabilities(true))
	f.addTools()
	h := server.NewStreamableHTTPServer(f.mcp, server.WithStateful(true), server.WithEndpointPath("/mcp/"+f.key+"/message"))
	mux := http.NewServeMux()
	mux.Handle("/mcp/"+f.key+"/message", f.faults(h))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

func (f *fakeUpstream) endpoint() string { return f.srv.URL + "/mcp/" + f.key + "/message" }

func (f *fakeUpstream) setFault(mode string) { f.fault.Store(mode) }

func (f *fakeUpstream) lastCall() fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return fakeCall{}
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeUpstream) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.headers) == 0 {
		return nil
	}
	return f.headers[len(f.headers)-1]
}

// faults wraps the MCP handler with the fault modes of SPEC §9.
func (f *fakeUpstream) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		isCall := bytes.Contains(body, []byte(`"tools/call"`))
		if bytes.Contains(body, []byte(`"initialize"`)) {
			f.inits.Add(1)
		}
		if bytes.Contains(body, []byte(`"tools/list"`)) {
			f.lists.Add(1)
		}
		if isCall {
			f.checkCanonical(body)
		}
		f.mu.Lock()
		f.headers = append(f.headers, r.Header.Clone())
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		mode, _ := f.fault.Load().(string)
		switch mode {
		case "401-init":
			http.Error(w, `{"error":"unauthorized: invalid MCP endpoint key"}`, http.StatusUnauthorized)
			return
		case "429-init":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code":"TOO_MANY_REQUESTS","details":{},"message":"slow down","status":"error"}`))
			return
		}
		if !isCall && mode != "terminate" && mode != "401" {
			next.ServeHTTP(w, r)
			return
		}
		switch mode {
		case "5xx":
			http.Error(w, "upstream exploded", http.StatusBadGateway)
		case "429":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "401":
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-f.release:
			}
		case "hang_after_apply":
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			select {
			case <-r.Context().Done():
			case <-f.release:
			}
		case "malformed":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":`))
		case "terminate":
			if r.Header.Get("Mcp-Session-Id") != "" && r.Method == http.MethodPost {
				f.fault.Store("") // once
				http.Error(w, "session not found", http.StatusNotFound)
				return
			}
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// checkCanonical checks that a 2025-era tools/call request (no _meta) is
// byte for byte what mcp-go's transport writes for its arguments as a map,
// as it did before callTool rendered them itself (args.go).
func (f *fakeUpstream) checkCanonical(body []byte) {
	var req struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      any             `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	var params struct {
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
		Meta      any            `json:"_meta"`
	}
	if json.Unmarshal(body, &req) != nil || req.Method != string(mcpgo.MethodToolsCall) {
		return
	}
	d := json.NewDecoder(bytes.NewReader(req.Params))
	d.UseNumber() // numbers as sent
	if err := d.Decode(&params); err != nil {
		f.t.Errorf("tools/call params %s: %v", req.Params, err)
		return
	}
	if params.Meta != nil {
		return // the 2026-07-28 era: Client.CallTool's own request
	}
	want, _ := json.Marshal(mcpgoRequest(mcpgo.NewRequestId(req.ID), mcpgo.CallToolParams{Name: params.Name, Arguments: params.Arguments}))
	if !bytes.Equal(body, want) {
		f.t.Errorf("tools/call request\n%s\nis not what the transport writes for the map form\n%s", body, want)
	}
}

// schema returns an envelope input schema with the variant's names.
func (f *fakeUpstream) schema(path, query, body []string) json.RawMessage {
	obj := func(names []string) map[string]any {
		p := map[string]any{}
		for _, n := range names {
			p[n] = map[string]any{"type": "string"}
		}
		return map[string]any{"type": "object", "properties": p}
	}
	props := map[string]any{}
	if path != nil {
		props["path_variables"] = obj(path)
	}
	if query != nil {
		props["query_params"] = obj(query)
	}
	if body != nil {
		props["body"] = obj(body)
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": props})
	return b
}

func (f *fakeUpstream) addTools() {
	v := f.v
	mod := []string{v.moduleKey}
	name := func(action string) string {
		if v.perModule && action != actCOQL {
			verb, rest := splitAction(action)
			return "ZohoCRM_" + verb + "Accounts" + rest
		}
		return "ZohoCRM_" + action
	}
	if v.perModule {
		mod = []string{}
	}
	add := func(action string, schema json.RawMessage, h func(args map[string]any) (any, bool)) {
		if v.missing[action] {
			return
		}
		f.mcp.AddTool(mcpgo.Tool{Name: name(action), RawInputSchema: schema},
			func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
				args := req.GetArguments()
				f.mu.Lock()
				f.calls = append(f.calls, fakeCall{Tool: req.Params.Name, Args: args})
				f.mu.Unlock()
				out, isErr := h(args)
				return f.result(out, isErr), nil
			})
	}
	add(actGetRecord, f.schema(append([]string{v.recordKey}, mod...), []string{"fields"}, nil), func(a map[string]any) (any, bool) {
		pv := sub(a, "path_variables")
		if !v.perModule && pv[v.moduleKey] != "Accounts" {
			return zerr("INVALID_MODULE", "the module name given seems to be invalid"), true
		}
		id, _ := pv[v.recordKey].(string)
		f.mu.Lock()
		defer f.mu.Unlock()
		r, ok := f.recs[id]
		if !ok {
			return nil, false // Zoho's 204
		}
		return map[string]any{"data": []any{copyRec(r)}}, false
	})
	add(actGetRecords, f.schema(mod, []string{"fields", "ids", "page", v.perPageKey, "page_token", "sort_by", "sort_order"}, nil), func(a map[string]any) (any, bool) {
		q := sub(a, "query_params")
		f.mu.Lock()
		defer f.mu.Unlock()
		var recs []map[string]any
		if ids, _ := q["ids"].(string); ids != "" {
			for _, id := range strings.Split(ids, ",") {
				if r, ok := f.recs[id]; ok {
					recs = append(recs, copyRec(r))
				}
			}
			return map[string]any{"data": recs, "info": map[string]any{"more_records": false, "count": len(recs)}}, false
		}
		for _, r := range f.recs {
			recs = append(recs, copyRec(r))
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i]["id"].(string) < recs[j]["id"].(string) })
		per := 200
		if s, ok := q[v.perPageKey]; ok {
			per = toInt(s)
		}
		page := 1
		if s, ok := q["page"]; ok {
			page = toInt(s)
		}
		if tok, _ := q["page_token"].(string); tok != "" {
			page = toInt(strings.TrimPrefix(tok, "tok"))
		}
		start := (page - 1) * per
		if start > len(recs) {
			start = len(recs)
		}
		end := min(len(recs), start+per)
		more := end < len(recs)
		info := map[string]any{"more_records": more, "count": end - start, "page": page, "per_page": per}
		if more {
			info["next_page_token"] = "tok" + strconv.Itoa(page+1)
		}
		if end == start {
			return nil, false
		}
		return map[string]any{"data": recs[start:end], "info": info}, false
	})
	add(actSearchRecords, f.schema(mod, []string{"criteria", "email", "phone", "word", "page", v.perPageKey, "sort_by", "sort_order"}, nil), func(a map[string]any) (any, bool) {
		q := sub(a, "query_params")
		word, _ := q["word"].(string)
		f.mu.Lock()
		defer f.mu.Unlock()
		var recs []map[string]any
		for _, r := range f.recs {
			if word == "" || strings.Contains(r["Account_Name"].(string), word) {
				recs = append(recs, copyRec(r))
			}
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i]["id"].(string) < recs[j]["id"].(string) })
		per := 200
		if s, ok := q[v.perPageKey]; ok {
			per = toInt(s)
		}
		page := 1
		if s, ok := q["page"]; ok {
			page = toInt(s)
		}
		start := min(len(recs), (page-1)*per)
		end := min(len(recs), start+per)
		if end == start {
			return nil, false
		}
		return map[string]any{"data": recs[start:end], "info": map[string]any{"more_records": end < len(recs), "page": page, "per_page": per, "count": end - start}}, false
	})
	add(actUpdateRecords, f.schema(mod, nil, []string{"data", "trigger"}), func(a map[string]any) (any, bool) {
		body := sub(a, "body")
		items, _ := body["data"].([]any)
		f.mu.Lock()
		defer f.mu.Unlock()
		var results []any
		allBad := true
		for i, it := range items {
			m, _ := it.(map[string]any)
			id, _ := m["id"].(string)
			r, ok := f.recs[id]
			if !ok {
				results = append(results, map[string]any{"code": "INVALID_DATA", "details": map[string]any{"id": id}, "message": "the related id given seems to be invalid", "status": "error"})
				continue
			}
			if _, bad := m["Bad_Field"]; bad {
				results = append(results, map[string]any{"code": "INVALID_DATA", "details": map[string]any{"api_name": "Bad_Field", "json_path": fmt.Sprintf("$.data[%d].Bad_Field", i)}, "message": "the field api name given seems to be invalid", "status": "error"})
				continue
			}
			for k, val := range m {
				r[k] = val
			}
			f.writes[id]++
			allBad = false
			results = append(results, map[string]any{"code": "SUCCESS", "details": map[string]any{"id": id}, "message": "record updated", "status": "success"})
		}
		return map[string]any{"data": results}, allBad
	})
	add(actCOQL, f.schema(nil, nil, []string{"select_query"}), func(a map[string]any) (any, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var recs []map[string]any
		for _, r := range f.recs {
			if r["Industry"] == "Retail" {
				recs = append(recs, map[string]any{"id": r["id"], "Account_Name": r["Account_Name"]})
			}
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i]["id"].(string) < recs[j]["id"].(string) })
		q, _ := sub(a, "body")["select_query"].(string)
		var off, n int
		if i := strings.LastIndex(q, " limit "); i >= 0 {
			fmt.Sscanf(q[i:], " limit %d", &n)
		}
		if i := strings.LastIndex(q, " offset "); i >= 0 {
			fmt.Sscanf(q[i:], " offset %d", &off)
		}
		if i := strings.Index(q, "id > "); i >= 0 {
			var after string
			fmt.Sscanf(q[i:], "id > %s", &after)
			after = strings.TrimRight(after, ")")
			for off < len(recs) && recs[off]["id"].(string) <= after {
				off++
			}
		}
		off = min(off, len(recs))
		end := min(len(recs), off+n)
		if off == end {
			return nil, false
		}
		return map[string]any{"data": recs[off:end], "info": map[string]any{"count": end - off, "more_records": end < len(recs)}}, false
	})
}

// result renders a Zoho payload the variant's way.
func (f *fakeUpstream) result(out any, isErr bool) *mcpgo.CallToolResult {
	if out == nil {
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{}}
	}
	if f.v.wrap && !isErr {
		out = map[string]any{"data": out, "status": "success"}
	}
	b, _ := json.Marshal(out)
	if f.v.structured && !isErr {
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewTextContent("ok")}, StructuredContent: out}
	}
	res := mcpgo.NewToolResultText(string(b))
	res.IsError = isErr
	return res
}

func zerr(code, msg string) map[string]any {
	return map[string]any{"code": code, "details": map[string]any{}, "message": msg, "status": "error"}
}

func sub(a map[string]any, k string) map[string]any {
	m, _ := a[k].(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func copyRec(r map[string]any) map[string]any {
	c := make(map[string]any, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

func toInt(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	}
	return 0
}
