package tools

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// resultIDPattern is the JSON-schema pattern of a bulk result id.
const resultIDPattern = "^[0-9a-f]{32}$"

// resultIDParam is the required id of a bulk result (or job) under name.
func resultIDParam(name, desc, what string, dst *string) param {
	return param{name: name, noField: true,
		need: "the " + what + " id: 32 hex digits, as the bulk tool returned it",
		schema: func() schema {
			return schema{"type": "string", "description": desc, "pattern": resultIDPattern}
		},
		decode: func(a *args) error {
			s, err := a.str(name, 100)
			if err != nil {
				return err
			}
			s = strings.TrimPrefix(s, BulkURIPrefix)
			if !isResultID(s) || strings.ToLower(s) != s {
				return argErr("%s must be a %s id of 32 hex digits such as \"0123456789abcdef0123456789abcdef\" (got %q)", name, what, tiers.Clip(s, 60))
			}
			*dst = s
			return nil
		},
		sample: func([]string) any { return strings.Repeat("0", 32) }}
}

// readBulkResultParams are the arguments of read_bulk_result.
type readBulkResultParams struct {
	ID   string
	Page int
}

func (p *readBulkResultParams) params() []param {
	return []param{
		resultIDParam("id", "The result's id: the part of resource_uri after zoho-mcp-proxy://bulk/ (32 hex digits).", "bulk result", &p.ID),
		{name: "page", noField: true,
			schema: func() schema {
				s := integer("The page to read, from 1 (default 1).", 1, 0)
				s["default"] = 1
				return s
			},
			decode: func(a *args) (err error) { p.Page, err = a.integer("page", 1, math.MaxInt32, 1); return err }},
	}
}

// ReadBulkResult is read_bulk_result: a page of a bulk result through a
// tool, for hosts that cannot let the model read resources.
func ReadBulkResult(d Deps) Tool {
	d = d.withDefaults()
	const name = "read_bulk_result"
	scopes := []permissions.Scope{permissions.ScopeBulk}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			fmt.Sprintf("Read one page (%d records) of a large bulk result: the records of bulk_read_accounts or bulk_read_records, or the per-record outcomes of bulk_update_accounts or bulk_update_records, when they did not fit in the tool's answer. The same pages as resources/read of zoho-mcp-proxy://bulk/{id}, for hosts that cannot read resources.", BulkPageSize),
			"id is the part of resource_uri after zoho-mcp-proxy://bulk/; page starts at 1, and the answer's next_page is the page to read next (absent on the last).",
			fmt.Sprintf("Results expire after an hour. %s; anyone else is told it does not exist. Read-only.", whoReads))),
		annotate(hints{title: "Read bulk result", readOnly: true, idempotent: true}),
		rawOutput(object("", schema{
			"id":            str("The result's id."),
			"page":          integer("This page, from 1.", 1, 0),
			"pages":         integer("Pages in the result.", 1, 0),
			"total":         integer("Records in the whole result.", 0, 0),
			"records":       array("The records of this page: accounts or other records, or {id, status, code?, message?} outcomes.", openObject("One record.", schema{}), 0, 0),
			"next_page":     integer("The page to read next; absent on the last page.", 2, 0),
			"next_page_uri": str("The next page as a resource URI; absent on the last page."),
			"expires_at":    str("When the result expires (RFC 3339)."),
		}, "id", "page", "pages", "total", "records", "expires_at")),
	)
	return newTool(def, scopes, func(ctx context.Context, in readBulkResultParams, _ *permissions.Profile) *mcp.CallToolResult {
		if d.Bulk == nil {
			return errorResult(tiers.Route{}, "this proxy keeps no bulk results")
		}
		pg, err := readPage(ctx, d.Bulk, in.ID, in.Page)
		if errors.Is(err, ErrResultNotFound) {
			return errorResult(tiers.Route{}, "bulk result %s does not exist, has expired or was made by another caller; run the bulk tool again", in.ID)
		}
		if err != nil {
			return errorResult(tiers.Route{}, "%v", err)
		}
		summary := fmt.Sprintf("Page %d of %d of bulk result %s: %d of %d records.", pg.Page, pg.Pages, pg.ID, len(pg.Records), pg.Total)
		if pg.NextPage > 0 {
			summary += fmt.Sprintf(" Read page %d next.", pg.NextPage)
		}
		return d.Text.success(tiers.Route{}, pg, summary)
	})
}
