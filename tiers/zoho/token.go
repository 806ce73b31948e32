package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Credential is one Zoho OAuth self-client: the refresh grant's inputs, plus
// an optional ready-made access token (ZOHO_REST_ACCESS_TOKEN) that is used
// until Zoho rejects it. Its String and LogValue never show the secrets.
type Credential struct {
	ClientID     string
	ClientSecret string
	RefreshToken string
	AccessToken  string // optional; empty means "refresh to get one"
}

// CanRefresh reports whether c holds everything the refresh grant needs.
func (c Credential) CanRefresh() bool {
	return c.ClientID != "" && c.ClientSecret != "" && c.RefreshToken != ""
}

// Configured reports whether c can authenticate at all: a complete refresh
// grant or a static access token.
func (c Credential) Configured() bool { return c.CanRefresh() || c.AccessToken != "" }

// String renders c with its secrets redacted.
func (c Credential) String() string {
	return fmt.Sprintf("zoho.Credential{ClientID:%q, secrets redacted}", c.ClientID)
}

// GoString renders c with its secrets redacted (for %#v).
func (c Credential) GoString() string { return c.String() }

// LogValue logs only the client id.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.ClientID) }

// Token is an access token with the API domain Zoho issued it for.
type Token struct {
	AccessToken string
	APIDomain   string    // from the token response; empty for a static token
	Expiry      time.Time // zero means unknown (a static token): used until rejected
}

// String renders t with the token redacted.
func (t Token) String() string {
	return fmt.Sprintf("zoho.Token{api_domain:%q, expiry:%s, token redacted}", t.APIDomain, t.Expiry.Format(time.RFC3339))
}

// Defaults of TokenSourceConfig.
const (
	DefaultTokenMargin    = 60 * time.Second
	DefaultRefreshCap     = 10               // refreshes per refresh token …
	DefaultRefreshWindow  = 10 * time.Minute // … per this window (reference §2.6)
	DefaultRefreshTimeout = 15 * time.Second
	// DefaultThrottlePause is how long the source refuses to refresh after
	// Zoho refused a refresh for its rate ("Access Denied" at HTTP 200, or
	// HTTP 429 without a Retry-After): the whole refresh window. Zoho
	// documents a cap of 10 refreshes per 10 minutes, not when a refused
	// refresh token is served again; asking before the window has passed
	// is refused again and may extend the lockout (reference §2.6).
	DefaultThrottlePause = DefaultRefreshWindow
	defaultTokenLifetime = time.Hour
)

// TokenSourceConfig configures a TokenSource. Only Credential and
// AccountsURL are required.
type TokenSourceConfig struct {
	Credential  Credential
	AccountsURL string // OAuth server base, e.g. https://accounts.zoho.eu (no /oauth/v2/token)
	// HTTPClient posts the refresh grant. nil means a client over a
	// DefaultTransport with redacted debug logging and no retries.
	HTTPClient *http.Client
	// Now is the clock for expiry and the refresh cap. nil means time.Now.
	Now func() time.Time
	// Margin is how long before expiry a token is refreshed. Zero means
	// DefaultTokenMargin; it is capped at half the token's lifetime.
	Margin time.Duration
	// CacheDir holds access tokens across restarts. "" means
	// os.UserCacheDir()/zoho-mcp-proxy; "-" disables the disk cache.
	CacheDir string
	// RefreshCap and RefreshWindow bound refreshes (zero: 10 per 10 minutes).
	RefreshCap    int
	RefreshWindow time.Duration
	// RefreshTimeout bounds one refresh grant. Zero means DefaultRefreshTimeout.
	RefreshTimeout time.Duration
	// ThrottlePause is the pause after Zoho refused a refresh for its rate
	// ("Access Denied", or HTTP 429 without a Retry-After). Zero means
	// DefaultThrottlePause (the whole refresh window).
	ThrottlePause time.Duration
	// Logger receives warnings (unusable cache files) and debug lines. nil
	// means slog.Default(). The source adds the "tier" attribute itself
	// (when Tier is set): pass a logger without one.
	Logger *slog.Logger
	// Tier labels errors and log lines. Empty is allowed.
	Tier tiers.Name
	// Shared shares the access token with the other replicas of the proxy
	// (app adapts cluster.Tokens to it when Redis is configured). nil means
	// this process alone, with its disk cache. While Shared answers, it
	// does the cap accounting and the disk cache is not used; when it
	// cannot (ErrNotShared), the source refreshes on its own as without it.
	Shared SharedTokens
}

// SharedTokens shares one credential's access token among replicas.
type SharedTokens interface {
	// Refresh returns a token other than stale (the token the caller holds
	// and found expired or rejected; "" for none): the one another replica
	// stored, or a new one from grant, which at most one replica runs at a
	// time. grant reports whether its request may have reached Zoho
	// (counted against Zoho's refresh cap). Errors are *tiers.Error, or
	// wrap ErrNotShared when the shared state cannot be used.
	Refresh(ctx context.Context, stale string, grant func(ctx context.Context) (tok Token, counted bool, err error)) (Token, error)
}

// ErrNotShared is wrapped by a SharedTokens error that means "the shared
// state cannot be used now": the TokenSource then refreshes on its own.
var ErrNotShared = errors.New("shared token state unavailable")

// TokenSource hands out access tokens for one credential. It refreshes at
// most once at a time (callers that arrive during a refresh wait for it),
// keeps its own count of refreshes so that it fails clearly before Zoho's
// cap (10 per 10 minutes) is hit, and caches tokens on disk so that restarts
// do not spend refreshes. It is safe for concurrent use.
type TokenSource struct {
	cfg      TokenSourceConfig
	tokenURL string
	cache    *tokenCache

	mu           sync.Mutex
	tok          Token
	rejected     string // last access token Zoho rejected; never reused from disk
	inflight     *refreshCall
	attempts     []time.Time // refresh grants sent within the window
	blockedUntil time.Time
	diskLoaded   bool
	apiDomain    string // api_domain of the last token obtained; kept across invalidation

	refreshes atomic.Int64
}

type refreshCall struct {
	done chan struct{}
	tok  Token
	err  error
}

// NewTokenSource returns a TokenSource for cfg.Credential.
func NewTokenSource(cfg TokenSourceConfig) *TokenSource {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Margin <= 0 {
		cfg.Margin = DefaultTokenMargin
	}
	if cfg.RefreshCap <= 0 {
		cfg.RefreshCap = DefaultRefreshCap
	}
	if cfg.RefreshWindow <= 0 {
		cfg.RefreshWindow = DefaultRefreshWindow
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = DefaultRefreshTimeout
	}
	if cfg.ThrottlePause <= 0 {
		cfg.ThrottlePause = DefaultThrottlePause
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = withTierAttr(cfg.Logger, cfg.Tier)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: &LoggingTransport{Next: DefaultTransport(), Logger: cfg.Logger}}
	}
	ts := &TokenSource{
		cfg:      cfg,
		tokenURL: strings.TrimRight(cfg.AccountsURL, "/") + "/oauth/v2/token",
		cache:    newTokenCache(cfg.CacheDir, cfg.Credential, cfg.AccountsURL, cfg.Logger),
	}
	if cfg.Credential.AccessToken != "" {
		ts.tok = Token{AccessToken: cfg.Credential.AccessToken}
	}
	return ts
}

// sharedRefresh obtains a token through the shared state; ok is false when
// that cannot be used and the caller refreshes on its own.
func (ts *TokenSource) sharedRefresh(ctx context.Context) (t Token, ok bool, err error) {
	ts.mu.Lock()
	stale := ts.tok.AccessToken
	if stale == "" {
		stale = ts.rejected
	}
	ts.mu.Unlock()
	t, err = ts.cfg.Shared.Refresh(ctx, stale, func(ctx context.Context) (Token, bool, error) {
		now := ts.cfg.Now()
		t, counted, err := ts.grant(ctx, now)
		if counted {
			// Kept locally too, so that a fall back to local accounting
			// starts from this replica's own grants.
			ts.mu.Lock()
			ts.attempts = append(pruneTimes(ts.attempts, now.Add(-ts.cfg.RefreshWindow)), now)
			ts.mu.Unlock()
		}
		return t, counted, err
	})
	if errors.Is(err, ErrNotShared) {
		ts.cfg.Logger.Debug("shared token state unavailable; refreshing locally", "error", err.Error())
		return Token{}, false, nil
	}
	return t, true, err
}

// RefreshCount returns how many refresh grants this source has sent.
func (ts *TokenSource) RefreshCount() int { return int(ts.refreshes.Load()) }

// APIDomain returns the api_domain of the last token obtained, or "" if
// none has been obtained yet. It never refreshes.
func (ts *TokenSource) APIDomain() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.apiDomain
}

// valid reports whether t can be used at now.
func (ts *TokenSource) valid(t Token, now time.Time) bool {
	if t.AccessToken == "" || t.AccessToken == ts.rejected {
		return false
	}
	return t.Expiry.IsZero() || now.Before(t.Expiry)
}

// Token returns a usable access token, refreshing it if it expires within
// the margin. Concurrent callers share one refresh. Errors are *tiers.Error:
// ClassAuth (credentials refused), ClassRateLimited (refresh cap, or the
// accounts server answered HTTP 429),
// ClassUnavailable (accounts server unreachable) or ClassCanceled.
func (ts *TokenSource) Token(ctx context.Context) (Token, error) {
	ts.mu.Lock()
	if ts.valid(ts.tok, ts.cfg.Now()) {
		t := ts.tok
		ts.mu.Unlock()
		return t, nil
	}
	if ts.inflight == nil {
		c := &refreshCall{done: make(chan struct{})}
		ts.inflight = c
		go ts.runRefresh(c)
	}
	c := ts.inflight
	ts.mu.Unlock()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return Token{}, &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassCanceled, Message: "canceled while waiting for a Zoho access token", Err: ctx.Err()}
	}
}

// Invalidate drops stale (an access token Zoho answered 401 INVALID_TOKEN
// to) so that the next Token call refreshes. It does nothing if the source
// already holds a different token: of 20 callers rejected with the same
// token, only the first causes a refresh.
func (ts *TokenSource) Invalidate(stale string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if stale == "" {
		return
	}
	ts.rejected = stale
	if ts.tok.AccessToken == stale {
		ts.tok = Token{}
	}
}

func (ts *TokenSource) runRefresh(c *refreshCall) {
	ctx, cancel := context.WithTimeout(context.Background(), ts.cfg.RefreshTimeout)
	defer cancel()
	c.tok, c.err = ts.refresh(ctx)
	ts.mu.Lock()
	if c.err == nil {
		ts.tok = c.tok
		if c.tok.APIDomain != "" {
			ts.apiDomain = c.tok.APIDomain
		}
	}
	ts.inflight = nil
	ts.mu.Unlock()
	close(c.done)
}

// refresh obtains a token: from the replicas' shared state when there is
// one (Shared), else from the disk cache when another process (or an
// earlier run) left a valid one, otherwise with the refresh grant.
func (ts *TokenSource) refresh(ctx context.Context) (Token, error) {
	if ts.cfg.Shared != nil && ts.cfg.Credential.CanRefresh() {
		if t, ok, err := ts.sharedRefresh(ctx); ok {
			return t, err
		}
	}
	now := ts.cfg.Now()
	ts.mu.Lock()
	if !ts.diskLoaded {
		ts.diskLoaded = true
		if ent, ok := ts.cache.load(); ok {
			ts.attempts = mergeTimes(ts.attempts, ent.Refreshes)
		}
	}
	ts.mu.Unlock()
	if ent, ok := ts.cache.load(); ok {
		t := Token{AccessToken: ent.AccessToken, APIDomain: ent.APIDomain, Expiry: ent.Expiry}
		ts.mu.Lock()
		ok := ts.valid(t, now)
		ts.mu.Unlock()
		if ok {
			return t, nil
		}
	}
	if !ts.cfg.Credential.CanRefresh() {
		msg := "no Zoho refresh credentials configured"
		if ts.cfg.Credential.AccessToken != "" {
			msg = "the configured access token was rejected and no refresh token is configured: set the client id, client secret and refresh token"
		}
		return Token{}, &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassAuth, Code: "NO_CREDENTIALS", Message: msg}
	}

	// Local accounting of Zoho's cap, so that we fail clearly instead of
	// hammering the accounts server.
	ts.mu.Lock()
	ts.attempts = pruneTimes(ts.attempts, now.Add(-ts.cfg.RefreshWindow))
	if len(ts.attempts) >= ts.cfg.RefreshCap {
		if until := ts.attempts[0].Add(ts.cfg.RefreshWindow); until.After(ts.blockedUntil) {
			ts.blockedUntil = until
		}
	}
	if now.Before(ts.blockedUntil) {
		until := ts.blockedUntil
		ts.mu.Unlock()
		return Token{}, ts.capError(until)
	}
	ts.attempts = append(ts.attempts, now)
	ts.mu.Unlock()

	t, counted, err := ts.grant(ctx, now)
	if !counted {
		ts.mu.Lock()
		ts.attempts = removeTime(ts.attempts, now)
		ts.mu.Unlock()
	}
	var te *tiers.Error
	if errors.As(err, &te) && (te.Code == "REFRESH_CAP" || te.Code == "TOO_MANY_REQUESTS") {
		// Zoho refused the refresh for its rate: hold every refresh off
		// until the pause has passed (a Retry-After, when Zoho sends one,
		// says how long).
		pause := ts.cfg.ThrottlePause
		var rr *rateRefusal
		if errors.As(err, &rr) && rr.after > 0 {
			pause = rr.after
		}
		ts.mu.Lock()
		if until := now.Add(pause); until.After(ts.blockedUntil) {
			ts.blockedUntil = until
		}
		until := ts.blockedUntil
		ts.mu.Unlock()
		if te.Code == "REFRESH_CAP" {
			return Token{}, ts.capError(until)
		}
		c := *te
		c.Message += "; the proxy holds refreshes off until " + until.UTC().Format("15:04:05 UTC")
		return Token{}, &c
	}
	ts.mu.Lock()
	attempts := append([]time.Time(nil), ts.attempts...)
	ts.mu.Unlock()
	if err != nil {
		ts.cache.saveAttempts(attempts)
		return Token{}, err
	}
	ts.cache.save(cacheEntry{AccessToken: t.AccessToken, APIDomain: t.APIDomain, Expiry: t.Expiry, Refreshes: attempts})
	return t, nil
}

// rateRefusal is the accounts server's HTTP 429 to a refresh, with its
// Retry-After (zero when it sent none).
type rateRefusal struct {
	err   *tiers.Error
	after time.Duration
}

func (r *rateRefusal) Error() string { return r.err.Error() }
func (r *rateRefusal) Unwrap() error { return r.err }

func (ts *TokenSource) capError(until time.Time) *tiers.Error {
	return &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassRateLimited, Code: "REFRESH_CAP",
		Message: fmt.Sprintf("Zoho access-token refresh cap reached (%d per %s); the proxy will retry after %s",
			ts.cfg.RefreshCap, fmtWindow(ts.cfg.RefreshWindow), until.UTC().Format("15:04:05 UTC"))}
}

func fmtWindow(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return d.String()
}

// tokenResponse is the token endpoint's answer (reference §2.3, §2.4).
type tokenResponse struct {
	AccessToken      string      `json:"access_token"`
	APIDomain        string      `json:"api_domain"`
	TokenType        string      `json:"token_type"`
	ExpiresIn        json.Number `json:"expires_in"`
	ExpiresInSec     json.Number `json:"expires_in_sec"`
	Error            string      `json:"error"`
	ErrorDescription string      `json:"error_description"`
}

// lifetime returns the token's lifetime: expires_in seconds, unless
// expires_in_sec is present, in which case expires_in is in milliseconds.
func (r tokenResponse) lifetime() time.Duration {
	if r.ExpiresInSec != "" {
		if n, err := r.ExpiresInSec.Float64(); err == nil && n > 0 {
			return time.Duration(n * float64(time.Second))
		}
		if n, err := r.ExpiresIn.Float64(); err == nil && n > 0 {
			return time.Duration(n * float64(time.Millisecond))
		}
	}
	if n, err := r.ExpiresIn.Float64(); err == nil && n > 0 {
		return time.Duration(n * float64(time.Second))
	}
	return defaultTokenLifetime
}

// grant posts the refresh grant. counted reports whether the request may
// have reached Zoho (and so counts against the cap).
func (ts *TokenSource) grant(ctx context.Context, now time.Time) (Token, bool, error) {
	cred := ts.cfg.Credential
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {cred.ClientID},
		"client_secret": {cred.ClientSecret},
		"refresh_token": {cred.RefreshToken},
	}
	host := hostOf(ts.tokenURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, false, &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassAuth, Code: "BAD_ACCOUNTS_URL",
			Message: "the Zoho accounts URL is not a valid URL: check ZOHO_ACCOUNTS_URL / ZOHO_DC"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	ts.refreshes.Add(1)
	resp, err := ts.cfg.HTTPClient.Do(req)
	if err != nil {
		counted := !isDialError(err)
		return Token{}, counted, &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassUnavailable, Code: "ACCOUNTS_UNREACHABLE",
			Message: "cannot reach the Zoho accounts server " + host + ": " + describeNetErr(err), Err: scrubErr(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Token{}, true, &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassUnavailable, Code: "ACCOUNTS_UNREACHABLE",
			Message: "the Zoho accounts server " + host + " broke off its answer: " + describeNetErr(err)}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// Whatever the body says (Zoho's 429 envelope carries no token and
		// no OAuth error), Zoho refused the refresh for its rate: say so.
		msg := fmt.Sprintf("the Zoho accounts server %s rate-limited the token refresh (HTTP 429)", host)
		d, _ := retryAfter(resp)
		return Token{}, true, &rateRefusal{err: &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassRateLimited, Code: "TOO_MANY_REQUESTS",
			HTTPStatus: resp.StatusCode, Message: msg}, after: d}
	}
	if resp.StatusCode >= 500 {
		return Token{}, true, &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassUnavailable, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("the Zoho accounts server %s answered HTTP %d", host, resp.StatusCode)}
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return Token{}, true, &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassUnavailable, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("the Zoho accounts server %s answered HTTP %d with a body that is not a token response", host, resp.StatusCode)}
	}
	if tr.AccessToken == "" {
		return Token{}, true, ts.tokenError(tr, host, resp.StatusCode)
	}
	life := tr.lifetime()
	margin := min(ts.cfg.Margin, life/2)
	t := Token{AccessToken: tr.AccessToken, APIDomain: strings.TrimRight(tr.APIDomain, "/"), Expiry: now.Add(life - margin)}
	ts.cfg.Logger.Debug("zoho access token refreshed", "client_id", cred.ClientID,
		"api_domain", t.APIDomain, "valid_for", life-margin)
	return t, true, nil
}

// tokenError explains a token endpoint error body ({"error":…} at HTTP 200)
// in terms of what the operator must fix.
func (ts *TokenSource) tokenError(tr tokenResponse, host string, status int) *tiers.Error {
	e := &tiers.Error{Tier: ts.cfg.Tier, Class: tiers.ClassAuth, Code: tr.Error, HTTPStatus: status}
	switch strings.ToLower(tr.Error) {
	case "invalid_code":
		e.Message = "refresh token revoked or wrong data centre — generate a new one in the API console for the DC of your org (accounts server " + host + ")"
	case "invalid_client":
		e.Message = "client id unknown at " + host + ": wrong data centre (set ZOHO_DC or ZOHO_ACCOUNTS_URL to your org's DC) or the client was deleted in the API console"
	case "invalid_client_secret":
		e.Message = "client secret does not match the client id: copy it again from the API console"
	case "access denied":
		e.Code = "REFRESH_CAP"
		e.Class = tiers.ClassRateLimited
		e.Message = "Zoho refused the refresh (too many refreshes)"
	case "":
		e.Code = "NO_ACCESS_TOKEN"
		e.Class = tiers.ClassUnavailable
		e.Message = "the Zoho accounts server " + host + " answered without an access token"
	default:
		e.Message = "the Zoho accounts server " + host + " refused the refresh grant: " + tiers.Clip(tr.Error, maxMessage)
		if tr.ErrorDescription != "" {
			e.Message += " (" + tiers.Clip(tr.ErrorDescription, maxMessage) + ")"
		}
	}
	return e
}

func pruneTimes(ts []time.Time, after time.Time) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if t.After(after) {
			out = append(out, t)
		}
	}
	return out
}

func removeTime(ts []time.Time, x time.Time) []time.Time {
	for i, t := range ts {
		if t.Equal(x) {
			return append(ts[:i], ts[i+1:]...)
		}
	}
	return ts
}

// mergeTimes unions a and b (sorted, deduplicated).
func mergeTimes(a, b []time.Time) []time.Time {
	out := append(append([]time.Time(nil), a...), b...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Before(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	dedup := out[:0]
	for i, t := range out {
		if i == 0 || !t.Equal(out[i-1]) {
			dedup = append(dedup, t)
		}
	}
	return dedup
}

// withTierAttr returns l with the "tier" attribute tier, or l itself when
// tier is empty. Each component that knows its tier labels its own logger
// with it exactly once, so that no line carries the key twice (RFC 8259
// leaves duplicate names undefined): callers pass loggers without "tier".
func withTierAttr(l *slog.Logger, tier tiers.Name) *slog.Logger {
	if tier == "" {
		return l
	}
	return l.With("tier", string(tier))
}
