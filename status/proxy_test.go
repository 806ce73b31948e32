package status

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// stubTier is a tier that serves Get, or fails while down is set. Only the
// methods the router calls for Get are implemented.
type stubTier struct {
	tiers.Tier
	name tiers.Name
	down atomic.Bool
}

func (s *stubTier) Name() tiers.Name              { return s.name }
func (s *stubTier) Configured() bool              { return true }
func (s *stubTier) Supports(op tiers.OpKind) bool { return op == tiers.OpGet }
func (s *stubTier) Get(context.Context, tiers.GetRequest) (tiers.Record, error) {
	if s.down.Load() {
		return nil, &tiers.Error{Tier: s.name, Class: tiers.ClassUnavailable, Message: "connection refused"}
	}
	return tiers.Record{"id": "1"}, nil
}

// TestProxySourceReadsTheRouterAndItsMetrics runs the real router against
// stub tiers, with the MCP server's tool and credit collectors registered
// as the server registers them, and checks what the page sees.
func TestProxySourceReadsTheRouterAndItsMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	mcp, bulk := &stubTier{name: tiers.MCP}, &stubTier{name: tiers.Bulk}
	r, err := router.New(router.Config{
		Tiers: []router.TierConfig{
			{Name: tiers.MCP, Enabled: true, Priority: 1},
			{Name: tiers.Bulk, Enabled: true, Priority: 2},
			{Name: tiers.REST, Enabled: true, Priority: 3},
		},
		Failover: true, BreakerThreshold: 2, BreakerTimeout: time.Hour, Registerer: reg,
	}, mcp, bulk)
	if err != nil {
		t.Fatal(err)
	}
	// The server's collectors (server.Metrics), by name and labels.
	tools := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricToolCalls, Help: "x"}, []string{"tool", "outcome"})
	credits := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricCredits, Help: "x"}, []string{"tier"})
	reg.MustRegister(tools, credits)
	sessions := 2
	src := Proxy{Router: r, Metrics: reg, Sessions: func() int { return sessions }}

	clk := newFakeClock()
	p, err := New(src, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	step(p, clk)

	rc := router.RoutingContext{AgentContext: true}
	call := func() {
		if _, _, err := r.Get(context.Background(), rc, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
		tools.WithLabelValues("get_account", "ok").Inc()
	}
	call()
	mcp.down.Store(true)
	call()
	call() // the second failure opens MCP's breaker
	call() // skipped at once: breaker_open
	credits.WithLabelValues("BULK").Set(9876)
	sessions = 5
	step(p, clk)

	snap := src.Snapshot()
	if len(snap.Tiers) != 3 || snap.Tiers[0].Name != "MCP" || snap.Tiers[2].Configured {
		t.Fatalf("tiers = %+v; want MCP, BULK, REST with REST not configured", snap.Tiers)
	}
	m := snap.Tiers[0]
	if m.Breaker != Open || m.Requests != 3 || m.Failures != 2 || m.Latency.Count != 3 || len(m.Latency.Bounds) == 0 {
		t.Errorf("MCP = %+v; want open, 3 calls (the skipped one not counted), 2 failed, 3 timed", m)
	}
	if len(snap.Transitions) != 1 || snap.Transitions[0].To != Open || snap.Transitions[0].Reason != "2 consecutive failures" {
		t.Errorf("transitions = %+v; want MCP closed → open for 2 consecutive failures", snap.Transitions)
	}

	v := p.View()
	if v.Sessions != 5 || v.Level != LevelDegraded {
		t.Errorf("view: sessions %d, level %s; want 5, degraded", v.Sessions, v.Level)
	}
	tv := tierView(t, v, "MCP")
	if tv.Breaker != Open || tv.Requests != 3 || tv.Failures != 2 || len(tv.Transitions) != 1 {
		t.Errorf("MCP on the page = %+v", tv)
	}
	fo := map[string]uint64{}
	for _, f := range v.Failovers {
		fo[f.From+">"+f.To+" "+f.Reason] = f.Count
	}
	if fo["MCP>BULK unavailable"] != 2 || fo["MCP>BULK breaker_open"] != 1 {
		t.Errorf("failovers = %v; want MCP>BULK unavailable 2 and breaker_open 1", fo)
	}
	if len(v.Tools) != 1 || v.Tools[0].Count != 4 {
		t.Errorf("tools = %+v; want get_account 4", v.Tools)
	}
	if len(v.Credits) != 1 || v.Credits[0].Remaining == nil || *v.Credits[0].Remaining != 9876 {
		t.Errorf("credits = %+v; want BULK 9876", v.Credits)
	}
	if body := get(p, http.MethodGet, "/").Body.String(); !strings.Contains(body, `data-tier="MCP" data-breaker-state="open"`) {
		t.Errorf("the page does not show MCP open")
	}
}

func TestReadMetricsSumsATiersOperations(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricTierDuration, Help: "x", Buckets: []float64{.1, 1}}, []string{"tier", "operation"})
	reg.MustRegister(h)
	h.WithLabelValues("MCP", "get").Observe(.05)
	h.WithLabelValues("MCP", "list").Observe(.5)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	ReadMetrics(fams, &s)
	if len(s.Tiers) != 1 || s.Tiers[0].Latency.Count != 2 || s.Tiers[0].Latency.Counts[0] != 1 || s.Tiers[0].Latency.Counts[1] != 2 {
		t.Errorf("tiers = %+v; want MCP's two operations summed", s.Tiers)
	}
}
