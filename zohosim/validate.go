package zohosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Field validation of record writes (reference §3, §4.4, §4.5), driven by
// the module's metadata: the first error of a record is its per-record
// result, keys checked in input order.
//
//   - unknown field: INVALID_DATA "the field api name given seems to be
//     invalid" {api_name, json_path}
//   - read-only field: INVALID_DATA "the field is read only and cannot be
//     updated" {api_name, json_path}
//   - wrong JSON type or format: INVALID_DATA {api_name, json_path,
//     expected_data_type}
//   - too long: INVALID_DATA {…, maximum_length}
//   - picklist value not allowed: INVALID_DATA {…, supported_values}
//   - mandatory field null or blank (or, on insert, missing):
//     MANDATORY_NOT_FOUND {api_name, json_path}
//   - unique value held by another record: DUPLICATE_DATA {api_name,
//     json_path, id, duplicate_record, more_records}
//
// Keys starting with $ are system keys: $se_module names the module of a
// Tasks What_Id; the others are ignored.

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// recordChanges validates a record's keys against m and returns the values
// to store. On insert every key but $ keys is a field (id is read-only);
// on update id is skipped. It does not check mandatory fields an insert
// leaves out (missingMandatory does).
func (s *Sim) recordChanges(m *Module, obj []kv, path string, insert bool) (map[string]any, *updateResult) {
	changes := map[string]any{}
	for _, f := range obj {
		if (f.key == "id" && !insert) || strings.HasPrefix(f.key, "$") {
			continue
		}
		fp := path + "." + f.key
		fd, ok := m.Field(f.key)
		if !ok {
			e := recordError("INVALID_DATA", "the field api name given seems to be invalid",
				map[string]any{"api_name": f.key, "json_path": fp})
			return nil, &e
		}
		if fd.ReadOnly {
			e := recordError("INVALID_DATA", "the field is read only and cannot be updated",
				map[string]any{"api_name": f.key, "json_path": fp})
			return nil, &e
		}
		v, extra, res := s.convertValue(fd, f.val, fp, path, obj)
		if res != nil {
			return nil, res
		}
		changes[f.key] = v
		for k, x := range extra {
			changes[k] = x
		}
	}
	return changes, nil
}

// missingMandatory returns the MANDATORY_NOT_FOUND result for the first
// mandatory field of m an insert leaves out or null.
func missingMandatory(m *Module, changes map[string]any, path string) *updateResult {
	for i := range m.Fields {
		f := &m.Fields[i]
		if !f.Mandatory {
			continue
		}
		if v, ok := changes[f.APIName]; !ok || v == nil {
			e := recordError("MANDATORY_NOT_FOUND", "required field not found",
				map[string]any{"api_name": f.APIName, "json_path": path + "." + f.APIName})
			return &e
		}
	}
	return nil
}

// ownerZUID is the zuid Zoho shows beside an owner in duplicate_record.
// UNCONFIRMED: the emulator's users' zuids are made up.
var ownerZUID = map[string]string{"5725767000000411001": "71500001", "5725767000000411002": "71500002",
	"5725767000000411003": "71500003"}

// duplicateError is the DUPLICATE_DATA result for a unique clash (reference
// §4.4, createRecords duplicatedataerror example).
func (s *Sim) duplicateError(st *Store, c *conflict, path string) updateResult {
	dup := map[string]any{"id": c.id}
	if r, ok := st.Get(c.id); ok {
		if o := lookupMap(r["Owner"]); o != nil {
			id, _ := o["id"].(string)
			dup["Owner"] = map[string]any{"name": o["name"], "id": id, "zuid": ownerZUID[id]}
		}
	}
	return recordError("DUPLICATE_DATA", "duplicate data", map[string]any{
		"api_name": c.field, "json_path": path + "." + c.field, "id": c.id,
		"duplicate_record": dup, "more_records": false})
}

// convertValue checks a written value against the field's type and returns
// the stored value (and extra keys to store beside it: $se_module), or the
// per-record error. path is the record's JSON path and obj its keys.
func (s *Sim) convertValue(fd *Field, raw json.RawMessage, jsonPath, path string, obj []kv) (any, map[string]any, *updateResult) {
	details := func(extra map[string]any) map[string]any {
		d := map[string]any{"api_name": fd.APIName, "json_path": jsonPath}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	fail := func(code, msg string, extra map[string]any) (any, map[string]any, *updateResult) {
		e := recordError(code, msg, details(extra))
		return nil, nil, &e
	}
	typeErr := func() (any, map[string]any, *updateResult) {
		return fail("INVALID_DATA", "invalid data", map[string]any{"expected_data_type": string(fd.Type)})
	}
	mandatory := func() (any, map[string]any, *updateResult) {
		return fail("MANDATORY_NOT_FOUND", "required field not found", nil)
	}
	if string(raw) == "null" {
		if fd.Mandatory {
			return mandatory()
		}
		return nil, nil, nil
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
		if fd.Mandatory && strings.TrimSpace(str) == "" {
			return mandatory()
		}
		if n := fd.maxLen(); n > 0 && fd.Type != TypePicklist && utf8.RuneCountInString(str) > n {
			return fail("INVALID_DATA", "invalid data", map[string]any{"maximum_length": n})
		}
		if fd.Type == TypeEmail && str != "" && !emailRE.MatchString(str) {
			return typeErr()
		}
		if fd.Type == TypePicklist && !bulkContains(fd.Values, str) {
			return fail("INVALID_DATA", "invalid data", map[string]any{"supported_values": fd.Values})
		}
		return str, nil, nil
	case TypeMultiSelect:
		list, ok := v.([]any)
		if !ok {
			return typeErr()
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			str, ok := e.(string)
			if !ok {
				return typeErr()
			}
			if !bulkContains(fd.Values, str) {
				return fail("INVALID_DATA", "invalid data", map[string]any{"supported_values": fd.Values})
			}
			if !bulkContains(out, str) {
				out = append(out, str)
			}
		}
		if len(out) == 0 {
			return nil, nil, nil
		}
		return out, nil, nil
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
		return n, nil, nil
	case TypeCurrency, TypeDecimal, TypeDouble, TypePercent:
		x, ok := v.(json.Number)
		if !ok {
			return typeErr()
		}
		f, err := x.Float64()
		if err != nil {
			return typeErr()
		}
		return f, nil, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return typeErr()
		}
		return b, nil, nil
	case TypeDate:
		str, ok := v.(string)
		if !ok {
			return typeErr()
		}
		if _, err := time.Parse(time.DateOnly, str); err != nil {
			return typeErr()
		}
		return str, nil, nil
	case TypeDatetime:
		str, ok := v.(string)
		if !ok {
			return typeErr()
		}
		t, err := time.Parse(time.RFC3339, str)
		if err != nil {
			return typeErr()
		}
		return formatTime(t), nil, nil
	case TypeOwnerLookup:
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr()
		}
		id := fmt.Sprint(m["id"])
		for _, o := range owners {
			if o["id"] == id {
				return copyRecord(o), nil, nil
			}
		}
		return fail("INVALID_DATA", "invalid data", map[string]any{"expected_data_type": string(fd.Type), "id": id})
	case TypeLookup:
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr()
		}
		id := fmt.Sprint(m["id"])
		if !fd.multiModule() {
			target, ok := s.lookupRecord(fd.Lookup, id)
			if !ok {
				return fail("INVALID_DATA", "invalid data", map[string]any{"expected_data_type": string(fd.Type), "id": id})
			}
			return target, nil, nil
		}
		return s.convertMultiLookup(fd, m, id, jsonPath, path, obj, fail)
	}
	return typeErr()
}

// convertMultiLookup converts the value of a lookup to one of several
// modules. Tasks What_Id names its module in the record's $se_module key
// and is stored as {name, id} with $se_module beside it; Notes Parent_Id
// names it inside the value, {"module":{"api_name":…},"id":…}, and is
// stored as {module{api_name,id}, name, id} (v8).
func (s *Sim) convertMultiLookup(fd *Field, m map[string]any, id, jsonPath, path string, obj []kv,
	fail func(code, msg string, extra map[string]any) (any, map[string]any, *updateResult)) (any, map[string]any, *updateResult) {
	var module string
	inline := fd.APIName == "Parent_Id"
	if inline {
		mm, _ := m["module"].(map[string]any)
		module, _ = mm["api_name"].(string)
		if module == "" {
			e := recordError("MANDATORY_NOT_FOUND", "required field not found",
				map[string]any{"api_name": "module", "json_path": jsonPath + ".module"})
			return nil, nil, &e
		}
	} else {
		for _, f := range obj {
			if f.key == "$se_module" {
				_ = json.Unmarshal(f.val, &module)
			}
		}
		if module == "" {
			e := recordError("MANDATORY_NOT_FOUND", "required field not found",
				map[string]any{"api_name": "$se_module", "json_path": path + ".$se_module"})
			return nil, nil, &e
		}
	}
	if !bulkContains(fd.Modules, module) {
		d := map[string]any{"api_name": "$se_module", "json_path": path + ".$se_module", "supported_values": fd.Modules}
		if inline {
			d = map[string]any{"api_name": "module", "json_path": jsonPath + ".module", "supported_values": fd.Modules}
		}
		e := recordError("INVALID_DATA", "invalid data", d)
		return nil, nil, &e
	}
	target, ok := s.lookupRecord(module, id)
	if !ok {
		return fail("INVALID_DATA", "invalid data", map[string]any{"expected_data_type": string(fd.Type), "id": id})
	}
	if inline {
		target["module"] = Record{"api_name": module, "id": registry[module].ID}
		return target, nil, nil
	}
	return target, map[string]any{"$se_module": module}, nil
}

// lookupRecord returns the lookup value {name, id} of record id of module.
func (s *Sim) lookupRecord(module, id string) (Record, bool) { return lookupIn(s.stores, module, id) }

// derive adds the values Zoho computes from a write to changes, given the
// record as it was (nil on insert): Full_Name from First_Name and
// Last_Name; a deal's Probability from its Stage and Expected_Revenue from
// Amount × Probability; a task's Closed_Time when it is completed.
func derive(m *Module, cur Record, changes map[string]any, now time.Time) {
	get := func(k string) any {
		if v, ok := changes[k]; ok {
			return v
		}
		return cur[k]
	}
	_, first := changes["First_Name"]
	_, last := changes["Last_Name"]
	if _, ok := m.Field("Full_Name"); ok && (first || last) {
		f, _ := get("First_Name").(string)
		l, _ := get("Last_Name").(string)
		changes["Full_Name"] = strings.TrimSpace(f + " " + l)
	}
	if m.APIName == ModuleDeals {
		if st, ok := changes["Stage"].(string); ok {
			if _, given := changes["Probability"]; !given {
				changes["Probability"] = float64(stageProbability[st])
			}
		}
		amount, aok := get("Amount").(float64)
		prob, pok := get("Probability").(float64)
		if aok && pok {
			changes["Expected_Revenue"] = amount * prob / 100
		} else {
			changes["Expected_Revenue"] = nil
		}
	}
	if m.APIName == ModuleTasks {
		if st, ok := changes["Status"].(string); ok {
			if st == "Completed" {
				changes["Closed_Time"] = formatTime(now)
			} else {
				changes["Closed_Time"] = nil
			}
		}
	}
}
