package zoho

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// envelope is Zoho's error envelope {"code","details","message","status"}.
// Code is raw because a legacy 429 shape carries a number there
// ({"code":429,"error":"TOO_MANY_REQUESTS",…}).
type envelope struct {
	Code    json.RawMessage `json:"code"`
	Error   string          `json:"error"`
	Details map[string]any  `json:"details"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
	Data    json.RawMessage `json:"data"`
}

func (e envelope) code() string {
	var s string
	if json.Unmarshal(e.Code, &s) == nil && s != "" {
		return s
	}
	return e.Error
}

// maxMessage bounds the text of a Zoho message kept in an error.
const maxMessage = 500

// isWrite reports whether method may change data at Zoho (anything but GET,
// HEAD and OPTIONS). Such a request is never retried once it may have been
// sent. COQL reads use POST and count as writes here: over-caution costs one
// failover, never a double write.
func isWrite(method string) bool {
	switch method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// hasRecordResults reports whether body is a multi-record answer
// ({"data":[…]}) rather than a single top-level error envelope. Zoho answers
// writes with per-record results under 200, 207 and also 400 (every record
// failed) or 412.
func hasRecordResults(body []byte) bool {
	var e envelope
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	d := bytes.TrimSpace(e.Data)
	return len(d) > 0 && d[0] == '['
}

// firstDataError returns the first element of data[] that carries a code:
// the error of an answer that puts it there.
func firstDataError(data json.RawMessage) (envelope, bool) {
	var elems []envelope
	if json.Unmarshal(data, &elems) != nil {
		return envelope{}, false
	}
	for _, e := range elems {
		if e.code() != "" && !strings.EqualFold(e.Status, "success") {
			return e, true
		}
	}
	return envelope{}, false
}

// classifyResponse turns a Zoho answer that is not a success into a
// classified *tiers.Error, or returns nil when the answer is a success the
// caller should decode: 2xx (204 included) and 4xx answers that carry
// per-record results (see hasRecordResults) — except on the Bulk APIs, where
// a 4xx data[] holds the job's refusal. req gives the method and path
// (for scope hints and write semantics); tier labels the error.
//
// 4xx Zoho codes are verdicts (INVALID_DATA, NO_PERMISSION, LIMIT_REACHED …);
// 429 is rate limited; 401 is auth (OAUTH_SCOPE_MISMATCH names the scope to
// grant); 5xx and non-Zoho bodies are unavailable, except that a 500 or 504
// to a write is outcome unknown (Zoho may have applied it).
func classifyResponse(tier tiers.Name, req *http.Request, status int, body []byte) *tiers.Error {
	method, path := "", ""
	if req != nil {
		method = req.Method
		if req.URL != nil {
			path = req.URL.Path
		}
	}
	if status >= 200 && status < 300 {
		return nil
	}
	var env envelope
	parsed := json.Unmarshal(body, &env) == nil
	code := ""
	if parsed {
		code = env.code()
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests && parsed && hasRecordResults(body) {
		if !strings.HasPrefix(path, "/crm/bulk/") {
			return nil // per-record results of a records write
		}
		// The Bulk APIs answer a refused job with the error inside data[]
		// (the shape of their 201; reference §7.1): Zoho's verdict on the
		// request, with its code.
		if d, ok := firstDataError(env.Data); ok {
			env.Message, env.Details, code = d.Message, d.Details, d.code()
		}
	}
	e := &tiers.Error{Tier: tier, HTTPStatus: status, Code: code, Message: tiers.Clip(env.Message, maxMessage), Details: env.Details}
	switch {
	case status == http.StatusTooManyRequests:
		e.Class = tiers.ClassRateLimited
		if e.Code == "" {
			e.Code = "TOO_MANY_REQUESTS"
		}
		if e.Message == "" {
			e.Message = "Zoho API limit reached (credits or concurrency)"
		}
	case status == http.StatusUnauthorized:
		e.Class = tiers.ClassAuth
		switch code {
		case "OAUTH_SCOPE_MISMATCH":
			e.Message = fmt.Sprintf("the OAuth token lacks the scope for %s %s: regenerate the refresh token with %s", method, path, scopeHint(method, path))
		case "INVALID_TOKEN", "INVALID_OAUTHTOKEN", "AUTHENTICATION_FAILURE":
			e.Message = "Zoho rejected the access token even after a refresh (" + code + "): check that the refresh token belongs to this org's data centre and has not been revoked"
		default:
			if e.Message == "" {
				e.Message = "Zoho refused the credentials (HTTP 401)"
			}
		}
	case status >= 400 && status < 500:
		if !parsed || code == "" {
			e.Class = tiers.ClassUnavailable
			e.Message = fmt.Sprintf("HTTP %d with a body that is not a Zoho answer", status)
			break
		}
		e.Class = tiers.ClassVerdict
	case status >= 500:
		e.Class = tiers.ClassUnavailable
		if isWrite(method) && (status == http.StatusInternalServerError || status == http.StatusGatewayTimeout) {
			e.Class = tiers.ClassOutcomeUnknown
		}
		if e.Message == "" {
			e.Message = fmt.Sprintf("Zoho answered HTTP %d", status)
		}
		if e.Class == tiers.ClassOutcomeUnknown {
			e.Message += " to a write: it may or may not have been applied"
		}
	default:
		e.Class = tiers.ClassUnavailable
		e.Message = fmt.Sprintf("unexpected HTTP %d from Zoho", status)
	}
	return e
}

// scopeHint names the OAuth scope a call to method+path needs (reference
// §12), for error messages that tell the operator what to grant.
func scopeHint(method, path string) string {
	p := strings.TrimPrefix(path, "/")
	parts := strings.Split(p, "/")
	switch {
	case strings.HasPrefix(p, "crm/v8/coql"):
		return "ZohoCRM.coql.READ (plus the module's READ scope)"
	case strings.HasPrefix(p, "crm/bulk/") && strings.Contains(p, "/read"):
		return "ZohoCRM.bulk.READ (or ZohoCRM.bulk.ALL) plus the module's READ scope"
	case strings.HasPrefix(p, "crm/bulk/"):
		return "ZohoCRM.bulk.CREATE (or ZohoCRM.bulk.ALL) plus the module's ALL scope"
	case strings.HasPrefix(p, "crm/v8/upload"):
		return "ZohoFiles.files.ALL"
	case strings.HasPrefix(p, "crm/v8/org"):
		return "ZohoCRM.org.ALL"
	case strings.HasPrefix(p, "crm/v8/settings"):
		return "ZohoCRM.settings.fields.READ"
	case len(parts) == 4 && parts[0] == "crm" && parts[3] == "search":
		mod := strings.ToLower(parts[2])
		return fmt.Sprintf("ZohoSearch.securesearch.READ plus ZohoCRM.modules.%s.READ (or ZohoCRM.modules.%s.ALL)", mod, mod)
	case len(parts) >= 3 && parts[0] == "crm":
		mod := strings.ToLower(parts[2])
		op := "READ"
		switch method {
		case http.MethodPut, http.MethodPatch:
			op = "UPDATE"
		case http.MethodPost:
			op = "CREATE"
		case http.MethodDelete:
			op = "DELETE"
		}
		return fmt.Sprintf("ZohoCRM.modules.%s.%s (or ZohoCRM.modules.%s.ALL)", mod, op, mod)
	}
	return "the scope this API documents"
}

// WithTier returns err labelled with tier when the *tiers.Error in its chain
// has no tier yet (the verdicts of this package's compilers and of
// tiers.DecodeCursor): a copy of that error with Tier set. Any other err is
// returned as it is.
func WithTier(tier tiers.Name, err error) error {
	var te *tiers.Error
	if errors.As(err, &te) && te.Tier == "" {
		c := *te
		c.Tier = tier
		return &c
	}
	return err
}
