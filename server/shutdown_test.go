package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// rawClient speaks JSON-RPC to a test server over plain HTTP.
type rawClient struct {
	t    testing.TB
	base string
	hc   *http.Client
}

// do sends one request and returns the response (the caller closes it).
func (c *rawClient) do(ctx context.Context, method, path, body string, hdr map[string]string) *http.Response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// post sends one message and returns the status, headers and whole body.
func (c *rawClient) post(ctx context.Context, path, body string, hdr map[string]string) (int, http.Header, string) {
	c.t.Helper()
	resp := c.do(ctx, http.MethodPost, path, body, hdr)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// initialize opens a legacy Streamable HTTP session and returns its id.
func (c *rawClient) initialize(ctx context.Context, hdr map[string]string) string {
	c.t.Helper()
	st, h, body := c.post(ctx, PathMCP, initBody, hdr)
	id := h.Get("Mcp-Session-Id")
	if st != http.StatusOK || id == "" {
		c.t.Fatalf("initialize: %d %q %s", st, id, body)
	}
	return id
}

// sseEvents opens a stream (GET path) and returns its data lines.
func (c *rawClient) sseEvents(ctx context.Context, path string, hdr map[string]string) (*http.Response, <-chan string) {
	c.t.Helper()
	resp := c.do(ctx, http.MethodGet, path, "", hdr)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		c.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	events := make(chan string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				events <- strings.TrimSpace(d)
			}
		}
	}()
	return resp, events
}

// next returns the first event containing match.
func next(t testing.TB, ctx context.Context, events <-chan string, match string) string {
	t.Helper()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before an event with %q", match)
			}
			if strings.Contains(e, match) {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("no event with %q", match)
		}
	}
}

// openSSESession opens a legacy SSE stream, initializes its session and
// returns the /message path and the stream's events.
func (c *rawClient) openSSESession(ctx context.Context, hdr map[string]string) (string, <-chan string) {
	c.t.Helper()
	_, events := c.sseEvents(ctx, PathSSE, hdr)
	endpoint := next(c.t, ctx, events, "sessionId=")
	if st, _, b := c.post(ctx, endpoint, initBody, hdr); st/100 != 2 {
		c.t.Fatalf("SSE initialize: %d %s", st, b)
	}
	next(c.t, ctx, events, `"id":1`)
	c.post(ctx, endpoint, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, hdr)
	return endpoint, events
}

const slowCall = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow","arguments":{}}}`

// TestShutdownWithinGraceEveryTime: a shutdown with tool calls that never
// finish (one over Streamable HTTP, one over legacy SSE) and open SSE and
// Streamable HTTP GET streams returns within the grace period plus a second,
// every one of 50 times. Serve used to take Shutdown's only result in a
// select and then wait for a second one: when the grace period ran out with
// calls still running, it hung for good about half the time.
func TestShutdownWithinGraceEveryTime(t *testing.T) {
	const grace = 200 * time.Millisecond
	const runs = 50
	for i := range runs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			shutdownOnce(t, grace)
		})
	}
}

func shutdownOnce(t *testing.T, grace time.Duration) {
	started, release := make(chan struct{}, 4), make(chan struct{})
	defer close(release) // let the detached SSE call end (after Serve returned)
	m, err := NewMCP(Options{Tools: fakeTools(started, release), Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHTTP(HTTPOptions{MCP: m, Security: Security{Policy: permissions.Default()}, ShutdownGrace: grace,
		Logger: slog.New(slog.DiscardHandler), Gatherer: prometheus.NewRegistry()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- h.Serve(ctx, ln) }()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &rawClient{t: t, base: "http://" + ln.Addr().String(), hc: &http.Client{Transport: tr}}
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Open streams and start two calls that hang.
	sid := c.initialize(cctx, nil)
	sess := map[string]string{"Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-11-25"}
	getResp, _ := c.sseEvents(cctx, PathMCP, sess)
	defer getResp.Body.Close()
	endpoint, _ := c.openSSESession(cctx, nil)
	go func() {
		if resp, err := c.hc.Do(mustRequest(cctx, http.MethodPost, c.base+PathMCP, slowCall, sess)); err == nil {
			resp.Body.Close()
		}
	}()
	c.post(cctx, endpoint, slowCall, nil)
	for range 2 {
		select {
		case <-started:
		case <-cctx.Done():
			t.Fatal("the hung calls did not start")
		}
	}

	t0 := time.Now()
	stop() // SIGTERM: the binary cancels this context
	limit := grace + time.Second
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		if took := time.Since(t0); took > limit {
			t.Errorf("Serve returned after %v, want within %v", took, limit)
		}
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("Serve did not return %v after the shutdown began (grace %v)", limit+5*time.Second, grace)
	}
}

func mustRequest(ctx context.Context, method, url, body string, hdr map[string]string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}
