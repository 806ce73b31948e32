package zohosim

import (
	"encoding/json"
	"io"
	"net/http"
)

// coqlCredits is COQL's cost by LIMIT (reference §6, §9.2).
func coqlCredits(limit int) int {
	switch {
	case limit <= 200:
		return 1
	case limit <= 1000:
		return 2
	default:
		return 3
	}
}

// handleCOQL serves POST /crm/v8/coql (reference §6): {"select_query": …}
// → {"data": rows, "info": {"count", "more_records"}}, 204 when empty.
func (s *Sim) handleCOQL(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		writeZohoError(w, errPtr("INVALID_DATA", "the request body could not be read", nil))
		return
	}
	var req struct {
		SelectQuery *string  `json:"select_query"`
		IncludeMeta []string `json:"include_meta"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeZohoError(w, errPtr("INVALID_DATA", "the request body is not a valid JSON object",
			map[string]any{"expected_data_type": "jsonobject"}))
		return
	}
	if req.SelectQuery == nil || *req.SelectQuery == "" {
		writeZohoError(w, errPtr("MANDATORY_NOT_FOUND", "required field not found",
			map[string]any{"api_name": "select_query", "json_path": "$.select_query"}))
		return
	}
	query, zerr := parseCOQL(*req.SelectQuery)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	// The module's READ scope (and the fields scope for include_meta) can
	// only be checked once the query names its module.
	groups := [][]string{moduleScopes(query.module, "READ")}
	meta := false
	for _, m := range req.IncludeMeta {
		if m != "fields" {
			writeZohoError(w, errPtr("INVALID_DATA", "include_meta supports fields only",
				map[string]any{"api_name": "include_meta", "json_path": "$.include_meta", "supported_values": []string{"fields"}}))
			return
		}
		meta = true
		groups = append(groups, settingsScopes("fields"))
	}
	if !s.scoped(w, r, groups...) {
		return
	}
	release, ok := s.acquireSub(w)
	if !ok {
		return
	}
	defer release()
	if !s.spend(w, coqlCredits(query.limit())) {
		return
	}
	query.join.fetch = func(module, id string) (Record, bool) { return s.stores[module].Get(id) }
	rows, more, zerr := query.run(query.source(s.stores[query.module.APIName]))
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	if len(rows) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !meta {
		writeRecords(w, http.StatusOK, rows, map[string]any{"count": len(rows), "more_records": more}, query.module)
		return
	}
	// UNCONFIRMED: the shape of include_meta's "fields" (here each
	// selected field's metadata as the fields API shows it, by column).
	fields := map[string]any{}
	for _, c := range query.columns {
		for i := range query.module.Fields {
			if query.module.Fields[i].APIName == c.name {
				fields[c.name] = fieldJSON(query.module, i)
			}
		}
	}
	var buf bufferWriter
	buf.header = http.Header{}
	writeRecords(&buf, http.StatusOK, rows, map[string]any{"count": len(rows), "more_records": more}, query.module)
	var out map[string]json.RawMessage
	_ = json.Unmarshal(buf.body.Bytes(), &out)
	out["fields"], _ = json.Marshal(fields)
	writeJSON(w, http.StatusOK, out)
}
