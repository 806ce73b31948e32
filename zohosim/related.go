package zohosim

import (
	"net/http"
	"sort"
	"time"
)

// Related records (crm-oas v8.0 related_records getRelatedRecords):
//
//	GET /crm/v8/{module}/{id}/{related_list}?fields=…&page=&per_page=&page_token=&sort_by=&sort_order=&ids=
//
// fields is required (REQUIRED_PARAM_MISSING); a malformed id is 400
// INVALID_DATA {resource_path_index: 1}, an unknown related list 400
// INVALID_DATA {resource_path_index: 2}, a parent that does not exist 404
// INVALID_DATA "The record does not exist"; nothing related is 204. Paging
// is the list's (page × per_page ≤ 2,000, then page_token) and info has
// page, per_page, count, more_records and the three token keys. Scopes: READ
// on the parent module and on the related one.

// relatedInfo is the related records response's info object.
type relatedInfo struct {
	PerPage           int     `json:"per_page"`
	Count             int     `json:"count"`
	Page              int     `json:"page"`
	MoreRecords       bool    `json:"more_records"`
	NextPageToken     *string `json:"next_page_token"`
	PreviousPageToken *string `json:"previous_page_token"`
	PageTokenExpiry   *string `json:"page_token_expiry"`
}

// relatedScope is what a related list's page tokens are bound to.
func relatedScope(m *Module, parentID, list string) uint32 {
	return hashString("related\x00" + m.APIName + "\x00" + parentID + "\x00" + list)
}

// handleRelated serves GET /crm/v8/{module}/{id}/{related_list}.
func (s *Sim) handleRelated(w http.ResponseWriter, r *http.Request, st *Store, parentID, list string) {
	m := st.mod
	if _, ok := ParseID(parentID); !ok {
		writeError(w, http.StatusBadRequest, "INVALID_DATA", "The related id given seems to be invalid",
			map[string]any{"resource_path_index": 1})
		return
	}
	rl, ok := m.RelatedList(list)
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_DATA", "The related name given seems to be invalid",
			map[string]any{"resource_path_index": 2})
		return
	}
	child := s.stores[rl.Module]
	q := r.URL.Query()
	fields, zerr := parseFields(child.mod, q, true)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	p, zerr := s.parsePaging(q, relatedScope(m, parentID, list))
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	if !s.spend(w, 1) {
		return
	}
	if _, ok := st.Get(parentID); !ok {
		writeError(w, http.StatusNotFound, "INVALID_DATA", "The record does not exist", nil)
		return
	}
	recs := s.related(m, parentID, rl)
	recs = filterRecords(recs, p.ids)
	sortRecords(recs, p.sortBy, p.desc)
	if p.offset >= len(recs) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(p.offset+p.perPage, len(recs))
	data := make([]Record, 0, end-p.offset)
	for _, rec := range recs[p.offset:end] {
		data = append(data, project(rec, fields))
	}
	info := relatedInfo{PerPage: p.perPage, Count: len(data), Page: p.page, MoreRecords: end < len(recs)}
	info.NextPageToken, info.PreviousPageToken, info.PageTokenExpiry = s.tokens(p, end, len(recs))
	writeRecords(w, http.StatusOK, data, info, child.mod)
}

// related returns the records of rl's module that link to record parentID
// of parent, in ascending id order. The seeded ones come from the seed
// links' arithmetic, the changed and added ones from a scan of the changes.
func (s *Sim) related(parent *Module, parentID string, rl *RelatedList) []Record {
	child := s.stores[rl.Module]
	fd, _ := child.mod.Field(rl.Field)
	var seeded []int
	if n, ok := ParseID(parentID); ok {
		if k := n - moduleBase(parent.APIName); k >= 0 && k < int64(s.counts[parent.APIName]) {
			seeded = seededChildren(s.counts, rl.Module, rl.Field, parent.APIName, int(k))
		}
	}
	return child.linked(fd, parent.APIName, parentID, seeded)
}

// linked returns the live records whose lookup field f points at record
// parentID of module parent: among seeded records at the given indexes
// and every changed or added record.
func (s *Store) linked(f *Field, parent, parentID string, seeded []int) []Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[int64]bool{}
	var out []Record
	check := func(n int64) {
		if seen[n] {
			return
		}
		seen[n] = true
		if r, ok := s.getLocked(n); ok && linksTo(r, f, parent, parentID) {
			out = append(out, r)
		}
	}
	for _, i := range seeded {
		check(s.base + int64(i))
	}
	for n := range s.overrides {
		check(n)
	}
	for n := range s.extra {
		check(n)
	}
	sort.Slice(out, func(a, b int) bool { return idOf(out[a]) < idOf(out[b]) })
	return out
}

// linksTo reports whether record r's lookup field f points at record id of
// module: by the lookup's id, and for a multi-module lookup by its module
// ($se_module beside What_Id, module inside Parent_Id).
func linksTo(r Record, f *Field, module, id string) bool {
	v := lookupMap(r[f.APIName])
	if v == nil || v["id"] != id {
		return false
	}
	if !f.multiModule() {
		return f.Lookup == module
	}
	if mm := lookupMap(v["module"]); mm != nil {
		return mm["api_name"] == module
	}
	return r["$se_module"] == module
}

func idOf(r Record) int64 {
	n, _ := ParseID(r["id"].(string))
	return n
}

// filterRecords keeps the records whose id is in ids (nil: all).
func filterRecords(recs []Record, ids []int64) []Record {
	if ids == nil {
		return recs
	}
	want := make(map[int64]bool, len(ids))
	for _, n := range ids {
		want[n] = true
	}
	var out []Record
	for _, r := range recs {
		if want[idOf(r)] {
			out = append(out, r)
		}
	}
	return out
}

// sortRecords sorts by id, Created_Time or Modified_Time (ties by id).
func sortRecords(recs []Record, by string, desc bool) {
	key := func(r Record) int64 {
		if by == "id" {
			return idOf(r)
		}
		t, _ := time.Parse(time.RFC3339, stringOf(r[by]))
		return t.Unix()
	}
	sort.SliceStable(recs, func(a, b int) bool {
		ka, kb := key(recs[a]), key(recs[b])
		if ka == kb {
			ka, kb = idOf(recs[a]), idOf(recs[b])
		}
		if desc {
			return ka > kb
		}
		return ka < kb
	})
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}
