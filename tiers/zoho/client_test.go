package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// fakeAPI is an httptest Zoho API whose handler is swapped per test. It
// records each request's Authorization header.
type fakeAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	h     http.HandlerFunc
	auths []string
	hits  atomic.Int64
}

func newFakeAPI(t *testing.T, h http.HandlerFunc) *fakeAPI {
	t.Helper()
	fa := &fakeAPI{h: h}
	fa.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fa.hits.Add(1)
		fa.mu.Lock()
		fa.auths = append(fa.auths, r.Header.Get("Authorization"))
		h := fa.h
		fa.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(fa.srv.Close)
	return fa
}

func (fa *fakeAPI) authHeaders() []string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return append([]string(nil), fa.auths...)
}

func zohoJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// newTestClient returns a client whose token api_domain is api's URL.
func newTestClient(t *testing.T, api *fakeAPI, mod ...func(*Config)) (*Client, *fakeAccounts) {
	t.Helper()
	acc := newFakeAccounts(t)
	acc.set(func(a *fakeAccounts) { a.apiDomain = api.srv.URL })
	cfg := Config{Tier: tiers.REST, Credential: testCred(), AccountsURL: acc.srv.URL, CacheDir: "-",
		Backoff: zeroBackoff, Logger: slog.New(slog.DiscardHandler), Timeout: 20 * time.Second, MaxRetries: 3}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.HTTPClient().CloseIdleConnections() })
	return c, acc
}

func TestClientUsesTokenAPIDomainAndHeader(t *testing.T) {
	t.Parallel()
	var credits atomic.Int64
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-API-CREDITS-REMAINING", "4321")
		zohoJSON(w, 200, `{"data":[{"id":"5725767000001000001","Annual_Revenue":1250000.0}]}`)
	})
	c, acc := newTestClient(t, api, func(c *Config) { c.OnCredits = func(n int) { credits.Store(int64(n)) } })
	resp, err := c.Do(context.Background(), Request{Path: "/crm/v8/Accounts/5725767000001000001"})
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Data []map[string]any }
	if err := resp.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body.Data[0]["Annual_Revenue"].(interface{ Float64() (float64, error) }); !ok {
		t.Fatalf("numbers must decode as json.Number, got %T", body.Data[0]["Annual_Revenue"])
	}
	if got := api.authHeaders(); len(got) != 1 || !strings.HasPrefix(got[0], "Zoho-oauthtoken 1000.access.") {
		t.Fatalf("Authorization headers %q", got)
	}
	if credits.Load() != 4321 || acc.refreshes.Load() != 1 {
		t.Fatalf("credits %d refreshes %d", credits.Load(), acc.refreshes.Load())
	}
}

func TestAuthHeaderOnlyToZohoHosts(t *testing.T) {
	t.Parallel()
	ok := func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{"data":[]}`) }
	api := newFakeAPI(t, ok)
	foreign := newFakeAPI(t, ok)
	c, _ := newTestClient(t, api)
	ctx := context.Background()
	if _, err := c.Do(ctx, Request{Path: "/crm/v8/org"}); err != nil {
		t.Fatal(err)
	}
	if got := api.authHeaders(); len(got) != 1 || got[0] == "" {
		t.Fatalf("Zoho host did not receive the token: %q", got)
	}
	// An absolute URL on another origin that Zoho did not hand back is not
	// called at all, token or not (even if the caller set one).
	_, err := c.Do(ctx, Request{Path: foreign.srv.URL + "/file", Header: http.Header{"Authorization": {"Zoho-oauthtoken leaked"}}})
	var te *tiers.Error
	if !errors.As(err, &te) || te.Code != "UNTRUSTED_HOST" || te.Class != tiers.ClassUnavailable {
		t.Fatalf("foreign URL: err %v, want UNTRUSTED_HOST", err)
	}
	if n := foreign.hits.Load(); n != 0 {
		t.Fatalf("the foreign host was called %d times", n)
	}
	// Handed back by Zoho on another host name (localhost is not the
	// 127.0.0.1 in use): refused too, nothing sent.
	other := strings.Replace(foreign.srv.URL, "127.0.0.1", "localhost", 1) + "/v2/crm/1/bulk-write/2/2.zip"
	if _, err := c.Do(ctx, Request{Path: other, HandedBack: true}); !errors.As(err, &te) || te.Code != "UNTRUSTED_HOST" {
		t.Fatalf("handed-back URL on another host: err %v, want UNTRUSTED_HOST", err)
	}
	if n := foreign.hits.Load(); n != 0 {
		t.Fatalf("the foreign host was called %d times", n)
	}
	assertNoSecrets(t, te.Error())
	// Handed back on the API domain's host, another port (an overridden
	// host's download server): followed, with the token.
	if _, err := c.Do(ctx, Request{Path: foreign.srv.URL + "/v2/crm/1/bulk-write/2/2.zip", HandedBack: true}); err != nil {
		t.Fatal(err)
	}
	if got := foreign.authHeaders(); len(got) != 1 || !strings.HasPrefix(got[0], "Zoho-oauthtoken 1000.access.") {
		t.Fatalf("download host on the API host got Authorization %q", got)
	}
}

// zohoNet answers like Zoho's hosts of data centre EU without a network:
// the token endpoint, and 200 {} anywhere else. It records each request's
// URL and Authorization header.
type zohoNet struct {
	mu   sync.Mutex
	seen map[string]string // URL → Authorization
}

func (z *zohoNet) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	body := `{}`
	if r.URL.Path == "/oauth/v2/token" {
		body = `{"access_token":"1000.access.eu","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600}`
	} else {
		z.mu.Lock()
		z.seen[r.URL.String()] = r.Header.Get("Authorization")
		z.mu.Unlock()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// TestDownloadHostAllowList: a download_url Zoho hands back is followed with
// the token to https hosts under the data centre's own domains, and to no
// other host, which is not called at all.
func TestDownloadHostAllowList(t *testing.T) {
	t.Parallel()
	zn := &zohoNet{seen: map[string]string{}}
	c, err := New(Config{Tier: tiers.Bulk, Credential: testCred(), DC: "eu", CacheDir: "-", Transport: zn,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		auth bool // followed with the token; false: refused, not called
	}{
		{"https://download-accl.zoho.eu/v2/crm/6735/bulk-write/347706122009/347706122009.zip", true},
		{"https://download.zoho.eu/v2/crm/6735/bulk-write/1/1.zip", true},
		{"https://www.zohoapis.eu/crm/bulk/v8/read/1/result", true},
		{"https://DOWNLOAD-ACCL.ZOHO.EU./x.zip", true},
		{"http://download-accl.zoho.eu/x.zip", false},   // not https
		{"https://download-accl.zoho.com/x.zip", false}, // another data centre
		{"https://download-accl.zoho.eu.evil.example/x.zip", false},
		{"https://evilzoho.eu/x.zip", false},
		{"https://zoho.eu@evil.example/x.zip", false},
		{"https://127.0.0.1/x.zip", false},
	}
	for _, tt := range tests {
		_, err := c.Do(context.Background(), Request{Path: tt.url, HandedBack: true})
		zn.mu.Lock()
		auth, called := zn.seen[tt.url]
		zn.mu.Unlock()
		switch {
		case tt.auth && (err != nil || auth != "Zoho-oauthtoken 1000.access.eu"):
			t.Errorf("%s: err %v, Authorization %q; want it followed with the token", tt.url, err, auth)
		case !tt.auth && called:
			t.Errorf("%s: called (Authorization %q); want it refused", tt.url, auth)
		case !tt.auth && tiersCode(err) != "UNTRUSTED_HOST":
			t.Errorf("%s: err %v, want UNTRUSTED_HOST", tt.url, err)
		}
	}
}

func tiersCode(err error) string {
	var te *tiers.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}

func TestDataCentreDomains(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"us": {"zoho.com", "zohoapis.com"}, "eu": {"zoho.eu", "zohoapis.eu"}, "ca": {"zohocloud.ca", "zohoapis.ca"},
		"sa": {"zoho.sa", "zohoapis.sa"}, "au": {"zoho.com.au", "zohoapis.com.au"}, "cn": {"zoho.com.cn", "zohoapis.com.cn"},
	}
	for name, w := range want {
		dc, err := DC(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dc.Domains, w) {
			t.Errorf("%s: Domains %v, want %v", name, dc.Domains, w)
		}
		o := dc.WithOverrides("http://127.0.0.1:1", "http://127.0.0.1:2", "")
		if !slices.Equal(o.Domains, w) {
			t.Errorf("%s: overrides changed Domains to %v", name, o.Domains)
		}
	}
	for _, n := range []string{"uk", "ae"} {
		if _, err := DC(n); err == nil {
			t.Errorf("DC(%q) exists, but Zoho documents no CRM data centre there", n)
		}
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   string
		fail     int // answers before success
		status   int
		budget   *tiers.RetryBudget
		maxRetry int
		wantHits int64
		class    tiers.Class // -1 = success
	}{
		{"GET 503 twice then ok", "GET", 2, 503, nil, 3, 3, -1},
		{"GET 429 twice then ok", "GET", 2, 429, nil, 3, 3, -1},
		{"GET 500 forever: unavailable", "GET", 99, 500, nil, 2, 3, tiers.ClassUnavailable},
		{"GET 429 forever: rate limited", "GET", 99, 429, nil, 2, 3, tiers.ClassRateLimited},
		{"budget: one quick retry", "GET", 99, 503, &tiers.QuickRetry, 3, 2, tiers.ClassUnavailable},
		{"budget zero: no retry", "GET", 99, 503, &tiers.RetryBudget{}, 3, 1, tiers.ClassUnavailable},
		{"no retries configured", "GET", 99, 503, nil, 0, 1, tiers.ClassUnavailable},
		{"a budget replaces the configured retries", "GET", 99, 503, &tiers.QuickRetry, 0, 2, tiers.ClassUnavailable},
		{"PUT 500 is never resent", "PUT", 99, 500, nil, 3, 1, tiers.ClassOutcomeUnknown},
		{"PUT 502 is never resent", "PUT", 99, 502, nil, 3, 1, tiers.ClassUnavailable},
		{"PUT 429 is resent (Zoho refused it unapplied)", "PUT", 1, 429, nil, 3, 2, -1},
		{"GET 400 verdict is not retried", "GET", 99, 400, nil, 3, 1, tiers.ClassVerdict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.Method == "PUT" && string(b) != `{"data":[{"id":"1"}]}` {
					t.Errorf("attempt %d body %q", n.Load(), b)
				}
				if n.Add(1) <= int64(tt.fail) {
					code := map[int]string{400: "INVALID_DATA", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_ERROR"}[tt.status]
					zohoJSON(w, tt.status, `{"code":"`+code+`","details":{},"message":"m","status":"error"}`)
					return
				}
				zohoJSON(w, 200, `{"data":[{"code":"SUCCESS","status":"success"}]}`)
			})
			c, _ := newTestClient(t, api, func(c *Config) { c.MaxRetries = tt.maxRetry })
			ctx := context.Background()
			if tt.budget != nil {
				ctx = tiers.WithRetryBudget(ctx, *tt.budget)
			}
			req := Request{Method: tt.method, Path: "/crm/v8/Accounts"}
			if tt.method == "PUT" {
				req.JSON = map[string]any{"data": []map[string]any{{"id": "1"}}}
			}
			_, err := c.Do(ctx, req)
			if tt.class == -1 {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
			} else if got := class(t, err); got != tt.class {
				t.Fatalf("class %v, want %v: %v", got, tt.class, err)
			}
			if h := api.hits.Load(); h != tt.wantHits {
				t.Fatalf("server saw %d attempts, want %d", h, tt.wantHits)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "3600")
			zohoJSON(w, 429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"slow down","status":"error"}`)
			return
		}
		zohoJSON(w, 200, `{}`)
	})
	c, _ := newTestClient(t, api)
	// Retry-After beyond the longest wait: give up at once (the router fails over).
	_, err := c.Do(context.Background(), Request{Path: "/crm/v8/org"})
	if class(t, err) != tiers.ClassRateLimited || api.hits.Load() != 1 {
		t.Fatalf("err %v hits %d", err, api.hits.Load())
	}
}

// closedURL returns a loopback URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	// A handler must read the body before the server notices the client
	// going away.
	hang := func(w http.ResponseWriter, r *http.Request) { _, _ = io.ReadAll(r.Body); <-r.Context().Done() }
	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		down    bool
		class   tiers.Class
		hits    int64
		want    string
	}{
		{"GET timeout: unavailable", "GET", hang, false, tiers.ClassUnavailable, 1, "timed out after"},
		{"PUT timeout after sending: outcome unknown, sent once", "PUT", hang, false, tiers.ClassOutcomeUnknown, 1, "may or may not have been applied"},
		{"GET connection refused", "GET", nil, true, tiers.ClassUnavailable, 0, "connection refused"},
		{"PUT connection refused: never sent", "PUT", nil, true, tiers.ClassUnavailable, 0, "connection refused"},
		{"GET malformed 200", "GET", func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{"data":[{"id":"`) }, false, tiers.ClassUnavailable, 1, "not valid JSON"},
		{"PUT malformed 200: outcome unknown", "PUT", func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{"data":[{"id":"`) }, false, tiers.ClassOutcomeUnknown, 1, "may or may not"},
		{"GET HTML 404: unavailable", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404); _, _ = io.WriteString(w, "<html>") }, false, tiers.ClassUnavailable, 1, "not a Zoho answer"},
		{"reset mid-answer on PUT", "PUT", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"data":`)
			panic(http.ErrAbortHandler)
		}, false, tiers.ClassOutcomeUnknown, 1, "may or may not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, tt.handler)
			c, _ := newTestClient(t, api, func(c *Config) {
				c.Timeout = 20 * time.Second
				if strings.Contains(tt.name, "timeout") {
					// Long enough for the request to reach the server on a
					// loaded machine (100 ms was not, under -race with the
					// package's tests in parallel: "server saw 0 requests"),
					// which the sent-once assertion below needs.
					c.Timeout = time.Second
				}
				if tt.down {
					c.APIDomain = closedURL(t)
				}
			})
			// The token first: the timeout cases' second is for the request,
			// not for a refresh on a loaded machine.
			if _, err := c.Tokens().Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			req := Request{Method: tt.method, Path: "/crm/v8/Accounts/1?x=1"}
			if tt.method == "PUT" {
				req.JSON = map[string]any{"data": []any{map[string]any{"Phone": "1"}}}
			}
			resp, err := c.Do(context.Background(), req)
			if err == nil {
				err = resp.Decode(&map[string]any{})
			}
			if got := class(t, err); got != tt.class {
				t.Fatalf("class %v, want %v: %v", got, tt.class, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			if h := api.hits.Load(); h != tt.hits {
				t.Fatalf("server saw %d requests, want %d", h, tt.hits)
			}
			assertNoSecrets(t, err.Error())
		})
	}
}

func TestCallerCancel(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 1)
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		entered <- struct{}{}
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, api)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	_, err := c.Do(ctx, Request{Method: "PUT", Path: "/crm/v8/Accounts/1", JSON: map[string]any{}})
	var te *tiers.Error
	if !errors.As(err, &te) || te.Class != tiers.ClassCanceled || te.Code != "OUTCOME_UNKNOWN" || !errors.Is(err, context.Canceled) {
		t.Fatalf("want canceled after send, got %#v", err)
	}
}

func TestInvalidTokenRefreshesOnceAndRetriesOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		rejections    int64
		code          string
		wantClass     tiers.Class // -1 success
		wantHits      int64
		wantRefreshes int64
	}{
		{"INVALID_TOKEN once: refresh, retry, success", 1, "INVALID_TOKEN", -1, 2, 2},
		{"AUTHENTICATION_FAILURE once", 1, "AUTHENTICATION_FAILURE", -1, 2, 2},
		{"INVALID_TOKEN twice: auth failed", 99, "INVALID_TOKEN", tiers.ClassAuth, 2, 2},
		{"OAUTH_SCOPE_MISMATCH: no refresh", 99, "OAUTH_SCOPE_MISMATCH", tiers.ClassAuth, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if string(b) != `{"data":[{"Phone":"1"}]}` {
					t.Errorf("body not replayed: %q", b)
				}
				if n.Add(1) <= tt.rejections {
					zohoJSON(w, 401, `{"code":"`+tt.code+`","details":{},"message":"invalid oauth token","status":"error"}`)
					return
				}
				zohoJSON(w, 200, `{"data":[{"code":"SUCCESS","status":"success"}]}`)
			})
			c, acc := newTestClient(t, api)
			_, err := c.Do(context.Background(), Request{Method: "PUT", Path: "/crm/v8/Accounts/1",
				JSON: map[string]any{"data": []any{map[string]any{"Phone": "1"}}}})
			if tt.wantClass == -1 {
				if err != nil {
					t.Fatal(err)
				}
			} else if got := class(t, err); got != tt.wantClass {
				t.Fatalf("class %v, want %v: %v", got, tt.wantClass, err)
			}
			if api.hits.Load() != tt.wantHits || acc.refreshes.Load() != tt.wantRefreshes {
				t.Fatalf("hits %d refreshes %d, want %d %d", api.hits.Load(), acc.refreshes.Load(), tt.wantHits, tt.wantRefreshes)
			}
			if tt.code == "OAUTH_SCOPE_MISMATCH" && !strings.Contains(err.Error(), "ZohoCRM.modules.accounts.UPDATE") {
				t.Fatalf("scope error does not name the scope to grant: %v", err)
			}
			if h := api.authHeaders(); tt.wantHits == 2 && h[0] == h[1] {
				t.Fatalf("retry reused the rejected token")
			}
		})
	}
}

// TestWriteRefusedThenStuckIsNotSent: a PUT that Zoho answered with proof
// that it was not applied (401 INVALID_TOKEN, 429), and that the client then
// could not send again before the deadline (the refresh hangs, the retry
// waits), was never applied: the error must not say the write may have been
// (ClassOutcomeUnknown or Code OUTCOME_UNKNOWN), which would send the router
// and the agent to read back a write that never happened.
func TestWriteRefusedThenStuckIsNotSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		deadline bool // the caller's deadline ends the call (else the client's Timeout)
	}{
		{"401 then hung refresh, caller deadline", 401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`, true},
		{"401 then hung refresh, client timeout", 401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`, false},
		{"429 then retry wait, caller deadline", 429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many requests","status":"error"}`, true},
		{"429 then retry wait, client timeout", 429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many requests","status":"error"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, tt.status, tt.body) })
			const timeout = 100 * time.Millisecond
			c, acc := newTestClient(t, api, func(c *Config) {
				c.Timeout = 2 * timeout
				if tt.deadline {
					c.Timeout = 20 * time.Second
				}
				// A retry waits longer than the call may last.
				c.Backoff = func(time.Duration, time.Duration, int, *http.Response) time.Duration { return time.Hour }
				c.RetryWaitMax = time.Hour
			})
			if _, err := c.Tokens().Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			gate := make(chan struct{})
			t.Cleanup(func() { close(gate) })
			acc.set(func(a *fakeAccounts) { a.gate = gate }) // every later refresh hangs
			ctx := context.Background()
			if tt.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			_, err := c.Do(ctx, Request{Method: "PUT", Path: "/crm/v8/Accounts/1",
				JSON: map[string]any{"data": []any{map[string]any{"Phone": "1"}}}})
			var te *tiers.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not a *tiers.Error", err, err)
			}
			if te.Class == tiers.ClassOutcomeUnknown || te.Code == "OUTCOME_UNKNOWN" || strings.Contains(te.Message, "may or may not") {
				t.Fatalf("a write Zoho refused unapplied is reported as possibly applied: %v (class %v)", err, te.Class)
			}
			if api.hits.Load() != 1 {
				t.Fatalf("%d PUTs reached Zoho, want 1 (the refused one)", api.hits.Load())
			}
		})
	}
}

func TestConcurrentInvalidTokenOneRefresh(t *testing.T) {
	t.Parallel()
	// 20 callers all rejected with the same expired token cause one refresh.
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if isFirstToken(r.Header.Get("Authorization")) {
			zohoJSON(w, 401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`)
			return
		}
		zohoJSON(w, 200, `{"data":[]}`)
	})
	c, acc := newTestClient(t, api)
	if _, err := c.Tokens().Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := c.Do(context.Background(), Request{Path: "/crm/v8/Accounts"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := acc.refreshes.Load(); n != 2 {
		t.Fatalf("refreshes = %d, want 2 (initial + one after the shared rejection)", n)
	}
}

// isFirstToken reports whether auth carries the first token the fake
// accounts server issues ("1000.access.b").
func isFirstToken(auth string) bool { return strings.HasSuffix(auth, "1000.access.b") }

func TestDebugLogRedacted(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{}`) })
	logger, logs := newLogger(slog.LevelDebug)
	c, _ := newTestClient(t, api, func(c *Config) { c.Logger = logger })
	_, err := c.Do(context.Background(), Request{Path: "/crm/v8/org", Query: map[string][]string{
		"refresh_token": {testRefreshToken}, "client_secret": {testClientSecret}, "fields": {"id"}}})
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "zoho http") || !strings.Contains(out, "fields=REDACTED") || strings.Contains(out, "fields=id") {
		t.Fatalf("debug log missing or unredacted: %s", out)
	}
	assertNoSecrets(t, out)
	if strings.Contains(out, "Zoho-oauthtoken") {
		t.Fatalf("Authorization logged: %s", out)
	}
}

// TestLogLinesNameTierOnce: every line the client and its token source log
// carries "tier" exactly once, with the client's tier (a duplicate key is
// undefined JSON; a missing one hides which tier spoke).
func TestLogLinesNameTierOnce(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{}`) })
	lb := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := newTestClient(t, api, func(c *Config) { c.Logger = logger })
	if _, err := c.Do(context.Background(), Request{Path: "/crm/v8/org"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(lb.String()), "\n")
	msgs := map[string]bool{}
	for _, line := range lines {
		keys, vals, err := tierstest.LogKeys(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		var tiersSeen []string
		for i, k := range keys {
			var v string
			_ = json.Unmarshal(vals[i], &v)
			switch k {
			case "tier":
				tiersSeen = append(tiersSeen, v)
			case "msg":
				msgs[v] = true
			}
		}
		if len(tiersSeen) != 1 || tiersSeen[0] != string(tiers.REST) {
			t.Errorf("tier attributes %q, want exactly [REST]: %s", tiersSeen, line)
		}
	}
	for _, m := range []string{"zoho http", "zoho access token refreshed"} {
		if !msgs[m] {
			t.Errorf("no %q line logged: %s", m, lb)
		}
	}
}

func TestResponseWithRecordResults(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		zohoJSON(w, 400, `{"data":[{"code":"INVALID_DATA","details":{"api_name":"Phone"},"message":"bad","status":"error"}]}`)
	})
	c, _ := newTestClient(t, api)
	resp, err := c.Do(context.Background(), Request{Method: "PUT", Path: "/crm/v8/Accounts", JSON: map[string]any{}})
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("a 400 with per-record results is for the caller to read: %v", err)
	}
}

func TestNoContent(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c, _ := newTestClient(t, api)
	resp, err := c.Do(context.Background(), Request{Path: "/crm/v8/Accounts/1"})
	if err != nil || !resp.Empty() {
		t.Fatalf("204: %v %v", resp, err)
	}
}

func TestSendStreams(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "zipbytes") })
	c, _ := newTestClient(t, api)
	resp, err := c.Send(context.Background(), Request{Path: "/crm/bulk/v8/read/1/result"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "zipbytes" {
		t.Fatalf("body %q", b)
	}
}

func TestOrgID(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		zohoJSON(w, 200, `{"org":[{"id":"111","zgid":"222"}]}`)
	})
	c, _ := newTestClient(t, api)
	for range 2 {
		id, err := c.OrgID(context.Background())
		if err != nil || id != "222" {
			t.Fatalf("OrgID = %q, %v", id, err)
		}
	}
	if api.hits.Load() != 1 {
		t.Fatalf("org read %d times, want once", api.hits.Load())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{DC: "mars"}); err == nil {
		t.Fatal("unknown DC accepted")
	}
	if _, err := New(Config{APIDomain: "not a url"}); err == nil {
		t.Fatal("bad API domain accepted")
	}
}

// TestAccountsHangTimesOutAsUnavailable: a hung accounts server makes a
// call fail within the client's Timeout as unavailable (accounts
// unreachable), never as the caller's cancellation. Two timers of the same
// length race here, the call's Timeout and the refresh's own bound (the
// same Timeout), and either may end the call on a loaded machine: both
// must give that verdict, so the test asserts the class and code, not
// which message won.
func TestAccountsHangTimesOutAsUnavailable(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{}`) })
	c, acc := newTestClient(t, api, func(c *Config) { c.Timeout = 50 * time.Millisecond })
	gate := make(chan struct{})
	acc.set(func(a *fakeAccounts) { a.gate = gate })
	defer close(gate)
	_, err := c.Do(context.Background(), Request{Path: "/crm/v8/org"})
	var te *tiers.Error
	if !errors.As(err, &te) || te.Class != tiers.ClassUnavailable || te.Code != "ACCOUNTS_UNREACHABLE" {
		t.Fatalf("hung accounts server: %v, want unavailable with code ACCOUNTS_UNREACHABLE", err)
	}
	if msg := te.Error(); !strings.Contains(msg, "waiting for a Zoho access token") && !strings.Contains(msg, "cannot reach the Zoho accounts server") {
		t.Errorf("message %q says neither that the call waited for a token nor that the accounts server is unreachable", msg)
	}
	// One grant at most: on a loaded machine the 50 ms may run out before
	// it even reaches the accounts server.
	if n := acc.refreshes.Load(); n > 1 {
		t.Errorf("%d refresh grants, want at most 1", n)
	}
}

// deadlineRecorder is a token HTTP client's transport that records how much
// time each refresh grant's context leaves it, when the grant is sent.
type deadlineRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	left []time.Duration // -1: no deadline
}

func (d *deadlineRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	left := time.Duration(-1)
	if dl, ok := r.Context().Deadline(); ok {
		left = time.Until(dl)
	}
	d.mu.Lock()
	d.left = append(d.left, left)
	d.mu.Unlock()
	return d.next.RoundTrip(r)
}

func (d *deadlineRecorder) first() (time.Duration, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.left) == 0 {
		return 0, 0
	}
	return d.left[0], len(d.left)
}

// TestHungRefreshBoundedByTimeout: one refresh grant that is never answered
// must not hold the credential's single flight beyond the client's Timeout:
// once the accounts server answers again, the next call starts a new
// refresh and is served, instead of joining the hung one until it fails.
// The bound is read from the grant's own context when it is sent (at most
// Timeout left, where an unbounded refresh has DefaultRefreshTimeout), so
// no assertion depends on how fast a loaded machine schedules the test.
func TestHungRefreshBoundedByTimeout(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{}`) })
	const timeout = 100 * time.Millisecond // far below DefaultRefreshTimeout
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rec := &deadlineRecorder{next: tr}
	c, acc := newTestClient(t, api, func(c *Config) {
		c.Timeout = timeout
		c.TokenHTTPClient = &http.Client{Transport: rec}
	})
	gate := make(chan struct{})
	t.Cleanup(func() { close(gate) }) // before the server closes
	acc.set(func(a *fakeAccounts) { a.gate = gate })
	if _, err := c.Do(context.Background(), Request{Path: "/crm/v8/org"}); class(t, err) != tiers.ClassUnavailable {
		t.Fatalf("hung accounts server: %v", err)
	}
	if left, n := rec.first(); n != 1 || left <= 0 || left > timeout {
		t.Fatalf("the hung refresh grant was sent with %v left (%d grants), want at most the client's Timeout %v", left, n, timeout)
	}
	acc.set(func(a *fakeAccounts) { a.gate = nil }) // the accounts server recovers
	// The hung refresh ends when its bound runs out; its done channel says
	// when. The wait below is only a failsafe, far above the bound.
	ts := c.Tokens()
	ts.mu.Lock()
	hung := ts.inflight
	ts.mu.Unlock()
	if hung != nil {
		select {
		case <-hung.done:
		case <-time.After(DefaultRefreshTimeout / 2):
			t.Fatalf("the hung refresh still holds the single flight %s after the call that started it gave up", DefaultRefreshTimeout/2)
		}
	}
	ts.mu.Lock()
	free := ts.inflight == nil
	ts.mu.Unlock()
	if !free {
		t.Fatal("the single flight is still taken after the hung refresh ended")
	}
	// The next caller starts a new refresh and is served. (It asks the
	// token source directly: the refresh is what this test is about.) Each
	// new grant is bounded by the same 100 ms, which a loaded machine can
	// miss, so a few attempts are allowed; each must be a grant of its own,
	// never one joined to an earlier refresh.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	attempts := 0
	for attempts < 10 {
		attempts++
		if _, err = ts.Token(ctx); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the accounts server is back, yet %d refreshes failed: %v", attempts, err)
	}
	if _, n := rec.first(); n != 1+attempts {
		t.Errorf("%d refresh grants sent, want %d (the hung one and one per attempt)", n, 1+attempts)
	}
	if n := acc.refreshes.Load(); n < 2 {
		t.Errorf("%d refresh grants reached the accounts server, want the hung one and a new one", n)
	}
}

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	// Go's default transport keeps 2 idle connections per host, so 20
	// concurrent callers open a new connection for most calls. The tuned
	// pool must reuse them.
	var newConns atomic.Int64
	api := &fakeAPI{h: func(w http.ResponseWriter, r *http.Request) { zohoJSON(w, 200, `{"data":[]}`) }}
	api.srv = httptest.NewUnstartedServer(api.h)
	api.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			newConns.Add(1)
		}
	}
	api.srv.Start()
	t.Cleanup(api.srv.Close)
	c, _ := newTestClient(t, api)
	if _, err := c.Tokens().Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	const workers, calls = 20, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range calls {
				if _, err := c.Do(context.Background(), Request{Path: "/crm/v8/Accounts"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Go's transport may dial while waiting for a busy connection to come
	// back, so allow some slack over one per worker; the default pool of 2
	// idle connections per host opens hundreds here.
	if n := newConns.Load(); n > 2*workers {
		t.Fatalf("%d new connections for %d calls from %d workers; the pool is not reused", n, workers*calls, workers)
	}
	if tr := DefaultTransport(); tr.MaxIdleConnsPerHost < 64 || !tr.ForceAttemptHTTP2 || tr.IdleConnTimeout == 0 {
		t.Fatalf("transport not tuned: %+v", tr)
	}
}

func TestSendClassifiesBodyErrors(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "PK partial zip")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	c, _ := newTestClient(t, api)
	resp, err := c.Send(context.Background(), Request{Path: "/crm/bulk/v8/read/1/result"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if class(t, err) != tiers.ClassUnavailable || !strings.Contains(err.Error(), "/crm/bulk/v8/read/1/result") {
		t.Fatalf("read error %v", err)
	}
}
