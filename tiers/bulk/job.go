package bulk

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// bulkComparators maps our operators to Bulk Read's (reference §7.1): note
// "equal", not "equals".
var bulkComparators = map[tiers.Operator]string{
	tiers.OpEquals: "equal", tiers.OpNotEqual: "not_equal", tiers.OpStartsWith: "starts_with",
	tiers.OpIn: "in", tiers.OpGreaterThan: "greater_than", tiers.OpGreaterEqual: "greater_equal",
	tiers.OpLessThan: "less_than", tiers.OpLessEqual: "less_equal", tiers.OpBetween: "between",
}

// readCriteria builds a Bulk Read criteria object: the conditions (all must
// match) and, when afterID is set, "id greater_than afterID". nil means no
// criteria.
func readCriteria(where []tiers.Condition, afterID string) (map[string]any, error) {
	var nodes []any
	for _, c := range where {
		cmp, ok := bulkComparators[c.Op]
		if !ok {
			return nil, badInput("%s: unknown operator %q", c.Field, c.Op)
		}
		if !tiers.IsAPIName(c.Field) {
			return nil, badInput("%q is not a field API name", c.Field)
		}
		var value any
		switch c.Op {
		case tiers.OpIn:
			if len(c.Values) < 1 || len(c.Values) > 200 {
				return nil, badInput("%s: in takes 1–200 values in a bulk read (got %d)", c.Field, len(c.Values))
			}
			value = c.Values
		case tiers.OpBetween:
			if len(c.Values) != 2 {
				return nil, badInput("%s: between takes exactly 2 values", c.Field)
			}
			value = c.Values
		default:
			if len(c.Values) != 1 {
				return nil, badInput("%s: %s takes exactly 1 value", c.Field, c.Op)
			}
			value = c.Values[0]
		}
		for _, v := range c.Values {
			switch v.(type) {
			case string, json.Number, float64, float32, int, int64, int32, bool:
			default:
				return nil, badInput("%s: value of type %T is not a string, number or boolean", c.Field, v)
			}
		}
		nodes = append(nodes, map[string]any{"field": map[string]any{"api_name": c.Field}, "comparator": cmp, "value": value})
	}
	if afterID != "" {
		// The id goes as a string: 19 digits do not survive a float64.
		nodes = append(nodes, map[string]any{"field": map[string]any{"api_name": "id"}, "comparator": "greater_than", "value": afterID})
	}
	switch len(nodes) {
	case 0:
		return nil, nil
	case 1:
		return nodes[0].(map[string]any), nil
	}
	return map[string]any{"group_operator": "and", "group": nodes}, nil
}

// readJobResult is the result object of a completed Bulk Read job.
type readJobResult struct {
	Page          int    `json:"page"`
	Count         int    `json:"count"`
	MoreRecords   bool   `json:"more_records"`
	DownloadURL   string `json:"download_url"`
	NextPageToken string `json:"next_page_token"`
}

// readJob runs Bulk Read jobs for the records after afterID (all of them when
// empty) and streams every page into sink.
func (t *Tier) readJob(ctx context.Context, req tiers.BulkReadRequest, fields []string, afterID string, sink tiers.RecordSink, res tiers.BulkReadResult) (tiers.BulkReadResult, error) {
	if res.Strategy == "" {
		res.Strategy = StrategyBulkReadJob
	}
	crit, err := readCriteria(req.Where, afterID)
	if err != nil {
		return res, err
	}
	// The job's rows are filtered to the conditions' meaning (zoho.Match:
	// Zoho's criteria test empty fields their own way), so it exports the
	// condition fields too, and the rows are projected back to fields.
	var project []string
	if len(req.Fields) > 0 {
		project = fields
		fields = withConditionFields(fields, req.Where)
	}
	query := map[string]any{"module": map[string]any{"api_name": req.Module}, "page": 1}
	if len(req.Fields) > 0 {
		query["fields"] = fields
	}
	types := t.fieldTypes(ctx, req.Module, &res.Calls, &res.Credits)
	if crit != nil {
		query["criteria"] = crit
	}
	for {
		resp, err := t.zc.Do(ctx, zoho.Request{Method: "POST", Path: "/crm/bulk/v8/read",
			JSON: map[string]any{"query": query, "file_type": "csv"}})
		res.Calls++
		if err != nil {
			return res, asRead(err)
		}
		res.Credits += CreditsBulkRead
		var created struct {
			Data []struct {
				Details struct {
					ID string `json:"id"`
				} `json:"details"`
			} `json:"data"`
		}
		if err := resp.Decode(&created); err != nil || len(created.Data) == 0 || !tiers.IsRecordID(created.Data[0].Details.ID) {
			return res, malformed("the bulk read job was created without an id")
		}
		jobID := created.Data[0].Details.ID
		t.log.DebugContext(ctx, "bulk read job created", "job", jobID)
		result, err := t.pollRead(ctx, jobID, &res.Calls, &res.Credits)
		if err != nil {
			return res, err
		}
		n, err := t.download(ctx, result.DownloadURL, &res.Calls, &res.Credits, func(r io.ReaderAt, size int64) (int, error) {
			return streamCSV(r, size, sink, csvRows{types: types, where: req.Where, fields: project})
		})
		res.Count += n
		if err != nil {
			return res, err
		}
		if !result.MoreRecords {
			return res, nil
		}
		delete(query, "criteria")
		delete(query, "fields")
		if result.NextPageToken != "" {
			delete(query, "page")
			query["page_token"] = result.NextPageToken
		} else {
			// Without a token the next page is asked for with the same
			// query and the next page number.
			if crit != nil {
				query["criteria"] = crit
			}
			if len(req.Fields) > 0 {
				query["fields"] = fields
			}
			query["page"] = result.Page + 1
		}
	}
}

func malformed(msg string) *tiers.Error {
	return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Code: "MALFORMED_RESPONSE", Message: msg}
}

// maxPollFailures is how many polls in a row may fail (Zoho unavailable or
// rate limiting) before waiting for a job is given up.
const maxPollFailures = 4

// pollRead waits for a Bulk Read job to complete, with backoff.
func (t *Tier) pollRead(ctx context.Context, jobID string, calls, credits *int) (readJobResult, error) {
	var out readJobResult
	err := t.poll(ctx, "/crm/bulk/v8/read/"+jobID, calls, credits, func(resp *zoho.Response) (bool, error) {
		var st struct {
			Data []struct {
				State  string        `json:"state"`
				Result readJobResult `json:"result"`
			} `json:"data"`
		}
		if err := resp.Decode(&st); err != nil || len(st.Data) == 0 {
			return false, malformed("the bulk read job status is not readable")
		}
		switch st.Data[0].State {
		case "COMPLETED":
			out = st.Data[0].Result
			if out.DownloadURL == "" {
				return false, malformed("the bulk read job completed without a download_url")
			}
			return true, nil
		case "FAILURE", "FAILED":
			return false, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Code: "JOB_FAILED",
				Message: "Zoho reports bulk read job " + jobID + " failed"}
		}
		return false, nil
	})
	return out, err
}

// poll GETs a job's status until done says it is done, waiting with
// backoff between polls. A poll that fails transiently is retried up to
// maxPollFailures times in a row; a verdict ends the wait.
func (t *Tier) poll(ctx context.Context, p string, calls, credits *int, done func(*zoho.Response) (bool, error)) error {
	start := t.cfg.Now()
	fails := 0
	for i := 0; ; i++ {
		// Waiting between polls is the job's pace, not a hung tier: say so
		// (tiers.Progress) before each wait; each poll is bounded by the
		// client's timeout.
		d := t.backoff(i)
		tiers.ReportProgress(ctx, tiers.Progress{Message: fmt.Sprintf("Zoho bulk job %s: status poll %d in %s", path.Base(p), i+1, d.Round(time.Second)), Wait: d})
		if err := t.wait(ctx, d); err != nil {
			return err
		}
		if t.cfg.Now().Sub(start) > t.cfg.JobTimeout {
			return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Code: "JOB_TIMEOUT",
				Message: fmt.Sprintf("Zoho did not finish the job within %s", t.cfg.JobTimeout)}
		}
		resp, err := t.zc.Do(ctx, zoho.Request{Path: p})
		*calls++
		if err != nil {
			c := tiers.Classify(err)
			if (c == tiers.ClassUnavailable || c == tiers.ClassRateLimited) && fails < maxPollFailures {
				fails++
				continue
			}
			return err
		}
		*credits++
		fails = 0
		ok, err := done(resp)
		if err != nil || ok {
			return err
		}
		// A status answered is progress (the job is alive), for the
		// router and the caller (tiers.Progress).
		tiers.ReportProgress(ctx, tiers.Progress{Message: fmt.Sprintf("Zoho bulk job %s still running (status poll %d)", path.Base(p), i+1)})
	}
}

// maxDownloadWaits bounds the waits after 429 on a download (Zoho allows 10
// bulk read downloads a minute and blocks the rest of the minute).
const maxDownloadWaits = 6

// download GETs a job's result zip (a relative URL is on the API domain)
// into a temporary file and hands it to read. A 429 is waited out with
// DownloadWait doubling.
func (t *Tier) download(ctx context.Context, url string, calls, credits *int, read func(io.ReaderAt, int64) (int, error)) (int, error) {
	f, err := os.CreateTemp(t.cfg.TempDir, "zoho-bulk-*.zip")
	if err != nil {
		return 0, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Message: "cannot create a temporary file for the bulk result: " + err.Error()}
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	waitFor := t.cfg.DownloadWait
	for i := 0; ; i++ {
		resp, err := t.zc.Send(ctx, zoho.Request{Path: url, HandedBack: true, Header: map[string][]string{"Accept": {"application/zip"}}})
		*calls++
		if err != nil {
			if tiers.Classify(err) == tiers.ClassRateLimited && i < maxDownloadWaits {
				if werr := t.wait(ctx, waitFor); werr != nil {
					return 0, werr
				}
				waitFor = min(2*waitFor, t.cfg.PollMax*2)
				continue
			}
			return 0, err
		}
		*credits++
		_, cerr := io.Copy(f, resp.Body)
		resp.Body.Close()
		if cerr != nil {
			if ctx.Err() != nil {
				return 0, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassCanceled, Message: "canceled during the download", Err: ctx.Err()}
			}
			return 0, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Message: "the bulk result download broke off: " + cerr.Error()}
		}
		break
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Message: "cannot read the downloaded bulk result: " + err.Error()}
	}
	return read(f, size)
}

// openCSV returns the one CSV file in a result zip.
func openCSV(r io.ReaderAt, size int64) (io.ReadCloser, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, malformed("the bulk result is not a zip: " + err.Error())
	}
	for _, f := range zr.File {
		if strings.EqualFold(path.Ext(f.Name), ".csv") && !f.FileInfo().IsDir() {
			rc, err := f.Open()
			if err != nil {
				return nil, malformed("the CSV in the bulk result cannot be opened: " + err.Error())
			}
			return rc, nil
		}
	}
	return nil, malformed("the bulk result zip holds no CSV file")
}

// csvRows says how streamCSV turns rows into records: cells typed by types
// (see csvRecord), rows kept when they match where (zoho.Match), records
// projected to fields (nil: every column).
type csvRows struct {
	types  map[string]string
	where  []tiers.Condition
	fields []string
}

// withConditionFields returns fields with the fields of where that it lacks
// (never id, which a job always exports).
func withConditionFields(fields []string, where []tiers.Condition) []string {
	out := slices.Clone(fields)
	for _, f := range zoho.ConditionFields(where) {
		if f != "id" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// streamCSV parses a Bulk Read result row by row into sink: the header row
// names the fields; each row becomes a record typed as COQL would answer it
// (see csvRecord), kept if it matches rows.where. It returns the records
// written.
func streamCSV(r io.ReaderAt, size int64, sink tiers.RecordSink, rows csvRows) (int, error) {
	rc, err := openCSV(r, size)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return 0, malformed("the bulk result CSV has no header row: " + err.Error())
	}
	head = append([]string(nil), head...)
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	n, read := 0, 0
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, malformed(fmt.Sprintf("the bulk result CSV is malformed after %d rows: %v", read, err))
		}
		read++
		rec := csvRecord(head, row, rows.types)
		if !zoho.Match(rows.where, false, rec) {
			continue
		}
		if err := sink.Write(zoho.Project(rec, rows.fields)); err != nil {
			return n, sinkErr(err)
		}
		n++
	}
}
