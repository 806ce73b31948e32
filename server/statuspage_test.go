package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// pageMarker is what the fake status page serves; the real page is tested
// in package status and, wired, in package app.
const pageMarker = "STATUS-PAGE-AGGREGATES"

// fakePage stands in for status.Page: the page, its JSON and an event
// stream that sends a tick whenever tick receives and ends with its
// request's context, counting the streams that ended.
type fakePage struct {
	tick  chan struct{}
	ended chan struct{}
}

func newFakePage() *fakePage {
	return &fakePage{tick: make(chan struct{}), ended: make(chan struct{}, 8)}
}

func (p *fakePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathStatus:
		io.WriteString(w, "<!doctype html><p>"+pageMarker+"</p>")
	case PathStatusJSON:
		io.WriteString(w, `{"marker":"`+pageMarker+`"}`)
	case PathStatusEvents:
		defer func() { p.ended <- struct{}{} }()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, ": "+pageMarker+"\n\n")
		http.NewResponseController(w).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-p.tick:
				io.WriteString(w, "data: tick\n\n")
				http.NewResponseController(w).Flush()
			}
		}
	default:
		http.NotFound(w, r)
	}
}

const nomonToken = "nomon-token-Qp7"

// pagePolicy has a monitor profile (reader) and one without (nomon).
func pagePolicy(t *testing.T, tokens bool, defaultProfile string) *permissions.Policy {
	t.Helper()
	doc := fmt.Sprintf(`
default_profile: %s
profiles:
  reader: { scopes: [read, monitor] }
  nomon: { scopes: [read, write] }
`, defaultProfile)
	if tokens {
		doc += fmt.Sprintf(`tokens:
  - { profile: reader, sha256: %q }
  - { profile: nomon, sha256: %q }
`, sum(readerToken), sum(nomonToken))
	}
	p, err := permissions.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type pageReq struct {
	method, path string
	hdr          map[string]string
	form         url.Values
}

func (q pageReq) do(t *testing.T, base string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if q.form != nil {
		body = strings.NewReader(q.form.Encode())
	}
	req, err := http.NewRequest(q.method, base+q.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if q.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range q.hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16)) // an event stream: its first event
	return resp, string(b)
}

// TestStatusPageNeedsMonitor: with bearer tokens the page (and its JSON and
// stream) needs a token of a profile with the monitor scope, or the cookie
// of a sign-in with one; browsers get a sign-in form that shows nothing.
// Without tokens the default profile decides.
func TestStatusPageNeedsMonitor(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	page := newFakePage()
	ts := startHTTP(t, pagePolicy(t, true, "reader"), func(o *HTTPOptions) { o.StatusPage = page; o.Now = clk.Now })
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	for _, tc := range []struct {
		name   string
		q      pageReq
		status int
		want   string
	}{
		{"page, no credentials: the sign-in form", pageReq{method: "GET", path: "/"}, 401, `<form method="post" action="status/login">`},
		{"JSON, no credentials", pageReq{method: "GET", path: PathStatusJSON}, 401, "sign in at /status/login"},
		{"stream, no credentials", pageReq{method: "GET", path: PathStatusEvents}, 401, "Authorization: Bearer"},
		{"page, unknown token", pageReq{method: "GET", path: "/", hdr: bearer("nope")}, 401, "<form"},
		{"page, token without monitor", pageReq{method: "GET", path: "/", hdr: bearer(nomonToken)}, 403, "<form"},
		{"JSON, token without monitor", pageReq{method: "GET", path: PathStatusJSON, hdr: bearer(nomonToken)}, 403, "monitor scope"},
		{"page, monitor token", pageReq{method: "GET", path: "/", hdr: bearer(readerToken)}, 200, pageMarker},
		{"JSON, monitor token", pageReq{method: "GET", path: PathStatusJSON, hdr: bearer(readerToken)}, 200, pageMarker},
		{"forged cookie", pageReq{method: "GET", path: PathStatusJSON, hdr: map[string]string{"Cookie": StatusCookie + "=99999999999.0123456789abcdef0123456789abcdef"}}, 401, "bearer token"},
		{"foreign Host", pageReq{method: "GET", path: "/", hdr: map[string]string{"Host": "evil.example:80", "Authorization": "Bearer " + readerToken}}, 403, "Host header"},
		{"cross-site Origin", pageReq{method: "GET", path: PathStatusJSON, hdr: map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer " + readerToken}}, 403, "Origin not allowed"},
		{"sign-in form", pageReq{method: "GET", path: PathStatusSignIn}, 200, `<form method="post" action="login">`},
		{"sign in without a token", pageReq{method: "POST", path: PathStatusSignIn, form: url.Values{}}, 401, "Enter a bearer token"},
		{"sign in, unknown token", pageReq{method: "POST", path: PathStatusSignIn, form: url.Values{"token": {"nope"}}}, 401, "not in the permissions file"},
		{"sign in, token without monitor", pageReq{method: "POST", path: PathStatusSignIn, form: url.Values{"token": {nomonToken}}}, 403, "lacks the monitor scope"},
		{"sign in, oversized form", pageReq{method: "POST", path: PathStatusSignIn, form: url.Values{"token": {strings.Repeat("x", 5000)}}}, 400, "at most 4096 bytes"},
		{"POST / is no MCP endpoint", pageReq{method: "POST", path: "/", hdr: bearer(readerToken)}, 404, "MCP clients use /mcp"},
		{"other paths", pageReq{method: "GET", path: "/nope", hdr: bearer(readerToken)}, 404, "MCP clients use /mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.q.do(t, ts.URL)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s; want %d with %q", resp.StatusCode, clip(body), tc.status, tc.want)
			}
			if resp.StatusCode != 200 && strings.Contains(body, pageMarker) {
				t.Errorf("a refusal shows the page: %s", clip(body))
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("Set-Cookie %q without a sign-in", resp.Header.Get("Set-Cookie"))
			}
			if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") && tc.q.method == "GET" {
				t.Errorf("401 without a Bearer challenge")
			}
			if strings.Contains(body, "<form") && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self'") {
				t.Errorf("the sign-in form has CSP %q", resp.Header.Get("Content-Security-Policy"))
			}
			// Under no-referrer a browser posts the form with "Origin: null",
			// which the Origin rule refuses (seen in Chromium).
			if strings.Contains(body, "<form") && resp.Header.Get("Referrer-Policy") != "same-origin" {
				t.Errorf("the sign-in form has Referrer-Policy %q; want same-origin", resp.Header.Get("Referrer-Policy"))
			}
		})
	}

	t.Run("sign in with a monitor token: the cookie opens the page, the JSON and the stream, for an hour", func(t *testing.T) {
		// A browser posts the form with its own origin.
		resp, body := pageReq{method: "POST", path: PathStatusSignIn, form: url.Values{"token": {readerToken}},
			hdr: map[string]string{"Origin": ts.URL}}.do(t, ts.URL)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "../" {
			t.Fatalf("sign-in = %d Location %q %s; want 303 to ../ (the page)", resp.StatusCode, resp.Header.Get("Location"), clip(body))
		}
		cookies := resp.Cookies()
		if len(cookies) != 1 || cookies[0].Name != StatusCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode ||
			cookies[0].Path != "/" || cookies[0].MaxAge != 3600 {
			t.Fatalf("cookies = %+v; want one HttpOnly, SameSite=Lax cookie for / lasting an hour", cookies)
		}
		c := cookies[0]
		if strings.Contains(c.Value, readerToken) || strings.Contains(c.Value, sum(readerToken)) {
			t.Errorf("the cookie carries the token: %q", c.Value)
		}
		withCookie := map[string]string{"Cookie": c.Name + "=" + c.Value}
		// Each answer's first line carries the marker (the stream's is its
		// opening comment); the client then cuts the stream.
		for _, p := range []string{"/", PathStatusJSON, PathStatusEvents} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+p, nil)
			req.Header.Set("Cookie", c.Name+"="+c.Value)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			resp.Body.Close()
			cancel()
			if resp.StatusCode != 200 || !strings.Contains(line, pageMarker) {
				t.Errorf("GET %s with the cookie = %d %q; want the page", p, resp.StatusCode, line)
			}
		}
		// The cookie is no bearer token: the MCP endpoint and /metrics still want one.
		if resp, _ := (pageReq{method: "GET", path: PathMetrics, hdr: withCookie}).do(t, ts.URL); resp.StatusCode != 401 {
			t.Errorf("/metrics with the page's cookie = %d; want 401", resp.StatusCode)
		}
		if resp, _ := (pageReq{method: "POST", path: PathMCP, hdr: withCookie, form: url.Values{}}).do(t, ts.URL); resp.StatusCode != 401 {
			t.Errorf("/mcp with the page's cookie = %d; want 401", resp.StatusCode)
		}
		// A tampered expiry breaks the signature.
		exp, mac, _ := strings.Cut(c.Value, ".")
		later, _ := strconv.ParseInt(exp, 10, 64)
		forged := fmt.Sprintf("%s=%d.%s", c.Name, later+86400, mac)
		if resp, _ := (pageReq{method: "GET", path: PathStatusJSON, hdr: map[string]string{"Cookie": forged}}).do(t, ts.URL); resp.StatusCode != 401 {
			t.Errorf("a cookie with another expiry = %d; want 401", resp.StatusCode)
		}
		clk.Add(StatusSignInTTL - time.Second)
		if resp, _ := (pageReq{method: "GET", path: PathStatusJSON, hdr: withCookie}).do(t, ts.URL); resp.StatusCode != 200 {
			t.Errorf("the cookie a second before it expires = %d; want 200", resp.StatusCode)
		}
		clk.Add(time.Second)
		if resp, _ := (pageReq{method: "GET", path: PathStatusJSON, hdr: withCookie}).do(t, ts.URL); resp.StatusCode != 401 {
			t.Errorf("an expired cookie = %d; want 401", resp.StatusCode)
		}
		// Another process (a restart, another replica) has another key.
		other := startHTTP(t, pagePolicy(t, true, "reader"), func(o *HTTPOptions) { o.StatusPage = page; o.Now = clk.Now })
		clk.Add(-time.Minute)
		if resp, _ := (pageReq{method: "GET", path: PathStatusJSON, hdr: withCookie}).do(t, other.URL); resp.StatusCode != 401 {
			t.Errorf("another process's cookie = %d; want 401", resp.StatusCode)
		}
	})
}

// TestStatusPageWithoutTokens: on a loopback listener without tokens the
// page is open to the default profile if it has the monitor scope, and the
// sign-in form has nothing to do.
func TestStatusPageWithoutTokens(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		profile string
		status  int
		want    string
	}{
		{"reader", 200, pageMarker},
		{"nomon", 403, "add monitor to it"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			ts := startHTTP(t, pagePolicy(t, false, tc.profile), func(o *HTTPOptions) { o.StatusPage = newFakePage() })
			for _, p := range []string{"/", PathStatusJSON} {
				if resp, body := (pageReq{method: "GET", path: p}).do(t, ts.URL); resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
					t.Errorf("GET %s = %d %s; want %d with %q", p, resp.StatusCode, clip(body), tc.status, tc.want)
				}
			}
			resp, _ := pageReq{method: "POST", path: PathStatusSignIn, form: url.Values{"token": {"x"}}}.do(t, ts.URL)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("sign-in without tokens = %d, Set-Cookie %q; want 303 to the page and no cookie", resp.StatusCode, resp.Header.Get("Set-Cookie"))
			}
			if resp, body := (pageReq{method: "GET", path: "/", hdr: map[string]string{"Host": "attacker.example"}}).do(t, ts.URL); resp.StatusCode != 403 {
				t.Errorf("a foreign Host (DNS rebinding) = %d %s; want 403", resp.StatusCode, clip(body))
			}
		})
	}
	t.Run("no page", func(t *testing.T) {
		ts := startHTTP(t, permissions.Default())
		if st, body := get(t, ts.URL+"/"); st != 404 || !strings.Contains(body, "MCP clients use /mcp") {
			t.Errorf("GET / without a page = %d %s; want the 404 as before", st, clip(body))
		}
	})
}

// TestStatusPageSameOriginOnAnyHost: behind a public host name the page's
// own origin may post the sign-in form (and load the page); other origins
// may not.
func TestStatusPageSameOriginOnAnyHost(t *testing.T) {
	t.Parallel()
	m, err := NewMCP(Options{Tools: fakeTools(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHTTP(HTTPOptions{MCP: m, Security: Security{Policy: pagePolicy(t, true, "reader")}, StatusPage: newFakePage()})
	srv := httptest.NewServer(h.Handler(false))
	defer srv.Close()
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"https://status.example.com", http.StatusSeeOther},
		{"https://evil.example.com", http.StatusForbidden},
		{"null", http.StatusForbidden},
	} {
		resp, body := pageReq{method: "POST", path: PathStatusSignIn, form: url.Values{"token": {readerToken}},
			hdr: map[string]string{"Host": "status.example.com", "Origin": tc.origin}}.do(t, srv.URL)
		if resp.StatusCode != tc.status {
			t.Errorf("sign-in from %s to status.example.com = %d %s; want %d", tc.origin, resp.StatusCode, clip(body), tc.status)
		}
	}
}

// TestStatusPageStreams: the server's ReadTimeout does not cut a page's
// event stream, and shutting the transport down ends the streams at once
// rather than after ShutdownGrace.
func TestStatusPageStreams(t *testing.T) {
	page := newFakePage()
	ts := startHTTP(t, permissions.Default(), func(o *HTTPOptions) {
		o.StatusPage = page
		o.ReadTimeout = 150 * time.Millisecond
		o.ShutdownGrace = 10 * time.Minute // a stream that held the shutdown up would fail the test's deadline
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+PathStatusEvents, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, pageMarker) {
		t.Fatalf("stream: %q %v", line, err)
	}
	// Real time must pass: ReadTimeout is a deadline on the socket (see
	// TestReadTimeoutDoesNotCutLongCalls).
	time.Sleep(400 * time.Millisecond) // well past ReadTimeout
	page.tick <- struct{}{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream was cut after ReadTimeout: %v", err)
		}
		if strings.Contains(line, "tick") {
			break
		}
	}
	stopped := make(chan struct{})
	go func() { ts.Stop(t); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("Serve did not return: the page's stream holds the shutdown up")
	}
	select {
	case <-page.ended:
	default:
		t.Error("the stream's handler had not returned when Serve did")
	}
	if _, err := io.Copy(io.Discard, r); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Logf("stream ended with %v", err)
	}
}

// TestActiveSessions counts what the status page shows as sessions: legacy
// Streamable HTTP sessions (with or without a GET stream) and legacy SSE
// sessions, each once.
func TestActiveSessions(t *testing.T) {
	ts := startHTTP(t, permissions.Default())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := &rawClient{t: t, base: ts.URL, hc: &http.Client{}}
	if n := ts.H.ActiveSessions(); n != 0 {
		t.Fatalf("ActiveSessions = %d before any session", n)
	}
	id := c.initialize(ctx, nil)
	sctx, closeStreams := context.WithCancel(ctx)
	defer closeStreams()
	resp, _ := c.sseEvents(sctx, PathMCP, map[string]string{"Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25"})
	defer resp.Body.Close()
	c.openSSESession(sctx, nil)
	c.initialize(ctx, nil)
	if n := ts.H.ActiveSessions(); n != 3 {
		sessions, streams := ts.H.Sessions()
		t.Errorf("ActiveSessions = %d (table: %d sessions, %d streams); want 3: two Streamable HTTP (one with a GET stream) and one SSE", n, sessions, streams)
	}
	closeStreams()
	deadline := time.Now().Add(10 * time.Second)
	for ts.H.ActiveSessions() != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := ts.H.ActiveSessions(); n != 2 {
		t.Errorf("ActiveSessions = %d after the streams closed; want 2: the SSE session ends with its stream", n)
	}
}
