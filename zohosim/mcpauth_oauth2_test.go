package zohosim

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/oauth2"
)

// callback is the client's loopback redirect target: it records what the
// authorization server sent back.
type callback struct {
	srv *httptest.Server
	got chan url.Values
}

func newCallback(t *testing.T) *callback {
	t.Helper()
	cb := &callback{got: make(chan url.Values, 1)}
	cb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		cb.got <- r.URL.Query()
		_, _ = w.Write([]byte("you may close this window"))
	}))
	t.Cleanup(cb.srv.Close)
	return cb
}

// browse is the fake browser: it opens the authorization URL, follows the
// redirect to the loopback callback and returns what the callback got.
func (cb *callback) browse(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := testClient.Get(authURL)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	resp.Body.Close()
	select {
	case q := <-cb.got:
		return q
	default:
		t.Fatalf("the browser ended at %s (%d), not at the callback", resp.Request.URL, resp.StatusCode)
		return nil
	}
}

var resourceMetadataRE = regexp.MustCompile(`resource_metadata="([^"]+)"`)

// TestMCPAuthLoginWithOAuth2 is the whole on-demand login as a real client
// does it, with golang.org/x/oauth2 for the grant, PKCE and refresh and
// mcp-go as the MCP client: 401 → protected resource metadata →
// authorization server metadata → dynamic registration → consent in a
// (fake) browser → code exchange with the verifier → MCP calls → refresh.
func TestMCPAuthLoginWithOAuth2(t *testing.T) {
	t.Parallel()
	s, _ := onDemandSim(t, Options{})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, testClient)

	// 1. The MCP server refuses and points at its metadata.
	r := mcpInit(t, s, "")
	m := resourceMetadataRE.FindStringSubmatch(r.header.Get("WWW-Authenticate"))
	if r.status != http.StatusUnauthorized || m == nil {
		t.Fatalf("first call: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	// 2. Protected resource metadata names the resource and its issuer.
	st, prm := getJSON(t, m[1])
	if st != http.StatusOK || prm["resource"] != s.MCPEndpoint() {
		t.Fatalf("PRM: %d %v", st, prm)
	}
	issuer := prm["authorization_servers"].([]any)[0].(string)
	// 3. RFC 8414 metadata at the issuer's well-known URL; its issuer must
	// be the one asked for.
	iu, _ := url.Parse(issuer)
	st, meta := getJSON(t, iu.Scheme+"://"+iu.Host+"/.well-known/oauth-authorization-server"+iu.Path)
	if st != http.StatusOK || meta["issuer"] != issuer {
		t.Fatalf("AS metadata: %d %v", st, meta)
	}
	// 4. Dynamic registration of a public client with a port-less loopback
	// redirect URI; the callback listens on a random port (RFC 8252).
	cb := newCallback(t)
	_, port, _ := splitHostPort(cb.srv.URL)
	client := publicClient(t, meta, "http://127.0.0.1/callback")

	cfg := &oauth2.Config{
		ClientID:    client,
		Endpoint:    oauth2.Endpoint{AuthURL: meta["authorization_endpoint"].(string), TokenURL: meta["token_endpoint"].(string), AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://127.0.0.1:" + port + "/callback",
		Scopes:      []string{mcpToolScope},
	}
	resource := oauth2.SetAuthURLParam("resource", s.MCPEndpoint())

	// 5. Consent in the browser, state and iss checked.
	verifier := oauth2.GenerateVerifier()
	q := cb.browse(t, cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), resource))
	if q.Get("state") != "state-1" || q.Get("iss") != issuer || q.Get("code") == "" {
		t.Fatalf("callback got %v", q)
	}
	// 6. The code with a wrong verifier is refused as invalid_grant (and
	// used up); a fresh consent with the right one works.
	_, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()), resource)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("wrong verifier: %v", err)
	}
	q = cb.browse(t, cfg.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier), resource))
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier), resource)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.Type() != "Bearer" || time.Until(tok.Expiry) < 59*time.Minute {
		t.Fatalf("token %+v", tok)
	}

	// 7. A real MCP client over the bearer-carrying HTTP client.
	mc := mcpOverHTTP(t, s.MCPEndpoint(), cfg.Client(ctx, tok))
	text, isErr := callTool(t, mc, "ZohoCRM_getRecord", map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": id(3)}})
	if isErr || jsonOf(t, text)["data"] == nil {
		t.Fatalf("getRecord over OAuth: %v %s", isErr, text)
	}
	// Issue 12's tools sit behind the same bearer check.
	text, isErr = callTool(t, mc, "ZohoCRM_getModules", map[string]any{})
	if isErr || jsonOf(t, text)["modules"] == nil {
		t.Fatalf("getModules over OAuth: %v %s", isErr, text)
	}

	// 8. Refresh: the access token is expired at the server; the token
	// source refreshes (rotating the refresh token) and the MCP calls work.
	s.ExpireMCPAccessTokens()
	if r := mcpInit(t, s, "Bearer "+tok.AccessToken); r.status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", r.status)
	}
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	tok2, err := cfg.TokenSource(ctx, &stale).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", tok2)
	}
	if r := mcpInit(t, s, "Bearer "+tok2.AccessToken); r.status != http.StatusOK {
		t.Fatalf("refreshed token: %d %s", r.status, r.body)
	}

	// 9. A denied consent reaches the callback as error=access_denied.
	s.DenyNextMCPConsent()
	q = cb.browse(t, cfg.AuthCodeURL("state-3", oauth2.S256ChallengeOption(verifier), resource))
	if q.Get("error") != "access_denied" || q.Get("state") != "state-3" || q.Get("code") != "" {
		t.Fatalf("denied consent: %v", q)
	}

	if got := s.MCPAuthStats(); got.Registrations != 1 || got.CodesIssued != 2 || got.Denials != 1 ||
		got.CodeGrants != 1 || got.RefreshGrants != 1 || got.FailedGrants != 1 || got.Unauthorized != 2 {
		t.Fatalf("stats %+v", got)
	}
}

// mcpOverHTTP connects an mcp-go Streamable HTTP client that sends its
// requests through hc.
func mcpOverHTTP(t *testing.T, endpoint string, hc *http.Client) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(endpoint, transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "zohosim-oauth2-test", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return c
}

// splitHostPort splits the host and port of a URL.
func splitHostPort(raw string) (host, port string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	return u.Hostname(), u.Port(), nil
}
