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
	release, ok := s.acquireSub(w)
	if !ok {
		return
	}
	defer release()
	if !s.spend(w, coqlCredits(query.limit())) {
		return
	}
	rows, more, zerr := query.run(query.source(s.store))
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	if len(rows) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeRecords(w, http.StatusOK, rows, map[string]any{"count": len(rows), "more_records": more})
}
