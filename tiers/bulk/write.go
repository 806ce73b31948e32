package bulk

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// Update writes one record with the multi-record PUT (a batch of one). A
// Zoho verdict on the record is returned both as the Outcome and as a
// ClassVerdict error.
func (t *Tier) Update(ctx context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
	res, err := t.bulkUpdate(ctx, tiers.BulkUpdateRequest{Module: req.Module, Updates: []tiers.UpdateRequest{req}, Trigger: req.Trigger}, true)
	out := tiers.Outcome{ID: req.ID, Status: tiers.StatusNotSent}
	if len(res.Outcomes) == 1 {
		out = res.Outcomes[0]
	}
	if err != nil {
		return out, err
	}
	if out.Status == tiers.StatusError {
		return out, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassVerdict, Code: out.Code, Message: out.Message}
	}
	return out, nil
}

// BulkUpdate updates many records and reports one outcome per input record,
// in input order. Plan picks 100-record PUTs (Concurrency in flight) or Bulk
// Write jobs (CSV in a zip, uploaded, imported by id, result CSV read back).
// A job is used only when every value fits a CSV cell: a null or empty value
// (which Bulk Write's ignore_empty would skip instead of clearing), a lookup
// or list value, or an explicit non-empty trigger list (jobs run no
// workflows) sends the records as PUTs instead.
//
// Records never sent are StatusNotSent; records sent without an answer are
// StatusUnknown. The error is nil when every record got Zoho's answer
// (per-record verdicts are in the outcomes); otherwise it is the failure
// that stopped the work, ClassOutcomeUnknown when any record is unknown.
func (t *Tier) BulkUpdate(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	return t.bulkUpdate(ctx, req, false)
}

// bulkUpdate is BulkUpdate; forceBatched skips the planner (single updates).
func (t *Tier) bulkUpdate(ctx context.Context, req tiers.BulkUpdateRequest, forceBatched bool) (tiers.BulkUpdateResult, error) {
	res := tiers.BulkUpdateResult{Outcomes: make([]tiers.Outcome, len(req.Updates))}
	for i, u := range req.Updates {
		res.Outcomes[i] = tiers.Outcome{ID: u.ID, Status: tiers.StatusNotSent}
	}
	if !t.Configured() {
		return res, notConfigured()
	}
	if err := t.checkUpdates(req); err != nil {
		return res, err
	}
	if len(req.Updates) == 0 {
		return res, nil
	}
	plan := t.cfg.Plan(KindUpdate, len(req.Updates))
	if plan.Name == StrategyBulkWriteJob && (forceBatched || !csvable(req)) {
		plan.Name = StrategyBatchedPut
	}
	res.Strategy = plan.Name
	var err error
	if plan.Name == StrategyBulkWriteJob {
		for lo := 0; lo < len(req.Updates) && err == nil; lo += tiers.MaxBulkWriteRecords {
			hi := min(len(req.Updates), lo+tiers.MaxBulkWriteRecords)
			err = t.writeJob(ctx, req.Module, req.Updates[lo:hi], res.Outcomes[lo:hi], &res)
		}
	} else {
		err = t.batchedPut(ctx, req.Module, req.Updates, req.Trigger, res.Outcomes, &res)
	}
	return res, summarize(res.Outcomes, err)
}

// checkUpdates rejects a request Zoho would refuse, before anything is sent.
func (t *Tier) checkUpdates(req tiers.BulkUpdateRequest) error {
	if err := zoho.CheckModule(tiers.Bulk, req.Module); err != nil {
		return err
	}
	for i, u := range req.Updates {
		if !tiers.IsRecordID(u.ID) {
			return badInput("update %d: id %q is not a Zoho record id (1–19 digits)", i, u.ID)
		}
		if len(u.Data) == 0 {
			return badInput("update %d (id %s): nothing to update", i, u.ID)
		}
		for k := range u.Data {
			if k != "id" && !tiers.IsAPIName(k) {
				return badInput("update %d (id %s): %q is not a field API name", i, u.ID, k)
			}
		}
		if id, ok := u.Data["id"]; ok && id != u.ID {
			return badInput("update %d: data.id %v differs from id %s", i, id, u.ID)
		}
	}
	for _, tr := range req.Trigger {
		switch tr {
		case "workflow", "approval", "blueprint", "pathfinder", "orchestration":
		default:
			return badInput("unknown trigger %q (use workflow, approval, blueprint, pathfinder or orchestration)", tr)
		}
	}
	return nil
}

// csvable reports whether every update can travel as a Bulk Write CSV cell.
func csvable(req tiers.BulkUpdateRequest) bool {
	if len(req.Trigger) > 0 {
		return false
	}
	for _, u := range req.Updates {
		for k, v := range u.Data {
			if k == "id" {
				continue
			}
			if _, ok := cell(v); !ok {
				return false
			}
		}
	}
	return true
}

// cell renders a value as a CSV cell; ok is false for values a CSV cannot
// carry faithfully (null, empty, lookups, lists).
func cell(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// summarize returns the error BulkUpdate reports: outcome unknown when any
// record is unknown, else the failure that stopped the work (records not
// sent), else nil.
func summarize(outs []tiers.Outcome, err error) error {
	var unknown, notSent int
	for _, o := range outs {
		switch o.Status {
		case tiers.StatusUnknown:
			unknown++
		case tiers.StatusNotSent:
			notSent++
		}
	}
	if unknown > 0 {
		msg := fmt.Sprintf("%d of %d records were sent without an answer (outcome unknown); read them back before sending them again", unknown, len(outs))
		if notSent > 0 {
			msg += fmt.Sprintf("; %d were not sent", notSent)
		}
		e := &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN", Message: msg, Err: err}
		var pj *pendingJob
		if errors.As(err, &pj) {
			e.Message = fmt.Sprintf("%d of %d records are pending on bulk write job %s, which had not finished when the tier stopped waiting: "+
				"Zoho runs it whether or not anyone waits, so wait for the job (or read them back once it has finished) before sending them again", unknown, len(outs), pj.id)
			if notSent > 0 {
				e.Message += fmt.Sprintf("; %d were not sent", notSent)
			}
			e.PendingJob = pj.id
		}
		return e
	}
	if err != nil {
		return err
	}
	if notSent > 0 {
		return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Message: fmt.Sprintf("%d of %d records were not sent", notSent, len(outs))}
	}
	return nil
}

// batchedPut sends the updates in PUTs of 100, Concurrency at a time. After
// the first failure that is not a verdict (Zoho down, rate limited, auth),
// no further batch is started: those records stay StatusNotSent for the
// router to send elsewhere.
func (t *Tier) batchedPut(ctx context.Context, module string, ups []tiers.UpdateRequest, trigger []string, outs []tiers.Outcome, res *tiers.BulkUpdateResult) error {
	var (
		stop     atomic.Bool
		mu       sync.Mutex
		stopErr  error
		verdict  error
		answered int // records whose batch was answered, for progress
	)
	var g errgroup.Group
	g.SetLimit(t.cfg.Concurrency)
	for lo := 0; lo < len(ups); lo += tiers.MaxRecordsPerWrite {
		hi := min(len(ups), lo+tiers.MaxRecordsPerWrite)
		if stop.Load() || ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if stop.Load() || ctx.Err() != nil {
				return nil
			}
			calls, credits, err := t.putChunk(ctx, module, ups[lo:hi], trigger, outs[lo:hi])
			mu.Lock()
			defer mu.Unlock()
			res.Calls += calls
			res.Credits += credits
			answered += hi - lo
			tiers.ReportProgress(ctx, tiers.Progress{Done: answered, Total: len(ups),
				Message: fmt.Sprintf("%d of %d records sent in batches of %d", answered, len(ups), tiers.MaxRecordsPerWrite)})
			if err == nil {
				return nil
			}
			if tiers.Classify(err) == tiers.ClassVerdict {
				if verdict == nil {
					verdict = err
				}
				return nil
			}
			stop.Store(true)
			if stopErr == nil {
				stopErr = err
			}
			return nil
		})
	}
	_ = g.Wait()
	if stopErr != nil {
		return stopErr
	}
	if ctx.Err() != nil {
		return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassCanceled, Message: "canceled before every batch was sent", Err: ctx.Err()}
	}
	return verdict
}

// recordResult is one element of a write's per-record data[].
type recordResult struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
	Details map[string]any `json:"details"`
}

// putChunk sends one PUT of ≤100 records and fills outs from the per-record
// results (200, 207 or 400 with data[]). It returns the calls and credits
// spent and the error of a request that got no per-record answer.
func (t *Tier) putChunk(ctx context.Context, module string, ups []tiers.UpdateRequest, trigger []string, outs []tiers.Outcome) (int, int, error) {
	data := make([]map[string]any, len(ups))
	for i, u := range ups {
		m := make(map[string]any, len(u.Data)+1)
		for k, v := range u.Data {
			m[k] = v
		}
		m["id"] = u.ID
		data[i] = m
	}
	body := map[string]any{"data": data}
	if trigger != nil {
		body["trigger"] = trigger
	}
	resp, err := t.zc.Do(ctx, zoho.Request{Method: http.MethodPut, Path: "/crm/v8/" + module, JSON: body})
	if err != nil {
		st := tiers.StatusNotSent
		var te *tiers.Error
		switch c := tiers.Classify(err); {
		case c == tiers.ClassOutcomeUnknown, errors.As(err, &te) && te.Code == "OUTCOME_UNKNOWN":
			st = tiers.StatusUnknown
		case c == tiers.ClassVerdict:
			st = tiers.StatusError
		}
		for i := range outs {
			outs[i].Status = st
			if st == tiers.StatusError && te != nil {
				outs[i].Code, outs[i].Message = te.Code, te.Message
			} else if st == tiers.StatusError {
				outs[i].Code, outs[i].Message = "INVALID_DATA", err.Error()
			}
		}
		return 1, 0, err
	}
	credits := ceil(len(ups), RecordsPerCreditPut)
	var out struct {
		Data []recordResult `json:"data"`
	}
	if err := resp.Decode(&out); err != nil {
		for i := range outs {
			outs[i].Status = tiers.StatusUnknown
		}
		return 1, credits, err
	}
	for i := range outs {
		if i >= len(out.Data) {
			outs[i].Status = tiers.StatusUnknown
			outs[i].Message = "Zoho's answer has no result for this record"
			continue
		}
		r := out.Data[i]
		outs[i].Code, outs[i].Message = r.Code, r.Message
		if strings.EqualFold(r.Status, "success") {
			outs[i].Status = tiers.StatusSuccess
		} else {
			outs[i].Status = tiers.StatusError
			if api, ok := r.Details["api_name"].(string); ok && api != "" && !strings.Contains(r.Message, api) {
				outs[i].Message += " (field " + api + ")"
			}
		}
	}
	return 1, credits, nil
}

// writeJob updates ≤25,000 records with one Bulk Write job: CSV (id first,
// then the union of the fields) zipped, uploaded to the content host with
// feature: bulk-write and X-CRM-ORG, imported with operation update and
// find_by id (ignore_empty, so a field a record does not set is left
// alone), polled, and its result CSV (RECORD_ID, STATUS, ERRORS) read back
// into outs.
func (t *Tier) writeJob(ctx context.Context, module string, ups []tiers.UpdateRequest, outs []tiers.Outcome, res *tiers.BulkUpdateResult) error {
	setAll := func(st tiers.OutcomeStatus, code, msg string) {
		for i := range outs {
			outs[i].Status, outs[i].Code, outs[i].Message = st, code, msg
		}
	}
	colSet := map[string]bool{}
	for _, u := range ups {
		for k := range u.Data {
			if k != "id" {
				colSet[k] = true
			}
		}
	}
	cols := make([]string, 0, len(colSet))
	for k := range colSet {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	zipped, err := buildZip(ups, cols)
	if err != nil {
		return err
	}
	org, err := t.zc.OrgID(ctx)
	if err != nil {
		return asRead(err)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "update.zip")
	_, _ = fw.Write(zipped)
	_ = mw.Close()
	resp, err := t.zc.Do(ctx, zoho.Request{Method: http.MethodPost, Path: "/crm/v8/upload", Content: true,
		Body: mp.Bytes(), ContentType: mw.FormDataContentType(),
		Header: http.Header{"Feature": {"bulk-write"}, "X-Crm-Org": {org}}})
	res.Calls++
	if err != nil {
		return asRead(err) // an upload changes no record
	}
	res.Credits++
	var up struct {
		Details struct {
			FileID json.Number `json:"file_id"`
		} `json:"details"`
	}
	if err := resp.Decode(&up); err != nil || !tiers.IsRecordID(up.Details.FileID.String()) {
		return malformed("the bulk write upload answered without a file_id")
	}
	maps := make([]map[string]any, 0, len(cols)+1)
	maps = append(maps, map[string]any{"api_name": "id", "index": 0})
	for i, c := range cols {
		maps = append(maps, map[string]any{"api_name": c, "index": i + 1})
	}
	job := map[string]any{
		"operation": "update", "character_encoding": "UTF-8", "ignore_empty": true,
		"resource": []any{map[string]any{
			"type": "data", "module": map[string]any{"api_name": module}, "file_id": up.Details.FileID.String(),
			"find_by": "id", "field_mappings": maps,
		}},
	}
	resp, err = t.zc.Do(ctx, zoho.Request{Method: http.MethodPost, Path: "/crm/bulk/v8/write", JSON: job})
	res.Calls++
	if err != nil {
		var te *tiers.Error
		switch c := tiers.Classify(err); {
		case c == tiers.ClassVerdict && errors.As(err, &te):
			setAll(tiers.StatusError, te.Code, te.Message)
		case c == tiers.ClassOutcomeUnknown, errors.As(err, &te) && te.Code == "OUTCOME_UNKNOWN":
			setAll(tiers.StatusUnknown, "", "the bulk write job may have been created")
		}
		return err
	}
	res.Credits += CreditsBulkWrite
	var created struct {
		Details struct {
			ID json.Number `json:"id"`
		} `json:"details"`
	}
	if err := resp.Decode(&created); err != nil || !tiers.IsRecordID(created.Details.ID.String()) {
		setAll(tiers.StatusUnknown, "", "the bulk write job was created without an id")
		return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "MALFORMED_RESPONSE",
			Message: "Zoho accepted the bulk write job but its answer has no job id"}
	}
	jobID := created.Details.ID.String()
	t.log.DebugContext(ctx, "bulk write job created", "job", jobID, "records", len(ups))
	return t.awaitWriteJob(ctx, jobID, ups, outs, res)
}

// pendingJob is the error of a wait for a write job that ended before the
// job was seen to finish (the tier's timeout, its polls failing); summarize
// names the job in the tiers.Error's PendingJob.
type pendingJob struct {
	id  string
	err error
}

func (p *pendingJob) Error() string { return p.err.Error() }
func (p *pendingJob) Unwrap() error { return p.err }

// AwaitBulkUpdateJob waits for the Bulk Write job that an earlier
// BulkUpdate left req's records pending on (see tiers.Error.PendingJob), and
// reads their outcomes from its result, like BulkUpdate: one outcome per
// record in input order, StatusUnknown for those the job's result does not
// settle. Nothing is sent but status polls and the result download. If the
// job is still not seen to finish, the error names it again.
func (t *Tier) AwaitBulkUpdateJob(ctx context.Context, job string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	res := tiers.BulkUpdateResult{Strategy: StrategyBulkWriteJob, Outcomes: make([]tiers.Outcome, len(req.Updates))}
	for i, u := range req.Updates {
		res.Outcomes[i] = tiers.Outcome{ID: u.ID, Status: tiers.StatusUnknown, Message: "pending on bulk write job " + job}
	}
	var err error
	switch {
	case !t.Configured():
		err = &pendingJob{id: job, err: notConfigured()}
	case !tiers.IsRecordID(job):
		return res, badInput("bulk write job id %q is not a Zoho job id", job)
	case len(req.Updates) > 0:
		err = t.awaitWriteJob(ctx, job, req.Updates, res.Outcomes, &res)
	}
	return res, summarize(res.Outcomes, err)
}

// awaitWriteJob polls write job jobID until it finishes and reads its
// result CSV into outs. The job exists: whatever fails leaves the records
// unknown, and unless Zoho reported the job finished (completed or failed),
// the error is a *pendingJob naming it.
func (t *Tier) awaitWriteJob(ctx context.Context, jobID string, ups []tiers.UpdateRequest, outs []tiers.Outcome, res *tiers.BulkUpdateResult) error {
	setAll := func(st tiers.OutcomeStatus, code, msg string) {
		for i := range outs {
			outs[i].Status, outs[i].Code, outs[i].Message = st, code, msg
		}
	}
	finished := false // Zoho reported the job completed or failed
	var url string
	err := t.poll(ctx, "/crm/bulk/v8/write/"+jobID, &res.Calls, &res.Credits, func(resp *zoho.Response) (bool, error) {
		var st struct {
			Status string `json:"status"`
			Result struct {
				DownloadURL string `json:"download_url"`
			} `json:"result"`
		}
		if err := resp.Decode(&st); err != nil {
			return false, malformed("the bulk write job status is not readable")
		}
		switch st.Status {
		case "COMPLETED":
			finished = true
			url = st.Result.DownloadURL
			if url == "" {
				return false, malformed("the bulk write job completed without a download_url")
			}
			return true, nil
		case "FAILED", "FAILURE":
			finished = true
			return false, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "JOB_FAILED",
				Message: "Zoho reports bulk write job " + jobID + " failed; some records may have been written"}
		}
		return false, nil
	})
	if err != nil {
		if !finished {
			setAll(tiers.StatusUnknown, "", "pending on bulk write job "+jobID+", which had not finished when the tier stopped waiting")
			return &pendingJob{id: jobID, err: err}
		}
		setAll(tiers.StatusUnknown, "", "bulk write job "+jobID+" did not report its results")
		return err
	}
	_, err = t.download(ctx, url, &res.Calls, &res.Credits, func(r io.ReaderAt, size int64) (int, error) {
		return 0, readWriteResult(r, size, ups, outs)
	})
	if err != nil {
		msg := "bulk write job " + jobID + " result could not be read"
		var te *tiers.Error
		if errors.As(err, &te) && te.Message != "" {
			msg += ": " + te.Message
		}
		for i := range outs {
			if outs[i].Status == tiers.StatusNotSent {
				outs[i].Status, outs[i].Message = tiers.StatusUnknown, msg
			}
		}
		return err
	}
	return nil
}

// buildZip writes the update CSV (header id + cols) into a zip in memory;
// the file is bounded by Bulk Write's 25,000 records and 25 MB.
func buildZip(ups []tiers.UpdateRequest, cols []string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("update.csv")
	if err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	row := make([]string, len(cols)+1)
	row[0] = "id"
	copy(row[1:], cols)
	if err := cw.Write(row); err != nil {
		return nil, err
	}
	for _, u := range ups {
		row[0] = u.ID
		for i, c := range cols {
			row[i+1] = ""
			if v, ok := u.Data[c]; ok {
				row[i+1], _ = cell(v)
			}
		}
		if err := cw.Write(row); err != nil {
			return nil, err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > 25<<20 {
		return nil, badInput("the update CSV zips to %d bytes; Bulk Write takes at most 25 MB per file", buf.Len())
	}
	return buf.Bytes(), nil
}

// readWriteResult reads a Bulk Write result CSV into outs. Rows are matched
// to input records by the id column (RECORD_ID, or the mapped id column),
// falling back to row order; a record with no row stays unknown.
func readWriteResult(r io.ReaderAt, size int64, ups []tiers.UpdateRequest, outs []tiers.Outcome) error {
	rc, err := openCSV(r, size)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	head, err := cr.Read()
	if err != nil {
		return malformed("the bulk write result CSV has no header row")
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
	}
	iStatus, okS := col["STATUS"]
	iRecord, okR := col["RECORD_ID"]
	iErrors, okE := col["ERRORS"]
	iID, okID := col["id"]
	if !okS || !okR || !okE {
		return malformed("the bulk write result CSV lacks RECORD_ID/STATUS/ERRORS columns")
	}
	pos := make(map[string][]int, len(ups))
	for i, u := range ups {
		pos[u.ID] = append(pos[u.ID], i)
	}
	seen := make([]bool, len(ups))
	for n := 0; ; n++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return malformed(fmt.Sprintf("the bulk write result CSV is malformed after %d rows", n))
		}
		get := func(i int) string {
			if i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		id := get(iRecord)
		if okID && get(iID) != "" {
			id = get(iID)
		}
		idx := -1
		for _, i := range pos[id] {
			if !seen[i] {
				idx = i
				break
			}
		}
		if idx < 0 && n < len(ups) && !seen[n] && (id == "" || id == ups[n].ID) {
			idx = n
		}
		if idx < 0 {
			continue
		}
		seen[idx] = true
		status := strings.ToUpper(get(iStatus))
		switch status {
		case "UPDATED", "ADDED":
			outs[idx].Status, outs[idx].Code, outs[idx].Message = tiers.StatusSuccess, "SUCCESS", "record updated"
		default:
			code, msg := parseRowErrors(get(iErrors))
			if code == "" {
				code = status
				if code == "" {
					code = "SKIPPED"
				}
				msg = "Zoho skipped the record (" + strings.ToLower(code) + ")"
			}
			outs[idx].Status, outs[idx].Code, outs[idx].Message = tiers.StatusError, code, msg
		}
	}
	for i := range outs {
		if !seen[i] {
			outs[i].Status, outs[i].Message = tiers.StatusUnknown, "the bulk write result has no row for this record"
		}
	}
	return nil
}

// parseRowErrors reads Bulk Write's ERRORS cell, "CODE-Col1,Col2:CODE2-Col3",
// into the first code and a message naming every code and its columns.
func parseRowErrors(s string) (code, msg string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	var parts []string
	for _, p := range strings.Split(s, ":") {
		c, cols, _ := strings.Cut(strings.TrimSpace(p), "-")
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if code == "" {
			code = c
		}
		if cols = strings.TrimSpace(cols); cols != "" {
			parts = append(parts, c+" in "+strings.Join(slices.DeleteFunc(strings.Split(cols, ","), func(x string) bool { return strings.TrimSpace(x) == "" }), ", "))
		} else {
			parts = append(parts, c)
		}
	}
	return code, strings.Join(parts, "; ")
}
