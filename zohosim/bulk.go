package zohosim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Bulk Read and Bulk Write (reference §7, §8) for every module with records
// (Bulk Read refuses Notes, §7.1). The jobs live in a bulkService that is
// independent of the listeners: its dependencies (stores, clock,
// authorization, credits, write counter) are fields, so the same service
// can sit behind the REST and the BULK listener and be unit-tested on its
// own.

const (
	// bulkReadPerPage is Zoho's page size for a bulk read job (§7.1).
	bulkReadPerPage = 200_000
	// bulkReadCredits and bulkWriteCredits are the initialize costs (§9.2).
	bulkReadCredits  = 50
	bulkWriteCredits = 500
	// bulkDownloadsPerMinute is the bulk read download limit (§7.3).
	bulkDownloadsPerMinute = 10
	// bulkWriteMaxRecords and bulkUploadMaxBytes are the write limits (§8.5).
	bulkWriteMaxRecords = 25_000
	bulkUploadMaxBytes  = 25 << 20
	// bulkCriteriaMax and bulkCriteriaValuesMax are the criteria limits (§7.1).
	bulkCriteriaMax       = 25
	bulkCriteriaValuesMax = 200
	// bulkAccountsModuleID is the Accounts module id the emulator reports.
	bulkAccountsModuleID = "5725767000000002175"
	// bulkIDBase is where job and file ids start (19 digits, distinct from records).
	bulkIDBase = 5725767000009000000
)

// Job states. Note the space in "IN PROGRESS".
const (
	bulkStateAdded      = "ADDED"
	bulkStateQueued     = "QUEUED"
	bulkStateInProgress = "IN PROGRESS"
	bulkStateCompleted  = "COMPLETED"
)

// bulkService holds the bulk jobs and uploaded files of one emulated org.
type bulkService struct {
	stores map[string]*Store // by module API name
	now    func() time.Time
	step   time.Duration // time a job spends in each state before the next

	// authorize checks the request's token and writes the 401 envelope when it fails.
	authorize func(w http.ResponseWriter, r *http.Request) bool
	// scoped checks that the request's token holds a scope of every group
	// (the job's module scopes) and writes the 401 envelope when not.
	scoped func(w http.ResponseWriter, r *http.Request, groups ...[]string) bool
	// charge takes n credits for the request answered on w; when the budget
	// is exhausted it answers 429 TOO_MANY_REQUESTS and returns false.
	charge func(w http.ResponseWriter, n int) bool
	// noteWrite counts one applied write of record id.
	noteWrite func(id string)
	// acquireSub takes a sub-concurrency slot for a job creation (answering
	// 429 and returning false when none is free); release gives it back.
	acquireSub func(w http.ResponseWriter) (release func(), ok bool)
	// authorizeDownload checks a bulk write result download's token (the
	// download host's policy) and writes the 401 envelope when it fails.
	authorizeDownload func(w http.ResponseWriter, r *http.Request) bool
	// downloadBase returns the origin (scheme://host[:port]) the bulk write
	// download_url names; nil means the origin the status was asked on.
	downloadBase func(r *http.Request) string
	// zgid is the org id the upload endpoint expects in X-CRM-ORG.
	zgid string

	// readPageSize is the rows per bulk read page (Zoho: 200,000); tests lower it.
	readPageSize int

	mu        sync.Mutex
	nextID    int64
	readJobs  map[string]*bulkReadJob
	tokens    map[string]bulkPageToken // next_page_token → where it continues
	writeJobs map[string]*bulkWriteJob
	files     map[string]*bulkFile
	downloads []time.Time // bulk read result downloads within the last minute
	blocked   time.Time   // downloads refused until this time
}

// newBulkService returns a service over the stores (by module API name)
// whose jobs advance one step per state on now; its policy hooks allow
// everything until set.
func newBulkService(stores map[string]*Store, now func() time.Time, step time.Duration) *bulkService {
	if now == nil {
		now = time.Now
	}
	return &bulkService{
		stores:            stores,
		now:               now,
		step:              step,
		authorize:         func(http.ResponseWriter, *http.Request) bool { return true },
		scoped:            func(http.ResponseWriter, *http.Request, ...[]string) bool { return true },
		charge:            func(http.ResponseWriter, int) bool { return true },
		noteWrite:         func(string) {},
		acquireSub:        func(http.ResponseWriter) (func(), bool) { return func() {}, true },
		authorizeDownload: func(http.ResponseWriter, *http.Request) bool { return true },
		readPageSize:      bulkReadPerPage,
		nextID:            bulkIDBase,
		readJobs:          map[string]*bulkReadJob{},
		tokens:            map[string]bulkPageToken{},
		writeJobs:         map[string]*bulkWriteJob{},
		files:             map[string]*bulkFile{},
	}
}

// registerBulk mounts the Bulk Read and Bulk Write endpoints on the API mux
// (the bulk write result is served by the download listener, downloadMux).
// Jobs progress by s.now, one Options.JobStep per state; bulk read and write
// initialize cost 50 and 500 credits and take a sub-concurrency slot; every
// applied row counts as a write of its record; the upload checks X-CRM-ORG
// against the org's zgid.
func (s *Sim) registerBulk(mux *http.ServeMux) {
	b := newBulkService(s.stores, s.now, s.opts.JobStep)
	b.authorize = s.authorize
	b.scoped = s.scoped
	b.charge = s.spend
	b.noteWrite = s.noteWrite
	b.acquireSub = s.acquireSub
	b.authorizeDownload = s.authorizeDownload
	b.downloadBase = func(*http.Request) string { return s.DownloadURL() }
	b.zgid = s.orgID
	b.register(mux)
	s.bulk = b
	s.bulkRoutes = true
}

// register adds the bulk API endpoints to mux.
func (b *bulkService) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /crm/bulk/v8/read", b.createRead)
	mux.HandleFunc("GET /crm/bulk/v8/read/{id}", b.readStatus)
	mux.HandleFunc("GET /crm/bulk/v8/read/{id}/result", b.readResult)
	mux.HandleFunc("POST /crm/v8/upload", b.upload)
	mux.HandleFunc("POST /crm/bulk/v8/write", b.createWrite)
	mux.HandleFunc("GET /crm/bulk/v8/write/{id}", b.writeStatus)
}

// bulkWriteDownloadPath is the path of a bulk write result on the download
// host, in the shape Zoho's answers show (§8.3):
// /v2/crm/{zgid}/bulk-write/{job}/{job}.zip.
const bulkWriteDownloadPath = "/v2/crm/{org}/bulk-write/{id}/{file}"

// registerDownload adds the bulk write result download to mux (the download
// host's; the standalone tests mount it beside the API).
func (b *bulkService) registerDownload(mux *http.ServeMux) {
	mux.HandleFunc("GET "+bulkWriteDownloadPath, b.writeResult)
}

// newIDLocked returns a fresh 19-digit id for a job or file; b.mu must be held.
func (b *bulkService) newIDLocked() string {
	b.nextID++
	return strconv.FormatInt(b.nextID, 10)
}

// bulkStateAt returns the state a job created at created is in at now, walking
// through states, one step each; the last state is terminal.
func bulkStateAt(created, now time.Time, step time.Duration, states []string) string {
	if step <= 0 {
		return states[len(states)-1]
	}
	i := int(now.Sub(created) / step)
	if i < 0 {
		i = 0
	}
	if i >= len(states) {
		i = len(states) - 1
	}
	return states[i]
}

// bulkCreator is the user every bulk job is created by (the seeded org's admin).
func bulkCreator() map[string]any {
	return map[string]any{"id": owners[0]["id"], "name": owners[0]["name"]}
}

// bulkDecodeBody decodes a JSON object body into v; a non-object or broken
// body is Zoho's REQUEST_BODY_NOT_SUPPORTED / INVALID_REQUEST verdict.
func bulkDecodeBody(r *http.Request, v any) *bulkError {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return bulkBadRequest("INVALID_REQUEST", "unable to read the request body", nil)
	}
	if len(body) == 0 {
		return bulkBadRequest("INVALID_REQUEST", "the request body is empty; send a JSON object", nil)
	}
	if err := json.Unmarshal(body, v); err != nil {
		msg := "the request body is not valid JSON"
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			msg = "the request body has the wrong shape: a JSON " + ute.Value + " is not allowed"
			if ute.Field != "" {
				msg += " at " + ute.Field
				return bulkBadRequest("REQUEST_BODY_NOT_SUPPORTED", msg, map[string]any{"json_path": "$." + ute.Field})
			}
		}
		return bulkBadRequest("REQUEST_BODY_NOT_SUPPORTED", msg, nil)
	}
	return nil
}

// bulkTooMany writes the 429 TOO_MANY_REQUESTS envelope.
func bulkTooMany(w http.ResponseWriter, message string) {
	writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", message, nil)
}
