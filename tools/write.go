package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

const triggerDesc = "Zoho automations to run on the change: any of workflow, approval, blueprint, pathfinder, orchestration. Omit for Zoho's default (workflows run); [] runs none."

func triggerSchema() schema {
	s := array(triggerDesc, enumOf("A Zoho trigger.", triggerNames...), 0, len(triggerNames))
	s["uniqueItems"] = true
	return s
}

func dataSchema() schema {
	return schema{
		"type":                 "object",
		"description":          "Fields to change: field API name → new value (string, number, boolean, null to clear, {\"id\": \"...\"} for a lookup, an array for multi-select). Not id.",
		"propertyNames":        fieldNamesSchema(),
		"minProperties":        1,
		"maxProperties":        maxDataFields,
		"additionalProperties": true,
	}
}

// updateAccountParams are the arguments of update_account: the request
// they make, its Module left to the tool.
type updateAccountParams tiers.UpdateRequest

func (p *updateAccountParams) params() []param {
	return []param{
		idParam("account_id", "The account's id: 1–19 digits.", accountIDNeed, &p.ID),
		dataParam(&p.Data),
		triggerParam(&p.Trigger),
	}
}

// outcomeFor makes the outcome of a record the router returned none for,
// from the call's error: a Zoho verdict is an error with Zoho's code; a call
// no tier could serve was not sent; anything else may have been written.
func outcomeFor(id string, err error) tiers.Outcome {
	var ue *router.UnavailableError
	var te *tiers.Error
	switch {
	case err == nil:
		return tiers.Outcome{ID: id, Status: tiers.StatusUnknown, Message: "the proxy got no outcome for this record"}
	case errors.As(err, &ue) && !hasOutcome(ue.Attempts, tiers.AttemptOutcomeUnknown):
		return tiers.Outcome{ID: id, Status: tiers.StatusNotSent}
	case errors.As(err, &te) && te.Class == tiers.ClassVerdict:
		return tiers.Outcome{ID: id, Status: tiers.StatusError, Code: te.Code, Message: te.Message}
	default:
		return tiers.Outcome{ID: id, Status: tiers.StatusUnknown}
	}
}

func hasOutcome(as []tiers.Attempt, outcome tiers.AttemptOutcome) bool {
	return slices.ContainsFunc(as, func(a tiers.Attempt) bool { return a.Outcome == outcome })
}

// UpdateAccount is update_account: change fields of one account.
func UpdateAccount(d Deps) Tool {
	d = d.withDefaults()
	const name = "update_account"
	scopes := []permissions.Scope{permissions.ScopeWrite}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Update fields of one Zoho CRM account. account_id is the record id (1–19 digits); data is a non-empty object of field API name → new value, e.g. {\"Phone\": \"+1 555 0100\", \"Industry\": \"Retail\"}.",
			"Fields not in data are left as they are. The old values are overwritten (destructive). Sending the same data twice leaves the same state (idempotent), though Zoho workflows may run again: pass trigger: [] to run none.",
			"The result lists the outcome with Zoho's code and message on failure. If the outcome is OUTCOME_UNKNOWN, read the account with get_account before sending again.")),
		annotate(hints{title: "Update account", destructive: true, idempotent: true}),
		rawOutput(writeOutputSchema(false)),
	)
	return newTool(def, scopes, func(ctx context.Context, in updateAccountParams, prof *permissions.Profile) *mcp.CallToolResult {
		req := tiers.UpdateRequest(in)
		req.Module = Module
		o, route, err := d.Router.Update(ctx, routing(tiers.OpUpdate, 1, prof), req)
		if o.ID == "" || (err != nil && o.Status == tiers.StatusSuccess) {
			o = outcomeFor(req.ID, err)
		}
		out := tally([]writeResult{fromOutcome(o)})
		if err == nil && out.Failed == 0 {
			return d.Text.success(route, out, fmt.Sprintf("Updated account %s (%d field%s, served by %s).",
				req.ID, len(req.Data), plural(len(req.Data)), route.Tier))
		}
		text := "Account " + req.ID + " was not updated: " + failedSummary(out.Results, 1)
		if err != nil {
			text = describe(ctx, d.Logger, name, account(req.ID), err) + d.picklistHint(ctx, Module, err)
			d.noteVerdict(Module, err)
		}
		return withRoute(d.Text.structuredResult(out, text, true), route)
	})
}

// bulkUpdateParams are the arguments of bulk_update_accounts: the request
// they make (each update carrying the module and the triggers).
type bulkUpdateParams tiers.BulkUpdateRequest

func (p *bulkUpdateParams) params() []param {
	return []param{
		updatesParam(&p.Updates),
		triggerParam(&p.Trigger),
		rule(func(*args) error {
			p.Module = Module
			for i := range p.Updates {
				p.Updates[i].Trigger = p.Trigger
			}
			return nil
		}),
	}
}

var updateKeys = []string{"id", "data"}

// updatesParam is bulk_update_accounts' required list of {id, data}, each id
// once.
func updatesParam(dst *[]tiers.UpdateRequest) param {
	return param{name: "updates",
		need: fmt.Sprintf("a list of {id, data}, at most %d", tiers.MaxBulkWriteRecords),
		schema: func() schema {
			return array("The updates, each {id, data}.", object("One account's update.", schema{
				"id":   idSchema("The account's id: 1–19 digits."),
				"data": dataSchema(),
			}, "id", "data"), 1, tiers.MaxBulkWriteRecords)
		},
		decode: func(a *args) (err error) { *dst, err = a.updates("updates"); return err },
		reach: func(field string) (any, bool) {
			return []map[string]any{{"id": "1", "data": map[string]any{field: "probe"}}}, true
		},
		sample: func(ids []string) any {
			return []map[string]any{{"id": ids[0], "data": map[string]any{"Ticker_Symbol": "PRB"}}}
		}}
}

// updates decodes bulk_update_accounts' list of {id, data} under key.
func (a *args) updates(key string) ([]tiers.UpdateRequest, error) {
	return a.updatesOf(key, tiers.MaxBulkWriteRecords, Module)
}

// updatesOf decodes a list of at most max {id, data} of module under key,
// each id once.
func (a *args) updatesOf(key string, max int, module string) ([]tiers.UpdateRequest, error) {
	items, err := decodeArray(key, a.m[key], max, "{id, data} objects")
	if err != nil {
		return nil, err
	}
	seen := make(map[string]int, len(items))
	out := make([]tiers.UpdateRequest, 0, len(items))
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", key, i)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil || m == nil {
			return nil, argErr("%s must be an object {id, data}, got %s", path, kind(it))
		}
		for k := range m {
			if !slices.Contains(updateKeys, k) {
				return nil, argErr("%s: unknown key %q; an update has id and data", path, tiers.Clip(k, 60))
			}
		}
		idRaw, ok := m["id"]
		if !ok || isNull(idRaw) {
			return nil, argErr("%s.id is required", path)
		}
		id, err := decodeID(path+".id", idRaw)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[id]; dup {
			return nil, argErr("%s.id repeats %s (already in %s[%d]); merge the two into one update", path, id, key, j)
		}
		seen[id] = i
		dataRaw, ok := m["data"]
		if !ok || isNull(dataRaw) {
			return nil, argErr("%s.data is required: the fields to change", path)
		}
		data, err := a.data(path+".data", dataRaw)
		if err != nil {
			return nil, err
		}
		out = append(out, tiers.UpdateRequest{Module: module, ID: id, Data: data})
	}
	return out, nil
}

// cost is how a tier did a bulk tool's work, in the tool's output.
type cost struct {
	Strategy string `json:"strategy"`
	Calls    int    `json:"calls"`
	Credits  int    `json:"credits"`
}

// BulkUpdateAccounts is bulk_update_accounts: many updates, one outcome each.
func BulkUpdateAccounts(d Deps) Tool {
	d = d.withDefaults()
	const name = "bulk_update_accounts"
	scopes := []permissions.Scope{permissions.ScopeBulk, permissions.ScopeWrite}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			fmt.Sprintf("Update many Zoho CRM accounts in one call: updates is a list of {id, data} (at most %d, each id once), data as in update_account. Large batches run as a Zoho bulk-write job.", tiers.MaxBulkWriteRecords),
			"Every account gets its own outcome (success or error with Zoho's code); the call is an error if any account failed, and no account is left out. Re-send only the failed ones; for OUTCOME_UNKNOWN read them back first.",
			fmt.Sprintf("Up to %d outcomes come back in results; beyond, results lists the failed accounts only and resource_uri holds every outcome (read it with resources/read or read_bulk_result; %s). A large batch may run up to the bulk deadline (10 minutes by default), with progress notifications when the client asks for them. If a Zoho bulk job is still running when it ends, its accounts have code JOB_PENDING and job_id is the handle to pass to get_bulk_job later.", d.InlineLimit, strings.ToLower(whoReads[:1])+whoReads[1:]),
			"Overwrites values (destructive); the same updates twice leave the same state (idempotent), though workflows may run again unless trigger is [].")),
		annotate(hints{title: "Bulk update accounts", destructive: true, idempotent: true}),
		rawOutput(bulkWriteSchema("accounts")),
	)
	return newTool(def, scopes, func(ctx context.Context, in bulkUpdateParams, prof *permissions.Profile) *mcp.CallToolResult {
		r, route, err := d.Router.BulkUpdate(ctx, routing(tiers.OpBulkUpdate, len(in.Updates), prof), tiers.BulkUpdateRequest(in))
		return bulkWriteAnswer(ctx, d, name, "accounts", Module, in.Updates, r, route, err)
	})
}

// costs renders how a bulk tool did its work: "strategy coql, 1 Zoho call,
// ~3 credits".
func costs(strategy string, calls, credits int) string {
	if strategy == "" {
		strategy = "none"
	}
	return fmt.Sprintf("strategy %s, %d Zoho call%s, ~%d credit%s", strategy, calls, plural(calls), credits, plural(credits))
}
