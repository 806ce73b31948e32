package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// getAccountParams are the arguments of get_account: the request they
// make, its Module left to the tool.
type getAccountParams tiers.GetRequest

func (p *getAccountParams) params() []param {
	return []param{
		idParam("account_id", "The account's id: 1–19 digits, e.g. \"3652397000000624001\".", accountIDNeed, &p.ID),
		fieldsParam(&p.Fields),
	}
}

// accountIDNeed is what a call without account_id is told to give.
const accountIDNeed = "the account's id, a string of 1–19 digits"

// GetAccount is get_account: one account by id.
func GetAccount(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_account"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Get one Zoho CRM account by its id.",
			"account_id is the record id, a string of 1–19 digits (from search_accounts or get_accounts). fields limits the answer to those field API names (at most 50); omit it for every field the caller may see.",
			"Read-only. An unknown id returns an error saying no account has that id.")),
		annotate(hints{title: "Get account", readOnly: true, idempotent: true}),
		rawOutput(object("", schema{"account": recordSchema()}, "account")),
	)
	return newTool(def, scopes, func(ctx context.Context, in getAccountParams, prof *permissions.Profile) *mcp.CallToolResult {
		req := tiers.GetRequest(in)
		req.Module = Module
		rec, route, err := d.Router.GetRaw(ctx, routing(tiers.OpGet, 1, prof), req)
		if err != nil {
			return failure(ctx, d.Logger, name, route, account(req.ID), err)
		}
		// The record passes through as the bytes the tier read: only the
		// fields the summary names are read, only denied fields dropped.
		rec = redactRaw(Module, rec, prof)
		buf := make([]byte, 0, summaryRoom+len(rec)+len(`{"account":}`))
		buf = appendSummary(append(buf, "Account"...), rec, route.Tier, "Account_Name")
		body := len(buf)
		buf = append(append(append(buf, `{"account":`...), rec...), '}')
		return d.Text.rawSuccess(route, buf, body)
	})
}

// getAccountsParams are the arguments of get_accounts: the request they
// make, its Module left to the tool.
type getAccountsParams tiers.ListRequest

func (p *getAccountsParams) params() []param {
	return []param{
		idsParam("ids", "Account ids (1–19 digits each), at most 100, each once.", "An account id.", tiers.MaxListIDs, &p.IDs),
		filtersParam(&p.Filters),
		notBoth("ids", "filters", func() (bool, bool) { return p.IDs != nil, p.Filters != nil }),
		fieldsParam(&p.Fields),
		limitParam(&p.Limit),
		pageTokenParam(&p.PageToken),
		sortByParam("Sort field; default id.", []string{"id", "Created_Time", "Modified_Time"}, &p.SortBy),
		enumParam("sort_order", "Sort order; default asc.", "", []string{"asc", "desc"}, &p.SortOrder),
	}
}

// filtersParam is get_accounts' optional equality filters.
func filtersParam(dst *[]tiers.Condition) param {
	return param{name: "filters",
		schema: func() schema {
			return schema{
				"type":                 "object",
				"description":          "Equality filters: field API name → value; all must match. At most 10. Not with ids.",
				"propertyNames":        fieldNamesSchema(),
				"additionalProperties": scalarSchema("The value the field must equal."),
				"minProperties":        1,
				"maxProperties":        maxFilters,
			}
		},
		decode: func(a *args) (err error) { *dst, err = a.filters(); return err },
		reach:  func(field string) (any, bool) { return map[string]any{field: "probe"}, true }}
}

// filters returns get_accounts' equality filters: an object of field API
// name → scalar value, all of which must match.
func (a *args) filters() ([]tiers.Condition, error) {
	const key = "filters"
	if !a.has(key) {
		return nil, nil
	}
	v := a.m[key]
	var m map[string]json.RawMessage
	if kind(v) != "an object" || json.Unmarshal(v, &m) != nil {
		return nil, argErr("filters must be an object of field API name → value, e.g. {\"Industry\": \"Retail\"}, got %s", kind(v))
	}
	if len(m) == 0 {
		return nil, argErr("filters is empty; give at least one field → value or leave it out")
	}
	if len(m) > maxFilters {
		return nil, argErr("filters has %d fields; at most %d are allowed", len(m), maxFilters)
	}
	out := make([]tiers.Condition, 0, len(m))
	for _, k := range sortedKeys(m) {
		if err := a.checkField("filters", k); err != nil {
			return nil, err
		}
		val, err := decodeScalar("filters."+k, m[k])
		if err != nil {
			return nil, err
		}
		out = append(out, tiers.Condition{Field: k, Op: tiers.OpEquals, Values: []any{val}})
	}
	return out, nil
}

// GetAccounts is get_accounts: a page of accounts by ids or equality filters.
func GetAccounts(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_accounts"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"List Zoho CRM accounts, one page at a time: by ids (at most 100), by equality filters ({\"Industry\": \"Retail\"}: every field must equal its value), or all accounts when neither is given.",
			"limit is 1–200 (default 20); sort_by is id, Created_Time or Modified_Time, sort_order asc or desc. When more_records is true, call again with the same arguments and page_token set to next_page_token.",
			"For conditions other than equality, use search_accounts; for thousands of records, bulk_read_accounts. Read-only.")),
		annotate(hints{title: "List accounts", readOnly: true, idempotent: true}),
		rawOutput(listOutputSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in getAccountsParams, prof *permissions.Profile) *mcp.CallToolResult {
		req := tiers.ListRequest(in)
		req.Module = Module
		count := req.Limit
		if req.IDs != nil {
			count = len(req.IDs)
		}
		pg, route, err := d.Router.List(ctx, routing(tiers.OpList, count, prof), req)
		if err != nil {
			return failure(ctx, d.Logger, name, route, about("the account list"), err)
		}
		out := pageOutput(pg, prof)
		summary := pageSummary(out, route.Tier)
		if missing := missingIDs(in.IDs, pg.Records); len(missing) > 0 {
			summary += fmt.Sprintf(" %d of the %d ids matched no account: %s.", len(missing), len(in.IDs), strings.Join(missing, ", "))
		}
		return d.Text.success(route, out, summary)
	})
}

// missingIDs returns the ids with no record in recs, in request order.
func missingIDs(ids []string, recs []tiers.Record) []string {
	if len(ids) == 0 {
		return nil
	}
	got := make(map[string]bool, len(recs))
	for _, r := range recs {
		if id, ok := r["id"].(string); ok {
			got[id] = true
		}
	}
	var out []string
	for _, id := range ids {
		if !got[id] {
			out = append(out, id)
		}
	}
	return out
}

// searchAccountsParams are the arguments of search_accounts: the request
// they make (its Module left to the tool), and match, which is MatchAny.
type searchAccountsParams struct {
	tiers.SearchRequest
	Match string // "all" or "any"
}

func (p *searchAccountsParams) params() []param {
	module := func() string { return Module }
	return []param{
		exactlyOne("where", "word", "email", "phone"),
		conditionsParam("where", "Conditions, at most 10.", tiers.MaxSearchConditions, &p.Where),
		enumParam("match", "How where conditions combine: all (default) or any.", "all", []string{"all", "any"}, &p.Match),
		rule(func(a *args) error {
			if a.has("match") && p.Where == nil {
				return argErr("match applies to where only; leave it out")
			}
			return nil
		}),
		implicitSearchParam(permissions.SearchWord, "Full-text search word.", 1, 255, module, "Acme", &p.Word),
		implicitSearchParam(permissions.SearchEmail, "Email address to find.", 3, 254, module, "ops@example.com", &p.Email),
		rule(func(*args) error {
			if p.Email != "" && !containsAt(p.Email) {
				return argErr("email must be an email address such as \"ops@example.com\" (got %q)", tiers.Clip(p.Email, 60))
			}
			return nil
		}),
		implicitSearchParam(permissions.SearchPhone, "Phone number to find.", 1, 50, module, "+1 555 0100", &p.Phone),
		fieldsParam(&p.Fields),
		limitParam(&p.Limit),
		pageTokenParam(&p.PageToken),
	}
}

func containsAt(s string) bool {
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '@' {
			return true
		}
	}
	return false
}

// SearchAccounts is search_accounts: structured search.
func SearchAccounts(d Deps) Tool {
	d = d.withDefaults()
	const name = "search_accounts"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Search Zoho CRM accounts. Give exactly one of: where (a list of {field, op, value} conditions combined by match all|any), word (full-text), email, or phone.",
			"Operators: equals, not_equal, starts_with, in (value is an array of 1–100 values), greater_than, greater_equal, less_than, less_equal, between (value is [low, high]). At most 10 conditions. Field names are Zoho API names such as Account_Name, Industry, Annual_Revenue.",
			"There is no raw criteria or COQL input: the proxy builds and escapes the query itself. limit is 1–200 (default 20); when more_records is true, call again with page_token = next_page_token. Zoho searches cover at most 2,000 records; narrow the query or use bulk_read_accounts beyond that. Read-only.")),
		annotate(hints{title: "Search accounts", readOnly: true, idempotent: true}),
		rawOutput(listOutputSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in searchAccountsParams, prof *permissions.Profile) *mcp.CallToolResult {
		req := in.SearchRequest
		req.Module, req.MatchAny = Module, in.Match == "any"
		pg, route, err := d.Router.Search(ctx, routing(tiers.OpSearch, req.Limit, prof), req)
		if err != nil {
			return failure(ctx, d.Logger, name, route, about("the search"), err)
		}
		out := pageOutput(pg, prof)
		return d.Text.success(route, out, pageSummary(out, route.Tier))
	})
}
