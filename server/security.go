package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// Security configures the HTTP front door of the MCP endpoints. The order of
// the checks, outermost first, is: Host, Origin, declared body size, bearer
// token, in-flight cap (shared, with a per-caller share), actual body size
// (read within BodyReadTimeout); then the caller's profile goes into the
// request context, without the write, bulk and admin scopes for a browser
// page whose Origin is not listed in AllowedOrigins. Cheap header checks come
// before anything that holds a slot or reads a body, so an unauthenticated
// client cannot exhaust either.
type Security struct {
	// Loopback is true when the listener is bound to a loopback address;
	// then the Host header must name a loopback host (DNS-rebinding
	// protection) and loopback Origins are allowed.
	Loopback bool
	// AllowedHosts are extra Host values (host or host:port, compared
	// case-insensitively) accepted besides loopback ones. Empty on a
	// non-loopback bind means any Host.
	AllowedHosts []string
	// AllowedOrigins are the Origin values (scheme://host[:port]) accepted
	// besides loopback origins on a loopback bind. A request with no Origin
	// header (not from a browser) is always accepted. A request whose
	// Origin is accepted only for being loopback (any page a browser opened
	// on localhost) gets read and monitor tools only: listing its origin
	// here gives it its profile's write, bulk and admin tools too.
	AllowedOrigins []string
	// BodyLimit caps a request body in bytes; larger → 413. Zero means 1 MiB.
	BodyLimit int64
	// MaxInFlight caps concurrent MCP requests, open SSE and Streamable
	// HTTP streams included, across every endpoint Wrap guards for one
	// HTTP transport; beyond → 503 with Retry-After. Zero means no cap.
	MaxInFlight int
	// MaxInFlightPerCaller is the share of MaxInFlight one caller (one
	// bearer token) may hold, so that a single token cannot take every
	// slot. Zero means a quarter of MaxInFlight (at least 1) when the
	// policy has tokens; without tokens every request is the one local
	// caller, which may use the whole cap.
	MaxInFlightPerCaller int
	// BodyReadTimeout is how long a request body may take to arrive once
	// its headers have; a slower body is cut with 408. Zero means 10s.
	BodyReadTimeout time.Duration
	// Policy authenticates callers: when it has tokens, a valid bearer token
	// is required and picks the profile; otherwise every caller gets its
	// default profile. Nil means permissions.Default().
	Policy *permissions.Policy
	// Logger receives one line per refused request (never the token). Nil
	// means none.
	Logger *slog.Logger
	// OnRefuse is called with the reason (host, origin, body, body_timeout,
	// auth, busy, busy_caller, sessions, forbidden) of every refused
	// request, e.g. to count it. Nil means nothing is called.
	OnRefuse func(reason string)

	// slots is the in-flight cap; NewHTTP sets one for all the transport's
	// endpoints. Nil makes Wrap build its own.
	slots *limiter
}

// The context keys Wrap sets for what runs behind it.
type ctxKey int

const (
	bodyKey    ctxKey = iota // *postBody: the POST body Wrap read
	browserKey               // string: the Origin of a page given read-only tools
)

// callerFrom returns the caller Wrap identified (permissions.WithCaller):
// the hash prefix of its bearer token (permissions.TokenCaller), or
// permissions.LocalCaller. The same identity binds what the tools keep for
// the caller (bulk results, job handles).
func callerFrom(ctx context.Context) string {
	if c := permissions.CallerFrom(ctx); c != "" {
		return string(c)
	}
	return string(permissions.LocalCaller)
}

// postBody is a POST body Wrap read, and its message once peek read it:
// the session gate and the progress streams both look at it, and the
// request passes through them on one goroutine.
type postBody struct {
	b      []byte
	msg    message
	peeked bool
}

// request is what Wrap adds to a request's context below the caller's
// identity (permissions.WithIdentity), as one value: the POST body it read
// (under bodyKey) and the Origin of a browser page whose profile it reduced
// (under browserKey). Its reader is the request's new Body, over the same
// bytes.
type request struct {
	context.Context
	body    postBody
	read    bool // body is set
	browser any  // string; nil: not reduced for a browser page
	reader  bodyReader
}

// Value answers bodyKey and browserKey when Wrap set them, and asks the
// parent for any other key.
func (c *request) Value(key any) any {
	switch key {
	case bodyKey:
		if c.read {
			return &c.body
		}
	case browserKey:
		if c.browser != nil {
			return c.browser
		}
	}
	return c.Context.Value(key)
}

// bodyReader is a body read into memory, as a request's Body.
type bodyReader struct{ bytes.Reader }

// Close does nothing: the body is in memory.
func (*bodyReader) Close() error { return nil }

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// browserOrigin returns the Origin of a browser page whose profile Wrap
// reduced to read-only tools, or "".
func browserOrigin(ctx context.Context) string {
	o, _ := ctx.Value(browserKey).(string)
	return o
}

// withheldFromBrowsers are the scopes a page whose Origin is not listed in
// AllowedOrigins does not get: anything that changes data or the proxy.
var withheldFromBrowsers = []permissions.Scope{permissions.ScopeWrite, permissions.ScopeBulk, permissions.ScopeAdmin}

// forBrowser returns p without withheldFromBrowsers (a new profile with the
// same name and field deny list), or p when it has none of them.
func forBrowser(p *permissions.Profile) *permissions.Profile {
	if p == nil || !slices.ContainsFunc(p.Scopes, func(s permissions.Scope) bool { return slices.Contains(withheldFromBrowsers, s) }) {
		return p
	}
	q := *p
	q.Scopes = slices.DeleteFunc(slices.Clone(p.Scopes), func(s permissions.Scope) bool { return slices.Contains(withheldFromBrowsers, s) })
	return &q
}

// limiter is one in-flight cap with a per-caller share of it.
type limiter struct {
	max, share int // 0: no cap
	mu         sync.Mutex
	n          int
	by         map[string]int
}

func newLimiter(max, share int) *limiter {
	if max > 0 && (share <= 0 || share > max) {
		share = max
	}
	return &limiter{max: max, share: share, by: map[string]int{}}
}

// acquire takes a slot for caller; it says "" on success, else why not
// ("busy": the cap is reached; "busy_caller": the caller's share is).
func (l *limiter) acquire(caller string) string {
	if l.max <= 0 {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.by[caller] >= l.share:
		return "busy_caller"
	case l.n >= l.max:
		return "busy"
	}
	l.n++
	l.by[caller]++
	return ""
}

func (l *limiter) release(caller string) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.by[caller]--; l.by[caller] <= 0 {
		delete(l.by, caller)
	}
}

// limiter returns the in-flight cap Wrap uses: the shared one, or a new one.
func (s *Security) limiter(policy *permissions.Policy) *limiter {
	if s.slots != nil {
		return s.slots
	}
	return newLimiter(s.MaxInFlight, s.perCaller(policy))
}

// perCaller is the effective MaxInFlightPerCaller.
func (s *Security) perCaller(policy *permissions.Policy) int {
	switch {
	case s.MaxInFlightPerCaller > 0:
		return s.MaxInFlightPerCaller
	case policy == nil || !policy.HasTokens():
		return s.MaxInFlight
	}
	return max(1, s.MaxInFlight/4)
}

// Realm is the realm of the WWW-Authenticate challenge.
const Realm = "zoho-mcp-proxy"

// httpError writes a small JSON body {"error": msg} with the status.
func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// isLoopbackHost reports whether a host or host:port (a Host header, an
// Origin's host, a listener's address) names loopback: "localhost" in any
// case, or a loopback IP, bracketed or not. It decides exactly as mcp-go's
// own (unexported) isLoopbackHost, behind its DNS-rebinding protection, and
// is written the same way, for the fast path must refuse what mcp-go would
// (rebinding); FuzzLoopbackHost compares the two. Brackets are trimmed
// only from what SplitHostPort rejects: a host it returns never contains
// one, so trimming it too (as Security once did) decides the same.
func isLoopbackHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(strings.TrimSuffix(s, "/"), v) {
			return true
		}
	}
	return false
}

// hostAllowed applies the Host rule.
func (s *Security) hostAllowed(host string) bool {
	if containsFold(s.AllowedHosts, host) {
		return true
	}
	if s.Loopback {
		return isLoopbackHost(host)
	}
	return len(s.AllowedHosts) == 0
}

// originAllowed applies the Origin rule to a present Origin header.
func (s *Security) originAllowed(origin string) bool {
	if containsFold(s.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false // includes "null"
	}
	return s.Loopback && isLoopbackHost(u.Host)
}

func (s *Security) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	if s.OnRefuse != nil {
		s.OnRefuse(reason)
	}
	if s.Logger != nil {
		s.Logger.Warn("http request refused", "status", status, "reason", reason, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	}
	httpError(w, status, msg)
}

// checkHostOrigin applies the Host and Origin rules, answering 403 and
// returning false on refusal.
func (s *Security) checkHostOrigin(w http.ResponseWriter, r *http.Request) bool {
	if !s.hostAllowed(r.Host) {
		s.refuse(w, r, http.StatusForbidden, "host", "Host header not allowed: connect through an allowed host name")
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" && !s.originAllowed(origin) {
		s.refuse(w, r, http.StatusForbidden, "origin", "Origin not allowed: add it to http.allowed_origins in the config file")
		return false
	}
	return true
}

// cors adds CORS headers for a (checked, allowed) Origin so browser-based
// clients can call the endpoint, and answers preflight requests, which carry
// no credentials, before the bearer check. It returns true when it answered.
func (s *Security) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate, Retry-After")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req) // the Origin is already allowlisted
	}
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// WrapOps returns next behind the Host and Origin checks only: for the
// operations endpoints (/healthz, the status code of /readyz) that load
// balancers reach without a token.
func (s *Security) WrapOps(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.checkHostOrigin(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// MonitorAllowed reports whether r may see operational detail (/metrics, the
// per-tier body of /readyz): always when the policy has no tokens (the
// listener is then loopback-only), else only with a bearer token whose
// profile has the monitor scope. It returns the HTTP status to refuse with
// (401 or 403) when not.
func (s *Security) MonitorAllowed(r *http.Request) (bool, int) {
	policy := s.Policy
	if policy == nil || !policy.HasTokens() {
		return true, 0
	}
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return false, http.StatusUnauthorized
	}
	p, ok := policy.ProfileForToken(token)
	switch {
	case !ok:
		return false, http.StatusUnauthorized
	case !p.Allows(permissions.ScopeMonitor):
		return false, http.StatusForbidden
	}
	return true, 0
}

// WrapMonitor returns next behind the Host and Origin checks and, when the
// policy has tokens, a bearer token whose profile has the monitor scope: for
// /metrics.
func (s *Security) WrapMonitor(next http.Handler) http.Handler {
	return s.WrapOps(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, status := s.MonitorAllowed(r)
		switch {
		case ok:
			next.ServeHTTP(w, r)
		case status == http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
			s.refuse(w, r, status, "auth", "metrics need a bearer token: send Authorization: Bearer <token> of a profile with the monitor scope")
		default:
			s.refuse(w, r, status, "forbidden", "metrics need a profile with the monitor scope: use a token of such a profile")
		}
	}))
}

// Wrap returns next behind the checks. Refusals: foreign Host or Origin → 403,
// body too large → 413, body too slow → 408, missing or unknown bearer → 401
// + WWW-Authenticate, server busy or the caller's share used up → 503 +
// Retry-After.
func (s *Security) Wrap(next http.Handler) http.Handler {
	limit := s.BodyLimit
	if limit <= 0 {
		limit = 1 << 20
	}
	bodyTimeout := s.BodyReadTimeout
	if bodyTimeout <= 0 {
		bodyTimeout = 10 * time.Second
	}
	policy := s.Policy
	if policy == nil {
		policy = permissions.Default()
	}
	slots := s.limiter(policy)
	refuse := s.refuse
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.checkHostOrigin(w, r) {
			return
		}
		if s.cors(w, r) {
			return
		}
		if r.ContentLength > limit {
			refuse(w, r, http.StatusRequestEntityTooLarge, "body", "request body larger than "+strconv.FormatInt(limit, 10)+" bytes")
			return
		}
		var profile *permissions.Profile
		caller := permissions.LocalCaller
		if policy.HasTokens() {
			token, ok := bearer(r.Header.Get("Authorization"))
			if ok {
				profile, ok = policy.ProfileForToken(token)
			}
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
				refuse(w, r, http.StatusUnauthorized, "auth", "missing or unknown bearer token: send Authorization: Bearer <token> with a token listed in the permissions file")
				return
			}
			caller = permissions.TokenCaller(token)
		} else {
			profile = policy.DefaultProfile()
		}
		switch why := slots.acquire(string(caller)); why {
		case "":
			defer slots.release(string(caller))
		case "busy_caller":
			w.Header().Set("Retry-After", "1")
			refuse(w, r, http.StatusServiceUnavailable, why, fmt.Sprintf("this caller already has %d requests and streams open, its share of the proxy's limit: close streams it does not use, or retry in a second", slots.share))
			return
		default:
			w.Header().Set("Retry-After", "1")
			refuse(w, r, http.StatusServiceUnavailable, why, "too many concurrent requests or sessions: retry in a second")
			return
		}
		rc := &request{Context: r.Context()}
		if r.Body != nil && r.Body != http.NoBody && r.Method == http.MethodPost {
			// Read the body here (bounded in size and time) so an oversized
			// chunked body is a 413, not a parse error from deeper down, and
			// a body trickled in (slowloris) cannot hold a slot for long.
			ctl := http.NewResponseController(w)
			_ = ctl.SetReadDeadline(time.Now().Add(bodyTimeout))
			b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			_ = r.Body.Close() // under the deadline: Close reads what is left
			switch {
			case err != nil && isTimeout(err):
				w.Header().Set("Connection", "close")
				refuse(w, r, http.StatusRequestTimeout, "body_timeout", "request body not received within "+bodyTimeout.String()+": send the whole body at once")
				return
			case err != nil:
				refuse(w, r, http.StatusBadRequest, "body", "could not read the request body")
				return
			case int64(len(b)) > limit:
				refuse(w, r, http.StatusRequestEntityTooLarge, "body", "request body larger than "+strconv.FormatInt(limit, 10)+" bytes")
				return
			}
			// The body is in: no read deadline for what follows (a long
			// call's response, the server noticing the client leave).
			_ = ctl.SetReadDeadline(time.Time{})
			rc.body, rc.read = postBody{b: b}, true
			rc.reader.Reset(b)
			r.Body = &rc.reader
			r.ContentLength = int64(len(b))
		}
		if origin := r.Header.Get("Origin"); origin != "" && !containsFold(s.AllowedOrigins, origin) {
			if p := forBrowser(profile); p != profile {
				profile = p
				rc.browser = origin
			}
		}
		next.ServeHTTP(w, r.WithContext(permissions.WithIdentity(rc, profile, caller)))
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	const p = "bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	t := strings.TrimSpace(h[len(p):])
	return t, t != ""
}
