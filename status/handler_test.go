package status

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// get serves one request to p and returns the recorded response.
func get(p http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

// parse parses an HTML document or fails the test.
func parse(t *testing.T, b []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// find returns the elements under n for which match is true, in document
// order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func byAttr(key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, ok := attr(n, key); return ok && v == val }
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestPageHeadersAndCSP(t *testing.T) {
	p, _, clk := newTestPage(t, time.Hour, time.Minute)
	step(p, clk)
	w := get(p, http.MethodGet, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("GET / = %d; want 200", w.Code)
	}
	h := w.Result().Header
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	policy := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(policy, d) {
			t.Errorf("CSP %q lacks %q", policy, d)
		}
	}
	if strings.Contains(policy, "unsafe-inline") || strings.Contains(policy, "unsafe-eval") {
		t.Errorf("CSP %q allows unsafe-inline or unsafe-eval", policy)
	}
	// Every inline style and script must be allowed by its hash, and
	// nothing may need 'unsafe-inline': no style or event attributes.
	doc := parse(t, w.Body.Bytes())
	for _, tag := range []string{"style", "script"} {
		els := find(doc, byTag(tag))
		if len(els) != 1 {
			t.Fatalf("%d <%s> elements; want 1", len(els), tag)
		}
		body := els[0].FirstChild.Data
		sum := sha256.Sum256([]byte(body))
		if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(policy, want) {
			t.Errorf("CSP %q does not allow the inline <%s> (%s)", policy, tag, want)
		}
	}
	for c := range doc.Descendants() {
		for _, a := range c.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=…>: CSP forbids inline styles and handlers", c.Data, a.Key)
			}
			if (a.Key == "src" || a.Key == "href") && a.Val != "" {
				t.Errorf("<%s %s=%q>: the page must load nothing", c.Data, a.Key, a.Val)
			}
		}
	}
}

func TestPageDOM(t *testing.T) {
	p, src, clk := newTestPage(t, time.Hour, time.Minute)
	src.do(func(s *Snapshot) {
		s.Sessions = 7
		rest := &s.Tiers[2]
		rest.Configured = false
	})
	step(p, clk)
	src.calls("MCP", 10, 10, 2*time.Second)
	src.setBreaker("MCP", Open, clk.Now(), "5 consecutive failures (last: unavailable)")
	src.calls("BULK", 10, 0, 200*time.Millisecond)
	src.failover("MCP", "BULK", "unavailable", 10)
	src.tool("get_account", "ok", 9)
	src.tool("get_account", "tool_error", 1)
	src.credits("BULK", 4321)
	step(p, clk)

	doc := parse(t, get(p, http.MethodGet, "/").Body.Bytes())
	tiers := find(doc, func(n *html.Node) bool { _, ok := attr(n, "data-tier"); return ok })
	var got []string
	for _, n := range tiers {
		name, _ := attr(n, "data-tier")
		st, _ := attr(n, "data-breaker-state")
		cfg, _ := attr(n, "data-configured")
		got = append(got, name+"="+st+"/"+cfg)
	}
	if want := "MCP=open/true BULK=closed/true REST=closed/false"; strings.Join(got, " ") != want {
		t.Errorf("tiers = %v; want %s", got, want)
	}
	mcp := tiers[0]
	if s := find(mcp, byAttr("data-stat", "breaker")); len(s) != 1 || text(s[0]) != "breaker open" {
		t.Errorf("MCP badge = %v; want the text \"breaker open\"", s)
	}
	if s := find(mcp, byAttr("data-stat", "success-rate")); len(s) != 1 || text(s[0]) != "0%" {
		t.Errorf("MCP success rate cell = %q; want 0%%", text(s[0]))
	}
	if s := find(mcp, byAttr("data-transition-to", "open")); len(s) != 1 || !strings.Contains(text(s[0]), "5 consecutive failures") {
		t.Errorf("MCP transitions = %v; want one to open with its reason", s)
	}
	if s := find(tiers[2], byAttr("data-stat", "breaker")); len(s) != 1 || text(s[0]) != "not configured" {
		t.Errorf("REST badge = %q; want \"not configured\"", text(s[0]))
	}
	if s := find(doc, byAttr("data-level", LevelDegraded)); len(s) != 1 {
		t.Errorf("no overview with data-level=degraded")
	}
	if s := find(doc, byAttr("data-stat", "sessions")); len(s) != 1 || text(s[0]) != "7" {
		t.Errorf("sessions = %v; want 7", s)
	}
	if s := find(doc, byAttr("data-stat", "credits")); len(s) != 1 || text(s[0]) != "4,321" {
		t.Errorf("credits = %q; want 4,321", text(s[0]))
	}
	if s := find(doc, byAttr("data-failover-from", "MCP")); len(s) != 1 || !strings.Contains(text(s[0]), "unavailable") {
		t.Errorf("failover rows = %v; want MCP → BULK unavailable", s)
	}
	if s := find(doc, byAttr("data-tool", "get_account")); len(s) != 1 || len(find(s[0], byAttr("data-outcome", "tool_error"))) != 1 {
		t.Errorf("tool rows = %v; want get_account with a tool_error outcome", s)
	}

	// Every chart is an image with a title and a description that name what
	// it shows.
	svgs := find(doc, byTag("svg"))
	if len(svgs) < 3*2+3 {
		t.Fatalf("%d charts; want two per tier, the timeline, credits and sessions", len(svgs))
	}
	for _, s := range svgs {
		role, _ := attr(s, "role")
		ids, _ := attr(s, "aria-labelledby")
		if role != "img" || len(strings.Fields(ids)) != 2 {
			t.Errorf("<svg role=%q aria-labelledby=%q>; want role img labelled by a title and a description", role, ids)
			continue
		}
		for _, id := range strings.Fields(ids) {
			el := find(doc, byAttr("id", id))
			if len(el) != 1 || text(el[0]) == "" {
				t.Errorf("chart label #%s: found %d, want one with text", id, len(el))
			}
		}
	}
	if d := find(doc, byAttr("id", "timeline-d")); len(d) != 1 || !strings.Contains(text(d[0]), "MCP: open now, 1 change") {
		t.Errorf("timeline description = %q; want MCP open now with 1 change", text(d[0]))
	}
	// The page refreshes itself without JavaScript.
	ns := find(doc, byTag("noscript"))
	if len(ns) != 1 || !strings.Contains(ns[0].FirstChild.Data, `http-equiv="refresh"`) {
		t.Errorf("no <noscript> refresh in the page")
	}
}

func TestPageEscapesWhatTheSourceSays(t *testing.T) {
	p, src, clk := newTestPage(t, time.Hour, time.Minute)
	step(p, clk)
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	src.tool(evil, evil, 1)
	src.setBreaker("MCP", Open, clk.Now(), evil)
	src.failover("MCP", "BULK", evil, 1)
	step(p, clk)
	doc := parse(t, get(p, http.MethodGet, "/").Body.Bytes())
	if n := len(find(doc, byTag("script"))); n != 1 {
		t.Errorf("%d <script> elements; want only the page's own", n)
	}
	if n := len(find(doc, byTag("img"))); n != 0 {
		t.Errorf("%d <img> elements; want none", n)
	}
}

func TestGoldenMain(t *testing.T) {
	p, src, clk := newTestPage(t, 2*time.Minute, 30*time.Second)
	step(p, clk)
	src.calls("MCP", 4, 0, 80*time.Millisecond)
	src.tool("get_account", "ok", 4)
	step(p, clk)
	src.calls("MCP", 5, 5, 30*time.Second)
	src.setBreaker("MCP", Open, clk.Now().Add(-time.Second), "5 consecutive failures (last: unavailable)")
	src.calls("BULK", 5, 0, 300*time.Millisecond)
	src.failover("MCP", "BULK", "unavailable", 5)
	src.tool("get_account", "ok", 5)
	src.credits("BULK", 9800)
	src.do(func(s *Snapshot) { s.Sessions = 2 })
	step(p, clk)
	got := p.cur.Load().main
	path := filepath.Join("testdata", "main.golden.html")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./status -run TestGoldenMain -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the rendered page differs from %s; if the change is meant, rerun with -update and review the diff", path)
	}
}

func TestJSON(t *testing.T) {
	p, src, clk := newTestPage(t, time.Hour, time.Minute)
	step(p, clk)
	src.calls("BULK", 3, 1, 40*time.Millisecond)
	step(p, clk)
	w := get(p, http.MethodGet, PathJSON)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q; want application/json, no-store", ct, w.Header().Get("Cache-Control"))
	}
	var v View
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Samples != 2 || len(v.Tiers) != 3 || v.Tiers[1].Requests != 3 || v.Tiers[1].Failures != 1 {
		t.Errorf("view = %d samples, tiers %+v; want 2 samples and BULK with 3 calls, 1 failed", v.Samples, v.Tiers)
	}
}

func TestPathsAndMethods(t *testing.T) {
	p, _, _ := newTestPage(t, time.Hour, time.Minute)
	for _, tc := range []struct {
		method, target string
		code           int
	}{
		{http.MethodGet, "/", 200},
		{http.MethodHead, "/", 200},
		{http.MethodGet, "/status.json", 200},
		{http.MethodGet, "/index.html", 404},
		{http.MethodGet, "/mcp", 404},
		{http.MethodPost, "/", 405},
		{http.MethodDelete, "/status.json", 405},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			w := get(p, tc.method, tc.target)
			if w.Code != tc.code {
				t.Errorf("%s %s = %d; want %d", tc.method, tc.target, w.Code, tc.code)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", w.Header().Get("Cache-Control"))
			}
			if tc.method == http.MethodHead && w.Body.Len() != 0 {
				t.Errorf("HEAD sent a body of %d bytes", w.Body.Len())
			}
		})
	}
	if w := get(p, http.MethodGet, "/"); !strings.Contains(w.Body.String(), "Waiting for the first sample.") {
		t.Errorf("before any sample the page does not say it is waiting")
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name, id, data string
	comment        bool
}

// readEvent reads the next event or comment from r, per the event stream
// format: fields up to a blank line, data lines joined by newlines.
func readEvent(r *bufio.Reader) (sseEvent, error) {
	var e sseEvent
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if e.name == "" && data == nil && !e.comment {
				continue // a retry-only block
			}
			e.data = strings.Join(data, "\n")
			return e, nil
		}
		field, val, _ := strings.Cut(line, ":")
		val = strings.TrimPrefix(val, " ")
		switch field {
		case "":
			e.comment = true
		case "event":
			e.name = val
		case "id":
			e.id = val
		case "data":
			data = append(data, val)
		}
	}
}

// openStream opens the event stream of srv and returns its reader.
func openStream(t *testing.T, srv *httptest.Server) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+PathEvents, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewReader(resp.Body)
}

func TestEventsStream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	clk := newFakeClock()
	src := newFakeSource("MCP", "BULK")
	p, err := New(src, Options{Clock: clk, Heartbeat: 15 * time.Second, StreamLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p.Sample()
	srv := httptest.NewServer(p)
	defer srv.Close()

	resp, r := openStream(t, srv)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q; want text/event-stream, no-store", ct, resp.Header.Get("Cache-Control"))
	}
	e, err := readEvent(r)
	if err != nil || e.name != "update" || e.id != "1" {
		t.Fatalf("first event = %+v, %v; want the update of sample 1 at once", e, err)
	}
	if e.data != strings.TrimSuffix(string(p.cur.Load().main), "\n") {
		t.Errorf("the update's data is not the page's live part")
	}

	src.setBreaker("MCP", Open, clk.Now(), "5 consecutive failures")
	p.Sample()
	e, err = readEvent(r)
	if err != nil || e.name != "update" || e.id != "2" || !strings.Contains(e.data, `data-tier="MCP" data-breaker-state="open"`) {
		t.Fatalf("after a sample: %+v, %v; want update 2 with MCP open", e.name, err)
	}

	clk.Advance(15 * time.Second)
	if e, err = readEvent(r); err != nil || !e.comment {
		t.Fatalf("after the heartbeat interval: %+v, %v; want a comment", e, err)
	}

	clk.Advance(45 * time.Second) // the stream's lifetime is up
	for {
		e, err = readEvent(r)
		if err != nil {
			break
		}
		if !e.comment {
			t.Fatalf("after the lifetime: %+v; want the stream to end", e)
		}
	}
	if err != io.EOF && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("stream ended with %v; want EOF", err)
	}
	waitStreams(t, p, 0)
	if n := clk.live(); n != 0 {
		t.Errorf("%d timers or tickers still running after the stream ended", n)
	}
}

func TestEventsEndWhenTheClientGoes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	clk := newFakeClock()
	p, err := New(newFakeSource("MCP"), Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	resp, r := openStream(t, srv)
	if _, err := readEvent(r); err != nil {
		t.Fatal(err)
	}
	waitStreams(t, p, 1)
	resp.Body.Close()
	waitStreams(t, p, 0)
	if n := clk.live(); n != 0 {
		t.Errorf("%d timers or tickers still running after the client left", n)
	}
	srv.CloseClientConnections()
}

func TestEventsAreCapped(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, err := New(newFakeSource("MCP"), Options{Clock: newFakeClock(), MaxStreams: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	var bodies []io.Closer
	for range 2 {
		resp, r := openStream(t, srv)
		if _, err := readEvent(r); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
	}
	resp, err := srv.Client().Get(srv.URL + PathEvents)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third stream = %d (Retry-After %q); want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	bodies[0].Close()
	waitStreams(t, p, 1)
	resp2, r := openStream(t, srv)
	if _, err := readEvent(r); err != nil || resp2.StatusCode != 200 {
		t.Errorf("a stream after one closed = %d, %v; want 200 and an update", resp2.StatusCode, err)
	}
	resp2.Body.Close()
	bodies[1].Close()
	waitStreams(t, p, 0)
	srv.CloseClientConnections()
}

// waitStreams waits until p has n streams open, for at most a minute. The
// server notices a client gone only on its next read or write, so this
// wakes the streams with samples while it waits.
func waitStreams(t *testing.T, p *Page, n int32) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for p.streams.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open after a minute; want %d", p.streams.Load(), n)
		}
		p.Sample()
		select {
		case <-time.After(10 * time.Millisecond):
		case <-t.Context().Done():
		}
	}
}

func TestEventFraming(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"one line", "<p>x</p>", "<p>x</p>"},
		{"lines", "a\nb\n", "a\nb"},
		{"crlf and lone cr end lines too", "a\r\nb\rc", "a\nb\nc"},
		{"a field name in the data stays data", "x\nevent: evil\nid: 9", "x\nevent: evil\nid: 9"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := event("update", 3, []byte(tc.in))
			e, err := readEvent(bufio.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatal(err)
			}
			if e.name != "update" || e.id != "3" || e.data != tc.want {
				t.Errorf("event(%q) read back as %+v; want update 3 with data %q", tc.in, e, tc.want)
			}
		})
	}
}

// FuzzEventFraming checks that whatever the data, an event reads back as one
// event named update whose data is the input with its line breaks
// normalized: no text can end the event early or add fields.
func FuzzEventFraming(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "a\r\nb", "\r", "\n\n", "data: x\n\nevent: y", ": comment\n", "id: 5\r\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := event("update", 7, []byte(s))
		r := bufio.NewReader(bytes.NewReader(b))
		e, err := readEvent(r)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		want := strings.TrimSuffix(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"), "\n")
		if e.name != "update" || e.id != "7" || e.data != want {
			t.Fatalf("event(%q) = %+v; want update 7 with data %q", s, e, want)
		}
		if rest, _ := io.ReadAll(r); len(rest) != 0 {
			t.Fatalf("event(%q) left %q after the event", s, rest)
		}
	})
}

// FuzzSourceText feeds arbitrary names and reasons through the recorder and
// the page: whatever a source says, the page renders, holds no element but
// its own script, and its JSON is valid.
func FuzzSourceText(f *testing.F) {
	f.Add("MCP", "get_account", "ok", "5 consecutive failures")
	f.Add("</script><script>x()</script>", "<img src=x onerror=y>", "\r\nevent: x", "\xff\xfe")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, tier, tool, outcome, reason string) {
		clk := newFakeClock()
		src := newFakeSource("MCP", tier)
		p, err := New(src, Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		step(p, clk)
		src.tool(tool, outcome, 1)
		src.failover("MCP", tier, reason, 1)
		src.credits(tier, 5)
		src.do(func(s *Snapshot) {
			s.Transitions = append(s.Transitions, Transition{Seq: 1, Tier: tier, At: clk.Now(), From: Closed, To: Open, Reason: reason})
			s.Tiers[1].Breaker = BreakerState(reason)
		})
		step(p, clk)
		cur := p.cur.Load()
		doc := parse(t, cur.page)
		if n := len(find(doc, byTag("script"))); n != 1 {
			t.Fatalf("%d <script> elements; want only the page's own", n)
		}
		for _, tag := range []string{"img", "iframe", "object", "embed", "link", "base", "form"} {
			if n := len(find(doc, byTag(tag))); n != 0 {
				t.Fatalf("%d <%s> elements from the source's text", n, tag)
			}
		}
		if !json.Valid(cur.json) {
			t.Fatalf("invalid JSON")
		}
		e, err := readEvent(bufio.NewReader(bytes.NewReader(event("update", 2, cur.main))))
		if err != nil || e.name != "update" || e.id != "2" {
			t.Fatalf("the live part does not frame as one event: %+v, %v", e, err)
		}
	})
}

// TestEventsDropAClientThatStopsReading holds a stream open without reading
// it: once the connection's buffers are full, a write stalls past
// WriteTimeout and the stream ends, freeing its place.
func TestEventsDropAClientThatStopsReading(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, err := New(newFakeSource("MCP", "BULK", "REST"), Options{Clock: newFakeClock(), WriteTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+PathEvents+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitStreams(t, p, 1)
	// Each sample pushes the page's live part (kilobytes) to the stream
	// until a write stalls.
	deadline := time.Now().Add(time.Minute)
	for p.streams.Load() != 0 && time.Now().Before(deadline) {
		p.Sample()
	}
	waitStreams(t, p, 0)
}

// TestEventsConnectionIsNotReused: a stream leaves a write deadline on its
// connection, which a later request on the same connection would inherit
// and fail on. The stream says Connection: close, so clients open a new one.
func TestEventsConnectionIsNotReused(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	clk := newFakeClock()
	p, err := New(newFakeSource("MCP"), Options{Clock: clk, WriteTimeout: 50 * time.Millisecond, StreamLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p.Sample()
	srv := httptest.NewServer(p)
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	resp, err := c.Get(srv.URL + PathEvents)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Close {
		t.Error("event stream: no Connection: close")
	}
	r := bufio.NewReader(resp.Body)
	if _, err := readEvent(r); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // the stream's lifetime is up: it ends cleanly
	_, _ = io.Copy(io.Discard, r)
	resp.Body.Close()
	waitStreams(t, p, 0)
	// Real time must pass: the write deadline is on the socket.
	time.Sleep(150 * time.Millisecond)
	resp, err = c.Get(srv.URL + PathJSON)
	if err != nil {
		t.Fatalf("a request after a stream ended: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !json.Valid(b) {
		t.Errorf("a request after a stream ended = %d %.60q; want 200 and the JSON", resp.StatusCode, b)
	}
}
