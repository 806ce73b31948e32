package status

import (
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
	timers  []*fakeTimer
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(d time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{c: c, ch: make(chan time.Time, 1), every: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1), at: c.now.Add(d)}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock by d and fires what fell due (a ticker that is
// not read drops ticks, like time.Ticker).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		for !t.stopped && !t.next.After(c.now) {
			select {
			case t.ch <- t.next:
			default:
			}
			t.next = t.next.Add(t.every)
		}
	}
	for _, t := range c.timers {
		if !t.stopped && !t.fired && !t.at.After(c.now) {
			t.fired = true
			t.ch <- t.at
		}
	}
}

// live counts the tickers and timers not stopped (nor fired).
func (c *fakeClock) live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.tickers {
		if !t.stopped {
			n++
		}
	}
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			n++
		}
	}
	return n
}

type fakeTicker struct {
	c       *fakeClock
	ch      chan time.Time
	every   time.Duration
	next    time.Time
	stopped bool
}

func (t *fakeTicker) C() <-chan time.Time { return t.ch }
func (t *fakeTicker) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.stopped = true
}

type fakeTimer struct {
	c              *fakeClock
	ch             chan time.Time
	at             time.Time
	stopped, fired bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// bounds are the router's latency buckets, in seconds.
var bounds = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// fakeSource is a Source the test sets by hand. Its counters are
// cumulative, as a real source's are.
type fakeSource struct {
	mu   sync.Mutex
	snap Snapshot
	seq  uint64
}

func newFakeSource(names ...string) *fakeSource {
	s := &fakeSource{}
	for _, n := range names {
		s.snap.Tiers = append(s.snap.Tiers, TierSnapshot{Name: n, Enabled: true, Configured: true, Breaker: Closed,
			Latency: Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds))}})
	}
	return s
}

func (s *fakeSource) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.snap
	c.Tiers = slices.Clone(c.Tiers)
	for i := range c.Tiers {
		h := &c.Tiers[i].Latency
		h.Counts = slices.Clone(h.Counts)
	}
	c.Transitions = slices.Clone(c.Transitions)
	c.Failovers = slices.Clone(c.Failovers)
	c.Tools = slices.Clone(c.Tools)
	c.Credits = slices.Clone(c.Credits)
	return c
}

func (s *fakeSource) do(f func(*Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.snap)
}

func (s *fakeSource) tier(name string) *TierSnapshot {
	for i := range s.snap.Tiers {
		if s.snap.Tiers[i].Name == name {
			return &s.snap.Tiers[i]
		}
	}
	panic("no tier " + name)
}

// calls records n calls of tier, failed of them failing, each taking d.
func (s *fakeSource) calls(tier string, n, failed int, d time.Duration) {
	s.do(func(*Snapshot) {
		t := s.tier(tier)
		t.Requests += uint64(n)
		t.Failures += uint64(failed)
		observe(&t.Latency, d.Seconds(), n)
	})
}

func observe(h *Histogram, sec float64, n int) {
	i := sort.SearchFloat64s(h.Bounds, sec)
	for j := i; j < len(h.Counts); j++ {
		h.Counts[j] += uint64(n)
	}
	h.Count += uint64(n)
}

// setBreaker changes tier's breaker state and, if reason is not empty,
// reports the transition as a router would.
func (s *fakeSource) setBreaker(tier string, to BreakerState, at time.Time, reason string) {
	s.do(func(*Snapshot) {
		t := s.tier(tier)
		if reason != "" {
			s.seq++
			s.snap.Transitions = append(s.snap.Transitions, Transition{Seq: s.seq, Tier: tier, At: at, From: normState(t.Breaker), To: to, Reason: reason})
		}
		t.Breaker = to
	})
}

func (s *fakeSource) tool(name, outcome string, n uint64) {
	s.do(func(sn *Snapshot) {
		for i := range sn.Tools {
			if sn.Tools[i].Tool == name && sn.Tools[i].Outcome == outcome {
				sn.Tools[i].Count += n
				return
			}
		}
		sn.Tools = append(sn.Tools, ToolCount{Tool: name, Outcome: outcome, Count: n})
	})
}

func (s *fakeSource) failover(from, to, reason string, n uint64) {
	s.do(func(sn *Snapshot) {
		for i := range sn.Failovers {
			if f := &sn.Failovers[i]; f.From == from && f.To == to && f.Reason == reason {
				f.Count += n
				return
			}
		}
		sn.Failovers = append(sn.Failovers, FailoverCount{From: from, To: to, Reason: reason, Count: n})
	})
}

func (s *fakeSource) credits(tier string, remaining int64) {
	s.do(func(sn *Snapshot) {
		for i := range sn.Credits {
			if sn.Credits[i].Tier == tier {
				sn.Credits[i].Remaining = remaining
				return
			}
		}
		sn.Credits = append(sn.Credits, Credits{Tier: tier, Remaining: remaining})
	})
}

// story plays half an hour of a proxy's life into p, one sample every
// interval: steady traffic; tier 1 down from minute 8 (its breaker opens,
// calls fail over to BULK, a half-open trial fails) until it recovers at
// minute 12; down again from minute 26 to the end. It is the screenshot's
// scenario.
func story(p *Page, src *fakeSource, clk *fakeClock, interval time.Duration) {
	rng := rand.New(rand.NewPCG(1, 2))
	jitter := func(ms float64) time.Duration {
		return time.Duration(ms*(0.6+0.9*rng.Float64())*float64(time.Millisecond)) + time.Millisecond
	}
	credits := int64(48_000)
	steps := int(30 * time.Minute / interval)
	for i := range steps {
		m := time.Duration(i) * interval
		now := clk.Now()
		down := m >= 8*time.Minute && m < 12*time.Minute || m >= 26*time.Minute
		switch m {
		case 8 * time.Minute, 26 * time.Minute:
			src.setBreaker("MCP", Open, now.Add(-4*time.Second), "5 consecutive failures (last: unavailable)")
			src.calls("MCP", 5, 5, 15*time.Millisecond) // connection refused
			src.failover("MCP", "BULK", "unavailable", 5)
		case 9 * time.Minute:
			src.setBreaker("MCP", HalfOpen, now, "cooldown of 1m0s elapsed")
		case 9*time.Minute + 10*time.Second:
			src.setBreaker("MCP", Open, now.Add(-2*time.Second), "trial call failed (unavailable)")
			src.calls("MCP", 1, 1, 15*time.Millisecond)
		case 12 * time.Minute:
			src.setBreaker("MCP", HalfOpen, now.Add(-8*time.Second), "cooldown of 1m0s elapsed")
			src.setBreaker("MCP", Closed, now.Add(-3*time.Second), "2 trial calls succeeded")
		}
		n := 6 + rng.IntN(10)
		if down {
			for range n {
				src.calls("BULK", 1, 0, jitter(260))
			}
			src.failover("MCP", "BULK", "breaker_open", uint64(n))
			credits -= int64(n)
		} else {
			for range n {
				src.calls("MCP", 1, 0, jitter(90))
			}
			if rng.IntN(6) == 0 {
				src.calls("MCP", 1, 1, 2*time.Second)
				src.calls("BULK", 1, 0, jitter(300))
				src.failover("MCP", "BULK", "unavailable", 1)
			}
		}
		if rng.IntN(2) == 0 {
			src.calls("REST", 1, 0, jitter(180))
		}
		if i%9 == 4 {
			src.calls("BULK", 1, 0, jitter(1100))
			src.tool("bulk_update_accounts", "ok", 1)
			credits -= 100
		}
		src.tool("get_account", "ok", uint64(n/2))
		src.tool("search_accounts", "ok", uint64(n-n/2))
		if rng.IntN(5) == 0 {
			src.tool("update_account", "ok", 1)
		}
		if rng.IntN(11) == 0 {
			src.tool("update_account", "tool_error", 1)
		}
		if i%30 == 0 {
			src.tool("get_tier_health", "ok", 1)
		}
		if i == 100 {
			src.tool("bulk_read_accounts", "denied", 1)
		}
		credits -= int64(n / 3)
		src.credits("BULK", credits)
		src.credits("REST", credits+int64(rng.IntN(3)))
		src.do(func(s *Snapshot) { s.Sessions = 3 + (i/40)%3 })
		p.Sample()
		clk.Advance(interval)
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// waitSamples waits until p has taken n samples, for at most a minute (a
// deadline for a loaded machine, not a sleep).
func waitSamples(t *testing.T, p *Page, n uint64) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		ch := *p.updated.Load()
		if p.View().Samples >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("waited a minute for sample %d; have %d", n, p.View().Samples)
		}
	}
}
