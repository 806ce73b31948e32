package router

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// near reports whether d is within tol of want.
func near(d, want, tol time.Duration) bool { return d > want-tol && d < want+tol }

// TestAttemptBudgetWithDefaults: with the shipped defaults (a 30s call
// deadline; tier timeouts 30s, 60s, 45s, all longer than a third of it) each
// attempt gets an equal share of the time left among the tiers still to try,
// so a tier that hangs leaves time for the others. Before, tier 1 got the
// whole 30s. The fakes answer at once; the test reads the deadlines they got.
func TestAttemptBudgetWithDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, mcp, bulk, _ *tierstest.Tier) {
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
		bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassUnavailable))
	})
	t0 := time.Now()
	if _, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil || rt.Tier != tiers.REST {
		t.Fatalf("err = %v, route %+v", err, rt)
	}
	const tol = time.Second
	for _, c := range []struct {
		f    *tierstest.Tier
		want time.Duration
	}{
		{e.mcp, 10 * time.Second},  // 30s among MCP, BULK, REST
		{e.bulk, 15 * time.Second}, // ≈30s left among BULK, REST
		{e.rest, 30 * time.Second}, // the rest of the call's deadline (REST's own 45s is longer)
	} {
		calls := c.f.Calls()
		if len(calls) != 1 || !calls[0].HasDeadline {
			t.Fatalf("%s: calls %+v", c.f.Name(), calls)
		}
		if d := calls[0].Deadline.Sub(t0); !near(d, c.want, tol) {
			t.Errorf("%s got %v of the call, want about %v", c.f.Name(), d.Round(time.Millisecond), c.want)
		}
	}

	// A tier whose breaker is open will be skipped: it takes no share.
	e2 := newEnv(t, func(cfg *Config, _, bulk, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 1
		bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassUnavailable))
	})
	if _, _, err := e2.r.Get(context.Background(), RoutingContext{PreferredTier: tiers.Bulk}, tiers.GetRequest{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if st := e2.r.Health()[1].CircuitBreaker.State; st != "open" {
		t.Fatalf("BULK breaker %s, want open", st)
	}
	t0 = time.Now()
	if _, _, err := e2.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	calls := e2.mcp.Calls()
	if d := calls[len(calls)-1].Deadline.Sub(t0); !near(d, 15*time.Second, tol) {
		t.Errorf("MCP got %v with BULK open, want about 15s (30s between MCP and REST)", d.Round(time.Millisecond))
	}
}

// applyThenHang is a tier that applies an update (one or many records) to
// store and then never answers, like Zoho's hang_after_apply.
func applyThenHang(store *tierstest.Store) func(context.Context, int, tierstest.Call) error {
	return func(ctx context.Context, _ int, c tierstest.Call) error {
		switch req := c.Req.(type) {
		case tiers.UpdateRequest:
			store.Apply(req.ID, req.Data)
		case tiers.BulkUpdateRequest:
			for _, u := range req.Updates {
				store.Apply(u.ID, u.Data)
			}
		default:
			return nil
		}
		<-ctx.Done()
		return ctx.Err()
	}
}

// TestHungTierLeavesTimeForTheNext: the default tier timeouts (30s, 60s,
// 45s) are all longer than a short call deadline. A tier that hangs must
// still be given up early enough for the next tiers to serve the call, its
// timeout must count against its breaker, and a write that hung after it was
// applied must end reconciled, not unknown. Before the fix the hung tier ate
// the whole deadline: the others were skipped_deadline, the breaker was not
// told, and the writes ended OUTCOME_UNKNOWN.
func TestHungTierLeavesTimeForTheNext(t *testing.T) {
	t.Parallel()
	const callTimeout = 600 * time.Millisecond
	ids := []string{"1000", "1001", "1002"}
	tests := []struct {
		name         string
		hung         func(e *env) *tierstest.Tier
		call         func(e *env) (tiers.Route, string, error)
		wantAttempts []string
		wantMsg      string
	}{
		{
			name: "get",
			hung: func(e *env) *tierstest.Tier { e.mcp.Behave = tierstest.Hang; return e.mcp },
			call: func(e *env) (tiers.Route, string, error) {
				_, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{Module: "Accounts", ID: "1000"})
				return rt, "", err
			},
			wantAttempts: []string{"MCP:unavailable", "BULK:success"},
		},
		{
			name: "update hangs after it was applied",
			hung: func(e *env) *tierstest.Tier { e.mcp.Behave = applyThenHang(e.mcp.Store); return e.mcp },
			call: func(e *env) (tiers.Route, string, error) {
				out, rt, err := e.r.Update(context.Background(), agentRC, tiers.UpdateRequest{Module: "Accounts", ID: "1000",
					Data: tiers.Record{"Phone": "555-0142"}})
				if err == nil && out.Status != tiers.StatusSuccess {
					t.Errorf("outcome %+v", out)
				}
				return rt, out.Message, err
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled"},
			wantMsg:      "reconciled: the update had already been applied",
		},
		{
			name: "bulk update hangs after it was applied",
			hung: func(e *env) *tierstest.Tier { e.bulk.Behave = applyThenHang(e.bulk.Store); return e.bulk },
			call: func(e *env) (tiers.Route, string, error) {
				req := tiers.BulkUpdateRequest{Module: "Accounts"}
				for _, id := range ids {
					req.Updates = append(req.Updates, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0142"}})
				}
				res, rt, err := e.r.BulkUpdate(context.Background(), agentRC, req)
				msg := ""
				for _, o := range res.Outcomes {
					if o.Status != tiers.StatusSuccess {
						t.Errorf("outcome %+v", o)
					}
					msg = o.Message
				}
				return rt, msg, err
			},
			wantAttempts: []string{"BULK:outcome_unknown", "REST:reconciled"},
			wantMsg:      "reconciled: the update had already been applied",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newStore(3)
			e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
				cfg.CallTimeout = callTimeout // tier timeouts: the defaults
				cfg.BulkTimeout = callTimeout
				mcp.Store, bulk.Store, rest.Store = store, store, store
			})
			hung := tt.hung(e)
			t0 := time.Now()
			rt, msg, err := tt.call(e)
			if err != nil {
				t.Fatalf("err = %v, route %v", err, outcomes(rt))
			}
			if el := time.Since(t0); el > callTimeout+500*time.Millisecond {
				t.Errorf("took %v; the call's deadline is %v", el, callTimeout)
			}
			if got := outcomes(rt); !slices.Equal(got, tt.wantAttempts) {
				t.Errorf("attempts = %v, want %v", got, tt.wantAttempts)
			}
			if !strings.Contains(rt.Attempts[0].Error, "share of the call's deadline") {
				t.Errorf("the hung attempt's error does not say why it ended: %q", rt.Attempts[0].Error)
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q, want %q", msg, tt.wantMsg)
			}
			for _, h := range e.r.Health() {
				want := uint32(0)
				if h.Tier == hung.Name() {
					want = 1
				}
				if h.CircuitBreaker.FailureCount != want {
					t.Errorf("%s failure_count = %d, want %d", h.Tier, h.CircuitBreaker.FailureCount, want)
				}
			}
			if tt.wantMsg != "" { // a write: Zoho holds it
				if rec, _ := store.Get("1000", []string{"Phone"}); rec["Phone"] != "555-0142" {
					t.Errorf("record 1000: %v", rec)
				}
			}
		})
	}
}

// TestRouterDeadlineShareCountsCallerDeadlineDoesNot: the same hang counts
// against the tier's breaker when the router's own deadline was shared out,
// and not when the caller's earlier deadline was.
func TestRouterDeadlineShareCountsCallerDeadlineDoesNot(t *testing.T) {
	t.Parallel()
	for _, callerDeadline := range []bool{false, true} {
		e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
			cfg.MinAttemptTime = 10 * time.Millisecond
			if !callerDeadline {
				cfg.CallTimeout = 150 * time.Millisecond
			}
			mcp.Behave = tierstest.Hang
		})
		ctx := context.Background()
		if callerDeadline {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 150*time.Millisecond)
			defer cancel()
		}
		_, rt, err := e.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"})
		if err != nil || rt.Tier != tiers.Bulk {
			t.Fatalf("caller deadline %v: err = %v, route %v", callerDeadline, err, outcomes(rt))
		}
		want := uint32(1)
		if callerDeadline {
			want = 0
		}
		if f := e.r.Health()[0].CircuitBreaker.FailureCount; f != want {
			t.Errorf("caller deadline %v: MCP failure_count = %d, want %d", callerDeadline, f, want)
		}
	}
}

// TestOpenBreakerShowsItsFailureCount: gobreaker clears its counts when it
// opens; get_tier_health must still show the failures that opened it (it
// showed 0), and one more after a failed half-open trial.
func TestOpenBreakerShowsItsFailureCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 3
		cfg.BreakerTimeout = 30 * time.Millisecond
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
	})
	for range 3 {
		if _, _, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	h := e.r.Health()[0].CircuitBreaker
	if h.State != "open" || h.FailureCount != 3 {
		t.Fatalf("breaker %+v, want open with failure_count 3", h)
	}
	afterCooldown(t, e.r, tiers.MCP, 30*time.Millisecond)
	if _, _, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	h = e.r.Health()[0].CircuitBreaker
	if h.State != "open" || h.FailureCount != 4 {
		t.Fatalf("breaker after a failed trial %+v, want open with failure_count 4", h)
	}
	e.r.ResetBreakers()
	if h := e.r.Health()[0].CircuitBreaker; h.State != "closed" || h.FailureCount != 0 {
		t.Fatalf("breaker after reset %+v", h)
	}
}

// TestSuccessRateAgreesWithErrorCount: Zoho's verdicts are the tier serving
// the call. They counted as successes in success_rate but as errors in
// error_count and top_errors, so a tier answering only INVALID_DATA showed
// 100% success and N errors. Now the failure counts agree everywhere.
func TestSuccessRateAgreesWithErrorCount(t *testing.T) {
	t.Parallel()
	results := []error{nil, classErr(tiers.MCP, tiers.ClassVerdict), classErr(tiers.MCP, tiers.ClassUnavailable),
		classErr(tiers.MCP, tiers.ClassVerdict), classErr(tiers.MCP, tiers.ClassRateLimited), nil, classErr(tiers.MCP, tiers.ClassAuth)}
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 100
		mcp.Behave = func(_ context.Context, n int, _ tierstest.Call) error { return results[n%len(results)] }
	})
	for range 2 * len(results) {
		_, _, _ = e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
	}
	m := e.r.Metrics()[0]
	sum := int64(0)
	for _, n := range m.TopErrors {
		sum += n
	}
	if m.TotalRequests != 14 || m.ErrorCount != 6 || m.FailedRequests != m.ErrorCount || sum != m.ErrorCount ||
		m.SuccessfulRequests != m.TotalRequests-m.ErrorCount ||
		m.SuccessRate != round2(100*float64(m.TotalRequests-m.ErrorCount)/float64(m.TotalRequests)) {
		t.Fatalf("metrics disagree: %+v", m)
	}
}
