package bulk

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// BenchmarkBulkUpdate10k updates 10,000 records through the planner against
// the emulator with 50 ms of latency on every bulk-surface call, and reports
// the Zoho calls, the credits and the wall time next to the
// concurrency-limited floor of the chosen strategy:
//
//   - batched-put: ceil(100 PUTs / 8 in flight) × 50 ms = 650 ms;
//   - bulk-write-job: the sequential calls (upload, create, ≥1 poll,
//     download: 4 × 50 ms) plus the job's own run time (2 emulator job
//     steps).
//
// The "batched-put" sub-benchmark forces PUTs for comparison.
func BenchmarkBulkUpdate10k(b *testing.B) {
	const n, latency, step = 10_000, 50 * time.Millisecond, 200 * time.Millisecond
	for _, bc := range []struct {
		name string
		plan func(Kind, int) Strategy
	}{
		{"planner", nil},
		{"batched-put", func(k Kind, n int) Strategy { return Strategy{Name: StrategyBatchedPut} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newBenchEnv(b, n+10, step, func(c *Config) {
				c.Plan = bc.plan
				c.PollInterval, c.PollMax = 100*time.Millisecond, 400*time.Millisecond
			})
			e.sim.SetFault(zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultLatency, Latency: latency})
			ups := updates(n, 0, "bench")
			var res tiers.BulkUpdateResult
			var err error
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				res, err = e.tier.BulkUpdate(context.Background(), tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
				if err != nil {
					b.Fatal(err)
				}
			}
			wall := time.Since(start) / time.Duration(b.N)
			b.StopTimer()
			floor := time.Duration(ceil(ceil(n, tiers.MaxRecordsPerWrite), DefaultConcurrency)) * latency
			if res.Strategy == StrategyBulkWriteJob {
				floor = 4*latency + 2*step
			}
			b.ReportMetric(float64(res.Calls), "zoho-calls/op")
			b.ReportMetric(float64(res.Credits), "credits/op")
			b.ReportMetric(float64(wall.Milliseconds()), "wall-ms/op")
			b.ReportMetric(float64(floor.Milliseconds()), "floor-ms/op")
			b.Logf("%s: %d calls, %d credits, %s wall vs %s floor", res.Strategy, res.Calls, res.Credits, wall, floor)
		})
	}
}

// BenchmarkBulkRead200k reads 200,000 accounts (all fields) through the
// planner — COQL pages, then a Bulk Read job streamed from a temp-file zip —
// into a sink that keeps nothing, sampling the heap every 5 ms. The goal is a
// peak heap of at most 64 MiB; the figure includes the in-process emulator.
func BenchmarkBulkRead200k(b *testing.B) {
	const n = 200_000
	e := newBenchEnv(b, n, 50*time.Millisecond, func(c *Config) {
		c.PollInterval, c.PollMax = 50*time.Millisecond, 200*time.Millisecond
	})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	var res tiers.BulkReadResult
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var s countSink
		var err error
		res, err = e.tier.BulkRead(context.Background(), tiers.BulkReadRequest{Module: "Accounts"}, &s)
		if err != nil {
			b.Fatal(err)
		}
		if s.n != n {
			b.Fatalf("read %d records, want %d", s.n, n)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64(res.Calls), "zoho-calls/op")
	b.ReportMetric(float64(res.Credits), "credits/op")
	b.Logf("%s: %d records, %d calls, %d credits, peak heap %.1f MiB (base %.1f MiB)",
		res.Strategy, res.Count, res.Calls, res.Credits, float64(peak.Load())/(1<<20), float64(base.HeapInuse)/(1<<20))
}

// newBenchEnv starts the emulator on the real clock with the given job step.
func newBenchEnv(b *testing.B, accounts int, step time.Duration, mod func(*Config)) *env {
	b.Helper()
	return newEnv(b, envOpts{accounts: accounts, timeout: 2 * time.Minute, realTime: true, jobStep: step, tier: mod})
}
