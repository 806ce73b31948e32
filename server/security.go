package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// Security configures the HTTP front door of the MCP endpoints. The order of
// the checks, outermost first, is: Host, Origin, declared body size, bearer
// token, in-flight cap, actual body size; then the caller's profile goes into
// the request context. Cheap header checks come before anything that holds a
// slot or reads a body, so an unauthenticated client cannot exhaust either.
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
	// header (not from a browser) is always accepted.
	AllowedOrigins []string
	// BodyLimit caps a request body in bytes; larger → 413. Zero means 1 MiB.
	BodyLimit int64
	// MaxInFlight caps concurrent MCP requests, open SSE streams included;
	// beyond → 503 with Retry-After. Zero means no cap.
	MaxInFlight int
	// Policy authenticates callers: when it has tokens, a valid bearer token
	// is required and picks the profile; otherwise every caller gets its
	// default profile. Nil means permissions.Default().
	Policy *permissions.Policy
	// Logger receives one line per refused request (never the token). Nil
	// means none.
	Logger *slog.Logger
	// OnRefuse is called with the reason (host, origin, body, auth, busy) of
	// every refused request, e.g. to count it. Nil means nothing is called.
	OnRefuse func(reason string)
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

// isLoopbackHost reports whether a Host header value (host or host:port)
// names a loopback host.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
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
// operations endpoints (/healthz, /readyz, /metrics) that load balancers and
// scrapers reach without a token.
func (s *Security) WrapOps(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.checkHostOrigin(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// Wrap returns next behind the checks. Refusals: foreign Host or Origin → 403,
// body too large → 413, missing or unknown bearer → 401 + WWW-Authenticate,
// server busy → 503 + Retry-After.
func (s *Security) Wrap(next http.Handler) http.Handler {
	limit := s.BodyLimit
	if limit <= 0 {
		limit = 1 << 20
	}
	policy := s.Policy
	if policy == nil {
		policy = permissions.Default()
	}
	var slots chan struct{}
	if s.MaxInFlight > 0 {
		slots = make(chan struct{}, s.MaxInFlight)
	}
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
		} else {
			profile = policy.DefaultProfile()
		}
		if slots != nil {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				w.Header().Set("Retry-After", "1")
				refuse(w, r, http.StatusServiceUnavailable, "busy", "too many concurrent requests or sessions: retry in a second")
				return
			}
		}
		if r.Body != nil && r.Body != http.NoBody && r.Method == http.MethodPost {
			// Read the body here (bounded) so an oversized chunked body is a
			// 413, not a parse error from deeper down.
			b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			_ = r.Body.Close()
			if err != nil {
				refuse(w, r, http.StatusBadRequest, "body", "could not read the request body")
				return
			}
			if int64(len(b)) > limit {
				refuse(w, r, http.StatusRequestEntityTooLarge, "body", "request body larger than "+strconv.FormatInt(limit, 10)+" bytes")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
		}
		next.ServeHTTP(w, r.WithContext(permissions.WithProfile(r.Context(), profile)))
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
