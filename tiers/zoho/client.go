package zoho

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Config configures a Client. Credential is required for Configured to be
// true; everything else has a default.
type Config struct {
	// Tier labels every error and log line ("REST", "BULK").
	Tier tiers.Name
	// Credential is the OAuth self-client of this tier.
	Credential Credential
	// DC is the data centre ("us" when empty); see DC.
	DC string
	// AccountsURL, APIDomain and ContentURL override the data centre's hosts
	// (ZOHO_ACCOUNTS_URL, ZOHO_REST_API_DOMAIN, ZOHO_CONTENT_URL). Empty
	// means the DC's host; for the API domain, the token's api_domain wins
	// over the DC (but not over an explicit override).
	AccountsURL string
	APIDomain   string
	ContentURL  string
	// OrgID is the org's zgid for X-CRM-ORG. Empty means read once from
	// GET /crm/v8/org when first needed.
	OrgID string
	// Timeout bounds one call (all its retries included), and each refresh
	// grant of the client's token source. Zero means only the caller's
	// context bounds a call (and DefaultRefreshTimeout a refresh).
	Timeout time.Duration
	// MaxRetries (zero means none), RetryWaitMin, RetryWaitMax and Backoff:
	// see HTTPOptions.
	MaxRetries   int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	Backoff      retryablehttp.Backoff
	// UserAgent; empty means DefaultUserAgent.
	UserAgent string
	// Now is the clock of token expiry and the refresh cap. nil: time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default(). The client adds the "tier" attribute
	// (Tier) to every line itself: pass a logger without one.
	Logger *slog.Logger
	// CacheDir for access tokens: "" the user cache dir, "-" disabled.
	CacheDir string
	// Transport is the innermost transport. nil means DefaultTransport().
	Transport http.RoundTripper
	// TokenHTTPClient posts refresh grants. nil means a logging client over
	// Transport (no auth, no retries).
	TokenHTTPClient *http.Client
	// TokenMargin: see TokenSourceConfig.Margin.
	TokenMargin time.Duration
	// OnCredits is called with X-API-CREDITS-REMAINING whenever Zoho sends
	// it. nil means ignored.
	OnCredits func(remaining int)
	// MaxBody bounds a response body read by Do. Zero means 64 MiB.
	MaxBody int64
	// Governor bounds the client's calls in flight at Zoho, each round trip
	// queueing for a slot within its deadline (see GovernTransport); share
	// one per org between every client and tier. HeavyGovernor bounds the
	// heavy calls among them (COQL, bulk job creation, writes of more than
	// 10 records: Zoho's sub-concurrency of 10). nil bounds nothing.
	Governor, HeavyGovernor tiers.Governor
	// SharedTokens shares the credential's access token with other
	// replicas (see TokenSourceConfig.Shared). nil means none.
	SharedTokens SharedTokens
}

// Client talks to one Zoho org with one credential: it builds URLs on the
// right API domain, authenticates, retries, and turns every failure into a
// classified *tiers.Error. It is safe for concurrent use.
type Client struct {
	cfg    Config
	dc     DataCenter
	tokens *TokenSource
	http   *http.Client
	// userAgent is cfg.UserAgent or DefaultUserAgent.
	userAgent string

	orgMu sync.Mutex
	orgID string
	calls atomic.Int64
	// handedBack holds the origins Zoho handed back that admitHandedBack
	// added to the allow-list (origin string → struct{}).
	handedBack sync.Map
	// apiOrigin and contentOrigin are the origins of dc.APIDomain and
	// dc.ContentURL; tokenOrig that of the token's api_domain.
	apiOrigin, contentOrigin hostOrigin
	tokenOrig                atomic.Pointer[rawOrigin]
}

// New returns a Client for cfg. It fails only for an unknown data centre or
// an override that is not an absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	dc, err := DC(cfg.DC)
	if err != nil {
		return nil, err
	}
	dc = dc.WithOverrides(cfg.AccountsURL, cfg.APIDomain, cfg.ContentURL)
	for name, v := range map[string]string{"accounts URL": dc.AccountsURL, "API domain": dc.APIDomain, "content URL": dc.ContentURL} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("zoho %s %q is not an absolute http(s) URL", name, v)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	raw := cfg.Logger // the token source labels its own lines
	cfg.Logger = withTierAttr(cfg.Logger, cfg.Tier)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 20
	}
	base := cfg.Transport
	if base == nil {
		base = DefaultTransport()
	}
	tokHTTP := cfg.TokenHTTPClient
	if tokHTTP == nil {
		tokHTTP = &http.Client{Transport: &LoggingTransport{Next: &UserAgentTransport{Next: base, UserAgent: orDefault(cfg.UserAgent, DefaultUserAgent)}, Logger: cfg.Logger}}
	}
	c := &Client{cfg: cfg, dc: dc, orgID: cfg.OrgID,
		apiOrigin: parseOrigin(dc.APIDomain), contentOrigin: parseOrigin(dc.ContentURL),
		userAgent: orDefault(cfg.UserAgent, DefaultUserAgent)}
	c.tokens = NewTokenSource(TokenSourceConfig{
		Credential: cfg.Credential, AccountsURL: dc.AccountsURL, HTTPClient: tokHTTP, Now: cfg.Now,
		Margin: cfg.TokenMargin, CacheDir: cfg.CacheDir, Logger: raw, Tier: cfg.Tier,
		RefreshTimeout: refreshTimeout(cfg.Timeout), Shared: cfg.SharedTokens,
	})
	c.http = NewHTTPClient(HTTPOptions{
		Base: base, Tokens: c.tokens, AuthHosts: c.isZohoHost, UserAgent: cfg.UserAgent,
		MaxRetries: cfg.MaxRetries, RetryWaitMin: cfg.RetryWaitMin, RetryWaitMax: cfg.RetryWaitMax,
		Backoff: cfg.Backoff, Logger: cfg.Logger, Governor: cfg.Governor, HeavyGovernor: cfg.HeavyGovernor,
	})
	return c, nil
}

// refreshTimeout bounds the client's refresh grants by its call Timeout:
// every caller of the credential joins one refresh, and none waits longer
// than Timeout for it, so a refresh whose answer never comes must end by
// then too. Otherwise it holds the single flight for DefaultRefreshTimeout
// and every later call joins it and times out, even after the accounts
// server has recovered. Zero (no Timeout) keeps the default.
func refreshTimeout(timeout time.Duration) time.Duration {
	if timeout > 0 && timeout < DefaultRefreshTimeout {
		return timeout
	}
	return 0
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Configured reports whether the client has credentials.
func (c *Client) Configured() bool { return c.cfg.Credential.Configured() }

// Tokens returns the client's token source.
func (c *Client) Tokens() *TokenSource { return c.tokens }

// HTTPClient returns the assembled HTTP client (auth, retries, logging).
func (c *Client) HTTPClient() *http.Client { return c.http }

// DataCenter returns the hosts in use, overrides applied.
func (c *Client) DataCenter() DataCenter { return c.dc }

// Calls returns how many HTTP calls Do and Send have made (retries not
// counted separately).
func (c *Client) Calls() int { return int(c.calls.Load()) }

// Tier returns the tier name errors are labelled with.
func (c *Client) Tier() tiers.Name { return c.cfg.Tier }

// isZohoHost reports whether u is a Zoho host of this client, to which a
// request may carry the access token: the allow-list. It holds
//
//   - the origins in use: the API domain (configured, or the token's
//     api_domain) and the upload host, overrides (ZOHO_REST_API_DOMAIN,
//     ZOHO_CONTENT_URL) included;
//   - https hosts under the data centre's own Domains (zoho.eu,
//     zohoapis.eu, …), such as the Bulk Write download host
//     download-accl.zoho.eu;
//   - origins Zoho handed back in its answers (see Request.HandedBack)
//     that are on the host name of an origin in use, with its scheme, on
//     another port — so the allow-list follows the host overrides (an
//     emulator serves its download host on another port of its API host).
//
// Nothing else: no other host ever gets the token, and Client.send refuses
// to call an absolute URL outside the list at all.
func (c *Client) isZohoHost(u *url.URL) bool {
	if u == nil || u.Host == "" {
		return false
	}
	// Every call asks this (AuthTransport), so the origins in use are
	// compared as parsed once, without building strings.
	if c.apiOrigin.is(u) || c.contentOrigin.is(u) || c.tokenOrigin().is(u) {
		return true
	}
	if _, ok := c.handedBack.Load(origin(u)); ok {
		return true
	}
	return strings.EqualFold(u.Scheme, "https") && c.dc.HasDomainOf(u.Hostname())
}

// hostOrigin is an origin as origin renders it (lower case), in its two
// parts; the zero value matches no URL.
type hostOrigin struct{ scheme, host string }

// parseOrigin returns the origin of raw, an absolute URL; the zero
// hostOrigin when it has none.
func parseOrigin(raw string) hostOrigin {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return hostOrigin{}
	}
	return hostOrigin{strings.ToLower(u.Scheme), strings.ToLower(u.Host)}
}

// is reports whether origin(u) is o.
func (o hostOrigin) is(u *url.URL) bool {
	return o.host != "" && strings.ToLower(u.Host) == o.host && strings.ToLower(u.Scheme) == o.scheme
}

// tokenOrigin is the origin of the token's api_domain, parsed once per
// api_domain.
func (c *Client) tokenOrigin() hostOrigin {
	d := c.tokens.APIDomain()
	if d == "" {
		return hostOrigin{}
	}
	if p := c.tokenOrig.Load(); p != nil && p.raw == d {
		return p.o
	}
	p := &rawOrigin{raw: d, o: parseOrigin(d)}
	c.tokenOrig.Store(p)
	return p.o
}

// rawOrigin is an origin and the URL it was parsed from.
type rawOrigin struct {
	raw string
	o   hostOrigin
}

// originsInUse are the API domain (configured, the data centre's and the
// token's) and the upload host.
func (c *Client) originsInUse() []string {
	in := []string{c.dc.APIDomain, c.dc.ContentURL}
	if d := c.tokens.APIDomain(); d != "" {
		in = append(in, d)
	}
	return in
}

// admitHandedBack reports whether u, a URL Zoho handed back in an answer,
// may be called: a Zoho host (isZohoHost), or the host name of an origin in
// use with its scheme on another port, which it then adds to the allow-list.
func (c *Client) admitHandedBack(u *url.URL) bool {
	if c.isZohoHost(u) {
		return true
	}
	for _, raw := range c.originsInUse() {
		in, err := url.Parse(raw)
		if err == nil && in.Host != "" && strings.EqualFold(in.Scheme, u.Scheme) && strings.EqualFold(in.Hostname(), u.Hostname()) {
			c.handedBack.Store(origin(u), struct{}{})
			return true
		}
	}
	return false
}

func origin(u *url.URL) string {
	if u == nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// APIBase returns the API domain to call: the configured override, else the
// token's api_domain (refreshing if needed), else the data centre's.
func (c *Client) APIBase(ctx context.Context) (string, error) {
	if c.cfg.APIDomain != "" {
		return c.dc.APIDomain, nil
	}
	if d := c.tokens.APIDomain(); d != "" {
		return d, nil
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return "", err
	}
	if tok.APIDomain != "" {
		return tok.APIDomain, nil
	}
	return c.dc.APIDomain, nil
}

// Request is one call to Zoho.
type Request struct {
	// Method; empty means GET.
	Method string
	// Path on the API domain ("/crm/v8/Accounts/123"), or on the upload host
	// when Content is set. An absolute http(s) URL is used as it is when it
	// is on a Zoho host of the client (see Client.isZohoHost), with the
	// token; on any other host it is refused (UNTRUSTED_HOST) and nothing is
	// sent.
	Path    string
	Content bool
	// HandedBack says Path is an absolute URL Zoho handed back in an answer
	// from the API (a Bulk Write job's download_url): besides the Zoho
	// hosts, it may be on another port of a host in use, as an overridden
	// host's download server is.
	HandedBack bool
	// Query parameters; encoded by url.Values (so every value is escaped).
	Query url.Values
	// JSON, when non-nil, is encoded as the body with Content-Type
	// application/json. Otherwise Body is sent with ContentType.
	JSON        any
	Body        []byte
	ContentType string
	// Header holds extra headers (e.g. "feature", "X-CRM-ORG").
	Header http.Header
}

// Response is a Zoho answer that is not an error: 2xx (204 has an empty
// Body) or a 4xx carrying per-record results.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	method     string
	path       string
	tier       tiers.Name
}

// Empty reports whether the answer has no content (204, or an empty body).
func (r *Response) Empty() bool {
	return r.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(r.Body)) == 0
}

// Decode unmarshals the body into v, with numbers as json.Number. A body that
// is not JSON is ClassUnavailable for a read and ClassOutcomeUnknown for a
// write (Zoho answered 2xx, so it may have applied it).
func (r *Response) Decode(v any) error {
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return MalformedError(r.tier, r.method, r.path, r.StatusCode, err)
	}
	return nil
}

// Malformed is the MalformedError of this answer: its body, or what it
// holds, is not what the call expects (err says how).
func (r *Response) Malformed(err error) *tiers.Error {
	return MalformedError(r.tier, r.method, r.path, r.StatusCode, err)
}

// MalformedError is the error for an answer whose body could not be decoded.
func MalformedError(tier tiers.Name, method, path string, status int, err error) *tiers.Error {
	e := &tiers.Error{Tier: tier, Class: tiers.ClassUnavailable, Code: "MALFORMED_RESPONSE", HTTPStatus: status,
		Message: fmt.Sprintf("Zoho answered %s %s with HTTP %d and a body that is not valid JSON", method, path, status), Err: err}
	if isWrite(method) && status >= 200 && status < 300 {
		e.Class = tiers.ClassOutcomeUnknown
		e.Message += ": the write may or may not have been applied"
	}
	return e
}

// Send makes the call and returns the open response for a success (2xx, or
// 4xx with per-record results) for the caller to stream and close. Every
// failure is a *tiers.Error (see classifyResponse and the transport
// classification in the package doc), and so is an error reading the body.
// The caller must close the body; the call's Timeout stays in force until
// then.
func (c *Client) Send(ctx context.Context, r Request) (*http.Response, error) {
	resp, cancel, sent, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	method, path := resp.Request.Method, resp.Request.URL.Path
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel, classify: func(err error) error {
		return c.transportError(ctx, method, path, sent.wasSent(), err)
	}}
	return resp, nil
}

// Do makes the call, reads the whole answer and classifies it: the returned
// *Response is a success (2xx, or 4xx with per-record results); every
// failure is a *tiers.Error.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	resp, cancel, sent, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	body, err := readBody(resp.Body, c.cfg.MaxBody, resp.ContentLength)
	if err != nil {
		return nil, c.transportError(ctx, resp.Request.Method, resp.Request.URL.Path, sent.wasSent(), err)
	}
	if int64(len(body)) > c.cfg.MaxBody {
		return nil, &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Code: "RESPONSE_TOO_LARGE",
			Message: fmt.Sprintf("Zoho's answer is larger than %d bytes", c.cfg.MaxBody)}
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body,
		method: resp.Request.Method, path: resp.Request.URL.Path, tier: c.cfg.Tier}, nil
}

// cancelBody ends the call's context when the body is closed and turns
// read failures (a reset, the Timeout) into classified errors.
type cancelBody struct {
	io.ReadCloser
	cancel   context.CancelFunc
	classify func(error) error
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.classify(err)
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// send builds and sends the request. On success the body is open and
// cancel must be called after it is closed.
func (c *Client) send(ctx context.Context, r Request) (*http.Response, context.CancelFunc, *sendState, error) {
	c.calls.Add(1)
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	callCtx, cancel := c.withTimeout(ctx)
	u, err := c.url(callCtx, r)
	if err != nil {
		cancel()
		return nil, nil, nil, c.preSendError(ctx, err)
	}
	var body []byte
	ctype := r.ContentType
	if r.JSON != nil {
		body, err = json.Marshal(r.JSON)
		if err != nil {
			cancel()
			return nil, nil, nil, &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassVerdict, Code: "INVALID_DATA",
				Message: "the request body cannot be encoded as JSON: " + err.Error()}
		}
		ctype = "application/json"
	} else if r.Body != nil {
		body = r.Body
	}
	// sent: the latest round trip of a write wrote its request. The
	// transports clear it (markUnsent) when Zoho answers a round trip with
	// proof that it was not applied and the request is to be sent again
	// (401 INVALID_TOKEN before a refresh, 429 before a retry): a write
	// that then never goes out again was not applied, whatever the first
	// round trip wrote. A read's failures do not depend on it, so a read
	// carries none (nil, never sent).
	var sent *sendState
	if isWrite(method) {
		sent = new(sendState)
		callCtx = context.WithValue(callCtx, sentKey{}, &sent.sent)
		callCtx = httptrace.WithClientTrace(callCtx, &httptrace.ClientTrace{
			WroteHeaders: func() { sent.sent.Store(true) },
		})
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(callCtx, method, u, rd)
	if err != nil {
		cancel()
		return nil, nil, nil, &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassVerdict, Code: "INVALID_REQUEST",
			Message: "cannot build the request: " + describeNetErr(err)}
	}
	if heavyCall(method, req.URL.Path, r.JSON) {
		req = req.WithContext(withHeavy(callCtx))
	}
	// The client's own headers, set on the request it owns (one backing
	// array for their values); with the User-Agent set here,
	// UserAgentTransport has no copy to make.
	vals := [...]string{"application/json", ctype, c.userAgent}
	req.Header["Accept"] = vals[0:1:1]
	if ctype != "" {
		req.Header["Content-Type"] = vals[1:2:2]
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if len(req.Header["User-Agent"]) == 0 {
		req.Header["User-Agent"] = vals[2:3:3]
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, nil, nil, c.transportError(ctx, method, req.URL.Path, sent.wasSent(), err)
	}
	// Zoho's X-API-CREDITS-REMAINING, named in canonical form, which
	// Header.Get then need not build on every call.
	if v := resp.Header.Get("X-Api-Credits-Remaining"); v != "" && c.cfg.OnCredits != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			c.cfg.OnCredits(n)
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, cancel, sent, nil
	}
	// Not a plain success: read (bounded) and classify.
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if rerr != nil {
		cancel()
		return nil, nil, nil, c.transportError(ctx, method, req.URL.Path, true, rerr)
	}
	if e := classifyResponse(c.cfg.Tier, req, resp.StatusCode, b); e != nil {
		cancel()
		return nil, nil, nil, e
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, cancel, sent, nil
}

// sendState is what a write's round trips record (see send); nil for a
// read.
type sendState struct{ sent atomic.Bool }

// wasSent reports whether the latest round trip wrote its request; always
// false for a read's nil state.
func (s *sendState) wasSent() bool { return s != nil && s.sent.Load() }

// noCancel is the cancel of a call that needs no context of its own.
func noCancel() {}

// withTimeout bounds a call by the client's Timeout. When ctx already ends
// no later than that (the router's attempt deadline does), ctx bounds the
// call alone: a second deadline could only fire after the first.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.cfg.Timeout <= 0 {
		return ctx, noCancel
	}
	d := time.Now().Add(c.cfg.Timeout)
	if dl, ok := ctx.Deadline(); ok && !dl.After(d) {
		return ctx, noCancel
	}
	return context.WithDeadline(ctx, d)
}

// readBody reads r to its end, at most limit bytes (more means too large:
// limit+1 are read then). size, when positive, is the expected length (a
// Content-Length): the buffer is made for it at once instead of grown.
func readBody(r io.Reader, limit, size int64) ([]byte, error) {
	n := int64(512)
	if size > 0 {
		// +1: the read that meets EOF needs room. A claimed length is
		// trusted up to 1 MiB, so that a false one cannot make every call
		// hold limit bytes.
		n = min(size, limit, 1<<20) + 1
	}
	b := make([]byte, 0, n)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if over := int64(len(b)+len(room)) - (limit + 1); over > 0 {
			room = room[:int64(len(room))-over]
		}
		m, err := r.Read(room)
		b = b[:len(b)+m]
		if int64(len(b)) > limit || err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// url resolves r to an absolute URL.
func (c *Client) url(ctx context.Context, r Request) (string, error) {
	p := r.Path
	var base string
	switch {
	case strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://"):
		u, err := url.Parse(p)
		if err != nil {
			return "", err
		}
		if !c.isZohoHost(u) && !(r.HandedBack && c.admitHandedBack(u)) {
			return "", c.foreignHost(u)
		}
		if len(r.Query) > 0 {
			q := u.Query()
			for k, vs := range r.Query {
				q[k] = append(q[k], vs...)
			}
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	case r.Content:
		base = c.dc.ContentURL
	default:
		b, err := c.APIBase(ctx)
		if err != nil {
			return "", err
		}
		base = b
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	s := strings.TrimRight(base, "/") + p
	if len(r.Query) > 0 {
		s += "?" + r.Query.Encode()
	}
	return s, nil
}

// foreignHost is the refusal of an absolute URL (one Zoho handed back, such
// as a download_url) on a host that is not Zoho's: it is never called, so
// neither the access token nor anything else goes there, and what it would
// have answered is never taken for Zoho's word.
func (c *Client) foreignHost(u *url.URL) *tiers.Error {
	return &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Code: "UNTRUSTED_HOST",
		Message: fmt.Sprintf("refusing %s://%s, which is not a Zoho host of data centre %q (https under %s, or a host in use): "+
			"not called, so the access token never leaves Zoho; if your org is served from there, set ZOHO_DC or the host overrides",
			u.Scheme, u.Host, c.dc.Name, strings.Join(c.dc.Domains, ", "))}
}

// preSendError classifies a failure before anything was sent (token, URL).
// ctx is the caller's context.
func (c *Client) preSendError(ctx context.Context, err error) error {
	var te *tiers.Error
	if errors.As(err, &te) {
		switch {
		case ctx.Err() != nil:
			if te.Class != tiers.ClassCanceled {
				return c.canceled(ctx, false, "")
			}
		case te.Class == tiers.ClassCanceled:
			// Our own Timeout expired while waiting for a token.
			return &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Code: "ACCOUNTS_UNREACHABLE",
				Message: "timed out after " + c.cfg.Timeout.String() + " waiting for a Zoho access token", Err: te.Err}
		}
		return te
	}
	if ctx.Err() != nil {
		return c.canceled(ctx, false, "")
	}
	return &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Message: describeNetErr(err), Err: scrubErr(err)}
}

func (c *Client) canceled(ctx context.Context, maybeApplied bool, what string) *tiers.Error {
	msg := "canceled by the caller"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg = "the caller's deadline passed"
	}
	e := &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassCanceled, Message: msg, Err: ctx.Err()}
	if maybeApplied {
		e.Code = "OUTCOME_UNKNOWN"
		e.Message += " after " + what + " was sent: it may or may not have been applied"
	}
	return e
}

// transportError classifies a failure without a (complete) HTTP answer. ctx
// is the caller's context: if it is done, the caller canceled. Otherwise a
// write that may have been sent is outcome unknown, and anything else means
// Zoho is unavailable.
func (c *Client) transportError(ctx context.Context, method, path string, sent bool, err error) *tiers.Error {
	var te *tiers.Error
	if errors.As(err, &te) && ctx.Err() == nil {
		if te.Class == tiers.ClassCanceled { // our Timeout, while waiting for a token
			return &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Code: "ACCOUNTS_UNREACHABLE",
				Message: "timed out after " + c.cfg.Timeout.String() + " waiting for a Zoho access token", Err: te.Err}
		}
		return te // token source failure
	}
	what := method + " " + path
	write := isWrite(method) && sent
	if ctx.Err() != nil {
		return c.canceled(ctx, write, what)
	}
	if isQueueError(err) {
		return &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Code: "CONCURRENCY_QUEUE",
			Message: what + " was not sent: every Zoho concurrency slot (ZOHO_CONCURRENCY_LIMIT) stayed busy until the call's time ran out",
			Err:     scrubErr(err)}
	}
	desc := describeNetErr(err)
	if errors.Is(err, context.DeadlineExceeded) && c.cfg.Timeout > 0 {
		desc = "timed out after " + c.cfg.Timeout.String()
	}
	if write {
		return &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
			Message: what + " was sent but no answer came (" + desc + "): it may or may not have been applied",
			Err:     scrubErr(err)}
	}
	return &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Message: what + ": " + desc, Err: scrubErr(err)}
}

// OrgID returns the org's zgid for X-CRM-ORG: Config.OrgID, or the zgid read
// once from GET /crm/v8/org.
func (c *Client) OrgID(ctx context.Context) (string, error) {
	c.orgMu.Lock()
	defer c.orgMu.Unlock()
	if c.orgID != "" {
		return c.orgID, nil
	}
	resp, err := c.Do(ctx, Request{Path: "/crm/v8/org"})
	if err != nil {
		return "", err
	}
	var body struct {
		Org []struct {
			ZGID json.Number `json:"zgid"`
			ID   json.Number `json:"id"`
		} `json:"org"`
	}
	if err := resp.Decode(&body); err != nil {
		return "", err
	}
	if len(body.Org) == 0 || body.Org[0].ZGID == "" {
		return "", &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassUnavailable, Code: "MALFORMED_RESPONSE",
			Message: "GET /crm/v8/org answered without a zgid: set ZOHO_ORG_ID"}
	}
	c.orgID = string(body.Org[0].ZGID)
	return c.orgID, nil
}
