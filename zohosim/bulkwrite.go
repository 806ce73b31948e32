package zohosim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// bulkFile is a zip received by POST /crm/v8/upload.
type bulkFile struct {
	id      string
	name    string
	data    []byte
	created time.Time
}

// bulkWriteRequest is the body of POST /crm/bulk/v8/write.
type bulkWriteRequest struct {
	Operation         *string `json:"operation"`
	CharacterEncoding string  `json:"character_encoding"`
	Callback          *struct {
		URL    string `json:"url"`
		Method string `json:"method"`
	} `json:"callback"`
	IgnoreEmpty bool `json:"ignore_empty"`
	Resource    []struct {
		Type   string `json:"type"`
		Module *struct {
			APIName string `json:"api_name"`
		} `json:"module"`
		FileID        *string  `json:"file_id"`
		FileNames     []string `json:"file_names"`
		FindBy        *string  `json:"find_by"`
		FieldMappings []struct {
			APIName string `json:"api_name"`
			Index   *int   `json:"index"`
		} `json:"field_mappings"`
	} `json:"resource"`
}

// bulkMapping maps CSV column index to the field api_name.
type bulkMapping struct {
	APIName string `json:"api_name"`
	Index   int    `json:"index"`
}

// bulkWriteJob is one bulk write job. Its rows are applied to the store, row by
// row, the first time the job is observed past its IN PROGRESS step.
type bulkWriteJob struct {
	id          string
	st          *Store // the module's records
	created     time.Time
	operation   string // insert | update | upsert
	findBy      string // id, a unique or duplicate-check field; "" for insert
	ignoreEmpty bool
	callback    map[string]any
	mappings    []bulkMapping
	fileName    string
	header      []string
	rows        [][]string // the CSV records; dropped once applied
	total       int        // len(rows) at creation

	apply   sync.Once
	added   int
	updated int
	skipped int
	results [][]string // result CSV rows, header first
}

var bulkWriteStates = []string{bulkStateAdded, bulkStateInProgress, bulkStateCompleted}

// bulkGatewayBadRequest is the gateway-style answer to missing upload headers (§8.1).
func bulkGatewayBadRequest(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"ERROR_MESSAGE": "Bad Request", "ERROR_CODE": 400,
		"x-error": "check if headers [feature, X-CRM-ORG] are present and valid"})
}

func (b *bulkService) upload(w http.ResponseWriter, r *http.Request) {
	if !b.authorize(w, r) {
		return
	}
	feature, org := r.Header.Get("feature"), r.Header.Get("X-CRM-ORG")
	if feature == "" || org == "" || (b.zgid != "" && org != b.zgid) {
		bulkGatewayBadRequest(w)
		return
	}
	if feature != "bulk-write" {
		writeError(w, http.StatusBadRequest, "NOT_SUPPORTED_FEATURE", "the feature header must be bulk-write",
			map[string]any{"header": "feature"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "send the zip as multipart/form-data with the part named file", map[string]any{})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, bulkUploadMaxBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "the multipart body is malformed", map[string]any{})
		return
	}
	tooLarge := func() {
		writeError(w, http.StatusRequestEntityTooLarge, "FILE_TOO_LARGE", "the file exceeds the maximum size of 25 MB",
			map[string]any{"max_size": bulkUploadMaxBytes})
	}
	// unreadable answers a part that could not be read: too large when the
	// body went past its byte limit, malformed otherwise.
	unreadable := func(err error) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge()
			return
		}
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "the multipart body is malformed", map[string]any{})
	}
	var data []byte
	var name string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			unreadable(err)
			return
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		name = part.FileName()
		data, err = io.ReadAll(io.LimitReader(part, bulkUploadMaxBytes+1))
		if err != nil {
			unreadable(err)
			return
		}
		if len(data) > bulkUploadMaxBytes {
			tooLarge()
			return
		}
		break
	}
	if data == nil {
		writeError(w, http.StatusBadRequest, "MANDATORY_NOT_FOUND", "Required key file is not available",
			map[string]any{"api_name": "file"})
		return
	}
	if _, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_FILE_FORMAT", "invalid file format. only zip format is supported", map[string]any{})
		return
	}
	now := b.now()
	b.mu.Lock()
	f := &bulkFile{id: b.newIDLocked(), name: name, data: data, created: now}
	b.files[f.id] = f
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
		"details": map[string]any{"file_id": f.id, "created_time": formatTime(now)}})
}

// bulkError is a 400 verdict built while validating a request.
type bulkError struct {
	status        int
	code, message string
	details       map[string]any
}

// write answers the verdict in Zoho's top-level envelope.
func (e *bulkError) write(w http.ResponseWriter) {
	writeError(w, e.status, e.code, e.message, e.details)
}

// writeData answers the verdict inside data[], as bulk read's create job
// does: {"data":[{"status":"error","code":…,"message":…,"details":{…}}]}.
func (e *bulkError) writeData(w http.ResponseWriter) {
	writeJSON(w, e.status, map[string]any{"data": []any{newError(e.code, e.message, e.details)}})
}

func bulkBadRequest(code, message string, details map[string]any) *bulkError {
	if details == nil {
		details = map[string]any{}
	}
	return &bulkError{http.StatusBadRequest, code, message, details}
}

func bulkMissingKey(jsonPath string) *bulkError {
	key := jsonPath[strings.LastIndexAny(jsonPath, ".")+1:]
	return bulkBadRequest("MISSING_REQUIRED_KEY", "Required key "+key+" is not available", map[string]any{"json_path": jsonPath})
}

// bulkReadCSVFromZip finds the CSV in a zip (the one named in names if given)
// and parses it, detecting the delimiter (comma, semicolon, colon or pipe).
func bulkReadCSVFromZip(data []byte, names []string) (fileName string, records [][]string, err *bulkError) {
	zr, zerr := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if zerr != nil {
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED", "the uploaded file is not a readable zip", nil)
	}
	var csvs []*zip.File
	for _, f := range zr.File {
		if strings.EqualFold(path.Ext(f.Name), ".csv") && !f.FileInfo().IsDir() {
			if len(names) == 0 || bulkContains(names, path.Base(f.Name)) {
				csvs = append(csvs, f)
			}
		}
	}
	switch {
	case len(csvs) == 0:
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED", "the zip holds no CSV file (or none named in file_names)", nil)
	case len(csvs) > 1:
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED",
			fmt.Sprintf("the zip holds %d CSV files; name the one to import in file_names", len(csvs)), nil)
	}
	rc, oerr := csvs[0].Open()
	if oerr != nil {
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED", "the CSV in the zip cannot be read", nil)
	}
	defer rc.Close()
	raw, rerr := io.ReadAll(io.LimitReader(rc, 4*bulkUploadMaxBytes))
	if rerr != nil {
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED", "the CSV in the zip cannot be read: "+rerr.Error(), nil)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(raw) {
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED", "the CSV is not UTF-8", nil)
	}
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.Comma = bulkDelimiter(raw)
	records, perr := cr.ReadAll()
	if perr != nil {
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED", "the CSV is malformed: "+perr.Error(), nil)
	}
	if len(records) < 2 {
		return "", nil, bulkBadRequest("FILE_NOT_SUPPORTED", "the CSV needs a header row and at least one record", nil)
	}
	return path.Base(csvs[0].Name), records, nil
}

// bulkDelimiter picks the delimiter used most in the header line.
func bulkDelimiter(raw []byte) rune {
	line := raw
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		line = raw[:i]
	}
	best, n := ',', bytes.Count(line, []byte{','})
	for _, d := range []rune{';', '|', ':'} {
		if c := bytes.Count(line, []byte(string(d))); c > n {
			best, n = d, c
		}
	}
	return best
}

// bulkHeaderField maps a CSV header to a field of m: an API name, or
// "Lookup.id".
func bulkHeaderField(m *Module, h string) (string, bool) {
	h = strings.TrimSpace(h)
	if f, ok := m.Field(h); ok {
		return f.APIName, true
	}
	if base, ok := strings.CutSuffix(h, ".id"); ok {
		if f, ok := m.Field(base); ok && f.isLookup() {
			return f.APIName, true
		}
	}
	return "", false
}

func (b *bulkService) createWrite(w http.ResponseWriter, r *http.Request) {
	if !b.authorize(w, r) {
		return
	}
	var req bulkWriteRequest
	if berr := bulkDecodeBody(r, &req); berr != nil {
		berr.write(w)
		return
	}
	job, aerr := b.newWriteJob(&req)
	if aerr != nil {
		aerr.write(w)
		return
	}
	// UNCONFIRMED: the module scope per operation (the reference names
	// the module's ALL or CREATE scope).
	groups := [][]string{moduleScopes(job.st.mod, "CREATE")}
	switch job.operation {
	case "update":
		groups = [][]string{moduleScopes(job.st.mod, "UPDATE")}
	case "upsert":
		groups = append(groups, moduleScopes(job.st.mod, "UPDATE"))
	}
	if !b.scoped(w, r, groups...) {
		return
	}
	release, ok := b.acquireSub(w)
	if !ok {
		return
	}
	defer release()
	if !b.charge(w, bulkWriteCredits) {
		return
	}
	b.mu.Lock()
	job.id = b.newIDLocked()
	job.created = b.now()
	b.writeJobs[job.id] = job
	b.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"status": "success", "code": "SUCCESS", "message": "success",
		"details": map[string]any{"id": job.id, "created_by": bulkCreator()}})
}

// newWriteJob validates a create request against its uploaded file.
func (b *bulkService) newWriteJob(req *bulkWriteRequest) (*bulkWriteJob, *bulkError) {
	if req.Operation == nil {
		return nil, bulkMissingKey("$.operation")
	}
	op := *req.Operation
	if op != "insert" && op != "update" && op != "upsert" {
		return nil, bulkBadRequest("INVALID_DATA", "operation must be insert, update or upsert",
			map[string]any{"api_name": "operation", "json_path": "$.operation", "supported_values": []string{"insert", "update", "upsert"}})
	}
	if req.CharacterEncoding != "" && !strings.EqualFold(req.CharacterEncoding, "UTF-8") {
		return nil, bulkBadRequest("INVALID_DATA", "the emulator reads UTF-8 files only",
			map[string]any{"api_name": "character_encoding", "json_path": "$.character_encoding"})
	}
	var cb map[string]any
	if req.Callback != nil {
		if u, err := url.Parse(req.Callback.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bulkBadRequest("INVALID_CALLBACK_URL", "the callback url is invalid", nil)
		}
		if req.Callback.Method != "post" {
			return nil, bulkBadRequest("INVALID_CALLBACK_METHOD", "the callback method is invalid",
				map[string]any{"supported_callback_methods": []string{"post"}})
		}
		cb = map[string]any{"url": req.Callback.URL, "method": req.Callback.Method}
	}
	if len(req.Resource) == 0 {
		return nil, bulkMissingKey("$.resource")
	}
	if len(req.Resource) > 1 {
		return nil, bulkBadRequest("INVALID_DATA", "the emulator supports one resource per bulk write job",
			map[string]any{"api_name": "resource", "json_path": "$.resource"})
	}
	res := req.Resource[0]
	if res.Type != "" && res.Type != "data" {
		return nil, bulkBadRequest("INVALID_DATA", "resource type must be data",
			map[string]any{"api_name": "type", "json_path": "$.resource[0].type", "supported_values": []string{"data"}})
	}
	if res.Module == nil || res.Module.APIName == "" {
		return nil, bulkMissingKey("$.resource[0].module")
	}
	st := b.stores[res.Module.APIName]
	if st == nil {
		return nil, bulkBadRequest("MODULE_NOT_AVAILABLE", "the module "+res.Module.APIName+" is not available in this org",
			map[string]any{"api_name": res.Module.APIName, "json_path": "$.resource[0].module"})
	}
	mod := st.mod
	if res.FileID == nil || *res.FileID == "" {
		return nil, bulkMissingKey("$.resource[0].file_id")
	}
	findBy := ""
	if op != "insert" {
		if res.FindBy == nil || *res.FindBy == "" {
			return nil, bulkBadRequest("MANDATORY_NOT_FOUND", "Required key find_by is not available",
				map[string]any{"api_name": "find_by", "json_path": "$.resource[0].find_by"})
		}
		findBy = *res.FindBy
		keys := bulkFindByFields(mod)
		if !bulkContains(keys, findBy) {
			return nil, bulkBadRequest("INVALID_DATA", "find_by must be id or a unique or duplicate-check field: "+strings.Join(keys[1:], ", "),
				map[string]any{"api_name": "find_by", "json_path": "$.resource[0].find_by", "supported_values": keys})
		}
	}
	b.mu.Lock()
	file, ok := b.files[*res.FileID]
	b.mu.Unlock()
	if !ok {
		return nil, bulkBadRequest("INVALID_FILE_ID", "no uploaded file has the id "+*res.FileID,
			map[string]any{"api_name": "file_id", "json_path": "$.resource[0].file_id"})
	}
	fileName, records, aerr := bulkReadCSVFromZip(file.data, res.FileNames)
	if aerr != nil {
		return nil, aerr
	}
	header, rows := records[0], records[1:]
	if len(rows) > bulkWriteMaxRecords {
		return nil, bulkBadRequest("LIMIT_EXCEEDED", fmt.Sprintf("the CSV holds %d records; a bulk write file takes at most 25,000", len(rows)),
			map[string]any{"limit": bulkWriteMaxRecords, "api_name": "file_id", "json_path": "$.resource[0].file_id"})
	}

	var maps []bulkMapping
	if res.FieldMappings == nil {
		for i, h := range header {
			name, ok := bulkHeaderField(mod, h)
			if !ok {
				return nil, bulkBadRequest("INVALID_FIELD", "the CSV column "+strconv.Quote(h)+" is not a field of "+mod.APIName+"; rename it or send field_mappings",
					map[string]any{"api_name": h, "index": i})
			}
			maps = append(maps, bulkMapping{APIName: name, Index: i})
		}
	} else {
		for i, m := range res.FieldMappings {
			jp := fmt.Sprintf("$.resource[0].field_mappings[%d]", i)
			if m.APIName == "" {
				return nil, bulkMissingKey(jp + ".api_name")
			}
			if m.Index == nil {
				return nil, bulkMissingKey(jp + ".index")
			}
			name, ok := bulkHeaderField(mod, m.APIName)
			if !ok {
				return nil, bulkBadRequest("INVALID_FIELD", "the field "+m.APIName+" does not exist in "+mod.APIName,
					map[string]any{"api_name": m.APIName, "json_path": jp + ".api_name"})
			}
			if *m.Index < 0 || *m.Index >= len(header) {
				return nil, bulkBadRequest("COLUMN_INDEX_NOT_FOUND", fmt.Sprintf("the CSV has no column %d (it has %d)", *m.Index, len(header)),
					map[string]any{"api_name": m.APIName, "index": *m.Index, "json_path": jp + ".index"})
			}
			maps = append(maps, bulkMapping{APIName: name, Index: *m.Index})
		}
	}
	seen := map[string]bool{}
	for i, m := range maps {
		jp := fmt.Sprintf("$.resource[0].field_mappings[%d]", i)
		if seen[m.APIName] {
			return nil, bulkBadRequest("INVALID_DATA", "the field "+m.APIName+" is mapped twice",
				map[string]any{"api_name": m.APIName, "json_path": jp})
		}
		seen[m.APIName] = true
		f, _ := mod.Field(m.APIName)
		if m.APIName == "id" {
			if op == "insert" {
				return nil, bulkBadRequest("INVALID_FIELD", "id cannot be set on insert; use update or upsert with find_by id",
					map[string]any{"api_name": "id", "json_path": jp})
			}
			continue
		}
		if f.ReadOnly {
			return nil, bulkBadRequest("INVALID_FIELD", "the field "+m.APIName+" is read only",
				map[string]any{"api_name": m.APIName, "json_path": jp})
		}
	}
	if findBy != "" && !seen[findBy] {
		return nil, bulkBadRequest("MANDATORY_FIELDS_NOT_MAPPED", "the find_by field "+findBy+" is not mapped to a CSV column",
			map[string]any{"api_name": findBy})
	}
	if op == "insert" || op == "upsert" {
		for _, f := range mod.Fields {
			if f.Mandatory && !seen[f.APIName] {
				return nil, bulkBadRequest("MANDATORY_FIELDS_NOT_MAPPED", "the mandatory field "+f.APIName+" is not mapped to a CSV column",
					map[string]any{"api_name": f.APIName})
			}
		}
	}
	if fileName == "" {
		fileName = file.name
	}
	return &bulkWriteJob{st: st, operation: op, findBy: findBy, ignoreEmpty: req.IgnoreEmpty, callback: cb, mappings: maps,
		fileName: fileName, header: header, rows: rows, total: len(rows)}, nil
}

func (b *bulkService) findWriteJob(w http.ResponseWriter, r *http.Request, status int) (*bulkWriteJob, string, bool) {
	id := r.PathValue("id")
	b.mu.Lock()
	job, ok := b.writeJobs[id]
	b.mu.Unlock()
	if !ok {
		writeError(w, status, "RESOURCE_NOT_FOUND", "the bulk write job "+id+" was not found", map[string]any{"resource": id})
		return nil, "", false
	}
	state := bulkStateAt(job.created, b.now(), b.step, bulkWriteStates)
	if state == bulkStateCompleted {
		job.apply.Do(func() { b.applyWrite(job) })
	}
	return job, state, true
}

func (b *bulkService) writeStatus(w http.ResponseWriter, r *http.Request) {
	if !b.authorize(w, r) {
		return
	}
	job, state, ok := b.findWriteJob(w, r, http.StatusBadRequest)
	if !ok {
		return
	}
	file := map[string]any{"status": state, "name": job.fileName, "added_count": 0, "skipped_count": 0,
		"updated_count": 0, "total_count": job.total}
	if state == bulkStateCompleted {
		file["added_count"], file["skipped_count"], file["updated_count"] = job.added, job.skipped, job.updated
	}
	resource := map[string]any{"status": state, "type": "data",
		"module": map[string]any{"api_name": job.st.mod.APIName, "id": job.st.mod.ID}, "field_mappings": job.mappings, "file": file}
	if job.findBy != "" {
		resource["find_by"] = job.findBy
	}
	body := map[string]any{"status": state, "character_encoding": "UTF-8", "id": job.id, "operation": job.operation,
		"created_by": bulkCreator(), "created_time": formatTime(job.created), "resource": []any{resource}}
	if job.callback != nil {
		body["callback"] = job.callback
	}
	if state == bulkStateCompleted {
		body["result"] = map[string]any{"download_url": b.writeDownloadURL(r, job.id)}
	}
	writeJSON(w, http.StatusOK, body)
}

// writeDownloadURL is the absolute URL of job's result on the download host
// (§8.3: e.g. https://download-accl.zoho.com/v2/crm/6735/bulk-write/347706122009/347706122009.zip).
func (b *bulkService) writeDownloadURL(r *http.Request, jobID string) string {
	var base string
	if b.downloadBase != nil {
		base = b.downloadBase(r)
	} else {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/v2/crm/" + url.PathEscape(b.zgid) + "/bulk-write/" + jobID + "/" + jobID + ".zip"
}

// writeResult serves a bulk write result on the download host: the token is
// checked by the download host's policy (authorizeDownload), and the path
// must name the org, the job and the job's zip.
func (b *bulkService) writeResult(w http.ResponseWriter, r *http.Request) {
	if !b.authorizeDownload(w, r) {
		return
	}
	if r.PathValue("org") != b.zgid || r.PathValue("file") != r.PathValue("id")+".zip" {
		writeError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "no bulk write result is at this address",
			map[string]any{"resource": r.URL.Path})
		return
	}
	job, state, ok := b.findWriteJob(w, r, http.StatusNotFound)
	if !ok {
		return
	}
	if state != bulkStateCompleted {
		writeError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "the result of bulk write job "+job.id+" is not available yet",
			map[string]any{"resource": job.id})
		return
	}
	var buf bytes.Buffer
	if err := bulkWriteCSVZip(&buf, job.st.mod.APIName+"-"+job.fileName, job.results); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "the result file could not be built", nil)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+job.id+`.zip"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// bulkRowErrors collects a row's errors as Zoho's "CODE-Col1,Col2:CODE2-Col3".
type bulkRowErrors struct {
	codes []string
	cols  map[string][]string
}

func (e *bulkRowErrors) add(code, col string) {
	if e.cols == nil {
		e.cols = map[string][]string{}
	}
	if _, ok := e.cols[code]; !ok {
		e.codes = append(e.codes, code)
	}
	if !bulkContains(e.cols[code], col) {
		e.cols[code] = append(e.cols[code], col)
	}
}

func (e *bulkRowErrors) String() string {
	parts := make([]string, len(e.codes))
	for i, c := range e.codes {
		parts[i] = c + "-" + strings.Join(e.cols[c], ",")
	}
	return strings.Join(parts, ":")
}

// bulkFindByFields are the fields a job may find records by: id, then the
// module's system duplicate-check fields and unique fields.
// UNCONFIRMED: v8's find_by beyond id (§8.2).
func bulkFindByFields(m *Module) []string {
	keys := []string{"id"}
	keys = append(keys, m.DuplicateCheck...)
	for _, f := range m.Fields {
		if f.Unique && !bulkContains(keys, f.APIName) {
			keys = append(keys, f.APIName)
		}
	}
	return keys
}

// applyWrite applies the job's rows to the store, one at a time, and builds
// the result rows. It runs once per job.
func (b *bulkService) applyWrite(job *bulkWriteJob) {
	head := make([]string, 0, len(job.mappings)+3)
	for _, m := range job.mappings {
		head = append(head, job.header[m.Index])
	}
	job.results = append(make([][]string, 0, len(job.rows)+1), append(head, "RECORD_ID", "STATUS", "ERRORS"))
	for _, row := range job.rows {
		out := make([]string, 0, len(head)+3)
		for _, m := range job.mappings {
			out = append(out, row[m.Index])
		}
		id, status, errs := b.applyRow(job, row)
		out = append(out, id, status, errs)
		job.results = append(job.results, out)
	}
	job.rows = nil // the results hold what the download needs
}

// applyRow validates and applies one CSV row; it returns RECORD_ID, STATUS
// and ERRORS for the result file.
func (b *bulkService) applyRow(job *bulkWriteJob, row []string) (string, string, string) {
	st, mod := job.st, job.st.mod
	var errs bulkRowErrors
	key := ""
	for _, m := range job.mappings {
		if m.APIName == job.findBy {
			key = strings.TrimSpace(row[m.Index])
		}
	}

	// Locate the record the row addresses: update needs one; upsert inserts
	// when there is none; insert never looks.
	target := ""
	switch {
	case job.operation == "insert":
	case key == "":
		if job.operation == "update" {
			errs.add("MANDATORY_NOT_FOUND", job.findBy)
		}
	case job.findBy == "id":
		if _, ok := st.Get(key); ok {
			target = key
		} else if job.operation == "update" {
			errs.add("RESOURCE_NOT_FOUND", "id")
		}
	default:
		if id, ok := st.findBy(job.findBy, key); ok {
			target = id
		} else if job.operation == "update" {
			errs.add("RESOURCE_NOT_FOUND", job.findBy)
		}
	}
	updating := target != "" || job.operation == "update"

	// Convert the cells. An empty cell leaves an updated field alone under
	// ignore_empty and clears it otherwise; a mandatory field cannot be
	// cleared.
	data := map[string]any{}
	for _, m := range job.mappings {
		if m.APIName == "id" {
			continue
		}
		f, _ := mod.Field(m.APIName)
		cell := strings.TrimSpace(row[m.Index])
		if cell == "" {
			switch {
			case updating && job.ignoreEmpty:
			case f.Mandatory:
				errs.add("MANDATORY_NOT_FOUND", m.APIName)
			default:
				data[m.APIName] = nil
			}
			continue
		}
		v, ok := b.csvToValue(f, cell, data)
		if !ok {
			errs.add("INVALID_DATA", m.APIName)
			continue
		}
		data[m.APIName] = v
	}
	if !updating {
		for _, f := range mod.Fields {
			if _, ok := data[f.APIName]; f.Mandatory && !ok {
				errs.add("MANDATORY_NOT_FOUND", f.APIName)
			}
		}
	}
	if len(errs.codes) > 0 {
		job.skipped++
		return target, "SKIPPED", errs.String()
	}
	now := b.now()
	var cur Record
	if target != "" {
		cur, _ = st.Get(target)
		data["Modified_By"] = copyRecord(owners[0])
	}
	derive(mod, cur, data, now)
	rec, c, ok := st.write(target, data, now)
	switch {
	case !ok:
		job.skipped++
		return target, "SKIPPED", "RESOURCE_NOT_FOUND-" + job.findBy
	case c != nil:
		job.skipped++
		return target, "SKIPPED", "DUPLICATE_DATA-" + c.field
	}
	id, _ := rec["id"].(string)
	b.noteWrite(id)
	if target != "" {
		job.updated++
		return id, "UPDATED", ""
	}
	job.added++
	return id, "ADDED", ""
}

// csvToValue converts a CSV cell to the stored value of field f; ok is false
// when the cell is not a valid value of the field's type. A multi-module
// lookup's module is the one holding the id (ids are unique across the
// org); its $se_module goes into data. UNCONFIRMED: how Zoho's CSV names
// the module of What_Id and Parent_Id.
func (b *bulkService) csvToValue(f *Field, s string, data map[string]any) (any, bool) {
	switch f.Type {
	case TypeText, TypeWebsite, TypeTextarea:
		return s, utf8.RuneCountInString(s) <= f.maxLen()
	case TypePhone:
		return s, utf8.RuneCountInString(s) <= f.maxLen() && strings.ContainsAny(s, "0123456789")
	case TypeEmail:
		at := strings.IndexByte(s, '@')
		return s, at > 0 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " ,;") && utf8.RuneCountInString(s) <= f.maxLen()
	case TypePicklist:
		if s == "-None-" {
			return nil, true
		}
		return s, bulkContains(f.Values, s)
	case TypeMultiSelect:
		var out []string
		for _, v := range strings.Split(s, ";") {
			v = strings.TrimSpace(v)
			if !bulkContains(f.Values, v) {
				return nil, false
			}
			if !bulkContains(out, v) {
				out = append(out, v)
			}
		}
		return out, true
	case TypeInteger:
		n, err := strconv.ParseInt(s, 10, 32)
		return n, err == nil
	case TypeBigint:
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	case TypeCurrency, TypeDecimal, TypeDouble, TypePercent:
		n, err := strconv.ParseFloat(s, 64)
		return n, err == nil && !math.IsInf(n, 0) && !math.IsNaN(n)
	case TypeBoolean:
		switch strings.ToLower(s) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	case TypeDate:
		_, err := time.Parse(time.DateOnly, s)
		return s, err == nil
	case TypeDatetime:
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, false
		}
		return formatTime(t), true
	case TypeOwnerLookup:
		for _, o := range owners {
			if o["id"] == s {
				return copyRecord(o), true
			}
		}
	case TypeLookup:
		if !f.multiModule() {
			return lookupIn(b.stores, f.Lookup, s)
		}
		for _, mod := range f.Modules {
			if v, ok := lookupIn(b.stores, mod, s); ok {
				if f.APIName == "Parent_Id" {
					v["module"] = Record{"api_name": mod, "id": registry[mod].ID}
				} else {
					data["$se_module"] = mod
				}
				return v, true
			}
		}
	}
	return nil, false
}

// lookupIn returns the lookup value {name, id} of record id of module.
func lookupIn(stores map[string]*Store, module, id string) (Record, bool) {
	st := stores[module]
	if st == nil {
		return nil, false
	}
	r, ok := st.Get(id)
	if !ok {
		return nil, false
	}
	return Record{"name": r[st.mod.NameField], "id": id}, true
}
