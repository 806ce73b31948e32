package zohosim

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// OAuth limits of reference §2.6.
const (
	tokenTTL            = 3600 * time.Second
	refreshCapPerWindow = 10
	refreshCapWindow    = 10 * time.Minute
	maxActivePerRefresh = 15
	// refreshLockout is how long a refresh token stays refused once the cap
	// has answered "Access Denied": the whole window, counted from the
	// refusal, whatever the token asks meanwhile (UNCONFIRMED: Zoho documents
	// the cap, not how its window frees; this is the strict reading, so a
	// client that retries after a minute is refused again).
	refreshLockout = refreshCapWindow
)

// defaultScopes are granted to the emulator's credentials: every scope the
// APIs it serves ask for (every module, search, COQL, bulk, upload, org,
// users and the metadata the proxy reads: modules, fields, related lists).
var defaultScopes = []string{"ZohoCRM.modules.ALL", "ZohoCRM.coql.READ", "ZohoCRM.bulk.ALL",
	"ZohoFiles.files.ALL", "ZohoCRM.org.ALL", "ZohoCRM.settings.fields.READ", "ZohoCRM.users.READ",
	"ZohoCRM.settings.modules.READ", "ZohoCRM.settings.related_lists.READ",
	"ZohoSearch.securesearch.READ"}

type oauthClient struct {
	id, secret, apiDomain string
	scopes                []string
}

type refreshToken struct {
	client  *oauthClient
	scopes  []string
	active  []string    // access tokens issued with it, oldest first
	grants  []time.Time // successful refreshes within the cap window
	locked  time.Time   // refreshes refused until then (after the cap answered)
	revoked bool
}

type accessToken struct {
	refresh *refreshToken // nil for client-credentials and internal tokens
	scopes  map[string]bool
	expires time.Time // zero: never
}

type grantCode struct {
	client *oauthClient
	scopes []string
}

// oauthServer is the accounts server's token state.
type oauthServer struct {
	mu       sync.Mutex
	now      func() time.Time
	orgID    string
	clients  map[string]*oauthClient
	refresh  map[string]*refreshToken
	access   map[string]*accessToken
	codes    map[string]*grantCode
	internal string
}

func newOAuthServer(now func() time.Time, orgID string) *oauthServer {
	o := &oauthServer{now: now, orgID: orgID, clients: map[string]*oauthClient{},
		refresh: map[string]*refreshToken{}, access: map[string]*accessToken{}, codes: map[string]*grantCode{}}
	o.internal = newToken()
	o.access[o.internal] = &accessToken{scopes: scopeSet([]string{"*"})}
	return o
}

// newToken returns a token in Zoho's shape: 1000.<hex>.<hex>.
func newToken() string { return "1000." + randomHex(16) + "." + randomHex(16) }

// newClientID returns a client id in Zoho's shape: 1000. and 30 upper-case
// letters and digits.
func newClientID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := []byte(randomHex(30))
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "1000." + string(b[:30])
}

func scopeSet(scopes []string) map[string]bool {
	m := make(map[string]bool, len(scopes))
	for _, sc := range scopes {
		m[strings.ToLower(sc)] = true
	}
	return m
}

// addClient registers a client with one refresh token and returns it.
func (o *oauthServer) addClient(apiDomain string, scopes []string) Credential {
	c := &oauthClient{id: newClientID(), secret: randomHex(21), apiDomain: apiDomain, scopes: scopes}
	rt := newToken()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clients[c.id] = c
	o.refresh[rt] = &refreshToken{client: c, scopes: scopes}
	return Credential{ClientID: c.id, ClientSecret: c.secret, RefreshToken: rt, APIDomain: apiDomain}
}

// issueLocked mints an access token; with a refresh token it keeps at most
// 15 active, dropping the oldest.
func (o *oauthServer) issueLocked(rt *refreshToken, scopes []string) string {
	tok := newToken()
	o.access[tok] = &accessToken{refresh: rt, scopes: scopeSet(scopes), expires: o.now().Add(tokenTTL)}
	if rt != nil {
		rt.active = append(rt.active, tok)
		for len(rt.active) > maxActivePerRefresh {
			delete(o.access, rt.active[0])
			rt.active = rt.active[1:]
		}
	}
	return tok
}

// lookup returns the live access token tok.
func (o *oauthServer) lookup(tok string) (*accessToken, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	at, ok := o.access[tok]
	if !ok {
		return nil, false
	}
	if !at.expires.IsZero() && !o.now().Before(at.expires) {
		delete(o.access, tok)
		return nil, false
	}
	return at, true
}

// expireAll invalidates every access token but the internal one.
func (o *oauthServer) expireAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for tok := range o.access {
		if tok != o.internal {
			delete(o.access, tok)
		}
	}
	for _, rt := range o.refresh {
		rt.active = nil
	}
}

// tokenResponse is the token endpoint's success body (field order as Zoho's).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	APIDomain    string `json:"api_domain"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// accessDenied is the token endpoint's throttle answer (HTTP 200).
type accessDenied struct {
	ErrorDescription string `json:"error_description"`
	Error            string `json:"error"`
	Status           string `json:"status"`
}

var throttled = accessDenied{
	ErrorDescription: "You have made too many requests continuously. Please try again after some time.",
	Error:            "Access Denied",
	Status:           "failure",
}

func tokenError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, map[string]string{"error": code})
}

// oauthMux serves the accounts server: the token and revoke endpoints.
func (s *Sim) oauthMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/v2/token", s.handleToken)
	mux.HandleFunc("/oauth/v2/token/revoke", s.handleRevoke)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found: the token endpoint is POST /oauth/v2/token"})
	})
	return mux
}

// handleToken serves POST /oauth/v2/token (reference §2.2–§2.7): params in
// the query or a form body, always HTTP 200, errors as {"error": ...}.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	p := r.Form
	grant := p.Get("grant_type")
	if grant == "refresh_token" {
		s.noteRefresh()
	}
	if f, ok := faultFromContext(r.Context()); ok && f.Mode == FaultRefreshCap {
		writeJSON(w, http.StatusOK, throttled)
		return
	}
	o := s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	if grant == "" {
		tokenError(w, "invalid_request")
		return
	}
	if grant != "refresh_token" && grant != "authorization_code" && grant != "client_credentials" {
		tokenError(w, "unsupported_grant_type")
		return
	}
	c, ok := o.clients[p.Get("client_id")]
	if !ok {
		tokenError(w, "invalid_client")
		return
	}
	if !equalSecret(p.Get("client_secret"), c.secret) {
		tokenError(w, "invalid_client_secret")
		return
	}
	now := o.now()
	switch grant {
	case "refresh_token":
		rt, ok := o.refresh[p.Get("refresh_token")]
		if !ok || rt.revoked || rt.client != c {
			tokenError(w, "invalid_code")
			return
		}
		if now.Before(rt.locked) {
			writeJSON(w, http.StatusOK, throttled)
			return
		}
		cut := now.Add(-refreshCapWindow)
		i := 0
		for i < len(rt.grants) && !rt.grants[i].After(cut) {
			i++
		}
		rt.grants = rt.grants[i:]
		if len(rt.grants) >= refreshCapPerWindow {
			rt.locked = now.Add(refreshLockout)
			rt.grants = nil // the lockout outlasts every grant in the window
			writeJSON(w, http.StatusOK, throttled)
			return
		}
		rt.grants = append(rt.grants, now)
		writeJSON(w, http.StatusOK, tokenResponse{AccessToken: o.issueLocked(rt, rt.scopes),
			APIDomain: c.apiDomain, TokenType: "Bearer", ExpiresIn: int(tokenTTL / time.Second)})
	case "authorization_code":
		gc, ok := o.codes[p.Get("code")]
		if !ok || gc.client != c {
			tokenError(w, "invalid_code")
			return
		}
		delete(o.codes, p.Get("code")) // grant codes are one-time
		rtok := newToken()
		rt := &refreshToken{client: c, scopes: gc.scopes}
		o.refresh[rtok] = rt
		writeJSON(w, http.StatusOK, tokenResponse{AccessToken: o.issueLocked(rt, gc.scopes), RefreshToken: rtok,
			APIDomain: c.apiDomain, TokenType: "Bearer", ExpiresIn: int(tokenTTL / time.Second)})
	case "client_credentials":
		if p.Get("soid") != "ZohoCRM."+o.orgID {
			tokenError(w, "missing_org_info")
			return
		}
		scopes := splitScopes(p.Get("scope"))
		if len(scopes) == 0 {
			scopes = c.scopes
		}
		writeJSON(w, http.StatusOK, tokenResponse{AccessToken: o.issueLocked(nil, scopes),
			Scope: strings.Join(scopes, " "), APIDomain: c.apiDomain, TokenType: "Bearer",
			ExpiresIn: int(tokenTTL / time.Second)})
	}
}

// splitScopes splits a comma- or space-separated scope list.
func splitScopes(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

// handleRevoke serves POST /oauth/v2/token/revoke?token=…: a refresh token is
// revoked with its access tokens, an access token is dropped. Unknown tokens
// also answer success (as RFC 7009 asks), so revoking is idempotent.
func (s *Sim) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	if err := r.ParseForm(); err != nil || r.Form.Get("token") == "" {
		tokenError(w, "invalid_request")
		return
	}
	tok := r.Form.Get("token")
	o := s.oauth
	o.mu.Lock()
	if rt, ok := o.refresh[tok]; ok {
		rt.revoked = true
		for _, a := range rt.active {
			delete(o.access, a)
		}
		rt.active = nil
	} else if tok != o.internal {
		delete(o.access, tok)
	}
	o.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}

// AddGrantCode registers a one-time authorization code for the client, to be
// exchanged with grant_type=authorization_code for a new refresh token with
// the given scopes (nil: the client's default scopes).
func (s *Sim) AddGrantCode(clientID, code string, scopes []string) {
	o := s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.clients[clientID]
	if !ok {
		return
	}
	if scopes == nil {
		scopes = c.scopes
	}
	o.codes[code] = &grantCode{client: c, scopes: scopes}
}

// ExpireTokens invalidates every access token issued so far: the API answers
// 401 INVALID_TOKEN for them and clients must refresh.
func (s *Sim) ExpireTokens() { s.oauth.expireAll() }

// internalToken is an access token that never expires and holds every scope,
// for the MCP look-alike's in-process API calls.
func (s *Sim) internalToken() string { return s.oauth.internal }
