package zoho

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// HTTPOptions configures NewHTTPClient. The zero value is usable: no auth,
// default transport, no retries.
type HTTPOptions struct {
	// Base is the innermost transport. nil means DefaultTransport().
	Base http.RoundTripper
	// Tokens authenticates requests to the hosts AuthHosts accepts. nil
	// means no Authorization header is ever attached.
	Tokens *TokenSource
	// AuthHosts reports whether a request to u may carry the access token.
	// nil means never.
	AuthHosts func(u *url.URL) bool
	// UserAgent is sent on every request. Empty means DefaultUserAgent.
	UserAgent string
	// MaxRetries is the number of retries after the first attempt when the
	// context carries no tiers.RetryBudget (which replaces it); zero means
	// none.
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the backoff. Zero means
	// DefaultRetryWaitMin / DefaultRetryWaitMax.
	RetryWaitMin, RetryWaitMax time.Duration
	// Backoff computes the wait before retry attemptNum (0-based). nil means
	// FullJitterBackoff. Tests pass one that returns 0.
	Backoff retryablehttp.Backoff
	// Logger receives redacted debug lines. nil means slog.Default().
	Logger *slog.Logger
	// Governor and HeavyGovernor bound the calls in flight at Zoho (see
	// GovernTransport); nil bounds nothing.
	Governor, HeavyGovernor tiers.Governor
}

// Defaults of HTTPOptions.
const (
	DefaultUserAgent    = "zoho-mcp-proxy"
	DefaultRetryWaitMin = 100 * time.Millisecond
	DefaultRetryWaitMax = 5 * time.Second
)

// NewHTTPClient assembles the one HTTP client the Zoho tiers use, from small
// RoundTrippers. The order, outermost first:
//
//	redacted debug logging → user agent → auth (Zoho-oauthtoken, Zoho hosts
//	only; one refresh + one retry on 401 INVALID_TOKEN) → retries
//	(go-retryablehttp: connection errors, 5xx, 429; writes only before they
//	are sent) → concurrency governor (a slot per round trip, queued) →
//	tuned transport (pooled keep-alive connections)
//
// Logging is outermost so that a call is logged once with its final status;
// auth sits outside retries so that a retried request keeps its token and a
// 401 refresh is not multiplied by the retry count; the governor sits
// inside retries so that a slot is held only while a request is really in
// flight, never during a backoff or a token refresh.
func NewHTTPClient(o HTTPOptions) *http.Client {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Base == nil {
		o.Base = DefaultTransport()
	}
	base := o.Base
	if o.Governor != nil || o.HeavyGovernor != nil {
		base = &GovernTransport{Next: base, Governor: o.Governor, Heavy: o.HeavyGovernor}
	}
	var rt http.RoundTripper = &RetryTransport{
		Next: base, MaxRetries: o.MaxRetries, WaitMin: o.RetryWaitMin, WaitMax: o.RetryWaitMax,
		Backoff: o.Backoff, Logger: o.Logger,
	}
	if o.Tokens != nil && o.AuthHosts != nil {
		rt = &AuthTransport{Next: rt, Tokens: o.Tokens, Hosts: o.AuthHosts}
	}
	ua := o.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	rt = &UserAgentTransport{Next: rt, UserAgent: ua}
	rt = &LoggingTransport{Next: rt, Logger: o.Logger}
	return &http.Client{Transport: rt}
}

// DefaultTransport returns a transport tuned for many calls to few hosts:
// Go's default keeps only 2 idle connections per host, which makes a busy
// proxy open a new TCP+TLS connection for most calls.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ExpectContinueTimeout = time.Second
	t.ForceAttemptHTTP2 = true
	return t
}

// LoggingTransport logs each request at debug level: method, URL with every
// query value redacted (see RedactURL), status and duration. Headers and
// bodies are never logged.
type LoggingTransport struct {
	Next   http.RoundTripper
	Logger *slog.Logger // nil means slog.Default()
}

// RoundTrip implements http.RoundTripper.
func (t *LoggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	l := t.Logger
	if l == nil {
		l = slog.Default()
	}
	if !l.Enabled(req.Context(), slog.LevelDebug) {
		return t.Next.RoundTrip(req)
	}
	start := time.Now()
	resp, err := t.Next.RoundTrip(req)
	attrs := []any{"method", req.Method, "url", RedactURL(req.URL), "duration", time.Since(start)}
	if err != nil {
		attrs = append(attrs, "error", describeNetErr(err))
	} else {
		attrs = append(attrs, "status", resp.StatusCode)
	}
	l.DebugContext(req.Context(), "zoho http", attrs...)
	return resp, err
}

// RedactURL renders u for a log line with every query value and any user
// info replaced by "REDACTED", keeping the parameter names: values carry
// secrets (refresh_token, client_secret, code) and the caller's data
// (criteria=(Email:equals:…), email=, phone=, word=, ids=), neither of which
// may reach a log (README "Health, metrics and logs").
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "REDACTED"
			}
			q[k] = vs
		}
		c.RawQuery = q.Encode()
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// UserAgentTransport sets the User-Agent header when the request has none.
type UserAgentTransport struct {
	Next      http.RoundTripper
	UserAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *UserAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") != "" {
		return t.Next.RoundTrip(req)
	}
	return t.Next.RoundTrip(withHeader(req, "User-Agent", t.UserAgent))
}

// withHeader returns a shallow copy of req with a header map of its own in
// which key (canonical) is set to value: a RoundTripper must not modify its
// input, and a header is all these layers change. The copy shares req's
// value slices, capped so that an Add to the copy cannot write into them.
func withHeader(req *http.Request, key, value string) *http.Request {
	r := new(http.Request)
	*r = *req
	r.Header = make(http.Header, len(req.Header)+1)
	for k, vs := range req.Header {
		r.Header[k] = vs[:len(vs):len(vs)]
	}
	r.Header[key] = []string{value}
	return r
}

// AuthTransport attaches "Authorization: Zoho-oauthtoken <token>" to requests
// whose URL Hosts accepts, and to no other. When Zoho answers 401
// INVALID_TOKEN (or INVALID_OAUTHTOKEN, AUTHENTICATION_FAILURE) it
// invalidates the token, refreshes once and retries once: safe for every
// method, since a 401 means the request was not applied. A second 401 is
// returned as it is (the caller classifies it as an auth failure).
type AuthTransport struct {
	Next   http.RoundTripper
	Tokens *TokenSource
	Hosts  func(u *url.URL) bool

	last atomic.Pointer[authHeader] // the latest token's header value
}

// RoundTrip implements http.RoundTripper.
func (t *AuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.Hosts(req.URL) {
		if req.Header.Get("Authorization") == "" {
			return t.Next.RoundTrip(req)
		}
		// Never forward a token to a host that is not Zoho's.
		r := req.Clone(req.Context())
		r.Header.Del("Authorization")
		return t.Next.RoundTrip(r)
	}
	tok, err := t.Tokens.Token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.Next.RoundTrip(withHeader(req, "Authorization", t.header(tok.AccessToken)))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if !isTokenRejection(body) {
		return resp, nil
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // cannot replay the body; report the 401
	}
	// The 401 proves the request was not applied: if no new one goes out
	// (the refresh fails or hangs), nothing was sent.
	markUnsent(req.Context())
	t.Tokens.Invalidate(tok.AccessToken)
	tok2, err := t.Tokens.Token(req.Context())
	if err != nil {
		return nil, err
	}
	r := withHeader(req, "Authorization", t.header(tok2.AccessToken))
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		r.Body = b
	}
	return t.Next.RoundTrip(r)
}

// header returns the Authorization value for token, built once per token
// rather than once per request.
func (t *AuthTransport) header(token string) string {
	if h := t.last.Load(); h != nil && h.token == token {
		return h.value
	}
	h := &authHeader{token: token, value: "Zoho-oauthtoken " + token}
	t.last.Store(h)
	return h.value
}

// authHeader is an access token and its Authorization value.
type authHeader struct{ token, value string }

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// isTokenRejection reports whether a 401 body says the token (not the
// scope) is bad.
func isTokenRejection(body []byte) bool {
	var env envelope
	if json.Unmarshal(body, &env) != nil {
		return false
	}
	switch env.code() {
	case "INVALID_TOKEN", "INVALID_OAUTHTOKEN", "AUTHENTICATION_FAILURE":
		return true
	}
	return false
}

// RetryTransport retries connection errors, 5xx (not 501) and 429, with
// backoff (full jitter by default) and a Retry-After header honoured when
// present; which transport errors are worth retrying is
// hashicorp/go-retryablehttp's DefaultRetryPolicy. A write (see isWrite) is
// retried only when it cannot have been sent: on a dial error, or on 429
// (Zoho rejected it unapplied). The budget is the context's
// tiers.RetryBudget when set (the router's, for the tier's place in the
// chain), else MaxRetries. The final answer (e.g. the last 503) is returned
// for the caller to classify.
//
// The loop is its own rather than retryablehttp.Client.Do: that is a client,
// not a transport, so each call would build a Client (its budget comes from
// the context), wrap the request, and send it through an inner http.Client
// that copies its headers again; and it sets the replayed body on the
// caller's request, which a RoundTripper must not modify. Here the first
// attempt is the request as it came, a retry of a request without a body
// sends it again as it is (after its answer is drained and closed), and a
// retry with a body sends a shallow copy with a fresh body.
type RetryTransport struct {
	Next       http.RoundTripper
	MaxRetries int // without a tiers.RetryBudget; zero means none
	WaitMin    time.Duration
	WaitMax    time.Duration
	Backoff    retryablehttp.Backoff // nil means FullJitterBackoff
	Logger     *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	maxRetries := max(t.MaxRetries, 0)
	waitMin, waitMax := t.WaitMin, t.WaitMax
	if waitMin <= 0 {
		waitMin = DefaultRetryWaitMin
	}
	if waitMax <= 0 {
		waitMax = DefaultRetryWaitMax
	}
	if b, ok := tiers.RetryBudgetFrom(ctx); ok {
		maxRetries = max(0, b.MaxRetries)
		if b.MaxBackoff > 0 && b.MaxBackoff < waitMax {
			waitMax = b.MaxBackoff
			waitMin = min(waitMin, waitMax)
		}
	}
	if maxRetries == 0 {
		return t.Next.RoundTrip(req)
	}
	backoff := t.Backoff
	if backoff == nil {
		backoff = FullJitterBackoff
	}
	write := isWrite(req.Method)
	attempt, err := replayable(req)
	if err != nil {
		return nil, err
	}
	r := attempt
	for i := 0; ; i++ {
		if i > 0 {
			if r, err = rewind(attempt); err != nil {
				return nil, err
			}
			if t.Logger != nil {
				t.Logger.DebugContext(ctx, "zoho http retry", "method", r.Method, "url", RedactURL(r.URL), "retry", i)
			}
		}
		resp, err := t.Next.RoundTrip(r)
		retry, cerr := checkRetry(ctx, resp, err, write, waitMax)
		if cerr != nil {
			// The context ended: nobody reads an answer returned with an
			// error (http.Client drops it), so close it here, which also
			// frees its governor slot.
			if resp != nil {
				_ = resp.Body.Close()
			}
			return nil, cerr
		}
		if retry && resp != nil {
			// An answered round trip is retried only when Zoho refused it
			// unapplied (a write: 429) or it only read: until the retry
			// writes, nothing is sent.
			markUnsent(ctx)
		}
		if !retry || i >= maxRetries {
			return resp, err
		}
		if resp != nil {
			drain(resp.Body)
		}
		wait, ok := retryAfter(resp)
		if !ok {
			wait = min(backoff(waitMin, waitMax, i, resp), waitMax)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// replayable returns req ready to be sent more than once: req itself when
// it has no body or can make a fresh one (GetBody), else a shallow copy
// whose body, read once into memory, can be.
func replayable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, nil
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := *req
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.Body, _ = r.GetBody()
	return &r, nil
}

// rewind returns the request to send again: req itself without a body (its
// previous answer is closed, so it may be reused), else a shallow copy with
// a fresh body, so that the previous attempt's body, which the transport
// may still be closing, is left alone.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = b
	return &r, nil
}

// drain reads a little of a body to be discarded, so that its connection
// can be reused, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4096))
	_ = body.Close()
}

// checkRetry is the retry policy of RetryTransport.
func checkRetry(ctx context.Context, resp *http.Response, err error, write bool, waitMax time.Duration) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var te *tiers.Error
		if errors.As(err, &te) || isQueueError(err) {
			return false, nil
		}
		if write && !isDialError(err) {
			return false, nil // it may have been sent: never blindly resend a write
		}
		return retryablehttp.DefaultRetryPolicy(ctx, nil, err)
	}
	if d, ok := retryAfter(resp); ok && d > waitMax {
		return false, nil // longer than we may wait: give up now, let the router move on
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return !write, nil
	}
	return false, nil
}

// FullJitterBackoff waits a uniformly random time in [0, min(hi, lo·2^n)]
// ("full jitter"), so that many clients retrying after the same outage do
// not retry in lockstep.
func FullJitterBackoff(lo, hi time.Duration, n int, _ *http.Response) time.Duration {
	ceil := hi
	if n < 30 {
		if c := lo << uint(n); c > 0 && c < hi {
			ceil = c
		}
	}
	if ceil <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// retryAfter parses a Retry-After header (seconds or HTTP date) on a 429 or
// 503. Zoho documents none, but one is honoured if present.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// sentKey is the context key of the *atomic.Bool in which Client.send
// records whether the latest round trip of a call wrote its request.
type sentKey struct{}

// markUnsent records that the call's latest round trip was answered with
// proof that it was not applied (401 INVALID_TOKEN, 429), so that a write
// whose resend never goes out is reported not sent rather than outcome
// unknown. It does nothing for a request not made by Client.send.
func markUnsent(ctx context.Context) {
	if s, ok := ctx.Value(sentKey{}).(*atomic.Bool); ok {
		s.Store(false)
	}
}

// isDialError reports whether err happened while connecting, so the request
// cannot have been sent.
func isDialError(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// describeNetErr describes a transport error without URLs (which could carry
// secrets in their query): "connection refused", "timed out", ….
func describeNetErr(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed before the answer was complete"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op + " failed: " + describeNetErr(op.Err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return describeNetErr(ue.Err)
	}
	return err.Error()
}

// scrubErr strips the URL from a *url.Error (whose text includes the full
// URL, query and all), keeping the cause for errors.Is.
func scrubErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Host
}
