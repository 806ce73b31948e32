package zoho

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestDC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dc, accounts, api, content string
	}{
		{"default", "", "https://accounts.zoho.com", "https://www.zohoapis.com", "https://content.zohoapis.com"},
		{"us", "us", "https://accounts.zoho.com", "https://www.zohoapis.com", "https://content.zohoapis.com"},
		{"eu", "EU", "https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://content.zohoapis.eu"},
		{"in", "in", "https://accounts.zoho.in", "https://www.zohoapis.in", "https://content.zohoapis.in"},
		{"au", "au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au", "https://content.zohoapis.com.au"},
		{"jp", "jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://content.zohoapis.jp"},
		{"ca", "ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://upload.zohocloud.ca"},
		{"sa", "sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://files.zoho.sa"},
		{"cn", "cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn", "https://content.zohoapis.com.cn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dc, err := DC(tt.dc)
			if err != nil {
				t.Fatal(err)
			}
			if dc.AccountsURL != tt.accounts || dc.APIDomain != tt.api || dc.ContentURL != tt.content {
				t.Fatalf("DC(%q) = %+v", tt.dc, dc)
			}
			if dc.TokenURL() != tt.accounts+"/oauth/v2/token" {
				t.Fatalf("TokenURL = %s", dc.TokenURL())
			}
		})
	}
	if _, err := DC("uk"); err == nil || !strings.Contains(err.Error(), "au, ca, cn, eu, in, jp, sa, us") {
		t.Fatalf("DC(uk) error = %v, want the list of valid DCs", err)
	}
	dc, _ := DC("eu")
	o := dc.WithOverrides("http://127.0.0.1:1/", "", "http://127.0.0.1:3")
	if o.AccountsURL != "http://127.0.0.1:1" || o.APIDomain != "https://www.zohoapis.eu" || o.ContentURL != "http://127.0.0.1:3" {
		t.Fatalf("WithOverrides = %+v", o)
	}
}

func newTS(fa *fakeAccounts, clk *tierstest.Clock, dir string, mod ...func(*TokenSourceConfig)) *TokenSource {
	cfg := TokenSourceConfig{Credential: testCred(), AccountsURL: fa.srv.URL, Now: clk.Now, CacheDir: dir,
		Logger: slog.New(slog.DiscardHandler), Tier: tiers.REST}
	for _, m := range mod {
		m(&cfg)
	}
	return NewTokenSource(cfg)
}

func TestTokenSingleFlight(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	fa.set(func(fa *fakeAccounts) { fa.gate, fa.entered = gate, entered })
	ts := newTS(fa, newFakeClock(), "-")

	const callers = 20
	var wg sync.WaitGroup
	toks := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			tok, err := ts.Token(context.Background())
			toks[i], errs[i] = tok.AccessToken, err
		})
	}
	<-entered // the one refresh is at the server; release it
	close(gate)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || toks[i] == "" || toks[i] != toks[0] {
			t.Fatalf("caller %d: token %q err %v (first %q)", i, toks[i], errs[i], toks[0])
		}
	}
	if n := fa.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want exactly 1 for %d concurrent callers", n, callers)
	}
	// A cached token is reused without a refresh.
	if _, err := ts.Token(context.Background()); err != nil || fa.refreshes.Load() != 1 {
		t.Fatalf("second Token: err %v refreshes %d", err, fa.refreshes.Load())
	}
}

func TestTokenExpiryAndMargin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want time.Duration // validity after margin
	}{
		{"expires_in seconds", `{"access_token":"1000.access.x","api_domain":"https://www.zohoapis.eu","expires_in":3600}`, time.Hour - DefaultTokenMargin},
		{"expires_in_sec makes expires_in ms", `{"access_token":"1000.access.x","api_domain":"https://www.zohoapis.eu","expires_in":3600000,"expires_in_sec":3600}`, time.Hour - DefaultTokenMargin},
		{"short token: margin capped at half", `{"access_token":"1000.access.x","api_domain":"https://www.zohoapis.eu","expires_in":60}`, 30 * time.Second},
		{"no expiry given: an hour", `{"access_token":"1000.access.x","api_domain":"https://www.zohoapis.eu"}`, time.Hour - DefaultTokenMargin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fa := newFakeAccounts(t)
			fa.set(func(fa *fakeAccounts) { fa.body = tt.body })
			clk := newFakeClock()
			ts := newTS(fa, clk, "-")
			tok, err := ts.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Expiry.Sub(clk.Now()); got != tt.want {
				t.Fatalf("valid for %v, want %v", got, tt.want)
			}
			if tok.APIDomain != "https://www.zohoapis.eu" || ts.APIDomain() != tok.APIDomain {
				t.Fatalf("api_domain %q / %q", tok.APIDomain, ts.APIDomain())
			}
			clk.Advance(tt.want - time.Second)
			_, _ = ts.Token(context.Background())
			if fa.refreshes.Load() != 1 {
				t.Fatalf("refreshed before expiry")
			}
			clk.Advance(time.Second)
			_, _ = ts.Token(context.Background())
			if fa.refreshes.Load() != 2 {
				t.Fatalf("did not refresh at expiry minus margin: %d refreshes", fa.refreshes.Load())
			}
		})
	}
}

func TestTokenErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		class tiers.Class
		want  string // substring of the message
	}{
		{"invalid_code", `{"error":"invalid_code"}`, tiers.ClassAuth, "refresh token revoked or wrong data centre — generate a new one in the API console for the DC of your org"},
		{"invalid_client", `{"error":"invalid_client"}`, tiers.ClassAuth, "wrong data centre"},
		{"invalid_client_secret", `{"error":"invalid_client_secret"}`, tiers.ClassAuth, "client secret does not match"},
		{"throttle", `{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}`, tiers.ClassRateLimited, "refresh cap reached (10 per 10 minutes); the proxy will retry after"},
		{"other error", `{"error":"invalid_scope"}`, tiers.ClassAuth, "invalid_scope"},
		{"no token, no error", `{"status":"ok"}`, tiers.ClassUnavailable, "without an access token"},
		{"not json", `<html>oops</html>`, tiers.ClassUnavailable, "not a token response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fa := newFakeAccounts(t)
			fa.set(func(fa *fakeAccounts) { fa.body = tt.body })
			ts := newTS(fa, newFakeClock(), "-")
			_, err := ts.Token(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if c := class(t, err); c != tt.class {
				t.Fatalf("class %v, want %v (%v)", c, tt.class, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			assertNoSecrets(t, err.Error())
		})
	}
}

// TestTokenRateLimited: an accounts server that answers HTTP 429 has
// rate-limited the refresh; whatever its body says, the error must be
// ClassRateLimited and name HTTP 429 (and Retry-After when given), so that
// the agent learns why no token could be had.
func TestTokenRateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		retry string
		want  []string // substrings of the message
	}{
		{"zoho envelope", `{"code":"TOO_MANY_REQUESTS","status":"error","message":"too many requests"}`, "", []string{"HTTP 429", "rate-limited"}},
		{"blank body", " ", "", []string{"HTTP 429", "rate-limited"}},
		{"not json", "<html>slow down</html>", "", []string{"HTTP 429"}},
		{"retry after seconds", `{}`, "30", []string{"HTTP 429", "retry after 30s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fa := newFakeAccounts(t)
			fa.set(func(fa *fakeAccounts) { fa.status, fa.body, fa.retry = http.StatusTooManyRequests, tt.body, tt.retry })
			ts := newTS(fa, newFakeClock(), "-")
			_, err := ts.Token(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if c := class(t, err); c != tiers.ClassRateLimited {
				t.Fatalf("class %v, want rate_limited (%v)", c, err)
			}
			var te *tiers.Error
			if errors.As(err, &te); te.HTTPStatus != http.StatusTooManyRequests {
				t.Fatalf("HTTPStatus %d, want 429", te.HTTPStatus)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
			assertNoSecrets(t, err.Error())
		})
	}
}

func TestTokenRefreshCap(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	clk := newFakeClock()
	ts := newTS(fa, clk, "-")
	ctx := context.Background()
	for i := range DefaultRefreshCap {
		tok, err := ts.Token(ctx)
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		ts.Invalidate(tok.AccessToken) // force the next call to refresh
		clk.Advance(time.Second)
	}
	_, err := ts.Token(ctx)
	if c := class(t, err); c != tiers.ClassRateLimited || !strings.Contains(err.Error(), "refresh cap reached (10 per 10 minutes)") {
		t.Fatalf("11th refresh: %v (class %v)", err, c)
	}
	if n := fa.refreshes.Load(); n != DefaultRefreshCap {
		t.Fatalf("server saw %d refreshes; the local cap must stop the 11th", n)
	}
	clk.Advance(DefaultRefreshWindow) // the first refresh leaves the window
	if _, err := ts.Token(ctx); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestTokenThrottlePause(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	fa.set(func(fa *fakeAccounts) {
		fa.body = `{"error_description":"You have made too many requests continuously.","error":"Access Denied","status":"failure"}`
	})
	clk := newFakeClock()
	ts := newTS(fa, clk, "-")
	ctx := context.Background()
	if _, err := ts.Token(ctx); class(t, err) != tiers.ClassRateLimited {
		t.Fatalf("want rate limited, got %v", err)
	}
	fa.set(func(fa *fakeAccounts) { fa.body = "" })
	if _, err := ts.Token(ctx); class(t, err) != tiers.ClassRateLimited {
		t.Fatalf("during the pause: %v", err)
	}
	if n := fa.refreshes.Load(); n != 1 {
		t.Fatalf("server saw %d refreshes during the pause, want 1 (no hammering)", n)
	}
	clk.Advance(DefaultThrottlePause)
	if _, err := ts.Token(ctx); err != nil {
		t.Fatalf("after the pause: %v", err)
	}
}

func TestTokenInvalidateOnlyOnce(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	ts := newTS(fa, newFakeClock(), "-")
	ctx := context.Background()
	old, _ := ts.Token(ctx)
	ts.Invalidate(old.AccessToken)
	fresh, err := ts.Token(ctx)
	if err != nil || fresh.AccessToken == old.AccessToken {
		t.Fatalf("after Invalidate: %v %v", fresh, err)
	}
	// A late caller rejected with the old token must not throw the new one away.
	ts.Invalidate(old.AccessToken)
	again, _ := ts.Token(ctx)
	if again.AccessToken != fresh.AccessToken || fa.refreshes.Load() != 2 {
		t.Fatalf("stale Invalidate caused a refresh: %d refreshes", fa.refreshes.Load())
	}
}

func TestTokenStaticAccessToken(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	ts := newTS(fa, newFakeClock(), "-", func(c *TokenSourceConfig) {
		c.Credential = Credential{AccessToken: "1000.static.tok"}
	})
	tok, err := ts.Token(context.Background())
	if err != nil || tok.AccessToken != "1000.static.tok" || fa.refreshes.Load() != 0 {
		t.Fatalf("static token: %v %v", tok, err)
	}
	ts.Invalidate("1000.static.tok")
	_, err = ts.Token(context.Background())
	if class(t, err) != tiers.ClassAuth || !strings.Contains(err.Error(), "no refresh token is configured") {
		t.Fatalf("rejected static token without refresh creds: %v", err)
	}
}

func TestTokenCallerCancel(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	gate := make(chan struct{})
	fa.set(func(fa *fakeAccounts) { fa.gate = gate })
	ts := newTS(fa, newFakeClock(), "-")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ts.Token(ctx)
	close(gate)
	if class(t, err) != tiers.ClassCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("want canceled, got %v", err)
	}
	// The refresh still completes for the next caller.
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialRedacted(t *testing.T) {
	t.Parallel()
	c := testCred()
	for _, s := range []string{c.String(), c.GoString(), c.LogValue().String()} {
		assertNoSecrets(t, s)
	}
	tok := Token{AccessToken: "1000.access.zz", APIDomain: "https://x"}
	assertNoSecrets(t, tok.String())
}

func TestTokenDiskCache(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	clk := newFakeClock()
	dir := t.TempDir()
	ts1 := newTS(fa, clk, dir)
	tok1, err := ts1.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("cache dir holds %d files, want 1 (no temp files left): %v", len(entries), entries)
	}
	name := entries[0].Name()
	if name != CacheFileName(testCred(), fa.srv.URL) || strings.Contains(name, testRefreshToken) || !strings.Contains(name, testClientID) {
		t.Fatalf("cache file name %q", name)
	}
	fi, _ := entries[0].Info()
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	// A second source (a restarted process) reuses the token: no refresh.
	ts2 := newTS(fa, clk, dir)
	tok2, err := ts2.Token(context.Background())
	if err != nil || tok2.AccessToken != tok1.AccessToken || fa.refreshes.Load() != 1 {
		t.Fatalf("second source: tok %v err %v refreshes %d", tok2, err, fa.refreshes.Load())
	}
	// Once rejected, the cached token is not reused.
	ts2.Invalidate(tok2.AccessToken)
	tok3, err := ts2.Token(context.Background())
	if err != nil || tok3.AccessToken == tok1.AccessToken || fa.refreshes.Load() != 2 {
		t.Fatalf("after invalidate: tok %v err %v refreshes %d", tok3, err, fa.refreshes.Load())
	}
}

func TestTokenDiskCacheIgnoresBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		warn    string
	}{
		{"corrupt", "{not json", 0o600, "corrupt"},
		{"foreign client", `{"v":1,"client_id":"other","access_token":"1000.access.evil","api_domain":"https://evil.example","expiry":"2099-01-01T00:00:00Z"}`, 0o600, "corrupt"},
		{"too permissive", `{"v":1,"client_id":"` + testClientID + `","access_token":"1000.access.old","api_domain":"https://www.zohoapis.com","expiry":"2099-01-01T00:00:00Z"}`, 0o644, "mode 0600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fa := newFakeAccounts(t)
			dir := t.TempDir()
			path := filepath.Join(dir, CacheFileName(testCred(), fa.srv.URL))
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			_ = os.Chmod(path, tt.mode)
			logger, logs := newLogger(slog.LevelWarn)
			ts := newTS(fa, newFakeClock(), dir, func(c *TokenSourceConfig) { c.Logger = logger })
			tok, err := ts.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if fa.refreshes.Load() != 1 || strings.Contains(tok.AccessToken, "evil") || strings.Contains(tok.AccessToken, "old") {
				t.Fatalf("bad cache file was used: %v, %d refreshes", tok, fa.refreshes.Load())
			}
			if !strings.Contains(logs.String(), tt.warn) || !strings.Contains(logs.String(), "level=WARN") {
				t.Fatalf("no warning about the %s file: %q", tt.name, logs.String())
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("cache not rewritten with 0600: %v %v", fi, err)
			}
		})
	}
}

func TestTokenDiskCacheDisabled(t *testing.T) {
	t.Parallel()
	if c := newTokenCache("-", testCred(), "http://x", slog.Default()); c != nil {
		t.Fatal("\"-\" must disable the cache")
	}
}
