package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
)

// Usage is a process's resource counters at one moment: CPU time spent
// (user + system, every thread) and heap allocations made since it started.
type Usage struct {
	CPU     time.Duration
	Mallocs uint64
	// HasMallocs is false when the allocation count could not be read.
	HasMallocs bool
}

// Meter reads a process's Usage.
type Meter func(ctx context.Context) (Usage, error)

// PerCall is the cost of one call from two Usage readings around n calls:
// CPU µs per call and allocations per call (-1 when unknown).
type PerCall struct {
	CPUus  float64 `json:"cpu_us_per_call"`
	Allocs float64 `json:"allocs_per_call"`
}

// perCall divides the difference of after and before by n.
func perCall(before, after Usage, n int) PerCall {
	if n <= 0 {
		return PerCall{Allocs: -1}
	}
	pc := PerCall{CPUus: round1(float64(after.CPU-before.CPU) / 1e3 / float64(n)), Allocs: -1}
	if before.HasMallocs && after.HasMallocs {
		pc.Allocs = round1(float64(after.Mallocs-before.Mallocs) / float64(n))
	}
	return pc
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// SelfUsage reads this process's usage: getrusage(RUSAGE_SELF) and the
// runtime's count of heap allocations (runtime.ReadMemStats stops the world
// for a moment: read it around a measurement, not inside one).
func SelfUsage(context.Context) (Usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return Usage{CPU: cpu, Mallocs: ms.Mallocs, HasMallocs: true}, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's utime and stime: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// Usage reads the proxy's usage: /proc/PID/stat utime + stime (10 ms
// resolution: measure thousands of calls) and go_memstats_mallocs_total
// from its /metrics (the scrape's own allocations are counted too, a few
// thousand per reading). In process it is SelfUsage: the whole process,
// load generator and emulator included.
func (p *Proxy) Usage(ctx context.Context) (Usage, error) {
	if p.PID == 0 {
		return SelfUsage(ctx)
	}
	cpu, err := procCPU(strconv.Itoa(p.PID))
	if err != nil {
		return Usage{}, err
	}
	u := Usage{CPU: cpu}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+server.PathMetrics, nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		return u, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return u, nil
	}
	if m, err := ParseMetrics(resp.Body, "go_memstats_mallocs_total"); err == nil {
		if v, ok := m["go_memstats_mallocs_total"]; ok {
			u.Mallocs, u.HasMallocs = uint64(v), true
		}
	}
	return u, nil
}

// procCPU returns utime + stime of /proc/<pid>/stat.
func procCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	return parseProcStatCPU(string(b))
}

// parseProcStatCPU reads fields 14 (utime) and 15 (stime) of a
// /proc/PID/stat line. The command name (field 2) is in parentheses and
// may hold spaces, so fields are counted after its closing parenthesis.
func parseProcStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc stat")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line (%d fields after the name)", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 and 15
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad utime/stime %q in /proc stat", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
