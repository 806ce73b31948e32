package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/metadata"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The generic bulk tools: bulk_read_accounts and bulk_update_accounts over
// any module. They share the Account tools' bulk machinery (the router's
// bulk operations and deadline, progress notifications, caller-bound
// results and job handles) and check their arguments against the module's
// metadata like the other record tools.

// bulkReadRecordsParams are the arguments of bulk_read_records: the request
// they make.
type bulkReadRecordsParams tiers.BulkReadRequest

func (p *bulkReadRecordsParams) params() []param {
	return []param{
		moduleParam(&p.Module),
		idsParam("ids", "Record ids (1–19 digits each), each once.", "A record id.", maxBulkIDs, &p.IDs),
		conditionsParam("where", "Conditions; all must match.", tiers.MaxBulkReadConditions, &p.Where),
		notBoth("ids", "where", func() (bool, bool) { return p.IDs != nil, p.Where != nil }),
		fieldsParam(&p.Fields),
	}
}

// bulkReadRecordsOutput is bulk_read_records' structured content: the
// records inline, or where to read them.
type bulkReadRecordsOutput struct {
	Module      string         `json:"module"`
	Count       int            `json:"count"`
	Inline      bool           `json:"inline"`
	Records     []tiers.Record `json:"records,omitzero"` // [] when inline and empty
	ResourceURI string         `json:"resource_uri,omitempty"`
	Pages       int            `json:"pages,omitempty"`
	ExpiresAt   string         `json:"expires_at,omitempty"`
	cost
}

// BulkReadRecords is bulk_read_records: many records of any module, inline
// when few, as a paged MCP resource when many.
func BulkReadRecords(d Deps) Tool {
	d = d.withDefaults()
	const name = "bulk_read_records"
	scopes := []permissions.Scope{permissions.ScopeBulk, permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			fmt.Sprintf("Read many Zoho CRM records of any module at once: module is its API name; by ids (at most %d, each once), by where conditions (at most %d, all must match; operators as in search_records), or every record when neither is given. fields limits the columns (at most %d); omit it for every field you may see (the first %d).", maxBulkIDs, tiers.MaxBulkReadConditions, tiers.MaxFields, tiers.MaxFields),
			"Field names, operators and values are checked against the module's fields (describe_module) before anything is sent.",
			fmt.Sprintf("Up to %d records come back inline in records. Larger results are kept as an MCP resource: the result has inline=false, resource_uri and a resource_link; read it with resources/read, %d records per page, following next_page_uri, or with the read_bulk_result tool. The resource expires after an hour. %s.", d.InlineLimit, BulkPageSize, whoReads),
			"Large reads run as a Zoho bulk-read job and may take a while (up to the bulk deadline, with progress notifications when the client asks for them). Read-only.")),
		annotate(hints{title: "Bulk read records", readOnly: true, idempotent: true}),
		rawOutput(object("", schema{
			"module":       str("The module of the records."),
			"count":        integer("Records read.", 0, 0),
			"inline":       schema{"type": "boolean", "description": "True when records holds the whole result."},
			"records":      array("The records, when inline.", recordSchemaFor("One record."), 0, 0),
			"resource_uri": str("The resource holding the result, when not inline."),
			"pages":        integer("Pages of the resource.", 1, 0),
			"expires_at":   str("When the resource expires (RFC 3339)."),
			"strategy":     str("How the tier did the work, e.g. ids-batches, coql or bulk-read-job."),
			"calls":        integer("Zoho API calls made.", 0, 0),
			"credits":      integer("Zoho API credits spent (estimate).", 0, 0),
		}, "module", "count", "inline", "strategy", "calls", "credits")),
	)
	return newTool(def, scopes, func(ctx context.Context, in bulkReadRecordsParams, prof *permissions.Profile) *mcp.CallToolResult {
		m, res := d.resolve(ctx, name, in.Module, prof)
		if res != nil {
			return res
		}
		m, err := d.checked(ctx, m, func(m *metadata.Module) error {
			if err := m.CheckFields("fields", in.Fields); err != nil {
				return err
			}
			for i, c := range in.Where {
				if err := m.CheckCondition(fmt.Sprintf("where[%d]", i), c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return invalid(name, err)
		}
		req := tiers.BulkReadRequest(in)
		req.Module = m.APIName
		if len(req.Fields) == 0 {
			// One list on every tier (COQL and the list APIs need one), and
			// denied values never leave Zoho.
			req.Fields = readFields(m, prof)
		}
		done, res := runBulkRead(ctx, d, name, m.APIName+" records", aboutIn(m.APIName, "the "+m.APIName+" bulk read"), req, prof)
		if res != nil {
			return res
		}
		out := bulkReadRecordsOutput{Module: m.APIName, Count: done.count, Inline: done.inline, Records: done.records,
			ResourceURI: done.uri, Pages: done.pages, ExpiresAt: done.expiresAt, cost: done.cost}
		return done.render(out)
	})
}

// bulkUpdateRecordsParams are the arguments of bulk_update_records: the
// request they make (each update carrying the module and the triggers).
type bulkUpdateRecordsParams tiers.BulkUpdateRequest

func (p *bulkUpdateRecordsParams) params() []param {
	return recordUpdatesParams((*tiers.BulkUpdateRequest)(p), tiers.MaxBulkWriteRecords)
}

// BulkUpdateRecords is bulk_update_records: many updates of records of any
// module, one outcome each.
func BulkUpdateRecords(d Deps) Tool {
	d = d.withDefaults()
	const name = "bulk_update_records"
	scopes := []permissions.Scope{permissions.ScopeBulk, permissions.ScopeWrite}
	props := bulkWriteSchema("records")["properties"].(schema)
	props["module"] = str("The module of the records.")
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			fmt.Sprintf("Update many Zoho CRM records of any module in one call: module is its API name, updates a list of {id, data} (at most %d, each id once), data an object of field API name → new value. Large batches run as a Zoho bulk-write job.", tiers.MaxBulkWriteRecords),
			"Field names and values are checked against the module's fields before anything is sent (unknown or read-only fields, wrong types and picklist values the field does not allow are refused, the allowed values listed).",
			"Every record gets its own outcome (success or error with Zoho's code); the call is an error if any record failed, and no record is left out. Re-send only the failed ones; for OUTCOME_UNKNOWN read them back (get_record) first.",
			fmt.Sprintf("Up to %d outcomes come back in results; beyond, results lists the failed records only and resource_uri holds every outcome (read it with resources/read or read_bulk_result; %s). A large batch may run up to the bulk deadline (10 minutes by default), with progress notifications when the client asks for them. If a Zoho bulk job is still running when it ends, its records have code JOB_PENDING and job_id is the handle to pass to get_bulk_job later.", d.InlineLimit, strings.ToLower(whoReads[:1])+whoReads[1:]),
			"Overwrites values (destructive); the same updates twice leave the same state (idempotent), though workflows may run again unless trigger is [].")),
		annotate(hints{title: "Bulk update records", destructive: true, idempotent: true}),
		rawOutput(object("", props, "module", "results", "total", "succeeded", "failed", "strategy", "calls", "credits", "inline")),
	)
	return newTool(def, scopes, func(ctx context.Context, in bulkUpdateRecordsParams, prof *permissions.Profile) *mcp.CallToolResult {
		m, req, res := d.checkedUpdates(ctx, name, tiers.BulkUpdateRequest(in), prof)
		if res != nil {
			return res
		}
		r, route, err := d.Router.BulkUpdate(ctx, routing(tiers.OpBulkUpdate, len(req.Updates), prof), req)
		d.noteVerdict(m.APIName, err)
		return bulkWriteAnswer(ctx, d, name, m.APIName+" records", m.APIName, req.Updates, r, route, err)
	})
}
