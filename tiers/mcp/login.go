package mcp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// Login is the client side of the MCP authorization spec for tier 1, run once
// by `zoho-mcp-proxy login` against an endpoint in "Authorization on Demand"
// mode:
//
//  1. POST initialize without a token: the server answers 401 with a Bearer
//     challenge naming its protected resource metadata (RFC 9728).
//  2. The metadata: the challenge's resource_metadata URL, else the
//     path-specific well-known URL, else the root one; its resource must be
//     the endpoint.
//  3. The authorization server's metadata (RFC 8414, with the OpenID
//     fallbacks); it must offer PKCE with S256.
//  4. A client: ZOHO_MCP_CLIENT_ID/_SECRET, else dynamic registration
//     (RFC 7591) of a public client with this run's loopback redirect URI.
//  5. The authorization code grant with PKCE (S256) and the RFC 8707
//     resource, in the user's browser; the answer comes back to a loopback
//     listener on a random port, where state and the RFC 9207 iss are checked.
//  6. The code is exchanged (verifier and resource) and the grant, refresh
//     token included, is stored in the token cache for the tier to use.
//
// Discovery, metadata checks and registration are the official MCP Go SDK's
// (oauthex); the grant, PKCE and the exchange are golang.org/x/oauth2's.

// Defaults of LoginConfig.
const (
	DefaultLoginTimeout = 5 * time.Minute
	DefaultClientName   = "zoho-mcp-proxy"
)

// callbackPath is the loopback redirect URI's path.
const callbackPath = "/callback"

// LoginConfig configures Login. Only Endpoint is required.
type LoginConfig struct {
	// Endpoint is ZOHO_MCP_ENDPOINT. It holds a secret key: Login never
	// prints it.
	Endpoint string
	// ClientID and ClientSecret (ZOHO_MCP_CLIENT_ID/_SECRET) are a client
	// registered at the endpoint's authorization server; an empty ClientID
	// means registering one (RFC 7591). The secret may be empty (a public
	// client). A pre-registered client must allow the redirect URI
	// http://127.0.0.1:<port>/callback (any port, RFC 8252 §7.3, or the
	// one ListenAddr fixes).
	ClientID, ClientSecret string
	// CacheDir is the token cache directory the grant is stored in ("" =
	// os.UserCacheDir()/zoho-mcp-proxy); it must not be "-".
	CacheDir string
	// HTTPClient carries the discovery, registration and token requests;
	// nil means a client over zoho.DefaultTransport.
	HTTPClient *http.Client
	// Open opens a URL in the user's browser; nil means Login only prints
	// it (--no-browser). An error is reported and Login keeps waiting.
	Open func(url string) error
	// Out receives the progress lines and the URL to open; nil discards.
	Out io.Writer
	// Timeout bounds the wait for the browser; zero means
	// DefaultLoginTimeout.
	Timeout time.Duration
	// ListenAddr is the loopback address of the redirect listener; "" means
	// 127.0.0.1:0 (a random port).
	ListenAddr string
	// ClientName is the client_name registered; "" means DefaultClientName.
	ClientName string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// LoginResult is what a successful Login stored.
type LoginResult struct {
	// Path is the token cache file that holds the grant.
	Path string
	// Issuer is the authorization server.
	Issuer string
	// Scopes are the scopes granted (or requested, when the token answer
	// did not say).
	Scopes []string
	// ClientID is the OAuth client; Registered reports that Login
	// registered it.
	ClientID   string
	Registered bool
	// Refreshable reports that a refresh token was issued: without one, the
	// grant ends with its access token.
	Refreshable bool
}

// ErrNoOAuth is Login's answer for an endpoint that serves MCP without
// asking for a token ("Authorization via Connection"): its key is the whole
// credential and there is nothing to log in to.
var ErrNoOAuth = errors.New("the endpoint serves MCP without asking for OAuth (Zoho's \"Authorization via Connection\"): the key in its URL is the whole credential, so no login is needed")

// Login runs the authorization flow (see the package comment above) and
// stores the grant. Its errors say what went wrong and what to do; they
// never hold the endpoint key, codes or tokens.
func Login(ctx context.Context, cfg LoginConfig) (*LoginResult, error) {
	l, err := newLogin(cfg)
	if err != nil {
		return nil, err
	}
	return l.run(ctx)
}

// login is one run of Login.
type login struct {
	cfg   LoginConfig
	hc    *http.Client
	red   *redactor
	store *grantStore
}

func newLogin(cfg LoginConfig) (*login, error) {
	cfg.Endpoint = strings.TrimSpace(cfg.Endpoint)
	if cfg.Endpoint == "" {
		return nil, errors.New("ZOHO_MCP_ENDPOINT is not set: copy the endpoint URL of your Zoho MCP server (mcp.zoho.com, or CRM Setup > Developer Hub > MCP for AI Agents)")
	}
	if u, err := url.Parse(cfg.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("ZOHO_MCP_ENDPOINT is not an http(s) URL: copy the full endpoint URL from Zoho's MCP console")
	}
	if cfg.ClientID == "" && cfg.ClientSecret != "" {
		return nil, errors.New("ZOHO_MCP_CLIENT_SECRET is set without ZOHO_MCP_CLIENT_ID: set both, or neither to register a client")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultLoginTimeout
	}
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = "127.0.0.1:0"
	}
	if cfg.ClientName == "" {
		cfg.ClientName = DefaultClientName
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: zoho.DefaultTransport()}
	}
	store, err := newGrantStore(cfg.CacheDir, cfg.Endpoint, cfg.ClientID)
	if err != nil {
		return nil, fmt.Errorf("login has nowhere to store the grant: %w", err)
	}
	return &login{cfg: cfg, hc: hc, red: newRedactor(cfg.Endpoint, cfg.ClientSecret), store: store}, nil
}

// errorf returns an error whose text is redacted.
func (l *login) errorf(format string, args ...any) error {
	return errors.New(l.red.String(fmt.Sprintf(format, args...)))
}

func (l *login) say(format string, args ...any) {
	fmt.Fprintln(l.cfg.Out, l.red.String(fmt.Sprintf(format, args...)))
}

func (l *login) run(ctx context.Context) (*LoginResult, error) {
	ch, err := l.challenge(ctx)
	if err != nil {
		return nil, err
	}
	prm, err := l.resourceMetadata(ctx, ch.Params["resource_metadata"])
	if err != nil {
		return nil, err
	}
	asm, err := l.serverMetadata(ctx, prm.AuthorizationServers[0])
	if err != nil {
		return nil, err
	}
	l.say("Authorization server: %s", asm.Issuer)

	if host, _, err := net.SplitHostPort(l.cfg.ListenAddr); err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		return nil, l.errorf("the redirect listener address %q is not a loopback IP and port such as 127.0.0.1:0", l.cfg.ListenAddr)
	}
	ln, err := net.Listen("tcp", l.cfg.ListenAddr)
	if err != nil {
		return nil, l.errorf("cannot listen for the browser's answer on %s: %v (pick a free port)", l.cfg.ListenAddr, err)
	}
	defer ln.Close()
	redirect := "http://" + ln.Addr().String() + callbackPath
	g, err := l.client(ctx, asm, redirect)
	if err != nil {
		return nil, err
	}
	g.Resource, g.Issuer, g.TokenURL = prm.Resource, asm.Issuer, asm.TokenEndpoint
	g.Scopes = requestedScopes(ch, prm)

	oc := g.oauthConfig(l.cfg.ClientSecret)
	oc.Endpoint.AuthURL, oc.RedirectURL = asm.AuthorizationEndpoint, redirect
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	authURL := oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", g.Resource))

	// The code is exchanged and the grant stored while the browser waits
	// for its page, so that the page tells the real outcome.
	finish := func(code string) error {
		octx := context.WithValue(ctx, oauth2.HTTPClient, l.hc)
		tok, err := oc.Exchange(octx, code, oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", g.Resource))
		if err != nil {
			return l.exchangeErr(err)
		}
		if tok.AccessToken == "" || (tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "bearer")) {
			return l.errorf("the authorization server answered the code without a Bearer access token (token_type %q): tier 1 cannot use it", tok.TokenType)
		}
		now := l.cfg.Now()
		life := defaultTokenLifetime
		if tok.ExpiresIn > 0 {
			life = time.Duration(tok.ExpiresIn) * time.Second
		}
		g.AccessToken, g.RefreshToken = tok.AccessToken, tok.RefreshToken
		g.Expiry, g.Updated = now.Add(life-min(tokenMargin, life/2)), now
		if sc, ok := tok.Extra("scope").(string); ok && strings.TrimSpace(sc) != "" {
			g.Scopes = strings.Fields(sc)
		}
		return l.save(ctx, g)
	}
	if err := l.authorize(ctx, ln, authURL, state, asm, finish); err != nil {
		return nil, err
	}
	return &LoginResult{Path: l.store.path(), Issuer: g.Issuer, Scopes: g.Scopes, ClientID: g.ClientID,
		Registered: g.Registered, Refreshable: g.RefreshToken != ""}, nil
}

// challenge sends initialize without a token and returns the server's
// Bearer challenge.
func (l *login) challenge(ctx context.Context) (oauthex.Challenge, error) {
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + DefaultProtocolVersion +
		`","capabilities":{},"clientInfo":{"name":"zoho-mcp-proxy","version":"login"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.cfg.Endpoint, strings.NewReader(body))
	if err != nil {
		return oauthex.Challenge{}, l.errorf("ZOHO_MCP_ENDPOINT is not a usable URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := l.hc.Do(req)
	if err != nil {
		return oauthex.Challenge{}, l.errorf("cannot reach the MCP endpoint: %s", scrubURLError(err))
	}
	defer discard(resp)
	if ch, ok := bearerChallenge(resp); ok {
		return ch, nil
	}
	switch st := resp.StatusCode; {
	case st >= 200 && st < 300:
		if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
			l.endSession(ctx, sid)
		}
		return oauthex.Challenge{}, ErrNoOAuth
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return oauthex.Challenge{}, l.errorf("the MCP endpoint refused its key (HTTP %d without an OAuth challenge): check ZOHO_MCP_ENDPOINT; regenerating the key in Zoho's console changes the URL", st)
	case st == http.StatusNotFound:
		return oauthex.Challenge{}, l.errorf("there is no MCP endpoint at ZOHO_MCP_ENDPOINT (HTTP 404): copy the URL again from Zoho's MCP console")
	default:
		return oauthex.Challenge{}, l.errorf("the MCP endpoint answered HTTP %d to initialize, not 401 with an OAuth challenge: try again later", st)
	}
}

// endSession ends the session a connection-mode server opened for the
// probe.
func (l *login) endSession(ctx context.Context, sid string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, l.cfg.Endpoint, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", sid)
	if resp, err := l.hc.Do(req); err == nil {
		discard(resp)
	}
}

// prmCandidate is a URL where the protected resource metadata may be, and
// the resource the document there must name (RFC 9728 §3.3).
type prmCandidate struct{ url, resource string }

// prmCandidates lists where to look for the endpoint's protected resource
// metadata, in the MCP authorization spec's order: the URL the challenge
// named, the well-known URL with the endpoint's path, the root well-known
// URL. The root document may name the endpoint itself or its origin.
func prmCandidates(endpoint, fromHeader string) []prmCandidate {
	var out []prmCandidate
	if fromHeader != "" {
		out = append(out, prmCandidate{fromHeader, endpoint})
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return out
	}
	origin := u.Scheme + "://" + u.Host
	if p := strings.TrimRight(u.EscapedPath(), "/"); p != "" {
		out = append(out, prmCandidate{origin + "/.well-known/oauth-protected-resource" + p, endpoint})
	}
	root := origin + "/.well-known/oauth-protected-resource"
	return append(out, prmCandidate{root, endpoint}, prmCandidate{root, origin})
}

// resourceMetadata finds the endpoint's protected resource metadata.
func (l *login) resourceMetadata(ctx context.Context, fromHeader string) (*oauthex.ProtectedResourceMetadata, error) {
	resource := l.cfg.Endpoint
	if i := strings.IndexByte(resource, '#'); i >= 0 {
		resource = resource[:i]
	}
	var tried []string
	for _, c := range prmCandidates(resource, fromHeader) {
		prm, err := oauthex.GetProtectedResourceMetadata(ctx, c.url, c.resource, l.hc)
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		if len(prm.AuthorizationServers) == 0 {
			return nil, l.errorf("the protected resource metadata at %s names no authorization server: tier 1 cannot log in", c.url)
		}
		return prm, nil
	}
	return nil, l.errorf("the MCP endpoint asks for OAuth, but no protected resource metadata (RFC 9728) describes it; tried: %s", strings.Join(tried, "; "))
}

// serverMetadata fetches the authorization server's metadata and checks
// that it offers what the flow needs.
func (l *login) serverMetadata(ctx context.Context, issuer string) (*oauthex.AuthServerMeta, error) {
	asm, err := auth.GetAuthServerMetadata(ctx, issuer, l.hc)
	if err != nil {
		return nil, l.errorf("the authorization server %s has unusable metadata: %v", issuer, err)
	}
	if asm == nil {
		return nil, l.errorf("the authorization server %s publishes no metadata (RFC 8414 or OpenID discovery): tier 1 cannot log in", issuer)
	}
	if !slices.Contains(asm.CodeChallengeMethodsSupported, "S256") {
		return nil, l.errorf("the authorization server %s does not offer PKCE with S256 (code_challenge_methods_supported: %v): zoho-mcp-proxy does not log in without it", issuer, asm.CodeChallengeMethodsSupported)
	}
	if asm.AuthorizationEndpoint == "" || asm.TokenEndpoint == "" {
		return nil, l.errorf("the authorization server %s names no authorization or token endpoint", issuer)
	}
	return asm, nil
}

// client returns the grant's client: the configured one, or one registered
// now for redirect.
func (l *login) client(ctx context.Context, asm *oauthex.AuthServerMeta, redirect string) (*grant, error) {
	if l.cfg.ClientID != "" {
		method := authNone
		if l.cfg.ClientSecret != "" {
			method = authSecretPost
			if s := asm.TokenEndpointAuthMethodsSupported; len(s) > 0 && !slices.Contains(s, authSecretPost) {
				method = authSecretBasic
			}
		}
		return &grant{ClientID: l.cfg.ClientID, AuthMethod: method}, nil
	}
	if asm.RegistrationEndpoint == "" {
		return nil, l.errorf("the authorization server %s offers no dynamic client registration: set ZOHO_MCP_CLIENT_ID (and ZOHO_MCP_CLIENT_SECRET) to a client registered for it", asm.Issuer)
	}
	reg, err := oauthex.RegisterClient(ctx, asm.RegistrationEndpoint, &oauthex.ClientRegistrationMetadata{
		RedirectURIs:            []string{redirect},
		TokenEndpointAuthMethod: authNone,
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		ClientName:              l.cfg.ClientName,
		ApplicationType:         "native",
	}, l.hc)
	if err != nil {
		var re *oauthex.ClientRegistrationError
		if errors.As(err, &re) {
			return nil, l.errorf("the authorization server refused to register a client (%s: %s): set ZOHO_MCP_CLIENT_ID (and ZOHO_MCP_CLIENT_SECRET) to a client registered for it", re.ErrorCode, re.ErrorDescription)
		}
		return nil, l.errorf("dynamic client registration at %s failed: %v", asm.RegistrationEndpoint, scrubURLError(err))
	}
	method := reg.TokenEndpointAuthMethod
	if method == "" {
		method = authSecretBasic // RFC 7591 §2's default
	}
	if method == authNone {
		reg.ClientSecret = ""
	}
	l.say("Registered OAuth client %s.", reg.ClientID)
	return &grant{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, AuthMethod: method, Registered: true}, nil
}

// requestedScopes are the scopes to ask for: the challenge's, else every
// scope the protected resource metadata lists (the MCP authorization spec's
// scope selection).
func requestedScopes(ch oauthex.Challenge, prm *oauthex.ProtectedResourceMetadata) []string {
	if sc := strings.Fields(ch.Params["scope"]); len(sc) > 0 {
		return sc
	}
	return slices.Clone(prm.ScopesSupported)
}

// authorize sends the user to authURL (through the listener's own "/",
// which forwards there, so the printed URL holds no secret: the real one
// carries the endpoint as its resource), waits for the answer at the
// callback, checks it and hands its code to finish. Only the first answer
// counts.
func (l *login) authorize(ctx context.Context, ln net.Listener, authURL, state string, asm *oauthex.AuthServerMeta, finish func(code string) error) error {
	got := make(chan error, 1)
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, authURL, http.StatusFound)
	})
	mux.HandleFunc("GET "+callbackPath, func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if !first {
			http.Error(w, "This login has already finished; you can close this window.", http.StatusConflict)
			return
		}
		code, err := l.check(r.URL.Query(), state, asm)
		if err == nil {
			err = finish(code)
		}
		got <- err
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<!doctype html><title>zoho-mcp-proxy login failed</title><p>zoho-mcp-proxy login failed: %s</p>", html.EscapeString(err.Error()))
			return
		}
		fmt.Fprint(w, "<!doctype html><title>zoho-mcp-proxy login</title><p>zoho-mcp-proxy is authorized. You can close this window and return to the terminal.</p>")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	local := "http://" + ln.Addr().String() + "/"
	l.say("Open this URL in a browser to authorize tier 1 (it forwards to the authorization server's consent page):\n\n    %s\n", local)
	if l.cfg.Open != nil {
		if err := l.cfg.Open(local); err != nil {
			l.say("Could not open a browser (%v): open the URL above yourself.", err)
		}
	}
	l.say("Waiting up to %s for the browser...", l.cfg.Timeout)
	timer := time.NewTimer(l.cfg.Timeout)
	defer timer.Stop()
	select {
	case err := <-got:
		return err
	case <-timer.C:
		return l.errorf("no answer from the browser within %s: open the URL printed above and finish the consent, or run login again (with --timeout for more time)", l.cfg.Timeout)
	case <-ctx.Done():
		return l.errorf("login interrupted before the browser answered: %v", ctx.Err())
	}
}

// check reads the authorization answer (RFC 6749 §4.1.2): state first (an
// answer with a wrong state is not ours, whatever it says), then the RFC 9207
// issuer, then the answer.
func (l *login) check(q url.Values, state string, asm *oauthex.AuthServerMeta) (string, error) {
	if q.Get("state") != state {
		return "", l.errorf("the browser came back with a wrong or missing state: the answer is not from this login (possible cross-site request forgery); nothing was stored, run login again")
	}
	if iss := q.Get("iss"); iss != "" || asm.AuthorizationResponseIssParameterSupported {
		if strings.TrimSuffix(iss, "/") != strings.TrimSuffix(asm.Issuer, "/") {
			return "", l.errorf("the authorization answer names issuer %q, not %s (RFC 9207): it did not come from this server; nothing was stored", iss, asm.Issuer)
		}
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if e == "access_denied" {
			return "", l.errorf("consent was denied (access_denied: %s): tier 1 was not authorized; run login again and allow access", desc)
		}
		return "", l.errorf("the authorization server refused (%s: %s): nothing was stored", e, desc)
	}
	code := q.Get("code")
	if code == "" {
		return "", l.errorf("the browser came back without an authorization code: run login again")
	}
	return code, nil
}

// exchangeErr explains a failed code exchange.
func (l *login) exchangeErr(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return l.errorf("cannot reach the token endpoint to exchange the authorization code: %s", scrubURLError(err))
	}
	if re.ErrorCode == "invalid_grant" {
		return l.errorf("the authorization code was refused (invalid_grant: %s): a code expires within minutes and works once; run login again and finish promptly", re.ErrorDescription)
	}
	st := 0
	if re.Response != nil {
		st = re.Response.StatusCode
	}
	if re.ErrorCode == "" {
		return l.errorf("the token endpoint answered HTTP %d to the code exchange: try again later", st)
	}
	return l.errorf("the token endpoint refused the authorization code (%s: %s): nothing was stored", re.ErrorCode, re.ErrorDescription)
}

// save stores g under the store's lock, so that a proxy refreshing the old
// grant at this moment does not overwrite it.
func (l *login) save(ctx context.Context, g *grant) error {
	unlock, err := l.store.lock(ctx)
	if err != nil {
		return l.errorf("cannot lock the token cache: %v", err)
	}
	defer unlock()
	if err := l.store.save(g); err != nil {
		return l.errorf("%v", err)
	}
	return nil
}
