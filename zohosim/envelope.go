package zohosim

import (
	"encoding/json"
	"net/http"
)

// zohoError is Zoho's single-error envelope:
// {"code":"…","details":{…},"message":"…","status":"error"}.
type zohoError struct {
	Code    string         `json:"code"`
	Details map[string]any `json:"details"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
}

func newError(code, message string, details map[string]any) zohoError {
	if details == nil {
		details = map[string]any{}
	}
	return zohoError{Code: code, Details: details, Message: message, Status: "error"}
}

// writeJSON writes v as Zoho does: application/json;charset=UTF-8.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Zoho's top-level error envelope.
func writeError(w http.ResponseWriter, status int, code, message string, details map[string]any) {
	writeJSON(w, status, newError(code, message, details))
}
