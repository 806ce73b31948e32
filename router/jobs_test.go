package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// awaitingTier is a fake tier that can wait for the jobs its BulkUpdate
// leaves records pending on.
type awaitingTier struct {
	*tierstest.Tier
	await func(ctx context.Context, job string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error)

	mu     sync.Mutex
	awaits []string // job and record ids of each wait
}

func (a *awaitingTier) AwaitBulkUpdateJob(ctx context.Context, job string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	a.mu.Lock()
	a.awaits = append(a.awaits, job+":"+strings.Join(ids(req.Updates), ","))
	a.mu.Unlock()
	return a.await(ctx, job, req)
}

// pendingOn is BULK's answer when it stopped waiting for job: the records
// from notSentFrom on were not sent, the others are pending on the job.
func pendingOn(job string, notSentFrom int) func(context.Context, tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	return func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job", Calls: 3, Credits: 1}
		for i, u := range req.Updates {
			st := tiers.StatusUnknown
			if i >= notSentFrom {
				st = tiers.StatusNotSent
			}
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: st})
		}
		return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
			Message: "records are pending on bulk write job " + job, PendingJob: job}
	}
}

// jobResult is the job's own result: every record applied to store.
func jobResult(store *tierstest.Store) func(context.Context, string, tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	return func(_ context.Context, _ string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job", Calls: 2, Credits: 2}
		for _, u := range req.Updates {
			store.Apply(u.ID, u.Data)
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess, Code: "SUCCESS"})
		}
		return res, nil
	}
}

// TestBulkUpdateWaitsForPendingJob: records BULK left pending on a job it
// created are settled by that job alone: the router waits for it (within the
// call's deadline) through the tier, and never reads them back and re-sends
// them through another tier, which would have the job write them twice.
func TestBulkUpdateWaitsForPendingJob(t *testing.T) {
	t.Parallel()
	stillRunning := func(ctx context.Context, job string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		<-ctx.Done()
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job", Calls: 1}
		for _, u := range req.Updates {
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusUnknown})
		}
		return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
			Message: "still pending", PendingJob: job, Err: ctx.Err()}
	}
	finishedUnreadable := func(_ context.Context, _ string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job", Calls: 1}
		for _, u := range req.Updates {
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusUnknown})
		}
		return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "JOB_FAILED", Message: "the job failed"}
	}
	tests := []struct {
		name         string
		canAwait     bool
		await        func(context.Context, string, tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error)
		notSentFrom  int // records from here on BULK did not send
		callTimeout  time.Duration
		wantAttempts []string
		wantStatus   func(i int) tiers.OutcomeStatus
		wantRESTSent []int // record positions REST was sent (in a bulk update)
		wantRead     bool  // REST read records back
		wantErrJob   bool  // the error names the job
	}{
		{
			name: "job finishes within the deadline: settled by it, nothing re-sent", canAwait: true, notSentFrom: 10,
			wantAttempts: []string{"BULK:outcome_unknown", "BULK:success"},
			wantStatus:   func(int) tiers.OutcomeStatus { return tiers.StatusSuccess },
		},
		{
			name: "records BULK never sent go on to REST; the job's do not", canAwait: true, notSentFrom: 6,
			wantAttempts: []string{"BULK:outcome_unknown", "BULK:success", "REST:success"},
			wantStatus:   func(int) tiers.OutcomeStatus { return tiers.StatusSuccess },
			wantRESTSent: []int{6, 7, 8, 9},
		},
		{
			name: "job still running at the deadline: unknown, naming the job, nothing re-sent", canAwait: true, await: stillRunning,
			notSentFrom: 10, callTimeout: 150 * time.Millisecond,
			wantAttempts: []string{"BULK:outcome_unknown", "BULK:outcome_unknown"},
			wantStatus:   func(int) tiers.OutcomeStatus { return tiers.StatusUnknown },
			wantErrJob:   true,
		},
		{
			name: "a tier that cannot wait: the records stay with the job", notSentFrom: 10,
			wantAttempts: []string{"BULK:outcome_unknown"},
			wantStatus:   func(int) tiers.OutcomeStatus { return tiers.StatusUnknown },
			wantErrJob:   true,
		},
		{
			name: "job finished without readable results: read back and re-sent as usual", canAwait: true, await: finishedUnreadable, notSentFrom: 10,
			wantAttempts: []string{"BULK:outcome_unknown", "BULK:outcome_unknown", "REST:reconciled", "REST:success"},
			wantStatus:   func(int) tiers.OutcomeStatus { return tiers.StatusSuccess },
			wantRESTSent: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
			wantRead:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newStore(10)
			ups := bulkRecs(10)
			const job = "5725767000004000001"
			mcp, bk, rest := newFakes()
			bk.Store, rest.Store = store, store
			bk.OnBulkUpdate = pendingOn(job, tt.notSentFrom)
			var bt tiers.Tier = bk
			at := &awaitingTier{Tier: bk, await: tt.await}
			if at.await == nil {
				at.await = jobResult(store)
			}
			if tt.canAwait {
				bt = at
			}
			r, err := New(Config{Failover: true, CallTimeout: tt.callTimeout, BulkTimeout: tt.callTimeout}, mcp, bt, rest)
			if err != nil {
				t.Fatal(err)
			}
			res, rt, err := r.BulkUpdate(context.Background(), agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
			if got := outcomes(rt); !slices.Equal(got, tt.wantAttempts) {
				t.Errorf("attempts = %v, want %v", got, tt.wantAttempts)
			}
			if tt.canAwait && (len(at.awaits) != 1 || at.awaits[0] != job+":"+strings.Join(ids(ups[:tt.notSentFrom]), ",")) {
				t.Errorf("waits = %v, want one for job %s with the records it holds", at.awaits, job)
			}
			if got := len(rest.CallsOf(tiers.OpList)) > 0; got != tt.wantRead {
				t.Errorf("REST read back: %v, want %v", got, tt.wantRead)
			}
			var sent []string
			for _, c := range rest.CallsOf(tiers.OpBulkUpdate) {
				sent = append(sent, ids(c.Req.(tiers.BulkUpdateRequest).Updates)...)
			}
			var want []string
			for _, i := range tt.wantRESTSent {
				want = append(want, ups[i].ID)
			}
			if !slices.Equal(sent, want) {
				t.Errorf("REST was sent %v, want %v (a record pending on the job is never sent again)", sent, want)
			}
			for i, o := range res.Outcomes {
				if o.ID != ups[i].ID || o.Status != tt.wantStatus(i) {
					t.Errorf("outcome %d = %+v, want %s", i, o, tt.wantStatus(i))
				}
				if o.Status == tiers.StatusUnknown && !strings.Contains(o.Message, "job "+job) {
					t.Errorf("outcome %d does not name the job it is pending on: %q", i, o.Message)
				}
			}
			var te *tiers.Error
			switch {
			case tt.wantErrJob:
				if !errors.As(err, &te) || te.Class != tiers.ClassOutcomeUnknown || tiers.PendingJobOf(err) != job || !strings.Contains(err.Error(), "job "+job) {
					t.Fatalf("err = %v, want outcome unknown naming job %s", err, job)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestAwaitBulkJob: get_bulk_job's wait. A finished job's outcomes come
// back for the records it held, served by the tier, with nothing sent but
// the wait; a job still running at the call deadline leaves them unknown
// and names the job again; a tier that cannot wait says so.
func TestAwaitBulkJob(t *testing.T) {
	t.Parallel()
	const job = "5725767000004000001"
	ups := bulkRecs(4)
	for _, tc := range []struct {
		name    string
		await   func(context.Context, string, tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error)
		status  tiers.OutcomeStatus
		pending bool
	}{
		{"finished", nil, tiers.StatusSuccess, false},
		{"still running", func(ctx context.Context, job string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
			tiers.ReportProgress(ctx, tiers.Progress{Message: "IN PROGRESS"})
			<-ctx.Done()
			return pendingOn(job, len(req.Updates))(ctx, req)
		}, tiers.StatusUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := newStore(4)
			mcp, bk, rest := newFakes()
			bk.Store = store
			at := &awaitingTier{Tier: bk, await: tc.await}
			if at.await == nil {
				at.await = jobResult(store)
			}
			r, err := New(Config{Failover: true, CallTimeout: 200 * time.Millisecond}, mcp, at, rest)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			ctx := tiers.WithProgress(context.Background(), rec.report)
			res, rt, err := r.AwaitBulkJob(ctx, agentRC, tiers.Bulk, job, tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
			if got := outcomes(rt); len(got) != 1 || got[0] != "BULK:success" || rt.Tier != tiers.Bulk {
				t.Errorf("route %v", got)
			}
			if (tiers.PendingJobOf(err) == job) != tc.pending || (!tc.pending && err != nil) {
				t.Errorf("err = %v", err)
			}
			for i, o := range res.Outcomes {
				if o.ID != ups[i].ID || o.Status != tc.status {
					t.Errorf("outcome %d %+v, want %s", i, o, tc.status)
				}
			}
			if len(bk.CallsOf(tiers.OpBulkUpdate))+len(rest.CallsOf(tiers.OpBulkUpdate)) != 0 {
				t.Error("a wait for a job sent records")
			}
			if tc.pending {
				if ps := rec.all(); len(ps) == 0 || ps[0].Total != 4 {
					t.Errorf("progress %+v", ps)
				}
			}
		})
	}
	mcp, bk, rest := newFakes()
	r, _ := New(Config{Failover: true}, mcp, bk, rest)
	if _, _, err := r.AwaitBulkJob(context.Background(), agentRC, tiers.Bulk, job, tiers.BulkUpdateRequest{Updates: ups}); tiers.Classify(err) != tiers.ClassUnsupported {
		t.Errorf("a tier that cannot wait: %v", err)
	}
}
