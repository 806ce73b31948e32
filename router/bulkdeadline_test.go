package router

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// progressing is a bulk update that takes steps ticks of every, reporting
// progress after each (as tiers/bulk does for every batch and job poll),
// then succeeds; it ends early with the context's error.
func progressing(steps int, every time.Duration) func(context.Context, tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	return func(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := range steps {
			select {
			case <-ctx.Done():
				return tiers.BulkUpdateResult{}, ctx.Err()
			case <-tick.C:
			}
			tiers.ReportProgress(ctx, tiers.Progress{Done: (i + 1) * len(req.Updates) / steps, Total: len(req.Updates),
				Message: "bulk write job 1: IN PROGRESS"})
		}
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job"}
		for _, u := range req.Updates {
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess})
		}
		return res, nil
	}
}

// recorder collects progress reports.
type recorder struct {
	mu sync.Mutex
	ps []tiers.Progress
}

func (r *recorder) report(p tiers.Progress) { r.mu.Lock(); r.ps = append(r.ps, p); r.mu.Unlock() }

func (r *recorder) all() []tiers.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tiers.Progress(nil), r.ps...)
}

// TestBulkCallGetsTheBulkDeadline: a bulk update that takes longer than
// the call deadline, progressing all along, is served: it gets the bulk
// deadline, and BULK's timeout bounds its silences, not its length (a job
// whose polls answer is not a hung tier). The reports reach the caller's
// reporter. A single-record call still gets the call deadline. Before, the
// bulk update was cut at the call deadline (and at BULK's timeout) and every
// record reported OUTCOME_UNKNOWN.
func TestBulkCallGetsTheBulkDeadline(t *testing.T) {
	t.Parallel()
	const callTimeout, tierTimeout = 150 * time.Millisecond, 100 * time.Millisecond
	store := newStore(10)
	e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
		cfg.CallTimeout, cfg.BulkTimeout = callTimeout, 5*time.Second
		cfg.Tiers = DefaultTierConfigs()
		for i := range cfg.Tiers {
			cfg.Tiers[i].Timeout = tierTimeout
		}
		bulk.Store, rest.Store = store, store
		bulk.OnBulkUpdate = progressing(12, 40*time.Millisecond) // ≈480ms, a report every 40ms
		mcp.Behave = tierstest.Hang
	})
	rec := &recorder{}
	ctx := tiers.WithProgress(context.Background(), rec.report)
	t0 := time.Now()
	res, rt, err := e.r.BulkUpdate(ctx, agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: bulkRecs(10)})
	took := time.Since(t0)
	if err != nil || rt.Tier != tiers.Bulk || strings.Join(outcomes(rt), " ") != "BULK:success" {
		t.Fatalf("err = %v, route %v", err, outcomes(rt))
	}
	if took < 3*callTimeout {
		t.Fatalf("took %v: the test did not outlast the call deadline", took)
	}
	for _, o := range res.Outcomes {
		if o.Status != tiers.StatusSuccess {
			t.Errorf("outcome %+v", o)
		}
	}
	ps := rec.all()
	if len(ps) < 10 || ps[len(ps)-1].Done != 10 || ps[len(ps)-1].Total != 10 || !strings.Contains(ps[0].Message, "IN PROGRESS") {
		t.Errorf("progress reports %+v", ps)
	}
	if f := e.r.Health()[1].CircuitBreaker.FailureCount; f != 0 {
		t.Errorf("BULK failure_count %d after a job that progressed", f)
	}
	// A single-record call keeps the call deadline.
	t0 = time.Now()
	_, _, err = e.r.Get(context.Background(), RoutingContext{PreferredTier: tiers.MCP}, tiers.GetRequest{ID: "1000"})
	if took := time.Since(t0); took > callTimeout+time.Second {
		t.Errorf("a get took %v with a %v call deadline (err %v)", took, callTimeout, err)
	}
}

// TestSilentBulkAttemptGivenUp: a bulk attempt that shows no progress is
// given up at its budget (its tier's timeout), counted against its breaker,
// and the next tier serves the call; the route says why.
func TestSilentBulkAttemptGivenUp(t *testing.T) {
	t.Parallel()
	const tierTimeout = 100 * time.Millisecond
	store := newStore(10)
	e := newEnv(t, func(cfg *Config, _, bulk, rest *tierstest.Tier) {
		cfg.BulkTimeout = 5 * time.Second
		cfg.Tiers = DefaultTierConfigs()
		for i := range cfg.Tiers {
			cfg.Tiers[i].Timeout = tierTimeout
		}
		bulk.Store, rest.Store = store, store
		bulk.Behave = tierstest.Hang
	})
	t0 := time.Now()
	_, rt, err := e.r.BulkUpdate(context.Background(), agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: bulkRecs(10)})
	if err != nil || rt.Tier != tiers.REST {
		t.Fatalf("err = %v, route %v", err, outcomes(rt))
	}
	if took := time.Since(t0); took > tierTimeout+2*time.Second {
		t.Errorf("a silent BULK held the call %v (budget %v)", took, tierTimeout)
	}
	if a := rt.Attempts[0]; a.Tier != tiers.Bulk || !strings.Contains(a.Error, "no answer or progress for 100ms, its timeout") {
		t.Errorf("first attempt %+v", a)
	}
	if f := e.r.Health()[1].CircuitBreaker.FailureCount; f != 1 {
		t.Errorf("BULK failure_count %d, want 1: a silent tier is a hung tier", f)
	}
}

// TestPendingJobAtTheDeadlineIsNotABreakerFailure: a job whose polls keep
// answering until the bulk deadline ends leaves its records pending on the
// job (the error names it, for get_bulk_job), and waiting for it does not
// count against BULK's breaker.
func TestPendingJobAtTheDeadlineIsNotABreakerFailure(t *testing.T) {
	t.Parallel()
	const job = "5725767000004000001"
	e := newEnv(t, func(cfg *Config, _, bulk, _ *tierstest.Tier) {
		cfg.BulkTimeout = 300 * time.Millisecond
		bulk.OnBulkUpdate = func(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					tiers.ReportProgress(ctx, tiers.Progress{Total: len(req.Updates), Message: "bulk write job " + job + ": IN PROGRESS"})
					continue
				case <-ctx.Done():
				}
				break
			}
			return pendingOn(job, len(req.Updates))(ctx, req)
		}
	})
	res, rt, err := e.r.BulkUpdate(context.Background(), agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: bulkRecs(5)})
	if tiers.PendingJobOf(err) != job {
		t.Fatalf("err = %v (route %v), want the pending job %s", err, outcomes(rt), job)
	}
	for _, o := range res.Outcomes {
		if o.Status != tiers.StatusUnknown || !strings.Contains(o.Message, job) {
			t.Errorf("outcome %+v", o)
		}
	}
	if f := e.r.Health()[1].CircuitBreaker.FailureCount; f != 0 {
		t.Errorf("BULK failure_count %d: waiting for a job that progressed is not a failure", f)
	}
}

// TestAnnouncedWaitIsNotSilence: a tier that announces a wait (the pause
// before a job's next status poll) longer than its budget is not given up
// during it.
func TestAnnouncedWaitIsNotSilence(t *testing.T) {
	t.Parallel()
	const tierTimeout = 50 * time.Millisecond
	e := newEnv(t, func(cfg *Config, _, bulk, rest *tierstest.Tier) {
		cfg.BulkTimeout = 5 * time.Second
		cfg.Tiers = DefaultTierConfigs()
		for i := range cfg.Tiers {
			cfg.Tiers[i].Timeout = tierTimeout
		}
		store := newStore(3)
		bulk.Store, rest.Store = store, store
		inner := progressing(1, 200*time.Millisecond)
		bulk.OnBulkUpdate = func(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
			tiers.ReportProgress(ctx, tiers.Progress{Message: "status poll 1 in 200ms", Wait: 200 * time.Millisecond})
			return inner(ctx, req)
		}
	})
	_, rt, err := e.r.BulkUpdate(context.Background(), agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: bulkRecs(3)})
	if err != nil || strings.Join(outcomes(rt), " ") != "BULK:success" {
		t.Fatalf("err = %v, route %v", err, outcomes(rt))
	}
}
