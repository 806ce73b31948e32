package zohosim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The hosted-MCP look-alike's "Authorization on Demand" (zoho-mcp-anchors
// §1.4, the MCP authorization spec): the MCP server is an OAuth 2.1 resource
// server and the look-alike runs its own authorization server on a separate
// origin (SurfaceMCPAuth), as Zoho's servers on *.zohomcp.<tld> send clients
// to mcp.zoho.<tld>/baas/mcp/v1/oauth/<hash>/<orgId>. A client must follow
// discovery:
//
//	MCP origin (unauthenticated):
//	  GET /.well-known/oauth-protected-resource[/mcp/{key}/message]  RFC 9728
//	  GET /.well-known/oauth-authorization-server                   RFC 8414 copy (Zoho serves one here)
//	  POST /mcp/{key}/message without a valid bearer → 401 +
//	    WWW-Authenticate: Bearer [error="invalid_token", ]resource_metadata="…", scope="ZohoMCP.tool.execute"
//	authorization server (issuer http://…/baas/mcp/v1/oauth/{hash}/{org}):
//	  GET  /.well-known/oauth-authorization-server/baas/mcp/v1/oauth/{hash}/{org}  RFC 8414
//	  POST {issuer}/register   RFC 7591 dynamic client registration
//	  GET  /mcp-client/{hash}/{org}/oauth   authorization endpoint (auto-consents, 302)
//	  POST {issuer}/token      authorization_code (PKCE S256 required) and refresh_token
//	  POST {issuer}/revoke     RFC 7009
//
// The token endpoint speaks RFC 6749 (errors as HTTP 400/401 JSON), not the
// Zoho accounts server's dialect (HTTP 200 {"error":…}): UNCONFIRMED which
// one Zoho's MCP authorization server uses; the MCP clients it serves are
// RFC clients. The key in the MCP URL stays required (the strict reading;
// whether Zoho lets it go in this mode is UNCONFIRMED).

// MCPAuth is how the hosted-MCP look-alike authenticates its callers.
type MCPAuth string

// The MCP authentication modes (zoho-mcp-anchors §1.4).
const (
	// MCPAuthConnection is "Authorization via Connection": the secret key
	// in the URL is the whole credential.
	MCPAuthConnection MCPAuth = "connection"
	// MCPAuthOnDemand is "Authorization on Demand": the key URL plus an
	// OAuth bearer token from the look-alike's authorization server.
	MCPAuthOnDemand MCPAuth = "on-demand"
)

const (
	// mcpAccessTTL is the access token lifetime (expires_in 3600, §1.4).
	mcpAccessTTL = time.Hour
	// mcpCodeTTL is the authorization code lifetime (UNCONFIRMED for the MCP
	// server; Zoho's accounts server keeps redirect-flow codes about a
	// minute, zoho-api §2.6).
	mcpCodeTTL = time.Minute
	// mcpToolScope is the scope a token needs to call the MCP server.
	mcpToolScope = "ZohoMCP.tool.execute"
)

// mcpScopesSupported are the scopes the authorization server grants, the
// default when a client asks for none (UNCONFIRMED: the CRM scope set Zoho
// publishes; these are the ones a CRM client was seen to request, §1.4).
var mcpScopesSupported = []string{mcpToolScope, "ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL",
	"ZohoCRM.users.READ", "ZohoCRM.org.READ", "ZohoCRM.coql.READ", "ZohoSearch.securesearch.READ"}

// Token endpoint client authentication methods (RFC 7591 §2).
const (
	authNone       = "none"
	authSecretPost = "client_secret_post"
	authSecretBase = "client_secret_basic"
)

// MCPAuthStats counts what the on-demand authorization server and the MCP
// endpoint's bearer check did since Start or the last ResetLog.
type MCPAuthStats struct {
	// Registrations counts successful dynamic client registrations.
	Registrations int `json:"registrations"`
	// CodesIssued counts authorization codes handed out by a consent.
	CodesIssued int `json:"codes_issued"`
	// Denials counts consents answered error=access_denied.
	Denials int `json:"denials"`
	// CodeGrants and RefreshGrants count successful token grants.
	CodeGrants    int `json:"code_grants"`
	RefreshGrants int `json:"refresh_grants"`
	// FailedGrants counts token requests answered with an OAuth error.
	FailedGrants int `json:"failed_grants"`
	// Unauthorized counts MCP requests answered 401 (no bearer, or an
	// unknown, expired or revoked one).
	Unauthorized int `json:"unauthorized"`
}

type oauthMCPClient struct {
	id, secret   string
	authMethod   string // none | client_secret_post | client_secret_basic
	redirectURIs []string
	grantTypes   []string
	name         string
	issued       time.Time
}

// mcpGrant is one consent: the tokens issued from its code, and the refresh
// tokens that followed, share it, so revoking it ends them all.
type mcpGrant struct {
	client   *oauthMCPClient
	scopes   []string
	resource string
	revoked  bool
	children []*mcpGrant // grants narrowed from it by a refresh with scope
}

func (g *mcpGrant) isRevoked() bool { return g.revoked }

type mcpCode struct {
	client      *oauthMCPClient
	redirectURI string
	challenge   string
	scopes      []string
	resource    string
	expires     time.Time
	used        bool
	grant       *mcpGrant // the grant its exchange created (revoked on a replay)
}

type mcpAccess struct {
	grant   *mcpGrant
	expires time.Time
}

type mcpRefresh struct {
	grant   *mcpGrant
	rotated bool // replaced by a newer refresh token; presenting it again revokes the grant
}

// mcpAuthServer is the on-demand authorization server and token store.
type mcpAuthServer struct {
	s    *Sim
	hash string // the per-server segment of Zoho's authorization server path

	mu       sync.Mutex
	clients  map[string]*oauthMCPClient
	codes    map[string]*mcpCode
	access   map[string]*mcpAccess
	refresh  map[string]*mcpRefresh
	denyNext int // consents still to deny
	rotate   bool
	issued   int // access tokens issued, for the periodic sweep
	stats    MCPAuthStats
}

func newMCPAuthServer(s *Sim) *mcpAuthServer {
	return &mcpAuthServer{s: s, hash: randomHex(16), clients: map[string]*oauthMCPClient{}, codes: map[string]*mcpCode{},
		access: map[string]*mcpAccess{}, refresh: map[string]*mcpRefresh{}, rotate: !s.opts.MCPKeepRefreshToken}
}

// URLs, built from the listeners' addresses when asked (the ports are fixed
// once listening).

func (a *mcpAuthServer) issuerPath() string { return "/baas/mcp/v1/oauth/" + a.hash + "/" + a.s.orgID }
func (a *mcpAuthServer) authorizePath() string {
	return "/mcp-client/" + a.hash + "/" + a.s.orgID + "/oauth"
}
func (a *mcpAuthServer) issuer() string   { return a.s.baseURL(SurfaceMCPAuth) + a.issuerPath() }
func (a *mcpAuthServer) resource() string { return a.s.MCPEndpoint() }
func (a *mcpAuthServer) prmURL() string {
	return a.s.baseURL(SurfaceMCP) + "/.well-known/oauth-protected-resource" + a.s.mcpPath()
}

// asMetadataURL is where RFC 8414 §3 puts the issuer's metadata: the
// well-known segment inserted before the issuer's path.
func (a *mcpAuthServer) asMetadataURL() string {
	return a.s.baseURL(SurfaceMCPAuth) + "/.well-known/oauth-authorization-server" + a.issuerPath()
}

func (a *mcpAuthServer) mux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server"+a.issuerPath(), a.serveASMetadata)
	mux.HandleFunc("POST "+a.issuerPath()+"/register", a.serveRegister)
	mux.HandleFunc("GET "+a.authorizePath(), a.serveAuthorize)
	mux.HandleFunc("POST "+a.issuerPath()+"/token", a.serveToken)
	mux.HandleFunc("POST "+a.issuerPath()+"/revoke", a.serveRevoke)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found",
			"error_description": "no such endpoint; the metadata is at " + a.asMetadataURL()})
	})
	return mux
}

// serveMCPWellKnown serves the discovery documents on the MCP origin.
func (a *mcpAuthServer) serveMCPWellKnown(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed"})
		return
	}
	prm := "/.well-known/oauth-protected-resource"
	switch p := r.URL.Path; {
	case p == prm || (strings.HasPrefix(p, prm+"/") && equalSecret(p, prm+a.s.mcpPath())):
		writeJSON(w, http.StatusOK, a.resourceMetadata())
	case p == "/.well-known/oauth-authorization-server":
		writeJSON(w, http.StatusOK, a.asMetadata())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
	}
}

// resourceMetadata is the RFC 9728 document of the MCP endpoint.
func (a *mcpAuthServer) resourceMetadata() map[string]any {
	return map[string]any{
		"resource":                 a.resource(),
		"authorization_servers":    []string{a.issuer()},
		"scopes_supported":         mcpScopesSupported,
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "zoho-crm-data-operations",
	}
}

// asMetadata is the RFC 8414 document of the authorization server.
func (a *mcpAuthServer) asMetadata() map[string]any {
	iss := a.issuer()
	methods := []string{authNone, authSecretPost, authSecretBase}
	return map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         a.s.baseURL(SurfaceMCPAuth) + a.authorizePath(),
		"token_endpoint":                                 iss + "/token",
		"registration_endpoint":                          iss + "/register",
		"revocation_endpoint":                            iss + "/revoke",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          methods,
		"revocation_endpoint_auth_methods_supported":     methods,
		"scopes_supported":                               mcpScopesSupported,
		"authorization_response_iss_parameter_supported": true,
	}
}

func (a *mcpAuthServer) serveASMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.asMetadata())
}

// oauthError writes an RFC 6749 §5.2 error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// isLoopbackHost reports whether host (without port) is a loopback name:
// 127.0.0.0/8, ::1 or localhost (RFC 8252 §7.3, §8.3).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validRedirectURI checks a redirect URI a client registers: absolute, no
// fragment, https, or http on a loopback host (RFC 8252 §7.3). Private-use
// schemes are refused (the look-alike serves command-line clients).
func validRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", raw)
	case !u.IsAbs() || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%q has a fragment", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must be https, or http on a loopback address (127.0.0.1, [::1], localhost)", raw)
}

// redirectMatches reports whether the redirect URI of an authorization
// request matches a registered one: exactly, or for a loopback http URI
// with any port (RFC 8252 §7.3).
func redirectMatches(registered, given string) bool {
	if registered == given {
		return true
	}
	r, err1 := url.Parse(registered)
	g, err2 := url.Parse(given)
	if err1 != nil || err2 != nil || r.Scheme != "http" || g.Scheme != "http" || !isLoopbackHost(r.Hostname()) {
		return false
	}
	return r.Hostname() == g.Hostname() && r.EscapedPath() == g.EscapedPath() && r.RawQuery == g.RawQuery &&
		g.Fragment == "" && g.User == nil && r.User == nil
}

// registration is an RFC 7591 client registration request (unknown members
// are ignored, as §2 asks).
type registration struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name"`
}

// serveRegister serves RFC 7591 dynamic client registration. Defaults follow
// the RFC: token_endpoint_auth_method client_secret_basic (so a public
// client must ask for "none"), grant_types ["authorization_code"] (so a
// client that wants refresh tokens must register "refresh_token").
func (a *mcpAuthServer) serveRegister(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var reg registration
	if err != nil || json.Unmarshal(body, &reg) != nil {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "the body must be a JSON object of client metadata (RFC 7591)")
		return
	}
	if len(reg.RedirectURIs) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris is required")
		return
	}
	for _, u := range reg.RedirectURIs {
		if err := validRedirectURI(u); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_redirect_uri", err.Error())
			return
		}
	}
	method := reg.TokenEndpointAuthMethod
	if method == "" {
		method = authSecretBase
	}
	if method != authNone && method != authSecretPost && method != authSecretBase {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata",
			"token_endpoint_auth_method must be none, client_secret_post or client_secret_basic")
		return
	}
	grants := reg.GrantTypes
	if len(grants) == 0 {
		grants = []string{"authorization_code"}
	}
	for _, g := range grants {
		if g != "authorization_code" && g != "refresh_token" {
			oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "unsupported grant type "+strconv.Quote(g))
			return
		}
	}
	resp := reg.ResponseTypes
	if len(resp) == 0 {
		resp = []string{"code"}
	}
	if !slices.Equal(resp, []string{"code"}) || !slices.Contains(grants, "authorization_code") {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata",
			`response_types must be ["code"] with the authorization_code grant`)
		return
	}
	c := a.addClient(method, reg.RedirectURIs, grants, reg.ClientName)
	out := map[string]any{
		"client_id": c.id, "client_id_issued_at": c.issued.Unix(), "redirect_uris": c.redirectURIs,
		"grant_types": c.grantTypes, "response_types": resp, "token_endpoint_auth_method": c.authMethod,
	}
	if c.secret != "" {
		out["client_secret"], out["client_secret_expires_at"] = c.secret, 0
	}
	if c.name != "" {
		out["client_name"] = c.name
	}
	a.mu.Lock()
	a.stats.Registrations++
	a.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
}

func (a *mcpAuthServer) addClient(method string, redirects, grants []string, name string) *oauthMCPClient {
	c := &oauthMCPClient{id: newClientID(), authMethod: method, redirectURIs: slices.Clone(redirects),
		grantTypes: slices.Clone(grants), name: name, issued: a.s.now()}
	if method != authNone {
		c.secret = randomHex(21)
	}
	a.mu.Lock()
	a.clients[c.id] = c
	a.mu.Unlock()
	return c
}

// serveAuthorize is the authorization endpoint. It consents at once (no
// login page) and redirects back with a code, unless the request is wrong
// or DenyNextMCPConsent asked for a refusal. An unknown client or a
// redirect URI that is not registered is answered here with 400 (never
// redirected, RFC 6749 §4.1.2.1); every other error goes back to the
// redirect URI with error, error_description, state and iss.
func (a *mcpAuthServer) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	c, ok := a.clients[q.Get("client_id")]
	a.mu.Unlock()
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_client", "unknown client_id; register the client first")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || !slices.ContainsFunc(c.redirectURIs, func(reg string) bool { return redirectMatches(reg, redirect) }) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "redirect_uri is missing or not registered for this client")
		return
	}
	fail := func(code, desc string) {
		a.redirect(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}}, q)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	if !slices.Contains(c.grantTypes, "authorization_code") {
		fail("unauthorized_client", "the client is not registered for the authorization_code grant")
		return
	}
	challenge := q.Get("code_challenge")
	if challenge == "" {
		fail("invalid_request", "code_challenge is required (PKCE with S256)")
		return
	}
	if q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "code_challenge_method must be S256")
		return
	}
	if len(challenge) != 43 || !isBase64URL(challenge) {
		fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
		return
	}
	scopes := mcpScopesSupported
	if sc := q.Get("scope"); sc != "" {
		scopes = splitScopes(sc)
		for _, s := range scopes {
			if !slices.ContainsFunc(mcpScopesSupported, func(v string) bool { return strings.EqualFold(v, s) }) {
				fail("invalid_scope", "unknown scope "+strconv.Quote(s))
				return
			}
		}
	}
	resource := ""
	for _, res := range q["resource"] {
		if res != a.resource() {
			fail("invalid_target", "resource must be the MCP server's URL (RFC 8707)")
			return
		}
		resource = res
	}
	a.mu.Lock()
	if a.denyNext > 0 {
		a.denyNext--
		a.stats.Denials++
		a.mu.Unlock()
		fail("access_denied", "the user denied access")
		return
	}
	now := a.s.now()
	for k, old := range a.codes { // drop codes long past their expiry
		if now.Sub(old.expires) > mcpCodeTTL {
			delete(a.codes, k)
		}
	}
	code := newToken()
	a.codes[code] = &mcpCode{client: c, redirectURI: redirect, challenge: challenge, scopes: slices.Clone(scopes),
		resource: resource, expires: now.Add(mcpCodeTTL)}
	a.stats.CodesIssued++
	a.mu.Unlock()
	a.redirect(w, r, redirect, url.Values{"code": {code}}, q)
}

// redirect sends the browser back to the client with params, state and iss
// added to the redirect URI's own query.
func (a *mcpAuthServer) redirect(w http.ResponseWriter, r *http.Request, to string, params, req url.Values) {
	u, _ := url.Parse(to) // validated at registration
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if st := req.Get("state"); st != "" {
		q.Set("state", st)
	}
	q.Set("iss", a.issuer()) // RFC 9207
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func isBase64URL(s string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validVerifier checks RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// clientAuth authenticates the client of a token or revocation request:
// HTTP Basic (client_secret_basic, or a public client with an empty
// password) or client_id/client_secret in the form. On failure it answers
// 401 invalid_client.
func (a *mcpAuthServer) clientAuth(w http.ResponseWriter, r *http.Request) (*oauthMCPClient, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both are form-urlencoded inside the header.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if fid := r.PostForm.Get("client_id"); fid != "" && fid != id {
			oauthError(w, http.StatusBadRequest, "invalid_request", "client_id differs between the header and the body")
			return nil, false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	a.mu.Lock()
	c, ok := a.clients[id]
	a.mu.Unlock()
	valid := ok && ((c.secret == "" && secret == "") || (c.secret != "" && equalSecret(secret, c.secret)))
	if !valid {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="zohosim-mcp"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil, false
	}
	return c, true
}

// parseTokenForm reads an application/x-www-form-urlencoded POST body
// (parameters in the query string are not taken, RFC 6749 §3.2).
func parseTokenForm(w http.ResponseWriter, r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the form body cannot be read")
		return false
	}
	return true
}

// tokenFail answers a failed grant and counts it.
func (a *mcpAuthServer) tokenFail(w http.ResponseWriter, status int, code, desc string) {
	a.mu.Lock()
	a.stats.FailedGrants++
	a.mu.Unlock()
	oauthError(w, status, code, desc)
}

// serveToken is the token endpoint: authorization_code with PKCE S256 and
// refresh_token (rotating unless turned off).
func (a *mcpAuthServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if !parseTokenForm(w, r) {
		a.noteFailed()
		return
	}
	c, ok := a.clientAuth(w, r)
	if !ok {
		a.noteFailed()
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	switch grant {
	case "":
		a.tokenFail(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	case "authorization_code", "refresh_token":
	default:
		a.tokenFail(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
		return
	}
	if !slices.Contains(c.grantTypes, grant) {
		a.tokenFail(w, http.StatusBadRequest, "unauthorized_client", "the client is not registered for the "+grant+" grant")
		return
	}
	for _, res := range f["resource"] {
		if res != a.resource() {
			a.tokenFail(w, http.StatusBadRequest, "invalid_target", "resource must be the MCP server's URL (RFC 8707)")
			return
		}
	}
	if grant == "authorization_code" {
		a.codeGrant(w, c, f)
	} else {
		a.refreshGrant(w, c, f)
	}
}

func (a *mcpAuthServer) noteFailed() {
	a.mu.Lock()
	a.stats.FailedGrants++
	a.mu.Unlock()
}

// codeGrant exchanges an authorization code. A code is single-use: any
// exchange that gets as far as checking it (the client matched) uses it up,
// and presenting a used code again revokes the tokens its exchange issued
// (OAuth 2.1 §4.1.3).
func (a *mcpAuthServer) codeGrant(w http.ResponseWriter, c *oauthMCPClient, f url.Values) {
	now := a.s.now()
	a.mu.Lock()
	code, ok := a.codes[f.Get("code")]
	if !ok || code.client != c {
		a.mu.Unlock()
		a.tokenFail(w, http.StatusBadRequest, "invalid_grant", "the authorization code is unknown or was issued to another client")
		return
	}
	if code.used {
		if code.grant != nil {
			a.revokeGrantLocked(code.grant)
		}
		a.mu.Unlock()
		a.tokenFail(w, http.StatusBadRequest, "invalid_grant", "the authorization code was already used; the tokens issued for it are revoked")
		return
	}
	code.used = true
	var desc string
	switch verifier := f.Get("code_verifier"); {
	case !now.Before(code.expires):
		desc = "the authorization code has expired"
	case f.Get("redirect_uri") != code.redirectURI:
		desc = "redirect_uri differs from the authorization request's"
	case verifier == "":
		desc = "code_verifier is required (PKCE)"
	case !validVerifier(verifier) || !equalSecret(s256(verifier), code.challenge):
		desc = "code_verifier does not match the code_challenge"
	}
	if desc != "" {
		a.mu.Unlock()
		a.tokenFail(w, http.StatusBadRequest, "invalid_grant", desc)
		return
	}
	g := &mcpGrant{client: c, scopes: code.scopes, resource: code.resource}
	code.grant = g
	resp := a.issueLocked(g, now, true)
	a.stats.CodeGrants++
	a.mu.Unlock()
	writeTokenResponse(w, resp)
}

// refreshGrant serves the refresh_token grant. With rotation the answer has
// a new refresh token and the one presented stops working; presenting a
// rotated-away token again revokes the whole grant (OAuth 2.1 §4.3.1).
func (a *mcpAuthServer) refreshGrant(w http.ResponseWriter, c *oauthMCPClient, f url.Values) {
	now := a.s.now()
	a.mu.Lock()
	rt, ok := a.refresh[f.Get("refresh_token")]
	switch {
	case !ok || rt.grant.client != c:
		a.mu.Unlock()
		a.tokenFail(w, http.StatusBadRequest, "invalid_grant", "the refresh token is unknown or was issued to another client")
		return
	case rt.rotated:
		a.revokeGrantLocked(rt.grant)
		a.mu.Unlock()
		a.tokenFail(w, http.StatusBadRequest, "invalid_grant", "the refresh token was already used and replaced; the grant is revoked")
		return
	case rt.grant.revoked:
		a.mu.Unlock()
		a.tokenFail(w, http.StatusBadRequest, "invalid_grant", "the refresh token has been revoked")
		return
	}
	g := rt.grant
	if sc := f.Get("scope"); sc != "" {
		narrow := splitScopes(sc)
		for _, s := range narrow {
			if !slices.ContainsFunc(g.scopes, func(v string) bool { return strings.EqualFold(v, s) }) {
				a.mu.Unlock()
				a.tokenFail(w, http.StatusBadRequest, "invalid_scope", "scope "+strconv.Quote(s)+" was not granted")
				return
			}
		}
		g = &mcpGrant{client: c, scopes: narrow, resource: g.resource}
		// A narrowed grant is revoked with the original.
		rt.grant.children = append(rt.grant.children, g)
	}
	rotate := a.rotate
	if rotate {
		rt.rotated = true
	}
	resp := a.issueLocked(g, now, rotate)
	if !rotate {
		resp.RefreshToken = ""
	}
	a.stats.RefreshGrants++
	a.mu.Unlock()
	writeTokenResponse(w, resp)
}

// mcpTokenResponse is the token endpoint's success body (RFC 6749 §5.1).
type mcpTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// issueLocked mints an access token for g and, when withRefresh and the
// client may refresh, a refresh token.
func (a *mcpAuthServer) issueLocked(g *mcpGrant, now time.Time, withRefresh bool) mcpTokenResponse {
	a.issued++
	if a.issued%256 == 0 { // sweep expired access tokens now and then
		for k, at := range a.access {
			if !now.Before(at.expires) || at.grant.isRevoked() {
				delete(a.access, k)
			}
		}
	}
	tok := newToken()
	a.access[tok] = &mcpAccess{grant: g, expires: now.Add(mcpAccessTTL)}
	resp := mcpTokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(mcpAccessTTL / time.Second),
		Scope: strings.Join(g.scopes, " ")}
	if withRefresh && slices.Contains(g.client.grantTypes, "refresh_token") {
		rt := newToken()
		a.refresh[rt] = &mcpRefresh{grant: g}
		resp.RefreshToken = rt
	}
	return resp
}

func writeTokenResponse(w http.ResponseWriter, resp mcpTokenResponse) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// revokeGrantLocked ends a grant: its access and refresh tokens stop
// working.
func (a *mcpAuthServer) revokeGrantLocked(g *mcpGrant) {
	g.revoked = true
	for _, c := range g.children {
		a.revokeGrantLocked(c)
	}
}

// serveRevoke is RFC 7009 revocation: a refresh token ends its grant, an
// access token ends itself; an unknown token is a success too.
func (a *mcpAuthServer) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if !parseTokenForm(w, r) {
		return
	}
	c, ok := a.clientAuth(w, r)
	if !ok {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	a.mu.Lock()
	if rt, ok := a.refresh[tok]; ok && rt.grant.client == c {
		a.revokeGrantLocked(rt.grant)
	} else if at, ok := a.access[tok]; ok && at.grant.client == c {
		delete(a.access, tok)
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// authorizeMCP checks the bearer token of an MCP request; on failure it
// answers 401 (or 403 for a token without the tool scope) with the
// WWW-Authenticate challenge and returns false.
func (a *mcpAuthServer) authorizeMCP(w http.ResponseWriter, r *http.Request) bool {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		a.challenge(w, "", "send Authorization: Bearer <access token> from the authorization server named in the protected resource metadata")
		return false
	}
	now := a.s.now()
	a.mu.Lock()
	at, ok := a.access[tok]
	var desc string
	switch {
	case !ok:
		desc = "the access token is unknown"
	case at.grant.isRevoked():
		desc = "the access token has been revoked"
	case !now.Before(at.expires):
		desc = "the access token has expired"
	case at.grant.resource != "" && at.grant.resource != a.resource():
		desc = "the access token was issued for another resource"
	}
	var scoped bool
	if ok {
		scoped = slices.ContainsFunc(at.grant.scopes, func(v string) bool { return strings.EqualFold(v, mcpToolScope) })
	}
	a.mu.Unlock()
	if desc != "" {
		a.challenge(w, "invalid_token", desc)
		return false
	}
	if !scoped {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q, resource_metadata=%q`,
			mcpToolScope, a.prmURL()))
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope",
			"error_description": "the token lacks the scope " + mcpToolScope})
		return false
	}
	return true
}

// challenge answers 401 with the RFC 6750 / RFC 9728 challenge: error (and
// its description) only when a token was sent.
func (a *mcpAuthServer) challenge(w http.ResponseWriter, code, desc string) {
	a.mu.Lock()
	a.stats.Unauthorized++
	a.mu.Unlock()
	h := fmt.Sprintf(`Bearer resource_metadata=%q, scope=%q`, a.prmURL(), mcpToolScope)
	body := map[string]string{"error": "unauthorized", "error_description": desc}
	if code != "" {
		h = fmt.Sprintf(`Bearer error=%q, error_description=%q, resource_metadata=%q, scope=%q`, code, desc, a.prmURL(), mcpToolScope)
		body["error"] = code
	}
	w.Header().Set("WWW-Authenticate", h)
	writeJSON(w, http.StatusUnauthorized, body)
}

func (a *mcpAuthServer) resetStats() {
	a.mu.Lock()
	a.stats = MCPAuthStats{}
	a.mu.Unlock()
}

// The Go API. In connection mode (no authorization server) they do nothing
// and return zero values.

// MCPResourceMetadataURL is the RFC 9728 metadata URL of the MCP endpoint
// (the path-suffixed form the 401 challenge names); "" in connection mode.
func (s *Sim) MCPResourceMetadataURL() string {
	if s.mcpAuth == nil {
		return ""
	}
	return s.mcpAuth.prmURL()
}

// MCPIssuer is the on-demand authorization server's issuer; "" in
// connection mode. Its RFC 8414 metadata is at MCPAuthServerMetadataURL.
func (s *Sim) MCPIssuer() string {
	if s.mcpAuth == nil {
		return ""
	}
	return s.mcpAuth.issuer()
}

// MCPAuthServerMetadataURL is where the issuer's RFC 8414 metadata is
// (the well-known segment inserted before the issuer's path); "" in
// connection mode.
func (s *Sim) MCPAuthServerMetadataURL() string {
	if s.mcpAuth == nil {
		return ""
	}
	return s.mcpAuth.asMetadataURL()
}

// MCPAuthStats returns the on-demand authorization counters.
func (s *Sim) MCPAuthStats() MCPAuthStats {
	if s.mcpAuth == nil {
		return MCPAuthStats{}
	}
	s.mcpAuth.mu.Lock()
	defer s.mcpAuth.mu.Unlock()
	return s.mcpAuth.stats
}

// DenyNextMCPConsent makes the next authorization request end in a refusal:
// the redirect carries error=access_denied instead of a code. Each call
// denies one more consent.
func (s *Sim) DenyNextMCPConsent() {
	if s.mcpAuth == nil {
		return
	}
	s.mcpAuth.mu.Lock()
	s.mcpAuth.denyNext++
	s.mcpAuth.mu.Unlock()
}

// ExpireMCPAccessTokens makes every MCP access token issued so far expire:
// the MCP endpoint answers 401 invalid_token for them; refresh tokens keep
// working.
func (s *Sim) ExpireMCPAccessTokens() {
	if s.mcpAuth == nil {
		return
	}
	a := s.mcpAuth
	a.mu.Lock()
	now := s.now()
	for _, at := range a.access {
		if at.expires.After(now) {
			at.expires = now
		}
	}
	a.mu.Unlock()
}

// RevokeMCPGrants revokes every grant: all MCP access and refresh tokens
// stop working and the client must run the authorization flow again.
func (s *Sim) RevokeMCPGrants() {
	if s.mcpAuth == nil {
		return
	}
	a := s.mcpAuth
	a.mu.Lock()
	for _, rt := range a.refresh {
		a.revokeGrantLocked(rt.grant)
	}
	for _, at := range a.access {
		a.revokeGrantLocked(at.grant)
	}
	a.mu.Unlock()
}

// SetMCPRefreshRotation turns refresh token rotation on (each refresh
// answers a new refresh token and the old one stops working) or off (the
// refresh token stays valid and none is returned). Options.MCPKeepRefreshToken
// sets the starting value.
func (s *Sim) SetMCPRefreshRotation(rotate bool) {
	if s.mcpAuth == nil {
		return
	}
	s.mcpAuth.mu.Lock()
	s.mcpAuth.rotate = rotate
	s.mcpAuth.mu.Unlock()
}

// AddMCPClient registers a confidential client (client_secret_post or
// client_secret_basic, both grants) with the given redirect URIs, as an
// admin who hands out ZOHO_MCP_CLIENT_ID/SECRET would. It fails in
// connection mode and for a redirect URI registration would refuse.
func (s *Sim) AddMCPClient(redirectURIs []string) (clientID, clientSecret string, err error) {
	if s.mcpAuth == nil {
		return "", "", fmt.Errorf("zohosim: the MCP look-alike is not in on-demand mode")
	}
	if len(redirectURIs) == 0 {
		return "", "", fmt.Errorf("zohosim: a client needs at least one redirect URI")
	}
	for _, u := range redirectURIs {
		if err := validRedirectURI(u); err != nil {
			return "", "", fmt.Errorf("zohosim: %w", err)
		}
	}
	c := s.mcpAuth.addClient(authSecretPost, redirectURIs, []string{"authorization_code", "refresh_token"}, "")
	return c.id, c.secret, nil
}
