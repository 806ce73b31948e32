package zohosim

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// toolSchemas lists the tools of an MCP client's server by name.
func toolSchemas(t *testing.T, c interface {
	ListTools(context.Context, mcp.ListToolsRequest) (*mcp.ListToolsResult, error)
}) map[string]map[string]any {
	t.Helper()
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, tool := range res.Tools {
		b, _ := json.Marshal(tool.InputSchema)
		if len(tool.RawInputSchema) > 0 {
			b = tool.RawInputSchema
		}
		out[tool.Name] = jsonOf(t, string(b))
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// part returns a schema's envelope part (path_variables, query_params, body).
func part(schema map[string]any, name string) map[string]any {
	p, _ := schema["properties"].(map[string]any)[name].(map[string]any)
	return p
}

func TestMCPModuleToolSchemas(t *testing.T) {
	t.Parallel()
	_, url := mcpSim(t, Options{})
	schemas := toolSchemas(t, mcpClient(t, url, ""))
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m["properties"].(map[string]any) {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	rel := schemas["ZohoCRM_getRelatedRecords"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"getRelatedRecords path_variables", part(rel, "path_variables")["required"], []any{"parentRecordModule", "parentRecord", "relatedList"}},
		{"getRelatedRecords query_params required", part(rel, "query_params")["required"], []any{"fields"}},
		{"getRelatedRecords query_params", keys(part(rel, "query_params")), []string{"converted", "fields", "ids", "page", "page_token", "perPage", "sort_by", "sort_order"}},
		{"getRelatedRecords requires both parts", rel["required"], []any{"path_variables", "query_params"}},
		{"createRecords path_variables", part(schemas["ZohoCRM_createRecords"], "path_variables")["required"], []any{"module"}},
		{"createRecords body", keys(part(schemas["ZohoCRM_createRecords"], "body")), []string{"apply_feature_execution", "data", "lar_id", "skip_feature_execution", "trigger"}},
		{"createRecords body required", part(schemas["ZohoCRM_createRecords"], "body")["required"], []any{"data"}},
		{"getFields query_params required", part(schemas["ZohoCRM_getFields"], "query_params")["required"], []any{"module"}},
		{"getFields has no path_variables", part(schemas["ZohoCRM_getFields"], "path_variables"), map[string]any(nil)},
		{"getModules query_params", keys(part(schemas["ZohoCRM_getModules"], "query_params")), []string{"status"}},
		{"getModules needs no argument", len(asList(schemas["ZohoCRM_getModules"]["required"])), 0},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// TestMCPToolsServeEveryModule drives every record tool on modules beside
// Accounts, and the new tools, through an MCP client.
func TestMCPToolsServeEveryModule(t *testing.T) {
	t.Parallel()
	s, url := mcpSim(t, Options{Accounts: 10})
	c := mcpClient(t, url, "")
	call := func(tool string, args map[string]any) map[string]any {
		t.Helper()
		text, isErr := callTool(t, c, tool, args)
		if isErr {
			t.Fatalf("%s: isError %s", tool, text)
		}
		return jsonOf(t, text)
	}
	res := call("ZohoCRM_createRecords", map[string]any{
		"path_variables": map[string]any{"module": "Contacts"},
		"body": map[string]any{"data": []any{map[string]any{"Last_Name": "Mcp", "First_Name": "Via",
			"Account_Name": map[string]any{"id": mcpID(4)}}}, "trigger": []any{}}})
	newID := res["data"].([]any)[0].(map[string]any)["details"].(map[string]any)["id"].(string)
	if rec, ok := s.Records(ModuleContacts).Get(newID); !ok || rec["Full_Name"] != "Via Mcp" {
		t.Fatalf("created contact %v", rec)
	}
	got := call("ZohoCRM_getRecord", map[string]any{"path_variables": map[string]any{"module": "Contacts", "recordID": newID},
		"query_params": map[string]any{"fields": "Full_Name"}})
	if got["data"].([]any)[0].(map[string]any)["Full_Name"] != "Via Mcp" {
		t.Errorf("getRecord on Contacts %v", got)
	}
	related := call("ZohoCRM_getRelatedRecords", map[string]any{
		"path_variables": map[string]any{"parentRecordModule": "Accounts", "parentRecord": mcpID(4), "relatedList": "Contacts"},
		"query_params":   map[string]any{"fields": "Full_Name", "perPage": 2, "sort_by": "id", "sort_order": "asc"}})
	info := related["info"].(map[string]any)
	var ids []string
	for _, r := range related["data"].([]any) {
		ids = append(ids, r.(map[string]any)["id"].(string))
	}
	if info["per_page"] != 2.0 || info["more_records"] != true || !slices.Equal(ids, []string{modID(ModuleContacts, 8), modID(ModuleContacts, 9)}) {
		t.Errorf("related contacts %v info %v", ids, info)
	}
	next := call("ZohoCRM_getRelatedRecords", map[string]any{
		"path_variables": map[string]any{"parentRecordModule": "Accounts", "parentRecord": mcpID(4), "relatedList": "Contacts"},
		"query_params":   map[string]any{"fields": "Full_Name", "page_token": info["next_page_token"]}})
	if d := next["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != newID {
		t.Errorf("next page %v", next)
	}
	upd := call("ZohoCRM_updateRecords", map[string]any{"path_variables": map[string]any{"module": "Deals"},
		"body": map[string]any{"data": []any{map[string]any{"id": modID(ModuleDeals, 1), "Stage": "Closed Won"}}}})
	if upd["data"].([]any)[0].(map[string]any)["code"] != "SUCCESS" {
		t.Errorf("update deal %v", upd)
	}
	found := call("ZohoCRM_searchRecords", map[string]any{"path_variables": map[string]any{"module": "Projects"},
		"query_params": map[string]any{"criteria": "(Project_Code:equals:PRJ-00002)"}})
	if d := found["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != modID(ModuleProjects, 2) {
		t.Errorf("search projects %v", found)
	}
	list := call("ZohoCRM_getRecords", map[string]any{"path_variables": map[string]any{"module": "Notes"},
		"query_params": map[string]any{"fields": "Note_Title,Parent_Id", "per_page": 3}})
	if len(list["data"].([]any)) != 3 {
		t.Errorf("list notes %v", list)
	}
	rows := call("ZohoCRM_executeCOQLQuery", map[string]any{"body": map[string]any{
		"select_query": "select Last_Name from Contacts where Account_Name.id = " + mcpID(4) + " limit 10"}})
	if rows["info"].(map[string]any)["count"] != 3.0 {
		t.Errorf("COQL on Contacts %v", rows)
	}
	fields := call("ZohoCRM_getFields", map[string]any{"query_params": map[string]any{"module": "Deals"}})
	var stage map[string]any
	for _, f := range fields["fields"].([]any) {
		if f.(map[string]any)["api_name"] == "Stage" {
			stage = f.(map[string]any)
		}
	}
	if stage == nil || stage["system_mandatory"] != true || len(stage["pick_list_values"].([]any)) != len(dealStages) {
		t.Errorf("Deals Stage metadata %v", stage)
	}
	mods := call("ZohoCRM_getModules", map[string]any{"query_params": map[string]any{"status": "visible"}})
	var names []string
	for _, m := range mods["modules"].([]any) {
		names = append(names, m.(map[string]any)["api_name"].(string))
	}
	if !slices.Contains(names, "Projects") || slices.Contains(names, "Notes") {
		t.Errorf("visible modules %v", names)
	}
	// Zoho's verdicts come through as isError results.
	text, isErr := callTool(t, c, "ZohoCRM_createRecords", map[string]any{"path_variables": map[string]any{"module": "Deals"},
		"body": map[string]any{"data": []any{map[string]any{"Deal_Name": "No stage"}}}})
	var bad struct {
		Data []map[string]any `json:"data"`
	}
	if !isErr || json.Unmarshal([]byte(text), &bad) != nil || bad.Data[0]["code"] != "MANDATORY_NOT_FOUND" {
		t.Errorf("create without Stage: %s isError=%v", text, isErr)
	}
	text, isErr = callTool(t, c, "ZohoCRM_getRelatedRecords", map[string]any{
		"path_variables": map[string]any{"parentRecordModule": "Accounts", "parentRecord": mcpID(4), "relatedList": "Widgets"},
		"query_params":   map[string]any{"fields": "Full_Name"}})
	if m := jsonOf(t, text); !isErr || m["code"] != "INVALID_DATA" {
		t.Errorf("unknown related list: %s isError=%v", text, isErr)
	}
	before := len(s.Requests())
	text, isErr = callTool(t, c, "ZohoCRM_getRelatedRecords", map[string]any{
		"path_variables": map[string]any{"parentRecordModule": "Accounts", "parentRecord": mcpID(4), "relatedList": "Contacts"}})
	if m := jsonOf(t, text); !isErr || m["code"] != "MANDATORY_NOT_FOUND" || m["details"].(map[string]any)["api_name"] != "query_params.fields" {
		t.Errorf("related without fields: %s isError=%v", text, isErr)
	}
	for _, r := range s.Requests()[before:] {
		if strings.HasPrefix(r.Path, "/crm/") {
			t.Errorf("argument error reached the API: %s %s", r.Method, r.Path)
		}
	}
}

func TestMCPModuleToolsVariant(t *testing.T) {
	t.Parallel()
	_, url := mcpSim(t, Options{Accounts: 5, MCPVariant: MCPVariant{
		ArgNames:  map[string]string{"module": "moduleApiName", "perPage": "per_page"},
		ToolNames: map[string]string{"ZohoCRM_getRelatedRecords": "ZohoCRM_getRelatedList"},
		Omit:      []string{"ZohoCRM_createRecords", "ZohoCRM_getModules"},
	}})
	c := mcpClient(t, url, "")
	schemas := toolSchemas(t, c)
	for _, gone := range []string{"ZohoCRM_createRecords", "ZohoCRM_getModules", "ZohoCRM_getRelatedRecords"} {
		if schemas[gone] != nil {
			t.Errorf("%s offered", gone)
		}
	}
	if req := part(schemas["ZohoCRM_getFields"], "query_params")["required"]; !reflect.DeepEqual(req, []any{"moduleApiName"}) {
		t.Errorf("getFields required %v", req)
	}
	text, isErr := callTool(t, c, "ZohoCRM_getFields", map[string]any{"query_params": map[string]any{"moduleApiName": "Tasks"}})
	if isErr || len(jsonOf(t, text)["fields"].([]any)) == 0 {
		t.Errorf("renamed getFields: %s isError=%v", text, isErr)
	}
	text, isErr = callTool(t, c, "ZohoCRM_getRelatedList", map[string]any{
		"path_variables": map[string]any{"parentRecordModule": "Accounts", "parentRecord": mcpID(1), "relatedList": "Contacts"},
		"query_params":   map[string]any{"fields": "Last_Name", "per_page": 1}})
	if isErr || len(jsonOf(t, text)["data"].([]any)) != 1 {
		t.Errorf("renamed getRelatedRecords with per_page: %s isError=%v", text, isErr)
	}
}
