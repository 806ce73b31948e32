package zoho

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// fakeShared is a SharedTokens in memory: it hands out its token unless it
// is stale, else runs grant and keeps its result; down makes it answer
// ErrNotShared.
type fakeShared struct {
	mu     sync.Mutex
	tok    Token
	stales []string
	grants int
	down   bool
}

func (f *fakeShared) Refresh(ctx context.Context, stale string, grant func(context.Context) (Token, bool, error)) (Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stales = append(f.stales, stale)
	if f.down {
		return Token{}, fmt.Errorf("%w: connection refused", ErrNotShared)
	}
	if f.tok.AccessToken != "" && f.tok.AccessToken != stale {
		return f.tok, nil
	}
	f.grants++
	t, _, err := grant(ctx)
	if err == nil {
		f.tok = t
	}
	return t, err
}

// TestTokenSourceShared: with Shared, a replica takes the token another
// replica stored without a refresh grant; after Zoho rejects it, the
// rejected token is what it reports stale, and the one grant goes through
// Shared; when Shared is unusable the source refreshes on its own.
func TestTokenSourceShared(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	clk := newFakeClock()
	sh := &fakeShared{tok: Token{AccessToken: "1000.access.peer", APIDomain: "https://www.zohoapis.eu", Expiry: clk.Now().Add(time.Hour)}}
	ts := newTS(fa, clk, "-", func(c *TokenSourceConfig) { c.Shared = sh })
	ctx := context.Background()

	tok, err := ts.Token(ctx)
	if err != nil || tok.AccessToken != "1000.access.peer" {
		t.Fatalf("Token = %v, %v; want the token another replica stored", tok, err)
	}
	if n := fa.refreshes.Load(); n != 0 {
		t.Fatalf("%d refresh grants; want none (the shared token was there)", n)
	}
	if ts.APIDomain() != "https://www.zohoapis.eu" {
		t.Errorf("APIDomain = %q; want the shared token's", ts.APIDomain())
	}

	ts.Invalidate("1000.access.peer")
	sh.mu.Lock()
	sh.tok = Token{AccessToken: "1000.access.peer"} // still stored: the grant must replace it
	sh.mu.Unlock()
	tok, err = ts.Token(ctx)
	if err != nil || tok.AccessToken == "1000.access.peer" || tok.AccessToken == "" {
		t.Fatalf("after Invalidate: %v, %v; want a new token", tok, err)
	}
	if n := fa.refreshes.Load(); n != 1 || sh.grants != 1 {
		t.Fatalf("grants: %d at Zoho, %d through Shared; want 1 and 1", n, sh.grants)
	}
	if got := sh.stales[len(sh.stales)-1]; got != "1000.access.peer" {
		t.Errorf("stale = %q; want the rejected token", got)
	}

	// Shared unusable: the source refreshes by itself.
	sh.mu.Lock()
	sh.down = true
	sh.mu.Unlock()
	ts.Invalidate(tok.AccessToken)
	tok2, err := ts.Token(ctx)
	if err != nil || tok2.AccessToken == tok.AccessToken {
		t.Fatalf("with Shared down: %v, %v; want a local refresh", tok2, err)
	}
	if n := fa.refreshes.Load(); n != 2 {
		t.Errorf("%d grants at Zoho; want 2 (one local)", n)
	}
}

// TestTokenSourceSharedErrors: a failed grant run through Shared reaches
// the caller as the tier's classified error.
func TestTokenSourceSharedErrors(t *testing.T) {
	t.Parallel()
	fa := newFakeAccounts(t)
	fa.set(func(fa *fakeAccounts) { fa.body = `{"error":"invalid_code"}` })
	sh := &fakeShared{}
	ts := newTS(fa, newFakeClock(), "-", func(c *TokenSourceConfig) { c.Shared = sh })
	_, err := ts.Token(context.Background())
	var te *tiers.Error
	if !errors.As(err, &te) || te.Class != tiers.ClassAuth || sh.grants != 1 {
		t.Fatalf("err = %v (grants %d); want the auth error of the one shared grant", err, sh.grants)
	}
}
