package router

import (
	"context"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// noopTier answers every call at once, without allocating.
type noopTier struct{ name tiers.Name }

func (n noopTier) Name() tiers.Name                                          { return n.name }
func (noopTier) Configured() bool                                            { return true }
func (noopTier) Supports(tiers.OpKind) bool                                  { return true }
func (noopTier) Probe(context.Context) error                                 { return nil }
func (noopTier) Get(context.Context, tiers.GetRequest) (tiers.Record, error) { return nil, nil }
func (noopTier) List(context.Context, tiers.ListRequest) (tiers.Page, error) {
	return tiers.Page{}, nil
}
func (noopTier) Search(context.Context, tiers.SearchRequest) (tiers.Page, error) {
	return tiers.Page{}, nil
}
func (noopTier) Update(context.Context, tiers.UpdateRequest) (tiers.Outcome, error) {
	return tiers.Outcome{}, nil
}
func (noopTier) BulkUpdate(context.Context, tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	return tiers.BulkUpdateResult{}, nil
}
func (noopTier) BulkRead(context.Context, tiers.BulkReadRequest, tiers.RecordSink) (tiers.BulkReadResult, error) {
	return tiers.BulkReadResult{}, nil
}

// refusedTier makes a minimal HTTP GET to a loopback port where nothing
// listens, as a tier whose upstream is down does.
type refusedTier struct {
	noopTier
	url    string
	client *http.Client
}

func (t refusedTier) Get(ctx context.Context, _ tiers.GetRequest) (tiers.Record, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, &tiers.Error{Tier: t.name, Class: tiers.ClassUnavailable, Message: "connection refused", Err: err}
	}
	resp.Body.Close()
	return nil, nil
}

func benchRouter(b *testing.B, cfg Config, ts ...tiers.Tier) *Router {
	b.Helper()
	cfg.Failover = true
	cfg.Registerer = prometheus.NewRegistry()
	r, err := New(cfg, ts...)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

var agentRC = RoutingContext{AgentContext: true, Tools: []string{"read", "write"}}

// BenchmarkRouterGet is the router's overhead per call: three tiers,
// breakers and metrics on, served by a no-op tier 1.
func BenchmarkRouterGet(b *testing.B) {
	r := benchRouter(b, Config{}, noopTier{tiers.MCP}, noopTier{tiers.Bulk}, noopTier{tiers.REST})
	ctx := context.Background()
	req := tiers.GetRequest{Module: "Accounts", ID: "1001"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Get(ctx, agentRC, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFailoverOpenBreaker is a call whose chosen tier's breaker is
// open: skipped at once, served by tier 2. Subtract BenchmarkRouterGet for
// the added latency.
func BenchmarkFailoverOpenBreaker(b *testing.B) {
	down := tierstest.NewTier(tiers.MCP, nil)
	down.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
	r := benchRouter(b, Config{BreakerThreshold: 1, BreakerTimeout: time.Hour}, down, noopTier{tiers.Bulk}, noopTier{tiers.REST})
	ctx := context.Background()
	req := tiers.GetRequest{Module: "Accounts", ID: "1001"}
	if _, _, err := r.Get(ctx, agentRC, req); err != nil { // trips MCP's breaker
		b.Fatal(err)
	}
	if !r.tier(tiers.MCP).br.open() {
		b.Fatal("MCP breaker did not open")
	}
	b.ReportAllocs()
	for b.Loop() {
		_, route, err := r.Get(ctx, agentRC, req)
		if err != nil || route.Tier != tiers.Bulk {
			b.Fatal(route, err)
		}
	}
}

// BenchmarkFailoverRefused is a call whose tier 1 is a real HTTP GET to a
// loopback port with nothing listening, then a no-op tier 2. It reports the
// p99 of the whole call.
func BenchmarkFailoverRefused(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/crm/v8/Accounts/1001"
	l.Close()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	down := refusedTier{noopTier: noopTier{tiers.MCP}, url: url, client: &http.Client{Transport: tr}}
	// A breaker that never opens, so every call pays for the refusal.
	r := benchRouter(b, Config{BreakerThreshold: 1 << 31}, down, noopTier{tiers.Bulk}, noopTier{tiers.REST})
	ctx := context.Background()
	req := tiers.GetRequest{Module: "Accounts", ID: "1001"}
	var durs []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		_, route, err := r.Get(ctx, agentRC, req)
		durs = append(durs, time.Since(t0))
		if err != nil || route.Tier != tiers.Bulk || route.Attempts[0].Outcome != tiers.AttemptUnavailable {
			b.Fatal(route, err)
		}
	}
	slices.Sort(durs)
	p := func(q float64) float64 { return float64(durs[int(q*float64(len(durs)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}
