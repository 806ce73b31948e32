package zohosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Records API limits (reference §4).
const (
	maxFieldsParam    = 50
	maxPerPage        = 200
	discreteLimit     = 2000
	pageTokenLimit    = 100_000
	maxWriteRecords   = 100
	maxIDsParam       = 100
	maxBodyBytes      = 8 << 20
	pageTokenLifetime = 24 * time.Hour
)

var sortByValues = []string{"id", "Created_Time", "Modified_Time"}

var triggerValues = []string{"approval", "workflow", "blueprint", "pathfinder", "orchestration"}

func errPtr(code, message string, details map[string]any) *zohoError {
	e := newError(code, message, details)
	return &e
}

// writeZohoError writes a request-level error as HTTP 400.
func writeZohoError(w http.ResponseWriter, e *zohoError) { writeJSON(w, http.StatusBadRequest, e) }

// parseFields reads the comma-separated fields param: nil when absent (and
// not required), every name a known field, at most 50.
func parseFields(q url.Values, required bool) ([]string, *zohoError) {
	raw := strings.TrimSpace(q.Get("fields"))
	if raw == "" {
		if required {
			return nil, errPtr("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
				map[string]any{"param_name": "fields"})
		}
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, f)
	}
	if len(out) > maxFieldsParam {
		return nil, errPtr("LIMIT_EXCEEDED", "the number of fields exceeds the limit of 50",
			map[string]any{"limit": maxFieldsParam, "param_name": "fields"})
	}
	for _, f := range out {
		if _, ok := LookupField(f); !ok {
			return nil, errPtr("INVALID_DATA", "the field api name given seems to be invalid",
				map[string]any{"param_name": "fields", "api_name": f})
		}
	}
	return out, nil
}

// intParam reads an integer query param within [lo, hi]; def when absent.
func intParam(q url.Values, name string, def, lo, hi int) (int, *zohoError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errPtr("INVALID_DATA", "the "+name+" given seems to be invalid; send an integer",
			map[string]any{"param_name": name, "expected_data_type": "integer"})
	}
	if n < lo || n > hi {
		return 0, errPtr("INVALID_DATA", fmt.Sprintf("the %s given seems to be invalid; it must be between %d and %d", name, lo, hi),
			map[string]any{"param_name": name})
	}
	return n, nil
}

// sortParams reads sort_by (id, Created_Time, Modified_Time) and sort_order
// (asc, desc); given reports whether each was present.
func sortParams(q url.Values) (by string, desc bool, byGiven, orderGiven bool, zerr *zohoError) {
	by, desc = "id", true
	if v := q.Get("sort_by"); v != "" {
		byGiven = true
		ok := false
		for _, s := range sortByValues {
			if v == s {
				ok = true
			}
		}
		if !ok {
			return "", false, false, false, errPtr("INVALID_DATA", "the sort_by given seems to be invalid",
				map[string]any{"param_name": "sort_by", "supported_values": sortByValues})
		}
		by = v
	}
	if v := q.Get("sort_order"); v != "" {
		orderGiven = true
		switch v {
		case "asc":
			desc = false
		case "desc":
			desc = true
		default:
			return "", false, false, false, errPtr("INVALID_DATA", "the sort_order given seems to be invalid",
				map[string]any{"param_name": "sort_order", "supported_values": []string{"asc", "desc"}})
		}
	}
	return by, desc, byGiven, orderGiven, nil
}

// project returns the record restricted to fields (always with id); nil
// fields means every field.
func project(r Record, fields []string) Record {
	if fields == nil {
		return r
	}
	out := make(Record, len(fields)+1)
	out["id"] = r["id"]
	for _, f := range fields {
		out[f] = r[f]
	}
	return out
}

// handleGetOne serves GET /crm/v8/Accounts/{id}: {"data":[record]}, 204
// for an unknown id.
func (s *Sim) handleGetOne(w http.ResponseWriter, r *http.Request, id string) {
	fields, zerr := parseFields(r.URL.Query(), false)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	if !s.spend(w, 1) {
		return
	}
	rec, ok := s.store.Get(id)
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeRecords(w, http.StatusOK, []Record{project(rec, fields)}, nil)
}

// listInfo is the list response's info object, keys exactly as Zoho's.
type listInfo struct {
	Call              bool    `json:"call"`
	PerPage           int     `json:"per_page"`
	Count             int     `json:"count"`
	Page              int     `json:"page"`
	SortBy            string  `json:"sort_by"`
	SortOrder         string  `json:"sort_order"`
	Email             bool    `json:"email"`
	MoreRecords       bool    `json:"more_records"`
	NextPageToken     *string `json:"next_page_token"`
	PreviousPageToken *string `json:"previous_page_token"`
	PageTokenExpiry   *string `json:"page_token_expiry"`
}

// handleList serves GET /crm/v8/Accounts (reference §4.3).
func (s *Sim) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fields, zerr := parseFields(q, true)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	perPage, zerr := intParam(q, "per_page", maxPerPage, 1, maxPerPage)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	sortBy, desc, byGiven, orderGiven, zerr := sortParams(q)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	var ids []int64
	if v := q.Get("ids"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) > maxIDsParam {
			writeZohoError(w, errPtr("LIMIT_EXCEEDED", "the number of ids exceeds the limit of 100",
				map[string]any{"limit": maxIDsParam, "param_name": "ids"}))
			return
		}
		for _, p := range parts {
			n, ok := ParseID(strings.TrimSpace(p))
			if !ok {
				writeZohoError(w, errPtr("INVALID_DATA", "the id given seems to be invalid",
					map[string]any{"param_name": "ids", "id": p}))
				return
			}
			ids = append(ids, n)
		}
	}
	idsKey := q.Get("ids")
	offset := 0
	page := 1
	if tok := q.Get("page_token"); tok != "" {
		if q.Get("page") != "" {
			writeZohoError(w, errPtr("AMBIGUITY_DURING_PROCESSING", "page and page_token cannot be given together",
				map[string]any{"ambiguity_due_to": []string{"page", "page_token"}}))
			return
		}
		pt, err := s.pageTokens.decode(tok)
		switch {
		case err != nil:
			writeZohoError(w, errPtr("INVALID_DATA", "the page_token given seems to be invalid",
				map[string]any{"param_name": "page_token"}))
			return
		case !s.now().Before(pt.expiry):
			writeZohoError(w, errPtr("EXPIRED_VALUE", "the page_token given has expired",
				map[string]any{"api_name": "page_token", "json_path": "$.page_token"}))
			return
		case byGiven && sortBy != pt.sortBy:
			writeZohoError(w, errPtr("TOKEN_BOUND_DATA_MISMATCH", "the page_token was issued for other parameters",
				map[string]any{"param_name": "sort_by"}))
			return
		case orderGiven && desc != pt.desc:
			writeZohoError(w, errPtr("TOKEN_BOUND_DATA_MISMATCH", "the page_token was issued for other parameters",
				map[string]any{"param_name": "sort_order"}))
			return
		case pt.idsHash != hashString(idsKey):
			writeZohoError(w, errPtr("TOKEN_BOUND_DATA_MISMATCH", "the page_token was issued for other parameters",
				map[string]any{"param_name": "ids"}))
			return
		case pt.offset >= pageTokenLimit:
			writeZohoError(w, errPtr("PAGINATION_LIMIT_EXCEEDED", "You can only get upto 100000 records using page_token param",
				map[string]any{"param_name": "page_token"}))
			return
		}
		sortBy, desc, offset = pt.sortBy, pt.desc, pt.offset
		page = offset/perPage + 1
	} else {
		p, zerr := intParam(q, "page", 1, 1, 1<<30)
		if zerr != nil {
			writeZohoError(w, zerr)
			return
		}
		if p*perPage > discreteLimit {
			writeZohoError(w, errPtr("DISCRETE_PAGINATION_LIMIT_EXCEEDED",
				"You can only get the first 2000 records without using page_token param",
				map[string]any{"limit": discreteLimit}))
			return
		}
		page, offset = p, (p-1)*perPage
	}
	if !s.spend(w, 1) {
		return
	}
	order := s.store.order(sortBy, desc)
	if ids != nil {
		want := make(map[int64]bool, len(ids))
		for _, n := range ids {
			want[n] = true
		}
		var sel []int64
		for _, n := range order {
			if want[n] {
				sel = append(sel, n)
			}
		}
		order = sel
	}
	if offset >= len(order) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(offset+perPage, len(order))
	data := make([]Record, 0, end-offset)
	for _, n := range order[offset:end] {
		if rec, ok := s.store.Get(strconv.FormatInt(n, 10)); ok {
			data = append(data, project(rec, fields))
		}
	}
	if len(data) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	info := listInfo{PerPage: perPage, Count: len(data), Page: page, SortBy: sortBy,
		SortOrder: map[bool]string{true: "desc", false: "asc"}[desc], MoreRecords: end < len(order)}
	expiry := s.now().Add(pageTokenLifetime)
	mk := func(off int) *string {
		t := s.pageTokens.encode(pageToken{offset: off, sortBy: sortBy, desc: desc, expiry: expiry, idsHash: hashString(idsKey)})
		return &t
	}
	if info.MoreRecords {
		info.NextPageToken = mk(end)
		e := formatTime(expiry)
		info.PageTokenExpiry = &e
	}
	if offset > 0 {
		info.PreviousPageToken = mk(max(0, offset-perPage))
	}
	writeRecords(w, http.StatusOK, data, info)
}

// updateResult is one element of a write response's data array.
type updateResult struct {
	Code    string         `json:"code"`
	Details map[string]any `json:"details"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
}

func recordError(code, message string, details map[string]any) updateResult {
	return updateResult{Code: code, Details: details, Message: message, Status: "error"}
}

// handleUpdate serves PUT /crm/v8/Accounts (pathID "") and PUT
// /crm/v8/Accounts/{id} (reference §4.5): per-record results in input order,
// 200 all updated, 207 mixed, 400 all failed (412 when all failed on
// If-Unmodified-Since).
func (s *Sim) handleUpdate(w http.ResponseWriter, r *http.Request, pathID string) {
	var unmodifiedSince time.Time
	if h := r.Header.Get("If-Unmodified-Since"); h != "" {
		t, err := time.Parse(time.RFC3339, h)
		if err != nil {
			t, err = http.ParseTime(h)
		}
		if err != nil {
			writeZohoError(w, errPtr("INVALID_DATA", "the If-Unmodified-Since header must be an ISO-8601 datetime",
				map[string]any{"header_name": "If-Unmodified-Since"}))
			return
		}
		unmodifiedSince = t
	}
	items, zerr := readWriteBody(r)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	if pathID != "" && len(items) > 1 {
		writeZohoError(w, errPtr("LIMIT_EXCEEDED", "only one record can be updated through this URL",
			map[string]any{"limit": 1, "api_name": "data", "json_path": "$.data"}))
		return
	}
	if len(items) > 10 {
		release, ok := s.acquireSub(w)
		if !ok {
			return
		}
		defer release()
	}
	if !s.spend(w, (len(items)+9)/10) {
		return
	}
	results := make([]updateResult, len(items))
	ok, bad, stale := 0, 0, 0
	for i, raw := range items {
		res := s.updateOne(i, raw, pathID, unmodifiedSince)
		results[i] = res
		switch {
		case res.Status == "success":
			ok++
		case res.Code == "ALREADY_MODIFIED":
			stale++
		default:
			bad++
		}
	}
	status := http.StatusOK
	switch {
	case ok == len(items):
	case ok > 0:
		status = http.StatusMultiStatus
	case stale == len(items):
		status = http.StatusPreconditionFailed
	default:
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]any{"data": results})
}

// readWriteBody reads {"data":[…], "trigger":[…], …} and returns the data items.
func readWriteBody(r *http.Request) ([]json.RawMessage, *zohoError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, errPtr("INVALID_DATA", "the request body could not be read", nil)
	}
	if len(body) > maxBodyBytes {
		return nil, errPtr("LIMIT_EXCEEDED", "the request body is too large", map[string]any{"maximum_length": maxBodyBytes})
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, errPtr("INVALID_DATA", "the request body is not a valid JSON object",
			map[string]any{"expected_data_type": "jsonobject"})
	}
	rawData, ok := top["data"]
	if !ok || string(rawData) == "null" {
		return nil, errPtr("MANDATORY_NOT_FOUND", "required field not found",
			map[string]any{"api_name": "data", "json_path": "$.data"})
	}
	var items []json.RawMessage
	if err := json.Unmarshal(rawData, &items); err != nil {
		return nil, errPtr("INVALID_DATA", "data must be a JSON array of records",
			map[string]any{"api_name": "data", "json_path": "$.data", "expected_data_type": "jsonarray"})
	}
	if len(items) == 0 {
		return nil, errPtr("MANDATORY_NOT_FOUND", "required field not found",
			map[string]any{"api_name": "data", "json_path": "$.data"})
	}
	if len(items) > maxWriteRecords {
		return nil, errPtr("LIMIT_EXCEEDED", "the number of records exceeds the limit of 100",
			map[string]any{"api_name": "data", "json_path": "$.data", "limit": maxWriteRecords})
	}
	if rawTrig, ok := top["trigger"]; ok && string(rawTrig) != "null" {
		var trig []string
		bad := json.Unmarshal(rawTrig, &trig) != nil
		for _, t := range trig {
			known := false
			for _, v := range triggerValues {
				known = known || t == v
			}
			bad = bad || !known
		}
		if bad {
			return nil, errPtr("INVALID_DATA", "the trigger given seems to be invalid",
				map[string]any{"api_name": "trigger", "json_path": "$.trigger", "supported_values": triggerValues})
		}
	}
	return items, nil
}

// kv is one key of a JSON object, in input order.
type kv struct {
	key string
	val json.RawMessage
}

// decodeObject decodes a JSON object keeping its key order.
func decodeObject(raw json.RawMessage) ([]kv, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var out []kv
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, kv{key, v})
	}
	return out, nil
}

// updateOne validates and applies record i of an update.
func (s *Sim) updateOne(i int, raw json.RawMessage, pathID string, unmodifiedSince time.Time) updateResult {
	path := fmt.Sprintf("$.data[%d]", i)
	obj, err := decodeObject(raw)
	if err != nil {
		return recordError("INVALID_DATA", "invalid data", map[string]any{"json_path": path, "expected_data_type": "jsonobject"})
	}
	id := pathID
	if id == "" {
		var rawID json.RawMessage
		for _, f := range obj {
			if f.key == "id" {
				rawID = f.val
			}
		}
		if rawID == nil || string(rawID) == "null" {
			return recordError("MANDATORY_NOT_FOUND", "required field not found",
				map[string]any{"api_name": "id", "json_path": path + ".id"})
		}
		var sid string
		if json.Unmarshal(rawID, &sid) != nil {
			var num json.Number
			if json.Unmarshal(rawID, &num) != nil {
				return recordError("INVALID_DATA", "invalid data",
					map[string]any{"api_name": "id", "json_path": path + ".id", "expected_data_type": "bigint"})
			}
			sid = num.String()
		}
		if _, ok := ParseID(sid); !ok {
			return recordError("INVALID_DATA", "invalid data",
				map[string]any{"api_name": "id", "json_path": path + ".id", "expected_data_type": "bigint"})
		}
		id = sid
	}
	cur, ok := s.store.Get(id)
	if !ok {
		return recordError("INVALID_DATA", "the id given seems to be invalid", map[string]any{"id": id})
	}
	changes := map[string]any{}
	for _, f := range obj {
		if f.key == "id" || strings.HasPrefix(f.key, "$") {
			continue
		}
		fp := path + "." + f.key
		fd, ok := LookupField(f.key)
		if !ok {
			return recordError("INVALID_DATA", "the field api name given seems to be invalid",
				map[string]any{"api_name": f.key, "json_path": fp})
		}
		if fd.ReadOnly {
			return recordError("INVALID_DATA", "the field is read only and cannot be updated",
				map[string]any{"api_name": f.key, "json_path": fp})
		}
		v, res := s.convertValue(fd, f.val, fp)
		if res != nil {
			return *res
		}
		changes[f.key] = v
	}
	if !unmodifiedSince.IsZero() {
		if mt, err := time.Parse(time.RFC3339, cur["Modified_Time"].(string)); err == nil && mt.After(unmodifiedSince) {
			return recordError("ALREADY_MODIFIED", "record updated time has already passed if-unmodified-since time",
				map[string]any{"id": id})
		}
	}
	changes["Modified_By"] = copyRecord(owners[0])
	upd, ok := s.store.Update(id, changes)
	if !ok {
		return recordError("INVALID_DATA", "the id given seems to be invalid", map[string]any{"id": id})
	}
	s.noteWrite(id)
	nameID := func(v any) map[string]any {
		m, _ := v.(Record)
		return map[string]any{"name": m["name"], "id": m["id"]}
	}
	return updateResult{Code: "SUCCESS", Status: "success", Message: "record updated", Details: map[string]any{
		"Modified_Time":   upd["Modified_Time"],
		"Modified_By":     nameID(upd["Modified_By"]),
		"Created_Time":    upd["Created_Time"],
		"id":              id,
		"Created_By":      nameID(upd["Created_By"]),
		"$approval_state": "approved",
	}}
}

// maxLength per text-like type (characters).
var maxLength = map[FieldType]int{TypeText: 255, TypeTextarea: 32000, TypeEmail: 100, TypePhone: 30, TypeWebsite: 255}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// convertValue checks a written value against the field's type and returns
// the stored value, or the per-record error.
func (s *Sim) convertValue(fd *Field, raw json.RawMessage, jsonPath string) (any, *updateResult) {
	details := func(extra map[string]any) map[string]any {
		d := map[string]any{"api_name": fd.APIName, "json_path": jsonPath}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	typeErr := func() (any, *updateResult) {
		e := recordError("INVALID_DATA", "invalid data", details(map[string]any{"expected_data_type": string(fd.Type)}))
		return nil, &e
	}
	if string(raw) == "null" {
		if fd.APIName == "Account_Name" {
			e := recordError("MANDATORY_NOT_FOUND", "required field not found", details(nil))
			return nil, &e
		}
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return typeErr()
	}
	switch fd.Type {
	case TypeText, TypeTextarea, TypeEmail, TypePhone, TypeWebsite, TypePicklist:
		str, ok := v.(string)
		if !ok {
			return typeErr()
		}
		if fd.APIName == "Account_Name" && strings.TrimSpace(str) == "" {
			e := recordError("MANDATORY_NOT_FOUND", "required field not found", details(nil))
			return nil, &e
		}
		if n, ok := maxLength[fd.Type]; ok && utf8.RuneCountInString(str) > n {
			e := recordError("INVALID_DATA", "invalid data", details(map[string]any{"maximum_length": n}))
			return nil, &e
		}
		if fd.Type == TypeEmail && str != "" && !emailRE.MatchString(str) {
			return typeErr()
		}
		if fd.Type == TypePicklist {
			known := false
			for _, pv := range fd.Values {
				known = known || pv == str
			}
			if !known {
				e := recordError("INVALID_DATA", "invalid data", details(map[string]any{"supported_values": fd.Values}))
				return nil, &e
			}
		}
		return str, nil
	case TypeInteger, TypeBigint:
		var n int64
		var err error
		switch x := v.(type) {
		case json.Number:
			n, err = x.Int64()
		case string:
			if fd.Type != TypeBigint {
				return typeErr()
			}
			n, err = strconv.ParseInt(x, 10, 64)
		default:
			return typeErr()
		}
		if err != nil || (fd.Type == TypeInteger && (n > 1<<31-1 || n < -(1<<31))) {
			return typeErr()
		}
		return n, nil
	case TypeCurrency, TypeDecimal:
		x, ok := v.(json.Number)
		if !ok {
			return typeErr()
		}
		f, err := x.Float64()
		if err != nil {
			return typeErr()
		}
		return f, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return typeErr()
		}
		return b, nil
	case TypeOwnerLookup, TypeLookup:
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr()
		}
		id := fmt.Sprint(m["id"])
		if fd.Type == TypeOwnerLookup {
			for _, o := range owners {
				if o["id"] == id {
					return copyRecord(o), nil
				}
			}
			e := recordError("INVALID_DATA", "invalid data", details(map[string]any{"expected_data_type": string(fd.Type), "id": id}))
			return nil, &e
		}
		target, ok := s.store.Get(id)
		if !ok {
			e := recordError("INVALID_DATA", "invalid data", details(map[string]any{"expected_data_type": string(fd.Type), "id": id}))
			return nil, &e
		}
		return Record{"name": target["Account_Name"], "id": id}, nil
	}
	return typeErr()
}
