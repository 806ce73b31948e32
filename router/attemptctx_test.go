package router

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// ctxTier is a fake tier whose GetRaw keeps the context of each call and
// answers err (or a record).
type ctxTier struct {
	*tierstest.Tier
	err  error
	ctxs []context.Context
}

func (t *ctxTier) GetRaw(ctx context.Context, _ tiers.GetRequest) (json.RawMessage, error) {
	t.ctxs = append(t.ctxs, ctx)
	if t.err != nil {
		return nil, t.err
	}
	return json.RawMessage(`{"id":"1"}`), nil
}

type callerKey struct{}

// An attempt's context carries the caller's values and scopes, the
// attempt's own retry budget in place of any the caller set, and a
// deadline, and it ends when the attempt does; each attempt has its own.
func TestAttemptContext(t *testing.T) {
	t.Parallel()
	mcp, bulk, rest := newFakes()
	fail := classErr(tiers.MCP, tiers.ClassUnavailable)
	t1, t2, t3 := &ctxTier{Tier: mcp, err: fail}, &ctxTier{Tier: bulk, err: classErr(tiers.Bulk, tiers.ClassUnavailable)}, &ctxTier{Tier: rest}
	r, err := New(Config{Failover: true}, t1, t2, t3)
	if err != nil {
		t.Fatal(err)
	}
	parent := tiers.WithRetryBudget(context.WithValue(context.Background(), callerKey{}, "agent-7"), tiers.RetryBudget{MaxRetries: 99})
	rc := RoutingContext{OperationType: tiers.OpGet, RecordCount: 1, AgentContext: true, Tools: []string{"crm.read"}}
	if _, route, err := r.GetRaw(parent, rc, tiers.GetRequest{Module: "Accounts", ID: "1"}); err != nil || route.Tier != tiers.REST {
		t.Fatalf("GetRaw = %+v, %v", route, err)
	}
	full := tiers.RetryBudget{MaxRetries: DefaultTierConfigs()[2].MaxRetries, MaxBackoff: fullBudgetBackoff}
	var seen []context.Context
	for _, tc := range []struct {
		tier   *ctxTier
		budget tiers.RetryBudget
	}{{t1, tiers.QuickRetry}, {t2, tiers.QuickRetry}, {t3, full}} {
		if len(tc.tier.ctxs) != 1 {
			t.Fatalf("%s called %d times, want 1", tc.tier.Name(), len(tc.tier.ctxs))
		}
		ctx := tc.tier.ctxs[0]
		if b, ok := tiers.RetryBudgetFrom(ctx); !ok || b != tc.budget {
			t.Errorf("%s: budget %+v (%v), want %+v", tc.tier.Name(), b, ok, tc.budget)
		}
		if v := ctx.Value(callerKey{}); v != "agent-7" {
			t.Errorf("%s: the caller's value = %v, want agent-7", tc.tier.Name(), v)
		}
		if s := tiers.ScopesFrom(ctx); len(s) != 1 || s[0] != "crm.read" {
			t.Errorf("%s: scopes %v, want [crm.read]", tc.tier.Name(), s)
		}
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > 30*time.Second {
			t.Errorf("%s: deadline %v (%v), want one within the call's timeout", tc.tier.Name(), d, ok)
		}
		if ctx.Err() == nil {
			t.Errorf("%s: the attempt's context did not end with the attempt", tc.tier.Name())
		}
		for _, other := range seen {
			if other == ctx {
				t.Errorf("%s: shares its context with an earlier attempt", tc.tier.Name())
			}
		}
		seen = append(seen, ctx)
	}
}

// A call's own work on the router's side, served by the first tier, makes
// a fixed number of allocations: counted, so that one more is seen.
func TestGetRawAllocations(t *testing.T) {
	mcp, bulk, rest := newFakes()
	r, err := New(Config{Failover: true}, &rawTier{Tier: mcp, raw: json.RawMessage(`{"id":"1"}`)}, bulk, rest)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc := RoutingContext{OperationType: tiers.OpGet, RecordCount: 1, AgentContext: true, Tools: []string{"crm.read"}}
	req := tiers.GetRequest{Module: "Accounts", ID: "1"}
	n := testing.AllocsPerRun(200, func() {
		if _, _, err := r.GetRaw(ctx, rc, req); err != nil {
			t.Fatal(err)
		}
	})
	// The route's attempts, the scopes (a context value and the boxed
	// slice), the attempt's budget (one: it was two, a context value and
	// the boxed budget), and its deadline (four, in package context and
	// the timer).
	const want = 8
	if n > want {
		t.Errorf("GetRaw allocates %v times, want at most %d", n, want)
	}
}
