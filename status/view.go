package status

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// View is the page's data as of the newest sample: what the HTML shows and
// status.json serves. Series hold one value per kept sample, oldest first,
// at the times in Times; a nil entry is a gap (no calls, no reading).
type View struct {
	// Generated is the newest sample's time; zero before the first sample.
	Generated time.Time `json:"generated"`
	// Samples counts the samples taken since the page started.
	Samples uint64 `json:"samples"`
	// IntervalSeconds is the sampling interval.
	IntervalSeconds float64 `json:"interval_seconds"`
	// HistorySeconds is how far back the page keeps samples.
	HistorySeconds float64 `json:"history_seconds"`
	// WindowSeconds is the rolling window of the latency percentiles and
	// the success rate series.
	WindowSeconds float64 `json:"window_seconds"`
	// Level sums the tiers up: ok, degraded, down, or waiting (no sample
	// yet, or no tier configured).
	Level string `json:"level"`
	// Headline says the same in a sentence.
	Headline string `json:"headline"`
	// Sessions is the number of open MCP sessions; -1 means unknown.
	Sessions int `json:"sessions"`
	// Tiers are the tiers in priority order.
	Tiers []TierView `json:"tiers"`
	// Failovers are the failovers of the kept history, most frequent first.
	Failovers []FailoverView `json:"failovers"`
	// Tools are the tool calls of the kept history, most frequent first.
	Tools []ToolView `json:"tools"`
	// Credits are the Zoho credit readings, by the tier that saw them.
	Credits []CreditView `json:"credits"`
	// Times are the kept samples' times, oldest first.
	Times []time.Time `json:"times"`
	// SessionSeries is Sessions at each kept sample.
	SessionSeries []*int `json:"session_series"`
}

// TierView is one tier on the page.
type TierView struct {
	Name       string       `json:"tier"`
	Enabled    bool         `json:"enabled"`
	Configured bool         `json:"configured"`
	Breaker    BreakerState `json:"breaker"`
	// BreakerSince is when the breaker entered its state, if the page saw
	// it happen.
	BreakerSince time.Time `json:"breaker_since,omitzero"`
	// Requests and Failures count calls over the kept history.
	Requests uint64 `json:"requests"`
	Failures uint64 `json:"failures"`
	// SuccessRate is the percent of Requests served; nil without calls.
	SuccessRate *float64 `json:"success_rate"`
	// P50MS, P95MS and P99MS are latency percentiles in milliseconds over
	// the rolling window, estimated from the histogram buckets; nil
	// without calls in the window.
	P50MS *float64 `json:"p50_ms"`
	P95MS *float64 `json:"p95_ms"`
	P99MS *float64 `json:"p99_ms"`
	// Transitions are the tier's recent breaker transitions, newest first.
	Transitions []Transition `json:"transitions"`
	// Series are the tier's values at each kept sample.
	Series TierSeries `json:"series"`
}

// TierSeries are a tier's values per sample: calls and failures in the
// interval; the success rate and latency percentiles over the rolling
// window ending at the sample; the breaker state at the sample.
type TierSeries struct {
	Requests    []uint64       `json:"requests"`
	Failures    []uint64       `json:"failures"`
	SuccessRate []*float64     `json:"success_rate"`
	P50MS       []*float64     `json:"p50_ms"`
	P95MS       []*float64     `json:"p95_ms"`
	P99MS       []*float64     `json:"p99_ms"`
	States      []BreakerState `json:"states"`
}

// FailoverView counts failovers From one tier To the next for Reason: Count
// over the kept history, Total since the proxy started.
type FailoverView struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
	Count  uint64 `json:"count"`
	Total  uint64 `json:"total"`
}

// ToolView counts a tool's calls: Count over the kept history, Total since
// the proxy started, and both by outcome.
type ToolView struct {
	Tool     string         `json:"tool"`
	Count    uint64         `json:"count"`
	Total    uint64         `json:"total"`
	Outcomes []OutcomeCount `json:"outcomes"`
}

// OutcomeCount is one outcome of a tool's calls.
type OutcomeCount struct {
	Outcome string `json:"outcome"`
	Count   uint64 `json:"count"`
	Total   uint64 `json:"total"`
}

// CreditView is the Zoho credit balance reported to one tier: the latest
// reading and the reading at each kept sample.
type CreditView struct {
	Tier      string   `json:"tier"`
	Remaining *int64   `json:"remaining"`
	Series    []*int64 `json:"series"`
}

// The values of View.Level.
const (
	LevelOK       = "ok"
	LevelDegraded = "degraded"
	LevelDown     = "down"
	LevelWaiting  = "waiting"
)

// view builds the View of the recorder's state.
func (r *recorder) view() View {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := View{
		Samples:         r.samples,
		IntervalSeconds: r.interval.Seconds(),
		HistorySeconds:  (time.Duration(r.slots) * r.interval).Seconds(),
		WindowSeconds:   (time.Duration(r.winSlots) * r.interval).Seconds(),
		Sessions:        r.sessions,
	}
	win := r.window(r.n)
	if len(win) == 0 {
		v.Level, v.Headline = LevelWaiting, "Waiting for the first sample."
		return v
	}
	v.Generated = win[len(win)-1].at
	v.Times = make([]time.Time, len(win))
	v.SessionSeries = make([]*int, len(win))
	for i, s := range win {
		v.Times[i] = s.at
		if n := s.sessions; n >= 0 {
			v.SessionSeries[i] = &n
		}
	}
	for _, tr := range r.order {
		v.Tiers = append(v.Tiers, r.tierView(tr, win))
	}
	v.Failovers = r.failoverViews(win)
	v.Tools = r.toolViews(win)
	v.Credits = r.creditViews(win)
	v.Level, v.Headline = headline(v.Tiers)
	return v
}

func (r *recorder) tierView(tr *tierTrack, win []*slot) TierView {
	idx := r.index(tr)
	tv := TierView{Name: tr.name, Enabled: tr.enabled, Configured: tr.configured, Breaker: tr.state}
	for i := len(tr.trans) - 1; i >= 0; i-- {
		tv.Transitions = append(tv.Transitions, tr.trans[i])
	}
	if n := len(tr.trans); n > 0 && tr.trans[n-1].To == tr.state {
		tv.BreakerSince = tr.trans[n-1].At
	}
	at := func(s *slot) *tierSlot {
		if idx < len(s.tiers) && s.tiers[idx].present {
			return &s.tiers[idx]
		}
		return nil
	}
	ser := &tv.Series
	n := len(win)
	ser.Requests, ser.Failures = make([]uint64, n), make([]uint64, n)
	ser.SuccessRate = make([]*float64, n)
	ser.P50MS, ser.P95MS, ser.P99MS = make([]*float64, n), make([]*float64, n), make([]*float64, n)
	ser.States = make([]BreakerState, n)
	buckets := make([]uint64, len(tr.bounds)+1)
	for i, s := range win {
		ts := at(s)
		if ts == nil {
			continue
		}
		ser.States[i] = ts.state
		ser.Requests[i], ser.Failures[i] = ts.req, ts.fail
		tv.Requests += ts.req
		tv.Failures += ts.fail
		clear(buckets)
		var req, fail uint64
		for _, w := range win[max(i-r.winSlots+1, 0) : i+1] {
			ws := at(w)
			if ws == nil {
				continue
			}
			req, fail = req+ws.req, fail+ws.fail
			if ws.gen == tr.gen && ws.lat != nil {
				for b, c := range ws.lat {
					buckets[b] += c
				}
			}
		}
		ser.SuccessRate[i] = rate(req, fail)
		ser.P50MS[i] = quantileMS(0.50, tr.bounds, buckets)
		ser.P95MS[i] = quantileMS(0.95, tr.bounds, buckets)
		ser.P99MS[i] = quantileMS(0.99, tr.bounds, buckets)
	}
	tv.SuccessRate = rate(tv.Requests, tv.Failures)
	tv.P50MS, tv.P95MS, tv.P99MS = ser.P50MS[n-1], ser.P95MS[n-1], ser.P99MS[n-1]
	return tv
}

func rate(req, fail uint64) *float64 {
	if req == 0 {
		return nil
	}
	v := math.Round(10000*float64(req-fail)/float64(req)) / 100
	return &v
}

func quantileMS(q float64, bounds []float64, buckets []uint64) *float64 {
	v, ok := quantile(q, bounds, buckets)
	if !ok {
		return nil
	}
	ms := math.Round(v*1e6) / 1e3
	return &ms
}

// quantile estimates the q-quantile (0 < q < 1) of the observations counted
// in buckets (buckets[i] of them in (bounds[i-1], bounds[i]], the last one
// above every bound) by linear interpolation inside the bucket, as
// Prometheus's histogram_quantile does; an estimate that falls above the
// highest bound is that bound. It reports false without observations.
func quantile(q float64, bounds []float64, buckets []uint64) (float64, bool) {
	var total uint64
	for _, c := range buckets {
		total += c
	}
	if total == 0 || len(bounds) == 0 || len(buckets) != len(bounds)+1 {
		return 0, false
	}
	rank := q * float64(total)
	var below uint64
	for i, c := range buckets {
		if c == 0 || float64(below+c) < rank {
			below += c
			continue
		}
		if i == len(bounds) {
			return bounds[len(bounds)-1], true
		}
		lo := 0.0
		if i > 0 {
			lo = bounds[i-1]
		}
		return lo + (bounds[i]-lo)*(rank-float64(below))/float64(c), true
	}
	return bounds[len(bounds)-1], true
}

func (r *recorder) failoverViews(win []*slot) []FailoverView {
	count := make([]uint64, len(r.failovers.keys))
	for _, s := range win {
		for _, kc := range s.failovers {
			count[kc.key] += kc.count
		}
	}
	var out []FailoverView
	for id, k := range r.failovers.keys {
		var total uint64
		if id < len(r.prevFo) {
			total = r.prevFo[id]
		}
		if count[id] == 0 && total == 0 {
			continue
		}
		out = append(out, FailoverView{From: k[0], To: k[1], Reason: k[2], Count: count[id], Total: total})
	}
	slices.SortStableFunc(out, func(a, b FailoverView) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(b.Total, a.Total))
	})
	return out
}

func (r *recorder) toolViews(win []*slot) []ToolView {
	count := make([]uint64, len(r.tools.keys))
	for _, s := range win {
		for _, kc := range s.tools {
			count[kc.key] += kc.count
		}
	}
	var out []ToolView
	at := map[string]int{}
	for id, k := range r.tools.keys {
		var total uint64
		if id < len(r.prevTool) {
			total = r.prevTool[id]
		}
		if count[id] == 0 && total == 0 {
			continue
		}
		i, ok := at[k[0]]
		if !ok {
			i = len(out)
			at[k[0]] = i
			out = append(out, ToolView{Tool: k[0]})
		}
		t := &out[i]
		t.Count += count[id]
		t.Total += total
		t.Outcomes = append(t.Outcomes, OutcomeCount{Outcome: k[1], Count: count[id], Total: total})
	}
	for i := range out {
		slices.SortStableFunc(out[i].Outcomes, func(a, b OutcomeCount) int {
			return cmp.Or(cmp.Compare(b.Total, a.Total), strings.Compare(a.Outcome, b.Outcome))
		})
	}
	slices.SortStableFunc(out, func(a, b ToolView) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(b.Total, a.Total), strings.Compare(a.Tool, b.Tool))
	})
	return out
}

func (r *recorder) creditViews(win []*slot) []CreditView {
	out := make([]CreditView, len(r.credits.keys))
	for id, k := range r.credits.keys {
		cv := CreditView{Tier: k[0], Series: make([]*int64, len(win))}
		for i, s := range win {
			if id < len(s.credits) && s.credits[id] >= 0 {
				cv.Series[i] = &s.credits[id]
				cv.Remaining = cv.Series[i]
			}
		}
		out[id] = cv
	}
	return out
}

// headline sums the tiers up in a level and a sentence.
func headline(ts []TierView) (string, string) {
	var usable, open, half []TierView
	for _, t := range ts {
		if !t.Enabled || !t.Configured {
			continue
		}
		usable = append(usable, t)
		switch t.Breaker {
		case Open:
			open = append(open, t)
		case HalfOpen:
			half = append(half, t)
		}
	}
	switch {
	case len(usable) == 0:
		return LevelWaiting, "No tier is enabled and configured: calls cannot be served."
	case len(open) == len(usable):
		return LevelDown, "Every tier's circuit breaker is open: calls fail until one recovers."
	case len(open) == 0 && len(half) == 0:
		if len(usable) == 1 {
			return LevelOK, fmt.Sprintf("%s is serving calls; it is the only configured tier.", usable[0].Name)
		}
		return LevelOK, fmt.Sprintf("All %d configured tiers are serving calls.", len(usable))
	}
	var parts []string
	for _, t := range usable {
		switch t.Breaker {
		case Open:
			s := t.Name + " breaker open"
			if !t.BreakerSince.IsZero() {
				s += " since " + t.BreakerSince.UTC().Format("15:04:05") + " UTC"
			}
			parts = append(parts, s)
		case HalfOpen:
			parts = append(parts, t.Name+" breaker half-open, trying calls again")
		}
	}
	var serving []string
	for _, t := range usable {
		if t.Breaker != Open {
			serving = append(serving, t.Name)
		}
	}
	return LevelDegraded, strings.Join(parts, "; ") + "; calls go to " + strings.Join(serving, ", then ") + "."
}
