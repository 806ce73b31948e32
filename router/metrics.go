package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

var ops = [...]tiers.OpKind{tiers.OpGet, tiers.OpList, tiers.OpSearch, tiers.OpUpdate, tiers.OpBulkRead, tiers.OpBulkUpdate,
	tiers.OpCreate, tiers.OpRelated, tiers.OpMetadata}

const numOps = len(ops) + 1 // the last slot is for any other operation

func opIndex(op tiers.OpKind) int {
	for i, o := range ops {
		if o == op {
			return i
		}
	}
	return len(ops)
}

func opName(i int) string {
	if i < len(ops) {
		return string(ops[i])
	}
	return "other"
}

// promMetrics are the router's Prometheus collectors.
type promMetrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	failovers   *prometheus.CounterVec
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
}

func newPromMetrics(reg prometheus.Registerer) (*promMetrics, error) {
	m := &promMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_mcp_proxy_tier_requests_total",
			Help: "Tier attempts by tier, operation and outcome (breaker_open and skipped_deadline: the tier was not called).",
		}, []string{"tier", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zoho_mcp_proxy_tier_request_duration_seconds",
			Help:    "Duration of calls to a tier, by tier and operation.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"tier", "operation"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_mcp_proxy_failovers_total",
			Help: "Calls moved from one tier to the next, by the reason the first could not serve.",
		}, []string{"from", "to", "reason"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zoho_mcp_proxy_circuit_breaker_state",
			Help: "Circuit breaker state per tier: 0 closed, 1 half-open, 2 open.",
		}, []string{"tier"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_mcp_proxy_breaker_transitions_total",
			Help: "Circuit breaker state changes per tier.",
		}, []string{"tier", "from", "to"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.failovers, m.state, m.transitions} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("router: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}

// tierProm caches one tier's metric children so that a call looks them up
// without allocating.
type tierProm struct {
	m         *promMetrics
	tier      string
	state     prometheus.Gauge
	requests  [numOps][tiers.NumAttemptOutcomes]atomic.Pointer[prometheus.Counter]
	failovers [maxTiers][tiers.NumAttemptOutcomes]atomic.Pointer[prometheus.Counter] // by the next tier's index
	duration  [numOps]atomic.Pointer[prometheus.Observer]
}

func (p *tierProm) init(m *promMetrics, name tiers.Name) {
	p.m, p.tier = m, string(name)
	p.state = m.state.WithLabelValues(p.tier)
}

// cached returns the metric child kept in slot, made by child on first use
// only, so that later calls neither allocate nor build labels. Two calls
// racing on first use may both make it: WithLabelValues returns the same
// child, so either store is right.
func cached[T any](slot *atomic.Pointer[T], child func() T) T {
	c := slot.Load()
	if c == nil {
		v := child()
		c = &v
		slot.Store(c)
	}
	return *c
}

func (p *tierProm) count(op tiers.OpKind, o tiers.AttemptOutcome) {
	i := opIndex(op)
	cached(&p.requests[i][o], func() prometheus.Counter {
		return p.m.requests.WithLabelValues(p.tier, opName(i), o.String())
	}).Inc()
}

func (p *tierProm) observe(op tiers.OpKind, o tiers.AttemptOutcome, d time.Duration) {
	p.count(op, o)
	i := opIndex(op)
	cached(&p.duration[i], func() prometheus.Observer {
		return p.m.duration.WithLabelValues(p.tier, opName(i))
	}).Observe(d.Seconds())
}

func (p *tierProm) transition(from, to gobreaker.State) {
	p.m.transitions.WithLabelValues(p.tier, stateName(from), stateName(to)).Inc()
	p.state.Set(float64(to)) // gobreaker: 0 closed, 1 half-open, 2 open
}

func (r *Router) noteFailover(op tiers.OpKind, from, to *tierState, reason tiers.AttemptOutcome) {
	cached(&from.prom.failovers[to.idx][reason], func() prometheus.Counter {
		return r.prom.failovers.WithLabelValues(string(from.name), string(to.name), reason.String())
	}).Inc()
	if r.log.Enabled(context.Background(), slog.LevelDebug) {
		r.log.Debug("failing over", "operation", string(op), "from", string(from.name), "to", string(to.name), "reason", reason.String())
	}
}

// window is how many recent durations per tier the percentiles are over.
const window = 1024

// maxTopErrors bounds the keys of TierMetrics.TopErrors; further kinds of
// error are counted under "other".
const maxTopErrors = 20

// tierStats are one tier's request statistics.
type tierStats struct {
	mu        sync.Mutex
	total     int64
	ok        int64
	failed    int64
	errs      int64
	sumMS     float64
	recent    [window]float64 // ring of durations in ms
	n         int             // filled slots of recent
	next      int             // next slot to write
	topErrors map[string]int64
}

func (s *tierStats) init() { s.topErrors = make(map[string]int64) }

// errorKey is the bounded-cardinality key of an error in top_errors: its
// class and Zoho's code, e.g. "rate_limited TOO_MANY_REQUESTS" or "unavailable".
func errorKey(err error) string {
	cls := tiers.Classify(err)
	var te *tiers.Error
	if errors.As(err, &te) && te.Code != "" && len(te.Code) <= 64 {
		return cls.String() + " " + te.Code
	}
	return cls.String()
}

func (s *tierStats) record(o tiers.AttemptOutcome, d time.Duration, err error) {
	ms := float64(d) / float64(time.Millisecond)
	served := o == tiers.AttemptSuccess || o == tiers.AttemptVerdict
	var key string
	if !served {
		key = errorKey(err)
	}
	s.mu.Lock()
	s.total++
	if served {
		s.ok++
	} else {
		// A failure is an error; Zoho's verdicts are not (the tier served).
		s.failed++
		s.errs++
		if _, ok := s.topErrors[key]; !ok && len(s.topErrors) >= maxTopErrors-1 && key != "other" {
			key = "other"
		}
		s.topErrors[key]++
	}
	s.sumMS += ms
	s.recent[s.next] = ms
	s.next = (s.next + 1) % window
	if s.n < window {
		s.n++
	}
	s.mu.Unlock()
}

// TierMetrics are one tier's request statistics (SPEC §4). A request is one
// call of the tier (a skipped tier is not counted). SuccessfulRequests counts
// the calls the tier answered, including Zoho's verdicts on the caller's
// request (INVALID_DATA …: the tier worked; /metrics counts them under
// outcome="verdict"); FailedRequests the rest (unavailable, rate limited,
// auth, unknown outcome, unsupported, canceled). ErrorCount counts the same
// failures, so SuccessRate is always 100·(TotalRequests−ErrorCount)/
// TotalRequests, and TopErrors splits them by class and Zoho code
// ("rate_limited", "unavailable"). Durations are in milliseconds; the
// percentiles are over the last 1024 calls; all are zero before any call.
type TierMetrics struct {
	Tier               tiers.Name       `json:"tier"`
	TotalRequests      int64            `json:"total_requests"`
	SuccessfulRequests int64            `json:"successful_requests"`
	FailedRequests     int64            `json:"failed_requests"`
	SuccessRate        float64          `json:"success_rate"` // percent
	AvgDurationMS      float64          `json:"avg_duration_ms"`
	P50DurationMS      float64          `json:"p50_duration_ms"`
	P95DurationMS      float64          `json:"p95_duration_ms"`
	P99DurationMS      float64          `json:"p99_duration_ms"`
	ErrorCount         int64            `json:"error_count"`
	TopErrors          map[string]int64 `json:"top_errors"`
}

// Metrics returns every tier's statistics in priority order.
func (r *Router) Metrics() []TierMetrics {
	out := make([]TierMetrics, 0, len(r.tiers))
	var durs []float64
	for _, ts := range r.tiers {
		s := &ts.stats
		s.mu.Lock()
		m := TierMetrics{
			Tier:               ts.name,
			TotalRequests:      s.total,
			SuccessfulRequests: s.ok,
			FailedRequests:     s.failed,
			ErrorCount:         s.errs,
			TopErrors:          make(map[string]int64, len(s.topErrors)),
		}
		for k, v := range s.topErrors {
			m.TopErrors[k] = v
		}
		sum := s.sumMS
		durs = append(durs[:0], s.recent[:s.n]...)
		s.mu.Unlock()
		if m.TotalRequests > 0 {
			m.SuccessRate = round2(100 * float64(m.SuccessfulRequests) / float64(m.TotalRequests))
			m.AvgDurationMS = round3(sum / float64(m.TotalRequests))
		}
		slices.Sort(durs)
		m.P50DurationMS = round3(percentile(durs, 50))
		m.P95DurationMS = round3(percentile(durs, 95))
		m.P99DurationMS = round3(percentile(durs, 99))
		out = append(out, m)
	}
	return out
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank-1, 0)]
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
