package zohosim

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// mcpSim starts an emulator with opts and returns it and its MCP endpoint
// (the look-alike behind the emulator's own listener and key check).
func mcpSim(t *testing.T, opts Options) (*Sim, string) {
	t.Helper()
	if opts.Accounts == 0 {
		opts.Accounts = 30
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, s.MCPEndpoint()
}

// mcpClient connects an mcp-go Streamable HTTP client to url and
// initializes it; version "" lets the client negotiate (modern first).
func mcpClient(t *testing.T, url, version string) *client.Client {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = version
	req.Params.ClientInfo = mcp.Implementation{Name: "zohosim-test", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return c
}

// callTool calls a tool and returns its text and isError.
func callTool(t *testing.T, c *client.Client, name string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("CallTool %s: %v", name, err)
	}
	if len(res.Content) != 1 {
		t.Fatalf("CallTool %s: %d content items, want 1", name, len(res.Content))
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok {
		t.Fatalf("CallTool %s: content %T, want text", name, res.Content[0])
	}
	return tc.Text, res.IsError
}

// jsonOf decodes a tool's text.
func jsonOf(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("tool text is not a JSON object: %v: %q", err, text)
	}
	return m
}

func TestMCPToolsListDefault(t *testing.T) {
	t.Parallel()
	_, url := mcpSim(t, Options{})
	c := mcpClient(t, url, "")
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	schemas := map[string]map[string]any{}
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		b, _ := json.Marshal(tool.InputSchema)
		if len(tool.RawInputSchema) > 0 {
			b = tool.RawInputSchema
		}
		schemas[tool.Name] = jsonOf(t, string(b))
	}
	slices.Sort(names)
	want := []string{"ZohoCRM_createRecords", "ZohoCRM_executeCOQLQuery", "ZohoCRM_getFields", "ZohoCRM_getModules",
		"ZohoCRM_getRecord", "ZohoCRM_getRecords", "ZohoCRM_getRelatedRecords", "ZohoCRM_searchRecords", "ZohoCRM_updateRecords"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}
	// The argument envelope of zoho-mcp-anchors §1.8.
	req := func(tool, part string) any {
		p := schemas[tool]["properties"].(map[string]any)[part]
		if p == nil {
			return nil
		}
		return p.(map[string]any)["required"]
	}
	props := func(tool, part string) []string {
		p := schemas[tool]["properties"].(map[string]any)[part].(map[string]any)["properties"].(map[string]any)
		var ks []string
		for k := range p {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"getRecord path_variables required", req("ZohoCRM_getRecord", "path_variables"), []any{"module", "recordID"}},
		{"getRecords path_variables required", req("ZohoCRM_getRecords", "path_variables"), []any{"module"}},
		{"getRecords query_params", props("ZohoCRM_getRecords", "query_params"), []string{"converted", "cvid", "fields", "ids",
			"include_child", "page", "page_token", "per_page", "sort_by", "sort_order", "territory_id"}},
		{"searchRecords query_params", props("ZohoCRM_searchRecords", "query_params"), []string{"approved", "converted", "criteria",
			"email", "fields", "page", "per_page", "phone", "sort_by", "sort_order", "word"}},
		{"updateRecords body required", req("ZohoCRM_updateRecords", "body"), []any{"data"}},
		{"updateRecords body", props("ZohoCRM_updateRecords", "body"), []string{"apply_feature_execution", "data", "skip_feature_execution", "trigger"}},
		{"executeCOQLQuery body required", req("ZohoCRM_executeCOQLQuery", "body"), []any{"select_query"}},
		{"executeCOQLQuery has no path_variables", schemas["ZohoCRM_executeCOQLQuery"]["properties"].(map[string]any)["path_variables"], nil},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestMCPToolCalls(t *testing.T) {
	t.Parallel()
	s, url := mcpSim(t, Options{})
	c := mcpClient(t, url, "")
	id0, id19 := mcpID(0), mcpID(19)

	t.Run("getRecord returns the record", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{
			"path_variables": map[string]any{"module": "Accounts", "recordID": id19}})
		if isErr {
			t.Fatalf("isError: %s", text)
		}
		data := jsonOf(t, text)["data"].([]any)
		rec := data[0].(map[string]any)
		want, _ := s.Store().Get(id19)
		if len(data) != 1 || rec["id"] != id19 || rec["Account_Name"] != want["Account_Name"] {
			t.Errorf("got %v, want record %s %q", rec, id19, want["Account_Name"])
		}
	})
	t.Run("getRecord fields narrows the record", func(t *testing.T) {
		text, _ := callTool(t, c, "ZohoCRM_getRecord", map[string]any{
			"path_variables": map[string]any{"module": "Accounts", "recordID": id0},
			"query_params":   map[string]any{"fields": "Phone"}})
		rec := jsonOf(t, text)["data"].([]any)[0].(map[string]any)
		if rec["Phone"] == nil || rec["Account_Name"] != nil {
			t.Errorf("fields=Phone gave %v", rec)
		}
	})
	t.Run("getRecord unknown id passes the 204 through as empty text", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{
			"path_variables": map[string]any{"module": "Accounts", "recordID": "1234567890123456789"}})
		if isErr || text != "" {
			t.Errorf("got %q isError=%v, want empty text, not an error", text, isErr)
		}
	})
	t.Run("getRecord wrong module is Zoho's error with isError", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{
			"path_variables": map[string]any{"module": "Leadz", "recordID": id0}})
		m := jsonOf(t, text)
		if !isErr || m["code"] != "INVALID_MODULE" || m["status"] != "error" {
			t.Errorf("got %s isError=%v, want INVALID_MODULE", text, isErr)
		}
	})
	t.Run("getRecords pages with numbers or strings", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_getRecords", map[string]any{
			"path_variables": map[string]any{"module": "Accounts"},
			"query_params":   map[string]any{"fields": "Account_Name,Phone", "per_page": 3, "page": "2", "sort_order": "asc"}})
		if isErr {
			t.Fatalf("isError: %s", text)
		}
		m := jsonOf(t, text)
		data := m["data"].([]any)
		info := m["info"].(map[string]any)
		if len(data) != 3 || data[0].(map[string]any)["id"] != mcpID(3) || info["more_records"] != true || info["page"] != 2.0 {
			t.Errorf("got %d records first %v info %v", len(data), data[0], info)
		}
	})
	t.Run("getRecords without fields is Zoho's REQUIRED_PARAM_MISSING", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_getRecords", map[string]any{"path_variables": map[string]any{"module": "Accounts"}})
		if m := jsonOf(t, text); !isErr || m["code"] != "REQUIRED_PARAM_MISSING" {
			t.Errorf("got %s isError=%v", text, isErr)
		}
	})
	t.Run("searchRecords with escaped criteria", func(t *testing.T) {
		name := mcpName(t, s, id19) // "Smith (UK), Ltd Corp 19"
		text, isErr := callTool(t, c, "ZohoCRM_searchRecords", map[string]any{
			"path_variables": map[string]any{"module": "Accounts"},
			"query_params":   map[string]any{"criteria": "(Account_Name:equals:" + escapeCriteriaValue(name) + ")"}})
		if isErr {
			t.Fatalf("isError: %s", text)
		}
		data := jsonOf(t, text)["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["id"] != id19 {
			t.Errorf("search for %q found %v", name, data)
		}
	})
	t.Run("searchRecords bad operator is INVALID_QUERY", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_searchRecords", map[string]any{
			"path_variables": map[string]any{"module": "Accounts"},
			"query_params":   map[string]any{"criteria": "(Account_Name:greater_than:A)"}})
		if m := jsonOf(t, text); !isErr || m["code"] != "INVALID_QUERY" {
			t.Errorf("got %s isError=%v", text, isErr)
		}
	})
	t.Run("executeCOQLQuery", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_executeCOQLQuery", map[string]any{
			"body": map[string]any{"select_query": "select Account_Name from Accounts where id > '" + id0 + "' limit 2"}})
		if isErr {
			t.Fatalf("isError: %s", text)
		}
		m := jsonOf(t, text)
		data := m["data"].([]any)
		info := m["info"].(map[string]any)
		if len(data) != 2 || data[0].(map[string]any)["id"] != mcpID(1) || info["more_records"] != true || info["count"] != 2.0 {
			t.Errorf("got %v info %v", data, info)
		}
	})
	t.Run("executeCOQLQuery syntax error", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_executeCOQLQuery", map[string]any{
			"body": map[string]any{"select_query": "select from Accounts"}})
		if m := jsonOf(t, text); !isErr || m["code"] != "SYNTAX_ERROR" {
			t.Errorf("got %s isError=%v", text, isErr)
		}
	})
	t.Run("updateRecords writes the store", func(t *testing.T) {
		text, isErr := callTool(t, c, "ZohoCRM_updateRecords", map[string]any{
			"path_variables": map[string]any{"module": "Accounts"},
			"body": map[string]any{"data": []any{
				map[string]any{"id": mcpID(5), "Phone": "+1 555 9999"},
				map[string]any{"id": mcpID(6), "No_Such_Field": "x"},
			}, "trigger": []any{}}})
		data := jsonOf(t, text)["data"].([]any)
		if isErr || len(data) != 2 || data[0].(map[string]any)["status"] != "success" ||
			data[1].(map[string]any)["code"] != "INVALID_DATA" {
			t.Fatalf("got %s isError=%v, want a 207-style mixed result", text, isErr)
		}
		if r, _ := s.Store().Get(mcpID(5)); r["Phone"] != "+1 555 9999" {
			t.Errorf("store Phone = %v", r["Phone"])
		}
	})
}

// mcpID returns seeded record i's id.
func mcpID(i int) string { return strconv.FormatInt(int64(idBase+i), 10) }

// mcpName returns the Account_Name of record id.
func mcpName(t *testing.T, s *Sim, id string) string {
	t.Helper()
	r, ok := s.Store().Get(id)
	if !ok {
		t.Fatalf("no record %s", id)
	}
	return r["Account_Name"].(string)
}

func TestMCPArgumentErrors(t *testing.T) {
	t.Parallel()
	s, url := mcpSim(t, Options{})
	c := mcpClient(t, url, "")
	tests := []struct {
		name    string
		tool    string
		args    map[string]any
		code    string
		apiName string
	}{
		{name: "missing path_variables", tool: "ZohoCRM_getRecord", args: map[string]any{},
			code: "MANDATORY_NOT_FOUND", apiName: "path_variables.module"},
		{name: "missing recordID", tool: "ZohoCRM_getRecord", args: map[string]any{"path_variables": map[string]any{"module": "Accounts"}},
			code: "MANDATORY_NOT_FOUND", apiName: "path_variables.recordID"},
		{name: "renamed key not accepted", tool: "ZohoCRM_getRecord",
			args: map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordId": mcpID(0)}},
			code: "INVALID_DATA", apiName: "path_variables.recordId"},
		{name: "id as number", tool: "ZohoCRM_getRecord",
			args: map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": 5725767000001000000}},
			code: "INVALID_DATA", apiName: "path_variables.recordID"},
		{name: "unknown query param", tool: "ZohoCRM_getRecords",
			args: map[string]any{"path_variables": map[string]any{"module": "Accounts"}, "query_params": map[string]any{"perPage": 5}},
			code: "INVALID_DATA", apiName: "query_params.perPage"},
		{name: "unknown envelope part", tool: "ZohoCRM_executeCOQLQuery",
			args: map[string]any{"path_variables": map[string]any{"module": "Accounts"}, "body": map[string]any{"select_query": "x"}},
			code: "INVALID_DATA", apiName: "path_variables"},
		{name: "body not an object", tool: "ZohoCRM_updateRecords",
			args: map[string]any{"path_variables": map[string]any{"module": "Accounts"}, "body": "data"},
			code: "INVALID_DATA", apiName: "body"},
		{name: "missing body.data", tool: "ZohoCRM_updateRecords",
			args: map[string]any{"path_variables": map[string]any{"module": "Accounts"}, "body": map[string]any{"trigger": []any{}}},
			code: "MANDATORY_NOT_FOUND", apiName: "body.data"},
		{name: "query param as object", tool: "ZohoCRM_searchRecords",
			args: map[string]any{"path_variables": map[string]any{"module": "Accounts"}, "query_params": map[string]any{"word": map[string]any{}}},
			code: "INVALID_DATA", apiName: "query_params.word"},
	}
	before := len(s.Requests())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, isErr := callTool(t, c, tc.tool, tc.args)
			m := jsonOf(t, text)
			details, _ := m["details"].(map[string]any)
			if !isErr || m["code"] != tc.code || m["status"] != "error" || details["api_name"] != tc.apiName {
				t.Errorf("got %s isError=%v, want %s naming %s", text, isErr, tc.code, tc.apiName)
			}
		})
	}
	// Bad arguments never reach the API.
	for _, r := range s.Requests()[before:] {
		if strings.HasPrefix(r.Path, "/crm/") {
			t.Errorf("argument error reached the API: %s %s", r.Method, r.Path)
		}
	}
}

func TestMCPVariant(t *testing.T) {
	t.Parallel()
	_, url := mcpSim(t, Options{MCPVariant: MCPVariant{
		ArgNames:  map[string]string{"module": "moduleApiName", "recordID": "recordId", "per_page": "perPage"},
		ToolNames: map[string]string{"ZohoCRM_getRecords": "ZohoCRM_listRecords"},
		Omit:      []string{"ZohoCRM_executeCOQLQuery"},
	}})
	c := mcpClient(t, url, "")
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if strings.Contains(string(tool.RawInputSchema), `"module"`) {
			t.Errorf("%s schema still names module: %s", tool.Name, tool.RawInputSchema)
		}
	}
	slices.Sort(names)
	if want := []string{"ZohoCRM_createRecords", "ZohoCRM_getFields", "ZohoCRM_getModules", "ZohoCRM_getRecord",
		"ZohoCRM_getRelatedRecords", "ZohoCRM_listRecords", "ZohoCRM_searchRecords", "ZohoCRM_updateRecords"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}

	text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{
		"path_variables": map[string]any{"moduleApiName": "Accounts", "recordId": mcpID(2)}})
	if isErr || jsonOf(t, text)["data"].([]any)[0].(map[string]any)["id"] != mcpID(2) {
		t.Errorf("renamed getRecord: %s isError=%v", text, isErr)
	}
	text, isErr = callTool(t, c, "ZohoCRM_listRecords", map[string]any{
		"path_variables": map[string]any{"moduleApiName": "Accounts"},
		"query_params":   map[string]any{"fields": "Phone", "perPage": 4}})
	if isErr || len(jsonOf(t, text)["data"].([]any)) != 4 {
		t.Errorf("renamed getRecords with perPage=4: %s isError=%v", text, isErr)
	}
	text, isErr = callTool(t, c, "ZohoCRM_getRecord", map[string]any{
		"path_variables": map[string]any{"module": "Accounts", "recordID": mcpID(2)}})
	if m := jsonOf(t, text); !isErr || m["code"] != "INVALID_DATA" {
		t.Errorf("default names on the renamed variant: %s isError=%v", text, isErr)
	}

	// An omitted tool is not there to call.
	req := mcp.CallToolRequest{}
	req.Params.Name = "ZohoCRM_executeCOQLQuery"
	req.Params.Arguments = map[string]any{"body": map[string]any{"select_query": "select id from Accounts"}}
	if res, err := c.CallTool(context.Background(), req); err == nil && !res.IsError {
		t.Errorf("omitted tool answered: %+v", res)
	}
}

func TestMCPProtocolEras(t *testing.T) {
	t.Parallel()
	_, url := mcpSim(t, Options{})
	tests := []struct {
		name        string
		version     string
		wantSession bool
	}{
		{name: "legacy handshake like Zoho", version: "2025-06-18", wantSession: true},
		{name: "2025-03-26", version: "2025-03-26", wantSession: true},
		{name: "modern stateless", version: "", wantSession: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mcpClient(t, url, tc.version)
			if got := c.GetSessionId() != ""; got != tc.wantSession {
				t.Errorf("session id %q, want one: %v", c.GetSessionId(), tc.wantSession)
			}
			text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{
				"path_variables": map[string]any{"module": "Accounts", "recordID": mcpID(1)}})
			if isErr || !strings.Contains(text, mcpID(1)) {
				t.Errorf("getRecord: %s isError=%v", text, isErr)
			}
		})
	}
}

// TestMCPCallsAreAPICalls checks a tool call is one logged, charged CRM call.
func TestMCPCallsAreAPICalls(t *testing.T) {
	t.Parallel()
	s, url := mcpSim(t, Options{})
	c := mcpClient(t, url, "2025-06-18")
	s.ResetLog()
	callTool(t, c, "ZohoCRM_searchRecords", map[string]any{
		"path_variables": map[string]any{"module": "Accounts"},
		"query_params":   map[string]any{"word": "Zylker", "per_page": 2}})
	var api []LoggedRequest
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/crm/") {
			api = append(api, r)
		}
	}
	if len(api) != 1 || api[0].Surface != SurfaceMCP || api[0].Method != http.MethodGet ||
		api[0].Path != "/crm/v8/Accounts/search" || api[0].Query != "per_page=2&word=Zylker" || api[0].Status != http.StatusOK {
		t.Errorf("API requests = %+v, want one GET /crm/v8/Accounts/search on the mcp surface", api)
	}
}

// TestMCPEndpointEndToEnd goes through the emulator's own MCP listener and
// key path, as the tier-1 client will.
func TestMCPEndpointEndToEnd(t *testing.T) {
	t.Parallel()
	s, err := Start(Options{Accounts: 10, MCPKey: "0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if !strings.HasSuffix(s.MCPEndpoint(), "/mcp/0123456789abcdef0123456789abcdef/message") {
		t.Fatalf("endpoint %s", s.MCPEndpoint())
	}
	c := mcpClient(t, s.MCPEndpoint(), "2025-03-26")
	if c.GetSessionId() == "" {
		t.Error("legacy initialize returned no Mcp-Session-Id")
	}
	text, isErr := callTool(t, c, "ZohoCRM_executeCOQLQuery", map[string]any{
		"body": map[string]any{"select_query": "select Account_Name from Accounts where Account_Name like '%Corp 7' limit 5"}})
	m := jsonOf(t, text)
	if isErr || len(m["data"].([]any)) != 1 || m["data"].([]any)[0].(map[string]any)["id"] != mcpID(7) {
		t.Errorf("COQL through the endpoint: %s isError=%v", text, isErr)
	}
}

// BenchmarkMCPGetRecord measures one ZohoCRM_getRecord call over loopback
// Streamable HTTP (legacy session), end to end.
func BenchmarkMCPGetRecord(b *testing.B) {
	s, err := Start(Options{Accounts: 500})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := client.NewStreamableHttpClient(s.MCPEndpoint())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	if _, err := c.Initialize(ctx, init); err != nil {
		b.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "ZohoCRM_getRecord"
	req.Params.Arguments = map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": mcpID(42)}}
	for b.Loop() {
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

func TestMCPWrapResult(t *testing.T) {
	t.Parallel()
	s, url := mcpSim(t, Options{})
	c := mcpClient(t, url, "2025-06-18")
	get := func(recordID string) (map[string]any, string, bool) {
		text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{
			"path_variables": map[string]any{"module": "Accounts", "recordID": recordID}})
		if text == "" {
			return nil, text, isErr
		}
		return jsonOf(t, text), text, isErr
	}
	s.SetMCPWrapResult(true)
	tests := []struct {
		name     string
		recordID string
		status   string
		isErr    bool
		check    func(data any) bool
	}{
		{name: "record", recordID: mcpID(3), status: "success",
			check: func(d any) bool { return d.(map[string]any)["data"].([]any)[0].(map[string]any)["id"] == mcpID(3) }},
		{name: "204 becomes null data", recordID: "1234567890123456789", status: "success",
			check: func(d any) bool { return d == nil }},
		{name: "error wrapped with status error", recordID: "12x", status: "error", isErr: true,
			check: func(d any) bool { return d.(map[string]any)["code"] == "INVALID_DATA" }},
	}
	for _, tc := range tests {
		m, text, isErr := get(tc.recordID)
		if m == nil || isErr != tc.isErr || m["status"] != tc.status || len(m) != 2 || !tc.check(m["data"]) {
			t.Errorf("%s: %s isError=%v", tc.name, text, isErr)
		}
	}
	s.SetMCPWrapResult(false)
	if m, text, _ := get(mcpID(3)); m == nil || m["status"] != nil || m["data"].([]any)[0].(map[string]any)["id"] != mcpID(3) {
		t.Errorf("unwrapped again: %s", text)
	}
}

// TestMCPMessageOnlyError: the switch makes tool calls answer a
// message-only isError result (not a Zoho verdict) without calling the API;
// Zoho's verdicts stay isError results with Zoho's JSON.
func TestMCPMessageOnlyError(t *testing.T) {
	t.Parallel()
	s, url := mcpSim(t, Options{})
	c := mcpClient(t, url, "")
	args := map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": id(2)}}
	s.SetMCPToolError(DefaultMCPToolErrorText, 2)
	s.ResetLog()
	for i := range 2 {
		text, isErr := callTool(t, c, "ZohoCRM_getRecord", args)
		if m := jsonOf(t, text); !isErr || text != DefaultMCPToolErrorText || m["code"] != nil || m["status"] != nil {
			t.Fatalf("call %d: %v %s, want the message-only error", i+1, isErr, text)
		}
	}
	for _, q := range s.Requests() {
		if strings.HasPrefix(q.Path, "/crm/") {
			t.Fatalf("a message-only error called the API: %s", q.Path)
		}
	}
	if text, isErr := callTool(t, c, "ZohoCRM_getRecord", args); isErr || jsonOf(t, text)["data"] == nil {
		t.Fatalf("after the two errors: %v %s", isErr, text)
	}
	// A Zoho verdict is isError with Zoho's JSON.
	text, isErr := callTool(t, c, "ZohoCRM_getRecord", map[string]any{"path_variables": map[string]any{"module": "Widgets", "recordID": id(2)}})
	if m := jsonOf(t, text); !isErr || m["code"] != "INVALID_MODULE" || m["status"] != "error" {
		t.Fatalf("verdict: %v %s", isErr, text)
	}
	// The admin API sets it until cleared, with a text of its own.
	r := call(t, http.MethodPost, s.AdminURL()+"/admin/mcp-tool-error", "", `{"text":"{\"message\":\"busy\"}"}`)
	if r.status != http.StatusOK {
		t.Fatalf("admin: %d %s", r.status, r.body)
	}
	for range 3 {
		if text, isErr := callTool(t, c, "ZohoCRM_getRecord", args); !isErr || text != `{"message":"busy"}` {
			t.Fatalf("admin-set error: %v %s", isErr, text)
		}
	}
	if r := call(t, http.MethodDelete, s.AdminURL()+"/admin/mcp-tool-error", "", ""); r.status != http.StatusNoContent {
		t.Fatalf("admin clear: %d", r.status)
	}
	if _, isErr := callTool(t, c, "ZohoCRM_getRecord", args); isErr {
		t.Fatal("still failing after the clear")
	}
}
