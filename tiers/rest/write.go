package rest

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// validTriggers are the values Zoho accepts in "trigger" (reference §4.4).
var validTriggers = map[string]bool{"approval": true, "workflow": true, "blueprint": true, "pathfinder": true, "orchestration": true}

// writeBody is the body of PUT /crm/v8/{module}[/{id}]. Trigger nil is
// omitted (Zoho's default: everything runs); an empty slice turns all off.
type writeBody struct {
	Data    []tiers.Record `json:"data"`
	Trigger []string       `json:"trigger,omitempty"`
}

func (b writeBody) payload() any {
	if b.Trigger != nil && len(b.Trigger) == 0 {
		return map[string]any{"data": b.Data, "trigger": []string{}}
	}
	return b
}

// recordResult is one element of a write answer's data array.
type recordResult struct {
	Code    string         `json:"code"`
	Details map[string]any `json:"details"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
}

type writeAnswer struct {
	Data []recordResult `json:"data"`
}

func checkTrigger(tr []string) error {
	for _, v := range tr {
		if !validTriggers[v] {
			return badInput("INVALID_DATA", "trigger "+quote(v)+" is not one of approval, workflow, blueprint, pathfinder, orchestration")
		}
	}
	return nil
}

// Update writes one record: PUT /crm/v8/{module}/{id} with
// {"data":[{…}],"trigger":…}. A per-record error is returned as the outcome
// and as a ClassVerdict error carrying Zoho's code, message and details.
func (t *Tier) Update(ctx context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
	out := tiers.Outcome{ID: req.ID, Status: tiers.StatusNotSent}
	if err := t.ready(); err != nil {
		return out, err
	}
	if err := firstErr(checkModule(req.Module), checkID(req.ID), checkTrigger(req.Trigger), checkData(req.ID, req.Data)); err != nil {
		return out, err
	}
	data := cloneRecord(req.Data)
	delete(data, "id")
	resp, err := t.zc.Do(ctx, zoho.Request{Method: "PUT", Path: "/crm/v8/" + req.Module + "/" + req.ID,
		JSON: writeBody{Data: []tiers.Record{data}, Trigger: req.Trigger}.payload()})
	if err != nil {
		out.Status = failedStatus(err)
		out.Code, out.Message = errCode(err), err.Error()
		return out, err
	}
	var ans writeAnswer
	if err := resp.Decode(&ans); err != nil || len(ans.Data) != 1 {
		if err == nil {
			err = zoho.MalformedError(tiers.REST, "PUT", "/crm/v8/"+req.Module+"/"+req.ID, resp.StatusCode,
				fmt.Errorf("%d results for 1 record", len(ans.Data)))
		}
		out.Status = tiers.StatusUnknown
		out.Code, out.Message = "OUTCOME_UNKNOWN", err.Error()
		return out, err
	}
	out = outcome(req.ID, ans.Data[0])
	if out.Status != tiers.StatusSuccess {
		r := ans.Data[0]
		return out, &tiers.Error{Tier: tiers.REST, Class: tiers.ClassVerdict, Code: r.Code, Message: r.Message,
			HTTPStatus: resp.StatusCode, Details: r.Details}
	}
	return out, nil
}

func checkData(id string, data tiers.Record) error {
	if len(data) == 0 {
		return badInput("INVALID_DATA", "no fields to update for record "+id)
	}
	for k := range data {
		if k != "id" && !tiers.IsAPIName(k) && !tiers.IsAPIName(trimDollar(k)) {
			return badInput("INVALID_DATA", "field "+quote(k)+" is not a field API name")
		}
	}
	if v, ok := data["id"]; ok && fmt.Sprint(v) != id {
		return badInput("INVALID_DATA", "data.id "+quote(fmt.Sprint(v))+" does not match the record id "+id)
	}
	return nil
}

// trimDollar accepts Zoho's system keys such as $append_values.
func trimDollar(k string) string {
	if len(k) > 1 && k[0] == '$' {
		return k[1:]
	}
	return k
}

func cloneRecord(r tiers.Record) tiers.Record {
	c := make(tiers.Record, len(r)+1)
	for k, v := range r {
		c[k] = v
	}
	return c
}

// outcome reads one per-record result.
func outcome(id string, r recordResult) tiers.Outcome {
	o := tiers.Outcome{ID: id, Code: r.Code, Message: r.Message, Status: tiers.StatusError}
	if r.Status == "success" {
		o.Status = tiers.StatusSuccess
	}
	return o
}

// failedStatus is the fate of records in a call that failed with err: sent
// without an answer → unknown; otherwise → not sent (Zoho refused the whole
// request unapplied: 429, 401, a top-level verdict, connection refused), or
// error for a top-level verdict.
func failedStatus(err error) tiers.OutcomeStatus {
	var te *tiers.Error
	if !errors.As(err, &te) {
		return tiers.StatusUnknown
	}
	switch {
	case te.Class == tiers.ClassOutcomeUnknown, te.Code == "OUTCOME_UNKNOWN":
		return tiers.StatusUnknown
	case te.Class == tiers.ClassCanceled && maybeApplied(te):
		return tiers.StatusUnknown
	case te.Class == tiers.ClassVerdict:
		return tiers.StatusError
	}
	return tiers.StatusNotSent
}

// maybeApplied reports whether a cancellation came after the write was sent
// (zoho marks those with the code OUTCOME_UNKNOWN).
func maybeApplied(te *tiers.Error) bool { return te.Code == "OUTCOME_UNKNOWN" }

func errCode(err error) string {
	var te *tiers.Error
	if errors.As(err, &te) {
		if te.Code != "" {
			return te.Code
		}
		return te.Class.String()
	}
	return ""
}

// BulkUpdate writes many records with PUT /crm/v8/{module}, at most 100 per
// call, one call after another (REST is the simple path; the BULK tier is
// the concurrent one). Outcomes come back in input order, one per record,
// never dropped: records of a call that failed before sending are
// StatusNotSent, of a call sent without an answer StatusUnknown, and every
// record after a failed call StatusNotSent (the call stops there and returns
// the error).
func (t *Tier) BulkUpdate(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	res := tiers.BulkUpdateResult{Strategy: "batched-put", Outcomes: make([]tiers.Outcome, len(req.Updates))}
	for i, u := range req.Updates {
		res.Outcomes[i] = tiers.Outcome{ID: u.ID, Status: tiers.StatusNotSent}
	}
	if err := t.ready(); err != nil {
		return res, err
	}
	if err := firstErr(checkModule(req.Module), checkTrigger(req.Trigger)); err != nil {
		return res, err
	}
	// Records that cannot be valid are answered locally and never sent.
	var send []int
	for i, u := range req.Updates {
		if err := firstErr(checkID(u.ID), checkData(u.ID, u.Data)); err != nil {
			var te *tiers.Error
			errors.As(err, &te)
			res.Outcomes[i] = tiers.Outcome{ID: u.ID, Status: tiers.StatusError, Code: te.Code, Message: te.Message}
			continue
		}
		send = append(send, i)
	}
	for start := 0; start < len(send); start += tiers.MaxRecordsPerWrite {
		batch := send[start:min(len(send), start+tiers.MaxRecordsPerWrite)]
		data := make([]tiers.Record, len(batch))
		for j, i := range batch {
			d := cloneRecord(req.Updates[i].Data)
			d["id"] = req.Updates[i].ID
			data[j] = d
		}
		res.Calls++
		resp, err := t.zc.Do(ctx, zoho.Request{Method: "PUT", Path: "/crm/v8/" + req.Module,
			JSON: writeBody{Data: data, Trigger: req.Trigger}.payload()})
		if err != nil {
			st := failedStatus(err)
			for _, i := range batch {
				res.Outcomes[i] = tiers.Outcome{ID: req.Updates[i].ID, Status: st, Code: errCode(err), Message: err.Error()}
			}
			if st != tiers.StatusNotSent {
				res.Credits += credits(len(batch))
			}
			return res, err
		}
		res.Credits += credits(len(batch))
		var ans writeAnswer
		derr := resp.Decode(&ans)
		for j, i := range batch {
			id := req.Updates[i].ID
			switch {
			case derr != nil:
				res.Outcomes[i] = tiers.Outcome{ID: id, Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN", Message: derr.Error()}
			case j >= len(ans.Data):
				res.Outcomes[i] = tiers.Outcome{ID: id, Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN",
					Message: "Zoho returned " + strconv.Itoa(len(ans.Data)) + " results for " + strconv.Itoa(len(batch)) + " records; this record's fate is unknown"}
			default:
				res.Outcomes[i] = outcome(id, ans.Data[j])
				if got, ok := ans.Data[j].Details["id"].(string); ok && got != id && res.Outcomes[i].Status == tiers.StatusSuccess {
					res.Outcomes[i] = tiers.Outcome{ID: id, Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN",
						Message: "Zoho's result at this position is for record " + got}
				}
			}
		}
		if derr != nil {
			return res, derr
		}
		sent := start + len(batch)
		tiers.ReportProgress(ctx, tiers.Progress{Done: sent, Total: len(send),
			Message: fmt.Sprintf("%d of %d records sent in batches of %d", sent, len(send), tiers.MaxRecordsPerWrite)})
	}
	return res, nil
}

// credits is Zoho's cost of an update call: 1 credit per 10 records.
func credits(n int) int { return (n + 9) / 10 }
