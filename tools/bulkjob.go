package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The bulk-write machinery every bulk write tool shares, whatever its
// module: the answer (counts and failures; every outcome in a caller-bound
// resource when there are many), and the job handle of records left
// pending on a Zoho bulk job when the call's deadline ended first, which
// get_bulk_job reports on later.

// CodeJobPending is the code of a record pending on a Zoho bulk job that had
// not finished when the call ended: get_bulk_job reports its outcome later.
const CodeJobPending = router.CodeJobPending

// bulkWriteOutput is the structured content of a bulk write tool and of
// get_bulk_job.
type bulkWriteOutput struct {
	// Module is the records' module, for a generic tool's write (absent
	// for bulk_update_accounts, whose output schema is a contract).
	Module string `json:"module,omitempty"`
	writeOutput
	cost
	// Inline is true when Results holds every outcome; false when it holds
	// only the failures (every outcome is then in ResourceURI).
	Inline      bool   `json:"inline"`
	ResourceURI string `json:"resource_uri,omitempty"`
	Pages       int    `json:"pages,omitempty"`
	ExpiresAt   string `json:"expires_at,omitempty"`
	// JobID is the handle of the records pending on a Zoho bulk job, for
	// get_bulk_job; Pending how many they are.
	JobID   string `json:"job_id,omitempty"`
	Pending int    `json:"pending,omitempty"`
	// State is get_bulk_job's: running or finished.
	State string `json:"state,omitempty"`
}

// bulkWriteProps are the output properties of a bulk write beyond
// writeOutputSchema's: added deliberately, all optional, to bulk_update_accounts.
func bulkWriteProps(props schema, noun string) {
	one := strings.TrimSuffix(noun, "s")
	results := props["results"].(schema)
	results["description"] = fmt.Sprintf("One outcome per requested %s, in request order, when inline is true; otherwise the failed ones only.", one)
	outcome := results["items"].(schema)["properties"].(schema)
	outcome["id"] = str(fmt.Sprintf("The %s's id.", one))
	if noun != accountsNoun {
		title := strings.ToUpper(noun[:1]) + noun[1:]
		props["total"] = integer(title+" requested.", 0, 0)
		props["succeeded"] = integer(title+" written.", 0, 0)
		props["failed"] = integer(title+" not written or whose outcome is unknown.", 0, 0)
	}
	outcome["code"] = str("Zoho's error code, or OUTCOME_UNKNOWN / NOT_SENT / JOB_PENDING (pending on a Zoho bulk job: see job_id) from the proxy.")
	props["inline"] = schema{"type": "boolean", "description": fmt.Sprintf("True when results lists every %s; false when it lists only the failed ones (at most the inline limit) and resource_uri holds every outcome.", one)}
	props["resource_uri"] = str("The resource (zoho-mcp-proxy://bulk/{id}) holding every outcome, in pages, when results is not inline; read it with resources/read or read_bulk_result. Only this caller can read it.")
	props["pages"] = integer("Pages of resource_uri.", 1, 0)
	props["expires_at"] = str("When resource_uri and job_id expire (RFC 3339).")
	props["job_id"] = str("When records are pending on a Zoho bulk job that had not finished when the call ended (code JOB_PENDING): the handle to pass to get_bulk_job for their outcome. Only this caller can use it.")
	props["pending"] = integer(fmt.Sprintf("The %s pending on that job.", noun), 0, 0)
}

// jobHandle is what get_bulk_job needs of a job: kept in the store, bound to
// the caller, as JSON.
type jobHandle struct {
	Tier   tiers.Name `json:"tier"`
	Job    string     `json:"job"`    // Zoho's job id
	Module string     `json:"module"` // the module of the records
	Noun   string     `json:"noun"`   // "accounts", "records"
	IDs    string     `json:"ids"`    // the store result holding the pending records' ids
	Count  int        `json:"count"`
	Since  time.Time  `json:"since"`
}

// keepJob stores the ids of the records pending on job and a handle to
// them for the caller in ctx; it returns the handle's id.
func keepJob(ctx context.Context, d Deps, tier tiers.Name, job, module, noun string, ids []string) (string, error) {
	if d.Bulk == nil {
		return "", errors.New("this proxy keeps no job handles")
	}
	recs := make([]map[string]string, len(ids))
	for i, id := range ids {
		recs[i] = map[string]string{"id": id}
	}
	info, err := putRecords(ctx, d.Bulk, recs)
	if err != nil {
		return "", err
	}
	h := jobHandle{Tier: tier, Job: job, Module: module, Noun: noun, IDs: info.ID, Count: len(ids), Since: d.Now().UTC()}
	b, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	id := newID()
	if err := d.Bulk.PutJob(ctx, permissions.CallerFrom(ctx), id, b); err != nil {
		_ = d.Bulk.Delete(ctx, permissions.CallerFrom(ctx), info.ID)
		return "", err
	}
	return id, nil
}

// accountsNoun is the noun of the Account tools' bulk writes; any other
// noun is a generic tool's ("Contacts records").
const accountsNoun = "accounts"

// readerOf is the tool that reads back a record of a bulk write of noun.
func readerOf(noun string) string {
	if noun == accountsNoun {
		return "get_account"
	}
	return "get_record"
}

// outcomesOf returns one write result per update, in order: the router's
// outcome, or one made from err when it gave none (or out of order); their
// advice names reader.
func outcomesOf(ctx context.Context, d Deps, reader string, ups []tiers.UpdateRequest, r tiers.BulkUpdateResult, err error) []writeResult {
	results := make([]writeResult, len(ups))
	for i, u := range ups {
		o := tiers.Outcome{}
		if i < len(r.Outcomes) {
			o = r.Outcomes[i]
		}
		if o.ID != u.ID || o.Status == "" {
			if o.ID != "" && o.ID != u.ID {
				d.Logger.ErrorContext(ctx, "bulk update outcome out of order", "want", u.ID, "got", o.ID)
			}
			o = outcomeFor(u.ID, err)
		}
		results[i] = fromOutcomeFor(o, reader)
	}
	return results
}

// bulkWriteAnswer is the answer of a bulk write of noun (e.g. "accounts")
// on module through tool: counts and failures; every outcome inline when
// there are at most the inline limit, else in a caller-bound resource; and,
// when records are pending on a Zoho job that outlived the call, a job
// handle for get_bulk_job.
func bulkWriteAnswer(ctx context.Context, d Deps, tool, noun, module string, ups []tiers.UpdateRequest, r tiers.BulkUpdateResult, route tiers.Route, err error) *mcp.CallToolResult {
	out := bulkWrite(ctx, d, tool, noun, module, ups, r, err)
	return renderBulkWrite(d.Text, out, bulkWriteText(ctx, d, tool, noun, out, err), err != nil || out.Failed > 0, route, noun)
}

// bulkWrite builds the structured answer of a bulk write (see
// bulkWriteAnswer).
func bulkWrite(ctx context.Context, d Deps, tool, noun, module string, ups []tiers.UpdateRequest, r tiers.BulkUpdateResult, err error) bulkWriteOutput {
	results := outcomesOf(ctx, d, readerOf(noun), ups, r, err)
	out := bulkWriteOutput{writeOutput: tally(results), cost: cost{Strategy: r.Strategy, Calls: r.Calls, Credits: r.Credits}}
	if noun != accountsNoun {
		out.Module = module
	}
	var pending []string
	for _, w := range results {
		if w.Code == CodeJobPending {
			pending = append(pending, w.ID)
		}
	}
	var te *tiers.Error
	if job := tiers.PendingJobOf(err); job != "" && len(pending) > 0 && errors.As(err, &te) {
		id, kerr := keepJob(ctx, d, te.Tier, job, module, noun, pending)
		if kerr != nil {
			d.Logger.WarnContext(ctx, "bulk job handle not kept", "tool", tool, "err", kerr)
		} else {
			out.JobID, out.Pending = id, len(pending)
			out.ExpiresAt = d.Now().Add(ttlOf(d)).UTC().Format(time.RFC3339)
			for i := range results {
				if results[i].Code == CodeJobPending {
					results[i].Message = joinMsg(results[i].Message, fmt.Sprintf("get_bulk_job {\"job_id\": %q} reports its outcome once the job has finished", id))
				}
			}
		}
	}
	placeResults(ctx, d, tool, &out, results)
	return out
}

// renderBulkWrite is the tool result of a bulk write's answer: with a
// resource_link when every outcome is in a resource, its text as t says.
func renderBulkWrite(t TextMode, out bulkWriteOutput, text string, isError bool, route tiers.Route, noun string) *mcp.CallToolResult {
	res := t.structuredResult(out, text, isError)
	if out.ResourceURI != "" {
		res.Content = append(res.Content, mcp.NewResourceLink(out.ResourceURI, "bulk_result",
			fmt.Sprintf("every outcome of %d %s in %d page%s of up to %d (application/json); expires %s", out.Total, noun, out.Pages, plural(out.Pages), BulkPageSize, out.ExpiresAt),
			"application/json"))
	}
	return withRoute(res, route)
}

func ttlOf(d Deps) time.Duration {
	if d.Bulk == nil {
		return 0
	}
	return d.Bulk.TTL()
}

// placeResults puts results in out: all of them when they fit the inline
// limit; else the failures (at most the inline limit of them, when every
// outcome could be kept in the store as a resource of the caller, all of
// them otherwise).
func placeResults(ctx context.Context, d Deps, tool string, out *bulkWriteOutput, results []writeResult) {
	if len(results) <= d.InlineLimit {
		out.Results, out.Inline = results, true
		return
	}
	failed := slices.DeleteFunc(slices.Clone(results), func(w writeResult) bool { return w.Status == "success" })
	out.Results = failed
	if d.Bulk == nil {
		return
	}
	info, err := putRecords(ctx, d.Bulk, results)
	if err != nil {
		d.Logger.WarnContext(ctx, "bulk outcomes not kept: the failures are inline", "tool", tool, "err", err)
		return
	}
	out.Results = failed[:min(len(failed), d.InlineLimit)]
	out.ResourceURI = BulkURIPrefix + info.ID
	out.Pages = info.Pages
	out.ExpiresAt = info.Expires.UTC().Format(time.RFC3339)
}

// bulkWriteText is the text rendering of a bulk write's answer.
func bulkWriteText(ctx context.Context, d Deps, tool, noun string, out bulkWriteOutput, err error) string {
	var sb strings.Builder
	if err == nil && out.Failed == 0 {
		fmt.Fprintf(&sb, "Updated all %d %s (%s).", out.Total, noun, costs(out.Strategy, out.Calls, out.Credits))
	} else {
		fmt.Fprintf(&sb, "Bulk update incomplete: %d of %d %s updated, %d failed", out.Succeeded, out.Total, noun, out.Failed)
		if out.Failed > 0 {
			sb.WriteString(" (")
			sb.WriteString(failedSummary(out.Results, 5))
			sb.WriteString(")")
		}
		sb.WriteString(".")
		if out.JobID != "" {
			fmt.Fprintf(&sb, " %d are pending on a Zoho bulk job that had not finished when the call ended: Zoho runs it anyway; call get_bulk_job {\"job_id\": %q} later for their outcome, and do not send them again before.", out.Pending, out.JobID)
		}
		fmt.Fprintf(&sb, " Re-send only the failed %s; read back any with OUTCOME_UNKNOWN first.", noun)
		if err != nil {
			sb.WriteString(" Cause: ")
			subj := about("the bulk update")
			if out.Module != "" {
				subj = aboutIn(out.Module, "the "+out.Module+" bulk update")
			}
			sb.WriteString(describe(ctx, d.Logger, tool, subj, err))
		}
	}
	switch {
	case out.ResourceURI != "":
		fmt.Fprintf(&sb, " results lists the failed %s (%d); every outcome is in %s (%d page%s; resources/read or read_bulk_result), readable by this caller only until %s.",
			noun, len(out.Results), out.ResourceURI, out.Pages, plural(out.Pages), out.ExpiresAt)
	case !out.Inline:
		fmt.Fprintf(&sb, " results lists the failed %s only; the others succeeded.", noun)
	}
	return sb.String()
}

// getBulkJobParams are the arguments of get_bulk_job.
type getBulkJobParams struct{ ID string }

func (p *getBulkJobParams) params() []param {
	return []param{resultIDParam("job_id", "The job_id a bulk write tool returned (32 hex digits).", "job", &p.ID)}
}

// GetBulkJob is get_bulk_job: the outcome of records a bulk write left
// pending on a Zoho bulk job that outlived its call.
func GetBulkJob(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_bulk_job"
	scopes := []permissions.Scope{permissions.ScopeBulk}
	props := bulkWriteSchema("records")["properties"].(schema)
	props["module"] = str("The module of the records, for a job of bulk_update_records.")
	props["state"] = enumOf("running: the job has not finished (call again later; pending says how many records wait on it); finished: results hold their outcomes.", "running", "finished")
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Report on a Zoho bulk job that a bulk write (bulk_update_accounts, bulk_update_records) left records pending on because the job had not finished when the call ended (their code was JOB_PENDING and the answer held a job_id).",
			"While the job runs, state is running and pending counts its records: call again in a minute. Once it has finished, each record gets its outcome (success, or error with Zoho's code), as in the bulk write; many outcomes go to a resource. Nothing is sent to Zoho but the job's status and result.",
			fmt.Sprintf("A job_id expires after an hour. %s. Read-only.", strings.Replace(whoReads, "read it", "use it", 1)))),
		annotate(hints{title: "Get bulk job", readOnly: true, idempotent: true}),
		rawOutput(object("", props, "results", "total", "succeeded", "failed", "strategy", "calls", "credits", "state")),
	)
	return newTool(def, scopes, func(ctx context.Context, in getBulkJobParams, prof *permissions.Profile) *mcp.CallToolResult {
		if d.Bulk == nil {
			return errorResult(tiers.Route{}, "this proxy keeps no bulk jobs")
		}
		owner := permissions.CallerFrom(ctx)
		raw, err := d.Bulk.Job(ctx, owner, in.ID)
		var h jobHandle
		if err == nil {
			err = json.Unmarshal(raw, &h)
		}
		if err != nil {
			return errorResult(tiers.Route{}, "bulk job %s does not exist, has expired or was started by another caller; read the records back to learn their state", in.ID)
		}
		ids, err := readIDs(ctx, d.Bulk, owner, h.IDs)
		if err != nil {
			return errorResult(tiers.Route{}, "the records of bulk job %s are no longer available (they expire with the job); read them back to learn their state", in.ID)
		}
		req := tiers.BulkUpdateRequest{Module: h.Module, Updates: make([]tiers.UpdateRequest, len(ids))}
		for i, id := range ids {
			req.Updates[i] = tiers.UpdateRequest{Module: h.Module, ID: id}
		}
		r, route, err := d.Router.AwaitBulkJob(ctx, routing(tiers.OpBulkUpdate, len(ids), prof), h.Tier, h.Job, req)
		if tiers.PendingJobOf(err) == h.Job {
			out := bulkWriteOutput{writeOutput: writeOutput{Results: []writeResult{}, Total: len(ids)},
				cost:   cost{Strategy: r.Strategy, Calls: r.Calls, Credits: r.Credits},
				Inline: true, JobID: in.ID, Pending: len(ids), State: "running"}
			return d.Text.success(route, out, fmt.Sprintf("Zoho bulk job %s is still running (started before %s): %d %s pending on it. Call get_bulk_job again in a minute; do not send them again before.",
				h.Job, h.Since.Format(time.RFC3339), len(ids), h.Noun))
		}
		out := bulkWrite(ctx, d, name, h.Noun, h.Module, req.Updates, r, err)
		out.State, out.JobID = "finished", in.ID
		text := "Zoho bulk job " + h.Job + " has finished. " + bulkWriteText(ctx, d, name, h.Noun, out, err)
		return renderBulkWrite(d.Text, out, text, err != nil || out.Failed > 0, route, h.Noun)
	})
}

// readIDs reads the ids of a job's pending records from result id.
func readIDs(ctx context.Context, store ResultStore, owner permissions.Caller, id string) ([]string, error) {
	var out []string
	for page := 1; ; page++ {
		pg, err := store.Page(ctx, owner, id, page)
		if err != nil {
			return nil, err
		}
		for _, r := range pg.Records {
			var rec struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(r, &rec); err != nil || !tiers.IsRecordID(rec.ID) {
				return nil, fmt.Errorf("job record %q is not an id", tiers.Clip(string(r), 60))
			}
			out = append(out, rec.ID)
		}
		if page >= pg.Pages {
			return out, nil
		}
	}
}
