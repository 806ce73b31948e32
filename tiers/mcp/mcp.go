// Package mcp is tier 1: a client of Zoho's hosted MCP endpoint that adapts to
// whatever ZohoCRM_* tools and argument names the upstream server offers.
package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

var (
	_ tiers.Tier     = (*Tier)(nil)
	_ tiers.Detailer = (*Tier)(nil)
)

// Defaults of Config.
const (
	DefaultProbeTimeout    = 5 * time.Second
	DefaultRelistInterval  = time.Minute
	DefaultProtocolVersion = mcpgo.ProtocolVersion20250618
)

// Config configures the tier. Only Endpoint is required; without it the tier
// reports itself not configured.
type Config struct {
	// Endpoint is ZOHO_MCP_ENDPOINT, e.g.
	// https://zoho-crm-data-operations-600.zohomcp.com/mcp/<key>/message. It
	// holds a secret key: the tier never logs it or puts it in an error.
	Endpoint string
	// ClientID and ClientSecret (ZOHO_MCP_CLIENT_ID/_SECRET) name an OAuth
	// client registered at the endpoint's authorization server, which Login
	// uses instead of registering one (RFC 7591); empty means a dynamically
	// registered client. The grant Login stores belongs to the client, so
	// the tier looks for the grant of this ClientID. The secret may be empty
	// (a public client).
	ClientID, ClientSecret string
	// CacheDir is the token cache directory that holds the grant `login`
	// stored for an endpoint in "Authorization on Demand" mode: "" means
	// os.UserCacheDir()/zoho-mcp-proxy, "-" means none (the tier then never
	// has a grant: the sandbox).
	CacheDir string
	// Timeout bounds one upstream attempt (connect, initialize or tool call);
	// zero means the tier's default (tiers.DefaultsOf).
	Timeout time.Duration
	// ProbeTimeout bounds Probe; zero means DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// MaxRetries is the number of retries of a failed read (and of a write
	// that provably was not sent) when the context carries no
	// tiers.RetryBudget (which replaces it); zero means none.
	MaxRetries int
	// MaxBackoff caps one wait between retries; zero means 2 s.
	MaxBackoff time.Duration
	// RelistInterval is how often at most tools/list is read again because a
	// needed tool is missing; zero means DefaultRelistInterval.
	RelistInterval time.Duration
	// ProtocolVersion is the MCP version offered upstream; empty means
	// DefaultProtocolVersion (the Streamable HTTP era Zoho's servers speak).
	ProtocolVersion string
	// HTTPClient carries every upstream request; nil means a client over
	// zoho.DefaultTransport (see newHTTPClient).
	HTTPClient *http.Client
	// DefaultFields lists the fields to request when a list asks for all of
	// them (Zoho's list API and COQL need a field list); nil means
	// zoho.DefaultFields.
	DefaultFields func(module string) []string
	// Logger receives debug lines and warnings, redacted; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits between retries; nil means zoho.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Governor bounds the tool calls in flight upstream: a tool call on
	// Zoho's hosted MCP runs CRM API calls on the org's account (UNCONFIRMED,
	// but its calls spend the org's API limits), so it takes a slot of the
	// org's governor, shared with tiers 2 and 3, while it runs;
	// HeavyGovernor also bounds COQL tool calls (Zoho's sub-concurrency).
	// nil bounds nothing.
	Governor, HeavyGovernor tiers.Governor
}

// newHTTPClient returns the client the tier uses by default: the transport
// tuned for a proxy that every Zoho tier uses (zoho.DefaultTransport), no
// client-wide timeout (each call has a context deadline), and a bound on the
// DELETE mcp-go sends when a session ends.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: &deleteTimeout{next: zoho.DefaultTransport(), d: 2 * time.Second}}
}

// deleteTimeout bounds the DELETE mcp-go sends when a session is closed: it
// would otherwise wait up to five seconds on a hung server.
type deleteTimeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (t *deleteTimeout) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodDelete {
		return t.next.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), t.d)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// statusTransport records the HTTP status of each answer in the statusBox
// the request's context carries (see callContext).
type statusTransport struct{ next http.RoundTripper }

// callKey carries a *callInfo in the context of one upstream exchange.
type callKey struct{}

// callInfo is what one upstream exchange (a call, an initialize, a
// tools/list) carries from the tier to the transport: the headers to send
// (the caller's scopes; the bearer token is the authTransport's) and the box
// the answer's HTTP status lands in. It is itself the exchange's context,
// the caller's with one value more (itself, under callKey), so that a call
// adds one context layer in one allocation, where context.WithValue would
// add a second.
type callInfo struct {
	context.Context
	headers map[string]string // read-only: shared between calls
	box     statusBox
	// replay is an answer already received for this exchange, which the
	// next request sent in it gets instead of being sent (see post).
	replay atomic.Pointer[http.Response]
}

// Value is the embedded context's, plus c under callKey.
func (c *callInfo) Value(key any) any {
	if key == (callKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// statusBox holds the last non-2xx HTTP status of one upstream call.
type statusBox struct {
	mu     sync.Mutex
	status int
}

func (b *statusBox) get() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status
}

func (t *statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if ci, ok := r.Context().Value(callKey{}).(*callInfo); ok {
		if resp := ci.replay.Swap(nil); resp != nil {
			// Sent already, its status recorded: hand the answer over.
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return resp, nil
		}
	}
	resp, err := t.next.RoundTrip(r)
	if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		if ci, ok := r.Context().Value(callKey{}).(*callInfo); ok {
			ci.box.mu.Lock()
			ci.box.status = resp.StatusCode
			ci.box.mu.Unlock()
		}
	}
	return resp, err
}

// CloseIdleConnections closes the wrapped transport's idle connections.
func (t *statusTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error { err := b.ReadCloser.Close(); b.cancel(); return err }

// Tier is tier 1. It connects lazily on first use; it is safe for concurrent
// use. Close it to end the upstream session.
type Tier struct {
	cfg   Config
	http  *http.Client
	log   *slog.Logger
	baseR *redactor
	auth  *bearer // the OAuth grant, when the endpoint asks for one

	mu         sync.Mutex // guards sess, lastListed and connecting
	sess       *session
	lastListed time.Time
	closed     bool

	callIDs atomic.Int64 // numbers the tools/call requests callTool sends

	scopeHeaders atomic.Pointer[scopeHeaders] // the headers of the last scopes seen
}

// scopeHeaders is the header map sent for one set of scopes; callers of a
// proxy mostly hold the same few, so it is built once and shared.
type scopeHeaders struct {
	scopes []string
	h      map[string]string
}

// session is one initialized upstream connection and its tool catalog.
type session struct {
	c     *client.Client
	tools catalog

	// What post needs to send as the client's transport does: the
	// session ID initialize left (a different one later means the session
	// ended), the endpoint as the transport parsed it, and a context that
	// ends when c is closed.
	sessionID string
	url       string
	done      context.Context
	end       context.CancelFunc
}

// close ends s's requests in flight, as closing its transport ends those
// SendRequest has in flight, and closes its client.
func (s *session) close() error {
	s.end()
	return s.c.Close()
}

// New returns the tier for cfg. It does not contact the upstream.
func New(cfg Config) *Tier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = tiers.DefaultsOf(tiers.MCP).Timeout
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	cfg.MaxRetries = max(cfg.MaxRetries, 0)
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.RelistInterval <= 0 {
		cfg.RelistInterval = DefaultRelistInterval
	}
	if cfg.ProtocolVersion == "" {
		cfg.ProtocolVersion = DefaultProtocolVersion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = zoho.Sleep
	}
	if cfg.DefaultFields == nil {
		cfg.DefaultFields = zoho.DefaultFields
	}
	base := cfg.HTTPClient
	if base == nil {
		base = newHTTPClient()
	}
	// The status recorder sits outermost so that every answer's HTTP status
	// reaches the classification: mcp-go reads some non-200 answers (a 429
	// or 500 with a JSON body) as an empty JSON-RPC response.
	// The bearer transport sits inside it: it sends the OAuth token (when
	// the endpoint asks for one) and answers a refused token with one
	// refresh and one more attempt, so the status recorded is the final one.
	hc := *base
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	t := &Tier{cfg: cfg}
	t.baseR = newRedactor(cfg.Endpoint, cfg.ClientSecret)
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	t.log = slog.New(&redactHandler{next: lg.Handler(), r: t.baseR}).With("tier", string(tiers.MCP))
	t.auth = newBearer(cfg, base, t.log)
	hc.Transport = &statusTransport{next: &authTransport{next: next, b: t.auth}}
	t.http = &hc
	return t
}

// red returns the redactor for the current secrets (endpoint key, client
// secret and the OAuth tokens in use).
func (t *Tier) red() *redactor {
	if t.auth != nil {
		if sec := t.auth.secrets(); len(sec) > 0 {
			return t.baseR.with(sec...)
		}
	}
	return t.baseR
}

// Name returns tiers.MCP.
func (t *Tier) Name() tiers.Name { return tiers.MCP }

// Configured reports whether an endpoint is set and the tier can use it: an
// endpoint that asks for OAuth ("Authorization on Demand") needs a login
// first (see Detail).
func (t *Tier) Configured() bool {
	return strings.TrimSpace(t.cfg.Endpoint) != "" && t.auth.loginNeeded() == ""
}

// Detail says what tier 1 needs before it can serve, e.g. "tier 1 needs
// `zoho-mcp-proxy login`: …"; "" when it needs nothing.
func (t *Tier) Detail() string { return t.auth.loginNeeded() }

// Supports reports the single-record operations: get, list, search and
// update, and those of ModuleTier: create, related records and metadata.
// Whether the upstream really offers the tool is found out per call (a
// missing tool is a ClassUnsupported error).
func (t *Tier) Supports(op tiers.OpKind) bool {
	switch op {
	case tiers.OpGet, tiers.OpList, tiers.OpSearch, tiers.OpUpdate, tiers.OpCreate, tiers.OpRelated, tiers.OpMetadata:
		return true
	}
	return false
}

// Close ends the upstream session, if any. Later calls fail as unavailable.
func (t *Tier) Close() error {
	t.mu.Lock()
	s := t.sess
	t.sess = nil
	t.closed = true
	t.mu.Unlock()
	var err error
	if s != nil {
		err = s.close()
	}
	if t.cfg.HTTPClient == nil {
		t.http.CloseIdleConnections()
	}
	return err
}

// Probe connects (if needed) and reads tools/list within ProbeTimeout.
func (t *Tier) Probe(ctx context.Context) error {
	if why := t.auth.loginNeeded(); why != "" {
		return loginErr(why)
	}
	if !t.Configured() {
		return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "not configured (ZOHO_MCP_ENDPOINT is empty)"}
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.ProbeTimeout)
	defer cancel()
	s, fresh, err := t.connect(ctx)
	if err != nil || fresh {
		return err // a fresh session has just read tools/list
	}
	_, err = t.relist(ctx, s, true)
	return err
}

// headers is the transport's WithHTTPHeaderFunc: the caller's scopes as
// X-MCP-Tools, taken from the request's context (see callContext).
func headers(ctx context.Context) map[string]string {
	if ci, ok := ctx.Value(callKey{}).(*callInfo); ok {
		return ci.headers
	}
	return nil
}

// callContext returns ctx carrying the headers of one upstream exchange and
// the box its HTTP status lands in.
func (t *Tier) callContext(ctx context.Context) (context.Context, *statusBox) {
	ci := &callInfo{Context: ctx, headers: t.headersFor(tiers.ScopesFrom(ctx))}
	return ci, &ci.box
}

// noHeaders is the (never written) header map of a call without scopes.
var noHeaders = map[string]string{}

// headersFor returns the headers for scopes: the last map built when the
// scopes are the same (the maps are never written once built).
func (t *Tier) headersFor(scopes []string) map[string]string {
	if len(scopes) == 0 {
		return noHeaders
	}
	if last := t.scopeHeaders.Load(); last != nil && slices.Equal(last.scopes, scopes) {
		return last.h
	}
	sh := &scopeHeaders{scopes: slices.Clone(scopes), h: map[string]string{"X-MCP-Tools": strings.Join(scopes, ",")}}
	t.scopeHeaders.Store(sh)
	return sh.h
}

// session returns the live session, connecting and initializing if needed.
func (t *Tier) session(ctx context.Context) (*session, error) {
	s, _, err := t.connect(ctx)
	return s, err
}

// connect is session; fresh reports a session made by this call.
func (t *Tier) connect(ctx context.Context) (s *session, fresh bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, false, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "tier is closed"}
	}
	if t.sess != nil {
		return t.sess, false, nil
	}
	if !t.Configured() {
		return nil, false, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "not configured (ZOHO_MCP_ENDPOINT is empty)"}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	hctx, box := t.callContext(ctx)
	fail := func(c *client.Client, err error, what string) (*session, bool, error) {
		_ = c.Close()
		// mcp-go reports any 4xx to initialize as "a legacy SSE server":
		// the recorded status says what really happened (401: our key or
		// token; 429: rate limited; 404: a wrong endpoint URL).
		if st := box.get(); st != 0 {
			return nil, false, statusErr(st, what)
		}
		return nil, false, t.transportErr(parent, hctx, err, false, what)
	}
	c, err := client.NewStreamableHttpClient(t.cfg.Endpoint,
		transport.WithHTTPBasicClient(t.http),
		transport.WithHTTPHeaderFunc(headers),
		transport.WithHTTPLogger(t.log),
	)
	if err != nil {
		return nil, false, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable,
			Message: "invalid ZOHO_MCP_ENDPOINT: " + t.red().String(err.Error())}
	}
	if err := c.Start(hctx); err != nil {
		return fail(c, err, "connect")
	}
	init := mcpgo.InitializeRequest{}
	init.Params.ProtocolVersion = t.cfg.ProtocolVersion
	init.Params.ClientInfo = mcpgo.Implementation{Name: "zoho-mcp-proxy", Version: "1"}
	if _, err := c.Initialize(hctx, init); err != nil {
		return fail(c, err, "initialize")
	}
	res, err := c.ListTools(hctx, mcpgo.ListToolsRequest{})
	if err != nil {
		return fail(c, err, "tools/list")
	}
	s = &session{c: c, tools: newCatalog(res.Tools), url: endpointURL(t.cfg.Endpoint)}
	if tr, ok := c.GetTransport().(*transport.StreamableHTTP); ok {
		s.sessionID = tr.GetSessionId()
	}
	s.done, s.end = context.WithCancel(context.Background())
	t.lastListed = t.cfg.Now()
	t.sess = s
	t.log.Debug("connected upstream", "tools", len(s.tools))
	return s, true, nil
}

// drop forgets s if it is still the live session and closes it.
func (t *Tier) drop(s *session) {
	t.mu.Lock()
	if t.sess == s {
		t.sess = nil
	}
	t.mu.Unlock()
	_ = s.close() // the server just answered 404, so its DELETE is quick
}

// relist reads tools/list again, at most once per RelistInterval unless
// force, and returns the fresh catalog.
func (t *Tier) relist(ctx context.Context, s *session, force bool) (catalog, error) {
	t.mu.Lock()
	due := force || t.cfg.Now().Sub(t.lastListed) >= t.cfg.RelistInterval
	if due {
		t.lastListed = t.cfg.Now()
	}
	t.mu.Unlock()
	if !due {
		return t.catalogOf(s), nil
	}
	hctx, _ := t.callContext(ctx)
	res, err := s.c.ListTools(hctx, mcpgo.ListToolsRequest{})
	if err != nil {
		if errors.Is(err, transport.ErrSessionTerminated) {
			t.drop(s)
		}
		return nil, t.transportErr(ctx, hctx, err, false, "tools/list")
	}
	c := newCatalog(res.Tools)
	t.mu.Lock()
	s.tools = c
	t.mu.Unlock()
	return c, nil
}

func (t *Tier) catalogOf(s *session) catalog {
	t.mu.Lock()
	defer t.mu.Unlock()
	return s.tools
}

// resolve finds the tool for action on module, reading tools/list again if
// it is missing. It returns ClassUnsupported when the upstream lacks it.
// Connecting is retried like a read.
func (t *Tier) resolve(ctx context.Context, action, module string) (*tool, bool, error) {
	var s *session
	for attempt := 0; ; attempt++ {
		var err error
		s, err = t.session(ctx)
		if err == nil {
			break
		}
		if attempt >= t.retries(ctx) || !retryable(err) {
			return nil, false, err
		}
		if werr := t.backoff(ctx, attempt); werr != nil {
			return nil, false, werr
		}
	}
	if tl, perModule := t.catalogOf(s).findAction(action, module); tl != nil {
		return tl, perModule, nil
	}
	names := candidates(action, module)
	c, err := t.relist(ctx, s, false)
	if err != nil {
		return nil, false, err
	}
	if tl, perModule := c.find(names); tl != nil {
		return tl, perModule, nil
	}
	return nil, false, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnsupported,
		Message: fmt.Sprintf("the upstream MCP server has no %s tool (looked for %s)", action, strings.Join(names, ", "))}
}

// retries is the retry count for this call: the router's budget if set, else
// the configured policy.
func (t *Tier) retries(ctx context.Context) int {
	if b, ok := tiers.RetryBudgetFrom(ctx); ok {
		return b.MaxRetries
	}
	return t.cfg.MaxRetries
}

// backoff waits before retry attempt+1: exponential from 100 ms with full
// jitter, capped by the budget's MaxBackoff or the configured one.
func (t *Tier) backoff(ctx context.Context, attempt int) error {
	limit := t.cfg.MaxBackoff
	if b, ok := tiers.RetryBudgetFrom(ctx); ok && b.MaxBackoff > 0 && b.MaxBackoff < limit {
		limit = b.MaxBackoff
	}
	d := 100 * time.Millisecond << min(attempt, 10)
	if d > limit {
		d = limit
	}
	d = time.Duration(rand.Int64N(int64(d) + 1))
	if err := t.cfg.Sleep(ctx, d); err != nil {
		return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassCanceled, Message: "canceled while waiting to retry", Err: err}
	}
	return nil
}

// retryable reports whether a failed attempt may be tried again.
func retryable(err error) bool {
	switch tiers.Classify(err) {
	case tiers.ClassUnavailable, tiers.ClassRateLimited:
		return true
	}
	return false
}

// call invokes tool with args. A read is retried on unavailability and rate
// limiting within the retry budget; a write is retried only when the failure
// proves the upstream never ran it (connection refused, a terminated session,
// 429). A session the upstream terminated is re-initialized once.
func (t *Tier) call(ctx context.Context, tl *tool, args toolArgs, write bool) (*toolResult, error) {
	reinit := false
	for attempt := 0; ; attempt++ {
		res, err, notSent := t.callOnce(ctx, tl, args, write)
		if err == nil {
			return res, nil
		}
		if errors.Is(err, transport.ErrSessionTerminated) && !reinit {
			reinit = true
			attempt--
			continue
		}
		if write && !notSent {
			return nil, err
		}
		if attempt < t.retries(ctx) && retryable(err) {
			if werr := t.backoff(ctx, attempt); werr != nil {
				return nil, werr
			}
			continue
		}
		return nil, err
	}
}

// callOnce makes one attempt. notSent reports that the upstream provably did
// not run the tool.
func (t *Tier) callOnce(ctx context.Context, tl *tool, args toolArgs, write bool) (res *toolResult, err error, notSent bool) {
	s, err := t.session(ctx)
	if err != nil {
		return nil, err, true
	}
	actx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	hctx, box := t.callContext(actx)
	release, err := t.acquire(hctx, tl)
	if err != nil {
		return nil, t.transportErr(ctx, actx, err, false, "tools/call "+tl.name+" (waiting for a Zoho concurrency slot)"), true
	}
	defer release()
	var start time.Time
	debug := t.log.Enabled(ctx, slog.LevelDebug) // not to box the line's values on every call
	if debug {
		start = t.cfg.Now()
	}
	res, err = t.callTool(hctx, s, tl.name, args)
	if debug {
		t.log.Debug("tool call", "tool", tl.name, "duration_ms", t.cfg.Now().Sub(start).Milliseconds(), "error", err != nil)
	}
	if st := box.get(); st != 0 && st != http.StatusNotFound {
		// The upstream answered the call with an HTTP error, whatever
		// mcp-go made of the body. A 500 or 504 to a write may come after
		// the tool ran (as tiers/zoho treats Zoho's own); any other status
		// means the tool did not run.
		if write && (st == http.StatusInternalServerError || st == http.StatusGatewayTimeout) {
			return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassOutcomeUnknown, HTTPStatus: st,
				Message: fmt.Sprintf("tools/call %s: upstream answered HTTP %d to the write: it may or may not have been applied; read the record before retrying", tl.name, st)}, false
		}
		return nil, statusErr(st, "tools/call "+tl.name), true
	}
	if err == nil {
		return res, nil, false
	}
	if errors.Is(err, transport.ErrSessionTerminated) {
		// The server answered 404 for our session: it did not run the tool.
		t.drop(s)
		return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable,
			Message: "upstream session ended", Err: t.red().Error(err)}, true
	}
	if isToolNotFound(err) {
		t.mu.Lock()
		t.lastListed = time.Time{} // the catalog is stale: read it on the next miss
		t.mu.Unlock()
		return nil, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnsupported,
			Message: "the upstream MCP server no longer has tool " + tl.name, Err: t.red().Error(err)}, true
	}
	notSent = !sent(err)
	return nil, t.transportErr(ctx, actx, err, write && !notSent, "tools/call "+tl.name), notSent
}

// acquire takes the slots a tool call holds while it runs (see
// Config.Governor): a heavy one first for a COQL tool, then the org's.
func (t *Tier) acquire(ctx context.Context, tl *tool) (func(), error) {
	if !isCOQL(tl.name) {
		if t.cfg.Governor == nil {
			return noRelease, nil
		}
		return t.cfg.Governor.Acquire(ctx)
	}
	var rels []func()
	release := func() {
		for i := len(rels) - 1; i >= 0; i-- {
			rels[i]()
		}
	}
	for _, g := range []tiers.Governor{t.cfg.HeavyGovernor, t.cfg.Governor} {
		if g == nil {
			continue
		}
		rel, err := g.Acquire(ctx)
		if err != nil {
			release()
			return nil, err
		}
		rels = append(rels, rel)
	}
	return release, nil
}

func noRelease() {}

// isCOQL reports whether a tool's name speaks of COQL, in any case.
func isCOQL(name string) bool {
	for i := 0; i+4 <= len(name); i++ {
		if strings.EqualFold(name[i:i+4], "coql") {
			return true
		}
	}
	return false
}

// statusErr classifies a non-2xx HTTP answer to a call.
func statusErr(st int, what string) *tiers.Error {
	e := &tiers.Error{Tier: tiers.MCP, HTTPStatus: st}
	switch {
	case st == http.StatusTooManyRequests:
		e.Class, e.Message = tiers.ClassRateLimited, what+": upstream rate limit (429)"
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		e.Class, e.Message = tiers.ClassAuth, fmt.Sprintf("%s: upstream refused our authorization (%d)", what, st)
	default:
		e.Class, e.Message = tiers.ClassUnavailable, fmt.Sprintf("%s: upstream answered HTTP %d", what, st)
	}
	return e
}

// isToolNotFound reports a JSON-RPC "tool not found" answer.
func isToolNotFound(err error) bool {
	return errors.Is(err, mcpgo.ErrInvalidParams) && strings.Contains(strings.ToLower(err.Error()), "not found") &&
		strings.Contains(strings.ToLower(err.Error()), "tool")
}

// statusRE finds the HTTP status mcp-go puts in a non-200 answer's error.
var statusRE = regexp.MustCompile(`request failed with status (\d{3})`)

// httpStatus returns the HTTP status named in an mcp-go transport error, or 0.
func httpStatus(err error) int {
	m := statusRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// sent reports whether the request may have reached the upstream and been
// acted on. Only failures that prove otherwise return false: no connection,
// an HTTP 429/5xx or auth answer, or a JSON-RPC error answer.
func sent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var ae *transport.AuthorizationRequiredError
	if errors.As(err, &ae) {
		return false
	}
	var te *tiers.Error
	if errors.As(err, &te) {
		return false // the bearer transport's: it sent nothing, or the server refused it
	}
	if isRPCError(err) {
		return false
	}
	if s := httpStatus(err); s == 429 || (s >= 500 && s < 600) || s == 401 || s == 403 {
		return false
	}
	return true
}

// isRPCError reports a JSON-RPC error answer (the server refused the call).
func isRPCError(err error) bool {
	for _, s := range []error{mcpgo.ErrParseError, mcpgo.ErrInvalidRequest, mcpgo.ErrMethodNotFound,
		mcpgo.ErrInvalidParams, mcpgo.ErrInternalError, mcpgo.ErrResourceNotFound} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// transportErr classifies a failed upstream exchange. parent is the caller's
// context, actx the attempt's (with the tier's timeout). written says the
// request was a write that may have been acted on: a timeout or broken answer
// then leaves its outcome unknown.
func (t *Tier) transportErr(parent, actx context.Context, err error, written bool, what string) *tiers.Error {
	if te := (*tiers.Error)(nil); errors.As(err, &te) && parent.Err() == nil {
		// The bearer transport's verdict (login needed, token refused,
		// authorization server down): nothing was acted on.
		e := *te
		e.Message = what + ": " + t.red().String(e.Message)
		return &e
	}
	red := t.red().Error(err)
	e := &tiers.Error{Tier: tiers.MCP, Err: red}
	switch {
	case written && (parent.Err() != nil || actx.Err() != nil || httpStatus(err) == 0):
		e.Class = tiers.ClassOutcomeUnknown
		e.Message = what + ": the write was sent and no answer came (" + red.Error() + "); read the record before retrying"
		return e
	case parent.Err() != nil:
		e.Class = tiers.ClassCanceled
		e.Message = what + ": " + parent.Err().Error()
		return e
	case actx.Err() != nil:
		e.Class = tiers.ClassUnavailable
		e.Message = fmt.Sprintf("%s: upstream did not answer within %s", what, t.cfg.Timeout)
		return e
	}
	var ae *transport.AuthorizationRequiredError
	if errors.As(err, &ae) || errors.Is(err, transport.ErrUnauthorized) || errors.Is(err, transport.ErrOAuthAuthorizationRequired) {
		e.Class = tiers.ClassAuth
		e.HTTPStatus = 401
		e.Message = what + ": upstream rejected our authorization (401)"
		return e
	}
	switch s := httpStatus(err); {
	case s == 429:
		e.Class, e.HTTPStatus = tiers.ClassRateLimited, s
		e.Message = what + ": upstream rate limit (429)"
		return e
	case s == 401 || s == 403:
		e.Class, e.HTTPStatus = tiers.ClassAuth, s
		e.Message = fmt.Sprintf("%s: upstream refused access (%d)", what, s)
		return e
	case s != 0:
		e.Class, e.HTTPStatus = tiers.ClassUnavailable, s
		e.Message = fmt.Sprintf("%s: upstream answered HTTP %d", what, s)
		return e
	}
	e.Class = tiers.ClassUnavailable
	if looksAuth(err.Error()) {
		e.Class = tiers.ClassAuth
	}
	e.Message = what + ": " + red.Error()
	return e
}
