package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/metadata"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// createParams are the arguments of create_records: the request they make.
type createParams tiers.CreateRequest

func (p *createParams) params() []param {
	return []param{
		moduleParam(&p.Module),
		{name: "records", need: fmt.Sprintf("a list of 1–%d records, each an object of field API name → value", tiers.MaxRecordsPerWrite),
			reach:  func(field string) (any, bool) { return []map[string]any{{field: "probe"}}, true },
			sample: func([]string) any { return []map[string]any{{"Account_Name": "Probe Ltd"}} },
			schema: func() schema {
				return array(fmt.Sprintf("The records to create, at most %d: each an object of field API name → value (string, number, boolean, {\"id\": \"...\"} for a lookup, an array for multi-select), with every required field (describe_module says which). Not id.", tiers.MaxRecordsPerWrite),
					recordDataSchema("One record: field API name → value."),
					1, tiers.MaxRecordsPerWrite)
			},
			decode: func(a *args) error {
				items, err := decodeArray("records", a.m["records"], tiers.MaxRecordsPerWrite, "records")
				if err != nil {
					return err
				}
				p.Records = make([]tiers.Record, len(items))
				for i, it := range items {
					path := fmt.Sprintf("records[%d]", i)
					var keys map[string]json.RawMessage
					if json.Unmarshal(it, &keys) == nil {
						if _, ok := keys["id"]; ok {
							return argErr("%s must not contain id: Zoho assigns a new record its id", path)
						}
					}
					if p.Records[i], err = a.data(path, it); err != nil {
						return err
					}
				}
				return nil
			}},
		triggerParam(&p.Trigger),
	}
}

// recordDataSchema is the schema of a generic tool's record data: field API
// names, and Zoho's $se_module for the module a multi-module lookup (a
// task's What_Id) points to.
func recordDataSchema(desc string) schema {
	return schema{"type": "object", "description": desc,
		"propertyNames": schema{"pattern": `^(\$se_module|[A-Za-z][A-Za-z0-9_]*)$`},
		"minProperties": 1, "maxProperties": maxDataFields, "additionalProperties": true}
}

// createResult is one record's outcome in create_records' output.
type createResult struct {
	Index   int            `json:"index"`
	ID      string         `json:"id,omitempty"`
	Status  string         `json:"status"`
	Code    string         `json:"code,omitempty"`
	Message string         `json:"message,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// createOutput is create_records' structured content.
type createOutput struct {
	Module    string         `json:"module"`
	Results   []createResult `json:"results"`
	Total     int            `json:"total"`
	Succeeded int            `json:"succeeded"`
	Failed    int            `json:"failed"`
}

func createOutputSchema() schema {
	return object("", schema{
		"module": str("The module the records were created in."),
		"results": array("One outcome per record, in request order.", object("", schema{
			"index":   integer("The record's position in records, from 0.", 0, 0),
			"id":      str("The new record's id; absent when it was not created (or may not have been)."),
			"status":  enumOf("success, or error when the record was not (or maybe not) created.", "success", "error"),
			"code":    str("Zoho's error code (MANDATORY_NOT_FOUND, DUPLICATE_DATA, INVALID_DATA …), or OUTCOME_UNKNOWN / NOT_SENT from the proxy."),
			"message": str("What happened and what to do next."),
			"details": openObject("Zoho's details of the error: api_name, json_path, expected_data_type, supported_values, duplicate_record …", schema{}),
		}, "index", "status"), 0, 0),
		"total":     integer("Records requested.", 0, 0),
		"succeeded": integer("Records created.", 0, 0),
		"failed":    integer("Records not created or whose outcome is unknown.", 0, 0),
	}, "module", "results", "total", "succeeded", "failed")
}

// detailKeysShown are the parts of Zoho's details a create result carries.
var detailKeysShown = []string{"api_name", "json_path", "expected_data_type", "maximum_length", "supported_values", "duplicate_record", "id"}

func shownDetails(d map[string]any) map[string]any {
	var out map[string]any
	for _, k := range detailKeysShown {
		if v, ok := d[k]; ok {
			if out == nil {
				out = map[string]any{}
			}
			out[k] = v
		}
	}
	return out
}

// CreateRecords is create_records: new records in any module.
func CreateRecords(d Deps) Tool {
	d = d.withDefaults()
	const name = "create_records"
	scopes := []permissions.Scope{permissions.ScopeWrite}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			fmt.Sprintf("Create Zoho CRM records in any module: module is its API name, records a list of 1–%d objects of field API name → value, each with the module's required fields.", tiers.MaxRecordsPerWrite),
			"Every field name and value is checked against the module's fields before anything is sent: an unknown or read-only field, a value of the wrong type, a picklist value the field does not allow (the error lists the allowed ones) or a missing required field is refused with a message saying what to send. describe_module shows the fields.",
			"Every record gets its own outcome with its new id, or Zoho's code (DUPLICATE_DATA, MANDATORY_NOT_FOUND …). Creating adds records and changes none (not destructive); the same call twice creates twice (not idempotent). A record is never sent twice blindly: if Zoho's answer is lost, the proxy looks the record up before sending it again; OUTCOME_UNKNOWN means search for it (search_records) before creating it again.")),
		annotate(hints{title: "Create records"}),
		rawOutput(createOutputSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in createParams, prof *permissions.Profile) *mcp.CallToolResult {
		m, res := d.resolve(ctx, name, in.Module, prof)
		if res != nil {
			return res
		}
		if !m.Creatable {
			return invalid(name, fmt.Errorf("module %s does not take new records through Zoho's API", m.APIName))
		}
		m, err := d.checked(ctx, m, func(m *metadata.Module) error {
			for i, r := range in.Records {
				if err := m.CheckData(fmt.Sprintf("records[%d]", i), r, true); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return invalid(name, err)
		}
		req := tiers.CreateRequest(in)
		req.Module, req.Unique = m.APIName, m.Unique()
		r, route, err := d.Router.Create(ctx, routing(tiers.OpCreate, len(req.Records), prof), req)
		d.noteVerdict(m.APIName, err)
		out := createOutput{Module: m.APIName, Results: make([]createResult, len(req.Records)), Total: len(req.Records)}
		for i := range req.Records {
			var o tiers.CreateOutcome
			if i < len(r.Outcomes) {
				o = r.Outcomes[i]
			}
			if o.Status == "" {
				o.Outcome = outcomeFor("", err)
			}
			if o.Status == tiers.StatusError && o.Code == "INVALID_DATA" && d.Metadata != nil {
				d.Metadata.Refresh(m.APIName) // Zoho knows the fields better than the cache
			}
			w := fromOutcomeFor(o.Outcome, "search_records")
			out.Results[i] = createResult{Index: i, ID: o.ID, Status: w.Status, Code: w.Code, Message: w.Message, Details: shownDetails(o.Details)}
			if w.Status != "success" {
				out.Results[i].ID = ""
				out.Failed++
			} else {
				out.Succeeded++
			}
		}
		if err == nil && out.Failed == 0 {
			var ids []string
			for _, x := range out.Results {
				ids = append(ids, x.ID)
			}
			return d.Text.success(route, out, fmt.Sprintf("Created %d %s record%s: %s (served by %s).", out.Total, m.APIName, plural(out.Total), strings.Join(clipList(ids, 10), ", "), route.Tier))
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "Created %d of %d %s records, %d failed", out.Succeeded, out.Total, m.APIName, out.Failed)
		var fails []string
		for _, x := range out.Results {
			if x.Status == "success" || len(fails) == 5 {
				continue
			}
			s := fmt.Sprintf("records[%d]: %s", x.Index, x.Code)
			if x.Message != "" {
				s += " (" + tiers.Clip(x.Message, 60) + ")"
			}
			fails = append(fails, s)
		}
		if len(fails) > 0 {
			sb.WriteString(" (" + strings.Join(fails, "; ") + ")")
		}
		sb.WriteString(". Send again only the records that failed with a Zoho verdict, corrected; search for any with OUTCOME_UNKNOWN before creating them again.")
		if err != nil && tiers.Classify(err) != tiers.ClassOutcomeUnknown {
			sb.WriteString(" Cause: ")
			sb.WriteString(describe(ctx, d.Logger, name, aboutIn(m.APIName, "the create"), err))
		}
		return withRoute(d.Text.structuredResult(out, sb.String(), true), route)
	})
}

// clipList keeps the first n items, then "…".
func clipList(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(slices.Clone(items[:n]), "…")
}

// updateRecordsParams are the arguments of update_records: the request
// they make (each update carrying the module and the triggers).
type updateRecordsParams tiers.BulkUpdateRequest

func (p *updateRecordsParams) params() []param {
	return recordUpdatesParams((*tiers.BulkUpdateRequest)(p), tiers.MaxRecordsPerWrite)
}

// recordUpdatesParams are the arguments of a generic tool that updates up
// to max records of one module (update_records, bulk_update_records): the
// module, the updates and the triggers, which every update carries.
func recordUpdatesParams(p *tiers.BulkUpdateRequest, max int) []param {
	return []param{
		moduleParam(&p.Module),
		{name: "updates", need: fmt.Sprintf("a list of 1–%d {id, data}", max),
			reach: func(field string) (any, bool) {
				return []map[string]any{{"id": "3652397000000000000", "data": map[string]any{field: "probe"}}}, true
			},
			sample: func(ids []string) any {
				return []map[string]any{{"id": ids[0], "data": map[string]any{"Ticker_Symbol": "PRB"}}}
			},
			schema: func() schema {
				return array(fmt.Sprintf("The updates, at most %d, each {id, data} with each id once.", max), object("One record's update.", schema{
					"id":   idSchema("The record's id: 1–19 digits."),
					"data": recordDataSchema("Fields to change: field API name → new value (string, number, boolean, null to clear, {\"id\": \"...\"} for a lookup, an array for multi-select). Not id."),
				}, "id", "data"), 1, max)
			},
			decode: func(a *args) (err error) {
				p.Updates, err = a.updatesOf("updates", max, a.mod())
				return err
			}},
		triggerParam(&p.Trigger),
		rule(func(*args) error {
			for i := range p.Updates {
				p.Updates[i].Trigger = p.Trigger
			}
			return nil
		}),
	}
}

// checkedUpdates resolves the module of an update request (update_records,
// bulk_update_records), refuses a module Zoho's API does not update, checks
// every update's data against the module's fields, and returns the request
// with the module's API name on it and on each update. A non-nil result is
// the tool's refusal.
func (d Deps) checkedUpdates(ctx context.Context, name string, req tiers.BulkUpdateRequest, prof *permissions.Profile) (*metadata.Module, tiers.BulkUpdateRequest, *mcp.CallToolResult) {
	m, res := d.resolve(ctx, name, req.Module, prof)
	if res != nil {
		return nil, req, res
	}
	if !m.Editable {
		return nil, req, invalid(name, fmt.Errorf("module %s does not take updates through Zoho's API", m.APIName))
	}
	m, err := d.checked(ctx, m, func(m *metadata.Module) error {
		for i, u := range req.Updates {
			if err := m.CheckData(fmt.Sprintf("updates[%d].data", i), u.Data, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, req, invalid(name, err)
	}
	req.Module = m.APIName
	for i := range req.Updates {
		req.Updates[i].Module = m.APIName
	}
	return m, req, nil
}

// UpdateRecords is update_records: change fields of records of any module.
func UpdateRecords(d Deps) Tool {
	d = d.withDefaults()
	const name = "update_records"
	scopes := []permissions.Scope{permissions.ScopeWrite}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			fmt.Sprintf("Update fields of Zoho CRM records of any module: module is its API name, updates a list of 1–%d {id, data}, data an object of field API name → new value.", tiers.MaxRecordsPerWrite),
			"Field names and values are checked against the module's fields before anything is sent (unknown or read-only fields, wrong types and picklist values the field does not allow are refused, the allowed values listed). Fields not in data are left as they are; old values are overwritten (destructive); the same update twice leaves the same state (idempotent), though workflows may run again unless trigger is [].",
			"Every record gets its own outcome with Zoho's code on failure. An update whose answer is lost is read back and only the fields not yet applied are sent again; OUTCOME_UNKNOWN means read the record (get_record) before sending again.")),
		annotate(hints{title: "Update records", destructive: true, idempotent: true}),
		rawOutput(updateRecordsOutputSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in updateRecordsParams, prof *permissions.Profile) *mcp.CallToolResult {
		m, req, res := d.checkedUpdates(ctx, name, tiers.BulkUpdateRequest(in), prof)
		if res != nil {
			return res
		}
		var outs []tiers.Outcome
		var route tiers.Route
		var err error
		if len(req.Updates) == 1 {
			// One record: the single-record update every tier serves, tier 1
			// included.
			var o tiers.Outcome
			o, route, err = d.Router.Update(ctx, routing(tiers.OpUpdate, 1, prof), req.Updates[0])
			outs = []tiers.Outcome{o}
		} else {
			var r tiers.BulkUpdateResult
			r, route, err = d.Router.BulkUpdate(ctx, routing(tiers.OpBulkUpdate, len(req.Updates), prof), req)
			outs = r.Outcomes
		}
		d.noteVerdict(m.APIName, err)
		results := make([]writeResult, len(req.Updates))
		for i, u := range req.Updates {
			var o tiers.Outcome
			if i < len(outs) {
				o = outs[i]
			}
			if o.ID != u.ID || o.Status == "" || (err != nil && len(req.Updates) == 1 && o.Status == tiers.StatusSuccess) {
				o = outcomeFor(u.ID, err)
			}
			results[i] = fromOutcomeFor(o, "get_record")
		}
		out := struct {
			Module string `json:"module"`
			writeOutput
		}{m.APIName, tally(results)}
		if err == nil && out.Failed == 0 {
			return d.Text.success(route, out, fmt.Sprintf("Updated %d %s record%s (served by %s).", out.Total, m.APIName, plural(out.Total), route.Tier))
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "Updated %d of %d %s records, %d failed (%s).", out.Succeeded, out.Total, m.APIName, out.Failed, failedSummary(results, 5))
		sb.WriteString(" Send again only the failed ones; read back any with OUTCOME_UNKNOWN first.")
		if err != nil {
			sb.WriteString(" Cause: ")
			subj := aboutIn(m.APIName, "the update")
			if len(req.Updates) == 1 {
				subj = record(m.APIName, req.Updates[0].ID)
			}
			sb.WriteString(describe(ctx, d.Logger, name, subj, err))
		}
		return withRoute(d.Text.structuredResult(out, sb.String(), true), route)
	})
}

func updateRecordsOutputSchema() schema {
	return object("", schema{
		"module": str("The module of the records."),
		"results": array("One outcome per requested record, in request order.", object("", schema{
			"id":      str("The record's id."),
			"status":  enumOf("success, or error when this record was not (or maybe not) written.", "success", "error"),
			"code":    str("Zoho's error code, or OUTCOME_UNKNOWN / NOT_SENT from the proxy."),
			"message": str("What happened and what to do next."),
		}, "id", "status"), 0, 0),
		"total":     integer("Records requested.", 0, 0),
		"succeeded": integer("Records written.", 0, 0),
		"failed":    integer("Records not written or whose outcome is unknown.", 0, 0),
	}, "module", "results", "total", "succeeded", "failed")
}
