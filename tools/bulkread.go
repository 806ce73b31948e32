package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// bulkReadParams are the arguments of bulk_read_accounts: the request they
// make, its Module left to the tool.
type bulkReadParams tiers.BulkReadRequest

func (p *bulkReadParams) params() []param {
	return []param{
		idsParam("account_ids", "Account ids (1–19 digits each), each once.", "An account id.", maxBulkIDs, &p.IDs),
		conditionsParam("where", "Conditions; all must match.", tiers.MaxBulkReadConditions, &p.Where),
		notBoth("account_ids", "where", func() (bool, bool) { return p.IDs != nil, p.Where != nil }),
		fieldsParam(&p.Fields),
	}
}

// bulkReadOutput is bulk_read_accounts' structured content: the accounts
// inline, or where to read them.
type bulkReadOutput struct {
	Count       int            `json:"count"`
	Inline      bool           `json:"inline"`
	Accounts    []tiers.Record `json:"accounts,omitzero"` // [] when inline and empty
	ResourceURI string         `json:"resource_uri,omitempty"`
	Pages       int            `json:"pages,omitempty"`
	ExpiresAt   string         `json:"expires_at,omitempty"`
	cost
}

// BulkReadAccounts is bulk_read_accounts: many accounts, inline when few,
// as a paged MCP resource when many.
func BulkReadAccounts(d Deps) Tool {
	d = d.withDefaults()
	const name = "bulk_read_accounts"
	scopes := []permissions.Scope{permissions.ScopeBulk, permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			fmt.Sprintf("Read many Zoho CRM accounts at once: by account_ids (at most %d, each once), by where conditions (at most %d, all must match; operators as in search_accounts), or every account when neither is given. fields limits the columns (at most %d).", maxBulkIDs, tiers.MaxBulkReadConditions, tiers.MaxFields),
			fmt.Sprintf("Up to %d accounts come back inline in accounts. Larger results are kept as an MCP resource: the result has inline=false, resource_uri and a resource_link; read it with resources/read, %d records per page, following next_page_uri. The resource expires and only the caller that made it can read it.", d.InlineLimit, BulkPageSize),
			"Large reads run as a Zoho bulk-read job and may take a while. Read-only.")),
		annotate(hints{title: "Bulk read accounts", readOnly: true, idempotent: true}),
		rawOutput(object("", schema{
			"count":        integer("Accounts read.", 0, 0),
			"inline":       schema{"type": "boolean", "description": "True when accounts holds the whole result."},
			"accounts":     array("The accounts, when inline.", recordSchema(), 0, 0),
			"resource_uri": str("The resource holding the result, when not inline."),
			"pages":        integer("Pages of the resource.", 1, 0),
			"expires_at":   str("When the resource expires (RFC 3339)."),
			"strategy":     str("How the tier did the work, e.g. ids-batches or bulk-read-job."),
			"calls":        integer("Zoho API calls made.", 0, 0),
			"credits":      integer("Zoho API credits spent (estimate).", 0, 0),
		}, "count", "inline", "strategy", "calls", "credits")),
	)
	return newTool(def, scopes, func(ctx context.Context, in bulkReadParams, prof *permissions.Profile) *mcp.CallToolResult {
		req := tiers.BulkReadRequest(in)
		req.Module = Module
		count := len(req.IDs)
		if count == 0 {
			count = d.InlineLimit + 1 // unknown, and likely many
		}
		sink := newBulkSink(d.Bulk, prof, d.InlineLimit)
		r, route, err := d.Router.BulkRead(ctx, routing(tiers.OpBulkRead, count, prof),
			req, sink)
		if err != nil {
			sink.discard()
			return failure(ctx, d.Logger, name, route, about("the bulk read"), err)
		}
		sink.mu.Lock()
		got, recs := sink.count, sink.inline
		sink.mu.Unlock()
		out := bulkReadOutput{Count: got, cost: cost{Strategy: r.Strategy, Calls: r.Calls, Credits: r.Credits}}
		if !sink.spilled() {
			if got > d.InlineLimit { // no store to keep them in
				return errorResult(route, "the bulk read found %d accounts, more than the %d this proxy returns inline, and it keeps no larger results; narrow where or fields, or split account_ids", got, d.InlineLimit)
			}
			out.Inline = true
			out.Accounts = recs
			if out.Accounts == nil {
				out.Accounts = []tiers.Record{}
			}
			return success(route, out, fmt.Sprintf("Read %d account%s inline (%s, served by %s).",
				got, plural(got), costs(r.Strategy, r.Calls, r.Credits), route.Tier))
		}
		id, expires, err := sink.commit()
		if err != nil {
			d.Logger.ErrorContext(ctx, "bulk result not kept", "tool", name, "err", err)
			return errorResult(route, "the bulk read found %d accounts but the proxy could not keep the result; retry, or narrow the read to at most %d accounts to get them inline", got, d.InlineLimit)
		}
		out.ResourceURI = BulkURIPrefix + id
		out.Pages = max(1, (got+BulkPageSize-1)/BulkPageSize)
		out.ExpiresAt = expires.UTC().Format(time.RFC3339)
		summary := fmt.Sprintf("Read %d accounts (%s, served by %s). Too many to inline: read %s with resources/read (%d page%s of up to %d records; follow next_page_uri); it expires at %s.",
			got, costs(r.Strategy, r.Calls, r.Credits), route.Tier, out.ResourceURI, out.Pages, plural(out.Pages), BulkPageSize, out.ExpiresAt)
		result := structuredResult(out, summary, false)
		link := mcp.NewResourceLink(out.ResourceURI, "bulk_read_result",
			fmt.Sprintf("%d accounts in %d page%s of up to %d records (application/json); expires %s", got, out.Pages, plural(out.Pages), BulkPageSize, out.ExpiresAt),
			"application/json")
		result.Content = append(result.Content, link)
		return withRoute(result, route)
	})
}
