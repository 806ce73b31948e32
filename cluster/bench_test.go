package cluster

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
)

// The added latency per call of the Redis path on loopback. Each benchmark
// reports the median and 99th percentile of single operations besides
// ns/op:
//
//	go test -run '^$' -bench . -count 5 ./cluster/

// timed runs op b.N times and reports p50 and p99 in microseconds.
func timed(b *testing.B, op func()) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		op()
		d = append(d, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(d)
	if len(d) > 0 {
		b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
	}
}

func benchReplica(b *testing.B) replica {
	srv := redistest.Start(b)
	return newReplica(b, srv, nil, func(c *Config) { c.Timeout = time.Second })
}

func BenchmarkGovernorAcquireRelease(b *testing.B) {
	b.Run("shared", func(b *testing.B) {
		g, err := NewSharedGovernor(benchReplica(b).c, GovernorConfig{Name: "bench", Limit: 10})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		timed(b, func() {
			release, err := g.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			release()
		})
	})
	b.Run("local", func(b *testing.B) {
		g := NewLocalGovernor(10)
		ctx := context.Background()
		timed(b, func() {
			release, _ := g.Acquire(ctx)
			release()
		})
	})
}

func BenchmarkBreakerExecute(b *testing.B) {
	ok := func() (struct{}, error) { return struct{}{}, nil }
	b.Run("SharedBreaker", func(b *testing.B) {
		cb := NewSharedBreaker[struct{}](benchReplica(b).c, gobreaker.Settings{Name: "bench"})
		timed(b, func() {
			if _, err := cb.Execute(ok); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("gobreaker-distributed", func(b *testing.B) {
		dcb, err := gobreaker.NewDistributedCircuitBreaker[struct{}](NewBreakerStore(benchReplica(b).c), gobreaker.Settings{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		timed(b, func() {
			if _, err := dcb.Execute(ok); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("gobreaker-local", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Name: "bench"})
		timed(b, func() { _, _ = cb.Execute(ok) })
	})
}

func BenchmarkTokensGet(b *testing.B) {
	r := benchReplica(b)
	tk, err := NewTokens(r.c, TokensConfig{Key: testKey})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := tk.Refresh(ctx, credA, "", func(context.Context) (Token, error) {
		return Token{AccessToken: "1000.x", Expiry: time.Now().Add(time.Hour)}, nil
	}); err != nil {
		b.Fatal(err)
	}
	timed(b, func() {
		if _, ok, err := tk.Get(ctx, credA); !ok || err != nil {
			b.Fatal(ok, err)
		}
	})
}

func BenchmarkResultsPage(b *testing.B) {
	r := benchReplica(b)
	rs := NewResults(r.c, ResultsConfig{})
	ctx := context.Background()
	w, err := rs.Create(ctx, ownerA)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		if err := w.Append(ctx, rec(i)); err != nil {
			b.Fatal(err)
		}
	}
	info, err := w.Commit(ctx)
	if err != nil {
		b.Fatal(err)
	}
	timed(b, func() {
		if _, err := rs.Page(ctx, ownerA, info.ID, 3); err != nil {
			b.Fatal(err)
		}
	})
}
