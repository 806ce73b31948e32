package router

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// sharedFake stands for breakers kept outside the router (as
// cluster.SharedBreaker keeps them in Redis): one two-step breaker per tier
// name, whichever router asks for it, so routers built on it share their
// breakers like replicas.
type sharedFake struct {
	mu     sync.Mutex
	byName map[string]*fakeExt
	made   int
}

type fakeExt struct {
	*gobreaker.TwoStepCircuitBreaker[struct{}]
	resets int
	st     gobreaker.Settings
}

func (f *fakeExt) Seen() gobreaker.State { return f.State() }

func (f *fakeExt) Reset(context.Context) error {
	f.resets++
	from := f.State()
	f.TwoStepCircuitBreaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](f.st)
	if from != gobreaker.StateClosed {
		f.st.OnStateChange(f.st.Name, from, gobreaker.StateClosed)
	}
	return nil
}

func (s *sharedFake) newBreaker(st gobreaker.Settings) Breaker {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.made++
	if b, ok := s.byName[st.Name]; ok {
		return b
	}
	b := &fakeExt{TwoStepCircuitBreaker: gobreaker.NewTwoStepCircuitBreaker[struct{}](st), st: st}
	s.byName[st.Name] = b
	return b
}

var _ Resetter = (*fakeExt)(nil)

// TestExternalBreakers: with Config.NewBreaker, the router routes through
// the breakers it is given: failures through one router open tier 1 for
// another sharing them, which then fails over without calling tier 1;
// ResetBreakers closes a Resetter in place (not a new breaker) and reports
// the change with its reason.
func TestExternalBreakers(t *testing.T) {
	t.Parallel()
	shared := &sharedFake{byName: map[string]*fakeExt{}}
	setup := func(cfg *Config, mcp, bulk, _ *tierstest.Tier) {
		bulk.Store = newStore(3)
		cfg.NewBreaker = shared.newBreaker
		cfg.BreakerThreshold = 2
		cfg.BreakerTimeout = time.Hour
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
	}
	a := newEnv(t, setup)
	b := newEnv(t, setup)
	if shared.made != 6 || len(shared.byName) != 3 {
		t.Fatalf("NewBreaker made %d breakers for %d names; want 6 for 3", shared.made, len(shared.byName))
	}
	ctx := context.Background()
	for range 2 {
		if _, rt, err := a.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1000"}); err != nil || rt.Tier != tiers.Bulk {
			t.Fatalf("replica a: route %+v, err %v; want a failover to BULK", rt, err)
		}
	}
	mcpCalls := len(b.mcp.Calls())
	_, rt, err := b.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1000"})
	if got := outcomes(rt); err != nil || !slices.Equal(got, []string{"MCP:breaker_open", "BULK:success"}) {
		t.Fatalf("replica b: attempts %v, err %v; want MCP refused by the shared breaker, BULK served", got, err)
	}
	if len(b.mcp.Calls()) != mcpCalls {
		t.Error("replica b called tier 1 through an open shared breaker")
	}
	if h := b.r.Health()[0]; h.CircuitBreaker.State != "open" {
		t.Errorf("replica b health: %+v; want MCP open", h)
	}
	if b.r.Ready() != true {
		t.Error("replica b not ready with BULK and REST closed")
	}

	b.r.ResetBreakers()
	if n := shared.byName["MCP"].resets; n != 1 {
		t.Errorf("Reset called %d times on the shared MCP breaker; want 1", n)
	}
	if shared.made != 6 {
		t.Errorf("ResetBreakers made new breakers (%d made); a Resetter is reset in place", shared.made)
	}
	if h := a.r.Health()[0]; h.CircuitBreaker.State != "closed" {
		t.Errorf("replica a after b's reset: %+v; want closed", h)
	}
	// The change was reported by the router whose settings made the
	// breaker (a): each replica reports the changes its breaker tells it.
	var got []string
	for _, c := range a.r.BreakerChanges() {
		got = append(got, c.From+">"+c.To+": "+c.Reason)
	}
	want := []string{"closed>open: 2 consecutive failures", "open>closed: reset by reset_circuit_breakers"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("changes %q; want %q", got, want)
	}
}

// TestExternalBreakerCountsAPanic: a panic in a tier under an external
// breaker is recorded as a failure (so a half-open breaker is not left
// waiting for the outcome) and re-raised, as gobreaker's Execute does.
func TestExternalBreakerCountsAPanic(t *testing.T) {
	t.Parallel()
	shared := &sharedFake{byName: map[string]*fakeExt{}}
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.NewBreaker = shared.newBreaker
		cfg.BreakerThreshold = 1
		mcp.Behave = func(context.Context, int, tierstest.Call) error { panic("boom") }
	})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v; want the tier's panic", r)
			}
		}()
		_, _, _ = e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1000"})
	}()
	if st := shared.byName["MCP"].State(); st != gobreaker.StateOpen {
		t.Errorf("MCP breaker %v after a panic; want open (the panic counted as a failure)", st)
	}
}
