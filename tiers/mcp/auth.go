package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// Tier 1 authenticates in one of the two modes Zoho's hosted MCP servers
// have (reference §1.4):
//
//   - Authorization via Connection: the key in the endpoint URL is the whole
//     credential. The server answers without asking for more; the tier sends
//     no Authorization header.
//   - Authorization on Demand (the default for a new server): the server is
//     an OAuth 2.1 resource server. Without a token it answers 401 with
//     "WWW-Authenticate: Bearer resource_metadata=…". `zoho-mcp-proxy login`
//     (Login) obtains a grant once; the tier then sends its access token,
//     refreshes it before it expires and when the server answers 401, and
//     stores every rotated refresh token.
//
// The mode is not configured: a stored grant means on-demand; without one,
// the first 401 with a Bearer challenge does, and the tier then reports
// itself not configured ("needs `zoho-mcp-proxy login`") instead of failing
// every call.

// Defaults of the tier's OAuth handling.
const (
	// tokenMargin is how long before its expiry an access token is refreshed
	// (at most half its lifetime).
	tokenMargin = time.Minute
	// defaultTokenLifetime is assumed when a token answer has no expires_in
	// (Zoho's is an hour, reference §1.4).
	defaultTokenLifetime = time.Hour
	// refreshTimeout bounds one refresh, which runs detached from the call
	// that started it: a refresh token that rotates must not be spent and
	// then forgotten because one caller gave up.
	refreshTimeout = 30 * time.Second
	// storeRecheck is how often at most a tier that needs a login looks for
	// one in the token cache (a `login` run while the proxy serves).
	storeRecheck = 10 * time.Second
)

// Code of the error a tier that needs a login answers with.
const codeLoginRequired = "LOGIN_REQUIRED"

// needLogin is the detail of a tier whose endpoint asks for OAuth and that
// has no usable grant.
const needLogin = "tier 1 needs `zoho-mcp-proxy login`: its endpoint asks for OAuth (Zoho's \"Authorization on Demand\") and no login is stored for it"

// bearer holds tier 1's grant at run time. It hands out the access token,
// refreshes it one refresh at a time (across processes too, through the
// store's lock), persists rotated refresh tokens, and knows when the tier
// needs a login. It is safe for concurrent use.
type bearer struct {
	store  *grantStore // nil: no token cache (sandbox), so never a grant
	secret string      // ZOHO_MCP_CLIENT_SECRET
	http   *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	g        *grant    // nil: no grant
	loaded   bool      // the store has been read
	checked  time.Time // when the store was last read while a login was needed
	need     string    // why the tier needs a login; "" = it does not
	warned   string    // the need last logged, so it is logged once
	rejected string    // an access token the server refused: never used again
	dead     string    // a refresh token the server refused: never sent again
	inflight *refresh
}

// refresh is one refresh in flight, shared by the callers that wait for it.
type refresh struct {
	done chan struct{}
	tok  string
	err  error
}

func newBearer(cfg Config, hc *http.Client, log *slog.Logger) *bearer {
	b := &bearer{secret: cfg.ClientSecret, now: cfg.Now, log: log}
	s, err := newGrantStore(cfg.CacheDir, cfg.Endpoint, cfg.ClientID)
	if err != nil && !errors.Is(err, zoho.ErrCacheDisabled) {
		log.Warn("no token cache for tier 1's OAuth grant: " + err.Error())
	}
	b.store = s
	// The token endpoint's requests carry the RFC 8707 resource.
	tr := hc.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	b.http = &http.Client{Transport: &resourceParam{next: tr, resource: func() string {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.g == nil {
			return ""
		}
		return b.g.Resource
	}}}
	return b
}

// loadLocked reads the store once. The caller holds b.mu.
func (b *bearer) loadLocked() {
	if b.loaded {
		return
	}
	b.loaded = true
	b.checked = b.now()
	if b.store == nil {
		return
	}
	g, err := b.store.load()
	if err != nil {
		b.log.Warn(err.Error())
		return
	}
	b.g = g
}

// secrets returns the tokens in use, for redaction.
func (b *bearer) secrets() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil {
		return nil
	}
	return []string{b.g.AccessToken, b.g.RefreshToken, b.g.ClientSecret, b.rejected}
}

// loginNeeded returns why the tier needs a login, or "". While one is
// needed it looks in the store now and then, so that a `login` run while
// the proxy serves is picked up.
func (b *bearer) loginNeeded() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.loadLocked()
	if b.need == "" || b.store == nil || b.now().Sub(b.checked) < storeRecheck {
		return b.need
	}
	b.checked = b.now()
	g, err := b.store.load()
	if err == nil && g != nil && (b.g == nil || g.Updated.After(b.g.Updated)) && (g.RefreshToken == "" || g.RefreshToken != b.dead) {
		b.g, b.need, b.warned = g, "", ""
		b.log.Info("tier 1: found a new login; using it")
	}
	return b.need
}

// markNeed records that the tier needs a login (why), logging it once.
func (b *bearer) markNeed(why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.need = why
	b.checked = b.now()
	if b.warned != why {
		b.warned = why
		b.log.Warn(why)
	}
}

// token returns the access token to send, refreshing it first when it has
// expired or was refused; "" means there is no grant (send none). Errors
// are *tiers.Error.
func (b *bearer) token(ctx context.Context) (string, error) {
	b.mu.Lock()
	b.loadLocked()
	if b.g == nil {
		b.mu.Unlock()
		return "", nil
	}
	if t := b.g.AccessToken; t != "" && t != b.rejected && b.now().Before(b.g.Expiry) {
		b.mu.Unlock()
		return t, nil
	}
	if b.inflight == nil {
		r := &refresh{done: make(chan struct{})}
		b.inflight = r
		go b.runRefresh(r)
	}
	r := b.inflight
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.tok, r.err
	case <-ctx.Done():
		return "", &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassCanceled, Message: "canceled while waiting for the tier-1 access token", Err: ctx.Err()}
	}
}

// invalidate marks stale (an access token the server answered 401 to) as
// refused, so that the next token call refreshes. Of many callers refused
// with the same token, only the first causes a refresh.
func (b *bearer) invalidate(stale string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if stale != "" {
		b.rejected = stale
	}
}

func (b *bearer) runRefresh(r *refresh) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	r.tok, r.err = b.refresh(ctx)
	b.mu.Lock()
	b.inflight = nil
	b.mu.Unlock()
	close(r.done)
}

// refresh obtains a fresh access token: from the store when another process
// refreshed since, else with the refresh grant, whose answer (a rotated
// refresh token included) is stored before it is used.
func (b *bearer) refresh(ctx context.Context) (string, error) {
	if b.store != nil {
		unlock, err := b.store.lock(ctx)
		if err != nil {
			return "", &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable,
				Message: "cannot lock the tier-1 login in the token cache: " + err.Error()}
		}
		defer unlock()
	}
	now := b.now()
	b.mu.Lock()
	if b.g == nil {
		b.mu.Unlock()
		return "", loginErr(needLogin)
	}
	g := *b.g
	rejected, dead := b.rejected, b.dead
	b.mu.Unlock()
	if b.store != nil {
		disk, err := b.store.load()
		switch {
		case err != nil:
			b.log.Warn(err.Error())
		case disk == nil:
		case disk.AccessToken != "" && disk.AccessToken != rejected && now.Before(disk.Expiry):
			// Another process refreshed (or logged in) since we read it.
			b.mu.Lock()
			b.g = disk
			b.mu.Unlock()
			return disk.AccessToken, nil
		case disk.RefreshToken != "" && disk.RefreshToken != g.RefreshToken:
			g = *disk // a newer refresh token than ours
		}
	}
	if g.RefreshToken == "" || g.RefreshToken == dead {
		b.markNeed("tier 1's access token expired and its login has no refresh token: run `zoho-mcp-proxy login` again")
		return "", &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth, Code: codeLoginRequired,
			Message: "the tier-1 access token expired and there is no refresh token: run `zoho-mcp-proxy login` again"}
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, b.http)
	tok, err := g.oauthConfig(b.secret).TokenSource(octx, &oauth2.Token{RefreshToken: g.RefreshToken}).Token()
	if err != nil {
		return "", b.refreshErr(g.RefreshToken, err)
	}
	if !strings.EqualFold(tok.TokenType, "bearer") && tok.TokenType != "" {
		return "", &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth,
			Message: fmt.Sprintf("the authorization server issued a %q token, not a Bearer token", tok.TokenType)}
	}
	life := defaultTokenLifetime
	if tok.ExpiresIn > 0 {
		life = time.Duration(tok.ExpiresIn) * time.Second
	}
	g.AccessToken, g.Expiry, g.Updated = tok.AccessToken, now.Add(life-min(tokenMargin, life/2)), now
	if tok.RefreshToken != "" {
		g.RefreshToken = tok.RefreshToken
	}
	if b.store != nil {
		if err := b.store.save(&g); err != nil {
			// The rotated refresh token lives on in memory only: this
			// process keeps working; a restart will need a new login.
			b.log.Warn("tier 1: " + err.Error() + "; a restart will need `zoho-mcp-proxy login` again")
		}
	}
	b.mu.Lock()
	b.g = &g
	b.mu.Unlock()
	b.log.Debug("tier 1 access token refreshed", "valid_for", life)
	return g.AccessToken, nil
}

// refreshErr classifies a failed refresh grant. The authorization server's
// verdict on the grant (invalid_grant: expired, revoked or replayed;
// invalid_client: the client is gone) means the tier needs a new login.
func (b *bearer) refreshErr(rt string, err error) *tiers.Error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable,
			Message: "cannot reach the tier-1 authorization server to refresh the access token: " + scrubURLError(err)}
	}
	st := 0
	if re.Response != nil {
		st = re.Response.StatusCode
	}
	switch {
	case st == http.StatusTooManyRequests:
		return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassRateLimited, HTTPStatus: st,
			Message: "the tier-1 authorization server rate-limited the token refresh (429)"}
	case st >= 500 || (re.ErrorCode == "" && st != http.StatusBadRequest && st != http.StatusUnauthorized):
		return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, HTTPStatus: st,
			Message: fmt.Sprintf("the tier-1 authorization server answered HTTP %d to the token refresh", st)}
	}
	code := re.ErrorCode
	if code == "" {
		code = "refused"
	}
	why := fmt.Sprintf("the tier-1 login was refused by the authorization server (%s): it expired, was revoked or the client is gone; run `zoho-mcp-proxy login` again", code)
	b.mu.Lock()
	b.dead = rt
	b.mu.Unlock()
	b.markNeed(why)
	return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth, Code: codeLoginRequired, HTTPStatus: st, Message: why}
}

// scrubURLError returns err's text without the URL a *url.Error names (the
// token endpoint: not secret, but long and not what the operator needs).
func scrubURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// loginErr is the error of a call made while the tier needs a login. It is
// ClassUnsupported: tier 1 cannot serve until someone logs in, which is not
// the upstream being down, so the router fails over without counting it
// against the breaker (and skips the tier from then on, Configured false).
func loginErr(why string) *tiers.Error {
	return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnsupported, Code: codeLoginRequired, Message: why}
}

// authTransport sends tier 1's requests with the bearer token of its grant
// and handles the MCP server's OAuth answers: a 401 with a Bearer challenge
// and no grant means the tier needs a login; a 401 to our token means the
// token was refused: the transport refreshes it (shared with every other
// caller) and sends the request once more. A second 401 is the tier's
// credentials failing (ClassAuth), never a loop. Its errors are
// *tiers.Error; a request it returns an error for was not acted on.
type authTransport struct {
	next http.RoundTripper
	b    *bearer
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if why := t.b.loginNeeded(); why != "" {
		return nil, loginErr(why)
	}
	tok, err := t.b.token(r.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.send(r, tok)
	if err != nil {
		return nil, err
	}
	ch, ok := bearerChallenge(resp)
	if !ok {
		return resp, nil // not an OAuth refusal (a wrong key answers 401 without a Bearer challenge)
	}
	if resp.StatusCode == http.StatusForbidden {
		discard(resp)
		return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth, Code: "INSUFFICIENT_SCOPE", HTTPStatus: http.StatusForbidden,
			Message: fmt.Sprintf("the MCP server needs scope %q, which the tier-1 login lacks: run `zoho-mcp-proxy login` again", ch.Params["scope"])}
	}
	if tok == "" {
		discard(resp)
		t.b.markNeed(needLogin)
		return nil, loginErr(needLogin)
	}
	if r.Body != nil && r.Body != http.NoBody && r.GetBody == nil {
		return resp, nil // cannot be sent again
	}
	discard(resp)
	t.b.invalidate(tok)
	tok2, err := t.b.token(r.Context())
	if err != nil {
		return nil, err
	}
	if tok2 == "" || tok2 == tok {
		return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth, HTTPStatus: http.StatusUnauthorized,
			Message: "the MCP server refused the tier-1 access token (401) and no fresh one could be obtained"}
	}
	resp, err = t.send(r, tok2)
	if err != nil {
		return nil, err
	}
	if _, again := bearerChallenge(resp); again && resp.StatusCode == http.StatusUnauthorized {
		discard(resp)
		t.b.invalidate(tok2)
		return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth, HTTPStatus: http.StatusUnauthorized,
			Message: "the MCP server refused a freshly refreshed tier-1 access token (401)"}
	}
	return resp, nil
}

// send sends a copy of r carrying tok (none when tok is ""). Without a
// token and without an Authorization header to remove (the endpoint-key
// mode) there is nothing to change, and r is sent as it is: it is sent only
// once then (RoundTrip sends again only to a refreshed token), so it needs
// neither a copy nor a second body.
func (t *authTransport) send(r *http.Request, tok string) (*http.Response, error) {
	if _, has := r.Header["Authorization"]; tok == "" && !has {
		return t.next.RoundTrip(r)
	}
	c := r.Clone(r.Context())
	if r.GetBody != nil && r.Body != nil && r.Body != http.NoBody {
		body, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		c.Body = body
	}
	if tok != "" {
		c.Header.Set("Authorization", "Bearer "+tok)
	} else {
		c.Header.Del("Authorization")
	}
	return t.next.RoundTrip(c)
}

// CloseIdleConnections closes the wrapped transport's idle connections.
func (t *authTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// bearerChallenge returns the Bearer challenge of a 401 or 403 answer
// (RFC 6750 §3, RFC 9728 §5.1), if it has one.
func bearerChallenge(resp *http.Response) (oauthex.Challenge, bool) {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return oauthex.Challenge{}, false
	}
	return findBearer(resp.Header.Values("WWW-Authenticate"))
}

// findBearer returns the first Bearer challenge of WWW-Authenticate header
// values. A header that does not parse has none.
func findBearer(values []string) (oauthex.Challenge, bool) {
	cs, err := oauthex.ParseWWWAuthenticate(values)
	if err != nil {
		return oauthex.Challenge{}, false
	}
	for _, c := range cs {
		if c.Scheme == "bearer" {
			return c, true
		}
	}
	return oauthex.Challenge{}, false
}

// discard drains (a little) and closes an answer that is not passed on, so
// its connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}

// resourceParam adds the RFC 8707 resource parameter to token requests that
// lack it. golang.org/x/oauth2 sends none with a refresh grant, and the MCP
// authorization spec asks for it on every token request.
type resourceParam struct {
	next     http.RoundTripper
	resource func() string
}

// RoundTrip implements http.RoundTripper.
func (t *resourceParam) RoundTrip(r *http.Request) (*http.Response, error) {
	res := t.resource()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if res == "" || r.Method != http.MethodPost || mt != "application/x-www-form-urlencoded" || r.Body == nil {
		return t.next.RoundTrip(r)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(b))
	if err == nil && !form.Has("resource") {
		form.Set("resource", res)
		b = []byte(form.Encode())
	}
	c := r.Clone(r.Context())
	c.Body, c.ContentLength = io.NopCloser(strings.NewReader(string(b))), int64(len(b))
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil }
	return t.next.RoundTrip(c)
}
