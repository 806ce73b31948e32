package cluster

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
)

func newGov(t *testing.T, r replica, limit int, mod ...func(*GovernorConfig)) *SharedGovernor {
	t.Helper()
	cfg := GovernorConfig{Name: "org-1", Limit: limit}
	for _, m := range mod {
		m(&cfg)
	}
	g, err := NewSharedGovernor(r.c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Both implementations keep the limit under contention.
func TestGovernorsNeverExceedTheLimit(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	shared := []Governor{newGov(t, newReplica(t, srv, clk), 3), newGov(t, newReplica(t, srv, clk), 3), newGov(t, newReplica(t, srv, clk), 3)}
	local := NewLocalGovernor(3)
	for _, tc := range []struct {
		name string
		govs []Governor
	}{{"local", []Governor{local}}, {"shared across 3 replicas", shared}} {
		t.Run(tc.name, func(t *testing.T) {
			var inFlight, peak, served atomic.Int64
			var wg sync.WaitGroup
			ctx := ctxT(t)
			for i := range 45 {
				wg.Go(func() {
					release, err := tc.govs[i%len(tc.govs)].Acquire(ctx)
					if err != nil {
						t.Errorf("Acquire: %v", err)
						return
					}
					n := inFlight.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					runtime.Gosched()
					inFlight.Add(-1)
					served.Add(1)
					release()
					release() // idempotent
				})
			}
			wg.Wait()
			if served.Load() != 45 || peak.Load() > 3 {
				t.Fatalf("served %d, peak %d in flight; want 45 and at most 3", served.Load(), peak.Load())
			}
		})
	}
	if n, err := shared[0].(*SharedGovernor).InFlight(ctxT(t)); err != nil || n != 0 {
		t.Fatalf("InFlight after all released = %d, %v", n, err)
	}
}

func TestSharedGovernorServesWaitersInOrder(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	reps := []*SharedGovernor{newGov(t, newReplica(t, srv, clk), 1), newGov(t, newReplica(t, srv, clk), 1), newGov(t, newReplica(t, srv, clk), 1)}
	ctx := ctxT(t)
	first, err := reps[0].Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 6)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			release, err := reps[i%3].Acquire(ctx)
			if err != nil {
				t.Errorf("waiter %d: %v", i, err)
				return
			}
			order <- i
			release()
		})
		// The next waiter arrives once this one is queued.
		waitFor(t, func() bool { return rdb.ZCard(ctx, reps[0].keys[1]).Val() == int64(i+1) })
	}
	first()
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("waiter %d served in place %d", got, want)
		}
		want++
	}
}

func TestSharedGovernorLeaseOfADeadReplicaExpires(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	g := newGov(t, newReplica(t, srv, clk), 1, func(c *GovernorConfig) { c.Lease = 10 * time.Second })
	ctx := ctxT(t)
	// A replica took the only slot and died: its lease is not renewed.
	exp := clk.Now().Add(10 * time.Second).UnixMilli()
	rdb.ZAdd(ctx, g.keys[0], redisZ(float64(exp), "dead-replica"))
	got := make(chan error, 1)
	go func() {
		release, err := g.Acquire(ctx)
		if err == nil {
			release()
		}
		got <- err
	}()
	waitFor(t, func() bool { return rdb.ZCard(ctx, g.keys[1]).Val() == 1 })
	select {
	case err := <-got:
		t.Fatalf("acquired while the lease was live: %v", err)
	default:
	}
	clk.Advance(10*time.Second + time.Millisecond)
	if err := <-got; err != nil {
		t.Fatalf("after the lease expired: %v", err)
	}
}

func TestSharedGovernorRenewsWhileHeld(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	g := newGov(t, newReplica(t, srv, clk), 1, func(c *GovernorConfig) { c.Lease = 30 * time.Millisecond })
	ctx := ctxT(t)
	release, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	start := rdb.ZRangeWithScores(ctx, g.keys[0], 0, -1).Val()[0].Score
	clk.Advance(time.Hour)
	waitFor(t, func() bool { return rdb.ZRangeWithScores(ctx, g.keys[0], 0, -1).Val()[0].Score > start })
}

func TestSharedGovernorRespectsContext(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	a, b := newGov(t, newReplica(t, srv, clk), 1), newGov(t, newReplica(t, srv, clk), 1)
	ctx := ctxT(t)
	hold, err := a.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	got := make(chan error, 1)
	go func() { _, err := b.Acquire(wctx); got <- err }()
	waitFor(t, func() bool { return rdb.ZCard(ctx, a.keys[1]).Val() == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v", err)
	}
	if n := rdb.ZCard(ctx, a.keys[1]).Val(); n != 0 {
		t.Fatalf("a waiter that gave up is still queued (%d)", n)
	}
	hold()
	// The next caller is not stuck behind the one that left.
	release, err := b.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestSharedGovernorFallsBackWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	r := newReplica(t, srv, clk, func(c *Config) { c.Timeout = time.Second })
	local := NewLocalGovernor(2)
	g := newGov(t, r, 2, func(c *GovernorConfig) { c.Fallback = local })
	srv.Stop()
	ctx := ctxT(t)
	var releases []func()
	for range 2 {
		rel, err := g.Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire with Redis down: %v", err)
		}
		releases = append(releases, rel)
	}
	if local.InFlight() != 2 {
		t.Fatalf("fallback holds %d", local.InFlight())
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Acquire(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("third Acquire over the local limit: %v", err)
	}
	for _, rel := range releases {
		rel()
	}
	if n := r.log.count("unusable"); n != 1 {
		t.Fatalf("%d 'unusable' lines, want 1", n)
	}
}

func TestCreditsKeepTheNewestObservation(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a, b := NewCredits(newReplica(t, srv, clk).c), NewCredits(newReplica(t, srv, clk).c)
	ctx := ctxT(t)
	if _, _, ok, err := b.Last(ctx, "org1"); ok || err != nil {
		t.Fatalf("empty: %v %v", ok, err)
	}
	t0 := clk.Now()
	if err := a.Observe(ctx, "org1", 4000, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// A slower response, older, arrives later on B: ignored.
	if err := b.Observe(ctx, "org1", 4100, t0); err != nil {
		t.Fatal(err)
	}
	r, at, ok, err := b.Last(ctx, "org1")
	if err != nil || !ok || r != 4000 || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("Last = %d %v %v %v", r, at, ok, err)
	}
	if _, _, ok, _ := b.Last(ctx, "org2"); ok {
		t.Fatal("orgs share credits")
	}
}

// TestSharedGovernorReleaseInBackground: with ReleaseInBackground, release
// frees the slot (from a goroutine); after the client is closed, calls
// fail as unavailable without logging Redis as unusable (a release in the
// background at shutdown).
func TestSharedGovernorReleaseInBackground(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := newReplica(t, srv, nil)
	g := newGov(t, r, 1, func(c *GovernorConfig) { c.ReleaseInBackground = true })
	ctx := ctxT(t)
	release, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	release()
	waitFor(t, func() bool { n, _ := g.InFlight(ctx); return n == 0 })
	again, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.c.Close()
	again() // fails in the background, like any call after Close:
	if _, err := g.InFlight(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("InFlight after Close: %v; want ErrUnavailable", err)
	}
	if n := r.log.count("unusable"); n != 0 {
		t.Errorf("a release after Close logged Redis as unusable: %v", r.log.lines())
	}
}

// A LocalGovernor's release frees its slot once: calling it again, even
// after another caller took the same slot, frees nothing.
func TestLocalGovernorReleaseIsOnce(t *testing.T) {
	t.Parallel()
	g := NewLocalGovernor(1)
	ctx := ctxT(t)
	first, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first()
	first()
	if n := g.InFlight(); n != 0 {
		t.Fatalf("InFlight after two releases = %d, want 0", n)
	}
	second, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first() // late: the slot is second's now
	if n := g.InFlight(); n != 1 {
		t.Fatalf("InFlight after a stale release = %d, want 1", n)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if rel, err := g.Acquire(short); !errors.Is(err, context.Canceled) {
		if rel != nil {
			rel()
		}
		t.Fatalf("Acquire with the only slot held = %v, want context.Canceled", err)
	}
	second()
	if n := g.InFlight(); n != 0 {
		t.Fatalf("InFlight after the holder's release = %d, want 0", n)
	}
}

// A LocalGovernor's Acquire and release cost one allocation: the release
// function.
func TestLocalGovernorAcquireAllocatesOnce(t *testing.T) {
	g := NewLocalGovernor(2)
	ctx := context.Background()
	n := testing.AllocsPerRun(100, func() {
		release, err := g.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		release()
	})
	if n > 1 {
		t.Fatalf("Acquire+release allocates %v times, want at most 1", n)
	}
}
