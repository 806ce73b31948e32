package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
			fmt.Sprintf("Up to %d accounts come back inline in accounts. Larger results are kept as an MCP resource: the result has inline=false, resource_uri and a resource_link; read it with resources/read, %d records per page, following next_page_uri, or with the read_bulk_result tool. The resource expires after an hour. %s.", d.InlineLimit, BulkPageSize, whoReads),
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
		done, res := runBulkRead(ctx, d, name, "accounts", about("the bulk read"), req, prof)
		if res != nil {
			return res
		}
		out := bulkReadOutput{Count: done.count, Inline: done.inline, Accounts: done.records, ResourceURI: done.uri,
			Pages: done.pages, ExpiresAt: done.expiresAt, cost: done.cost}
		return done.render(out)
	})
}

// bulkReadDone is what a bulk read found: its records inline, or the
// caller's result in the store that holds them.
type bulkReadDone struct {
	noun    string // "accounts", "Contacts records"
	count   int
	inline  bool
	records []tiers.Record // when inline; [] when empty
	uri     string         // when not inline
	id      string
	pages   int
	// expiresAt is when the result expires (RFC 3339).
	expiresAt string
	cost
	route tiers.Route
	text  TextMode // the tool's result_text
}

// runBulkRead runs req through the router for tool, its records redacted
// for prof in req.Module and kept inline up to the inline limit, beyond in
// a new result of the caller. A failure is the tool's isError result,
// naming subj.
func runBulkRead(ctx context.Context, d Deps, tool, noun string, subj subject, req tiers.BulkReadRequest, prof *permissions.Profile) (bulkReadDone, *mcp.CallToolResult) {
	count := len(req.IDs)
	if count == 0 {
		count = d.InlineLimit + 1 // unknown, and likely many
	}
	sink := newBulkSink(ctx, d.Bulk, prof, req.Module, d.InlineLimit)
	r, route, err := d.Router.BulkRead(ctx, routing(tiers.OpBulkRead, count, prof), req, sink)
	if err != nil {
		sink.discard()
		if serr := sink.refusal(); serr != nil {
			return bulkReadDone{}, storeRefusal(ctx, d.Logger, tool, route, serr)
		}
		d.noteVerdict(req.Module, err)
		return bulkReadDone{}, failure(ctx, d.Logger, tool, route, subj, err)
	}
	sink.mu.Lock()
	got, recs := sink.count, sink.inline
	sink.mu.Unlock()
	done := bulkReadDone{noun: noun, count: got, cost: cost{Strategy: r.Strategy, Calls: r.Calls, Credits: r.Credits}, route: route, text: d.Text}
	if !sink.spilled() {
		if got > d.InlineLimit { // no store to keep them in
			what := "split account_ids"
			if noun != "accounts" {
				what = "split ids"
			}
			return done, errorResult(route, "the bulk read found %d %s, more than the %d this proxy returns inline, and it keeps no larger results; narrow where or fields, or %s", got, noun, d.InlineLimit, what)
		}
		done.inline, done.records = true, recs
		if done.records == nil {
			done.records = []tiers.Record{}
		}
		return done, nil
	}
	info, err := sink.commit()
	if err != nil {
		d.Logger.ErrorContext(ctx, "bulk result not kept", "tool", tool, "err", err)
		return done, errorResult(route, "the bulk read found %d %s but the proxy could not keep the result; retry, or narrow the read to at most %d %s to get them inline", got, noun, d.InlineLimit, noun)
	}
	done.uri, done.id, done.pages = BulkURIPrefix+info.ID, info.ID, info.Pages
	done.expiresAt = info.Expires.UTC().Format(time.RFC3339)
	return done, nil
}

// render is the tool result of a bulk read whose structured content is out:
// a summary, and a resource_link when the records are in a resource.
func (b bulkReadDone) render(out any) *mcp.CallToolResult {
	how := costs(b.Strategy, b.Calls, b.Credits)
	if b.inline {
		return b.text.success(b.route, out, fmt.Sprintf("Read %d %s inline (%s, served by %s).",
			b.count, nounFor(b.noun, b.count), how, b.route.Tier))
	}
	summary := fmt.Sprintf("Read %d %s (%s, served by %s). Too many to inline: read %s with resources/read or read_bulk_result {id: %q, page: 1} (%d page%s of up to %d records; follow next_page_uri); it expires at %s and only this caller can read it.",
		b.count, b.noun, how, b.route.Tier, b.uri, b.id, b.pages, plural(b.pages), BulkPageSize, b.expiresAt)
	result := b.text.structuredResult(out, summary, false)
	link := mcp.NewResourceLink(b.uri, "bulk_result",
		fmt.Sprintf("%d %s in %d page%s of up to %d records (application/json); expires %s", b.count, b.noun, b.pages, plural(b.pages), BulkPageSize, b.expiresAt),
		"application/json")
	result.Content = append(result.Content, link)
	return withRoute(result, b.route)
}

// nounFor is noun ("accounts", "Contacts records") for n of them: singular
// for one.
func nounFor(noun string, n int) string {
	if n == 1 {
		return strings.TrimSuffix(noun, "s")
	}
	return noun
}

// storeRefusal is the answer of a bulk call whose result the store
// refused: the caller's share or the store is full.
func storeRefusal(ctx context.Context, log *slog.Logger, tool string, route tiers.Route, err error) *mcp.CallToolResult {
	switch {
	case errors.Is(err, ErrOwnerQuota), errors.Is(err, ErrStoreFull):
		return errorResult(route, "%s: the result is too large to keep: %v. Narrow the request (where, fields) or split it", tool, err)
	}
	log.ErrorContext(ctx, "bulk result not kept", "tool", tool, "err", err)
	return errorResult(route, "%s: the proxy could not keep the result; retry, or narrow the request", tool)
}
