package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
)

var errTier = errors.New("tier unavailable")
var errCanceled = errors.New("caller canceled")

// transitions records OnStateChange calls of one replica.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) add(_ string, from, to gobreaker.State) {
	tr.mu.Lock()
	tr.got = append(tr.got, from.String()+">"+to.String())
	tr.mu.Unlock()
}

func (tr *transitions) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strings.Join(tr.got, " ")
}

func breakerSettings(tr *transitions) gobreaker.Settings {
	return gobreaker.Settings{
		Name:          "MCP",
		MaxRequests:   2,
		Timeout:       time.Minute,
		ReadyToTrip:   func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
		OnStateChange: tr.add,
		IsExcluded:    func(err error) bool { return errors.Is(err, errCanceled) },
	}
}

type brkReplica struct {
	b  *SharedBreaker[struct{}]
	tr *transitions
	r  replica
}

func newBrk(t *testing.T, srv *redistest.Server, clk *clock, mod ...func(*Config)) brkReplica {
	r := newReplica(t, srv, clk, mod...)
	tr := &transitions{}
	return brkReplica{b: NewSharedBreaker[struct{}](r.c, breakerSettings(tr)), tr: tr, r: r}
}

func call(b *SharedBreaker[struct{}], err error) error {
	ran := false
	_, got := b.Execute(func() (struct{}, error) { ran = true; return struct{}{}, err })
	if !ran {
		return got
	}
	return nil
}

func TestSharedBreakerOneReplicaOpensItForAll(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a, b, c := newBrk(t, srv, clk), newBrk(t, srv, clk), newBrk(t, srv, clk)
	// Failures from different replicas add up.
	for i, rep := range []brkReplica{a, b, a} {
		if err := call(rep.b, errTier); err != nil {
			t.Fatalf("call %d refused: %v", i, err)
		}
	}
	if err := call(c.b, nil); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("replica C: %v, want the breaker open for all", err)
	}
	if got := b.b.State(); got != gobreaker.StateOpen {
		t.Fatalf("replica B sees %v", got)
	}
	for name, rep := range map[string]brkReplica{"A": a, "B": b, "C": c} {
		if got := rep.tr.String(); got != "closed>open" {
			t.Errorf("replica %s saw %q, want closed>open", name, got)
		}
	}
	if n, err := a.b.Opens(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("Opens = %d, %v; want 1", n, err)
	}

	// After the timeout: MaxRequests (2) trial calls across all replicas.
	clk.Advance(time.Minute + time.Millisecond)
	release := make(chan struct{})
	var wg sync.WaitGroup
	admitted := make(chan struct{}, 2)
	for _, rep := range []brkReplica{a, b} {
		wg.Go(func() {
			_, err := rep.b.Execute(func() (struct{}, error) { admitted <- struct{}{}; <-release; return struct{}{}, nil })
			if err != nil {
				t.Errorf("trial call: %v", err)
			}
		})
	}
	<-admitted
	<-admitted
	if err := call(c.b, nil); !errors.Is(err, gobreaker.ErrTooManyRequests) {
		t.Fatalf("third trial on replica C: %v, want ErrTooManyRequests", err)
	}
	close(release)
	wg.Wait()
	if got := c.b.State(); got != gobreaker.StateClosed {
		t.Fatalf("after two good trials: %v", got)
	}
	a.b.State() // A's own trial may have ended before B's closed the breaker
	if got := a.tr.String(); got != "closed>open open>half-open half-open>closed" {
		t.Errorf("replica A saw %q", got)
	}
	// C was refused while half-open, so it saw that too.
	if got := c.tr.String(); got != "closed>open open>half-open half-open>closed" {
		t.Errorf("replica C saw %q", got)
	}
}

func TestSharedBreakerHalfOpenFailureReopens(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a, b := newBrk(t, srv, clk), newBrk(t, srv, clk)
	for range 3 {
		call(a.b, errTier)
	}
	clk.Advance(2 * time.Minute)
	if err := call(b.b, errTier); err != nil {
		t.Fatalf("trial refused: %v", err)
	}
	if err := call(a.b, nil); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("after a failed trial: %v, want open again", err)
	}
	if n, _ := a.b.Opens(ctxT(t)); n != 2 {
		t.Fatalf("Opens = %d, want 2", n)
	}
}

func TestSharedBreakerIgnoresOutcomesOfAnOlderGeneration(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a, b := newBrk(t, srv, clk), newBrk(t, srv, clk)
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Admitted while closed; returns a success after the breaker has
		// opened and gone half-open.
		a.b.Execute(func() (struct{}, error) { close(entered); <-release; return struct{}{}, nil })
	}()
	<-entered
	for range 3 {
		call(b.b, errTier)
	}
	clk.Advance(2 * time.Minute)
	if got := b.b.State(); got != gobreaker.StateHalfOpen {
		t.Fatalf("state %v", got)
	}
	close(release)
	<-done
	b.b.State()
	if c := b.b.Counts(); c.ConsecutiveSuccesses != 0 || c.TotalSuccesses != 0 {
		t.Fatalf("a success admitted before the breaker opened counted in half-open: %+v", c)
	}
}

func TestSharedBreakerExcludedErrorsDoNotTrip(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := newBrk(t, srv, newClock())
	for range 10 {
		if err := call(a.b, errCanceled); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.b.State(); got != gobreaker.StateClosed {
		t.Fatalf("excluded errors tripped the breaker: %v", got)
	}
	if c := a.b.Counts(); c.TotalExclusions != 10 || c.TotalFailures != 0 {
		t.Fatalf("counts %+v", c)
	}
}

func TestSharedBreakerResetClosesForAll(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a, b := newBrk(t, srv, clk), newBrk(t, srv, clk)
	for range 3 {
		call(a.b, errTier)
	}
	if err := a.b.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := call(b.b, nil); err != nil {
		t.Fatalf("after Reset on A, B: %v", err)
	}
}

func TestSharedBreakerFallsBackToLocalWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a := newBrk(t, srv, clk, func(c *Config) { c.Timeout = time.Second })
	if err := call(a.b, nil); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for i := range 3 {
		if err := call(a.b, errTier); err != nil {
			t.Fatalf("call %d with Redis down refused: %v", i, err)
		}
	}
	if err := call(a.b, nil); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("the local fallback did not trip: %v", err)
	}
	if got := a.tr.String(); got != "closed>open" {
		t.Fatalf("transitions %q", got)
	}
	if n := a.r.log.count("unusable"); n != 1 {
		t.Fatalf("%d 'unusable' lines, want 1", n)
	}
}

func TestSharedBreakerConcurrentReplicas(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	reps := []brkReplica{newBrk(t, srv, clk), newBrk(t, srv, clk), newBrk(t, srv, clk)}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = fmt.Errorf("call %d: %w", i, errTier)
			}
			call(reps[i%3].b, err)
		})
	}
	wg.Wait()
	c := reps[0].b.Counts()
	reps[0].b.State()
	if st := reps[0].b.State(); st == gobreaker.StateClosed && c.Requests == 0 {
		t.Fatalf("no call recorded: %+v", c)
	}
}

// The library's own distributed breaker over BreakerStore: the second
// replica sees the first one's open state.
func TestDistributedBreakerOverBreakerStore(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var trA, trB transitions
	mk := func(tr *transitions) *gobreaker.DistributedCircuitBreaker[struct{}] {
		r := newReplica(t, srv, nil)
		st := breakerSettings(tr)
		st.Name = "dcb"
		dcb, err := gobreaker.NewDistributedCircuitBreaker[struct{}](NewBreakerStore(r.c), st)
		if err != nil {
			t.Fatal(err)
		}
		return dcb
	}
	a, b := mk(&trA), mk(&trB)
	for range 3 {
		if _, err := a.Execute(func() (struct{}, error) { return struct{}{}, errTier }); !errors.Is(err, errTier) {
			t.Fatalf("A: %v", err)
		}
	}
	st, err := b.State()
	if err != nil || st != gobreaker.StateOpen {
		t.Fatalf("B sees %v, %v; want open", st, err)
	}
	ran := false
	if _, err := b.Execute(func() (struct{}, error) { ran = true; return struct{}{}, nil }); !errors.Is(err, gobreaker.ErrOpenState) || ran {
		t.Fatalf("B: %v (ran %v)", err, ran)
	}
	// gobreaker tells only the replica whose call changed the state.
	if trA.String() != "closed>open" || trB.String() != "" {
		t.Fatalf("A saw %q, B saw %q", trA.String(), trB.String())
	}
}

// Why SharedBreaker exists: gobreaker's distributed breaker holds the shared
// lock while the protected call runs, so calls through it are serialized
// across every replica.
func TestDistributedBreakerHoldsTheLockDuringTheCall(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	r := newReplica(t, srv, nil)
	dcb, err := gobreaker.NewDistributedCircuitBreaker[struct{}](NewBreakerStore(r.c), gobreaker.Settings{Name: "serial"})
	if err != nil {
		t.Fatal(err)
	}
	var held int64
	_, err = dcb.Execute(func() (struct{}, error) {
		held = rdb.Exists(context.Background(), "test:gb:gobreaker:mutex:serial").Val()
		return struct{}{}, nil
	})
	if err != nil || held != 1 {
		t.Fatalf("lock held during the call: %d (%v)", held, err)
	}
	// And the store's lock excludes a second holder until released.
	s2 := NewBreakerStore(newReplica(t, srv, nil).c)
	s2.lockWait = 10 * time.Millisecond
	s1 := NewBreakerStore(r.c)
	if err := s1.Lock("x"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Lock("x"); !errors.Is(err, ErrLockBusy) {
		t.Fatalf("second Lock: %v", err)
	}
	if err := s1.Unlock("x"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Lock("x"); err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	if err := s2.Unlock("x"); err != nil {
		t.Fatal(err)
	}
}

// TestSharedBreakerTwoStep: Allow admits and refuses like Execute, its done
// records the outcome for all replicas, and Seen reports what this replica
// saw last without asking Redis (so it lags until the next look).
func TestSharedBreakerTwoStep(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a, b := newBrk(t, srv, clk), newBrk(t, srv, clk)
	for i := range 3 {
		done, err := a.b.Allow()
		if err != nil {
			t.Fatalf("call %d refused: %v", i, err)
		}
		done(errTier)
	}
	if got := a.b.Seen(); got != gobreaker.StateOpen {
		t.Errorf("A's Seen = %v after its own failures opened the breaker", got)
	}
	if got := b.b.Seen(); got != gobreaker.StateClosed {
		t.Errorf("B's Seen = %v before B looked; want closed (what it saw last)", got)
	}
	if _, err := b.b.Allow(); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("B's Allow: %v; want ErrOpenState", err)
	}
	if got := b.b.Seen(); got != gobreaker.StateOpen {
		t.Errorf("B's Seen = %v after its refused call", got)
	}
	clk.Advance(time.Minute + time.Millisecond)
	if got := b.b.State(); got != gobreaker.StateHalfOpen {
		t.Errorf("B's State after the timeout = %v", got)
	}
	if got := a.b.Seen(); got != gobreaker.StateOpen {
		t.Errorf("A's Seen = %v; want open until A looks again", got)
	}
}

// TestSharedBreakerAllowFast: with a fresh view of a closed breaker,
// AllowFast admits without asking Redis but records the outcome, so
// failures through it still open the breaker for all; once open (or with
// a stale view) it asks Redis like Allow.
func TestSharedBreakerAllowFast(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a, b := newBrk(t, srv, clk), newBrk(t, srv, clk)
	rdb := raw(t, srv)
	if got := a.b.State(); got != gobreaker.StateClosed { // a fresh view
		t.Fatal(got)
	}
	before := rdb.HGet(ctxT(t), a.b.key, "req").Val()
	for i := range 3 {
		done, err := a.b.AllowFast(time.Minute)
		if err != nil {
			t.Fatalf("call %d refused: %v", i, err)
		}
		done(errTier)
		if i == 1 {
			if got := rdb.HGet(ctxT(t), a.b.key, "req").Val(); got != before {
				t.Errorf("requests counted in Redis %s -> %s: AllowFast asked Redis with a fresh closed view", before, got)
			}
			if got := rdb.HGet(ctxT(t), a.b.key, "cf").Val(); got != "2" {
				t.Errorf("consecutive failures in Redis = %s; want 2 (outcomes recorded)", got)
			}
		}
	}
	if _, err := b.b.AllowFast(time.Minute); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("B (no view yet): %v; want the shared breaker open", err)
	}
	if _, err := a.b.AllowFast(time.Minute); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("A after opening it: %v; want open", err)
	}
}
