package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// The status page's paths (HTTPOptions.StatusPage serves the first three;
// the transport answers the sign-in itself).
const (
	PathStatus       = "/"              // the HTML page
	PathStatusJSON   = "/status.json"   // the same data as JSON
	PathStatusEvents = "/status/events" // the page's live updates (server-sent events)
	PathStatusSignIn = "/status/login"  // GET: the sign-in form; POST: sign in with a token
)

// StatusCookie is the cookie a status page sign-in sets, and StatusSignInTTL
// how long it is valid.
const (
	StatusCookie    = "zoho_mcp_proxy_status"
	StatusSignInTTL = time.Hour
)

// statusGate decides who may see the status page: the page shows aggregates
// the monitor scope grants (tier health and metrics, calls per tool), so it
// needs a profile with that scope.
//
//   - Without bearer tokens (a loopback-only listener), the caller's profile
//     is the policy's default profile: the page is open when it has the
//     monitor scope, refused with 403 otherwise.
//   - With tokens, a request needs either "Authorization: Bearer <token>" of
//     a profile with the monitor scope (scripts, reverse proxies that add
//     the header) or the cookie a browser gets by signing in with such a
//     token at PathStatusSignIn. Browsers cannot add a header to a page load
//     or an EventSource, so the page answers them with a sign-in form; the
//     cookie it sets holds no token, only its own expiry signed with a key
//     that lives in the process (so a restart signs everyone out, and
//     behind a load balancer a cookie is good on the replica that made it),
//     and it lasts StatusSignInTTL.
//
// The Host and Origin rules of every endpoint apply first; a page's own
// origin is accepted too (a sign-in form posts with it).
type statusGate struct {
	sec    Security
	policy *permissions.Policy
	page   http.Handler
	key    [32]byte
	now    func() time.Time
	// streams ends the page's event streams when the transport shuts down.
	streams context.Context
}

func newStatusGate(sec Security, page http.Handler, now func() time.Time, streams context.Context) *statusGate {
	g := &statusGate{sec: sec, policy: sec.Policy, page: page, now: now, streams: streams}
	if g.policy == nil {
		g.policy = permissions.Default()
	}
	if _, err := rand.Read(g.key[:]); err != nil {
		panic("server: no randomness for the status page's cookie key: " + err.Error())
	}
	return g
}

// mount registers the page's routes on mux. GET covers HEAD; other methods
// on / fall through to the mux's catch-all (which tells MCP clients where
// to go).
func (g *statusGate) mount(mux *http.ServeMux) {
	page := g.checkHostOrigin(g.authorize(g.untilShutdown(g.page)))
	mux.Handle("GET /{$}", page)
	mux.Handle("GET "+PathStatusJSON, page)
	mux.Handle("GET /status/", page) // the event stream, and the page's own 404s
	signIn := g.checkHostOrigin(http.HandlerFunc(g.signIn))
	mux.Handle("GET "+PathStatusSignIn, signIn)
	mux.Handle("POST "+PathStatusSignIn, signIn)
}

// checkHostOrigin applies the transport's Host and Origin rules, accepting
// besides the page's own origin.
func (g *statusGate) checkHostOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.sec.hostAllowed(r.Host) {
			g.sec.refuse(w, r, http.StatusForbidden, "host", "Host header not allowed: connect through an allowed host name")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !g.sec.originAllowed(o) && !sameOrigin(o, r.Host) {
			g.sec.refuse(w, r, http.StatusForbidden, "origin", "Origin not allowed: add it to http.allowed_origins in the config file")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether origin names the host the request was sent to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.EqualFold(u.Host, host)
}

// allowed says whether r may see the page, and if not the status to refuse
// with: 401 (no or unknown credentials) or 403 (a profile without the
// monitor scope).
func (g *statusGate) allowed(r *http.Request) (bool, int) {
	if !g.policy.HasTokens() {
		if g.policy.DefaultProfile().Allows(permissions.ScopeMonitor) {
			return true, 0
		}
		return false, http.StatusForbidden
	}
	if token, ok := bearer(r.Header.Get("Authorization")); ok {
		return g.monitorToken(token)
	}
	if c, err := r.Cookie(StatusCookie); err == nil && g.validCookie(c.Value) {
		return true, 0
	}
	return false, http.StatusUnauthorized
}

// monitorToken checks a bearer token: known, and of a profile with the
// monitor scope.
func (g *statusGate) monitorToken(token string) (bool, int) {
	p, ok := g.policy.ProfileForToken(token)
	switch {
	case !ok:
		return false, http.StatusUnauthorized
	case !p.Allows(permissions.ScopeMonitor):
		return false, http.StatusForbidden
	}
	return true, 0
}

func (g *statusGate) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, status := g.allowed(r)
		switch {
		case ok:
			next.ServeHTTP(w, r)
		case !g.policy.HasTokens():
			g.sec.refuse(w, r, status, "forbidden", "the status page needs the monitor scope, which the default profile of the permissions file lacks: add monitor to it")
		case r.URL.Path == PathStatus && r.Method == http.MethodGet:
			// A browser: the sign-in form, which reveals nothing.
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
			}
			g.refuseWith(r, status)
			g.form(w, status, PathStatusSignIn[1:], "")
		case status == http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
			g.sec.refuse(w, r, status, "auth", "the status page needs a bearer token of a profile with the monitor scope: send Authorization: Bearer <token>, or sign in at "+PathStatusSignIn)
		default:
			g.sec.refuse(w, r, status, "forbidden", "the status page needs a profile with the monitor scope: use a token of such a profile")
		}
	})
}

// refuseWith counts and logs a refusal answered with a page rather than by
// Security.refuse.
func (g *statusGate) refuseWith(r *http.Request, status int) {
	reason := "auth"
	if status == http.StatusForbidden {
		reason = "forbidden"
	}
	if g.sec.OnRefuse != nil {
		g.sec.OnRefuse(reason)
	}
	if g.sec.Logger != nil {
		g.sec.Logger.Warn("http request refused", "status", status, "reason", reason, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	}
}

// untilShutdown ends a page request (its event stream) when the transport
// shuts down, so that streams do not hold the shutdown up.
func (g *statusGate) untilShutdown(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(g.streams, cancel)()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// signInLimit caps the sign-in form's body: a token, with room to spare.
const signInLimit = 4096

// signIn answers PathStatusSignIn: GET shows the form; POST takes a token
// from the form (or the Authorization header) and, when it is of a profile
// with the monitor scope, sets the cookie and sends the browser to the page.
// Without bearer tokens there is nothing to sign in to: it sends the
// browser to the page.
func (g *statusGate) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	toPage := func() {
		// Relative, so that it holds behind a reverse proxy's path prefix.
		w.Header().Set("Location", "../")
		w.WriteHeader(http.StatusSeeOther)
	}
	switch {
	case !g.policy.HasTokens():
		toPage()
		return
	case r.Method != http.MethodPost:
		g.form(w, http.StatusOK, "login", "")
		return
	}
	rc := http.NewResponseController(w)
	bodyTimeout := g.sec.BodyReadTimeout
	if bodyTimeout <= 0 {
		bodyTimeout = 10 * time.Second
	}
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, signInLimit)
	err := r.ParseForm()
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		g.sec.refuse(w, r, http.StatusBadRequest, "body", "could not read the sign-in form: send token=<bearer token> as application/x-www-form-urlencoded, at most "+strconv.Itoa(signInLimit)+" bytes, at once")
		return
	}
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		token = strings.TrimSpace(r.PostForm.Get("token"))
	}
	if token == "" {
		g.refuseWith(r, http.StatusUnauthorized)
		g.form(w, http.StatusUnauthorized, "login", "Enter a bearer token.")
		return
	}
	switch _, status := g.monitorToken(token); status {
	case 0:
	case http.StatusForbidden:
		g.refuseWith(r, status)
		g.form(w, status, "login", "That token's profile lacks the monitor scope, which the status page needs.")
		return
	default:
		g.refuseWith(r, status)
		g.form(w, status, "login", "That token is not in the permissions file.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: StatusCookie, Value: g.cookie(g.now().Add(StatusSignInTTL)), Path: "/",
		MaxAge: int(StatusSignInTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	toPage()
}

// cookie returns a cookie value valid until exp: the expiry and its MAC.
func (g *statusGate) cookie(exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + g.mac(e)
}

func (g *statusGate) mac(exp string) string {
	m := hmac.New(sha256.New, g.key[:])
	m.Write([]byte("zoho-mcp-proxy status page sign-in\x00"))
	m.Write([]byte(exp))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// validCookie reports whether v is a cookie this process made that has not
// expired.
func (g *statusGate) validCookie(v string) bool {
	e, mac, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(g.mac(e))) {
		return false
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	return err == nil && g.now().Unix() < exp
}

// form writes the sign-in form with status; action is where it posts,
// relative to the page that shows it.
func (g *statusGate) form(w http.ResponseWriter, status int, action, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// Not no-referrer: under it a browser posts the form with "Origin: null",
	// which the Origin rule refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", signInCSP)
	w.WriteHeader(status)
	_ = signInPage.Execute(w, map[string]any{"Action": action, "Error": msg,
		"TTL": strings.TrimSuffix(strings.TrimSuffix(StatusSignInTTL.String(), "0s"), "0m")})
}

const signInStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:12vh auto;padding:0 1rem}` +
	`input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;margin:.25rem 0 1rem}` +
	`button{font:inherit;padding:.45rem 1.2rem}.err{color:#b42318;font-weight:600}`

// signInCSP allows the form's own stylesheet (by hash) and posting to its
// own origin, nothing else.
var signInCSP = func() string {
	sum := sha256.Sum256([]byte(signInStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>zoho-mcp-proxy · status · sign in</title>
<style>` + signInStyle + `</style>
</head>
<body>
<main>
<h1>zoho-mcp-proxy status</h1>
<p>This proxy's callers authenticate with bearer tokens. Sign in with a token whose profile has the <code>monitor</code> scope; this browser stays signed in for {{.TTL}}.</p>
{{if .Error}}<p class="err" id="signin-error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<label for="token">Bearer token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`))
