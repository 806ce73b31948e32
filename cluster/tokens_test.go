package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
)

// grantFunc counts calls and hands out tok-1, tok-2, … valid for an hour.
type grantFunc struct {
	clk     *clock
	calls   atomic.Int64
	gate    chan struct{} // when non-nil, each grant waits for a value on it
	entered chan struct{}
	err     error
}

func (g *grantFunc) grant(ctx context.Context) (Token, error) {
	n := g.calls.Add(1)
	if g.entered != nil {
		g.entered <- struct{}{}
	}
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
	}
	if g.err != nil {
		return Token{}, g.err
	}
	return Token{AccessToken: fmt.Sprintf("1000.secret-access-%d", n), APIDomain: "https://www.zohoapis.eu", Expiry: g.clk.Now().Add(time.Hour)}, nil
}

func newTokens(t *testing.T, r replica, mod ...func(*TokensConfig)) *Tokens {
	t.Helper()
	cfg := TokensConfig{Key: testKey}
	for _, m := range mod {
		m(&cfg)
	}
	tk, err := NewTokens(r.c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

var credA = NewCredentialID("https://accounts.zoho.eu", "1000.CLIENT", "1000.refresh-secret")

func TestTokensOneRefreshForManyReplicas(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	g := &grantFunc{clk: clk, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	var reps []*Tokens
	for range 3 {
		reps = append(reps, newTokens(t, newReplica(t, srv, clk)))
	}
	ctx := ctxT(t)
	const callers = 30
	got := make(chan string, callers)
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			tok, err := reps[i%3].Refresh(ctx, credA, "", g.grant)
			if err != nil {
				errs <- err
				return
			}
			got <- tok.AccessToken
		})
	}
	<-g.entered // one replica is granting; hold it while the others pile up
	close(g.gate)
	wg.Wait()
	close(got)
	close(errs)
	for err := range errs {
		t.Fatalf("Refresh: %v", err)
	}
	n := 0
	for tok := range got {
		n++
		if tok != "1000.secret-access-1" {
			t.Errorf("caller got %q, want the one shared token", tok)
		}
	}
	if n != callers || g.calls.Load() != 1 {
		t.Fatalf("%d callers served with %d grants, want %d and 1", n, g.calls.Load(), callers)
	}
	// A replica that starts later reads it without refreshing.
	late := newTokens(t, newReplica(t, srv, clk))
	tok, ok, err := late.Get(ctx, credA)
	if err != nil || !ok || tok.AccessToken != "1000.secret-access-1" || tok.APIDomain != "https://www.zohoapis.eu" {
		t.Fatalf("Get = %v, %v, %v", tok, ok, err)
	}
}

func TestTokensStaleTokenIsReplacedOnce(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	g := &grantFunc{clk: clk}
	a := newTokens(t, newReplica(t, srv, clk))
	b := newTokens(t, newReplica(t, srv, clk))
	ctx := ctxT(t)
	t1, err := a.Refresh(ctx, credA, "", g.grant)
	if err != nil {
		t.Fatal(err)
	}
	// Zoho rejects t1 on replica B: B refreshes.
	t2, err := b.Refresh(ctx, credA, t1.AccessToken, g.grant)
	if err != nil || t2.AccessToken == t1.AccessToken {
		t.Fatalf("B's refresh = %v, %v; want a new token", t2, err)
	}
	// A finds t1 rejected too: it gets t2 without another grant.
	t3, err := a.Refresh(ctx, credA, t1.AccessToken, g.grant)
	if err != nil || t3.AccessToken != t2.AccessToken {
		t.Fatalf("A's refresh = %v, %v; want %v", t3, err, t2)
	}
	// An expired token is refreshed too.
	clk.Advance(time.Hour)
	t4, err := a.Refresh(ctx, credA, "", g.grant)
	if err != nil || t4.AccessToken == t2.AccessToken {
		t.Fatalf("refresh after expiry = %v, %v", t4, err)
	}
	if g.calls.Load() != 3 {
		t.Fatalf("%d grants, want 3", g.calls.Load())
	}
}

func TestTokensStaleFenceDoesNotOverwrite(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	slow := &grantFunc{clk: clk, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	a := newTokens(t, newReplica(t, srv, clk))
	b := newTokens(t, newReplica(t, srv, clk))
	ctx := ctxT(t)

	done := make(chan Token, 1)
	go func() {
		tok, err := a.Refresh(ctx, credA, "", func(ctx context.Context) (Token, error) {
			tok, err := slow.grant(ctx)
			tok.AccessToken = "1000.from-A-with-the-old-fence"
			return tok, err
		})
		if err != nil {
			t.Errorf("A: %v", err)
		}
		done <- tok
	}()
	<-slow.entered
	// A's lock expires (A stalled, e.g. a GC pause): B takes a newer fence.
	_, lockKey, _, _, _, _ := a.keys(credA)
	if n, err := rdb.Del(ctx, lockKey).Result(); err != nil || n != 1 {
		t.Fatalf("deleting A's lock: %d, %v", n, err)
	}
	g := &grantFunc{clk: clk}
	tb, err := b.Refresh(ctx, credA, "", g.grant)
	if err != nil {
		t.Fatal(err)
	}
	close(slow.gate)
	<-done
	got, ok, err := b.Get(ctx, credA)
	if err != nil || !ok || got.AccessToken != tb.AccessToken {
		t.Fatalf("stored token = %v (%v, %v); A's stale fence overwrote B's %v", got, ok, err, tb)
	}
}

func TestTokensCapIsShared(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	g := &grantFunc{clk: clk}
	capped := func(c *TokensConfig) { c.RefreshCap, c.RefreshWindow = 3, 10*time.Minute }
	reps := []*Tokens{newTokens(t, newReplica(t, srv, clk), capped), newTokens(t, newReplica(t, srv, clk), capped)}
	ctx := ctxT(t)
	first := clk.Now()
	stale := ""
	for i := range 3 {
		tok, err := reps[i%2].Refresh(ctx, credA, stale, g.grant)
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		stale = tok.AccessToken
		clk.Advance(time.Minute)
	}
	_, err := reps[1].Refresh(ctx, credA, stale, g.grant)
	var re *RefusedError
	if !errors.As(err, &re) || re.ZohoRefused || !re.Until.Equal(first.Add(10*time.Minute)) {
		t.Fatalf("4th refresh: %v; want the cap refusal until %v", err, first.Add(10*time.Minute))
	}
	if g.calls.Load() != 3 {
		t.Fatalf("%d grants sent, want 3", g.calls.Load())
	}
	clk.Advance(8 * time.Minute) // the first grant leaves the window
	if _, err := reps[0].Refresh(ctx, credA, stale, g.grant); err != nil {
		t.Fatalf("refresh after the window slid: %v", err)
	}
}

var errDenied = errors.New("refresh refused by Zoho (Access Denied)")

func TestTokensHoldOffAfterZohoRefused(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	refused := func(c *TokensConfig) { c.Refused = func(err error) bool { return errors.Is(err, errDenied) } }
	a := newTokens(t, newReplica(t, srv, clk), refused)
	b := newTokens(t, newReplica(t, srv, clk), refused)
	ctx := ctxT(t)
	bad := &grantFunc{clk: clk, err: errDenied}
	if _, err := a.Refresh(ctx, credA, "", bad.grant); !errors.Is(err, errDenied) {
		t.Fatalf("A: %v, want Zoho's refusal", err)
	}
	good := &grantFunc{clk: clk}
	clk.Advance(time.Minute)
	_, err := b.Refresh(ctx, credA, "", good.grant)
	var re *RefusedError
	if !errors.As(err, &re) || !re.ZohoRefused || !re.Until.Equal(clk.Now().Add(9*time.Minute)) {
		t.Fatalf("B: %v; want the shared hold-off until the window ends", err)
	}
	if good.calls.Load() != 0 {
		t.Fatal("B sent a grant during the hold-off")
	}
	clk.Advance(9 * time.Minute)
	if _, err := b.Refresh(ctx, credA, "", good.grant); err != nil {
		t.Fatalf("after the hold-off: %v", err)
	}
}

func TestTokensUncountedGrantFreesItsSlot(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	errDial := errors.New("connection refused")
	tk := newTokens(t, newReplica(t, srv, clk), func(c *TokensConfig) {
		c.RefreshCap, c.RefreshWindow = 1, 10*time.Minute
		c.Counted = func(err error) bool { return !errors.Is(err, errDial) }
	})
	ctx := ctxT(t)
	if _, err := tk.Refresh(ctx, credA, "", (&grantFunc{clk: clk, err: errDial}).grant); !errors.Is(err, errDial) {
		t.Fatal(err)
	}
	if _, err := tk.Refresh(ctx, credA, "", (&grantFunc{clk: clk}).grant); err != nil {
		t.Fatalf("a grant that never reached Zoho still used the only slot: %v", err)
	}
}

func TestTokensWaitersSeeThePeersFailure(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a := newTokens(t, newReplica(t, srv, clk))
	b := newTokens(t, newReplica(t, srv, clk))
	ctx := ctxT(t)
	failing := &grantFunc{clk: clk, gate: make(chan struct{}), entered: make(chan struct{}, 1), err: errors.New("client id unknown at accounts.zoho.eu")}
	aDone := make(chan error, 1)
	go func() { _, err := a.Refresh(ctx, credA, "", failing.grant); aDone <- err }()
	<-failing.entered
	bGrant := &grantFunc{clk: clk}
	bDone := make(chan error, 1)
	go func() { _, err := b.Refresh(ctx, credA, "", bGrant.grant); bDone <- err }()
	// B is waiting once the lock holder it waits for is known; let A fail.
	waitFor(t, func() bool { return b.c.rdb.Exists(ctx, lockOf(b)).Val() == 1 })
	close(failing.gate)
	if err := <-aDone; err == nil {
		t.Fatal("A succeeded")
	}
	err := <-bDone
	var pe *PeerError
	if err != nil && errors.As(err, &pe) {
		if !strings.Contains(pe.Message, "client id unknown") {
			t.Fatalf("PeerError %q lost the reason", pe.Message)
		}
	} else if bGrant.calls.Load() != 1 || err != nil {
		// B may have arrived after A failed: then it refreshed itself.
		t.Fatalf("B: %v (grants %d)", err, bGrant.calls.Load())
	}
}

func lockOf(tk *Tokens) string { _, l, _, _, _, _ := tk.keys(credA); return l }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTokensEncryptedAtRestAndKeysHoldNoSecret(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	a := newTokens(t, newReplica(t, srv, clk))
	ctx := ctxT(t)
	tok, err := a.Refresh(ctx, credA, "", (&grantFunc{clk: clk}).grant)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatal(keys, err)
	}
	for _, k := range keys {
		for _, secret := range []string{"refresh-secret", "1000.CLIENT", "secret-access"} {
			if strings.Contains(k, secret) {
				t.Errorf("key %q contains %q", k, secret)
			}
		}
		if typ := rdb.Type(ctx, k).Val(); typ == "string" || typ == "hash" {
			var vals []string
			if typ == "string" {
				vals = []string{rdb.Get(ctx, k).Val()}
			} else {
				for _, v := range rdb.HGetAll(ctx, k).Val() {
					vals = append(vals, v)
				}
			}
			for _, v := range vals {
				if strings.Contains(v, tok.AccessToken) || strings.Contains(v, "zohoapis") {
					t.Errorf("key %q stores the token in the clear", k)
				}
			}
		}
	}

	// Another key: a clear error that says what to fix, and no panic.
	other := []byte("ffffffffffffffffffffffffffffffff")
	b := newTokens(t, newReplica(t, srv, clk), func(c *TokensConfig) { c.Key = other })
	_, _, err = b.Get(ctx, credA)
	if !errors.Is(err, ErrWrongKey) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "ZOHO_MCP_PROXY_REDIS_KEY") {
		t.Fatalf("Get with another key: %v", err)
	}
	if _, err := b.Refresh(ctx, credA, "", (&grantFunc{clk: clk}).grant); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Refresh with another key: %v; must not overwrite the others' token", err)
	}

	// A damaged value is replaced by the next refresh, not trusted.
	tokKey, _, _, _, _, _ := a.keys(credA)
	sealed := []byte(rdb.HGet(ctx, tokKey, "c").Val())
	sealed[len(sealed)-1] ^= 1
	rdb.HSet(ctx, tokKey, "c", sealed)
	if _, ok, err := a.Get(ctx, credA); ok || err != nil {
		t.Fatalf("damaged token: ok=%v err=%v", ok, err)
	}
	t2, err := a.Refresh(ctx, credA, "", (&grantFunc{clk: clk}).grant)
	if err != nil || t2.AccessToken == "" {
		t.Fatal(t2, err)
	}

	// A token moved under another credential's key does not open there.
	credB := NewCredentialID("https://accounts.zoho.eu", "1000.CLIENT", "1000.other-refresh")
	tokB, _, _, _, _, _ := a.keys(credB)
	c := rdb.HGet(ctx, tokKey, "c").Val()
	rdb.HSet(ctx, tokB, "v", "99", "c", c)
	if _, ok, _ := a.Get(ctx, credB); ok {
		t.Fatal("a token copied to another credential's key was accepted")
	}
}

func TestTokensRedisDownFallsBackAndLogsOnce(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	r := newReplica(t, srv, clk, func(c *Config) { c.Timeout = time.Second })
	tk := newTokens(t, r)
	ctx := ctxT(t)
	srv.Stop()
	g := &grantFunc{clk: clk}
	for range 50 {
		_, err := tk.Refresh(ctx, credA, "", g.grant)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Refresh with Redis down: %v, want ErrUnavailable", err)
		}
	}
	if g.calls.Load() != 0 {
		t.Fatal("a grant was sent through the shared path with Redis down")
	}
	if n := r.log.count("unusable"); n != 1 {
		t.Fatalf("%d 'unusable' log lines for 50 calls, want 1: %q", n, r.log.lines())
	}
}

func TestNewCredentialID(t *testing.T) {
	t.Parallel()
	a := NewCredentialID("https://accounts.zoho.eu/", "id", "rt")
	if a != NewCredentialID("https://accounts.zoho.eu", "id", "rt") {
		t.Error("a trailing slash changed the id")
	}
	for _, other := range []CredentialID{
		NewCredentialID("https://accounts.zoho.com", "id", "rt"),
		NewCredentialID("https://accounts.zoho.eu", "id2", "rt"),
		NewCredentialID("https://accounts.zoho.eu", "id", "rt2"),
	} {
		if other == a {
			t.Error("different credentials share an id")
		}
	}
	if len(a) != 32 || strings.Contains(string(a), "rt") {
		t.Errorf("id %q", a)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	const good = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	tests := []struct {
		name, in, wantErr string
	}{
		{"std padded", good, ""},
		{"raw std", strings.TrimRight(good, "="), ""},
		{"with newline", good + "\n", ""},
		{"empty", "", "empty"},
		{"short", "c2hvcnQ=", "decodes to 5 bytes"},
		{"not base64", "this is not base64!!", "not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if tt.wantErr == "" {
				if err != nil || string(k) != string(testKey) {
					t.Fatalf("ParseKey = %q, %v", k, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.in != "" && strings.Contains(err.Error(), tt.in) {
				t.Fatal("the error repeats the key")
			}
		})
	}
}
