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

// tokenScopes returns the scopes of the request's token (nil when it has
// none or is not valid; authorize has already answered such requests).
func (s *Sim) tokenScopes(r *http.Request) map[string]bool {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
	if tok == s.oauth.internal {
		return map[string]bool{"*": true}
	}
	at, ok := s.oauth.lookup(tok)
	if !ok {
		return nil
	}
	return at.scopes
}

// scoped checks scope groups a handler learns only from the request body
// (COQL's module, a bulk job's module): every group must be matched. On
// failure it writes 401 OAUTH_SCOPE_MISMATCH and returns false.
func (s *Sim) scoped(w http.ResponseWriter, r *http.Request, groups ...[]string) bool {
	have := s.tokenScopes(r)
	for _, g := range groups {
		if !anyScope(have, g) {
			writeError(w, http.StatusUnauthorized, "OAUTH_SCOPE_MISMATCH", "Unauthorized", nil)
			return false
		}
	}
	return true
}

// moduleScopes is the "any of" group for an operation (READ, CREATE,
// UPDATE, DELETE) on module m (reference §12): ZohoCRM.modules.ALL or
// .{op}, or the module's own ZohoCRM.modules.{module}.ALL / .{op}; a custom
// module's own scopes are ZohoCRM.modules.custom.ALL / .{op}.
func moduleScopes(m *Module, op string) []string {
	name := strings.ToLower(m.APIName)
	if m.Custom {
		name = "custom"
	}
	return moduleScopeNames(name, op)
}

func moduleScopeNames(name, op string) []string {
	return []string{"ZohoCRM.modules.ALL", "ZohoCRM.modules." + op,
		"ZohoCRM.modules." + name + ".ALL", "ZohoCRM.modules." + name + "." + op}
}

// settingsScopes is the "any of" group for a metadata API (modules,
// fields, related_lists): ZohoCRM.settings.ALL or ZohoCRM.settings.{kind}.{ALL,READ}.
func settingsScopes(kind string) []string {
	return []string{"ZohoCRM.settings.ALL", "ZohoCRM.settings." + kind + ".ALL", "ZohoCRM.settings." + kind + ".READ"}
}

// searchScopes is the "any of" group the search API needs on top of the
// module's read scope.
var searchScopes = []string{"ZohoSearch.securesearch.READ", "ZohoSearch.securesearch.ALL"}

// requiredScopes returns the scope groups the request needs: every group
// must be matched by one of its scopes (scopes compare case-insensitively).
// COQL's module scope and a bulk job's are checked by their handlers.
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
		return [][]string{{"ZohoCRM.coql.READ", "ZohoCRM.coql.ALL"}}
	case strings.HasPrefix(p, "/crm/v8/settings/"):
		kind, _, _ := strings.Cut(strings.TrimPrefix(p, "/crm/v8/settings/"), "/")
		switch kind {
		case "modules", "fields", "related_lists":
			return [][]string{settingsScopes(kind)}
		}
		return nil // not an API the emulator serves: 404
	case strings.HasPrefix(p, "/crm/v8/"):
		module, tail, _ := strings.Cut(strings.TrimPrefix(p, "/crm/v8/"), "/")
		op := "READ"
		switch r.Method {
		case http.MethodPut, http.MethodPatch:
			op = "UPDATE"
		case http.MethodPost:
			op = "CREATE"
		case http.MethodDelete:
			op = "DELETE"
		}
		var groups [][]string
		if m, ok := registry[module]; ok {
			groups = [][]string{moduleScopes(m, op)}
			if _, list, ok := strings.Cut(tail, "/"); ok && !strings.Contains(list, "/") {
				// Related records read the related module too.
				if rl, ok := m.RelatedList(list); ok {
					groups = append(groups, moduleScopes(registry[rl.Module], op))
				}
			}
		} else {
			groups = [][]string{moduleScopeNames(strings.ToLower(module), op)}
		}
		if tail == "search" {
			// The search API needs the secure-search scope besides the
			// module's read scope, whatever the module (issue 10 §6; Zoho's
			// search API documentation lists ZohoSearch.securesearch.READ).
			groups = append(groups, searchScopes)
		}
		return groups
	}
	return nil
}
