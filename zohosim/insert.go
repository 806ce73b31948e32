package zohosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// writeStatus is a multi-record write's HTTP status: all succeeded (okStatus),
// some (207), none (400).
func writeStatus(ok, total, okStatus int) int {
	switch {
	case ok == total:
		return okStatus
	case ok > 0:
		return http.StatusMultiStatus
	}
	return http.StatusBadRequest
}

// startWrite takes what every multi-record write costs: a sub-concurrency
// slot for more than 10 records (§9.3) and a credit per 10 records (§9.2).
// ok is false when it answered 429; call release when done.
func (s *Sim) startWrite(w http.ResponseWriter, n int) (release func(), ok bool) {
	release = func() {}
	if n > 10 {
		if release, ok = s.acquireSub(w); !ok {
			return release, false
		}
	}
	if !s.spend(w, (n+9)/10) {
		release()
		return func() {}, false
	}
	return release, true
}

// handleInsert serves POST /crm/v8/{module} (reference §4.4): 1–100
// records, per-record results in input order, 201 all added, 207 mixed,
// 400 all failed.
func (s *Sim) handleInsert(w http.ResponseWriter, r *http.Request, st *Store) {
	body, zerr := readWriteBody(r)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	release, ok := s.startWrite(w, len(body.items))
	if !ok {
		return
	}
	defer release()
	results := make([]updateResult, len(body.items))
	added := 0
	for i, raw := range body.items {
		results[i] = s.insertOne(st, i, raw)
		if results[i].Status == "success" {
			added++
		}
	}
	writeJSON(w, writeStatus(added, len(results), http.StatusCreated), map[string]any{"data": results})
}

// insertOne validates and adds record i of an insert.
func (s *Sim) insertOne(st *Store, i int, raw json.RawMessage) updateResult {
	path := fmt.Sprintf("$.data[%d]", i)
	obj, err := decodeObject(raw)
	if err != nil {
		return recordError("INVALID_DATA", "invalid data", map[string]any{"json_path": path, "expected_data_type": "jsonobject"})
	}
	changes, res := s.recordChanges(st.mod, obj, path, true)
	if res != nil {
		return *res
	}
	return s.add(st, changes, path)
}

// add inserts validated changes as a new record: mandatory fields, derived
// values, unique fields.
func (s *Sim) add(st *Store, changes map[string]any, path string) updateResult {
	if res := missingMandatory(st.mod, changes, path); res != nil {
		return *res
	}
	now := s.now()
	derive(st.mod, nil, changes, now)
	rec, c, _ := st.write("", changes, now)
	if c != nil {
		return s.duplicateError(st, c, path)
	}
	id, _ := rec["id"].(string)
	s.noteWrite(id)
	return writeSuccess(rec, "record added")
}

// upsertResult is an upsert's per-record element: a write result, plus on
// success "action" (insert or update) and "duplicate_field" (the field it
// was matched on, null when inserted or matched by id).
type upsertResult map[string]any

// handleUpsert serves POST /crm/v8/{module}/upsert (reference §4.6): each
// record is matched by its id, else by duplicate_check_fields in order
// (default: the module's system duplicate-check fields, then its unique
// fields); a match is updated, anything else inserted. 200 all succeeded,
// 207 mixed, 400 all failed. Several matching records: the oldest (lowest
// id) is updated (UNCONFIRMED, §4.6).
func (s *Sim) handleUpsert(w http.ResponseWriter, r *http.Request, st *Store) {
	body, zerr := readWriteBody(r)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	checks, zerr := duplicateCheckFields(st.mod, body.top["duplicate_check_fields"])
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	release, ok := s.startWrite(w, len(body.items))
	if !ok {
		return
	}
	defer release()
	results := make([]upsertResult, len(body.items))
	done := 0
	for i, raw := range body.items {
		results[i] = s.upsertOne(st, i, raw, checks)
		if results[i]["status"] == "success" {
			done++
		}
	}
	writeJSON(w, writeStatus(done, len(results), http.StatusOK), map[string]any{"data": results})
}

// duplicateCheckFields reads duplicate_check_fields: field names of m that
// are unique or system duplicate-check fields; absent means those, in
// that order.
func duplicateCheckFields(m *Module, raw json.RawMessage) ([]string, *zohoError) {
	allowed := append([]string(nil), m.DuplicateCheck...)
	for _, f := range m.Fields {
		if f.Unique && !bulkContains(allowed, f.APIName) {
			allowed = append(allowed, f.APIName)
		}
	}
	if raw == nil || string(raw) == "null" {
		return allowed, nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil || len(names) == 0 {
		return nil, errPtr("INVALID_DATA", "duplicate_check_fields must be a non-empty array of field API names",
			map[string]any{"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields", "expected_data_type": "jsonarray"})
	}
	for i, n := range names {
		if !bulkContains(allowed, n) {
			return nil, errPtr("INVALID_DATA", "the field given is not a unique or duplicate-check field of "+m.APIName,
				map[string]any{"api_name": "duplicate_check_fields", "json_path": fmt.Sprintf("$.duplicate_check_fields[%d]", i),
					"supported_values": allowed})
		}
	}
	return names, nil
}

// upsertOne matches and writes record i of an upsert.
func (s *Sim) upsertOne(st *Store, i int, raw json.RawMessage, checks []string) upsertResult {
	path := fmt.Sprintf("$.data[%d]", i)
	wrap := func(u updateResult, field any, action string) upsertResult {
		out := upsertResult{"code": u.Code, "details": u.Details, "message": u.Message, "status": u.Status}
		if u.Status == "success" {
			out["duplicate_field"], out["action"] = field, action
		}
		return out
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return wrap(recordError("INVALID_DATA", "invalid data", map[string]any{"json_path": path, "expected_data_type": "jsonobject"}), nil, "")
	}
	for _, f := range obj {
		if f.key == "id" {
			// A record that names its id is an update of that record.
			return wrap(s.updateOne(st, i, raw, "", time.Time{}), nil, "update")
		}
	}
	changes, res := s.recordChanges(st.mod, obj, path, false)
	if res != nil {
		return wrap(*res, nil, "")
	}
	for _, field := range checks {
		v, ok := changes[field].(string)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		id, found := st.findBy(field, v)
		if !found {
			continue
		}
		cur, _ := st.Get(id)
		now := s.now()
		derive(st.mod, cur, changes, now)
		changes["Modified_By"] = copyRecord(owners[0])
		rec, c, ok := st.write(id, changes, now)
		switch {
		case !ok:
			return wrap(recordError("INVALID_DATA", "the id given seems to be invalid", map[string]any{"id": id}), nil, "")
		case c != nil:
			return wrap(s.duplicateError(st, c, path), nil, "")
		}
		s.noteWrite(id)
		return wrap(writeSuccess(rec, "record updated"), field, "update")
	}
	return wrap(s.add(st, changes, path), nil, "insert")
}
