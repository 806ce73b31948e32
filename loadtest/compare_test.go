package loadtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestCompareFloor checks the floor's rows from given figures: the relay's
// added p50 and throughput ratio against the direct call, and per tier the
// part of the proxy's added p50 and CPU above the relay's.
func TestCompareFloor(t *testing.T) {
	t.Parallel()
	r := CompareResult{Era: EraLegacy,
		ProxyMCP:   Bench{Path: "proxy → MCP tier", P50C1: 900, PerSecCN: 2000, Conc: 16, Proxy: &PerCall{CPUus: 300, Allocs: 240}},
		DirectMCP:  Bench{Path: "direct ZohoCRM_getRecord", P50C1: 200, PerSecCN: 8000},
		RelayMCP:   Bench{Path: "relay → MCP", P50C1: 340, PerSecCN: 6000, Proxy: &PerCall{CPUus: 75, Allocs: 60}},
		ProxyREST:  Bench{Path: "proxy → REST tier", P50C1: 700, PerSecCN: 3000, Proxy: &PerCall{CPUus: 250, Allocs: 190}},
		DirectREST: Bench{Path: "direct REST GET", P50C1: 60, PerSecCN: 20000},
		RelayREST:  Bench{Path: "relay → REST", P50C1: 220, PerSecCN: 10000, Proxy: &PerCall{CPUus: 50, Allocs: 55}},
		MCPRelay:   Bench{Path: "MCP relay (mcp-go) → MCP", P50C1: 1000, PerSecCN: 1600, Proxy: &PerCall{CPUus: 400, Allocs: 500}},
	}
	if p50, cpu, ok := AboveFloor(r.ProxyMCP, r.RelayMCP); p50 != 560 || cpu != 225 || !ok {
		t.Errorf("AboveFloor(MCP) = %v, %v, %v; want 560, 225, true", p50, cpu, ok)
	}
	if _, _, ok := AboveFloor(r.ProxyMCP, Bench{P50C1: 1}); ok {
		t.Error("AboveFloor claims a CPU difference without the relay's CPU")
	}
	var md strings.Builder
	WriteCompareMarkdown(&md, []CompareResult{r})
	for _, want := range []string{
		"| 2025-11-25 | relay → MCP | 340 | 0 | 6000 |",
		"| 2025-11-25 | relay → REST | 220 | 0 | 10000 |",
		"| (c) floor: relay vs direct MCP | 140 µs | 0.75× | (floor) | — |",
		"| (d) floor: relay vs direct REST | 160 µs | 0.50× | (floor) | — |",
		"| relay → MCP | 75 | 60 |",
		// Added p50 700 µs, 140 of it the floor's: 560 µs (80 %) above;
		// CPU 300 µs, 75 the relay's: 225 µs (75 %) above.
		"| MCP tier | 700 µs | 140 µs | 560 µs (80 %) | 300 | 75 | 225 µs (75 %) |",
		"| REST tier | 640 µs | 160 µs | 480 µs (75 %) | 250 | 50 | 200 µs (80 %) |",
		"| (e) MCP relay (mcp-go) vs direct MCP | 800 µs | 0.20× | (yardstick) | — |",
		// The proxy, the MCP relay and the bare relay side by side.
		"| proxy, MCP tier (get_account) | 700 µs | 0.25× | 300 | 240 |",
		"| MCP relay on mcp-go (ZohoCRM_getRecord) | 800 µs | 0.20× | 400 | 500 |",
		"| bare relay (ZohoCRM_getRecord) | 140 µs | 0.75× | 75 | 60 |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	// Throughput follows CPU: direct MCP 100 µs; the proxy's path 300 +
	// 200 µs (predicted 0.20×), 200 with the proxy free (0.50×), 275 with
	// the proxy at the relay's 75 (0.36×).
	r.ProxyMCP.LoadGen.CPUus, r.DirectMCP.LoadGen.CPUus, r.RelayMCP.LoadGen.CPUus = 200, 100, 150
	if pr, free, asRelay, ok := Ceiling(r.ProxyMCP, r.DirectMCP, r.RelayMCP); pr != 0.2 || free != 0.5 || asRelay != 100.0/275 || !ok {
		t.Errorf("Ceiling(MCP) = %v, %v, %v, %v; want 0.2, 0.5, 0.36, true", pr, free, asRelay, ok)
	}
	if _, _, _, ok := Ceiling(r.ProxyREST, r.DirectREST, r.RelayREST); ok {
		t.Error("Ceiling claims a bound without the load generator's CPU")
	}
	md.Reset()
	WriteCompareMarkdown(&md, []CompareResult{r})
	for _, want := range []string{
		"| 2025-11-25 | MCP tier | 0.25× | 0.20× | 0.50× | 0.36× | ≥ 0.60× |",
		"| 2025-11-25 | REST tier | 0.15× | — | — | — | ≥ 0.40× |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	// The rows of old stay in their order, the relay's after each direct path.
	paths := []string{"proxy → MCP tier |", "direct ZohoCRM_getRecord |", "relay → MCP |", "MCP relay (mcp-go) → MCP |", "proxy → REST tier |", "direct REST GET |", "relay → REST |"}
	last := -1
	for _, p := range paths {
		i := strings.Index(md.String(), p)
		if i < last {
			t.Errorf("path %q out of order in the first table", p)
		}
		last = i
	}
	// Without the relay's CPU (a relay in this process) the CPU cells say so.
	r.RelayREST.Proxy = nil
	md.Reset()
	WriteCompareMarkdown(&md, []CompareResult{r})
	if !strings.Contains(md.String(), "| REST tier | 640 µs | 160 µs | 480 µs (75 %) | — | — | — |") {
		t.Errorf("markdown without the relay's CPU:\n%s", md.String())
	}
}

// TestCompareJSONKeys pins compare's JSON: the keys of old, and the relay's.
func TestCompareJSONKeys(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(CompareResult{RelayMCP: Bench{Proxy: &PerCall{CPUus: 75}}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"protocol_version", "proxy_mcp_tier", "direct_mcp", "proxy_rest_tier", "direct_rest", "proxy_mcp_rss_bytes_after", "relay_mcp", "relay_rest", "mcp_relay"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if len(m) != 9 {
		t.Errorf("JSON has %d keys, want 9: %s", len(m), b)
	}
	if !strings.Contains(string(m["relay_mcp"]), `"proxy":{"cpu_us_per_call":75`) {
		t.Errorf("relay_mcp = %s, want the relay's cost under the proxy key", m["relay_mcp"])
	}
}

// TestCompareShort runs Compare end to end for a moment, the proxy in this
// process and the relay a process of its own: all six paths answer without
// error and the relay's cost is read.
func TestCompareShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two proxies and two relays; skipped with -short")
	}
	rs, err := Compare(context.Background(), CompareOptions{Eras: []string{EraModern}, Relay: relayCommand(), Rounds: 1, LogLevel: "warn",
		Bench: BenchOptions{Warmup: 5, Calls: 20, Conc: 2, For: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1", len(rs))
	}
	for _, b := range rs[0].benches() {
		if b.Errors > 0 || b.PerSecCN <= 0 || b.P50C1 <= 0 {
			t.Errorf("%s: %d errors (%s), %v calls/s, p50 %v µs", b.Path, b.Errors, b.ErrorText, b.PerSecCN, b.P50C1)
		}
	}
	for _, b := range []Bench{rs[0].RelayMCP, rs[0].RelayREST, rs[0].MCPRelay} {
		if b.Proxy == nil || b.Proxy.Allocs <= 0 {
			t.Errorf("%s: relay cost %+v, want its allocations read", b.Path, b.Proxy)
		}
	}
	if rs[0].ProxyMCP.Proxy != nil {
		t.Errorf("a proxy in this process has a cost of its own: %+v", rs[0].ProxyMCP.Proxy)
	}
}
