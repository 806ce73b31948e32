package zoho

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// recorder is an innermost transport that records what reaches it and
// answers from answers in turn (the last one repeated).
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
	bodies  []string
	answers []int
	closed  atomic.Int64 // answer bodies closed
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.headers = append(rec.headers, r.Header.Clone())
	rec.bodies = append(rec.bodies, string(body))
	status := rec.answers[min(len(rec.bodies), len(rec.answers))-1]
	return &http.Response{StatusCode: status, Header: http.Header{}, Request: r,
		Body: &closeCounter{Reader: strings.NewReader(`{"data":[]}`), n: &rec.closed}}, nil
}

type closeCounter struct {
	io.Reader
	n *atomic.Int64
}

func (c *closeCounter) Close() error { c.n.Add(1); return nil }

// untouched wraps a layer and fails the test when the layer modifies the
// request it was given, which a RoundTripper must not do.
type untouched struct {
	t    *testing.T
	name string
	next http.RoundTripper
}

func (u untouched) RoundTrip(r *http.Request) (*http.Response, error) {
	hdr, body, uri := r.Header.Clone(), r.Body, r.URL.String()
	resp, err := u.next.RoundTrip(r)
	if !reflect.DeepEqual(r.Header, hdr) || r.Body != body || r.URL.String() != uri {
		u.t.Errorf("%s modified its request: header %v → %v, body replaced %t", u.name, hdr, r.Header, r.Body != body)
	}
	return resp, err
}

// staticTokens is a token source with a fixed access token.
func staticTokens(tok string) *TokenSource {
	return NewTokenSource(TokenSourceConfig{Credential: Credential{AccessToken: tok}, CacheDir: "-"})
}

// TestChainSetsHeadersAndLeavesRequestsAlone: through the assembled layers,
// the request that reaches the wire carries the User-Agent and the token
// (on a Zoho host), a retry resends the whole body, and no layer changes
// the request it was given.
func TestChainSetsHeadersAndLeavesRequestsAlone(t *testing.T) {
	t.Parallel()
	const token = "1000.access.chain"
	tests := []struct {
		name    string
		method  string
		body    func() io.Reader // nil: no body
		answers []int
		attempt int
	}{
		{"GET", "GET", nil, []int{200}, 1},
		{"GET retried on 503", "GET", nil, []int{503, 503, 200}, 3},
		{"PUT retried on 429, body from GetBody", "PUT", func() io.Reader { return bytes.NewReader([]byte(`{"data":[1]}`)) }, []int{429, 200}, 2},
		{"PUT retried on 429, body without GetBody", "PUT", func() io.Reader { return io.MultiReader(strings.NewReader(`{"data":[1]}`)) }, []int{429, 429, 200}, 3},
		{"PUT 503 not resent", "PUT", func() io.Reader { return strings.NewReader(`{"data":[1]}`) }, []int{503}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{answers: tt.answers}
			var rt http.RoundTripper = &RetryTransport{Next: rec, MaxRetries: 3, Backoff: zeroBackoff}
			rt = untouched{t, "RetryTransport", rt}
			rt = &AuthTransport{Next: rt, Tokens: staticTokens(token), Hosts: func(*url.URL) bool { return true }}
			rt = untouched{t, "AuthTransport", rt}
			rt = &UserAgentTransport{Next: rt, UserAgent: "ua/1"}
			rt = untouched{t, "UserAgentTransport", rt}
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, _ := http.NewRequest(tt.method, "https://www.zohoapis.com/crm/v8/Accounts", body)
			if tt.body != nil && strings.Contains(tt.name, "without GetBody") {
				req.GetBody = nil
			}
			req.Header.Set("X-Caller", "kept")
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if len(rec.headers) != tt.attempt {
				t.Fatalf("%d attempts, want %d", len(rec.headers), tt.attempt)
			}
			for i, h := range rec.headers {
				if h.Get("Authorization") != "Zoho-oauthtoken "+token || h.Get("User-Agent") != "ua/1" || h.Get("X-Caller") != "kept" {
					t.Errorf("attempt %d headers %v", i, h)
				}
				if want := map[bool]string{true: `{"data":[1]}`}[tt.body != nil]; rec.bodies[i] != want {
					t.Errorf("attempt %d body %q, want %q", i, rec.bodies[i], want)
				}
			}
			if req.Header.Get("Authorization") != "" || req.Header.Get("User-Agent") != "" {
				t.Errorf("the caller's request was given headers: %v", req.Header)
			}
			if n := rec.closed.Load(); n != int64(tt.attempt) {
				t.Errorf("%d answers closed, want all %d (retried ones drained)", n, tt.attempt)
			}
		})
	}
}

// TestUserAgentKeptWhenSet: a request that names its User-Agent keeps it.
func TestUserAgentKeptWhenSet(t *testing.T) {
	t.Parallel()
	rec := &recorder{answers: []int{200}}
	req, _ := http.NewRequest("GET", "https://www.zohoapis.com/crm/v8/org", nil)
	req.Header.Set("User-Agent", "mine")
	resp, err := (&UserAgentTransport{Next: rec, UserAgent: "ua/1"}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := rec.headers[0].Values("User-Agent"); len(got) != 1 || got[0] != "mine" {
		t.Fatalf("User-Agent %q", got)
	}
}

// TestRetryClosesAnswerWhenContextEnds: an answer that arrives as the
// call's context ends is closed (freeing its connection and governor
// slot), not returned beside the error for http.Client to drop unclosed.
func TestRetryClosesAnswerWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{answers: []int{200}}
	next := rtFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rec.RoundTrip(r)
		cancel()
		return resp, err
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://www.zohoapis.com/crm/v8/org", nil)
	resp, err := (&RetryTransport{Next: next, MaxRetries: 2, Backoff: zeroBackoff}).RoundTrip(req)
	if resp != nil || !errors.Is(err, context.Canceled) || rec.closed.Load() != 1 {
		t.Fatalf("resp %v err %v, %d bodies closed", resp, err, rec.closed.Load())
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countingGovernor is a governor of unbounded slots that counts them.
type countingGovernor struct {
	mu       sync.Mutex
	held     int
	order    *[]string
	name     string
	released int
}

func (g *countingGovernor) Acquire(context.Context) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held++
	*g.order = append(*g.order, "acquire "+g.name)
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.held--
		g.released++
		*g.order = append(*g.order, "release "+g.name)
	}, nil
}

// TestGovernSlotsHeldUntilAnswerEnds: a round trip holds its slots (heavy
// first, then the org's) until its answer is read to the end or closed,
// releases each exactly once, in reverse order, and releases them at once
// when the round trip fails.
func TestGovernSlotsHeldUntilAnswerEnds(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"EOF", "close", "transport error"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			var order []string
			gov := &countingGovernor{order: &order, name: "org"}
			heavy := &countingGovernor{order: &order, name: "heavy"}
			next := http.RoundTripper(&recorder{answers: []int{200}})
			if end == "transport error" {
				next = rtFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("reset") })
			}
			gt := &GovernTransport{Next: next, Governor: gov, Heavy: heavy}
			req, _ := http.NewRequestWithContext(withHeavy(context.Background()), "POST", "https://www.zohoapis.com/crm/v8/coql", nil)
			resp, err := gt.RoundTrip(req)
			if end == "transport error" {
				if err == nil {
					t.Fatal("want the transport's error")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if gov.held != 1 || heavy.held != 1 {
					t.Fatalf("slots held while the answer is open: org %d heavy %d, want 1 and 1", gov.held, heavy.held)
				}
				if end == "EOF" {
					_, _ = io.ReadAll(resp.Body)
				}
				_ = resp.Body.Close()
				_ = resp.Body.Close()
			}
			want := []string{"acquire heavy", "acquire org", "release org", "release heavy"}
			if !reflect.DeepEqual(order, want) || gov.released != 1 || heavy.released != 1 {
				t.Fatalf("slots %v (released org %d heavy %d), want %v once each", order, gov.released, heavy.released, want)
			}
		})
	}
}

// TestReadBody holds readBody to io.ReadAll of an io.LimitReader of
// limit+1 bytes, whatever the Content-Length claims.
func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 2000
	for _, n := range []int{0, 1, 511, 512, 513, 1999, 2000, 2001, 5000} {
		for _, size := range []int64{-1, 0, int64(n), int64(n) / 2, int64(n) * 2, 1 << 40} {
			data := bytes.Repeat([]byte("x"), n)
			want, werr := io.ReadAll(io.LimitReader(bytes.NewReader(data), limit+1))
			got, gerr := readBody(io.MultiReader(bytes.NewReader(data)), limit, size)
			if !bytes.Equal(got, want) || (gerr == nil) != (werr == nil) {
				t.Errorf("n %d size %d: %d bytes, %v; want %d, %v", n, size, len(got), gerr, len(want), werr)
			}
		}
	}
	fail := errors.New("reset")
	if _, err := readBody(io.MultiReader(strings.NewReader("abc"), errReader{fail}), limit, 10); !errors.Is(err, fail) {
		t.Errorf("a read error: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestWithTimeout: the client's Timeout bounds a call unless the caller's
// deadline comes first, when no second deadline is made.
func TestWithTimeout(t *testing.T) {
	t.Parallel()
	c := &Client{cfg: Config{Timeout: time.Minute}}
	soon, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if ctx, done := c.withTimeout(soon); ctx != soon {
		t.Errorf("a caller's earlier deadline got a second one")
	} else {
		done()
	}
	for _, parent := range []context.Context{context.Background(), tiers.WithRetryBudget(context.Background(), tiers.QuickRetry)} {
		ctx, done := c.withTimeout(parent)
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > time.Minute || time.Until(dl) < 30*time.Second {
			t.Errorf("deadline %v %v, want in about a minute", dl, ok)
		}
		done()
		if ctx.Err() == nil {
			t.Errorf("cancel did not end the call's context")
		}
	}
	if ctx, done := (&Client{}).withTimeout(soon); ctx != soon {
		t.Errorf("no Timeout made a context")
	} else {
		done()
	}
}
