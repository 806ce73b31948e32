package status

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// newTestPage returns a page over a fake source with tiers MCP, BULK and
// REST, sampling every 10s, with the given history and window.
func newTestPage(t *testing.T, history, window time.Duration) (*Page, *fakeSource, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	src := newFakeSource("MCP", "BULK", "REST")
	p, err := New(src, Options{Clock: clk, Interval: 10 * time.Second, History: history, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	return p, src, clk
}

// step samples p and moves the clock one interval on.
func step(p *Page, clk *fakeClock) {
	p.Sample()
	clk.Advance(10 * time.Second)
}

func tierView(t *testing.T, v View, name string) TierView {
	t.Helper()
	for _, tv := range v.Tiers {
		if tv.Name == name {
			return tv
		}
	}
	t.Fatalf("no tier %s in the view", name)
	return TierView{}
}

func TestRingKeepsOnlyHistory(t *testing.T) {
	p, src, clk := newTestPage(t, time.Minute, 30*time.Second) // 6 slots
	for i := range 20 {
		src.calls("MCP", i+1, 0, 5*time.Millisecond) // i+1 calls before sample i
		step(p, clk)
	}
	v := p.View()
	if len(v.Times) != 6 {
		t.Fatalf("kept %d samples; want the ring's 6", len(v.Times))
	}
	if want := t0.Add(14 * 10 * time.Second); !v.Times[0].Equal(want) {
		t.Errorf("oldest kept sample at %v; want %v (the 15th)", v.Times[0], want)
	}
	if want := t0.Add(19 * 10 * time.Second); !v.Generated.Equal(want) {
		t.Errorf("Generated = %v; want the newest sample's time %v", v.Generated, want)
	}
	// Samples 14..19 saw 15..20 new calls.
	mcp := tierView(t, v, "MCP")
	if want := uint64(15 + 16 + 17 + 18 + 19 + 20); mcp.Requests != want {
		t.Errorf("MCP requests over the history = %d; want %d (only the kept slots)", mcp.Requests, want)
	}
	if got := mcp.Series.Requests; fmt.Sprint(got) != "[15 16 17 18 19 20]" {
		t.Errorf("MCP request series = %v; want one difference per slot", got)
	}
	if v.Samples != 20 {
		t.Errorf("Samples = %d; want 20", v.Samples)
	}
}

func TestFirstSampleIsTheBaseline(t *testing.T) {
	p, src, clk := newTestPage(t, time.Minute, time.Minute)
	src.calls("MCP", 1000, 10, time.Millisecond) // before the page started
	src.tool("get_account", "ok", 1000)
	step(p, clk)
	src.calls("MCP", 4, 1, time.Millisecond)
	src.tool("get_account", "ok", 4)
	step(p, clk)
	v := p.View()
	mcp := tierView(t, v, "MCP")
	if mcp.Requests != 4 || mcp.Failures != 1 {
		t.Errorf("MCP requests/failures = %d/%d; want 4/1 (counted from the first sample)", mcp.Requests, mcp.Failures)
	}
	if mcp.SuccessRate == nil || *mcp.SuccessRate != 75 {
		t.Errorf("success rate = %v; want 75", mcp.SuccessRate)
	}
	if len(v.Tools) != 1 || v.Tools[0].Count != 4 || v.Tools[0].Total != 1004 {
		t.Errorf("tools = %+v; want get_account with 4 in the history and 1004 in total", v.Tools)
	}
}

func TestCounterThatWentDownRestartedFromZero(t *testing.T) {
	p, src, clk := newTestPage(t, time.Minute, time.Minute)
	src.calls("MCP", 50, 0, time.Millisecond)
	step(p, clk)
	src.do(func(*Snapshot) {
		tr := src.tier("MCP")
		tr.Requests, tr.Failures = 3, 0
		tr.Latency = Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds))}
		observe(&tr.Latency, 0.2, 3)
	})
	step(p, clk)
	mcp := tierView(t, p.View(), "MCP")
	if mcp.Requests != 3 {
		t.Errorf("requests after a restart = %d; want the 3 counted since", mcp.Requests)
	}
	if mcp.P50MS == nil || *mcp.P50MS < 100 || *mcp.P50MS > 250 {
		t.Errorf("p50 after a restart = %v; want in the 0.1–0.25 s bucket", mcp.P50MS)
	}
}

func TestPercentilesCoverOnlyTheWindow(t *testing.T) {
	p, src, clk := newTestPage(t, 10*time.Minute, 30*time.Second) // window: 3 slots
	step(p, clk)                                                  // baseline
	src.calls("MCP", 100, 0, 4*time.Second)                       // slow, in (2.5s, 5s]
	step(p, clk)
	mcp := tierView(t, p.View(), "MCP")
	if mcp.P50MS == nil || *mcp.P50MS <= 2500 || *mcp.P50MS > 5000 {
		t.Fatalf("p50 with slow calls = %v; want in (2500, 5000] ms", mcp.P50MS)
	}
	for range 3 {
		src.calls("MCP", 100, 0, 3*time.Millisecond) // fast, in (2.5ms, 5ms]
		step(p, clk)
	}
	mcp = tierView(t, p.View(), "MCP")
	if mcp.P99MS == nil || *mcp.P99MS > 5 {
		t.Errorf("p99 once the slow calls left the window = %v; want at most 5 ms", mcp.P99MS)
	}
	// The series keeps the slow slot's own window.
	if s := mcp.Series.P50MS; s[1] == nil || *s[1] < 2500 {
		t.Errorf("p50 series at the slow slot = %v; want above 2500 ms", s[1])
	}
	for range 3 {
		step(p, clk) // no calls
	}
	mcp = tierView(t, p.View(), "MCP")
	if mcp.P50MS != nil {
		t.Errorf("p50 with no call in the window = %v; want nil", *mcp.P50MS)
	}
	if mcp.SuccessRate == nil || *mcp.SuccessRate != 100 {
		t.Errorf("success rate over the history = %v; want 100", mcp.SuccessRate)
	}
}

func TestQuantile(t *testing.T) {
	b := []float64{1, 2, 4}
	for _, tc := range []struct {
		name    string
		q       float64
		buckets []uint64
		want    float64
		ok      bool
	}{
		{"empty", 0.5, []uint64{0, 0, 0, 0}, 0, false},
		{"first bucket interpolates from zero", 0.5, []uint64{10, 0, 0, 0}, 0.5, true},
		{"middle of the second bucket", 0.75, []uint64{10, 20, 0, 0}, 1 + 1*(22.5-10)/20, true},
		{"a bucket's top", 0.5, []uint64{5, 5, 0, 0}, 1, true},
		{"skips empty buckets", 0.99, []uint64{0, 0, 10, 0}, 2 + 2*9.9/10, true},
		{"above every bound is the highest bound", 0.99, []uint64{1, 0, 0, 99}, 4, true},
		{"mismatched lengths", 0.5, []uint64{1, 2}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := quantile(tc.q, b, tc.buckets)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("quantile(%v, %v) = %v, %v; want %v, %v", tc.q, tc.buckets, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestHistogramWithNewBoundsRestartsLatency(t *testing.T) {
	p, src, clk := newTestPage(t, 10*time.Minute, 10*time.Minute)
	step(p, clk)
	src.calls("MCP", 10, 0, 3*time.Second)
	step(p, clk)
	src.do(func(*Snapshot) {
		tr := src.tier("MCP")
		tr.Latency = Histogram{Bounds: []float64{0.01, 0.1}, Counts: []uint64{0, 0}}
	})
	step(p, clk) // new bounds: a new baseline
	src.calls("MCP", 10, 0, 5*time.Millisecond)
	step(p, clk)
	mcp := tierView(t, p.View(), "MCP")
	if mcp.P99MS == nil || *mcp.P99MS > 10 {
		t.Errorf("p99 after the bounds changed = %v; want at most 10 ms (old slots ignored)", mcp.P99MS)
	}
}

func TestTransitions(t *testing.T) {
	t.Run("reported ones are kept once, with their time and reason", func(t *testing.T) {
		p, src, clk := newTestPage(t, time.Hour, time.Minute)
		step(p, clk)
		at := clk.Now().Add(-3 * time.Second)
		src.setBreaker("MCP", Open, at, "5 consecutive failures (last: unavailable)")
		step(p, clk)
		step(p, clk) // the source reports the same transition again
		mcp := tierView(t, p.View(), "MCP")
		if len(mcp.Transitions) != 1 {
			t.Fatalf("transitions = %+v; want one", mcp.Transitions)
		}
		tr := mcp.Transitions[0]
		if tr.From != Closed || tr.To != Open || !tr.At.Equal(at) || tr.Reason != "5 consecutive failures (last: unavailable)" {
			t.Errorf("transition = %+v; want closed → open at %v with the reason", tr, at)
		}
		if mcp.Breaker != Open || !mcp.BreakerSince.Equal(at) {
			t.Errorf("breaker %s since %v; want open since %v", mcp.Breaker, mcp.BreakerSince, at)
		}
	})
	t.Run("a change no one reported is noted at the sample", func(t *testing.T) {
		p, src, clk := newTestPage(t, time.Hour, time.Minute)
		step(p, clk)
		src.setBreaker("BULK", HalfOpen, time.Time{}, "")
		when := clk.Now()
		step(p, clk)
		step(p, clk)
		bulk := tierView(t, p.View(), "BULK")
		if len(bulk.Transitions) != 1 {
			t.Fatalf("transitions = %+v; want one", bulk.Transitions)
		}
		if tr := bulk.Transitions[0]; tr.From != Closed || tr.To != HalfOpen || !tr.At.Equal(when) || tr.Reason != "" {
			t.Errorf("transition = %+v; want closed → half_open at the sample %v without a reason", tr, when)
		}
	})
	t.Run("a short open seen only in the report still shows", func(t *testing.T) {
		p, src, clk := newTestPage(t, time.Hour, time.Minute)
		step(p, clk)
		now := clk.Now()
		src.setBreaker("MCP", Open, now.Add(-9*time.Second), "5 consecutive failures")
		src.setBreaker("MCP", HalfOpen, now.Add(-5*time.Second), "cooldown elapsed")
		src.setBreaker("MCP", Closed, now.Add(-1*time.Second), "2 trial calls succeeded")
		step(p, clk)
		mcp := tierView(t, p.View(), "MCP")
		var got []string
		for _, tr := range mcp.Transitions {
			got = append(got, string(tr.To))
		}
		if strings.Join(got, ",") != "closed,half_open,open" {
			t.Errorf("transitions newest first = %v; want closed, half_open, open", got)
		}
	})
	t.Run("at most Transitions per tier, the newest", func(t *testing.T) {
		clk := newFakeClock()
		src := newFakeSource("MCP")
		p, err := New(src, Options{Clock: clk, Transitions: 3})
		if err != nil {
			t.Fatal(err)
		}
		step(p, clk)
		for i := range 10 {
			to := Open
			if i%2 == 1 {
				to = Closed
			}
			src.setBreaker("MCP", to, clk.Now().Add(time.Duration(i)*time.Millisecond), fmt.Sprint("change ", i))
		}
		step(p, clk)
		mcp := tierView(t, p.View(), "MCP")
		if len(mcp.Transitions) != 3 || mcp.Transitions[0].Reason != "change 9" || mcp.Transitions[2].Reason != "change 7" {
			t.Errorf("transitions = %+v; want changes 9, 8, 7", mcp.Transitions)
		}
	})
}

func TestBoundsOnWhatASourceReports(t *testing.T) {
	p, src, clk := newTestPage(t, time.Minute, time.Minute)
	step(p, clk)
	for i := range 500 {
		src.tool(fmt.Sprintf("tool_%03d", i), "ok", 1)
		src.failover("MCP", "BULK", fmt.Sprintf("reason %d", i), 1)
	}
	src.tool(strings.Repeat("x", 1000), "ok\r\nevent: injected", 1)
	src.do(func(s *Snapshot) {
		for i := range 20 {
			s.Tiers = append(s.Tiers, TierSnapshot{Name: fmt.Sprint("T", i), Enabled: true, Configured: true})
		}
	})
	step(p, clk)
	v := p.View()
	if len(p.rec.tools.keys) > maxToolKeys || len(p.rec.failovers.keys) > maxFailoverKeys {
		t.Errorf("keys kept: %d tools, %d failovers; want at most %d and %d",
			len(p.rec.tools.keys), len(p.rec.failovers.keys), maxToolKeys, maxFailoverKeys)
	}
	if len(v.Tiers) != maxTiers {
		t.Errorf("tiers kept = %d; want %d", len(v.Tiers), maxTiers)
	}
	var total, other uint64
	for _, tv := range v.Tools {
		total += tv.Count
		if tv.Tool == "other" {
			other = tv.Count
		}
		if len(tv.Tool) > maxNameLen+len("…") {
			t.Errorf("tool name of %d bytes kept; want at most %d", len(tv.Tool), maxNameLen)
		}
		for _, o := range tv.Outcomes {
			if strings.ContainsAny(o.Outcome, "\r\n") {
				t.Errorf("outcome %q keeps a line break", o.Outcome)
			}
		}
	}
	if total != 501 || other == 0 {
		t.Errorf("tool calls = %d (other %d); want all 501 counted, the excess under other", total, other)
	}
}

func TestHeadline(t *testing.T) {
	since := time.Date(2026, 3, 14, 9, 30, 5, 0, time.UTC)
	tier := func(name string, st BreakerState, on bool) TierView {
		return TierView{Name: name, Enabled: true, Configured: on, Breaker: st, BreakerSince: since}
	}
	for _, tc := range []struct {
		name  string
		tiers []TierView
		level string
		text  string
	}{
		{"all closed", []TierView{tier("MCP", Closed, true), tier("BULK", Closed, true)}, LevelOK, "All 2 configured tiers are serving calls."},
		{"one configured", []TierView{tier("MCP", Closed, false), tier("REST", Closed, true)}, LevelOK, "REST is serving calls; it is the only configured tier."},
		{"first open", []TierView{tier("MCP", Open, true), tier("BULK", Closed, true), tier("REST", Closed, true)}, LevelDegraded,
			"MCP breaker open since 09:30:05 UTC; calls go to BULK, then REST."},
		{"half open", []TierView{tier("MCP", HalfOpen, true), tier("BULK", Closed, true)}, LevelDegraded,
			"MCP breaker half-open, trying calls again; calls go to MCP, then BULK."},
		{"all open", []TierView{tier("MCP", Open, true), tier("BULK", Open, true), tier("REST", Closed, false)}, LevelDown,
			"Every tier's circuit breaker is open: calls fail until one recovers."},
		{"none configured", []TierView{tier("MCP", Closed, false)}, LevelWaiting, "No tier is enabled and configured: calls cannot be served."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level, text := headline(tc.tiers)
			if level != tc.level || text != tc.text {
				t.Errorf("headline = %s, %q; want %s, %q", level, text, tc.level, tc.text)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	src := newFakeSource("MCP")
	for _, tc := range []struct {
		name string
		o    Options
		want string // part of the error; empty means none
	}{
		{"zero value", Options{}, ""},
		{"negative interval", Options{Interval: -time.Second}, "Interval is -1s"},
		{"history shorter than two intervals", Options{Interval: time.Minute, History: time.Minute}, "at least two intervals"},
		{"too many slots", Options{Interval: time.Millisecond, History: time.Hour}, "at most 100000"},
		{"negative streams", Options{MaxStreams: -1}, "MaxStreams is -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(src, tc.o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("New: %v; want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("New: %v; want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil): no error; want one")
	}
}

func TestRunSamplesOnTheTicker(t *testing.T) {
	p, src, clk := newTestPage(t, time.Hour, time.Minute)
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitSamples(t, p, 1) // one at once
	for i := 2; i <= 4; i++ {
		src.calls("MCP", 1, 0, time.Millisecond)
		clk.Advance(10 * time.Second)
		waitSamples(t, p, uint64(i))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v; want nil when the context ends", err)
	}
	if n := clk.live(); n != 0 {
		t.Errorf("%d tickers left running after Run returned", n)
	}
}
