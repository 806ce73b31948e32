package loadtest

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseProcStatCPU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "27057 (cat) R 27052 27052 24052 0 -1 4194304 103 0 0 0 250 30 0 0 20 0 1 0 2106673", 2800 * time.Millisecond, false},
		// A command name may hold spaces and parentheses: fields count from the last ')'.
		{"name with spaces", "42 (zoho (mcp) proxy) S 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 9 0", 100 * time.Millisecond, false},
		{"no name", "42 zoho S 1", 0, true},
		{"short", "42 (p) S 1 2 3", 0, true},
		{"bad number", "42 (p) S 1 42 42 0 -1 0 0 0 0 0 x 3 0 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseProcStatCPU(tt.stat)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseProcStatCPU = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestProcCPUOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cpu, err := procCPU("self")
	if err != nil {
		t.Fatal(err)
	}
	self, err := SelfUsage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Both count this process's CPU since it started; /proc in 10 ms ticks.
	if d := self.CPU - cpu; d < -50*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("/proc/self/stat says %v of CPU, getrusage %v", cpu, self.CPU)
	}
	if !self.HasMallocs || self.Mallocs == 0 {
		t.Errorf("SelfUsage = %+v, want the runtime's malloc count", self)
	}
}

func TestPerCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after Usage
		n             int
		want          PerCall
	}{
		{"cpu and allocs", Usage{CPU: time.Second, Mallocs: 1000, HasMallocs: true}, Usage{CPU: 1500 * time.Millisecond, Mallocs: 21000, HasMallocs: true}, 1000, PerCall{CPUus: 500, Allocs: 20}},
		{"allocs unknown", Usage{CPU: 0}, Usage{CPU: 3 * time.Millisecond, Mallocs: 5, HasMallocs: true}, 20, PerCall{CPUus: 150, Allocs: -1}},
		{"no calls", Usage{}, Usage{CPU: time.Second}, 0, PerCall{Allocs: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := perCall(tt.before, tt.after, tt.n); got != tt.want {
				t.Errorf("perCall = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestMeasureReadsProxyUsage checks that the proxy's meter brackets the
// measured calls only (warm-up excluded) and is divided by their number.
func TestMeasureReadsProxyUsage(t *testing.T) {
	t.Parallel()
	var calls, measured atomic.Int64
	var reads atomic.Int64
	meter := func(context.Context) (Usage, error) {
		if reads.Add(1) == 1 {
			measured.Store(calls.Load())
		} else {
			measured.Store(calls.Load() - measured.Load())
		}
		// 100 µs and 10 allocations per call made so far.
		n := calls.Load()
		return Usage{CPU: time.Duration(n) * 100 * time.Microsecond, Mallocs: uint64(n) * 10, HasMallocs: true}, nil
	}
	call := func(context.Context, string) error { calls.Add(1); return nil }
	b := Measure(context.Background(), "fake", call, []string{"1"}, BenchOptions{Warmup: 7, Calls: 8, Conc: 2, For: 20 * time.Millisecond, Proxy: meter})
	if reads.Load() != 2 {
		t.Fatalf("meter read %d times, want 2 (before and after the measured phases)", reads.Load())
	}
	if measured.Load() != calls.Load()-7 {
		t.Errorf("meter bracketed %d calls, want the %d after warm-up", measured.Load(), calls.Load()-7)
	}
	if b.Proxy == nil || b.Proxy.CPUus != 100 || b.Proxy.Allocs != 10 {
		t.Errorf("proxy per call = %+v, want 100 µs and 10 allocs", b.Proxy)
	}
	if b.LoadGen.Allocs < 0 {
		t.Errorf("load generator allocs unknown: %+v", b.LoadGen)
	}
}

func TestMedianBenchUsage(t *testing.T) {
	t.Parallel()
	in := []Bench{
		{Proxy: &PerCall{CPUus: 300, Allocs: 900}, LoadGen: PerCall{CPUus: 50, Allocs: 40}},
		{Proxy: &PerCall{CPUus: 100, Allocs: 700}, LoadGen: PerCall{CPUus: 70, Allocs: 60}},
		{Proxy: &PerCall{CPUus: 200, Allocs: 800}, LoadGen: PerCall{CPUus: 60, Allocs: 50}},
	}
	got := medianBench(in)
	if got.Proxy == nil || *got.Proxy != (PerCall{CPUus: 200, Allocs: 800}) || got.LoadGen != (PerCall{CPUus: 60, Allocs: 50}) {
		t.Errorf("medianBench usage = %+v / %+v, want proxy 200 µs 800 allocs, load generator 60 µs 50 allocs", got.Proxy, got.LoadGen)
	}
	in[1].Proxy = nil
	if got := medianBench(in); got.Proxy != nil {
		t.Errorf("a round without a proxy reading gave a median %+v", got.Proxy)
	}
	var md strings.Builder
	WriteCompareMarkdown(&md, []CompareResult{{Era: EraModern, ProxyMCP: medianBench(in[:1])}})
	if !strings.Contains(md.String(), "| (a) cost: proxy MCP tier vs direct MCP | 300 | 900 |") {
		t.Errorf("cost table lacks the proxy's CPU and allocations:\n%s", md.String())
	}
}
