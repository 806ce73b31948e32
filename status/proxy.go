package status

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The proxy's metrics the page reads (the router's and the MCP server's
// collectors; README "Health, metrics and logs").
const (
	metricTierRequests = "zoho_mcp_proxy_tier_requests_total"           // tier, operation, outcome
	metricTierDuration = "zoho_mcp_proxy_tier_request_duration_seconds" // tier, operation
	metricFailovers    = "zoho_mcp_proxy_failovers_total"               // from, to, reason
	metricToolCalls    = "zoho_mcp_proxy_tool_calls_total"              // tool, outcome
	metricCredits      = "zoho_mcp_proxy_zoho_api_credits_remaining"    // tier
)

// Proxy is the Source of a running proxy: tier health and breaker changes
// from its router, counters from its Prometheus registry, and its session
// count. The page then shows the same numbers /metrics exports.
type Proxy struct {
	// Router gives each tier's configuration, breaker state and breaker
	// changes. Required.
	Router *router.Router
	// Metrics is the registry holding the router's and the MCP server's
	// collectors. Nil means no counters: states only.
	Metrics prometheus.Gatherer
	// Sessions returns the number of open MCP sessions. Nil means unknown.
	Sessions func() int
}

var _ Source = Proxy{}

// Snapshot implements Source.
func (p Proxy) Snapshot() Snapshot {
	s := Snapshot{Sessions: -1}
	if p.Sessions != nil {
		s.Sessions = p.Sessions()
	}
	for _, h := range p.Router.Health() {
		s.Tiers = append(s.Tiers, TierSnapshot{Name: string(h.Tier), Enabled: h.Enabled, Configured: h.Configured,
			Breaker: BreakerState(h.CircuitBreaker.State)})
	}
	for _, c := range p.Router.BreakerChanges() {
		s.Transitions = append(s.Transitions, Transition{Seq: c.Seq, Tier: string(c.Tier), At: c.At,
			From: BreakerState(c.From), To: BreakerState(c.To), Reason: c.Reason})
	}
	if p.Metrics != nil {
		// A gathering error still returns what could be gathered.
		families, _ := p.Metrics.Gather()
		ReadMetrics(families, &s)
	}
	return s
}

// ReadMetrics adds to s what the proxy's metric families say: each tier's
// calls, failures and latency histogram (summed over operations), failovers,
// tool calls and Zoho credit readings. A tier of s is matched by name; a
// tier the metrics name that s lacks is added. A call the breaker refused or
// the deadline skipped was no call of the tier; a success or Zoho's verdict
// is a served call; any other outcome a failure, as in get_tier_metrics.
func ReadMetrics(families []*dto.MetricFamily, s *Snapshot) {
	tier := func(name string) *TierSnapshot {
		for i := range s.Tiers {
			if s.Tiers[i].Name == name {
				return &s.Tiers[i]
			}
		}
		s.Tiers = append(s.Tiers, TierSnapshot{Name: name, Enabled: true, Configured: true})
		return &s.Tiers[len(s.Tiers)-1]
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			l := labels(m)
			switch f.GetName() {
			case metricTierRequests:
				n := uint64(m.GetCounter().GetValue())
				switch l["outcome"] {
				case tiers.AttemptBreakerOpen.String(), tiers.AttemptSkippedDeadline.String():
				case tiers.AttemptSuccess.String(), tiers.AttemptVerdict.String():
					tier(l["tier"]).Requests += n
				default:
					t := tier(l["tier"])
					t.Requests += n
					t.Failures += n
				}
			case metricTierDuration:
				addHistogram(&tier(l["tier"]).Latency, m.GetHistogram())
			case metricFailovers:
				s.Failovers = append(s.Failovers, FailoverCount{From: l["from"], To: l["to"], Reason: l["reason"],
					Count: uint64(m.GetCounter().GetValue())})
			case metricToolCalls:
				s.Tools = append(s.Tools, ToolCount{Tool: l["tool"], Outcome: l["outcome"], Count: uint64(m.GetCounter().GetValue())})
			case metricCredits:
				s.Credits = append(s.Credits, Credits{Tier: l["tier"], Remaining: int64(m.GetGauge().GetValue())})
			}
		}
	}
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// addHistogram adds the Prometheus histogram h to dst. Histograms of one
// tier share their buckets; one with other buckets is skipped.
func addHistogram(dst *Histogram, h *dto.Histogram) {
	bs := h.GetBucket()
	if len(dst.Bounds) == 0 && dst.Count == 0 {
		dst.Bounds = make([]float64, len(bs))
		dst.Counts = make([]uint64, len(bs))
		for i, b := range bs {
			dst.Bounds[i] = b.GetUpperBound()
		}
	}
	if len(bs) != len(dst.Bounds) {
		return
	}
	for i, b := range bs {
		if b.GetUpperBound() != dst.Bounds[i] {
			return
		}
	}
	for i, b := range bs {
		dst.Counts[i] += b.GetCumulativeCount()
	}
	dst.Count += h.GetSampleCount()
}
