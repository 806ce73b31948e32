package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// TestConcurrentMixedOutcomes runs 64 goroutines of mixed operations against
// a tier that fails, answers with verdicts or succeeds, and checks that the
// statistics, the Prometheus counters and the fakes agree.
func TestConcurrentMixedOutcomes(t *testing.T) {
	t.Parallel()
	const workers, perWorker = 64, 40
	var unavailable, verdicts atomic.Int64
	mixed := func(_ context.Context, n int, _ tierstest.Call) error {
		switch n % 4 {
		case 0:
			unavailable.Add(1)
			return classErr(tiers.MCP, tiers.ClassUnavailable)
		case 1:
			verdicts.Add(1)
			return classErr(tiers.MCP, tiers.ClassVerdict)
		}
		return nil
	}
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 1 << 30
		mcp.Behave = mixed
	})
	var wg sync.WaitGroup
	var served [3]atomic.Int64 // MCP, BULK, errors returned
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				var rt tiers.Route
				var err error
				switch (w + i) % 3 {
				case 0:
					_, rt, err = e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
				case 1:
					_, rt, err = e.r.List(context.Background(), agentRC, tiers.ListRequest{IDs: []string{"1"}})
				case 2:
					_, rt, err = e.r.Update(context.Background(), agentRC, tiers.UpdateRequest{ID: "1", Data: tiers.Record{"Phone": "1"}})
				}
				switch {
				case err != nil:
					if tiers.Classify(err) != tiers.ClassVerdict || rt.Tier != tiers.MCP {
						t.Errorf("unexpected %v (%+v)", err, rt)
					}
					served[2].Add(1)
				case rt.Tier == tiers.MCP:
					served[0].Add(1)
				case rt.Tier == tiers.Bulk && rt.Attempts[0].Outcome == tiers.AttemptUnavailable:
					served[1].Add(1)
				default:
					t.Errorf("route %+v", rt)
				}
			}
		})
	}
	wg.Wait()
	total := int64(workers * perWorker)
	mcpCalls := int64(len(e.mcp.Calls()))
	if mcpCalls != total || int64(len(e.bulk.Calls())) != unavailable.Load() || len(e.rest.Calls()) != 0 {
		t.Fatalf("calls: MCP %d BULK %d REST %d; want %d, %d, 0", mcpCalls, len(e.bulk.Calls()), len(e.rest.Calls()), total, unavailable.Load())
	}
	if served[0].Load()+served[1].Load()+served[2].Load() != total || served[1].Load() != unavailable.Load() || served[2].Load() != verdicts.Load() {
		t.Fatalf("served %v %v %v", served[0].Load(), served[1].Load(), served[2].Load())
	}
	m := e.r.Metrics()
	if m[0].TotalRequests != total || m[0].FailedRequests != unavailable.Load() || m[0].SuccessfulRequests != total-unavailable.Load() ||
		m[0].ErrorCount != unavailable.Load() || m[0].TopErrors["unavailable"] != unavailable.Load() || len(m[0].TopErrors) != 1 {
		t.Fatalf("MCP metrics %+v", m[0])
	}
	if m[1].TotalRequests != unavailable.Load() || m[1].SuccessRate != 100 {
		t.Fatalf("BULK metrics %+v", m[1])
	}
	if got := e.metric(t, "zoho_mcp_proxy_tier_requests_total", map[string]string{"tier": "MCP"}); got != float64(total) {
		t.Errorf("prometheus MCP requests = %v, want %d", got, total)
	}
	if got := e.metric(t, "zoho_mcp_proxy_tier_request_duration_seconds", map[string]string{"tier": "MCP"}); got != float64(total) {
		t.Errorf("prometheus MCP duration samples = %v, want %d", got, total)
	}
	if got := e.metric(t, "zoho_mcp_proxy_failovers_total", map[string]string{"from": "MCP", "to": "BULK", "reason": "unavailable"}); got != float64(unavailable.Load()) {
		t.Errorf("failovers = %v, want %d", got, unavailable.Load())
	}
	h := e.r.Health()[0].CircuitBreaker
	if h.State != "closed" || h.FailureThreshold != 1<<30 {
		t.Errorf("breaker %+v", h)
	}
}

// TestConcurrentBreakerTrip hammers a dead tier from 64 goroutines: its
// breaker opens once, the tier sees only the calls before that (and those
// in flight), and every call is served by the next tier.
func TestConcurrentBreakerTrip(t *testing.T) {
	t.Parallel()
	const workers, perWorker, threshold = 64, 20, 5
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.BreakerThreshold = threshold
		cfg.BreakerTimeout = time.Hour
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
	})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				if _, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil || rt.Tier != tiers.Bulk {
					t.Errorf("route %+v, err %v", rt, err)
				}
			}
		})
	}
	wg.Wait()
	n := len(e.mcp.Calls())
	if n < threshold || n > threshold+workers-1 {
		t.Fatalf("MCP received %d calls; want between %d and %d", n, threshold, threshold+workers-1)
	}
	if len(e.bulk.Calls()) != workers*perWorker {
		t.Fatalf("BULK served %d", len(e.bulk.Calls()))
	}
	if got := e.metric(t, "zoho_mcp_proxy_breaker_transitions_total", map[string]string{"tier": "MCP", "from": "closed", "to": "open"}); got != 1 {
		t.Fatalf("closed→open transitions = %v", got)
	}
	skipped := e.metric(t, "zoho_mcp_proxy_tier_requests_total", map[string]string{"tier": "MCP", "outcome": "breaker_open"})
	if int(skipped)+n != workers*perWorker || e.r.Metrics()[0].TotalRequests != int64(n) {
		t.Fatalf("skipped %v + called %d != %d", skipped, n, workers*perWorker)
	}
}

func TestMetricsWindowAndTopErrors(t *testing.T) {
	t.Parallel()
	r := &Router{tiers: []*tierState{{name: tiers.REST}}}
	s := &r.tiers[0].stats
	s.init()
	for i := 1; i <= 2000; i++ { // only the last 1024 (977…2000 ms) stay in the window
		s.record(tiers.AttemptSuccess, time.Duration(i)*time.Millisecond, nil)
	}
	for i := range 30 {
		s.record(tiers.AttemptRateLimited, time.Millisecond, &tiers.Error{Class: tiers.ClassRateLimited, Code: fmt.Sprintf("CODE_%d", i)})
	}
	m := r.Metrics()[0]
	if m.TotalRequests != 2030 || m.SuccessfulRequests != 2000 || m.FailedRequests != 30 || m.ErrorCount != 30 {
		t.Fatalf("%+v", m)
	}
	if len(m.TopErrors) != maxTopErrors || m.TopErrors["other"] != 11 || m.TopErrors["rate_limited CODE_0"] != 1 {
		t.Fatalf("top errors (%d): %v", len(m.TopErrors), m.TopErrors)
	}
	// Window: 977…2000 ms, whose 30 oldest slots the 1 ms failures took:
	// sorted 30×1, 1007…2000; nearest ranks 512, 973, 1014.
	if m.P50DurationMS != 1488 || m.P95DurationMS != 1949 || m.P99DurationMS != 1990 {
		t.Fatalf("p50 %v p99 %v", m.P50DurationMS, m.P99DurationMS)
	}
	if want := (2001.0*1000 + 30) / 2030; m.AvgDurationMS-want > 0.001 || want-m.AvgDurationMS > 0.001 {
		t.Fatalf("avg %v, want %v", m.AvgDurationMS, want)
	}
}

func TestJSONShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, mcp, _, _ *tierstest.Tier) {
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassRateLimited))
	})
	_, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	keys := func(v any) []string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	tests := []struct {
		name string
		v    any
		want []string
	}{
		{"metrics", e.r.Metrics()[0], []string{"avg_duration_ms", "error_count", "failed_requests", "p50_duration_ms", "p95_duration_ms",
			"p99_duration_ms", "success_rate", "successful_requests", "tier", "top_errors", "total_requests"}},
		{"health", e.r.Health()[0], []string{"circuit_breaker", "configured", "enabled", "tier"}},
		{"breaker", e.r.Health()[0].CircuitBreaker, []string{"failure_count", "failure_threshold", "name", "state", "success_count", "success_threshold", "timeout"}},
		{"route", rt, []string{"attempts", "duration_ms", "tier"}},
		{"attempt", rt.Attempts[0], []string{"error", "outcome", "tier"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys(tt.v); !slices.Equal(got, tt.want) {
				t.Fatalf("keys %v, want %v", got, tt.want)
			}
		})
	}
	h := e.r.Health()[0].CircuitBreaker
	if h.Name != "MCP" || h.FailureThreshold != 5 || h.SuccessThreshold != 2 || h.Timeout != "1m0s" || h.FailureCount != 1 {
		t.Fatalf("breaker health %+v", h)
	}
	m := e.r.Metrics()[0]
	if m.SuccessRate != 0 || m.FailedRequests != 1 || m.TopErrors["rate_limited"] != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestUnavailableErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  UnavailableError
		want []string
		not  []string
	}{
		{
			name: "mixed",
			err: UnavailableError{Op: tiers.OpGet, RetryAfter: time.Minute, Attempts: []tiers.Attempt{
				{Tier: tiers.MCP, Outcome: tiers.AttemptBreakerOpen, Error: "MCP: circuit breaker open"},
				{Tier: tiers.Bulk, Outcome: tiers.AttemptRateLimited, Error: "BULK: TOO_MANY_REQUESTS: too many requests"},
				{Tier: tiers.REST, Outcome: tiers.AttemptUnavailable, Error: "REST: timed out after 45s"},
			}},
			want: []string{"no tier could serve get: MCP skipped (circuit breaker open), BULK rate limited (TOO_MANY_REQUESTS: too many requests), REST unavailable (timed out after 45s); ",
				"retry in about a minute"},
		},
		{
			name: "all breakers open",
			err: UnavailableError{Op: tiers.OpList, RetryAfter: 30 * time.Second, Attempts: []tiers.Attempt{
				{Tier: tiers.MCP, Outcome: tiers.AttemptBreakerOpen}, {Tier: tiers.REST, Outcome: tiers.AttemptBreakerOpen}}},
			want: []string{"retry in about 30s"},
		},
		{
			name: "deadline",
			err: UnavailableError{Op: tiers.OpBulkRead, Deadline: true, Elapsed: 29950 * time.Millisecond, Attempts: []tiers.Attempt{
				{Tier: tiers.Bulk, Outcome: tiers.AttemptUnavailable, Error: "BULK: timed out after 29.9s"}, {Tier: tiers.REST, Outcome: tiers.AttemptSkippedDeadline}}},
			want: []string{"REST not tried (deadline exhausted)", "deadline ran out after 29.95s"},
		},
		{
			name: "auth",
			err:  UnavailableError{Op: tiers.OpUpdate, Attempts: []tiers.Attempt{{Tier: tiers.REST, Outcome: tiers.AttemptAuthFailed, Error: "REST: invalid oauth token"}}},
			want: []string{"REST refused its credentials", "check them"},
		},
		{
			name: "long error shortened",
			err:  UnavailableError{Op: tiers.OpGet, Attempts: []tiers.Attempt{{Tier: tiers.MCP, Outcome: tiers.AttemptUnavailable, Error: strings.Repeat("é", 200)}}},
			want: []string{"…)"},
			not:  []string{strings.Repeat("é", 100)},
		},
		{
			name: "no tier at all",
			err:  UnavailableError{Op: tiers.OpBulkUpdate},
			want: []string{"no tier can serve bulk_update: no enabled and configured tier supports it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := tt.err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q\nlacks %q", msg, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(msg, w) {
					t.Errorf("%q\nhas %q", msg, w)
				}
			}
			if !utf8.ValidString(msg) {
				t.Errorf("invalid UTF-8")
			}
		})
	}
	last := classErr(tiers.REST, tiers.ClassAuth)
	var err error = &UnavailableError{Op: tiers.OpGet, Last: last}
	if !errors.Is(err, last) || tiers.Classify(err) != tiers.ClassAuth {
		t.Fatal("Unwrap does not reach the last tier error")
	}
}
