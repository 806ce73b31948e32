package zohosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
// not required), every name a field of m, at most 50.
func parseFields(m *Module, q url.Values, required bool) ([]string, *zohoError) {
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
		if _, ok := m.Field(f); !ok {
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

// project returns the record restricted to fields (always with id, and
// with $se_module, which names the module of a Tasks What_Id); nil fields
// means every field.
func project(r Record, fields []string) Record {
	if fields == nil {
		return r
	}
	out := make(Record, len(fields)+1)
	out["id"] = r["id"]
	for _, f := range fields {
		out[f] = r[f]
	}
	if m, ok := r["$se_module"]; ok {
		out["$se_module"] = m
	}
	return out
}

// handleGetOne serves GET /crm/v8/{module}/{id}: {"data":[record]}, 204
// for an unknown id.
func (s *Sim) handleGetOne(w http.ResponseWriter, r *http.Request, st *Store, id string) {
	fields, zerr := parseFields(st.mod, r.URL.Query(), false)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	if !s.spend(w, 1) {
		return
	}
	rec, ok := st.Get(id)
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeRecords(w, http.StatusOK, []Record{project(rec, fields)}, nil, st.mod)
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

// paging is a list request's position: page or page_token, per_page,
// sort_by / sort_order and ids, as parsePaging read them.
type paging struct {
	perPage, page, offset int
	sortBy                string
	desc                  bool
	ids                   []int64 // nil: every record
	idsKey                string  // the ids param as given (tokens are bound to it)
	scope                 uint32  // what tokens are bound to: the module, or the parent and related list
}

// parsePaging reads per_page, sort_by, sort_order, ids and page or
// page_token (reference §4.3). Tokens are bound to scope, to sort_by /
// sort_order and to ids.
func (s *Sim) parsePaging(q url.Values, scope uint32) (paging, *zohoError) {
	p := paging{scope: scope, page: 1}
	var zerr *zohoError
	p.perPage, zerr = intParam(q, "per_page", maxPerPage, 1, maxPerPage)
	if zerr != nil {
		return p, zerr
	}
	var byGiven, orderGiven bool
	p.sortBy, p.desc, byGiven, orderGiven, zerr = sortParams(q)
	if zerr != nil {
		return p, zerr
	}
	if v := q.Get("ids"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) > maxIDsParam {
			return p, errPtr("LIMIT_EXCEEDED", "the number of ids exceeds the limit of 100",
				map[string]any{"limit": maxIDsParam, "param_name": "ids"})
		}
		for _, part := range parts {
			n, ok := ParseID(strings.TrimSpace(part))
			if !ok {
				return p, errPtr("INVALID_DATA", "the id given seems to be invalid",
					map[string]any{"param_name": "ids", "id": part})
			}
			p.ids = append(p.ids, n)
		}
	}
	p.idsKey = q.Get("ids")
	if tok := q.Get("page_token"); tok != "" {
		if q.Get("page") != "" {
			return p, errPtr("AMBIGUITY_DURING_PROCESSING", "page and page_token cannot be given together",
				map[string]any{"ambiguity_due_to": []string{"page", "page_token"}})
		}
		pt, err := s.pageTokens.decode(tok)
		switch {
		case err != nil:
			return p, errPtr("INVALID_DATA", "the page_token given seems to be invalid",
				map[string]any{"param_name": "page_token"})
		case !s.now().Before(pt.expiry):
			return p, errPtr("EXPIRED_VALUE", "the page_token given has expired",
				map[string]any{"api_name": "page_token", "json_path": "$.page_token"})
		case pt.scope != scope:
			// UNCONFIRMED: Zoho's details for a token of another module or
			// related list.
			return p, errPtr("TOKEN_BOUND_DATA_MISMATCH", "the page_token was issued for another module or related list",
				map[string]any{"param_name": "page_token"})
		case byGiven && p.sortBy != pt.sortBy:
			return p, errPtr("TOKEN_BOUND_DATA_MISMATCH", "the page_token was issued for other parameters",
				map[string]any{"param_name": "sort_by"})
		case orderGiven && p.desc != pt.desc:
			return p, errPtr("TOKEN_BOUND_DATA_MISMATCH", "the page_token was issued for other parameters",
				map[string]any{"param_name": "sort_order"})
		case pt.idsHash != hashString(p.idsKey):
			return p, errPtr("TOKEN_BOUND_DATA_MISMATCH", "the page_token was issued for other parameters",
				map[string]any{"param_name": "ids"})
		case pt.offset >= pageTokenLimit:
			return p, errPtr("PAGINATION_LIMIT_EXCEEDED", "You can only get upto 100000 records using page_token param",
				map[string]any{"param_name": "page_token"})
		}
		p.sortBy, p.desc, p.offset = pt.sortBy, pt.desc, pt.offset
		p.page = p.offset/p.perPage + 1
		return p, nil
	}
	page, zerr := intParam(q, "page", 1, 1, 1<<30)
	if zerr != nil {
		return p, zerr
	}
	if page*p.perPage > discreteLimit {
		return p, errPtr("DISCRETE_PAGINATION_LIMIT_EXCEEDED",
			"You can only get the first 2000 records without using page_token param",
			map[string]any{"limit": discreteLimit})
	}
	p.page, p.offset = page, (page-1)*p.perPage
	return p, nil
}

// tokens returns the next and previous page tokens of a page ending at end
// of total rows, and the next token's expiry; nil where there is none.
func (s *Sim) tokens(p paging, end, total int) (next, prev, expiry *string) {
	exp := s.now().Add(pageTokenLifetime)
	mk := func(off int) *string {
		t := s.pageTokens.encode(pageToken{offset: off, sortBy: p.sortBy, desc: p.desc, expiry: exp,
			idsHash: hashString(p.idsKey), scope: p.scope})
		return &t
	}
	if end < total {
		next = mk(end)
		e := formatTime(exp)
		expiry = &e
	}
	if p.offset > 0 {
		prev = mk(max(0, p.offset-p.perPage))
	}
	return next, prev, expiry
}

// filterIDs keeps the ids of order that are in want (nil: keep all).
func filterIDs(order, want []int64) []int64 {
	if want == nil {
		return order
	}
	set := make(map[int64]bool, len(want))
	for _, n := range want {
		set[n] = true
	}
	var sel []int64
	for _, n := range order {
		if set[n] {
			sel = append(sel, n)
		}
	}
	return sel
}

// listScope is what a module's list page tokens are bound to.
func listScope(m *Module) uint32 { return hashString("list\x00" + m.APIName) }

// handleList serves GET /crm/v8/{module} (reference §4.3).
func (s *Sim) handleList(w http.ResponseWriter, r *http.Request, st *Store) {
	q := r.URL.Query()
	fields, zerr := parseFields(st.mod, q, true)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	p, zerr := s.parsePaging(q, listScope(st.mod))
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	if !s.spend(w, 1) {
		return
	}
	order := filterIDs(st.order(p.sortBy, p.desc), p.ids)
	if p.offset >= len(order) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(p.offset+p.perPage, len(order))
	data := make([]Record, 0, end-p.offset)
	for _, n := range order[p.offset:end] {
		if rec, ok := st.Get(strconv.FormatInt(n, 10)); ok {
			data = append(data, project(rec, fields))
		}
	}
	if len(data) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	info := listInfo{PerPage: p.perPage, Count: len(data), Page: p.page, SortBy: p.sortBy,
		SortOrder: sortOrderName(p.desc), MoreRecords: end < len(order)}
	info.NextPageToken, info.PreviousPageToken, info.PageTokenExpiry = s.tokens(p, end, len(order))
	writeRecords(w, http.StatusOK, data, info, st.mod)
}

func sortOrderName(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
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

// handleUpdate serves PUT /crm/v8/{module} (pathID "") and PUT
// /crm/v8/{module}/{id} (reference §4.5): per-record results in input order,
// 200 all updated, 207 mixed, 400 all failed (412 when all failed on
// If-Unmodified-Since).
func (s *Sim) handleUpdate(w http.ResponseWriter, r *http.Request, st *Store, pathID string) {
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
	body, zerr := readWriteBody(r)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	items := body.items
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
		res := s.updateOne(st, i, raw, pathID, unmodifiedSince)
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

// writeBody is a write request's body: its data items and every top-level key.
type writeBody struct {
	items []json.RawMessage
	top   map[string]json.RawMessage
}

// readWriteBody reads {"data":[…], "trigger":[…], …}: 1–100 data items and
// a valid trigger.
func readWriteBody(r *http.Request) (writeBody, *zohoError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return writeBody{}, errPtr("INVALID_DATA", "the request body could not be read", nil)
	}
	if len(body) > maxBodyBytes {
		return writeBody{}, errPtr("LIMIT_EXCEEDED", "the request body is too large", map[string]any{"maximum_length": maxBodyBytes})
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return writeBody{}, errPtr("INVALID_DATA", "the request body is not a valid JSON object",
			map[string]any{"expected_data_type": "jsonobject"})
	}
	rawData, ok := top["data"]
	if !ok || string(rawData) == "null" {
		return writeBody{}, errPtr("MANDATORY_NOT_FOUND", "required field not found",
			map[string]any{"api_name": "data", "json_path": "$.data"})
	}
	var items []json.RawMessage
	if err := json.Unmarshal(rawData, &items); err != nil {
		return writeBody{}, errPtr("INVALID_DATA", "data must be a JSON array of records",
			map[string]any{"api_name": "data", "json_path": "$.data", "expected_data_type": "jsonarray"})
	}
	if len(items) == 0 {
		return writeBody{}, errPtr("MANDATORY_NOT_FOUND", "required field not found",
			map[string]any{"api_name": "data", "json_path": "$.data"})
	}
	if len(items) > maxWriteRecords {
		return writeBody{}, errPtr("LIMIT_EXCEEDED", "the number of records exceeds the limit of 100",
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
			return writeBody{}, errPtr("INVALID_DATA", "the trigger given seems to be invalid",
				map[string]any{"api_name": "trigger", "json_path": "$.trigger", "supported_values": triggerValues})
		}
	}
	return writeBody{items: items, top: top}, nil
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
func (s *Sim) updateOne(st *Store, i int, raw json.RawMessage, pathID string, unmodifiedSince time.Time) updateResult {
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
	cur, ok := st.Get(id)
	if !ok {
		return recordError("INVALID_DATA", "the id given seems to be invalid", map[string]any{"id": id})
	}
	changes, res := s.recordChanges(st.mod, obj, path, false)
	if res != nil {
		return *res
	}
	if !unmodifiedSince.IsZero() {
		if mt, err := time.Parse(time.RFC3339, cur["Modified_Time"].(string)); err == nil && mt.After(unmodifiedSince) {
			return recordError("ALREADY_MODIFIED", "record updated time has already passed if-unmodified-since time",
				map[string]any{"id": id})
		}
	}
	now := s.now()
	derive(st.mod, cur, changes, now)
	changes["Modified_By"] = copyRecord(owners[0])
	upd, c, ok := st.write(id, changes, now)
	switch {
	case !ok:
		return recordError("INVALID_DATA", "the id given seems to be invalid", map[string]any{"id": id})
	case c != nil:
		return s.duplicateError(st, c, path)
	}
	s.noteWrite(id)
	return writeSuccess(upd, "record updated")
}

// writeSuccess is a write's per-record success element (reference §3).
func writeSuccess(rec Record, message string) updateResult {
	nameID := func(v any) map[string]any {
		m, _ := v.(Record)
		return map[string]any{"name": m["name"], "id": m["id"]}
	}
	return updateResult{Code: "SUCCESS", Status: "success", Message: message, Details: map[string]any{
		"Modified_Time":   rec["Modified_Time"],
		"Modified_By":     nameID(rec["Modified_By"]),
		"Created_Time":    rec["Created_Time"],
		"id":              rec["id"],
		"Created_By":      nameID(rec["Created_By"]),
		"$approval_state": "approved",
	}}
}
