package router

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	r               *Router
	mcp, bulk, rest *tierstest.Tier
	reg             *prometheus.Registry
}

// newEnv builds a router with failover on over three fake tiers; setup may
// change the config and the fakes first.
func newEnv(t testing.TB, setup func(cfg *Config, mcp, bulk, rest *tierstest.Tier)) *env {
	t.Helper()
	e := &env{reg: prometheus.NewRegistry()}
	e.mcp, e.bulk, e.rest = newFakes()
	cfg := Config{Failover: true, Registerer: e.reg}
	if setup != nil {
		setup(&cfg, e.mcp, e.bulk, e.rest)
	}
	r, err := New(cfg, e.mcp, e.bulk, e.rest)
	if err != nil {
		t.Fatal(err)
	}
	e.r = r
	return e
}

// metric returns the value of the series of family name whose labels
// include want (0 if there is none).
func (e *env) metric(t testing.TB, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

func outcomes(rt tiers.Route) []string {
	var out []string
	for _, a := range rt.Attempts {
		out = append(out, string(a.Tier)+":"+a.Outcome.String())
	}
	return out
}

func TestRoutingRules(t *testing.T) {
	t.Parallel()
	type fakes = func(cfg *Config, mcp, bulk, rest *tierstest.Tier)
	disable := func(n tiers.Name) fakes {
		return func(cfg *Config, _, _, _ *tierstest.Tier) {
			cfg.Tiers = DefaultTierConfigs()
			for i := range cfg.Tiers {
				if cfg.Tiers[i].Name == n {
					cfg.Tiers[i].Enabled = false
				}
			}
		}
	}
	tests := []struct {
		name  string
		setup fakes
		rc    RoutingContext
		want  []tiers.Name
	}{
		{name: "rule 1: preferred tier enabled wins over agent context",
			rc:   RoutingContext{OperationType: tiers.OpGet, PreferredTier: tiers.REST, AgentContext: true},
			want: []tiers.Name{tiers.REST, tiers.MCP, tiers.Bulk}},
		{name: "rule 1: preferred BULK for a single get",
			rc: RoutingContext{OperationType: tiers.OpGet, PreferredTier: tiers.Bulk}, want: []tiers.Name{tiers.Bulk, tiers.MCP, tiers.REST}},
		{name: "rule 1 skipped: preferred tier disabled, agent context applies",
			setup: disable(tiers.REST),
			rc:    RoutingContext{OperationType: tiers.OpGet, PreferredTier: tiers.REST, AgentContext: true},
			want:  []tiers.Name{tiers.MCP, tiers.Bulk}},
		{name: "rule 1 skipped: unknown preferred tier",
			rc: RoutingContext{OperationType: tiers.OpGet, PreferredTier: "FTP", RecordCount: 50}, want: []tiers.Name{tiers.Bulk, tiers.MCP, tiers.REST}},
		{name: "rule 2: agent context routes to MCP",
			rc: RoutingContext{OperationType: tiers.OpList, AgentContext: true, RecordCount: 100}, want: []tiers.Name{tiers.MCP, tiers.Bulk, tiers.REST}},
		{name: "rule 2 precedes 3, but MCP cannot bulk update so the chain skips it",
			rc: RoutingContext{OperationType: tiers.OpBulkUpdate, AgentContext: true}, want: []tiers.Name{tiers.Bulk, tiers.REST}},
		{name: "rule 3: bulk read",
			rc: RoutingContext{OperationType: tiers.OpBulkRead}, want: []tiers.Name{tiers.Bulk, tiers.REST}},
		{name: "rule 3: record_count 10",
			rc: RoutingContext{OperationType: tiers.OpList, RecordCount: 10, RequiresRealtime: true}, want: []tiers.Name{tiers.Bulk, tiers.MCP, tiers.REST}},
		{name: "rule 3 not met: record_count 9 and realtime → rule 4",
			rc: RoutingContext{OperationType: tiers.OpList, RecordCount: 9, RequiresRealtime: true}, want: []tiers.Name{tiers.MCP, tiers.Bulk, tiers.REST}},
		{name: "rule 4: realtime → MCP even when MCP is disabled? no: the chain leaves it out",
			setup: disable(tiers.MCP),
			rc:    RoutingContext{OperationType: tiers.OpGet, RequiresRealtime: true}, want: []tiers.Name{tiers.Bulk, tiers.REST}},
		{name: "rule 5: MCP available",
			rc: RoutingContext{OperationType: tiers.OpSearch}, want: []tiers.Name{tiers.MCP, tiers.Bulk, tiers.REST}},
		{name: "rule 5: MCP not configured → BULK",
			setup: func(_ *Config, mcp, _, _ *tierstest.Tier) { mcp.Unconfigured = true },
			rc:    RoutingContext{OperationType: tiers.OpGet}, want: []tiers.Name{tiers.Bulk, tiers.REST}},
		{name: "rule 5: MCP cannot search → BULK",
			setup: func(_ *Config, mcp, _, _ *tierstest.Tier) { mcp.Unsupported[tiers.OpSearch] = true },
			rc:    RoutingContext{OperationType: tiers.OpSearch}, want: []tiers.Name{tiers.Bulk, tiers.REST}},
		{name: "rule 5: MCP and BULK unusable → REST",
			setup: func(cfg *Config, mcp, bulk, _ *tierstest.Tier) {
				mcp.Unconfigured = true
				disable(tiers.Bulk)(cfg, nil, nil, nil)
			},
			rc: RoutingContext{OperationType: tiers.OpUpdate}, want: []tiers.Name{tiers.REST}},
		{name: "priority order decides the rest of the chain",
			setup: func(cfg *Config, _, _, _ *tierstest.Tier) {
				cfg.Tiers = DefaultTierConfigs()
				cfg.Tiers[2].Priority = 0 // REST first
			},
			rc: RoutingContext{OperationType: tiers.OpGet, AgentContext: true}, want: []tiers.Name{tiers.MCP, tiers.REST, tiers.Bulk}},
		{name: "failover disabled: only the chosen tier",
			setup: func(cfg *Config, _, _, _ *tierstest.Tier) { cfg.Failover = false },
			rc:    RoutingContext{OperationType: tiers.OpGet, AgentContext: true}, want: []tiers.Name{tiers.MCP}},
		{name: "failover disabled: chosen tier cannot do it, the first that can",
			setup: func(cfg *Config, _, _, _ *tierstest.Tier) { cfg.Failover = false },
			rc:    RoutingContext{OperationType: tiers.OpBulkUpdate, AgentContext: true}, want: []tiers.Name{tiers.Bulk}},
		{name: "no tier can do it",
			setup: func(_ *Config, _, bulk, rest *tierstest.Tier) {
				bulk.Unsupported = map[tiers.OpKind]bool{tiers.OpBulkRead: true}
				rest.Unsupported = map[tiers.OpKind]bool{tiers.OpBulkRead: true}
			},
			rc: RoutingContext{OperationType: tiers.OpBulkRead}, want: []tiers.Name{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.setup)
			got := e.r.Plan(tt.rc)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Plan = %v, want %v", got, tt.want)
			}
			// A real call goes to the first tier of the plan.
			ctx := context.Background()
			var rt tiers.Route
			var err error
			switch tt.rc.OperationType {
			case tiers.OpGet:
				_, rt, err = e.r.Get(ctx, tt.rc, tiers.GetRequest{Module: "Accounts", ID: "1"})
			case tiers.OpList:
				_, rt, err = e.r.List(ctx, tt.rc, tiers.ListRequest{Module: "Accounts", IDs: []string{"1"}})
			case tiers.OpSearch:
				_, rt, err = e.r.Search(ctx, tt.rc, tiers.SearchRequest{Module: "Accounts", Word: "x"})
			case tiers.OpUpdate:
				_, rt, err = e.r.Update(ctx, tt.rc, tiers.UpdateRequest{Module: "Accounts", ID: "1", Data: tiers.Record{"Phone": "1"}})
			case tiers.OpBulkUpdate:
				_, rt, err = e.r.BulkUpdate(ctx, tt.rc, tiers.BulkUpdateRequest{Module: "Accounts", Updates: []tiers.UpdateRequest{{ID: "1", Data: tiers.Record{"Phone": "1"}}}})
			case tiers.OpBulkRead:
				_, rt, err = e.r.BulkRead(ctx, tt.rc, tiers.BulkReadRequest{Module: "Accounts", IDs: []string{"1"}}, &tierstest.Sink{})
			}
			if len(tt.want) == 0 {
				var ue *UnavailableError
				if !errors.As(err, &ue) || len(ue.Attempts) != 0 || !strings.Contains(err.Error(), "no enabled and configured tier supports it") {
					t.Fatalf("err = %v, want an UnavailableError with no attempts", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rt.Tier != tt.want[0] || len(rt.Attempts) != 1 {
				t.Fatalf("route = %+v, want served by %s at once", rt, tt.want[0])
			}
			for _, f := range []*tierstest.Tier{e.mcp, e.bulk, e.rest} {
				if n := len(f.Calls()); (f.Name() == tt.want[0]) != (n == 1) {
					t.Errorf("%s received %d calls", f.Name(), n)
				}
			}
		})
	}
}

// TestErrorClassByPosition puts each error class at each position of a
// three-tier chain (the tiers before it fail as unavailable, the ones after
// it succeed) and checks what the router does.
func TestErrorClassByPosition(t *testing.T) {
	t.Parallel()
	classes := []tiers.Class{tiers.ClassUnavailable, tiers.ClassRateLimited, tiers.ClassAuth, tiers.ClassUnsupported,
		tiers.ClassVerdict, tiers.ClassCanceled, tiers.ClassOutcomeUnknown}
	names := []tiers.Name{tiers.MCP, tiers.Bulk, tiers.REST}
	for _, cls := range classes {
		for pos := range 3 {
			t.Run(cls.String()+"/"+string(names[pos]), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var theErr error
				e := newEnv(t, func(_ *Config, mcp, bulk, rest *tierstest.Tier) {
					fs := []*tierstest.Tier{mcp, bulk, rest}
					for i := range pos {
						fs[i].Behave = tierstest.FailWith(classErr(fs[i].Name(), tiers.ClassUnavailable))
					}
					if cls == tiers.ClassCanceled {
						fs[pos].Behave = func(context.Context, int, tierstest.Call) error {
							cancel()
							return ctx.Err()
						}
					} else {
						theErr = classErr(fs[pos].Name(), cls)
						fs[pos].Behave = tierstest.FailWith(theErr)
					}
				})
				_, rt, err := e.r.Get(ctx, agentRC, tiers.GetRequest{Module: "Accounts", ID: "1"})
				fs := []*tierstest.Tier{e.mcp, e.bulk, e.rest}
				called := func(i int) bool { return len(fs[i].Calls()) > 0 }
				for i := range pos + 1 {
					if !called(i) {
						t.Errorf("%s was not called", names[i])
					}
				}
				failover := cls != tiers.ClassVerdict && cls != tiers.ClassCanceled
				switch {
				case cls == tiers.ClassVerdict:
					if err != theErr {
						t.Fatalf("err = %#v, want the tier's verdict untouched", err)
					}
					if rt.Tier != names[pos] {
						t.Errorf("route tier = %s, want %s", rt.Tier, names[pos])
					}
				case cls == tiers.ClassCanceled:
					if !errors.Is(err, context.Canceled) || err != context.Canceled {
						t.Fatalf("err = %v, want the context's error", err)
					}
				case pos < 2:
					if err != nil || rt.Tier != names[pos+1] {
						t.Fatalf("err = %v, route = %+v; want served by %s", err, rt, names[pos+1])
					}
				default:
					var ue *UnavailableError
					if !errors.As(err, &ue) || ue.Last != theErr || tiers.Classify(err) != cls {
						t.Fatalf("err = %#v, want an UnavailableError ending in the %s error", err, cls)
					}
					if len(ue.Attempts) != 3 {
						t.Errorf("attempts = %+v", ue.Attempts)
					}
				}
				for i := pos + 1; i < 3; i++ {
					if want := failover && i == pos+1; called(i) != want {
						t.Errorf("%s called = %v, want %v", names[i], called(i), want)
					}
				}
				want := tiers.OutcomeOf(classErr("", cls))
				if cls == tiers.ClassCanceled {
					want = tiers.AttemptCanceled
				}
				if got := rt.Attempts[pos]; got.Tier != names[pos] || got.Outcome != want {
					t.Errorf("attempt %d = %+v, want outcome %s", pos, got, want)
				}
				if failover && pos < 2 {
					if e.metric(t, "zoho_mcp_proxy_failovers_total", map[string]string{"from": string(names[pos]), "to": string(names[pos+1]), "reason": want.String()}) != 1 {
						t.Errorf("failover from %s not counted", names[pos])
					}
				}
				// Which errors count against the breaker.
				h := e.r.Health()[pos].CircuitBreaker
				wantFail := uint32(0)
				if cls == tiers.ClassUnavailable || cls == tiers.ClassRateLimited || cls == tiers.ClassAuth || cls == tiers.ClassOutcomeUnknown {
					wantFail = 1
				}
				if h.FailureCount != wantFail {
					t.Errorf("%s breaker failure_count = %d, want %d", names[pos], h.FailureCount, wantFail)
				}
			})
		}
	}
}

func TestVerdictDoesNotTripBreaker(t *testing.T) {
	t.Parallel()
	verdict := classErr(tiers.MCP, tiers.ClassVerdict)
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 2
		mcp.Behave = tierstest.FailWith(verdict)
	})
	for range 5 {
		_, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
		if err != verdict || rt.Tier != tiers.MCP {
			t.Fatalf("err = %v, route %+v", err, rt)
		}
	}
	h := e.r.Health()[0].CircuitBreaker
	if h.State != "closed" || h.FailureCount != 0 || h.SuccessCount != 5 {
		t.Fatalf("breaker = %+v, want closed with 5 successes", h)
	}
	if len(e.bulk.Calls()) != 0 {
		t.Fatal("a verdict failed over to BULK")
	}
	// A verdict is the tier serving the call: not an error.
	m := e.r.Metrics()[0]
	if m.TotalRequests != 5 || m.SuccessfulRequests != 5 || m.ErrorCount != 0 || len(m.TopErrors) != 0 || m.SuccessRate != 100 {
		t.Fatalf("metrics = %+v", m)
	}
}

// afterCooldown waits out the open period of tier n's breaker, which opened
// before the call, and checks that the breaker is half-open. The wait must
// be real time: gobreaker times its breakers with time.Now, which no test
// clock replaces. One period from now is past the breaker's expiry, so
// there is nothing to poll.
func afterCooldown(t *testing.T, r *Router, n tiers.Name, period time.Duration) {
	t.Helper()
	time.Sleep(period)
	for _, h := range r.Health() {
		if h.Tier == n && h.CircuitBreaker.State != "half_open" {
			t.Fatalf("breaker of %s is %s one open period later, want half_open", n, h.CircuitBreaker.State)
		}
	}
}

func TestBreakerLifecycle(t *testing.T) {
	t.Parallel()
	var failing = true
	down := classErr(tiers.MCP, tiers.ClassUnavailable)
	const cooldown = 30 * time.Millisecond
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 3
		cfg.BreakerTimeout = cooldown
		mcp.Behave = func(context.Context, int, tierstest.Call) error {
			if failing {
				return down
			}
			return nil
		}
	})
	ctx := context.Background()
	get := func() tiers.Route {
		t.Helper()
		_, rt, err := e.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	for range 3 {
		if rt := get(); rt.Tier != tiers.Bulk {
			t.Fatalf("route %+v", rt)
		}
	}
	h := e.r.Health()[0]
	if h.CircuitBreaker.State != "open" || e.r.Plan(RoutingContext{OperationType: tiers.OpGet})[0] != tiers.Bulk {
		t.Fatalf("after 3 failures: %+v", h)
	}
	// Open: MCP is skipped without a call.
	rt := get()
	if got := outcomes(rt); !slices.Equal(got, []string{"MCP:breaker_open", "BULK:success"}) {
		t.Fatalf("attempts = %v", got)
	}
	if n := len(e.mcp.Calls()); n != 3 {
		t.Fatalf("MCP received %d calls, want 3 (none while open)", n)
	}
	if e.metric(t, "zoho_mcp_proxy_circuit_breaker_state", map[string]string{"tier": "MCP"}) != 2 {
		t.Error("state gauge is not 2 (open)")
	}
	// Half-open after the timeout; a failure there opens it again.
	afterCooldown(t, e.r, tiers.MCP, cooldown)
	get()
	if s := e.r.Health()[0].CircuitBreaker.State; s != "open" {
		t.Fatalf("a failure in half-open left the breaker %s", s)
	}
	// Recovery: half-open, then two successes close it.
	failing = false
	afterCooldown(t, e.r, tiers.MCP, cooldown)
	if rt := get(); rt.Tier != tiers.MCP {
		t.Fatalf("first trial call went to %s", rt.Tier)
	}
	if s := e.r.Health()[0].CircuitBreaker; s.State != "half_open" || s.SuccessCount != 1 {
		t.Fatalf("after one success: %+v", s)
	}
	get()
	if s := e.r.Health()[0].CircuitBreaker.State; s != "closed" {
		t.Fatalf("after two successes the breaker is %s", s)
	}
	for _, tr := range []struct{ from, to string }{{"closed", "open"}, {"open", "half_open"}, {"half_open", "open"}, {"half_open", "closed"}} {
		want := 1.0
		if tr.from == "open" {
			want = 2
		}
		if got := e.metric(t, "zoho_mcp_proxy_breaker_transitions_total", map[string]string{"tier": "MCP", "from": tr.from, "to": tr.to}); got != want {
			t.Errorf("transitions %s→%s = %v, want %v", tr.from, tr.to, got, want)
		}
	}
	if e.metric(t, "zoho_mcp_proxy_tier_requests_total", map[string]string{"tier": "MCP", "outcome": "breaker_open"}) != 1 {
		t.Error("the skipped call was not counted as breaker_open")
	}
}

func TestResetBreakersAndReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
		cfg.BreakerThreshold = 1
		cfg.BreakerTimeout = time.Hour
		for _, f := range []*tierstest.Tier{mcp, bulk, rest} {
			f.Behave = tierstest.FailWith(classErr(f.Name(), tiers.ClassUnavailable))
		}
	})
	if !e.r.Ready() {
		t.Fatal("not ready before any call")
	}
	_, _, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	if e.r.Ready() {
		t.Fatal("ready with every breaker open")
	}
	_, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
	if got := outcomes(rt); !slices.Equal(got, []string{"MCP:breaker_open", "BULK:breaker_open", "REST:breaker_open"}) || err == nil {
		t.Fatalf("attempts = %v, err = %v", got, err)
	}
	if !strings.Contains(err.Error(), "retry in about 1h0m0s") {
		t.Errorf("message %q does not say when to retry", err)
	}
	e.r.ResetBreakers()
	for _, h := range e.r.Health() {
		if h.CircuitBreaker.State != "closed" || h.CircuitBreaker.FailureCount != 0 {
			t.Errorf("after reset: %+v", h)
		}
	}
	if !e.r.Ready() {
		t.Fatal("not ready after reset")
	}
	if e.metric(t, "zoho_mcp_proxy_circuit_breaker_state", nil) != 0 {
		t.Error("state gauges not back to closed")
	}
}

func TestReadyNeedsConfiguredEnabledTier(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
		cfg.Tiers = DefaultTierConfigs()
		cfg.Tiers[0].Enabled = false
		bulk.Unconfigured, rest.Unconfigured = true, true
	})
	if e.r.Ready() {
		t.Fatal("ready with MCP disabled and the others not configured")
	}
	h := e.r.Health()
	if h[0].Enabled || !h[0].Configured || !h[1].Enabled || h[1].Configured {
		t.Fatalf("health = %+v", h)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	t.Run("share of the deadline then too little left", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
			cfg.CallTimeout = 150 * time.Millisecond
			cfg.MinAttemptTime = 80 * time.Millisecond
			mcp.Behave, bulk.Behave, rest.Behave = tierstest.Hang, tierstest.Hang, tierstest.Hang
		})
		t0 := time.Now()
		_, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
		if el := time.Since(t0); el > time.Second {
			t.Fatalf("took %v", el)
		}
		var ue *UnavailableError
		if !errors.As(err, &ue) || !ue.Deadline {
			t.Fatalf("err = %v, want a deadline UnavailableError", err)
		}
		// 150ms among three tiers is 50ms each, below the 80ms floor: MCP
		// gets the floor, and then too little is left for the others.
		if got := outcomes(rt); !slices.Equal(got, []string{"MCP:unavailable", "BULK:skipped_deadline", "REST:skipped_deadline"}) {
			t.Fatalf("attempts = %v", got)
		}
		if !strings.Contains(rt.Attempts[0].Error, "timed out after 80ms, its share of the call's deadline") || !strings.Contains(err.Error(), "deadline ran out") {
			t.Errorf("texts: %q / %q", rt.Attempts[0].Error, err)
		}
		if len(e.bulk.Calls())+len(e.rest.Calls()) != 0 {
			t.Error("a tier was called with too little time left")
		}
		// Running out of its share of the router's deadline counts against
		// the tier's breaker.
		if f := e.r.Health()[0].CircuitBreaker.FailureCount; f != 1 {
			t.Errorf("failure_count = %d, want 1", f)
		}
	})
	t.Run("tier timeout shorter than its share", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
			cfg.Tiers = DefaultTierConfigs()
			cfg.Tiers[0].Timeout = 40 * time.Millisecond
			mcp.Behave = tierstest.Hang
		})
		_, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
		if err != nil || rt.Tier != tiers.Bulk {
			t.Fatalf("err = %v, route %+v", err, rt)
		}
		if !strings.Contains(rt.Attempts[0].Error, "timed out after 40ms") {
			t.Errorf("attempt = %+v", rt.Attempts[0])
		}
		if f := e.r.Health()[0].CircuitBreaker.FailureCount; f != 1 {
			t.Errorf("failure_count = %d, want 1", f)
		}
	})
	t.Run("attempt deadline is the earliest of share, call and tier", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(cfg *Config, _, _, _ *tierstest.Tier) { cfg.CallTimeout = 10 * time.Second })
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
		defer cancel()
		t0 := time.Now()
		if _, _, err := e.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
		// The caller's 6s, shared by three tiers.
		c := e.mcp.Calls()[0]
		if !c.HasDeadline || c.Deadline.Sub(t0) > 2*time.Second+50*time.Millisecond || c.Deadline.Sub(t0) < 1500*time.Millisecond {
			t.Fatalf("deadline %v after start, want a third of the caller's 6s", c.Deadline.Sub(t0))
		}
		// The last tier of the chain gets all that is left.
		e1 := newEnv(t, func(cfg *Config, _, _, _ *tierstest.Tier) { cfg.CallTimeout = 10 * time.Second; cfg.Failover = false })
		t0 = time.Now()
		if _, _, err := e1.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
		if d := e1.mcp.Calls()[0].Deadline.Sub(t0); d > 6*time.Second+50*time.Millisecond || d < 5*time.Second {
			t.Fatalf("deadline %v after start, want the caller's 6s", d)
		}
		e2 := newEnv(t, func(cfg *Config, _, _, _ *tierstest.Tier) {
			cfg.Tiers = DefaultTierConfigs()
			cfg.Tiers[0].Timeout = 1 * time.Second
		})
		t0 = time.Now()
		if _, _, err := e2.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
		if d := e2.mcp.Calls()[0].Deadline.Sub(t0); d > time.Second+50*time.Millisecond || d < 500*time.Millisecond {
			t.Fatalf("deadline %v after start, want the tier's 1s", d)
		}
	})
	t.Run("the caller's deadline cut does not count against the breaker", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
			cfg.MinAttemptTime = 10 * time.Millisecond
			mcp.Behave, bulk.Behave, rest.Behave = tierstest.Hang, tierstest.Hang, tierstest.Hang
		})
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Millisecond)
		defer cancel()
		_, rt, err := e.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"})
		if err == nil {
			t.Fatalf("served: %+v", rt)
		}
		for _, a := range rt.Attempts {
			if a.Outcome == tiers.AttemptUnavailable && !strings.Contains(a.Error, "share of the call's deadline") && !strings.Contains(a.Error, "call's deadline ran out") {
				t.Errorf("attempt = %+v", a)
			}
		}
		for _, h := range e.r.Health() {
			if f := h.CircuitBreaker.FailureCount; f != 0 {
				t.Errorf("%s failure_count = %d, want 0: the caller's own deadline is no fault of the tier", h.Tier, f)
			}
		}
	})
	t.Run("caller deadline below the floor: no call at all", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, rt, err := e.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"})
		var ue *UnavailableError
		if !errors.As(err, &ue) || !ue.Deadline || len(e.mcp.Calls()) != 0 {
			t.Fatalf("err = %v, route %+v", err, rt)
		}
		if !strings.Contains(ue.Last.Error(), "deadline exhausted after") {
			t.Errorf("last = %v", ue.Last)
		}
	})
	t.Run("caller cancels during an attempt", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		e := newEnv(t, func(_ *Config, mcp, _, _ *tierstest.Tier) {
			mcp.Behave = func(c context.Context, _ int, _ tierstest.Call) error {
				cancel()
				<-c.Done()
				return classErr(tiers.MCP, tiers.ClassUnavailable) // what a tier might say
			}
		})
		_, rt, err := e.r.Get(ctx, agentRC, tiers.GetRequest{ID: "1"})
		if err != context.Canceled {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(e.bulk.Calls()) != 0 || rt.Attempts[0].Outcome != tiers.AttemptCanceled {
			t.Fatalf("route %+v", rt)
		}
		if f := e.r.Health()[0].CircuitBreaker.FailureCount; f != 0 {
			t.Errorf("the caller's cancellation counted against the breaker")
		}
	})
}

func TestRetryBudget(t *testing.T) {
	t.Parallel()
	full := func(n int) tiers.RetryBudget { return tiers.RetryBudget{MaxRetries: n, MaxBackoff: fullBudgetBackoff} }
	tests := []struct {
		name  string
		setup func(cfg *Config, mcp, bulk, rest *tierstest.Tier)
		want  map[tiers.Name]tiers.RetryBudget
	}{
		{name: "non-last tiers get one quick retry, the last its full policy",
			setup: func(_ *Config, mcp, bulk, _ *tierstest.Tier) {
				mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
				bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassRateLimited))
			},
			want: map[tiers.Name]tiers.RetryBudget{tiers.MCP: tiers.QuickRetry, tiers.Bulk: tiers.QuickRetry, tiers.REST: full(2)}},
		{name: "two-tier chain: the second is last",
			setup: func(cfg *Config, mcp, _, _ *tierstest.Tier) {
				cfg.Tiers = DefaultTierConfigs()[:2] // MCP, BULK
				cfg.Tiers[1].MaxRetries = 7
				mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
			},
			want: map[tiers.Name]tiers.RetryBudget{tiers.MCP: tiers.QuickRetry, tiers.Bulk: full(7)}},
		{name: "failover disabled: the only tier is last",
			setup: func(cfg *Config, _, _, _ *tierstest.Tier) { cfg.Failover = false },
			want:  map[tiers.Name]tiers.RetryBudget{tiers.MCP: full(3)}},
	}
	// The open-breaker case needs a breaker to open first; run it by hand.
	t.Run("open breaker after", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(cfg *Config, _, bulk, rest *tierstest.Tier) {
			cfg.BreakerThreshold = 1
			cfg.BreakerTimeout = time.Hour
			rest.Behave = tierstest.FailWith(classErr(tiers.REST, tiers.ClassUnavailable))
		})
		// Open REST's breaker.
		if _, _, err := e.r.Get(context.Background(), RoutingContext{PreferredTier: tiers.REST}, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
		calls := e.mcp.Calls()
		if got := calls[len(calls)-1].Budget; got != tiers.QuickRetry {
			t.Fatalf("MCP budget = %+v, want quick (BULK could still serve)", got)
		}
		// Open BULK too (MCP serves that call).
		e.bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassUnavailable))
		if _, rt, err := e.r.Get(context.Background(), RoutingContext{PreferredTier: tiers.Bulk}, tiers.GetRequest{ID: "1"}); err != nil || rt.Tier != tiers.MCP {
			t.Fatal(rt, err)
		}
		if _, _, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
		calls = e.mcp.Calls()
		if got := calls[len(calls)-1].Budget; got != full(3) {
			t.Fatalf("MCP budget = %+v, want its full policy (BULK and REST breakers open)", got)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &env{reg: prometheus.NewRegistry()}
			e.mcp, e.bulk, e.rest = newFakes()
			cfg := Config{Failover: true}
			tt.setup(&cfg, e.mcp, e.bulk, e.rest)
			ts := []tiers.Tier{e.mcp, e.bulk, e.rest}
			if cfg.Tiers != nil {
				ts = ts[:len(cfg.Tiers)]
			}
			r, err := New(cfg, ts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []*tierstest.Tier{e.mcp, e.bulk, e.rest} {
				want, ok := tt.want[f.Name()]
				calls := f.Calls()
				if !ok {
					if len(calls) != 0 {
						t.Errorf("%s called", f.Name())
					}
					continue
				}
				if len(calls) != 1 || !calls[0].HasBudget || calls[0].Budget != want {
					t.Errorf("%s calls = %+v, want budget %+v", f.Name(), calls, want)
				}
			}
		})
	}
}

func TestScopesReachEveryAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, mcp, _, _ *tierstest.Tier) {
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassAuth))
	})
	rc := RoutingContext{AgentContext: true, Tools: []string{"read", "bulk"}}
	if _, _, err := e.r.Get(context.Background(), rc, tiers.GetRequest{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*tierstest.Tier{e.mcp, e.bulk} {
		c := f.Calls()
		if len(c) != 1 || !slices.Equal(c[0].Scopes, rc.Tools) {
			t.Errorf("%s got scopes %v", f.Name(), c)
		}
	}
}

func TestFailoverDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.Failover = false
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
	})
	_, rt, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
	var ue *UnavailableError
	if !errors.As(err, &ue) || len(rt.Attempts) != 1 || len(e.bulk.Calls())+len(e.rest.Calls()) != 0 {
		t.Fatalf("err = %v, route %+v", err, rt)
	}
}

func TestBulkReadResetsSinkBeforeRetrying(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *Config, _, bulk, _ *tierstest.Tier) {
		bulk.OnBulkRead = func(_ context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
			for _, id := range req.IDs[:2] {
				sink.Write(tiers.Record{"id": id, "via": "BULK"})
			}
			return tiers.BulkReadResult{}, classErr(tiers.Bulk, tiers.ClassUnavailable)
		}
	})
	sink := &tierstest.Sink{}
	res, rt, err := e.r.BulkRead(context.Background(), agentRC, tiers.BulkReadRequest{Module: "Accounts", IDs: []string{"1", "2", "3"}}, sink)
	if err != nil || rt.Tier != tiers.REST || res.Count != 3 {
		t.Fatalf("res %+v route %+v err %v", res, rt, err)
	}
	if sink.Resets() != 1 || len(sink.Records()) != 3 {
		t.Fatalf("resets = %d, records = %v", sink.Resets(), sink.Records())
	}
	for _, r := range sink.Records() {
		if r["via"] != "REST" {
			t.Fatalf("a record from the failed tier survived: %v", r)
		}
	}
	// A tier skipped by its breaker wrote nothing: no reset.
	e2 := newEnv(t, func(cfg *Config, _, bulk, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 1
		cfg.BreakerTimeout = time.Hour
		bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassUnavailable))
	})
	e2.r.BulkRead(context.Background(), agentRC, tiers.BulkReadRequest{IDs: []string{"1"}}, &tierstest.Sink{})
	sink = &tierstest.Sink{}
	if _, rt, err := e2.r.BulkRead(context.Background(), agentRC, tiers.BulkReadRequest{IDs: []string{"1"}}, sink); err != nil || rt.Attempts[0].Outcome != tiers.AttemptBreakerOpen {
		t.Fatalf("route %+v err %v", rt, err)
	}
	if sink.Resets() != 0 {
		t.Fatalf("reset %d times after a skipped tier", sink.Resets())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	mcp, bulk, _ := newFakes()
	tests := []struct {
		name string
		cfg  Config
		ts   []tiers.Tier
		want string
	}{
		{name: "duplicate tier", ts: []tiers.Tier{mcp, mcp}, want: "two tiers are named"},
		{name: "tier without config", cfg: Config{Tiers: DefaultTierConfigs()[1:]}, ts: []tiers.Tier{mcp}, want: "no entry in Config.Tiers"},
		{name: "config twice", cfg: Config{Tiers: append(DefaultTierConfigs(), TierConfig{Name: tiers.REST})}, want: "configured twice"},
		{name: "negative timeout", cfg: Config{Tiers: []TierConfig{{Name: tiers.Bulk, Timeout: -1}}}, ts: []tiers.Tier{bulk}, want: "must be positive"},
		{name: "negative call timeout", cfg: Config{CallTimeout: -time.Second}, want: "CallTimeout"},
		{name: "nameless tier", cfg: Config{Tiers: []TierConfig{{}}}, want: "no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg, tt.ts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Registering twice on one registry is reported.
	reg := prometheus.NewRegistry()
	if _, err := New(Config{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Registerer: reg}); err == nil {
		t.Fatal("second registration not reported")
	}
}

// logRecorder is a slog handler that keeps messages and their attributes.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

func TestBreakerChangesAreLogged(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.Logger = slog.New(logs)
		cfg.BreakerThreshold = 1
		cfg.BreakerTimeout = time.Hour
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
	})
	e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"})
	e.r.ResetBreakers()
	want := []string{
		"WARN circuit breaker state changed tier=MCP from=closed to=open timeout=1h0m0s",
		"DEBUG failing over operation=get from=MCP to=BULK reason=unavailable",
		"INFO circuit breaker state changed tier=MCP from=open to=closed timeout=1h0m0s",
		"INFO circuit breakers reset",
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if !slices.Equal(logs.lines, want) {
		t.Fatalf("logs:\n%s\nwant:\n%s", strings.Join(logs.lines, "\n"), strings.Join(want, "\n"))
	}
}

type failingSink struct{ tierstest.Sink }

func (*failingSink) Reset() error { return errors.New("disk full") }

func TestBulkReadStopsWhenSinkCannotReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, _, bulk, _ *tierstest.Tier) {
		bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassUnavailable))
	})
	_, rt, err := e.r.BulkRead(context.Background(), agentRC, tiers.BulkReadRequest{IDs: []string{"1"}}, &failingSink{})
	var ue *UnavailableError
	if !errors.As(err, &ue) || !strings.Contains(ue.Last.Error(), "could not discard the partial result") || len(e.rest.Calls()) != 0 {
		t.Fatalf("err = %v, route %+v", err, rt)
	}
}
