package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/metadata"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The generic record tools (SPEC §11) work on any module the org has. Each
// call goes: the arguments' shape and the caller's profile (module list,
// deny lists) in the parser, before anything else; then the module resolved
// against the org's metadata (Deps.Metadata, read through the router) and
// every field name and value checked against it; then the router, like the
// Account tools. The helpers here are meant for every generic tool,
// including the bulk ones to come: moduleParam, Deps.resolve, Deps.checked,
// Deps.noteVerdict, readFields and redactIn.

const moduleNeed = "a module API name such as Contacts, Deals or a custom module (describe_module lists them)"

func moduleSchema() schema {
	s := fieldNameSchema("The module's API name, e.g. Contacts, Deals, Leads or a custom module such as Projects; describe_module lists them.")
	return s
}

// moduleParam is the required module argument of a generic tool. The
// parser checks its shape and that the caller's profile may touch it (so a
// module outside the profile is refused before anything is read or sent),
// and makes it the module the other arguments' deny lists apply to; the
// handler resolves it against the org's metadata (Deps.resolve).
func moduleParam(dst *string) param {
	return param{name: "module", need: moduleNeed, schema: moduleSchema, noField: true,
		sample: func([]string) any { return Module },
		decode: func(a *args) error {
			s, err := a.str("module", tiers.MaxAPINameLen)
			if err != nil {
				return err
			}
			return a.setModule(s, dst)
		}}
}

// setModule checks module s (shape and profile) and makes it the module of
// the arguments.
func (a *args) setModule(s string, dst *string) error {
	if !tiers.IsModuleName(s) {
		return argErr("module must be a Zoho module API name such as Contacts or Deals (got %q)", tiers.Clip(s, 60))
	}
	if !a.prof.AllowsModule(s) {
		return argErr("module %s is outside the modules profile %q may touch (%s); use one of those", s, a.prof.Name, strings.Join(a.prof.Modules, ", "))
	}
	a.module, *dst = s, s
	return nil
}

// resolve returns the metadata of the module an agent named: the org's
// module in its own spelling. Failures are isError results written for the
// agent: an unknown module lists the modules the caller may touch.
func (d Deps) resolve(ctx context.Context, tool, name string, p *permissions.Profile) (*metadata.Module, *mcp.CallToolResult) {
	if d.Metadata == nil {
		return nil, errorResult(tiers.Route{}, "%s cannot check its arguments: the proxy was started without module metadata; use the Account tools", tool)
	}
	m, err := d.Metadata.Module(ctx, name)
	var ue *metadata.UnknownModuleError
	switch {
	case errors.As(err, &ue):
		var mods []string
		for _, m := range ue.Modules {
			if p.AllowsModule(m) {
				mods = append(mods, m)
			}
		}
		return nil, invalid(tool, fmt.Errorf("module %q is not a module of this Zoho org that you may use; use one of %s", tiers.Clip(name, 60), strings.Join(mods, ", ")))
	case err != nil:
		return nil, failure(ctx, d.Logger, tool, tiers.Route{}, aboutIn(name, "reading the metadata of module "+name), err)
	case !p.AllowsModule(m.APIName):
		return nil, invalid(tool, fmt.Errorf("module %s is outside the modules profile %q may touch", m.APIName, p.Name))
	}
	return m, nil
}

// checked runs check on m. When check finds a field m lacks, m may be
// stale (a field added in Zoho since it was read): the metadata is read
// again (at most once per the cache's MinRefresh) and check runs once more.
// It returns the module the check passed on, or the check's error.
func (d Deps) checked(ctx context.Context, m *metadata.Module, check func(*metadata.Module) error) (*metadata.Module, error) {
	err := check(m)
	var ue *metadata.UnknownFieldError
	if err == nil || !errors.As(err, &ue) || !d.Metadata.Refresh(m.APIName) {
		return m, err
	}
	fresh, ferr := d.Metadata.Module(ctx, m.APIName)
	if ferr != nil {
		return m, err
	}
	return fresh, check(fresh)
}

// noteVerdict reads module's metadata again soon when Zoho said a field
// does not exist (see metadata.IsFieldVerdict).
func (d Deps) noteVerdict(module string, err error) {
	if _, ok := metadata.IsFieldVerdict(err); ok && d.Metadata != nil {
		d.Metadata.Refresh(module)
	}
}

// picklistHint completes Zoho's INVALID_DATA verdict on a picklist value
// with the values the field allows, when the module's metadata can be read:
// "; Rating allows "-None-", "Hot", …". The Account tools, which do not
// check values before sending (their behaviour is a contract), use it so
// that an agent still learns what to send.
func (d Deps) picklistHint(ctx context.Context, module string, err error) string {
	var te *tiers.Error
	if d.Metadata == nil || !errors.As(err, &te) || te.Class != tiers.ClassVerdict || te.Code != "INVALID_DATA" {
		return ""
	}
	api, _ := te.Details["api_name"].(string)
	if api == "" {
		return ""
	}
	m, merr := d.Metadata.Module(ctx, module)
	if merr != nil {
		return ""
	}
	f, ok := m.Field(api)
	if !ok || len(f.Picklist) == 0 {
		return ""
	}
	return fmt.Sprintf("; %s allows %s", api, metadata.PicklistList(f))
}

// readFields are the fields a read asks for when the agent named none: the
// module's fields p may see, at most 50 (Zoho's list APIs need a list).
func readFields(m *metadata.Module, p *permissions.Profile) []string {
	return m.ReadFields(func(f string) bool { return !p.DeniedIn(m.APIName, f) })
}

// nameFields are the fields that name a record, tried in order for
// summaries.
var nameFields = []string{"Full_Name", "Deal_Name", "Account_Name", "Name", "Subject", "Note_Title", "Last_Name"}

// recordLabel is "Name (id)" for a summary.
func recordLabel(r tiers.Record) string {
	id, _ := r["id"].(string)
	for _, f := range nameFields {
		if s, ok := r[f].(string); ok && s != "" {
			return fmt.Sprintf("%s (%s)", s, id)
		}
	}
	return id
}

func recordSchemaFor(desc string) schema {
	return openObject(desc+" Field API name → value; denied fields are never present.", schema{"id": str("The record's id (1–19 digits).")}, "id")
}

// recordsOutput is the structured content of the generic list tools.
type recordsOutput struct {
	Module        string         `json:"module"`
	Records       []tiers.Record `json:"records"`
	Count         int            `json:"count"`
	MoreRecords   bool           `json:"more_records"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

func recordsOutputSchema() schema {
	return object("", schema{
		"module":          str("The module of the records."),
		"records":         array("The records of this page.", recordSchemaFor("One record."), 0, 0),
		"count":           integer("Number of records in this page.", 0, 0),
		"more_records":    schema{"type": "boolean", "description": "True when another page exists: pass next_page_token as page_token."},
		"next_page_token": str("Token for the next page; present only when more_records is true."),
	}, "module", "records", "count", "more_records")
}

func recordsPage(module string, pg tiers.Page, p *permissions.Profile) recordsOutput {
	out := recordsOutput{Module: module, Records: make([]tiers.Record, len(pg.Records)), Count: len(pg.Records), MoreRecords: pg.MoreRecords}
	for i, r := range pg.Records {
		out.Records[i] = redactIn(module, r, p)
	}
	if pg.MoreRecords {
		out.NextPageToken = pg.NextPageToken
	}
	return out
}

func recordsSummary(out recordsOutput, tier tiers.Name) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d %s record%s", out.Count, out.Module, plural(out.Count))
	var labels []string
	for i, r := range out.Records {
		if i == 5 {
			labels = append(labels, fmt.Sprintf("and %d more", len(out.Records)-5))
			break
		}
		labels = append(labels, recordLabel(r))
	}
	if len(labels) > 0 {
		sb.WriteString(": ")
		sb.WriteString(strings.Join(labels, ", "))
	}
	if tier != "" {
		fmt.Fprintf(&sb, " (served by %s)", tier)
	}
	sb.WriteString(".")
	if out.MoreRecords {
		sb.WriteString(" More records exist: call again with page_token set to next_page_token.")
	}
	return sb.String()
}

// checkSortField refuses sorting on a field the caller may not see.
func checkSortField(module, by string, p *permissions.Profile) error {
	if by != "" && p.DeniedIn(module, by) {
		return fmt.Errorf("sort_by: field %s is denied for profile %q; sort by id or a field you may see", by, p.Name)
	}
	return nil
}

// getRecordParams are the arguments of get_record: the request they make.
type getRecordParams tiers.GetRequest

func (p *getRecordParams) params() []param {
	return []param{
		moduleParam(&p.Module),
		idParam("record_id", "The record's id: 1–19 digits, e.g. \"5725767000001000000\".", "the record's id, a string of 1–19 digits", &p.ID),
		fieldsParam(&p.Fields),
	}
}

// GetRecord is get_record: one record of any module by id.
func GetRecord(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_record"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Get one Zoho CRM record of any module by its id: module is the module's API name (Contacts, Deals, Leads, a custom module …), record_id the record's id.",
			"fields limits the answer to those field API names (at most 50; describe_module lists them); omit it for every field you may see.",
			"Read-only. An unknown id returns an error saying no record has that id.")),
		annotate(hints{title: "Get record", readOnly: true, idempotent: true}),
		rawOutput(object("", schema{"module": str("The record's module."), "record": recordSchemaFor("The record.")}, "module", "record")),
	)
	return newTool(def, scopes, func(ctx context.Context, in getRecordParams, prof *permissions.Profile) *mcp.CallToolResult {
		m, res := d.resolve(ctx, name, in.Module, prof)
		if res != nil {
			return res
		}
		m, err := d.checked(ctx, m, func(m *metadata.Module) error { return m.CheckFields("fields", in.Fields) })
		if err != nil {
			return invalid(name, err)
		}
		req := tiers.GetRequest(in)
		req.Module = m.APIName
		if len(req.Fields) == 0 && prof.DeniedFields(m.APIName) != nil {
			req.Fields = readFields(m, prof) // denied values never leave Zoho
		}
		rec, route, err := d.Router.GetRaw(ctx, routing(tiers.OpGet, 1, prof), req)
		if err != nil {
			d.noteVerdict(m.APIName, err)
			return failure(ctx, d.Logger, name, route, record(m.APIName, req.ID), err)
		}
		rec = redactRaw(m.APIName, rec, prof)
		mod, _ := json.Marshal(m.APIName)
		buf := make([]byte, 0, summaryRoom+len(m.APIName)+len(rec)+len(mod)+len(`{"module":,"record":}`))
		buf = appendSummary(append(append(buf, m.APIName...), " record"...), rec, route.Tier, nameFields...)
		body := len(buf)
		buf = append(append(append(append(append(buf, `{"module":`...), mod...), `,"record":`...), rec...), '}')
		return d.Text.rawSuccess(route, buf, body)
	})
}

// getRecordsParams are the arguments of get_records: the request they make.
type getRecordsParams tiers.ListRequest

func (p *getRecordsParams) params() []param {
	return []param{
		moduleParam(&p.Module),
		idsParam("ids", "Record ids (1–19 digits each), at most 100, each once.", "A record id.", tiers.MaxListIDs, &p.IDs),
		filtersParam(&p.Filters),
		notBoth("ids", "filters", func() (bool, bool) { return p.IDs != nil, p.Filters != nil }),
		fieldsParam(&p.Fields),
		limitParam(&p.Limit),
		pageTokenParam(&p.PageToken),
		enumParam("sort_by", "Sort field; default id.", "", []string{"id", "Created_Time", "Modified_Time"}, &p.SortBy),
		enumParam("sort_order", "Sort order; default asc.", "", []string{"asc", "desc"}, &p.SortOrder),
	}
}

// GetRecords is get_records: a page of records of any module.
func GetRecords(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_records"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"List Zoho CRM records of any module, one page at a time: by ids (at most 100), by equality filters ({\"Lead_Source\": \"Web\"}: every field must equal its value), or all records when neither is given.",
			"limit is 1–200 (default 20); sort_by is id, Created_Time or Modified_Time, sort_order asc or desc. When more_records is true, call again with the same arguments and page_token set to next_page_token.",
			"Field names and values are checked against the module's fields (describe_module) before anything is sent. For other conditions use search_records. Read-only.")),
		annotate(hints{title: "List records", readOnly: true, idempotent: true}),
		rawOutput(recordsOutputSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in getRecordsParams, prof *permissions.Profile) *mcp.CallToolResult {
		m, res := d.resolve(ctx, name, in.Module, prof)
		if res != nil {
			return res
		}
		m, err := d.checked(ctx, m, func(m *metadata.Module) error {
			if err := m.CheckFields("fields", in.Fields); err != nil {
				return err
			}
			for _, f := range in.Filters {
				if err := m.CheckCondition("filters."+f.Field, f); err != nil {
					return err
				}
			}
			return checkSortField(m.APIName, in.SortBy, prof)
		})
		if err != nil {
			return invalid(name, err)
		}
		req := tiers.ListRequest(in)
		req.Module = m.APIName
		if len(req.Fields) == 0 {
			req.Fields = readFields(m, prof)
		}
		count := req.Limit
		if req.IDs != nil {
			count = len(req.IDs)
		}
		pg, route, err := d.Router.List(ctx, routing(tiers.OpList, count, prof), req)
		if err != nil {
			d.noteVerdict(m.APIName, err)
			return failure(ctx, d.Logger, name, route, aboutIn(m.APIName, "the "+m.APIName+" list"), err)
		}
		out := recordsPage(m.APIName, pg, prof)
		summary := recordsSummary(out, route.Tier)
		if missing := missingIDs(in.IDs, pg.Records); len(missing) > 0 {
			summary += fmt.Sprintf(" %d of the %d ids matched no record: %s.", len(missing), len(in.IDs), strings.Join(missing, ", "))
		}
		return d.Text.success(route, out, summary)
	})
}

// searchRecordsParams are the arguments of search_records.
type searchRecordsParams struct {
	searchAccountsParams
}

func (p *searchRecordsParams) params() []param {
	return append([]param{moduleParam(&p.Module)}, p.searchAccountsParams.params()...)
}

// implicitSearch refuses an email, phone or word search that would match on
// a field the caller may not see: Zoho searches every email field, every
// phone field, or every text field for them.
func implicitSearch(m *metadata.Module, req tiers.SearchRequest, p *permissions.Profile) error {
	var kinds []string
	what := ""
	switch {
	case req.Email != "":
		kinds, what = []string{"email"}, "email"
	case req.Phone != "":
		kinds, what = []string{"phone"}, "phone"
	case req.Word != "":
		what = "word"
	default:
		return nil
	}
	for _, f := range m.Fields {
		if !p.DeniedIn(m.APIName, f.APIName) || (kinds != nil && !slices.Contains(kinds, f.DataType)) {
			continue
		}
		return fmt.Errorf("a %s search matches every %s field of %s, and field %s is denied for profile %q; search with where on fields you may see", what,
			map[bool]string{true: what, false: "text"}[kinds != nil], m.APIName, f.APIName, p.Name)
	}
	return nil
}

// SearchRecords is search_records: structured search in any module.
func SearchRecords(d Deps) Tool {
	d = d.withDefaults()
	const name = "search_records"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Search Zoho CRM records of any module. Give module and exactly one of: where (a list of {field, op, value} conditions combined by match all|any), word (full-text), email, or phone.",
			"Operators: equals, not_equal, starts_with, in (value is an array of 1–100 values), greater_than, greater_equal, less_than, less_equal, between (value is [low, high]); which ones a field takes depends on its type (describe_module). At most 10 conditions. Fields, operators and values are checked against the module's fields before anything is sent.",
			"There is no raw criteria or COQL input. limit is 1–200 (default 20); when more_records is true, call again with page_token = next_page_token. Zoho searches cover at most 2,000 records. Read-only.")),
		annotate(hints{title: "Search records", readOnly: true, idempotent: true}),
		rawOutput(recordsOutputSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in searchRecordsParams, prof *permissions.Profile) *mcp.CallToolResult {
		m, res := d.resolve(ctx, name, in.Module, prof)
		if res != nil {
			return res
		}
		req := in.SearchRequest
		req.MatchAny = in.Match == "any"
		m, err := d.checked(ctx, m, func(m *metadata.Module) error {
			if err := m.CheckFields("fields", req.Fields); err != nil {
				return err
			}
			for i, c := range req.Where {
				if err := m.CheckCondition(fmt.Sprintf("where[%d]", i), c); err != nil {
					return err
				}
			}
			return implicitSearch(m, req, prof)
		})
		if err != nil {
			return invalid(name, err)
		}
		req.Module = m.APIName
		if len(req.Fields) == 0 {
			req.Fields = readFields(m, prof)
		}
		pg, route, err := d.Router.Search(ctx, routing(tiers.OpSearch, req.Limit, prof), req)
		if err != nil {
			d.noteVerdict(m.APIName, err)
			return failure(ctx, d.Logger, name, route, aboutIn(m.APIName, "the "+m.APIName+" search"), err)
		}
		out := recordsPage(m.APIName, pg, prof)
		return d.Text.success(route, out, recordsSummary(out, route.Tier))
	})
}

// relatedParams are the arguments of get_related_records: the request they
// make. Their fields are the related module's, checked once it is known.
type relatedParams tiers.RelatedRequest

func (p *relatedParams) params() []param {
	return []param{
		moduleParam(&p.Module),
		idParam("record_id", "The parent record's id: 1–19 digits.", "the parent record's id, a string of 1–19 digits", &p.ID),
		{name: "related_list", need: "the related list's API name, e.g. Contacts or Deals (describe_module lists a module's related lists)",
			noField: true, sample: func([]string) any { return "Contacts" },
			schema: func() schema {
				return fieldNameSchema("The related list's API name, e.g. Contacts, Deals, Notes (describe_module lists a module's related lists).")
			},
			decode: func(a *args) (err error) {
				s, err := a.str("related_list", tiers.MaxAPINameLen)
				if err == nil && !tiers.IsAPIName(s) {
					err = argErr("related_list must be an API name such as Contacts (got %q)", tiers.Clip(s, 60))
				}
				p.List = s
				return err
			}},
		{name: "fields", reach: nameReach, schema: func() schema {
			return array("Field API names of the related records to return; omit for every field you may see. At most 50.", fieldNameSchema("A Zoho field API name."), 1, tiers.MaxFields)
		},
			decode: func(a *args) (err error) {
				// Checked against the related module's deny list and fields
				// once it is known: decode them as names of no module.
				saved := a.module
				a.module = "\x00"
				p.Fields, err = a.fields()
				a.module = saved
				return err
			}},
		limitParam(&p.Limit),
		pageTokenParam(&p.PageToken),
		sortByParam("Sort field; default id.", []string{"id", "Created_Time", "Modified_Time"}, &p.SortBy),
		enumParam("sort_order", "Sort order; default asc.", "", []string{"asc", "desc"}, &p.SortOrder),
	}
}

// GetRelatedRecords is get_related_records: a record's related list, e.g.
// an account's contacts or deals.
func GetRelatedRecords(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_related_records"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"List the records of a related list of one Zoho CRM record, e.g. an account's Contacts or Deals: module and record_id name the parent record, related_list the list's API name (describe_module lists a module's related lists).",
			"fields are field API names of the related records (at most 50); omit them for every field you may see. limit is 1–200 (default 20); when more_records is true, call again with page_token = next_page_token.",
			"Read-only.")),
		annotate(hints{title: "Get related records", readOnly: true, idempotent: true}),
		rawOutput(recordsOutputSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in relatedParams, prof *permissions.Profile) *mcp.CallToolResult {
		parent, res := d.resolve(ctx, name, in.Module, prof)
		if res != nil {
			return res
		}
		target := ""
		rl, found, known := parent.RelatedList(in.List)
		switch {
		case known && !found:
			var names []string
			for _, r := range parent.Related {
				if prof.AllowsModule(r.Module) {
					names = append(names, r.APIName)
				}
			}
			return invalid(name, fmt.Errorf("related_list: module %s has no related list %q; its related lists are %s", parent.APIName, tiers.Clip(in.List, 60), strings.Join(names, ", ")))
		case found:
			target = rl.Module
		default:
			// The related lists could not be read: a list named after a
			// module is taken to hold that module's records.
			target = in.List
		}
		if !prof.AllowsModule(target) {
			return invalid(name, fmt.Errorf("related_list %s holds %s records, outside the modules profile %q may touch", in.List, target, prof.Name))
		}
		child, res := d.resolve(ctx, name, target, prof)
		if res != nil {
			if !known {
				return invalid(name, fmt.Errorf("related_list: the related lists of %s could not be read (%v), and %q is not a module name; name a module's list such as Contacts", parent.APIName, parent.RelatedErr, tiers.Clip(in.List, 60)))
			}
			return res
		}
		for i, f := range in.Fields {
			if prof.DeniedIn(child.APIName, f) {
				return invalid(name, fmt.Errorf("fields[%d]: field %s is denied for profile %q; remove it", i, f, prof.Name))
			}
		}
		child, err := d.checked(ctx, child, func(m *metadata.Module) error {
			if err := m.CheckFields("fields", in.Fields); err != nil {
				return err
			}
			return checkSortField(m.APIName, in.SortBy, prof)
		})
		if err != nil {
			return invalid(name, err)
		}
		req := tiers.RelatedRequest(in)
		req.Module = parent.APIName
		if len(req.Fields) == 0 {
			req.Fields = readFields(child, prof)
		}
		pg, route, err := d.Router.Related(ctx, routing(tiers.OpRelated, req.Limit, prof), req)
		if err != nil {
			d.noteVerdict(child.APIName, err)
			return failure(ctx, d.Logger, name, route, aboutIn(parent.APIName, fmt.Sprintf("the %s of %s record %s", in.List, parent.APIName, in.ID)), err)
		}
		out := recordsPage(child.APIName, pg, prof)
		return d.Text.success(route, out, fmt.Sprintf("%s of %s record %s: %s", in.List, parent.APIName, in.ID, recordsSummary(out, route.Tier)))
	})
}
