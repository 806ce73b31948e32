package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestMain(m *testing.M) {
	// Run as `<test binary> relay …`, this is the floor's relay process
	// (zmp-load relay), so tests can start it as Compare does.
	if len(os.Args) > 1 && os.Args[1] == "relay" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		err := RelayMain(ctx, os.Args[2:])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func TestToolErrorCategory(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text, want string }{
		{"invalid", "invalid arguments for get_account: account_id must be 1–19 digits", "invalid_arguments"},
		{"rate limit", "Zoho rate limit reached; retry in about a minute or narrow the query. (no tier could serve get: …)", "rate_limited"},
		{"unavailable", "no tier could serve get: MCP skipped (circuit breaker open), BULK unavailable (5xx); retry in about 5s (get_tier_health shows each tier)", "unavailable"},
		{"outcome unknown", "the write for account 1 was sent but no answer came, so it may or may not have been applied; read it back (get_account) before retrying", "outcome_unknown"},
		{"timeout", "account 1 was canceled or ran out of time; retry, or ask for fewer records", "timeout"},
		{"not found", "no account with id 123; check the id (search_accounts finds accounts by name, email or phone)", "not_found"},
		{"nothing found", "Zoho found nothing for the accounts (NOT_FOUND); check the ids", "not_found"},
		{"verdict", "Zoho rejected the update of account 1: INVALID_DATA: invalid data; check the field API names and value types", "verdict"},
		{"unknown text", "something else entirely", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ToolErrorCategory(tt.text); got != tt.want {
				t.Errorf("ToolErrorCategory(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	rpcErr := (&mcp.JSONRPCErrorDetails{Code: mcp.INVALID_PARAMS, Message: "bad"}).AsError()
	tests := []struct {
		name string
		ctx  context.Context
		res  *mcp.CallToolResult
		err  error
		want string
	}{
		{"ok", context.Background(), mcp.NewToolResultText("fine"), nil, ClassOK},
		{"tool error", context.Background(), mcp.NewToolResultError("Zoho rate limit reached; retry"), nil, "tool:rate_limited"},
		{"json-rpc error", context.Background(), nil, rpcErr, ClassProtocol},
		{"busy", context.Background(), nil, (&mcp.JSONRPCErrorDetails{Code: mcp.INTERNAL_ERROR, Message: "too many concurrent requests or sessions: retry in a second"}).AsError(), ClassBusy},
		{"transport error", context.Background(), nil, transport.NewError(errors.New("connection refused")), ClassTransport},
		{"http status", context.Background(), nil, transport.NewError(fmt.Errorf("request failed with status 503: busy")), ClassTransport},
		{"client deadline", done, nil, transport.NewError(context.Canceled), ClassTimeout},
		{"deadline error", context.Background(), nil, fmt.Errorf("wrapped: %w", context.DeadlineExceeded), ClassTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tt.ctx, tt.res, tt.err); got != tt.want {
				t.Errorf("Classify = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ds := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ds(7), 0.99, 7 * time.Millisecond},
		{"median of 4 is the 2nd", ds(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ds(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p100", ds(1, 2, 3), 1, 3 * time.Millisecond},
		{"p0 is the first", ds(1, 2, 3), 0, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Percentile(tt.in, tt.q); got != tt.want {
				t.Errorf("Percentile(q=%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestGrowth(t *testing.T) {
	t.Parallel()
	flat := make([]float64, 100)
	rising := make([]float64, 100)
	for i := range flat {
		flat[i] = 100
		rising[i] = 100 + float64(i)
	}
	flat[0], flat[1] = 10, 10 // warm-up is ignored
	tests := []struct {
		name        string
		in          []float64
		min, max    float64
		wantPercent bool
	}{
		{"flat", flat, 0, 0, true},
		{"rising", rising, 60, 90, true},
		{"too short", []float64{1, 2}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := growth(tt.in)
			if g.Percent < tt.min || g.Percent > tt.max {
				t.Errorf("growth = %+v, want percent in [%v, %v]", g, tt.min, tt.max)
			}
			if !tt.wantPercent && g.Early != 0 {
				t.Errorf("growth of a short series = %+v, want zero", g)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	const expo = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
go_gc_duration_seconds{quantile="0"} 1e-05
process_resident_memory_bytes 1.7301504e+07
process_resident_memory_bytes_other 5
go_threads 7 1700000000000
`
	tests := []struct {
		name  string
		in    string
		names []string
		want  map[string]float64
		err   bool
	}{
		{"both", expo, []string{"go_goroutines", "process_resident_memory_bytes"},
			map[string]float64{"go_goroutines": 42, "process_resident_memory_bytes": 17301504}, false},
		{"timestamp ignored", expo, []string{"go_threads"}, map[string]float64{"go_threads": 7}, false},
		{"absent", expo, []string{"nope"}, map[string]float64{}, false},
		{"bad value", "go_goroutines many\n", []string{"go_goroutines"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMetrics(strings.NewReader(tt.in), tt.names...)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err && fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     int64
		err      bool
	}{
		{"kB", "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t   17000 kB\nThreads:\t5\n", 17000 << 10, false},
		{"missing", "Name:\tx\n", 0, true},
		{"odd unit", "VmRSS:\t 5 MB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseVmRSS(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("parseVmRSS = %d, %v; want %d, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestWindowOverlaps(t *testing.T) {
	t.Parallel()
	w := Window{From: 10 * time.Second, To: 14 * time.Second}
	tests := []struct {
		name     string
		from, to time.Duration
		want     bool
	}{
		{"before", 1 * time.Second, 9 * time.Second, false},
		{"ends inside", 9 * time.Second, 11 * time.Second, true},
		{"spans", 5 * time.Second, 20 * time.Second, true},
		{"starts inside", 13 * time.Second, 20 * time.Second, true},
		{"after", 15 * time.Second, 16 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := w.Overlaps(tt.from, tt.to); got != tt.want {
				t.Errorf("Overlaps(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// snapSchema is the part of a toolsnap the workload must respect.
type snapSchema struct {
	InputSchema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	} `json:"inputSchema"`
}

// TestArgsMatchToolsnaps checks that every workload call's arguments use
// only the tool's declared properties, include the required ones, and never
// repeat an id (the proxy refuses duplicates as invalid arguments, which
// would show up as uninjected errors).
func TestArgsMatchToolsnaps(t *testing.T) {
	t.Parallel()
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprint(5725767000001000000 + i)
	}
	for _, m := range mix {
		t.Run(m.tool, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("..", "tools", "__toolsnaps__", m.tool+".snap"))
			if err != nil {
				t.Fatal(err)
			}
			var snap snapSchema
			if err := json.Unmarshal(b, &snap); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 200; i++ {
				args := Args(m.tool, rng, ids)
				for k := range args {
					if _, ok := snap.InputSchema.Properties[k]; !ok {
						t.Fatalf("%s args have %q, not in the tool's input schema", m.tool, k)
					}
				}
				for _, k := range snap.InputSchema.Required {
					if _, ok := args[k]; !ok {
						t.Fatalf("%s args lack required %q", m.tool, k)
					}
				}
				seen := map[string]bool{}
				for _, id := range listedIDs(args) {
					if seen[id] {
						t.Fatalf("%s args repeat id %s: %v", m.tool, id, args)
					}
					seen[id] = true
				}
			}
		})
	}
}

func listedIDs(args map[string]any) []string {
	var out []string
	for _, k := range []string{"ids", "account_ids"} {
		if l, ok := args[k].([]any); ok {
			for _, x := range l {
				out = append(out, x.(string))
			}
		}
	}
	if l, ok := args["updates"].([]any); ok {
		for _, u := range l {
			out = append(out, u.(map[string]any)["id"].(string))
		}
	}
	return out
}

// TestRunInProcess is a quick end-to-end check of Run with the proxy in
// this process: every session connects, calls succeed and are attributed
// to a tier, and a fault window turns errors into injected ones.
func TestRunInProcess(t *testing.T) {
	sim, err := StartEmulator(EmulatorOptions{Accounts: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	p, err := StartProxy(ctx, sim, ProxyOptions{Env: []string{"CIRCUIT_BREAKER_TIMEOUT=1s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rep, err := Run(ctx, sim, p, Options{Sessions: 4, Duration: 1500 * time.Millisecond, Think: 20 * time.Millisecond,
		Era: EraLegacy, SampleEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 4 || rep.ConnectErrs != 0 {
		t.Fatalf("connected %d of 4 (%s)", rep.Connected, rep.ConnectErr)
	}
	if rep.Calls < 10 || rep.Uninjected != 0 {
		t.Fatalf("calls %d, uninjected errors %d: %+v", rep.Calls, rep.Uninjected, rep.Errors)
	}
	served := 0
	for _, n := range rep.ServedBy {
		served += n
	}
	if served != rep.Calls || rep.ServedBy[""] != 0 {
		t.Errorf("served by %v, want every one of %d calls attributed to a tier", rep.ServedBy, rep.Calls)
	}
	if len(rep.Samples) == 0 || rep.Mode != "in-process" {
		t.Errorf("mode %q, %d samples", rep.Mode, len(rep.Samples))
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| get_account |") {
		t.Errorf("markdown lacks the tool table:\n%s", md.String())
	}
}

// TestLoadShort is the 20-second version of the soak that runs in make
// test: a subprocess proxy, 60 sessions, faults switched on and off.
func TestLoadShort(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s load test; skipped with -short")
	}
	ctx := context.Background()
	bin, err := BuildBinary(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sim, err := StartEmulator(EmulatorOptions{Accounts: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	p, err := StartProxy(ctx, sim, ProxyOptions{Binary: bin, Env: []string{"CIRCUIT_BREAKER_TIMEOUT=1s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Each fault is on for 1.5 s, and its window ends 2.5 s after it clears
	// (the 1 s breaker timeout plus retries). That leaves 1.5 s of every 4 s
	// gap outside any window, where every call must succeed.
	rep, err := Run(ctx, sim, p, Options{Sessions: 60, Duration: 20 * time.Second, Faults: true,
		FaultOn: 1500 * time.Millisecond, FaultOff: 4 * time.Second, FaultGrace: 2500 * time.Millisecond,
		Think: 100 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	t.Log("\n" + md.String())
	if rep.Connected != 60 {
		t.Errorf("connected %d of 60 sessions: %s", rep.Connected, rep.ConnectErr)
	}
	if rep.Calls < 200 {
		t.Errorf("only %d calls in 20 s", rep.Calls)
	}
	if rep.Uninjected != 0 {
		t.Errorf("%d errors outside fault windows: %+v", rep.Uninjected, rep.Errors)
	}
	if len(rep.FaultEvents) < 4 {
		t.Errorf("faults switched %d times, want several", len(rep.FaultEvents))
	}
	// Per-session state must go with the sessions: once they are closed and
	// the idle upstream connections dropped, the proxy is back near its
	// baseline goroutine count.
	if limit := rep.Baseline.Goroutines*3/2 + 10; rep.AfterDrain.Goroutines > limit {
		t.Errorf("goroutines after the sessions closed = %d, baseline %d (limit %d)", rep.AfterDrain.Goroutines, rep.Baseline.Goroutines, limit)
	}
	if rep.Peak.RSSBytes > 256<<20 {
		t.Errorf("peak RSS %.1f MiB, want under 256 MiB", mib(rep.Peak.RSSBytes))
	}
	if rep.RSS.Percent > 60 {
		t.Errorf("RSS grew %.1f %% between the early and late parts of the run", rep.RSS.Percent)
	}
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	bad := errors.New("wrong record")
	var calls atomic.Int64
	call := func(_ context.Context, id string) error {
		calls.Add(1)
		if id == "2" {
			return bad
		}
		return nil
	}
	b := Measure(context.Background(), "fake", call, []string{"1", "2", "3", "4"}, BenchOptions{Warmup: 4, Calls: 8, Conc: 3, For: 30 * time.Millisecond})
	if b.Conc != 3 || b.Path != "fake" {
		t.Errorf("bench = %+v", b)
	}
	// Warm-up and sequential phases hit id "2" once per 4 calls: 1 + 2.
	if b.Errors < 3 || b.ErrorText != bad.Error() {
		t.Errorf("errors = %d (%q), want at least 3 counted with their text", b.Errors, b.ErrorText)
	}
	if b.PerSecCN <= 0 || int64(b.Errors) >= calls.Load() {
		t.Errorf("throughput %v with %d calls, %d errors", b.PerSecCN, calls.Load(), b.Errors)
	}
}

func TestMedianBench(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []Bench
		want Bench
	}{
		{"empty", nil, Bench{}},
		{"one", []Bench{{Path: "p", P50C1: 5, PerSecCN: 10, Errors: 1, ErrorText: "x"}}, Bench{Path: "p", P50C1: 5, PerSecCN: 10, Errors: 1, ErrorText: "x", Rounds: 1}},
		{"three: medians per field, errors summed", []Bench{
			{Path: "p", P50C1: 9, PerSecCN: 100, Errors: 1},
			{Path: "p", P50C1: 1, PerSecCN: 300, Errors: 0},
			{Path: "p", P50C1: 5, PerSecCN: 200, Errors: 2, ErrorText: "late"},
		}, Bench{Path: "p", P50C1: 5, PerSecCN: 200, Errors: 3, ErrorText: "late", Rounds: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := medianBench(tt.in); got != tt.want {
				t.Errorf("medianBench = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCompareVerdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		proxy, direct Bench
		wantAdded     float64
		wantRatio     float64
		wantMet       bool
	}{
		{"fast enough", Bench{P50C1: 500, PerSecCN: 700}, Bench{P50C1: 400, PerSecCN: 1000}, 100, 0.7, true},
		{"too slow per call", Bench{P50C1: 600, PerSecCN: 700}, Bench{P50C1: 400, PerSecCN: 1000}, 200, 0.7, false},
		{"too little throughput", Bench{P50C1: 500, PerSecCN: 500}, Bench{P50C1: 400, PerSecCN: 1000}, 100, 0.5, false},
		{"no direct figure", Bench{P50C1: 500, PerSecCN: 500}, Bench{}, 500, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := AddedP50(tt.proxy, tt.direct); got != tt.wantAdded {
				t.Errorf("AddedP50 = %v, want %v", got, tt.wantAdded)
			}
			if got := Ratio(tt.proxy, tt.direct); got != tt.wantRatio {
				t.Errorf("Ratio = %v, want %v", got, tt.wantRatio)
			}
			var md strings.Builder
			WriteCompareMarkdown(&md, []CompareResult{{Era: EraModern, ProxyMCP: tt.proxy, DirectMCP: tt.direct}})
			row := ""
			for _, l := range strings.Split(md.String(), "\n") {
				if strings.Contains(l, "(a) proxy MCP tier") {
					row = l
				}
			}
			if got := strings.HasSuffix(row, "| met |"); got != tt.wantMet {
				t.Errorf("verdict row %q, want met=%v", row, tt.wantMet)
			}
		})
	}
}

// TestRunAttributesInjectedErrors switches every API surface to 5xx for a
// moment: the agent-visible errors that follow must be counted as injected
// (a run that blamed the proxy for them would be useless), the faults must
// be switched on and off in turn, and none may outlive the run.
func TestRunAttributesInjectedErrors(t *testing.T) {
	sim, err := StartEmulator(EmulatorOptions{Accounts: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	p, err := StartProxy(ctx, sim, ProxyOptions{Env: []string{"CIRCUIT_BREAKER_TIMEOUT=1s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	all5xx := FaultStep{Name: "all 5xx", Faults: map[zohosim.Surface]zohosim.Fault{
		zohosim.SurfaceMCP: {Mode: zohosim.Fault5xx}, zohosim.SurfaceBulk: {Mode: zohosim.Fault5xx}, zohosim.SurfaceREST: {Mode: zohosim.Fault5xx}}}
	rep, err := Run(ctx, sim, p, Options{Sessions: 4, Duration: 1200 * time.Millisecond, Think: 20 * time.Millisecond,
		Faults: true, FaultSteps: []FaultStep{all5xx}, FaultOff: 300 * time.Millisecond, FaultOn: 300 * time.Millisecond,
		FaultGrace: 1500 * time.Millisecond, SampleEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Injected == 0 || rep.Uninjected != 0 {
		t.Fatalf("injected %d, uninjected %d, want some injected and none else: %+v", rep.Injected, rep.Uninjected, rep.Errors)
	}
	for _, e := range rep.Errors {
		if !strings.HasPrefix(e.Class, ClassTool) {
			t.Errorf("error class %q (%s): every failure under 5xx should be an honest isError result", e.Class, e.Example)
		}
	}
	if len(rep.FaultEvents) < 2 {
		t.Fatalf("fault events %+v, want on then off", rep.FaultEvents)
	}
	for i, ev := range rep.FaultEvents {
		if ev.On != (i%2 == 0) || ev.Fault != "all 5xx" {
			t.Errorf("event %d = %+v, want alternating on/off of %q", i, ev, "all 5xx")
		}
	}
	resp, err := http.Get(sim.AdminURL() + "/admin/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var left []any
	if err := json.NewDecoder(resp.Body).Decode(&left); err != nil || len(left) != 0 {
		t.Errorf("faults left after the run: %v (%v)", left, err)
	}
}
