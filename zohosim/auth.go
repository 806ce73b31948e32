package zohosim

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// equalSecret compares secrets in constant time.
func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authorize checks the request's "Authorization: Zoho-oauthtoken <t>" header
// and the token's scopes for the endpoint (reference §2.5, §12, §14.2). On
// failure it writes Zoho's 401 envelope and returns false:
// AUTHENTICATION_FAILURE (missing or garbled), INVALID_TOKEN (unknown,
// expired, revoked, or the expired_tokens fault), OAUTH_SCOPE_MISMATCH.
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
	if !ok || tok == "" || strings.ContainsAny(tok, " \t") {
		writeError(w, http.StatusUnauthorized, "AUTHENTICATION_FAILURE", "Authentication failed", nil)
		return false
	}
	if tok == s.oauth.internal {
		return true
	}
	if s.tokensExpired(r.Context()) {
		writeError(w, http.StatusUnauthorized, "INVALID_TOKEN", "invalid oauth token", nil)
		return false
	}
	at, ok := s.oauth.lookup(tok)
	if !ok {
		writeError(w, http.StatusUnauthorized, "INVALID_TOKEN", "invalid oauth token", nil)
		return false
	}
	for _, group := range requiredScopes(r) {
		if !anyScope(at.scopes, group) {
			writeError(w, http.StatusUnauthorized, "OAUTH_SCOPE_MISMATCH", "Unauthorized", nil)
			return false
		}
	}
	return true
}

func anyScope(have map[string]bool, group []string) bool {
	if have["*"] {
		return true
	}
	for _, sc := range group {
		if have[strings.ToLower(sc)] {
			return true
		}
	}
	return false
}

// moduleScopes is the "any of" group for an operation on a module:
// ZohoCRM.modules.{ALL,op} and ZohoCRM.modules.{module}.{ALL,op}.
func moduleScopes(module, op string) []string {
	m := strings.ToLower(module)
	return []string{"ZohoCRM.modules.ALL", "ZohoCRM.modules." + op,
		"ZohoCRM.modules." + m + ".ALL", "ZohoCRM.modules." + m + "." + op}
}

// searchScopes is the "any of" group the search API needs on top of the
// module's read scope.
var searchScopes = []string{"ZohoSearch.securesearch.READ", "ZohoSearch.securesearch.ALL"}

// requiredScopes returns the scope groups the request needs: every group
// must be matched by one of its scopes (scopes compare case-insensitively).
func requiredScopes(r *http.Request) [][]string {
	p := r.URL.Path
	switch {
	case p == "/crm/v8/upload":
		return [][]string{{"ZohoFiles.files.ALL", "ZohoFiles.files.CREATE"}}
	case strings.HasPrefix(p, "/crm/bulk/v8/write"):
		if r.Method == http.MethodGet {
			return [][]string{{"ZohoCRM.bulk.ALL", "ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.READ"}}
		}
		return [][]string{{"ZohoCRM.bulk.ALL", "ZohoCRM.bulk.CREATE"}}
	case strings.HasPrefix(p, "/crm/bulk/"):
		return [][]string{{"ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"}}
	case strings.HasPrefix(p, "/v2/crm/"): // a bulk write result on the download host
		return [][]string{{"ZohoCRM.bulk.ALL", "ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.READ"}}
	case p == "/crm/v8/org":
		return [][]string{{"ZohoCRM.org.ALL", "ZohoCRM.org.READ"}}
	case p == "/crm/v8/coql":
		return [][]string{{"ZohoCRM.coql.READ", "ZohoCRM.coql.ALL"}, moduleScopes("Accounts", "READ")}
	case strings.HasPrefix(p, "/crm/v8/"):
		module, sub, _ := strings.Cut(strings.TrimPrefix(p, "/crm/v8/"), "/")
		if sub == "search" {
			// The search API needs the secure-search scope besides the
			// module's read scope (issue 10 §6; Zoho's search API
			// documentation lists ZohoSearch.securesearch.READ).
			return [][]string{moduleScopes(module, "READ"), searchScopes}
		}
		op := "READ"
		switch r.Method {
		case http.MethodPut, http.MethodPatch:
			op = "UPDATE"
		case http.MethodPost:
			op = "CREATE"
		case http.MethodDelete:
			op = "DELETE"
		}
		return [][]string{moduleScopes(module, op)}
	}
	return nil
}
