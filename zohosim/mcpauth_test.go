package zohosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// These tests act as a strict OAuth client of the on-demand MCP look-alike
// with raw net/http; mcpauth_oauth2_test.go runs the same flow through
// golang.org/x/oauth2.

// onDemandSim starts an emulator in on-demand mode on a fake clock.
func onDemandSim(t *testing.T, opts Options) (*Sim, *fakeClock) {
	t.Helper()
	clock := newClock()
	opts.Now = clock.Now
	opts.MCPAuth = MCPAuthOnDemand
	if opts.Accounts == 0 {
		opts.Accounts = 20
	}
	return startSim(t, opts), clock
}

// noRedirect is a browser that stops at the first redirect so a test can
// read Location.
var noRedirect = &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func getJSON(t *testing.T, rawURL string) (int, map[string]any) {
	t.Helper()
	r := call(t, http.MethodGet, rawURL, "", "")
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return r.status, m
}

// asMeta reads the authorization server metadata the way a client finds it:
// PRM from the MCP origin, then RFC 8414 at the issuer's well-known URL.
func asMeta(t *testing.T, s *Sim) map[string]any {
	t.Helper()
	st, prm := getJSON(t, s.MCPResourceMetadataURL())
	if st != http.StatusOK {
		t.Fatalf("PRM: %d", st)
	}
	iss := prm["authorization_servers"].([]any)[0].(string)
	u, _ := url.Parse(iss)
	st, meta := getJSON(t, u.Scheme+"://"+u.Host+"/.well-known/oauth-authorization-server"+u.Path)
	if st != http.StatusOK {
		t.Fatalf("AS metadata: %d", st)
	}
	return meta
}

// postJSON posts a JSON body and decodes the JSON answer.
func postJSON(t *testing.T, rawURL, body string) (int, map[string]any) {
	t.Helper()
	r := call(t, http.MethodPost, rawURL, "", body)
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return r.status, m
}

// tokenPost posts a form to the token (or revocation) endpoint.
func tokenPost(t *testing.T, endpoint string, form url.Values, basicUser, basicPass string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

// authorizeAt sends the browser to the authorization endpoint and returns
// the status and, for a redirect, its parsed Location.
func authorizeAt(t *testing.T, endpoint string, q url.Values) (int, *url.URL) {
	t.Helper()
	resp, err := noRedirect.Get(endpoint + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, loc
}

// publicClient registers a public client (token_endpoint_auth_method none,
// both grants) with redirect and returns its id.
func publicClient(t *testing.T, meta map[string]any, redirect string) string {
	t.Helper()
	st, m := postJSON(t, meta["registration_endpoint"].(string), `{"client_name":"test","redirect_uris":["`+redirect+
		`"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}`)
	if st != http.StatusCreated {
		t.Fatalf("register: %d %v", st, m)
	}
	return m["client_id"].(string)
}

// authParams is a valid authorization request for client with verifier.
func authParams(s *Sim, clientID, redirect, verifier string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect},
		"state": {"st-123"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"}, "resource": {s.MCPEndpoint()}}
}

// codeFor runs a consent and returns the code.
func codeFor(t *testing.T, s *Sim, meta map[string]any, clientID, redirect, verifier string) string {
	t.Helper()
	st, loc := authorizeAt(t, meta["authorization_endpoint"].(string), authParams(s, clientID, redirect, verifier))
	if st != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %v", st, loc)
	}
	return loc.Query().Get("code")
}

// exchange swaps a code for tokens as a public client.
func exchange(t *testing.T, meta map[string]any, clientID, code, redirect, verifier string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {redirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	st, _, m := tokenPost(t, meta["token_endpoint"].(string), form, "", "")
	return st, m
}

// mcpInit posts an MCP initialize with the given Authorization header value.
func mcpInit(t *testing.T, s *Sim, authz string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.MCPEndpoint(), strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

const loopback = "http://127.0.0.1:8765/callback"

func TestMCPAuthDiscoveryDocuments(t *testing.T) {
	t.Parallel()
	s, _ := onDemandSim(t, Options{MCPKey: "0123456789abcdef0123456789abcdef"})
	mcpOrigin := s.baseURL(SurfaceMCP)
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp/0123456789abcdef0123456789abcdef/message"} {
		st, prm := getJSON(t, mcpOrigin+path)
		if st != http.StatusOK || prm["resource"] != s.MCPEndpoint() ||
			!reflect.DeepEqual(prm["authorization_servers"], []any{s.MCPIssuer()}) {
			t.Fatalf("PRM %s: %d %v", path, st, prm)
		}
	}
	if s.MCPResourceMetadataURL() != mcpOrigin+"/.well-known/oauth-protected-resource/mcp/0123456789abcdef0123456789abcdef/message" {
		t.Fatalf("MCPResourceMetadataURL %s", s.MCPResourceMetadataURL())
	}
	if st, _ := getJSON(t, mcpOrigin+"/.well-known/oauth-protected-resource/mcp/ffffffffffffffffffffffffffffffff/message"); st != http.StatusNotFound {
		t.Fatalf("PRM for another key: %d, want 404", st)
	}
	// The authorization server has its own origin: a client must follow
	// authorization_servers to find it.
	iss, _ := url.Parse(s.MCPIssuer())
	if iss.Scheme+"://"+iss.Host == mcpOrigin || !regexp.MustCompile(`^/baas/mcp/v1/oauth/[0-9a-f]{32}/`+s.OrgID()+`$`).MatchString(iss.Path) {
		t.Fatalf("issuer %s (MCP origin %s)", s.MCPIssuer(), mcpOrigin)
	}
	meta := asMeta(t, s)
	if s.MCPAuthServerMetadataURL() != iss.Scheme+"://"+iss.Host+"/.well-known/oauth-authorization-server"+iss.Path {
		t.Fatalf("metadata URL %s", s.MCPAuthServerMetadataURL())
	}
	want := map[string]any{
		"issuer":                           s.MCPIssuer(),
		"token_endpoint":                   s.MCPIssuer() + "/token",
		"registration_endpoint":            s.MCPIssuer() + "/register",
		"revocation_endpoint":              s.MCPIssuer() + "/revoke",
		"code_challenge_methods_supported": []any{"S256"},
		"grant_types_supported":            []any{"authorization_code", "refresh_token"},
		"response_types_supported":         []any{"code"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(meta[k], v) {
			t.Errorf("metadata %s = %v, want %v", k, meta[k], v)
		}
	}
	if !strings.HasPrefix(meta["authorization_endpoint"].(string), iss.Scheme+"://"+iss.Host+"/mcp-client/") {
		t.Errorf("authorization_endpoint %v", meta["authorization_endpoint"])
	}
	if methods, _ := meta["token_endpoint_auth_methods_supported"].([]any); !reflect.DeepEqual(methods[0], "none") {
		t.Errorf("token_endpoint_auth_methods_supported %v: want none first", methods)
	}
	// Zoho also serves the authorization server's metadata at the MCP origin.
	if st, copyMeta := getJSON(t, mcpOrigin+"/.well-known/oauth-authorization-server"); st != http.StatusOK || !reflect.DeepEqual(copyMeta, meta) {
		t.Fatalf("metadata at the MCP origin: %d %v", st, copyMeta)
	}
	// The documents need no token, and in connection mode there are none.
	c := startSim(t, Options{Accounts: 1})
	if st, _ := getJSON(t, c.baseURL(SurfaceMCP)+"/.well-known/oauth-protected-resource"); st == http.StatusOK {
		t.Fatal("connection mode serves protected resource metadata")
	}
	if c.MCPIssuer() != "" || c.MCPResourceMetadataURL() != "" {
		t.Fatal("connection mode names an authorization server")
	}
}

func TestMCPAuthChallenges(t *testing.T) {
	t.Parallel()
	s, clock := onDemandSim(t, Options{})
	prm := regexp.QuoteMeta(`resource_metadata="` + s.MCPResourceMetadataURL() + `"`)
	noError := regexp.MustCompile(`^Bearer resource_metadata="[^"]+", scope="ZohoMCP.tool.execute"$`)
	invalid := regexp.MustCompile(`^Bearer error="invalid_token", error_description="[^"]+", ` + prm + `, scope="ZohoMCP.tool.execute"$`)
	tok := loginRaw(t, s)
	tests := []struct {
		name   string
		authz  string
		before func()
		status int
		header *regexp.Regexp
	}{
		{name: "no token", status: 401, header: noError},
		{name: "zoho scheme is not a bearer", authz: "Zoho-oauthtoken " + tok.access, status: 401, header: noError},
		{name: "unknown token", authz: "Bearer 1000.nope.nope", status: 401, header: invalid},
		{name: "an API token is not an MCP token", authz: "Bearer " + mintToken(t, s, s.RESTCredential()), status: 401, header: invalid},
		{name: "valid", authz: "Bearer " + tok.access, status: 200},
		{name: "bearer scheme is case-insensitive", authz: "bearer " + tok.access, status: 200},
		{name: "expired on the clock", authz: "Bearer " + tok.access, before: func() { clock.Advance(time.Hour) }, status: 401, header: invalid},
	}
	for _, tc := range tests { // in order: the clock moves
		if tc.before != nil {
			tc.before()
		}
		r := mcpInit(t, s, tc.authz)
		if r.status != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
		}
		if tc.header != nil && !tc.header.MatchString(r.header.Get("WWW-Authenticate")) {
			t.Fatalf("%s: WWW-Authenticate %q", tc.name, r.header.Get("WWW-Authenticate"))
		}
		if !strings.Contains(r.header.Get("WWW-Authenticate"), s.MCPResourceMetadataURL()) && tc.status == 401 {
			t.Fatalf("%s: the challenge does not name the metadata", tc.name)
		}
	}
	if got := s.MCPAuthStats().Unauthorized; got != 5 {
		t.Fatalf("Unauthorized %d, want 5", got)
	}
	// The key path is still required: a valid token on a wrong key is refused.
	tok2 := loginRaw(t, s)
	req, _ := http.NewRequest(http.MethodPost, s.baseURL(SurfaceMCP)+"/mcp/ffffffffffffffffffffffffffffffff/message", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+tok2.access)
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("wrong key with a valid token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Expired and revoked by the Go API.
	if r := mcpInit(t, s, "Bearer "+tok2.access); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	s.ExpireMCPAccessTokens()
	if r := mcpInit(t, s, "Bearer "+tok2.access); r.status != 401 || !invalid.MatchString(r.header.Get("WWW-Authenticate")) {
		t.Fatalf("after ExpireMCPAccessTokens: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	tok3 := loginRaw(t, s)
	s.RevokeMCPGrants()
	if r := mcpInit(t, s, "Bearer "+tok3.access); r.status != 401 {
		t.Fatalf("after RevokeMCPGrants: %d", r.status)
	}
	meta := asMeta(t, s)
	st, _, m := tokenPost(t, meta["token_endpoint"].(string), url.Values{"grant_type": {"refresh_token"},
		"client_id": {tok3.client}, "refresh_token": {tok3.refresh}}, "", "")
	if st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Fatalf("refresh after revocation: %d %v", st, m)
	}
	// The expired_tokens fault answers with the same challenge.
	tok4 := loginRaw(t, s)
	s.SetFault(SurfaceMCP, Fault{Mode: FaultExpiredTokens, Times: 1})
	if r := mcpInit(t, s, "Bearer "+tok4.access); r.status != 401 || !invalid.MatchString(r.header.Get("WWW-Authenticate")) {
		t.Fatalf("expired_tokens fault: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	if r := mcpInit(t, s, "Bearer "+tok4.access); r.status != 200 {
		t.Fatalf("after the fault: %d", r.status)
	}
}

// rawTokens is what loginRaw got.
type rawTokens struct{ client, access, refresh string }

// loginRaw runs discovery, registration, consent and the code exchange with
// raw HTTP and returns the tokens.
func loginRaw(t *testing.T, s *Sim) rawTokens {
	t.Helper()
	meta := asMeta(t, s)
	client := publicClient(t, meta, loopback)
	verifier := oauth2.GenerateVerifier()
	code := codeFor(t, s, meta, client, loopback, verifier)
	st, m := exchange(t, meta, client, code, loopback, verifier)
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %v", st, m)
	}
	refresh, _ := m["refresh_token"].(string)
	return rawTokens{client: client, access: m["access_token"].(string), refresh: refresh}
}

func TestMCPAuthRegistration(t *testing.T) {
	t.Parallel()
	s, _ := onDemandSim(t, Options{})
	reg := asMeta(t, s)["registration_endpoint"].(string)
	tests := []struct {
		name   string
		body   string
		status int
		err    string
		check  func(t *testing.T, m map[string]any)
	}{
		{name: "not JSON", body: `{`, status: 400, err: "invalid_client_metadata"},
		{name: "no redirect_uris", body: `{"token_endpoint_auth_method":"none"}`, status: 400, err: "invalid_redirect_uri"},
		{name: "plain http elsewhere", body: `{"redirect_uris":["http://example.com/cb"],"token_endpoint_auth_method":"none"}`, status: 400, err: "invalid_redirect_uri"},
		{name: "fragment", body: `{"redirect_uris":["https://example.com/cb#x"],"token_endpoint_auth_method":"none"}`, status: 400, err: "invalid_redirect_uri"},
		{name: "relative", body: `{"redirect_uris":["/cb"],"token_endpoint_auth_method":"none"}`, status: 400, err: "invalid_redirect_uri"},
		{name: "custom scheme", body: `{"redirect_uris":["com.example.app:/cb"],"token_endpoint_auth_method":"none"}`, status: 400, err: "invalid_redirect_uri"},
		{name: "unknown auth method", body: `{"redirect_uris":["` + loopback + `"],"token_endpoint_auth_method":"private_key_jwt"}`, status: 400, err: "invalid_client_metadata"},
		{name: "unknown grant", body: `{"redirect_uris":["` + loopback + `"],"grant_types":["password"]}`, status: 400, err: "invalid_client_metadata"},
		{name: "public loopback client", status: 201,
			body: `{"redirect_uris":["` + loopback + `","http://[::1]/cb","http://localhost/cb"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`,
			check: func(t *testing.T, m map[string]any) {
				if _, ok := m["client_secret"]; ok || m["token_endpoint_auth_method"] != "none" ||
					!reflect.DeepEqual(m["grant_types"], []any{"authorization_code", "refresh_token"}) {
					t.Fatalf("public client %v", m)
				}
			}},
		{name: "RFC 7591 defaults", body: `{"redirect_uris":["https://app.example/cb"]}`, status: 201,
			check: func(t *testing.T, m map[string]any) {
				if m["client_secret"] == "" || m["token_endpoint_auth_method"] != "client_secret_basic" ||
					!reflect.DeepEqual(m["grant_types"], []any{"authorization_code"}) {
					t.Fatalf("defaults %v", m)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := postJSON(t, reg, tc.body)
			if st != tc.status || (tc.err != "" && m["error"] != tc.err) {
				t.Fatalf("got %d %v, want %d %s", st, m, tc.status, tc.err)
			}
			if tc.err == "" {
				if id, _ := m["client_id"].(string); id == "" {
					t.Fatalf("no client_id: %v", m)
				}
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
	if got := s.MCPAuthStats().Registrations; got != 2 {
		t.Fatalf("Registrations %d, want 2", got)
	}
}

func TestMCPAuthAuthorize(t *testing.T) {
	t.Parallel()
	s, _ := onDemandSim(t, Options{})
	meta := asMeta(t, s)
	authz := meta["authorization_endpoint"].(string)
	client := publicClient(t, meta, loopback)
	verifier := oauth2.GenerateVerifier()
	with := func(kv ...string) url.Values {
		q := authParams(s, client, loopback, verifier)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	// Refused at the server: never redirected to an unverified place.
	for name, q := range map[string]url.Values{
		"unknown client":       with("client_id", "1000.NOPE"),
		"no redirect_uri":      with("redirect_uri", ""),
		"unregistered path":    with("redirect_uri", "http://127.0.0.1:8765/other"),
		"unregistered host":    with("redirect_uri", "http://evil.example:8765/callback"),
		"loopback, other host": with("redirect_uri", "http://localhost:8765/callback"),
	} {
		if st, loc := authorizeAt(t, authz, q); st != http.StatusBadRequest || loc != nil {
			t.Errorf("%s: %d %v, want 400 without a redirect", name, st, loc)
		}
	}
	// Refused with a redirect carrying error, state and iss.
	tests := []struct {
		name, err string
		q         url.Values
	}{
		{"token response type", "unsupported_response_type", with("response_type", "token")},
		{"no PKCE", "invalid_request", with("code_challenge", "", "code_challenge_method", "")},
		{"plain PKCE", "invalid_request", with("code_challenge_method", "plain", "code_challenge", verifier)},
		{"no method (plain by default)", "invalid_request", with("code_challenge_method", "")},
		{"short challenge", "invalid_request", with("code_challenge", "abc")},
		{"another resource", "invalid_target", with("resource", "https://other.example/mcp")},
		{"unknown scope", "invalid_scope", with("scope", "ZohoMCP.tool.execute ZohoMail.messages.ALL")},
	}
	for _, tc := range tests {
		st, loc := authorizeAt(t, authz, tc.q)
		if st != http.StatusFound || loc.Query().Get("error") != tc.err || loc.Query().Get("code") != "" ||
			loc.Query().Get("state") != "st-123" || loc.Query().Get("iss") != s.MCPIssuer() {
			t.Errorf("%s: %d %v, want a redirect with error=%s", tc.name, st, loc, tc.err)
		}
	}
	// A loopback redirect URI matches on any port (RFC 8252 §7.3).
	st, loc := authorizeAt(t, authz, with("redirect_uri", "http://127.0.0.1:49152/callback"))
	if st != http.StatusFound || loc.Host != "127.0.0.1:49152" || loc.Path != "/callback" || loc.Query().Get("code") == "" ||
		loc.Query().Get("state") != "st-123" || loc.Query().Get("iss") != s.MCPIssuer() {
		t.Fatalf("loopback on another port: %d %v", st, loc)
	}
	// The denial switch refuses exactly the next consent.
	s.DenyNextMCPConsent()
	st, loc = authorizeAt(t, authz, with())
	if st != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" || loc.Query().Get("state") != "st-123" {
		t.Fatalf("denied consent: %d %v", st, loc)
	}
	if st, loc = authorizeAt(t, authz, with()); loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("consent after the denial: %d %v", st, loc)
	}
	if got := s.MCPAuthStats(); got.CodesIssued != 2 || got.Denials != 1 {
		t.Fatalf("stats %+v, want 2 codes and 1 denial", got)
	}
	// The admin API flips the same switch.
	if r := call(t, http.MethodPost, s.AdminURL()+"/admin/mcp-oauth/deny-next", "", ""); r.status != http.StatusNoContent {
		t.Fatalf("admin deny-next: %d %s", r.status, r.body)
	}
	if _, loc = authorizeAt(t, authz, with()); loc == nil || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("after the admin switch: %v", loc)
	}
}

func TestMCPAuthCodeGrant(t *testing.T) {
	t.Parallel()
	s, clock := onDemandSim(t, Options{})
	meta := asMeta(t, s)
	tokenURL := meta["token_endpoint"].(string)
	client := publicClient(t, meta, loopback)
	verifier := oauth2.GenerateVerifier()
	invalidGrant := func(t *testing.T, st int, m map[string]any) {
		t.Helper()
		if st != http.StatusBadRequest || m["error"] != "invalid_grant" {
			t.Fatalf("got %d %v, want 400 invalid_grant", st, m)
		}
	}
	t.Run("wrong verifier, then the code is used up", func(t *testing.T) {
		code := codeFor(t, s, meta, client, loopback, verifier)
		st, m := exchange(t, meta, client, code, loopback, oauth2.GenerateVerifier())
		invalidGrant(t, st, m)
		st, m = exchange(t, meta, client, code, loopback, verifier)
		invalidGrant(t, st, m)
	})
	t.Run("missing verifier", func(t *testing.T) {
		st, m := exchange(t, meta, client, codeFor(t, s, meta, client, loopback, verifier), loopback, "")
		invalidGrant(t, st, m)
	})
	t.Run("verifier too short", func(t *testing.T) {
		short := "abc"
		q := authParams(s, client, loopback, short)
		_, loc := authorizeAt(t, meta["authorization_endpoint"].(string), q)
		st, m := exchange(t, meta, client, loc.Query().Get("code"), loopback, short)
		invalidGrant(t, st, m)
	})
	t.Run("redirect_uri differs", func(t *testing.T) {
		st, m := exchange(t, meta, client, codeFor(t, s, meta, client, loopback, verifier), "http://127.0.0.1:9/callback", verifier)
		invalidGrant(t, st, m)
	})
	t.Run("expired code", func(t *testing.T) {
		code := codeFor(t, s, meta, client, loopback, verifier)
		clock.Advance(mcpCodeTTL)
		st, m := exchange(t, meta, client, code, loopback, verifier)
		invalidGrant(t, st, m)
	})
	t.Run("code of another client", func(t *testing.T) {
		other := publicClient(t, meta, loopback)
		st, m := exchange(t, meta, other, codeFor(t, s, meta, client, loopback, verifier), loopback, verifier)
		invalidGrant(t, st, m)
	})
	t.Run("another resource", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {client}, "redirect_uri": {loopback},
			"code": {codeFor(t, s, meta, client, loopback, verifier)}, "code_verifier": {verifier}, "resource": {"https://other.example/mcp"}}
		if st, _, m := tokenPost(t, tokenURL, form, "", ""); st != 400 || m["error"] != "invalid_target" {
			t.Fatalf("got %d %v, want invalid_target", st, m)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		st, _, m := tokenPost(t, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {"1000.NOPE"}}, "", "")
		if st != http.StatusUnauthorized || m["error"] != "invalid_client" {
			t.Fatalf("got %d %v", st, m)
		}
	})
	t.Run("parameters in the query string are not a form", func(t *testing.T) {
		r := call(t, http.MethodPost, tokenURL+"?grant_type=authorization_code&client_id="+client, "", "")
		if r.status != http.StatusBadRequest {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("success, then a replay revokes what it issued", func(t *testing.T) {
		code := codeFor(t, s, meta, client, loopback, verifier)
		st, m := exchange(t, meta, client, code, loopback, verifier)
		if st != http.StatusOK || m["token_type"] != "Bearer" || m["expires_in"] != 3600.0 ||
			!tokenRE.MatchString(m["access_token"].(string)) || !tokenRE.MatchString(m["refresh_token"].(string)) {
			t.Fatalf("exchange: %d %v", st, m)
		}
		if r := mcpInit(t, s, "Bearer "+m["access_token"].(string)); r.status != http.StatusOK {
			t.Fatalf("the new token: %d %s", r.status, r.body)
		}
		st2, m2 := exchange(t, meta, client, code, loopback, verifier)
		invalidGrant(t, st2, m2)
		if r := mcpInit(t, s, "Bearer "+m["access_token"].(string)); r.status != http.StatusUnauthorized {
			t.Fatalf("the token of a replayed code still works: %d", r.status)
		}
	})
	t.Run("confidential client", func(t *testing.T) {
		id, secret, err := s.AddMCPClient([]string{loopback})
		if err != nil {
			t.Fatal(err)
		}
		form := func() url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {loopback}, "code_verifier": {verifier},
				"code": {codeFor(t, s, meta, id, loopback, verifier)}}
		}
		if st, hdr, m := tokenPost(t, tokenURL, form(), id, "wrong"); st != 401 || m["error"] != "invalid_client" || hdr.Get("WWW-Authenticate") == "" {
			t.Fatalf("wrong secret: %d %v", st, m)
		}
		if st, _, m := tokenPost(t, tokenURL, form(), id, secret); st != 200 || m["refresh_token"] == nil {
			t.Fatalf("client_secret_basic: %d %v", st, m)
		}
		f := form()
		f.Set("client_id", id)
		f.Set("client_secret", secret)
		if st, _, m := tokenPost(t, tokenURL, f, "", ""); st != 200 {
			t.Fatalf("client_secret_post: %d %v", st, m)
		}
	})
	t.Run("a client that did not register refresh_token gets none", func(t *testing.T) {
		st, m := postJSON(t, meta["registration_endpoint"].(string), `{"redirect_uris":["`+loopback+`"],"token_endpoint_auth_method":"none"}`)
		if st != http.StatusCreated {
			t.Fatalf("register: %d %v", st, m)
		}
		id := m["client_id"].(string)
		st, m = exchange(t, meta, id, codeFor(t, s, meta, id, loopback, verifier), loopback, verifier)
		if st != http.StatusOK || m["refresh_token"] != nil {
			t.Fatalf("exchange: %d %v", st, m)
		}
	})
	if got := s.MCPAuthStats(); got.CodeGrants != 4 || got.FailedGrants != 12 {
		t.Fatalf("stats %+v, want 4 code grants and 12 failed", got)
	}
}

func TestMCPAuthRefresh(t *testing.T) {
	t.Parallel()
	s, clock := onDemandSim(t, Options{})
	meta := asMeta(t, s)
	tokenURL := meta["token_endpoint"].(string)
	refresh := func(client, rt string, extra ...string) (int, map[string]any) {
		f := url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {rt}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		st, _, m := tokenPost(t, tokenURL, f, "", "")
		return st, m
	}
	t.Run("rotation", func(t *testing.T) {
		tok := loginRaw(t, s)
		clock.Advance(time.Hour) // the access token expires on the injected clock
		if r := mcpInit(t, s, "Bearer "+tok.access); r.status != http.StatusUnauthorized {
			t.Fatalf("expired token: %d", r.status)
		}
		st, m := refresh(tok.client, tok.refresh, "resource", s.MCPEndpoint())
		if st != http.StatusOK || m["expires_in"] != 3600.0 || m["refresh_token"] == nil || m["refresh_token"] == tok.refresh {
			t.Fatalf("refresh: %d %v", st, m)
		}
		access, next := m["access_token"].(string), m["refresh_token"].(string)
		if r := mcpInit(t, s, "Bearer "+access); r.status != http.StatusOK {
			t.Fatalf("refreshed token: %d", r.status)
		}
		// The old refresh token is gone; presenting it again ends the grant.
		if st, m := refresh(tok.client, tok.refresh); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("rotated-away token: %d %v", st, m)
		}
		if r := mcpInit(t, s, "Bearer "+access); r.status != http.StatusUnauthorized {
			t.Fatalf("after a refresh token replay the grant's tokens still work: %d", r.status)
		}
		if st, m := refresh(tok.client, next); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("the newest refresh token of a revoked grant: %d %v", st, m)
		}
	})
	t.Run("no rotation", func(t *testing.T) {
		s.SetMCPRefreshRotation(false)
		defer s.SetMCPRefreshRotation(true)
		tok := loginRaw(t, s)
		for i := range 3 {
			st, m := refresh(tok.client, tok.refresh)
			if st != http.StatusOK || m["refresh_token"] != nil {
				t.Fatalf("refresh %d: %d %v", i+1, st, m)
			}
		}
	})
	t.Run("scope can narrow, not widen", func(t *testing.T) {
		tok := loginRaw(t, s)
		st, m := refresh(tok.client, tok.refresh, "scope", "ZohoCRM.modules.ALL")
		if st != http.StatusOK || m["scope"] != "ZohoCRM.modules.ALL" {
			t.Fatalf("narrowed: %d %v", st, m)
		}
		// A token without ZohoMCP.tool.execute is refused with 403.
		r := mcpInit(t, s, "Bearer "+m["access_token"].(string))
		if r.status != http.StatusForbidden || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Fatalf("narrowed token at MCP: %d %q", r.status, r.header.Get("WWW-Authenticate"))
		}
		tok = loginRaw(t, s)
		if st, m := refresh(tok.client, tok.refresh, "scope", "ZohoMail.messages.ALL"); st != 400 || m["error"] != "invalid_scope" {
			t.Fatalf("widened: %d %v", st, m)
		}
	})
	t.Run("another client's refresh token", func(t *testing.T) {
		tok := loginRaw(t, s)
		other := publicClient(t, meta, loopback)
		if st, m := refresh(other, tok.refresh); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("got %d %v", st, m)
		}
	})
	t.Run("revocation endpoint", func(t *testing.T) {
		tok := loginRaw(t, s)
		st, _, _ := tokenPost(t, meta["revocation_endpoint"].(string), url.Values{"client_id": {tok.client}, "token": {tok.refresh}}, "", "")
		if st != http.StatusOK {
			t.Fatalf("revoke: %d", st)
		}
		if r := mcpInit(t, s, "Bearer "+tok.access); r.status != http.StatusUnauthorized {
			t.Fatalf("access token after its refresh token was revoked: %d", r.status)
		}
	})
	if got := s.MCPAuthStats().RefreshGrants; got != 5 {
		t.Fatalf("RefreshGrants %d, want 5", got)
	}
}

func TestMCPAuthAdmin(t *testing.T) {
	t.Parallel()
	s, _ := onDemandSim(t, Options{})
	tok := loginRaw(t, s)
	for _, path := range []string{"/admin/mcp-oauth/expire-tokens"} {
		if r := call(t, http.MethodPost, s.AdminURL()+path, "", ""); r.status != http.StatusNoContent {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
	if r := mcpInit(t, s, "Bearer "+tok.access); r.status != http.StatusUnauthorized {
		t.Fatalf("after admin expire-tokens: %d", r.status)
	}
	r := call(t, http.MethodGet, s.AdminURL()+"/admin/stats", "", "")
	var stats struct {
		MCPOAuth MCPAuthStats `json:"mcp_oauth"`
	}
	if err := json.Unmarshal(r.body, &stats); err != nil || stats.MCPOAuth.Registrations != 1 || stats.MCPOAuth.CodeGrants != 1 {
		t.Fatalf("admin stats: %v %s", err, r.body)
	}
	// In connection mode the on-demand switches are refused.
	c := startSim(t, Options{Accounts: 1})
	if r := call(t, http.MethodPost, c.AdminURL()+"/admin/mcp-oauth/deny-next", "", ""); r.status != http.StatusConflict {
		t.Fatalf("deny-next in connection mode: %d", r.status)
	}
}

// TestMCPAuthConnectionModeUnchanged pins the default: the key URL alone
// opens the MCP endpoint.
func TestMCPAuthConnectionModeUnchanged(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{Accounts: 1})
	if r := mcpInit(t, s, ""); r.status != http.StatusOK {
		t.Fatalf("connection mode without a token: %d %s", r.status, r.body)
	}
}
