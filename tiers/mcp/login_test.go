package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// These tests run Login and the tier's OAuth handling against the
// emulator's hosted-MCP look-alike in "Authorization on Demand" mode: its
// own authorization server on a separate listener, dynamic registration,
// PKCE, one-minute codes on an injected clock, rotating refresh tokens.

// simStart is when the injected clocks of these tests begin.
var simStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// onDemand starts an emulator in on-demand mode on clk.
func onDemand(t *testing.T, clk *tierstest.Clock) *zohosim.Sim {
	t.Helper()
	sim, err := zohosim.Start(zohosim.Options{Accounts: 30, MCPKey: testKey, MCPAuth: zohosim.MCPAuthOnDemand, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// browser is the fake browser of these tests. It opens the URL Login
// prints, and follows redirects one at a time, checking each: the printed
// URL must forward to the authorization server, and the authorization
// server must send it back to Login's loopback callback, which it only then
// follows. Before that last hop it runs tamper (a test's attack or clock
// move).
type browser struct {
	t      *testing.T
	tamper func(callback *url.URL)
	hc     *http.Client

	mu     sync.Mutex
	opened []string
	done   chan struct{}
	status int    // of the callback page
	page   string // the callback page
	err    error  // a hop that was not what it should be
}

func newBrowser(t *testing.T, tamper func(*url.URL)) *browser {
	return &browser{t: t, tamper: tamper, done: make(chan struct{}),
		hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// open is LoginConfig.Open: it browses in the background, as a real
// browser does while Login waits.
func (b *browser) open(u string) error {
	b.mu.Lock()
	b.opened = append(b.opened, u)
	b.mu.Unlock()
	go b.follow(u)
	return nil
}

func (b *browser) fail(format string, args ...any) {
	b.mu.Lock()
	b.err = fmt.Errorf(format, args...)
	b.mu.Unlock()
}

func (b *browser) hop(u string) (*http.Response, string) {
	resp, err := b.hc.Get(u)
	if err != nil {
		b.fail("GET %s: %v", u, err)
		return nil, ""
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *browser) follow(start string) {
	defer close(b.done)
	local, err := url.Parse(start)
	if err != nil || local.Hostname() != "127.0.0.1" || local.Path != "/" {
		b.fail("Login asked to open %q, not its loopback listener", start)
		return
	}
	resp, _ := b.hop(start)
	if resp == nil {
		return
	}
	authz, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || authz.Host == local.Host {
		b.fail("the printed URL answered %d → %q, not a redirect to the authorization server", resp.StatusCode, resp.Header.Get("Location"))
		return
	}
	resp, body := b.hop(authz.String())
	if resp == nil {
		return
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Scheme != "http" || back.Host != local.Host || back.Path != callbackPath {
		b.fail("the authorization server answered %d → %q (%s), not a redirect to the loopback callback", resp.StatusCode, resp.Header.Get("Location"), body)
		return
	}
	if b.tamper != nil {
		b.tamper(back)
	}
	resp, body = b.hop(back.String())
	if resp == nil {
		return
	}
	b.mu.Lock()
	b.status, b.page = resp.StatusCode, body
	b.mu.Unlock()
}

// wait waits for the browser to finish and fails the test on a bad hop.
func (b *browser) wait() {
	b.t.Helper()
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		b.t.Fatal("the fake browser did not finish")
	}
	if b.err != nil {
		b.t.Fatal(b.err)
	}
}

// loginCfg is a LoginConfig for sim with the browser b and cache dir dir.
func loginCfg(sim *zohosim.Sim, b *browser, dir string, out io.Writer) LoginConfig {
	return LoginConfig{Endpoint: sim.MCPEndpoint(), CacheDir: dir, Open: b.open, Out: out, Timeout: 20 * time.Second}
}

// storedGrant reads the grant Login stored in dir for sim's endpoint.
func storedGrant(t *testing.T, dir, endpoint, clientID string) *grant {
	t.Helper()
	s, err := newGrantStore(dir, endpoint, clientID)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.load()
	if err != nil || g == nil {
		t.Fatalf("stored grant: %v, %v", g, err)
	}
	return g
}

// tokenLike matches the emulator's tokens and codes in text.
var tokenLike = regexp.MustCompile(`1000\.[0-9a-f]{32}\.[0-9a-f]{32}`)

// assertNoSecrets fails when text holds the endpoint key or a token.
func assertNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	if strings.Contains(text, testKey) {
		t.Errorf("%s holds the endpoint key:\n%s", what, text)
	}
	if m := tokenLike.FindString(text); m != "" {
		t.Errorf("%s holds a token %q:\n%s", what, m, text)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s holds the secret %q:\n%s", what, s, text)
		}
	}
}

// TestLogin is the whole login against the emulator: 401 → the challenge's
// protected resource metadata → authorization server metadata → dynamic
// registration → consent in the (fake) browser with PKCE, state and iss →
// code exchange → a grant stored 0600 in the token cache, which the tier
// then uses.
func TestLogin(t *testing.T) {
	t.Parallel()
	clk := tierstest.NewClock(simStart)
	sim := onDemand(t, clk)
	dir := t.TempDir()
	b := newBrowser(t, nil)
	var out bytes.Buffer
	cfg := loginCfg(sim, b, dir, &out)
	cfg.Now = clk.Now
	res, err := Login(context.Background(), cfg)
	b.wait()
	if err != nil {
		t.Fatalf("Login: %v\n%s", err, out.String())
	}
	if b.status != http.StatusOK || !strings.Contains(b.page, "authorized") {
		t.Fatalf("callback page %d %q", b.status, b.page)
	}
	if !res.Registered || !res.Refreshable || res.Issuer != sim.MCPIssuer() || strings.Join(res.Scopes, " ") != "ZohoMCP.tool.execute" {
		t.Fatalf("result %+v", res)
	}
	st := sim.MCPAuthStats()
	if st.Registrations != 1 || st.CodesIssued != 1 || st.CodeGrants != 1 || st.FailedGrants != 0 || st.Unauthorized != 1 {
		t.Fatalf("emulator stats %+v", st)
	}
	// The printed URL is the loopback forwarder: the real authorization URL
	// carries the endpoint (key and all) as its resource.
	if len(b.opened) != 1 || !strings.Contains(out.String(), b.opened[0]) {
		t.Fatalf("opened %v; output:\n%s", b.opened, out.String())
	}
	assertNoSecrets(t, "login output", out.String())
	assertNoSecrets(t, "login result", fmt.Sprintf("%+v", res))

	fi, err := os.Stat(res.Path)
	if err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(res.Path) != dir || !strings.HasPrefix(filepath.Base(res.Path), grantFilePrefix) {
		t.Fatalf("grant file %s: %v %v", res.Path, fi, err)
	}
	g := storedGrant(t, dir, sim.MCPEndpoint(), "")
	if g.RefreshToken == "" || g.AccessToken == "" || g.Resource != sim.MCPEndpoint() || g.AuthMethod != authNone ||
		!g.Expiry.Equal(simStart.Add(time.Hour-time.Minute)) {
		t.Fatalf("grant %+v", g)
	}

	// The tier finds the grant and serves with it.
	tr := newTier(t, sim.MCPEndpoint(), func(c *Config) { c.CacheDir, c.Now = dir, clk.Now })
	if !tr.Configured() {
		t.Fatal("tier not configured after login")
	}
	if _, err := tr.Get(context.Background(), getReq(simID(3))); err != nil {
		t.Fatalf("Get after login: %v", err)
	}
	if st := sim.MCPAuthStats(); st.Unauthorized != 1 || st.RefreshGrants != 0 {
		t.Fatalf("the tier was refused or refreshed: %+v", st)
	}
}

// TestLoginPreregisteredClient: with ZOHO_MCP_CLIENT_ID/_SECRET Login
// registers nothing, authenticates at the token endpoint with the secret,
// and never stores it.
func TestLoginPreregisteredClient(t *testing.T) {
	t.Parallel()
	clk := tierstest.NewClock(simStart)
	sim := onDemand(t, clk)
	id, secret, err := sim.AddMCPClient([]string{"http://127.0.0.1/callback"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := newBrowser(t, nil)
	cfg := loginCfg(sim, b, dir, io.Discard)
	cfg.ClientID, cfg.ClientSecret = id, secret
	res, err := Login(context.Background(), cfg)
	b.wait()
	if err != nil || res.Registered || res.ClientID != id {
		t.Fatalf("Login = %+v, %v", res, err)
	}
	if st := sim.MCPAuthStats(); st.Registrations != 0 || st.CodeGrants != 1 {
		t.Fatalf("stats %+v", st)
	}
	raw, _ := os.ReadFile(res.Path)
	if strings.Contains(string(raw), secret) {
		t.Fatal("the grant file holds ZOHO_MCP_CLIENT_SECRET")
	}
	g := storedGrant(t, dir, sim.MCPEndpoint(), id)
	if g.AuthMethod != authSecretPost {
		t.Fatalf("auth method %q", g.AuthMethod)
	}
	// The tier refreshes with the configured secret.
	tr := newTier(t, sim.MCPEndpoint(), func(c *Config) { c.CacheDir, c.Now, c.ClientID, c.ClientSecret = dir, clk.Now, id, secret })
	sim.ExpireMCPAccessTokens()
	if _, err := tr.Get(context.Background(), getReq(simID(4))); err != nil {
		t.Fatalf("Get after expiry: %v", err)
	}
	if st := sim.MCPAuthStats(); st.RefreshGrants != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A grant is bound to its client: another ZOHO_MCP_CLIENT_ID finds none.
	other := newTier(t, sim.MCPEndpoint(), func(c *Config) { c.CacheDir, c.Now, c.ClientID = dir, clk.Now, "another-client" })
	if _, err := other.Get(context.Background(), getReq(simID(4))); classOf(err) != "unsupported" || other.Configured() {
		t.Fatalf("another client: %v, configured %v", err, other.Configured())
	}
}

// TestLoginDiscoveryFallbacks: without resource_metadata in the challenge
// Login reads the path-specific well-known URL; without that, the root one.
// The emulator serves all three; a transport in front of it takes away what
// each case says the server lacks, and records what Login asked for.
func TestLoginDiscoveryFallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		noHeader  bool // the challenge has no resource_metadata
		noPath    bool // the path-specific document is missing
		noRoot    bool // the root document is missing
		wantAsked string
		wantErr   string
	}{
		{name: "header", wantAsked: "[path]"},
		{name: "path-specific", noHeader: true, wantAsked: "[path]"},
		{name: "root", noHeader: true, noPath: true, wantAsked: "[path root]"},
		{name: "none", noHeader: true, noPath: true, noRoot: true, wantErr: "no protected resource metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := tierstest.NewClock(simStart)
			sim := onDemand(t, clk)
			origin := strings.TrimSuffix(sim.MCPEndpoint(), "/mcp/"+testKey+"/message")
			var mu sync.Mutex
			var asked []string
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				u := r.URL.String()
				prm := strings.HasPrefix(u, origin+"/.well-known/oauth-protected-resource")
				if prm {
					kind := "root"
					if strings.Contains(r.URL.Path, "/mcp/") {
						kind = "path"
					}
					mu.Lock()
					asked = append(asked, kind)
					mu.Unlock()
					if kind == "path" && tt.noPath || kind == "root" && tt.noRoot {
						return &http.Response{StatusCode: 404, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
					}
				}
				resp, err := http.DefaultTransport.RoundTrip(r)
				if err == nil && tt.noHeader {
					if h := resp.Header.Get("WWW-Authenticate"); h != "" {
						resp.Header.Set("WWW-Authenticate", regexp.MustCompile(`resource_metadata="[^"]*",?\s*`).ReplaceAllString(h, ""))
					}
				}
				return resp, err
			})
			b := newBrowser(t, nil)
			cfg := loginCfg(sim, b, t.TempDir(), io.Discard)
			cfg.HTTPClient = &http.Client{Transport: rt}
			res, err := Login(context.Background(), cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Login = %v, want %q", err, tt.wantErr)
				}
				assertNoSecrets(t, "error", err.Error())
				if fmt.Sprint(asked) != "[path root root]" {
					t.Errorf("asked %v, want the path-specific then the root document", asked)
				}
				return
			}
			b.wait()
			if err != nil || res == nil {
				t.Fatalf("Login: %v", err)
			}
			if fmt.Sprint(asked) != tt.wantAsked {
				t.Fatalf("asked %v, want %s", asked, tt.wantAsked)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLoginFailures: every way the login can fail ends with a message that
// says what happened and what to do, stores nothing, and never shows the
// key, a code or a token.
func TestLoginFailures(t *testing.T) {
	t.Parallel()
	type env struct {
		sim *zohosim.Sim
		clk *tierstest.Clock
	}
	// patch rewrites the JSON document at paths matching match.
	patch := func(match string, edit func(m map[string]any)) func(http.RoundTripper) http.RoundTripper {
		return func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(r)
				if err != nil || !strings.Contains(r.URL.Path, match) {
					return resp, err
				}
				var m map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&m)
				resp.Body.Close()
				edit(m)
				b, _ := json.Marshal(m)
				resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
				resp.Header.Del("Content-Length")
				return resp, nil
			})
		}
	}
	tests := []struct {
		name    string
		setup   func(e env)
		tamper  func(e env, cb *url.URL)
		wrap    func(http.RoundTripper) http.RoundTripper
		noOpen  bool // nobody opens the URL
		browsed bool // the browser reaches the callback
		want    string
	}{
		{name: "consent denied", setup: func(e env) { e.sim.DenyNextMCPConsent() }, browsed: true, want: "consent was denied"},
		{name: "wrong state", tamper: func(_ env, cb *url.URL) {
			q := cb.Query()
			q.Set("state", "forged")
			cb.RawQuery = q.Encode()
		}, browsed: true, want: "wrong or missing state"},
		{name: "missing state", tamper: func(_ env, cb *url.URL) {
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
		}, browsed: true, want: "wrong or missing state"},
		{name: "wrong issuer", tamper: func(_ env, cb *url.URL) {
			q := cb.Query()
			q.Set("iss", "https://evil.example/")
			cb.RawQuery = q.Encode()
		}, browsed: true, want: "RFC 9207"},
		{name: "expired code", tamper: func(e env, _ *url.URL) { e.clk.Advance(2 * time.Minute) }, browsed: true, want: "invalid_grant"},
		{name: "no S256", wrap: patch("/.well-known/oauth-authorization-server", func(m map[string]any) {
			m["code_challenge_methods_supported"] = []string{"plain"}
		}), want: "does not offer PKCE with S256"},
		{name: "no PKCE at all", wrap: patch("/.well-known/oauth-authorization-server", func(m map[string]any) {
			delete(m, "code_challenge_methods_supported")
		}), want: "PKCE"},
		{name: "no registration endpoint", wrap: patch("/.well-known/oauth-authorization-server", func(m map[string]any) {
			delete(m, "registration_endpoint")
		}), want: "set ZOHO_MCP_CLIENT_ID"},
		{name: "registration refused", wrap: func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if strings.HasSuffix(r.URL.Path, "/register") {
					return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
						Body: io.NopCloser(strings.NewReader(`{"error":"invalid_client_metadata","error_description":"registration is closed"}`))}, nil
				}
				return next.RoundTrip(r)
			})
		}, want: "refused to register a client (invalid_client_metadata: registration is closed)"},
		{name: "browser timeout", noOpen: true, want: "no answer from the browser within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := tierstest.NewClock(simStart)
			e := env{sim: onDemand(t, clk), clk: clk}
			if tt.setup != nil {
				tt.setup(e)
			}
			var tamper func(*url.URL)
			if tt.tamper != nil {
				tamper = func(u *url.URL) { tt.tamper(e, u) }
			}
			b := newBrowser(t, tamper)
			dir := t.TempDir()
			var out bytes.Buffer
			cfg := loginCfg(e.sim, b, dir, &out)
			if tt.wrap != nil {
				cfg.HTTPClient = &http.Client{Transport: tt.wrap(http.DefaultTransport)}
			}
			if tt.noOpen {
				cfg.Open, cfg.Timeout = nil, 50*time.Millisecond
			}
			res, err := Login(context.Background(), cfg)
			if tt.browsed {
				b.wait()
				if b.status != http.StatusBadRequest || !strings.Contains(b.page, "failed") {
					t.Errorf("callback page %d %q, want the failure shown", b.status, b.page)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Login = %+v, %v; want an error with %q", res, err, tt.want)
			}
			assertNoSecrets(t, "error", err.Error())
			assertNoSecrets(t, "output", out.String())
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				for _, en := range entries {
					if strings.HasSuffix(en.Name(), ".json") {
						t.Errorf("a failed login stored %s", en.Name())
					}
				}
			}
		})
	}
}

// TestLoginEndpoints: what Login says about endpoints that are not an
// on-demand MCP server.
func TestLoginEndpoints(t *testing.T) {
	t.Parallel()
	key := startSim(t, zohosim.MCPVariant{}) // connection mode: the key is enough
	tests := []struct {
		name, endpoint, want string
		noOAuth              bool
	}{
		{name: "not set", endpoint: "", want: "ZOHO_MCP_ENDPOINT is not set"},
		{name: "not a URL", endpoint: "mcp.example/" + testKey, want: "not an http(s) URL"},
		{name: "connection mode", endpoint: key.MCPEndpoint(), noOAuth: true},
		{name: "wrong key", endpoint: strings.Replace(key.MCPEndpoint(), testKey, "0123456789abcdef0123456789abcdef", 1), want: "refused its key"},
		{name: "unreachable", endpoint: "http://127.0.0.1:1/mcp/" + testKey + "/message", want: "cannot reach the MCP endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Login(context.Background(), LoginConfig{Endpoint: tt.endpoint, CacheDir: t.TempDir(), Timeout: time.Second})
			if tt.noOAuth {
				if err != ErrNoOAuth {
					t.Fatalf("Login = %v, want ErrNoOAuth", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Login = %v, want %q", err, tt.want)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
	if _, err := Login(context.Background(), LoginConfig{Endpoint: key.MCPEndpoint(), CacheDir: "-"}); err == nil || !strings.Contains(err.Error(), "nowhere to store") {
		t.Fatalf("Login with the cache disabled = %v", err)
	}
}

func getReq(id string) tiers.GetRequest { return tiers.GetRequest{Module: "Accounts", ID: id} }
