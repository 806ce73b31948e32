package mcp

import (
	"fmt"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The sections of the argument envelope Zoho's hosted MCP tools take
// (zoho-mcp-anchors §1.8): one JSON object mirroring the REST request.
const (
	secPath  = "path_variables"
	secQuery = "query_params"
	secBody  = "body"
)

// aliases lists, per logical argument, the names upstream servers have been
// seen to use for it, preferred first (zoho-mcp-anchors §1.8: module vs
// moduleApiName, recordID vs recordId, per_page vs perPage).
var aliases = map[string][]string{
	"module":       {"module", "moduleApiName", "module_api_name", "moduleName", "module_name"},
	"recordID":     {"recordID", "recordId", "record_id", "id"},
	"per_page":     {"per_page", "perPage"},
	"page":         {"page"},
	"page_token":   {"page_token", "pageToken"},
	"fields":       {"fields"},
	"ids":          {"ids"},
	"sort_by":      {"sort_by", "sortBy"},
	"sort_order":   {"sort_order", "sortOrder"},
	"criteria":     {"criteria"},
	"email":        {"email"},
	"phone":        {"phone"},
	"word":         {"word"},
	"select_query": {"select_query", "selectQuery", "query"},
	"data":         {"data"},
	"trigger":      {"trigger"},

	"parentRecordModule": {"parentRecordModule", "parent_record_module", "module", "moduleApiName", "module_api_name"},
	"parentRecord":       {"parentRecord", "parent_record", "recordID", "recordId", "record_id", "id"},
	"relatedList":        {"relatedList", "related_list", "relatedListApiName", "related_list_api_name", "relatedListName"},
}

// tool is one upstream tool and the shape of its input schema.
type tool struct {
	name string
	// sections maps an envelope section to the argument names its schema
	// declares; a section present with a nil set declares no properties
	// (anything goes). flat holds top-level properties of a tool that takes
	// no envelope at all.
	sections map[string]map[string]bool
	flat     map[string]bool
	// typed says whether the schema declared anything. An untyped tool gets
	// the default envelope with the default names.
	typed bool
}

func newTool(t mcpgo.Tool) *tool {
	out := &tool{name: t.Name, sections: map[string]map[string]bool{}, flat: map[string]bool{}}
	props := t.InputSchema.Properties
	if len(props) == 0 {
		return out
	}
	out.typed = true
	for k, v := range props {
		switch k {
		case secPath, secQuery, secBody, "headers":
			out.sections[k] = propNames(v)
		default:
			out.flat[k] = true
		}
	}
	return out
}

// propNames returns the property names of a JSON-schema object, or nil when
// it declares none.
func propNames(schema any) map[string]bool {
	m, _ := schema.(map[string]any)
	p, _ := m["properties"].(map[string]any)
	if len(p) == 0 {
		return nil
	}
	names := make(map[string]bool, len(p))
	for k := range p {
		names[k] = true
	}
	return names
}

// arg is one logical argument for a call.
type arg struct {
	section  string // default section
	name     string // logical name, a key of aliases
	value    any
	required bool // the call is wrong without it: unsupported if the tool lacks it
}

// build places args where the tool wants them, renamed to what the tool's
// schema calls them. A required argument the tool has no place for is a
// ClassUnsupported error; an optional one is dropped (the caller copes:
// e.g. a missing per_page means the page is trimmed locally). The result
// is appended to into[:0] (nil: a slice of its own), to let a caller keep
// it on its stack.
func (t *tool) build(args []arg, into toolArgs) (toolArgs, error) {
	out := into[:0]
	if out == nil {
		out = make(toolArgs, 0, len(args))
	}
	for _, a := range args {
		section, key, ok := t.place(a)
		if !ok {
			if a.required {
				return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnsupported,
					Message: fmt.Sprintf("upstream tool %s takes no %q argument (looked for %s)",
						t.name, a.name, strings.Join(aliases[a.name], ", "))}
			}
			continue
		}
		out = out.put(placed{section: section, key: key, value: a.value})
	}
	return out, nil
}

// place finds where the tool wants a: the section and the name it uses.
func (t *tool) place(a arg) (section, key string, ok bool) {
	names := aliases[a.name]
	if len(names) == 0 {
		names = []string{a.name}
	}
	if !t.typed {
		return a.section, names[0], true
	}
	if props, has := t.sections[a.section]; has {
		if props == nil { // the section takes anything
			return a.section, names[0], true
		}
		for _, n := range names {
			if props[n] {
				return a.section, n, true
			}
		}
	}
	// Some servers move an argument to another section (page_token as a path
	// variable, fields in the body) or take flat arguments.
	for _, sec := range []string{secPath, secQuery, secBody} {
		if sec == a.section {
			continue
		}
		for _, n := range names {
			if t.sections[sec][n] {
				return sec, n, true
			}
		}
	}
	for _, n := range names {
		if t.flat[n] {
			return "", n, true
		}
	}
	return "", "", false
}

// catalog is the upstream's tools by name.
type catalog map[string]*tool

func newCatalog(ts []mcpgo.Tool) catalog {
	c := make(catalog, len(ts))
	for _, t := range ts {
		c[t.Name] = newTool(t)
	}
	return c
}

// The generic tool actions we use, named as in Zoho's catalogue
// (zoho-mcp-anchors §1.7) without the ZohoCRM_ prefix.
const (
	actGetRecord     = "getRecord"
	actGetRecords    = "getRecords"
	actSearchRecords = "searchRecords"
	actUpdateRecords = "updateRecords"
	actUpdateRecord  = "updateRecord"
	actCOQL          = "executeCOQLQuery"
)

// candidates returns the tool names that can perform action on module, in
// order of preference: the generic tool, then the per-module variant
// (getAccountsRecord, updateAccountsRecords …). A per-module tool is only
// used for its own module, so it needs no module argument.
func candidates(action, module string) []string {
	out := []string{"ZohoCRM_" + action}
	if module != "" && action != actCOQL {
		verb, rest := splitAction(action)
		out = append(out, "ZohoCRM_"+verb+module+rest)
	}
	return out
}

// splitAction splits "getRecord" into "get" and "Record".
func splitAction(action string) (verb, rest string) {
	for i, c := range action {
		if c >= 'A' && c <= 'Z' {
			return action[:i], action[i:]
		}
	}
	return action, ""
}

// findAction is find(candidates(action, module)) without building the
// names (they fit in the stack buffers of a concatenation).
func (c catalog) findAction(action, module string) (*tool, bool) {
	if t, ok := c["ZohoCRM_"+action]; ok {
		return t, false
	}
	if module != "" && action != actCOQL {
		verb, rest := splitAction(action)
		if t, ok := c["ZohoCRM_"+verb+module+rest]; ok {
			return t, true
		}
	}
	return nil, false
}

// find returns the first tool of names the catalog holds and whether it is a
// per-module variant.
func (c catalog) find(names []string) (*tool, bool) {
	for i, n := range names {
		if t, ok := c[n]; ok {
			return t, i > 0
		}
	}
	return nil, false
}
