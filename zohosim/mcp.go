package zohosim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The hosted-MCP look-alike (zoho-mcp-anchors §1.5–§1.9): an MCP server over
// Streamable HTTP, serving both protocol eras on one endpoint (the legacy
// initialize handshake with an Mcp-Session-Id header, as Zoho's servers do,
// and the stateless 2026-07-28 core), with nine CRM tools whose arguments
// use Zoho's path_variables / query_params / body envelope. The record
// tools serve every module through their module path variable.
//
// Each tool call becomes one CRM API request made in-process (Sim.callAPI),
// so it is logged, charged credits and limited like any API call, and its
// answer is Zoho's own: the result's text content is the REST response body
// exactly as the API wrote it. A status of 400 or above gives a result with
// isError set and Zoho's error JSON as its text. A 204 (nothing found) gives
// an empty text: the look-alike passes Zoho's answer through rather than
// inventing a body Zoho never sent. Sim.SetMCPWrapResult switches to the
// re-wrapped {"data": …, "status": …} shape some live servers send.
//
// Arguments are checked strictly against the offered schema: a missing
// required argument or an unknown key (for example "module" when the variant
// names it "moduleApiName") is an isError result whose text is a Zoho-style
// envelope naming the argument, and nothing reaches the API.

// The default tool names (zoho-mcp-anchors §1.7).
const (
	mcpToolGetRecord        = "ZohoCRM_getRecord"
	mcpToolGetRecords       = "ZohoCRM_getRecords"
	mcpToolSearchRecords    = "ZohoCRM_searchRecords"
	mcpToolUpdateRecords    = "ZohoCRM_updateRecords"
	mcpToolExecuteCOQLQuery = "ZohoCRM_executeCOQLQuery"
	mcpToolCreateRecords    = "ZohoCRM_createRecords"
	mcpToolGetRelated       = "ZohoCRM_getRelatedRecords"
	mcpToolGetFields        = "ZohoCRM_getFields"
	mcpToolGetModules       = "ZohoCRM_getModules"
)

// mcpToolSpec describes one tool in its default naming.
type mcpToolSpec struct {
	name        string
	description string
	method      string
	pathVars    []mcpArg // in URL order after /crm/v8/
	pathSuffix  string   // appended after the path variables, e.g. "/search"
	query       []mcpArg
	bodyKeys    []mcpArg // nil: no body
	fixedPath   string   // used instead of path variables when set
}

// mcpArg is one argument key with its JSON schema fragment.
type mcpArg struct {
	key      string
	schema   map[string]any
	required bool
	param    string // the REST query parameter when it differs from key (perPage → per_page)
}

// restName is the argument's name in the REST request.
func (a mcpArg) restName() string {
	if a.param != "" {
		return a.param
	}
	return a.key
}

func strArg(key, desc string, required bool) mcpArg {
	return mcpArg{key: key, schema: map[string]any{"type": "string", "description": desc}, required: required}
}

func scalarArg(key, desc string) mcpArg {
	return mcpArg{key: key, schema: map[string]any{"type": []string{"string", "integer", "boolean"}, "description": desc}}
}

var (
	mcpModuleArg = mcpArg{key: "module", required: true, schema: map[string]any{"type": "string", "maxLength": 100,
		"description": "API name of the module, e.g. Accounts"}}
	mcpListQuery = []mcpArg{
		strArg("fields", "Comma-separated field API names to return (max 50).", false),
		strArg("ids", "Comma-separated record IDs to fetch.", false),
		strArg("cvid", "Custom view ID.", false),
		scalarArg("page", "Page number, from 1; page*per_page may not pass 2000."),
		scalarArg("per_page", "Records per page, 1-200 (default 200)."),
		strArg("page_token", "Token from info.next_page_token, to fetch more than 2000 records.", false),
		strArg("sort_by", "id, Created_Time or Modified_Time.", false),
		strArg("sort_order", "asc or desc.", false),
		scalarArg("converted", "Leads only: true, false or both."),
		strArg("territory_id", "Territory ID.", false),
		scalarArg("include_child", "Include child territories."),
	}
	mcpSearchQuery = []mcpArg{
		strArg("criteria", "Search criteria, e.g. ((Account_Name:starts_with:Zy)and(Industry:equals:Retail)). Max 15 conditions, 2,000 records.", false),
		strArg("email", "Search every email field.", false),
		strArg("phone", "Search every phone field.", false),
		strArg("word", "Global word search.", false),
		strArg("fields", "Comma-separated field API names to return.", false),
		scalarArg("page", "Page number, from 1."),
		scalarArg("per_page", "Records per page, 1-200 (default 200)."),
		strArg("sort_by", "Field to sort by.", false),
		strArg("sort_order", "asc or desc.", false),
		scalarArg("converted", "Leads only."),
		scalarArg("approved", "true, false or both."),
	}
	mcpWriteBody = []mcpArg{
		{key: "trigger", schema: map[string]any{"type": "array", "items": map[string]any{"type": "string"},
			"description": "Automations to run: workflow, approval, blueprint."}},
		{key: "apply_feature_execution", schema: map[string]any{"type": "array", "items": map[string]any{"type": "object"}}},
		{key: "skip_feature_execution", schema: map[string]any{"type": "array", "items": map[string]any{"type": "object"}}},
	}
	mcpToolSpecs = []mcpToolSpec{
		{
			name:        mcpToolGetRecord,
			description: "To fetch a specific record from a module using its record ID. Returns the record in data[0].",
			method:      http.MethodGet,
			pathVars: []mcpArg{mcpModuleArg, {key: "recordID", required: true, schema: map[string]any{"type": "string",
				"description": "ID of the record (int64 as a string)"}}},
			query: []mcpArg{strArg("fields", "Comma-separated field API names to return.", false)},
		},
		{
			name:        mcpToolGetRecords,
			description: "To fetch the list of records from a module. Use page_token to fetch more than 2000 records.",
			method:      http.MethodGet,
			pathVars:    []mcpArg{mcpModuleArg},
			query:       mcpListQuery,
		},
		{
			name: mcpToolSearchRecords,
			description: "To search records by criteria, email, phone or word. Max 2,000 records, 15 criteria conditions. " +
				"Newly created or edited records may be missing because of indexing delays.",
			method:     http.MethodGet,
			pathVars:   []mcpArg{mcpModuleArg},
			pathSuffix: "/search",
			query:      mcpSearchQuery,
		},
		{
			name:        mcpToolUpdateRecords,
			description: "To update up to 100 records of a module; each item of data carries its id. trigger: [] turns workflows off.",
			method:      http.MethodPut,
			pathVars:    []mcpArg{mcpModuleArg},
			bodyKeys: append([]mcpArg{
				{key: "data", required: true, schema: map[string]any{"type": "array", "items": map[string]any{"type": "object"},
					"description": "Records to update; each must include id."}},
			}, mcpWriteBody...),
		},
		{
			name: mcpToolCreateRecords,
			description: "To add up to 100 records to a module. Returns each record's id in data[i].details.id; " +
				"a Tasks What_Id needs $se_module, a Notes Parent_Id its module. trigger: [] turns workflows off.",
			method:   http.MethodPost,
			pathVars: []mcpArg{mcpModuleArg},
			bodyKeys: append([]mcpArg{
				{key: "data", required: true, schema: map[string]any{"type": "array", "items": map[string]any{"type": "object"},
					"description": "Records to create, with every mandatory field."}},
				{key: "lar_id", schema: map[string]any{"type": "string", "description": "Lead assignment rule ID."}},
			}, mcpWriteBody...),
		},
		{
			name: mcpToolGetRelated,
			description: "To fetch the records of a related list of a record, e.g. the Contacts or Deals of an account. " +
				"fields is required.",
			method: http.MethodGet,
			pathVars: []mcpArg{
				{key: "parentRecordModule", required: true, schema: map[string]any{"type": "string", "maxLength": 100,
					"description": "API name of the parent record's module, e.g. Accounts"}},
				{key: "parentRecord", required: true, schema: map[string]any{"type": "string", "maxLength": 20,
					"description": "ID of the parent record"}},
				{key: "relatedList", required: true, schema: map[string]any{"type": "string", "maxLength": 100,
					"description": "API name of the related list, e.g. Contacts"}},
			},
			query: []mcpArg{
				strArg("fields", "Comma-separated field API names of the related module to return (max 50).", true),
				strArg("ids", "Comma-separated record IDs to fetch.", false),
				scalarArg("page", "Page number, from 1."),
				{key: "perPage", param: "per_page", schema: map[string]any{"type": []string{"string", "integer"},
					"description": "Records per page, 1-200 (default 200)."}},
				strArg("page_token", "Token from info.next_page_token, to fetch more than 2000 records.", false),
				strArg("sort_by", "id, Created_Time or Modified_Time.", false),
				strArg("sort_order", "asc or desc.", false),
				scalarArg("converted", "Leads only: true, false or both."),
			},
		},
		{
			name:        mcpToolGetFields,
			description: "To fetch the field metadata of a module: API names, labels, data types, picklist values, lookups, mandatory and read-only flags.",
			method:      http.MethodGet,
			fixedPath:   "settings/fields",
			query: []mcpArg{
				{key: "module", required: true, schema: map[string]any{"type": "string", "maxLength": 30,
					"description": "API name of the module, e.g. Deals"}},
				strArg("type", "all, used or unused.", false),
			},
		},
		{
			name:        mcpToolGetModules,
			description: "To fetch the modules of the org with their API names, labels and whether the API supports them.",
			method:      http.MethodGet,
			fixedPath:   "settings/modules",
			query: []mcpArg{
				strArg("status", "Comma-separated statuses to keep: visible, user_hidden, system_hidden, scheduled_for_deletion.", false),
			},
		},
		{
			name:        mcpToolExecuteCOQLQuery,
			description: "To fetch records with a COQL select query, e.g. select id, Account_Name from Accounts where Industry = 'Retail' limit 200.",
			method:      http.MethodPost,
			fixedPath:   "coql",
			bodyKeys: []mcpArg{
				{key: "select_query", required: true, schema: map[string]any{"type": "string", "description": "The COQL query."}},
				{key: "include_meta", schema: map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
			},
		},
	}
)

// mcpNaming applies an MCPVariant's renames.
type mcpNaming struct{ v MCPVariant }

func (n mcpNaming) tool(name string) string {
	if r, ok := n.v.ToolNames[name]; ok && r != "" {
		return r
	}
	return name
}

func (n mcpNaming) arg(key string) string {
	if r, ok := n.v.ArgNames[key]; ok && r != "" {
		return r
	}
	return key
}

// mcpObjectSchema builds the JSON schema of one envelope part.
func (n mcpNaming) objectSchema(args []mcpArg) (map[string]any, bool) {
	props := map[string]any{}
	var required []string
	for _, a := range args {
		props[n.arg(a.key)] = a.schema
		if a.required {
			required = append(required, n.arg(a.key))
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s, len(required) > 0
}

func (n mcpNaming) inputSchema(spec mcpToolSpec) json.RawMessage {
	props := map[string]any{}
	var required []string
	add := func(part string, args []mcpArg) {
		if len(args) == 0 {
			return
		}
		s, req := n.objectSchema(args)
		props[part] = s
		if req {
			required = append(required, part)
		}
	}
	add("path_variables", spec.pathVars)
	add("query_params", spec.query)
	add("body", spec.bodyKeys)
	schema := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		schema["required"] = required
	}
	b, _ := json.Marshal(schema)
	return b
}

// newMCPHandler returns the hosted-MCP look-alike's Streamable HTTP handler
// for s, with the tools and argument names of s's Options.MCPVariant. The
// caller mounts it at /mcp/{key}/message after checking the key.
func newMCPHandler(s *Sim) http.Handler {
	h := &mcpLookalike{}
	naming := mcpNaming{v: s.opts.MCPVariant}
	srv := server.NewMCPServer("zoho-crm-data-operations", "1.0.0",
		server.WithToolCapabilities(false), server.WithRecovery())
	for _, spec := range mcpToolSpecs {
		if slices.Contains(naming.v.Omit, spec.name) {
			continue
		}
		tool := mcp.NewToolWithRawSchema(naming.tool(spec.name), spec.description, naming.inputSchema(spec))
		srv.AddTool(tool, h.toolHandler(s, naming, spec))
	}
	h.Handler = server.NewStreamableHTTPServer(srv)
	return h
}

// mcpLookalike is the look-alike's handler with its run-time switches.
type mcpLookalike struct {
	http.Handler
	wrap atomic.Bool // re-wrap results as {"data": …, "status": …}

	errMu   sync.Mutex
	errText string // answered as an isError result instead of calling the API; "" = off
	errLeft int    // tool calls left to answer so (0: until cleared)
}

// DefaultMCPToolErrorText is a message-only error as hosted MCP servers send
// one: not a Zoho verdict (no code, no status), just a message
// (zoho-mcp-anchors §1.9).
const DefaultMCPToolErrorText = `{"message":"Something went wrong while executing the tool. Please try again later."}`

// SetMCPToolError makes the hosted-MCP look-alike answer the next times tool
// calls (0: every one until cleared) with an isError result whose only
// content is text, without calling the CRM API: the message-only failure a
// hosted MCP server can send, which is not Zoho's verdict on the request.
// text "" clears it. Zoho's own verdicts (a 4xx from the API) stay isError
// results with Zoho's JSON as their text.
func (s *Sim) SetMCPToolError(text string, times int) {
	h, ok := s.mcpHandler.(*mcpLookalike)
	if !ok {
		return
	}
	h.errMu.Lock()
	h.errText, h.errLeft = text, max(times, 0)
	h.errMu.Unlock()
}

// takeToolError returns the message-only error for this call, if one is set.
func (h *mcpLookalike) takeToolError() (string, bool) {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	if h.errText == "" {
		return "", false
	}
	text := h.errText
	if h.errLeft > 0 {
		h.errLeft--
		if h.errLeft == 0 {
			h.errText = ""
		}
	}
	return text, true
}

// SetMCPWrapResult makes the hosted-MCP look-alike re-wrap every tool
// result's text as {"data": <Zoho JSON>, "status": "success"} (or "error"
// for an isError result), as a live Zoho MCP server was seen to do
// (zoho-mcp-anchors §1.9); an empty Zoho body (204) becomes "data": null.
// false, the default, passes Zoho's JSON through unchanged. It takes effect
// for the next tool call.
func (s *Sim) SetMCPWrapResult(on bool) {
	if h, ok := s.mcpHandler.(*mcpLookalike); ok {
		h.wrap.Store(on)
	}
}

// result builds the tool result for a Zoho answer.
func (h *mcpLookalike) result(status int, body []byte) *mcp.CallToolResult {
	isErr := status >= 400
	text := string(body)
	if h.wrap.Load() {
		data := json.RawMessage(body)
		if len(body) == 0 || !json.Valid(body) {
			data = json.RawMessage("null")
		}
		st := "success"
		if isErr {
			st = "error"
		}
		b, _ := json.Marshal(map[string]any{"data": data, "status": st})
		text = string(b)
	}
	if isErr {
		return mcp.NewToolResultError(text)
	}
	return mcp.NewToolResultText(text)
}

// mcpArgError is the isError result for a bad argument: a Zoho-style
// envelope naming the argument by its dotted path.
func mcpArgError(code, message, path string) *mcp.CallToolResult {
	b, _ := json.Marshal(newError(code, message, map[string]any{"api_name": path}))
	return mcp.NewToolResultError(string(b))
}

// mcpToolHandler turns a tool call into one CRM API request.
func (h *mcpLookalike) toolHandler(s *Sim, n mcpNaming, spec mcpToolSpec) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if text, ok := h.takeToolError(); ok {
			return mcp.NewToolResultError(text), nil
		}
		args, _ := req.Params.Arguments.(map[string]any)
		if req.Params.Arguments != nil && args == nil {
			return mcpArgError("INVALID_DATA", "the arguments must be a JSON object", "arguments"), nil
		}
		parts := map[string][]mcpArg{"path_variables": spec.pathVars, "query_params": spec.query, "body": spec.bodyKeys}
		obj := map[string]map[string]any{}
		for key, v := range args {
			allowed, ok := parts[key]
			if !ok || len(allowed) == 0 {
				return mcpArgError("INVALID_DATA", "unknown argument", key), nil
			}
			m, ok := v.(map[string]any)
			if !ok {
				return mcpArgError("INVALID_DATA", "the argument must be a JSON object", key), nil
			}
			for k := range m {
				if !slices.ContainsFunc(allowed, func(a mcpArg) bool { return n.arg(a.key) == k }) {
					return mcpArgError("INVALID_DATA", "unknown argument", key+"."+k), nil
				}
			}
			obj[key] = m
		}
		for part, list := range parts {
			for _, a := range list {
				if _, ok := obj[part][n.arg(a.key)]; a.required && !ok {
					return mcpArgError("MANDATORY_NOT_FOUND", "required argument not found", part+"."+n.arg(a.key)), nil
				}
			}
		}

		// Path: /crm/v8/{path variables...}{suffix}
		var path strings.Builder
		path.WriteString("/crm/v8/")
		if spec.fixedPath != "" {
			path.WriteString(spec.fixedPath)
		}
		for i, a := range spec.pathVars {
			name := n.arg(a.key)
			str, ok := obj["path_variables"][name].(string)
			if !ok || str == "" {
				return mcpArgError("INVALID_DATA", "the argument must be a non-empty string", "path_variables."+name), nil
			}
			if i > 0 {
				path.WriteByte('/')
			}
			path.WriteString(url.PathEscape(str))
		}
		path.WriteString(spec.pathSuffix)

		// Query: renamed keys back to Zoho's names, in a stable order.
		q := url.Values{}
		for _, a := range spec.query {
			v, ok := obj["query_params"][n.arg(a.key)]
			if !ok || v == nil {
				continue
			}
			str, ok := queryValue(v)
			if !ok {
				return mcpArgError("INVALID_DATA", "the argument must be a string, number or boolean", "query_params."+n.arg(a.key)), nil
			}
			q.Set(a.restName(), str)
		}
		target := path.String()
		if len(q) > 0 {
			target += "?" + q.Encode()
		}

		var body []byte
		if spec.bodyKeys != nil {
			zb := map[string]any{}
			for _, a := range spec.bodyKeys {
				if v, ok := obj["body"][n.arg(a.key)]; ok {
					zb[a.key] = v
				}
			}
			body, _ = json.Marshal(zb)
		}

		status, _, resp := s.callAPI(ctx, spec.method, target, body)
		return h.result(status, resp), nil
	}
}

// queryValue renders a query parameter given as a JSON scalar (or a list of
// strings, joined with commas).
func queryValue(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}
