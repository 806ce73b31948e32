package zohosim

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// bulkReadRequest is the body of POST /crm/bulk/v8/read.
type bulkReadRequest struct {
	Callback *struct {
		URL    string `json:"url"`
		Method string `json:"method"`
	} `json:"callback"`
	Query *struct {
		Module *struct {
			APIName string `json:"api_name"`
		} `json:"module"`
		Fields    []string      `json:"fields"`
		CVID      *string       `json:"cvid"`
		Criteria  *bulkCriteria `json:"criteria"`
		Page      *int          `json:"page"`
		PageToken *string       `json:"page_token"`
	} `json:"query"`
	FileType *string `json:"file_type"`
}

// bulkReadJob is one bulk read job: the matching ids were snapshotted at creation,
// and the rows are read from the store when the result is downloaded.
type bulkReadJob struct {
	id       string
	st       *Store // the module's records
	created  time.Time
	cols     []string
	ids      *bulkIDSet // every matching id, shared by the jobs continuing this one
	page     int        // 1-based
	perPage  int
	query    map[string]any // echoed in the job details
	callback map[string]any
	token    string        // next_page_token, once handed out
	plan     *bulkReadPlan // the validated request until fillReadJob
}

// bulkPageToken says where a next_page_token continues.
type bulkPageToken struct {
	st   *Store
	cols []string
	ids  *bulkIDSet
	page int
}

var bulkReadStates = []string{bulkStateAdded, bulkStateQueued, bulkStateInProgress, bulkStateCompleted}

// bulkUnsupportedModules are Zoho modules bulk read refuses (§7.1
// limitations) beside the registry's modules without BulkRead.
var bulkUnsupportedModules = map[string]bool{"Notes": true, "Attachments": true, "Emails": true}

// createRead serves POST /crm/bulk/v8/read. Its verdicts on the request are
// HTTP 400 with the error inside data[], the shape of its 201 answer:
// {"data":[{"status":"error","code":"FIELD_NOT_AVAILABLE","message":…,"details":{…}}]}
// (reference §7.1; the top-level envelope stays for 401 and 429).
func (b *bulkService) createRead(w http.ResponseWriter, r *http.Request) {
	if !b.authorize(w, r) {
		return
	}
	var req bulkReadRequest
	if berr := bulkDecodeBody(r, &req); berr != nil {
		berr.writeData(w)
		return
	}
	m, berr := b.readModule(&req)
	if berr != nil {
		berr.writeData(w)
		return
	}
	if !b.scoped(w, r, moduleScopes(m, "READ")) {
		return
	}
	job, berr := b.newReadJob(&req, m)
	if berr != nil {
		berr.writeData(w)
		return
	}
	release, ok := b.acquireSub(w)
	if !ok {
		return
	}
	defer release()
	if !b.charge(w, bulkReadCredits) {
		return
	}
	b.fillReadJob(job)
	now := b.now()
	b.mu.Lock()
	job.id, job.created = b.newIDLocked(), now
	b.readJobs[job.id] = job
	b.mu.Unlock()

	writeJSON(w, http.StatusCreated, map[string]any{
		"data": []any{map[string]any{
			"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
			"details": map[string]any{"id": job.id, "operation": "read", "state": bulkStateAdded,
				"created_by": bulkCreator(), "created_time": formatTime(now)},
		}},
		"info": map[string]any{},
	})
}

// bulkReadPlan is a validated bulk read request, before its ids are taken.
type bulkReadPlan struct {
	cols  []string
	match bulkMatcher    // nil: every record
	cont  *bulkPageToken // set when continuing from a page_token
	page  int
}

// readModule checks the callback and names the module a create request
// reads: one of the org's modules that bulk read supports. The caller checks
// the token's scopes for it before the rest of the request (newReadJob).
func (b *bulkService) readModule(req *bulkReadRequest) (*Module, *bulkError) {
	if req.Callback != nil {
		if u, err := url.Parse(req.Callback.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bulkBadRequest("INVALID_CALLBACK_URL", "the callback url is invalid", nil)
		}
		if req.Callback.Method != "post" {
			return nil, bulkBadRequest("INVALID_CALLBACK_METHOD", "the callback method is invalid",
				map[string]any{"supported_callback_methods": []string{"post"}})
		}
	}
	if req.Query == nil || req.Query.Module == nil || req.Query.Module.APIName == "" {
		return nil, bulkBadRequest("MANDATORY_NOT_FOUND", "Required key query.module.api_name is not available",
			map[string]any{"api_name": "module", "json_path": "$.query.module.api_name"})
	}
	module := req.Query.Module.APIName
	m, known := registry[module]
	switch {
	case bulkUnsupportedModules[module] || (known && !m.BulkRead):
		return nil, bulkBadRequest("MODULE_NOT_SUPPORTED", "bulk read does not support the module "+module, nil)
	case !known || b.stores[module] == nil:
		return nil, bulkBadRequest("MODULE_NOT_AVAILABLE", "the module "+module+" is not available in this org",
			map[string]any{"api_name": module, "module": module})
	}
	return m, nil
}

// newReadJob validates the rest of a create request for module m and
// returns the job without its ids (fillReadJob takes them once the credits
// are spent).
func (b *bulkService) newReadJob(req *bulkReadRequest, m *Module) (*bulkReadJob, *bulkError) {
	q := req.Query
	st := b.stores[m.APIName]
	if q.CVID != nil && *q.CVID != "" {
		return nil, bulkBadRequest("CVID_NOT_SUPPORTED", "the emulator has no custom views; omit cvid and use criteria", nil)
	}
	if req.FileType != nil && *req.FileType != "csv" {
		return nil, bulkBadRequest("INVALID_DATA", "file_type must be csv for "+m.APIName+" (ics is for Events only)",
			map[string]any{"api_name": "file_type", "supported_values": []string{"csv"}})
	}
	plan := bulkReadPlan{cols: []string{"id"}, page: 1}
	if q.Fields == nil {
		plan.cols = plan.cols[:0]
		for _, f := range m.Fields {
			plan.cols = append(plan.cols, f.APIName)
		}
	}
	seen := map[string]bool{"id": true}
	for _, name := range q.Fields {
		if _, ok := m.Field(name); !ok {
			return nil, bulkBadRequest("FIELD_NOT_AVAILABLE", "the field "+name+" does not exist in "+m.APIName,
				map[string]any{"api_name": name})
		}
		if !seen[name] {
			seen[name] = true
			plan.cols = append(plan.cols, name)
		}
	}
	if q.Criteria != nil {
		match, cerr := compileBulkCriteria(m, q.Criteria)
		if cerr != nil {
			return nil, bulkBadRequest(cerr.code, cerr.message, cerr.details)
		}
		plan.match = match
	}
	if q.Page != nil {
		plan.page = *q.Page
		if plan.page < 1 {
			return nil, bulkBadRequest("INVALID_DATA", "page must be 1 or more",
				map[string]any{"api_name": "page", "json_path": "$.query.page"})
		}
	}
	if q.PageToken != nil {
		b.mu.Lock()
		t, ok := b.tokens[*q.PageToken]
		b.mu.Unlock()
		if !ok || t.st != st {
			return nil, bulkBadRequest("INVALID_DATA", "the page_token is invalid or expired; start again without it",
				map[string]any{"api_name": "page_token", "json_path": "$.query.page_token"})
		}
		plan.cont = &t
	}

	echo := map[string]any{"module": map[string]any{"api_name": m.APIName, "id": m.ID}, "page": plan.page}
	if q.Fields != nil {
		echo["fields"] = q.Fields
	}
	if q.Criteria != nil {
		echo["criteria"] = q.Criteria
	}
	var cb map[string]any
	if req.Callback != nil {
		cb = map[string]any{"url": req.Callback.URL, "method": req.Callback.Method}
	}
	return &bulkReadJob{st: st, cols: plan.cols, page: plan.page, perPage: b.readPageSize, query: echo, callback: cb,
		plan: &plan}, nil
}

// fillReadJob snapshots the ids the job reads (or takes those of the job it
// continues).
func (b *bulkService) fillReadJob(job *bulkReadJob) {
	plan := job.plan
	job.plan = nil
	ids := &bulkIDSet{}
	switch {
	case plan.cont != nil:
		job.cols, ids, job.page = plan.cont.cols, plan.cont.ids, plan.cont.page
		job.query["page"] = job.page
	case plan.match == nil:
		for _, id := range job.st.IDs() {
			ids.add(id)
		}
	default:
		job.st.Each(func(r Record) bool {
			if plan.match(r) {
				ids.add(r["id"].(string))
			}
			return true
		})
	}
	job.ids = ids
}

// pageBounds returns the positions in job.ids of the job's page.
func (j *bulkReadJob) pageBounds() (lo, hi int, more bool) {
	n := j.ids.len()
	lo = min((j.page-1)*j.perPage, n)
	hi = min(lo+j.perPage, n)
	return lo, hi, hi < n
}

// bulkIDSet is a read job's snapshot of matching ids, ascending, kept as
// runs of consecutive ids: an export of a whole 200,000-record store holds
// one run instead of 200,000 strings for as long as the job lives.
type bulkIDSet struct {
	runs  []bulkIDRun
	total int
}

type bulkIDRun struct {
	first int64
	n     int
}

// add appends id; positions follow the order ids are added in.
func (s *bulkIDSet) add(id string) {
	v, ok := ParseID(id)
	if !ok {
		return
	}
	if k := len(s.runs); k > 0 && s.runs[k-1].first+int64(s.runs[k-1].n) == v {
		s.runs[k-1].n++
	} else {
		s.runs = append(s.runs, bulkIDRun{first: v, n: 1})
	}
	s.total++
}

func (s *bulkIDSet) len() int { return s.total }

// between yields the ids at positions lo (inclusive) to hi (exclusive).
func (s *bulkIDSet) between(lo, hi int) iter.Seq[string] {
	return func(yield func(string) bool) {
		pos := 0
		for _, r := range s.runs {
			if pos+r.n <= lo {
				pos += r.n
				continue
			}
			for i := max(lo-pos, 0); i < r.n && pos+i < hi; i++ {
				if !yield(strconv.FormatInt(r.first+int64(i), 10)) {
					return
				}
			}
			pos += r.n
			if pos >= hi {
				return
			}
		}
	}
}

func (b *bulkService) readStatus(w http.ResponseWriter, r *http.Request) {
	if !b.authorize(w, r) {
		return
	}
	id := r.PathValue("id")
	now := b.now()
	b.mu.Lock()
	job, ok := b.readJobs[id]
	if !ok {
		b.mu.Unlock()
		writeError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "the bulk read job "+id+" was not found",
			map[string]any{"resource": id})
		return
	}
	state := bulkStateAt(job.created, now, b.step, bulkReadStates)
	detail := map[string]any{"id": job.id, "operation": "read", "state": state, "query": job.query,
		"created_by": bulkCreator(), "created_time": formatTime(job.created), "file_type": "csv"}
	if job.callback != nil {
		detail["callback"] = job.callback
	}
	if state == bulkStateCompleted {
		lo, hi, more := job.pageBounds()
		res := map[string]any{"page": job.page, "per_page": job.perPage, "count": hi - lo, "more_records": more,
			"download_url": "/crm/bulk/v8/read/" + job.id + "/result"}
		if more {
			if job.token == "" {
				job.token = fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
				b.tokens[job.token] = bulkPageToken{st: job.st, cols: job.cols, ids: job.ids, page: job.page + 1}
			}
			res["next_page_token"] = job.token
		}
		detail["result"] = res
	}
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": []any{detail}})
}

// allowDownload applies the 10-downloads-per-minute limit: an 11th download
// within a minute is refused and blocks downloads for a minute from then.
func (b *bulkService) allowDownload(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.blocked) {
		return false
	}
	keep := b.downloads[:0]
	for _, t := range b.downloads {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	b.downloads = keep
	if len(b.downloads) >= bulkDownloadsPerMinute {
		b.blocked = now.Add(time.Minute)
		b.downloads = b.downloads[:0]
		return false
	}
	b.downloads = append(b.downloads, now)
	return true
}

func (b *bulkService) readResult(w http.ResponseWriter, r *http.Request) {
	if !b.authorize(w, r) {
		return
	}
	now := b.now()
	if !b.allowDownload(now) {
		bulkTooMany(w, "the limit of 10 bulk read downloads per minute has been exceeded; downloads are blocked for a minute")
		return
	}
	id := r.PathValue("id")
	b.mu.Lock()
	job, ok := b.readJobs[id]
	b.mu.Unlock()
	if !ok || bulkStateAt(job.created, now, b.step, bulkReadStates) != bulkStateCompleted {
		writeError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "the result of bulk read job "+id+" is not available",
			map[string]any{"resource": id})
		return
	}
	lo, hi, _ := job.pageBounds()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+job.id+`.zip"`)
	w.WriteHeader(http.StatusOK)
	// The status line is out; a failure now can only cut the stream short,
	// which the client sees as a broken zip.
	_, _ = bulkWriteReadZip(w, job.id+".csv", job.cols, job.ids.between(lo, hi), job.st.Get)
}
