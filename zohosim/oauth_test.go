package zohosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var tokenRE = regexp.MustCompile(`^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$`)

const accessDeniedJSON = `{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}`

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{Now: newClock().Now})
	rc, bc := s.RESTCredential(), s.BulkCredential()
	s.AddGrantCode(rc.ClientID, "1000.code.once", nil)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	refresh := func(c Credential) url.Values {
		return form("grant_type", "refresh_token", "client_id", c.ClientID, "client_secret", c.ClientSecret,
			"refresh_token", c.RefreshToken)
	}
	tests := []struct {
		name      string
		params    url.Values
		asForm    bool
		wantError string // "" means success
		apiDomain string
		wantKeys  []string
	}{
		{name: "refresh in query", params: refresh(rc), apiDomain: s.RESTURL(),
			wantKeys: []string{"access_token", "api_domain", "token_type", "expires_in"}},
		{name: "refresh in form body", params: refresh(rc), asForm: true, apiDomain: s.RESTURL(),
			wantKeys: []string{"access_token", "api_domain", "token_type", "expires_in"}},
		{name: "bulk credential names the bulk domain", params: refresh(bc), asForm: true, apiDomain: s.BulkURL(),
			wantKeys: []string{"access_token", "api_domain", "token_type", "expires_in"}},
		{name: "unknown client", params: form("grant_type", "refresh_token", "client_id", "1000.NOPE",
			"client_secret", rc.ClientSecret, "refresh_token", rc.RefreshToken), wantError: "invalid_client"},
		{name: "wrong secret", params: form("grant_type", "refresh_token", "client_id", rc.ClientID,
			"client_secret", "nope", "refresh_token", rc.RefreshToken), wantError: "invalid_client_secret"},
		{name: "unknown refresh token", params: form("grant_type", "refresh_token", "client_id", rc.ClientID,
			"client_secret", rc.ClientSecret, "refresh_token", "1000.x.y"), wantError: "invalid_code"},
		{name: "refresh token of another client", params: form("grant_type", "refresh_token", "client_id", rc.ClientID,
			"client_secret", rc.ClientSecret, "refresh_token", bc.RefreshToken), wantError: "invalid_code"},
		{name: "no grant type", params: form("client_id", rc.ClientID), wantError: "invalid_request"},
		{name: "unknown grant type", params: form("grant_type", "password", "client_id", rc.ClientID),
			wantError: "unsupported_grant_type"},
		{name: "unregistered grant code", params: form("grant_type", "authorization_code", "client_id", rc.ClientID,
			"client_secret", rc.ClientSecret, "code", "1000.never"), wantError: "invalid_code"},
		{name: "client credentials without soid", params: form("grant_type", "client_credentials",
			"client_id", rc.ClientID, "client_secret", rc.ClientSecret), wantError: "missing_org_info"},
		{name: "client credentials", params: form("grant_type", "client_credentials", "client_id", rc.ClientID,
			"client_secret", rc.ClientSecret, "soid", "ZohoCRM."+s.OrgID(), "scope", "ZohoCRM.org.ALL"),
			apiDomain: s.RESTURL(), wantKeys: []string{"access_token", "scope", "api_domain", "token_type", "expires_in"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r reply
			if tc.asForm {
				r = postForm(t, s.AccountsURL()+"/oauth/v2/token", tc.params)
			} else {
				r = call(t, http.MethodPost, s.AccountsURL()+"/oauth/v2/token?"+tc.params.Encode(), "", "")
			}
			if r.status != http.StatusOK {
				t.Fatalf("status %d, want 200 (Zoho answers token errors with 200)", r.status)
			}
			if tc.wantError != "" {
				assertJSON(t, r.body, `{"error":"`+tc.wantError+`"}`)
				return
			}
			var m map[string]any
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Fatal(err)
			}
			if len(m) != len(tc.wantKeys) {
				t.Fatalf("keys %v, want %v", m, tc.wantKeys)
			}
			for _, k := range tc.wantKeys {
				if _, ok := m[k]; !ok {
					t.Fatalf("missing %q in %s", k, r.body)
				}
			}
			if !tokenRE.MatchString(m["access_token"].(string)) || m["api_domain"] != tc.apiDomain ||
				m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) {
				t.Fatalf("bad token response %s", r.body)
			}
		})
	}
}

func postForm(t testing.TB, u string, v url.Values) reply {
	t.Helper()
	return call(t, http.MethodPost, u, "", v.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

func TestAuthorizationCodeIsOneTime(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	rc := s.RESTCredential()
	s.AddGrantCode(rc.ClientID, "1000.grant.code", []string{"ZohoCRM.org.ALL"})
	v := url.Values{"grant_type": {"authorization_code"}, "client_id": {rc.ClientID},
		"client_secret": {rc.ClientSecret}, "code": {"1000.grant.code"}, "redirect_uri": {"http://localhost/cb"}}
	r := postForm(t, s.AccountsURL()+"/oauth/v2/token", v)
	var tr struct {
		AccessToken, RefreshToken, APIDomain string
	}
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	tr.AccessToken, _ = raw["access_token"].(string)
	tr.RefreshToken, _ = raw["refresh_token"].(string)
	if !tokenRE.MatchString(tr.AccessToken) || !tokenRE.MatchString(tr.RefreshToken) {
		t.Fatalf("exchange: %s", r.body)
	}
	assertJSON(t, postForm(t, s.AccountsURL()+"/oauth/v2/token", v).body, `{"error":"invalid_code"}`)
	// The new token carries the code's scopes: org yes, records no.
	assertReply(t, call(t, http.MethodGet, s.RESTURL()+"/crm/v8/org", tr.AccessToken, ""), http.StatusOK, "")
	assertReply(t, call(t, http.MethodGet, s.RESTURL()+"/crm/v8/Accounts/"+id(1), tr.AccessToken, ""),
		http.StatusUnauthorized, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"Unauthorized","status":"error"}`)
	// The new refresh token works.
	nc := Credential{ClientID: rc.ClientID, ClientSecret: rc.ClientSecret, RefreshToken: tr.RefreshToken}
	if tok := mintToken(t, s, nc); !tokenRE.MatchString(tok) {
		t.Fatal(tok)
	}
}

func TestRefreshCap(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := startSim(t, Options{Now: clock.Now})
	rc := s.RESTCredential()
	for i := range 10 {
		clock.Advance(time.Second)
		if r := refreshGrant(t, s, rc); !strings.Contains(string(r.body), "access_token") {
			t.Fatalf("refresh %d: %s", i+1, r.body)
		}
	}
	r := refreshGrant(t, s, rc)
	assertReply(t, r, http.StatusOK, accessDeniedJSON)
	// Another refresh token is not affected.
	if r := refreshGrant(t, s, s.BulkCredential()); !strings.Contains(string(r.body), "access_token") {
		t.Fatalf("bulk credential throttled too: %s", r.body)
	}
	// Once refused, the refresh token stays refused for the whole window,
	// counted from the refusal: 10 minutes after the first grant (when a
	// sliding window would free a slot) and a minute after the refusal
	// (when a client holding off for 60 s retries) it is still refused.
	clock.Advance(time.Minute)
	assertReply(t, refreshGrant(t, s, rc), http.StatusOK, accessDeniedJSON)
	clock.Advance(10*time.Minute - time.Minute - time.Second) // 1 s before the lockout ends
	assertReply(t, refreshGrant(t, s, rc), http.StatusOK, accessDeniedJSON)
	clock.Advance(time.Second)
	for i := range 10 { // the window is empty again: ten more grants
		if r := refreshGrant(t, s, rc); !strings.Contains(string(r.body), "access_token") {
			t.Fatalf("refresh %d after the lockout: %s", i+1, r.body)
		}
	}
	assertReply(t, refreshGrant(t, s, rc), http.StatusOK, accessDeniedJSON)
	if got := s.RefreshCount(); got != 25 {
		t.Fatalf("RefreshCount %d, want 25 (throttled grants count too)", got)
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	invalid := `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`
	e.clock.Advance(3599 * time.Second)
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), http.StatusOK, "")
	e.clock.Advance(time.Second)
	assertReply(t, e.get(t, "/crm/v8/Accounts/"+id(1)), http.StatusUnauthorized, invalid)

	tok := mintToken(t, e.s, e.s.RESTCredential())
	assertReply(t, call(t, http.MethodGet, e.s.RESTURL()+"/crm/v8/org", tok, ""), http.StatusOK, "")
	e.s.ExpireTokens()
	assertReply(t, call(t, http.MethodGet, e.s.RESTURL()+"/crm/v8/org", tok, ""), http.StatusUnauthorized, invalid)
	tok = mintToken(t, e.s, e.s.RESTCredential())
	assertReply(t, call(t, http.MethodGet, e.s.RESTURL()+"/crm/v8/org", tok, ""), http.StatusOK, "")
}

func TestFifteenActiveTokensPerRefreshToken(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := startSim(t, Options{Now: clock.Now})
	var toks []string
	for i := range 16 {
		if i == 10 {
			clock.Advance(10*time.Minute + time.Second) // past the refresh cap window
		}
		toks = append(toks, mintToken(t, s, s.RESTCredential()))
	}
	org := func(tok string) int { return call(t, http.MethodGet, s.RESTURL()+"/crm/v8/org", tok, "").status }
	if got := org(toks[0]); got != http.StatusUnauthorized {
		t.Fatalf("oldest token: %d, want 401 (the 16th invalidates it)", got)
	}
	for i, tok := range toks[1:] {
		if got := org(tok); got != http.StatusOK {
			t.Fatalf("token %d: %d, want 200", i+1, got)
		}
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	rc := s.RESTCredential()
	tok := mintToken(t, s, rc)
	r := call(t, http.MethodPost, s.AccountsURL()+"/oauth/v2/token/revoke?token="+url.QueryEscape(rc.RefreshToken), "", "")
	assertReply(t, r, http.StatusOK, `{"status":"success"}`)
	assertReply(t, call(t, http.MethodGet, s.RESTURL()+"/crm/v8/org", tok, ""), http.StatusUnauthorized,
		`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`)
	assertReply(t, refreshGrant(t, s, rc), http.StatusOK, `{"error":"invalid_code"}`)
	// The other credential is untouched.
	mintToken(t, s, s.BulkCredential())
}

func TestTokenEndpointNeedsPOST(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	r := call(t, http.MethodGet, s.AccountsURL()+"/oauth/v2/token?grant_type=refresh_token", "", "")
	assertReply(t, r, http.StatusMethodNotAllowed, `{"error":"invalid_request"}`)
}

func TestAPIAuthErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	rc := e.s.RESTCredential()
	r := postForm(t, e.s.AccountsURL()+"/oauth/v2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {rc.ClientID}, "client_secret": {rc.ClientSecret}, "soid": {"ZohoCRM." + e.s.OrgID()},
		"scope": {"ZohoCRM.org.ALL,ZohoCRM.modules.accounts.READ"}})
	var cc struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(r.body, &cc)
	authFail := `{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"}`
	invalid := `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`
	mismatch := `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"Unauthorized","status":"error"}`
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		want                           string
	}{
		{"no header", "GET", "/crm/v8/Accounts/" + id(1), "", "", 401, authFail},
		{"bearer scheme", "GET", "/crm/v8/Accounts/" + id(1), "Bearer " + e.tok, "", 401, authFail},
		{"empty token", "GET", "/crm/v8/Accounts/" + id(1), "Zoho-oauthtoken ", "", 401, authFail},
		{"unknown token", "GET", "/crm/v8/Accounts/" + id(1), "Zoho-oauthtoken 1000.abc.def", "", 401, invalid},
		{"read scope reads", "GET", "/crm/v8/Accounts/" + id(1), "Zoho-oauthtoken " + cc.AccessToken, "", 200, ""},
		{"read scope cannot update", "PUT", "/crm/v8/Accounts/" + id(1), "Zoho-oauthtoken " + cc.AccessToken,
			`{"data":[{"Phone":"1"}]}`, 401, mismatch},
		{"no coql scope", "POST", "/crm/v8/coql", "Zoho-oauthtoken " + cc.AccessToken,
			`{"select_query":"select id from Accounts limit 1"}`, 401, mismatch},
		{"no bulk scope", "POST", "/crm/bulk/v8/read", "Zoho-oauthtoken " + cc.AccessToken, `{}`, 401, mismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, e.s.RESTURL()+tc.path, "", tc.body, "Authorization", tc.auth)
			assertReply(t, r, tc.status, tc.want)
		})
	}
}

// TestSearchNeedsSecureSearchScope: the search API needs
// ZohoSearch.securesearch.READ besides the module's read scope (issue 10
// §6), and the seeded credentials carry it.
func TestSearchNeedsSecureSearchScope(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{Accounts: 10})
	search := "/crm/v8/Accounts/search?criteria=" + url.QueryEscape("(Account_Name:starts_with:A)")
	mismatch := `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"Unauthorized","status":"error"}`
	moduleOnly := tokenWith(t, s, "ZohoCRM.modules.ALL")
	assertReply(t, call(t, http.MethodGet, s.RESTURL()+search, moduleOnly, ""), http.StatusUnauthorized, mismatch)
	// The same token still reads records: only search needs the extra scope.
	assertReply(t, call(t, http.MethodGet, s.RESTURL()+"/crm/v8/Accounts/"+id(1), moduleOnly, ""), http.StatusOK, "")
	searchOnly := tokenWith(t, s, "ZohoSearch.securesearch.READ")
	assertReply(t, call(t, http.MethodGet, s.RESTURL()+search, searchOnly, ""), http.StatusUnauthorized, mismatch)
	both := tokenWith(t, s, "ZohoCRM.modules.accounts.READ", "zohosearch.SecureSearch.read")
	if r := call(t, http.MethodGet, s.RESTURL()+search, both, ""); r.status != http.StatusOK {
		t.Fatalf("search with both scopes (any case): %d %s", r.status, r.body)
	}
	for _, cred := range []Credential{s.RESTCredential(), s.BulkCredential()} {
		if r := call(t, http.MethodGet, s.RESTURL()+search, mintToken(t, s, cred), ""); r.status != http.StatusOK {
			t.Fatalf("search with a seeded credential: %d %s", r.status, r.body)
		}
	}
}

// TestSearchScopeEveryModule: the secure-search scope is asked for by every
// module's search, a custom module's and a module the org lacks included,
// and the seeded credentials carry the union of scopes the APIs ask for
// (search on every module and the metadata APIs).
func TestSearchScopeEveryModule(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{Accounts: 10})
	mismatch := `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"Unauthorized","status":"error"}`
	moduleOnly := tokenWith(t, s, "ZohoCRM.modules.ALL")
	both := tokenWith(t, s, "ZohoCRM.modules.ALL", "ZohoSearch.securesearch.READ")
	seeded := mintToken(t, s, s.RESTCredential())
	for _, m := range recordModules() {
		t.Run(m.APIName, func(t *testing.T) {
			search := s.RESTURL() + "/crm/v8/" + m.APIName + "/search?word=zz"
			assertReply(t, call(t, http.MethodGet, search, moduleOnly, ""), http.StatusUnauthorized, mismatch)
			for name, tok := range map[string]string{"both scopes": both, "seeded": seeded} {
				if r := call(t, http.MethodGet, search, tok, ""); r.status != http.StatusOK && r.status != http.StatusNoContent {
					t.Fatalf("search with %s: %d %s", name, r.status, r.body)
				}
			}
		})
	}
	assertReply(t, call(t, http.MethodGet, s.RESTURL()+"/crm/v8/Widgets/search?word=zz", moduleOnly, ""),
		http.StatusUnauthorized, mismatch)
	for _, path := range []string{"/crm/v8/settings/modules", "/crm/v8/settings/fields?module=Contacts",
		"/crm/v8/settings/related_lists?module=Accounts"} {
		if r := call(t, http.MethodGet, s.RESTURL()+path, seeded, ""); r.status != http.StatusOK {
			t.Fatalf("%s with a seeded credential: %d %s", path, r.status, r.body)
		}
	}
}
