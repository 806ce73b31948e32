package mcp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// loggedIn starts an on-demand emulator on a fresh clock, logs in once with
// the fake browser into a fresh cache directory and returns the three.
func loggedIn(t *testing.T) (*zohosim.Sim, *tierstest.Clock, string) {
	t.Helper()
	clk := tierstest.NewClock(simStart)
	sim := onDemand(t, clk)
	dir := t.TempDir()
	b := newBrowser(t, nil)
	cfg := loginCfg(sim, b, dir, io.Discard)
	cfg.Now = clk.Now
	if _, err := Login(context.Background(), cfg); err != nil {
		t.Fatalf("Login: %v", err)
	}
	b.wait()
	sim.ResetLog()
	return sim, clk, dir
}

// authTier is a tier 1 over sim with the grant in dir, on clk.
func authTier(t *testing.T, sim *zohosim.Sim, clk *tierstest.Clock, dir string, mod func(*Config)) *Tier {
	return newTier(t, sim.MCPEndpoint(), func(c *Config) {
		c.CacheDir, c.Now = dir, clk.Now
		if mod != nil {
			mod(c)
		}
	})
}

// TestRefreshOnExpiry: when the injected clock passes the access token's
// expiry, the tier refreshes before calling (the emulator, on the same
// clock, would refuse the old token) and stores the rotated refresh token.
func TestRefreshOnExpiry(t *testing.T) {
	t.Parallel()
	sim, clk, dir := loggedIn(t)
	before := storedGrant(t, dir, sim.MCPEndpoint(), "")
	tr := authTier(t, sim, clk, dir, nil)
	ctx := context.Background()
	if _, err := tr.Get(ctx, getReq(simID(1))); err != nil {
		t.Fatal(err)
	}
	if st := sim.MCPAuthStats(); st.RefreshGrants != 0 {
		t.Fatalf("refreshed a fresh token: %+v", st)
	}
	clk.Advance(59*time.Minute + time.Second) // inside the one-minute margin
	if _, err := tr.Get(ctx, getReq(simID(2))); err != nil {
		t.Fatalf("Get after expiry: %v", err)
	}
	st := sim.MCPAuthStats()
	if st.RefreshGrants != 1 || st.Unauthorized != 0 {
		t.Fatalf("want one refresh before the call and no 401: %+v", st)
	}
	after := storedGrant(t, dir, sim.MCPEndpoint(), "")
	if after.RefreshToken == before.RefreshToken || after.AccessToken == before.AccessToken ||
		!after.Expiry.Equal(clk.Now().Add(59*time.Minute)) {
		t.Fatalf("the rotated grant was not stored: before %+v after %+v", before, after)
	}
	// The rotated refresh token is what a restarted process uses: had the
	// old one been kept, its replay would revoke the grant.
	clk.Advance(time.Hour)
	restarted := authTier(t, sim, clk, dir, nil)
	if _, err := restarted.Get(ctx, getReq(simID(3))); err != nil {
		t.Fatalf("restarted tier: %v", err)
	}
	if st := sim.MCPAuthStats(); st.RefreshGrants != 2 || st.FailedGrants != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRecoverFrom401: the server expires the token early; the tier's next
// call meets 401, refreshes once and succeeds on the second attempt. The
// write path recovers the same way, and the record is written once.
func TestRecoverFrom401(t *testing.T) {
	t.Parallel()
	sim, clk, dir := loggedIn(t)
	tr := authTier(t, sim, clk, dir, nil)
	ctx := context.Background()
	if _, err := tr.Get(ctx, getReq(simID(1))); err != nil {
		t.Fatal(err)
	}
	sim.ExpireMCPAccessTokens()
	if _, err := tr.Get(ctx, getReq(simID(2))); err != nil {
		t.Fatalf("Get after the server expired the token: %v", err)
	}
	if st := sim.MCPAuthStats(); st.RefreshGrants != 1 || st.Unauthorized != 1 {
		t.Fatalf("want one 401 and one refresh: %+v", st)
	}
	sim.ExpireMCPAccessTokens()
	id := simID(6)
	out, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0100"}})
	if err != nil || out.Status != tiers.StatusSuccess {
		t.Fatalf("Update after expiry: %+v, %v", out, err)
	}
	if w := sim.RecordWrites(id); w != 1 {
		t.Fatalf("record written %d times, want 1", w)
	}
	if st := sim.MCPAuthStats(); st.RefreshGrants != 2 || st.Unauthorized != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRevokedGrant: when the grant is revoked, the refresh after the 401 is
// refused; the call fails as the tier's credentials (ClassAuth), with no
// retry loop, and the tier then reports itself not configured, naming the
// fix, without calling the server again.
func TestRevokedGrant(t *testing.T) {
	t.Parallel()
	sim, clk, dir := loggedIn(t)
	var logs tierstest.Buffer
	tr := authTier(t, sim, clk, dir, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	ctx := context.Background()
	if _, err := tr.Get(ctx, getReq(simID(1))); err != nil {
		t.Fatal(err)
	}
	sim.RevokeMCPGrants()
	_, err := tr.Get(ctx, getReq(simID(2)))
	if classOf(err) != "auth_failed" || !strings.Contains(err.Error(), "zoho-mcp-proxy login") {
		t.Fatalf("Get after revocation = %v, want auth_failed naming login", err)
	}
	assertNoSecrets(t, "error", err.Error())
	if st := sim.MCPAuthStats(); st.Unauthorized != 1 || st.FailedGrants != 1 || st.RefreshGrants != 0 {
		t.Fatalf("want one 401 and one refused refresh: %+v", st)
	}
	if tr.Configured() || !strings.Contains(tr.Detail(), "run `zoho-mcp-proxy login` again") {
		t.Fatalf("after revocation: Configured %v, Detail %q", tr.Configured(), tr.Detail())
	}
	n := len(sim.Requests())
	for range 3 {
		if _, err := tr.Get(ctx, getReq(simID(3))); classOf(err) != "unsupported" {
			t.Fatalf("Get while a login is needed = %v, want unsupported", err)
		}
	}
	if len(sim.Requests()) != n || sim.MCPAuthStats().FailedGrants != 1 {
		t.Fatal("a tier that needs a login kept calling the server")
	}
	if c := strings.Count(logs.String(), "run `zoho-mcp-proxy login` again"); c != 1 {
		t.Fatalf("the need for a login was logged %d times, want once:\n%s", c, logs.String())
	}
	assertNoSecrets(t, "logs", logs.String())

	// A new login (another terminal) is picked up without a restart.
	b := newBrowser(t, nil)
	cfg := loginCfg(sim, b, dir, io.Discard)
	cfg.Now = clk.Now
	clk.Advance(time.Second)
	if _, err := Login(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	b.wait()
	clk.Advance(storeRecheck)
	if !tr.Configured() {
		t.Fatal("the new login was not picked up")
	}
	if _, err := tr.Get(ctx, getReq(simID(4))); err != nil {
		t.Fatalf("Get after a new login: %v", err)
	}
}

// TestNoLogin: an on-demand endpoint and no stored grant: the first contact
// meets the Bearer challenge; the tier fails that call as unsupported (the
// router fails over without a breaker failure) and from then on reports
// itself not configured, with the fix in Detail and Probe, sending nothing.
func TestNoLogin(t *testing.T) {
	t.Parallel()
	clk := tierstest.NewClock(simStart)
	sim := onDemand(t, clk)
	var logs tierstest.Buffer
	tr := authTier(t, sim, clk, t.TempDir(), func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	if !tr.Configured() || tr.Detail() != "" {
		t.Fatal("before any contact the tier cannot know the mode")
	}
	_, err := tr.Get(context.Background(), getReq(simID(1)))
	if classOf(err) != "unsupported" || !strings.Contains(err.Error(), "tier 1 needs `zoho-mcp-proxy login`") {
		t.Fatalf("first call = %v", err)
	}
	if tr.Configured() || !strings.Contains(tr.Detail(), "tier 1 needs `zoho-mcp-proxy login`") {
		t.Fatalf("Configured %v Detail %q", tr.Configured(), tr.Detail())
	}
	if err := tr.Probe(context.Background()); classOf(err) != "unsupported" || !strings.Contains(err.Error(), "login") {
		t.Fatalf("Probe = %v", err)
	}
	if st := sim.MCPAuthStats(); st.Unauthorized != 1 {
		t.Fatalf("want exactly one 401: %+v", st)
	}
	if c := strings.Count(logs.String(), "needs `zoho-mcp-proxy login`"); c != 1 {
		t.Fatalf("logged %d times, want once:\n%s", c, logs.String())
	}
}

// TestRefreshSingleFlight: twenty concurrent calls meet an expired token;
// one refresh serves them all. With rotating refresh tokens a second
// refresh would replay the spent one and revoke the grant, failing calls.
// Two tiers over the same cache (two processes: a stdio client starts the
// proxy once per conversation) share the refresh through the file lock.
func TestRefreshSingleFlight(t *testing.T) {
	t.Parallel()
	sim, clk, dir := loggedIn(t)
	a := authTier(t, sim, clk, dir, nil)
	b := authTier(t, sim, clk, dir, nil)
	ctx := context.Background()
	for _, tr := range []*Tier{a, b} {
		if _, err := tr.Get(ctx, getReq(simID(1))); err != nil {
			t.Fatal(err)
		}
	}
	for round, expire := range []func(){sim.ExpireMCPAccessTokens, func() { clk.Advance(time.Hour) }} {
		expire()
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			tr := a
			if i%2 == 1 {
				tr = b
			}
			wg.Go(func() {
				_, err := tr.Get(ctx, getReq(simID(i%30)))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: concurrent Get: %v", round, err)
			}
		}
		if st := sim.MCPAuthStats(); st.RefreshGrants != round+1 || st.FailedGrants != 0 {
			t.Fatalf("round %d: want one refresh in all: %+v", round, st)
		}
	}
}

// TestBearerNeverLeaks: the tokens of the grant never reach an error text or
// a log line, even at debug level.
func TestBearerNeverLeaks(t *testing.T) {
	t.Parallel()
	sim, clk, dir := loggedIn(t)
	var logs tierstest.Buffer
	tr := authTier(t, sim, clk, dir, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	g := storedGrant(t, dir, sim.MCPEndpoint(), "")
	ctx := context.Background()
	sim.ExpireMCPAccessTokens()
	_, _ = tr.Get(ctx, getReq(simID(1)))
	sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.Fault5xx})
	_, err := tr.Get(ctx, getReq(simID(1)))
	sim.ClearFaults()
	sim.RevokeMCPGrants()
	_, err2 := tr.Get(ctx, getReq(simID(1)))
	for _, text := range []string{logs.String(), errText(err), errText(err2)} {
		assertNoSecrets(t, "text", text, g.RefreshToken, g.AccessToken)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestAuthTransportKeyMode checks what the bearer transport sends without
// a grant: the request itself (no copy) when it has nothing to change, and
// a copy without the Authorization header when it has one, leaving the
// caller's request as it was.
func TestAuthTransportKeyMode(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body string
	at := &authTransport{
		next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r
			b, _ := io.ReadAll(r.Body)
			body = string(b)
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}"))}, nil
		}),
		b: newBearer(Config{CacheDir: t.TempDir(), Endpoint: "http://127.0.0.1/mcp/k/message", Now: time.Now}, &http.Client{}, slog.New(slog.DiscardHandler)),
	}
	for _, auth := range []string{"", "Bearer stale"} {
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/mcp/k/message", strings.NewReader(`{"jsonrpc":"2.0"}`))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		resp, err := at.RoundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if body != `{"jsonrpc":"2.0"}` {
			t.Errorf("Authorization %q: body sent = %q", auth, body)
		}
		if got.Header.Get("Authorization") != "" {
			t.Errorf("Authorization %q: sent with Authorization %q, want none", auth, got.Header.Get("Authorization"))
		}
		if (got == r) != (auth == "") {
			t.Errorf("Authorization %q: sent the caller's request itself: %v", auth, got == r)
		}
		if r.Header.Get("Authorization") != auth {
			t.Errorf("the caller's request changed: Authorization %q, want %q", r.Header.Get("Authorization"), auth)
		}
	}
}
