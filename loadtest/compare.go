package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Caller makes one get-account call; it returns an error for anything but a
// correct answer.
type Caller func(ctx context.Context, id string) error

// Bench is one path's figures: p50 at concurrency 1 and throughput at
// concurrency Conc.
type Bench struct {
	Path      string  `json:"path"`
	P50C1     float64 `json:"p50_c1_us"`
	P99C1     float64 `json:"p99_c1_us"`
	Conc      int     `json:"concurrency"`
	PerSecCN  float64 `json:"calls_per_s_cN"`
	P50CN     float64 `json:"p50_cN_us"`
	P99CN     float64 `json:"p99_cN_us"`
	MaxCN     float64 `json:"max_cN_us"`
	Errors    int     `json:"errors"`
	ErrorText string  `json:"error_example,omitempty"`
	Rounds    int     `json:"rounds,omitempty"` // medians over this many rounds
	// Proxy is the cost per call of the hop's process, the proxy's or on a
	// relay path the relay's, over both phases (nil on a direct path, for a
	// hop in this process, or when it could not be read).
	Proxy *PerCall `json:"proxy,omitempty"`
	// LoadGen is the load generator's own cost per call over both phases:
	// the MCP or HTTP client and the in-process emulator (and, run with
	// -inprocess, the proxy too).
	LoadGen PerCall `json:"load_generator"`
}

// BenchOptions size the measurement. Zero values pick the defaults named.
type BenchOptions struct {
	// Warmup calls before measuring; 0 means 200.
	Warmup int
	// Calls at concurrency 1; 0 means 2,000.
	Calls int
	// Conc is the concurrency of the throughput phase; 0 means 16.
	Conc int
	// For is the length of the throughput phase; 0 means 5s.
	For time.Duration
	// Proxy reads the proxy process's usage around the measured phases; nil
	// for a direct path (or a proxy in this process: see LoadGen).
	Proxy Meter
}

func (o *BenchOptions) defaults() {
	if o.Warmup == 0 {
		o.Warmup = 200
	}
	if o.Calls == 0 {
		o.Calls = 2000
	}
	if o.Conc == 0 {
		o.Conc = 16
	}
	if o.For == 0 {
		o.For = 5 * time.Second
	}
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()/100) / 10 }

// Measure runs call sequentially (p50/p99 at c=1), then with o.Conc workers
// for o.For (throughput), over ids in turn.
func Measure(ctx context.Context, path string, call Caller, ids []string, o BenchOptions) Bench {
	o.defaults()
	b := Bench{Path: path, Conc: o.Conc}
	var errMu sync.Mutex
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		b.Errors++
		if b.ErrorText == "" {
			b.ErrorText = err.Error()
		}
	}
	for i := 0; i < o.Warmup; i++ {
		if err := call(ctx, ids[i%len(ids)]); err != nil {
			fail(err)
		}
	}
	// Usage readings bracket both measured phases, warm-up excluded.
	self0, _ := SelfUsage(ctx)
	var proxy0 Usage
	var proxyErr error
	if o.Proxy != nil {
		proxy0, proxyErr = o.Proxy(ctx)
	}
	var calls atomic.Int64
	ds := make([]time.Duration, 0, o.Calls)
	for i := 0; i < o.Calls && ctx.Err() == nil; i++ {
		start := time.Now()
		err := call(ctx, ids[i%len(ids)])
		ds = append(ds, time.Since(start))
		calls.Add(1)
		if err != nil {
			fail(err)
		}
	}
	slices.Sort(ds)
	b.P50C1, b.P99C1 = us(Percentile(ds, 0.5)), us(Percentile(ds, 0.99))

	var n atomic.Int64
	var wg sync.WaitGroup
	lat := make([][]time.Duration, o.Conc)
	deadline := time.Now().Add(o.For)
	start := time.Now()
	for w := 0; w < o.Conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; time.Now().Before(deadline) && ctx.Err() == nil; i += o.Conc {
				t := time.Now()
				err := call(ctx, ids[i%len(ids)])
				calls.Add(1)
				if err != nil {
					fail(err)
					continue
				}
				lat[w] = append(lat[w], time.Since(t))
				n.Add(1)
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	if o.Proxy != nil && proxyErr == nil {
		if proxy1, err := o.Proxy(ctx); err == nil {
			pc := perCall(proxy0, proxy1, int(calls.Load()))
			b.Proxy = &pc
		}
	}
	if self1, err := SelfUsage(ctx); err == nil {
		b.LoadGen = perCall(self0, self1, int(calls.Load()))
	}
	b.PerSecCN = float64(int(float64(n.Load())/el.Seconds()*10)) / 10
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.P50CN, b.P99CN = us(Percentile(all, 0.5)), us(Percentile(all, 0.99))
	if len(all) > 0 {
		b.MaxCN = us(all[len(all)-1])
	}
	return b
}

// ProxyGetAccount calls get_account through the proxy with c and checks
// the answer is the account asked for.
func ProxyGetAccount(c *mcpclient.Client) Caller {
	return func(ctx context.Context, id string) error {
		req := mcp.CallToolRequest{}
		req.Params.Name = "get_account"
		req.Params.Arguments = map[string]any{"account_id": id}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			return err
		}
		if res.IsError {
			return fmt.Errorf("isError: %s", truncate(resultText(res), 200))
		}
		m, _ := res.StructuredContent.(map[string]any)
		acc, _ := m["account"].(map[string]any)
		if acc["id"] != id {
			return fmt.Errorf("get_account %s answered another record", id)
		}
		return nil
	}
}

// DirectMCPGetRecord calls the emulator's hosted-MCP look-alike
// ZohoCRM_getRecord with the path_variables envelope, as tier 1 does.
func DirectMCPGetRecord(c *mcpclient.Client) Caller {
	return func(ctx context.Context, id string) error {
		req := mcp.CallToolRequest{}
		req.Params.Name = "ZohoCRM_getRecord"
		req.Params.Arguments = map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": id}}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			return err
		}
		text := resultText(res)
		if res.IsError {
			return fmt.Errorf("isError: %s", truncate(text, 200))
		}
		return checkZohoRecord([]byte(text), id)
	}
}

func checkZohoRecord(body []byte, id string) error {
	var z struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &z); err != nil {
		return fmt.Errorf("decode Zoho body: %w", err)
	}
	if len(z.Data) != 1 || z.Data[0].ID != id {
		return fmt.Errorf("the emulator answered another record for %s", id)
	}
	return nil
}

// FetchToken refreshes cred once at sim's accounts server and returns the
// access token and api_domain.
func FetchToken(ctx context.Context, hc *http.Client, accountsURL string, cred zohosim.Credential) (token, apiDomain string, err error) {
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {cred.ClientID},
		"client_secret": {cred.ClientSecret}, "refresh_token": {cred.RefreshToken}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, accountsURL+"/oauth/v2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
		APIDomain   string `json:"api_domain"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return "", "", err
	}
	if t.AccessToken == "" {
		return "", "", fmt.Errorf("token refresh refused: %q", t.Error)
	}
	return t.AccessToken, t.APIDomain, nil
}

// DirectRESTGet is GET {apiDomain}/crm/v8/Accounts/{id} with a fixed token.
func DirectRESTGet(hc *http.Client, apiDomain, token string) Caller {
	return func(ctx context.Context, id string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, apiDomain+"/crm/v8/Accounts/"+id, nil)
		req.Header.Set("Authorization", "Zoho-oauthtoken "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET Accounts/%s: %s", id, resp.Status)
		}
		return checkZohoRecord(body, id)
	}
}

// CompareResult is one era's proxy-vs-direct figures, with the floor (the
// direct calls through a bare relay) and the MCP calls through a
// general-purpose MCP proxy built on mcp-go (the MCP relay).
type CompareResult struct {
	Era         string `json:"protocol_version"`
	ProxyMCP    Bench  `json:"proxy_mcp_tier"`
	DirectMCP   Bench  `json:"direct_mcp"`
	ProxyREST   Bench  `json:"proxy_rest_tier"`
	DirectREST  Bench  `json:"direct_rest"`
	ProxyMCPRSS int64  `json:"proxy_mcp_rss_bytes_after"`
	RelayMCP    Bench  `json:"relay_mcp"`
	RelayREST   Bench  `json:"relay_rest"`
	MCPRelay    Bench  `json:"mcp_relay"`
}

// benches are r's paths in the order they are measured and printed.
func (r CompareResult) benches() []Bench {
	return []Bench{r.ProxyMCP, r.DirectMCP, r.RelayMCP, r.MCPRelay, r.ProxyREST, r.DirectREST, r.RelayREST}
}

// AddedP50 is proxy p50 − direct p50 at c=1 in µs.
func AddedP50(proxy, direct Bench) float64 { return proxy.P50C1 - direct.P50C1 }

// Ratio is proxy throughput / direct throughput at c=N.
func Ratio(proxy, direct Bench) float64 {
	if direct.PerSecCN == 0 {
		return 0
	}
	return proxy.PerSecCN / direct.PerSecCN
}

// AboveFloor is how much of a proxy's cost lies above the floor, the same
// call's cost through a bare relay: its p50 at c=1 less the relay's (that
// is, its added p50 less the relay's) and its CPU per call less the
// relay's, in µs. cpuOK is false when either process's CPU is unknown.
func AboveFloor(proxy, relay Bench) (p50, cpu float64, cpuOK bool) {
	p50 = proxy.P50C1 - relay.P50C1
	if proxy.Proxy == nil || relay.Proxy == nil {
		return p50, 0, false
	}
	return p50, proxy.Proxy.CPUus - relay.Proxy.CPUus, true
}

// Ceiling is the throughput ratio at c=N that the proxy's path could reach
// if throughput followed CPU per call (it does here once both cores are
// busy: predicted is that model applied to the measured CPU, to set beside
// the measured ratio) and the proxy's process cost nothing (free) or only
// what the bare relay costs (asRelay). The load generator's CPU on the
// proxy's path stays: its client reads the proxy's answer, whose shape the
// tool contract sets, and its emulator serves the proxy's upstream call.
// ok is false when a process's CPU is unknown.
func Ceiling(proxy, direct, relay Bench) (predicted, free, asRelay float64, ok bool) {
	d := totalCPU(direct)
	if proxy.Proxy == nil || relay.Proxy == nil || d <= 0 || proxy.LoadGen.CPUus <= 0 {
		return 0, 0, 0, false
	}
	return d / totalCPU(proxy), d / proxy.LoadGen.CPUus, d / (proxy.LoadGen.CPUus + relay.Proxy.CPUus), true
}

// CompareOptions configure Compare.
type CompareOptions struct {
	Bench BenchOptions
	// Eras to measure; nil means both, 2025-11-25 then 2026-07-28.
	Eras []string
	// Binary is the proxy to spawn; "" runs it in process.
	Binary string
	// Relay is the command that starts the floor's relay and the MCP relay
	// as processes of their own (zmp-load relay; StartRelay adds -to and
	// -addr, StartMCPRelay also -mcp); nil runs them in this process.
	Relay []string
	// LogLevel of the proxies; "" means info.
	LogLevel string
	// Rounds of the six measurements, interleaved so that load from
	// elsewhere on a shared machine hits every path alike; each figure is
	// the median over rounds. 0 means 3.
	Rounds int
	// Logf receives progress; nil discards it.
	Logf func(format string, args ...any)
}

// medianBench is the per-field median of bs (errors summed).
func medianBench(bs []Bench) Bench {
	if len(bs) == 0 {
		return Bench{}
	}
	med := func(f func(Bench) float64) float64 {
		xs := make([]float64, len(bs))
		for i, b := range bs {
			xs[i] = f(b)
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	out := bs[0]
	out.P50C1 = med(func(b Bench) float64 { return b.P50C1 })
	out.P99C1 = med(func(b Bench) float64 { return b.P99C1 })
	out.PerSecCN = med(func(b Bench) float64 { return b.PerSecCN })
	out.P50CN = med(func(b Bench) float64 { return b.P50CN })
	out.P99CN = med(func(b Bench) float64 { return b.P99CN })
	out.MaxCN = med(func(b Bench) float64 { return b.MaxCN })
	out.LoadGen = PerCall{CPUus: med(func(b Bench) float64 { return b.LoadGen.CPUus }),
		Allocs: med(func(b Bench) float64 { return b.LoadGen.Allocs })}
	out.Proxy = nil
	if !slices.ContainsFunc(bs, func(b Bench) bool { return b.Proxy == nil }) {
		out.Proxy = &PerCall{CPUus: med(func(b Bench) float64 { return b.Proxy.CPUus }),
			Allocs: med(func(b Bench) float64 { return b.Proxy.Allocs })}
	}
	out.Errors, out.ErrorText = 0, ""
	for _, b := range bs {
		out.Errors += b.Errors
		if out.ErrorText == "" {
			out.ErrorText = b.ErrorText
		}
	}
	out.Rounds = len(bs)
	return out
}

// Compare measures, per era, get_account through a proxy on the MCP tier vs
// ZohoCRM_getRecord straight to the emulator, and through a REST-only proxy
// vs a direct REST GET, all against one emulator in this process.
func Compare(ctx context.Context, o CompareOptions) ([]CompareResult, error) {
	if o.Eras == nil {
		o.Eras = []string{EraLegacy, EraModern}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	sim, err := StartEmulator(EmulatorOptions{})
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	ids := sim.Store().IDs()[:200]
	mcpProxy, err := StartProxy(ctx, sim, ProxyOptions{Binary: o.Binary, LogLevel: o.LogLevel})
	if err != nil {
		return nil, fmt.Errorf("proxy (all tiers): %w", err)
	}
	defer mcpProxy.Close()
	restProxy, err := StartProxy(ctx, sim, ProxyOptions{Binary: o.Binary, LogLevel: o.LogLevel,
		Env: []string{"ENABLE_TIER1_MCP=false", "ENABLE_TIER2_BULK=false"}})
	if err != nil {
		return nil, fmt.Errorf("proxy (REST tier only): %w", err)
	}
	defer restProxy.Close()
	mcpURL, err := url.Parse(sim.MCPEndpoint())
	if err != nil {
		return nil, err
	}
	relayMCP, err := StartRelay(ctx, o.Relay, mcpURL.Scheme+"://"+mcpURL.Host)
	if err != nil {
		return nil, fmt.Errorf("relay to the MCP surface: %w", err)
	}
	defer relayMCP.Close()
	relayREST, err := StartRelay(ctx, o.Relay, sim.RESTURL())
	if err != nil {
		return nil, fmt.Errorf("relay to the REST surface: %w", err)
	}
	defer relayREST.Close()
	mcpRelay, err := StartMCPRelay(ctx, o.Relay, sim.MCPEndpoint())
	if err != nil {
		return nil, fmt.Errorf("MCP relay: %w", err)
	}
	defer mcpRelay.Close()

	hc := NewHTTPClient(64)
	defer hc.CloseIdleConnections()
	token, apiDomain, err := FetchToken(ctx, hc, sim.AccountsURL(), sim.RESTCredential())
	if err != nil {
		return nil, err
	}
	var out []CompareResult
	for _, era := range o.Eras {
		r := CompareResult{Era: era}
		clients := map[string]*mcpclient.Client{}
		for name, ep := range map[string]string{"proxy-mcp": mcpProxy.Endpoint(), "proxy-rest": restProxy.Endpoint(), "direct-mcp": sim.MCPEndpoint(),
			"relay-mcp": relayMCP.URL + mcpURL.Path, "mcp-relay": mcpRelay.URL + "/mcp"} {
			c, err := Connect(ctx, ep, era, hc)
			if err != nil {
				return nil, fmt.Errorf("connect %s (%s): %w", name, era, err)
			}
			defer c.Close()
			clients[name] = c
		}
		// A hop in this process is measured with the load generator.
		b := o.Bench
		b.Proxy = nil
		direct, viaMCP, viaREST, relayedMCP, relayedREST, viaMCPRelay := b, b, b, b, b, b
		if o.Binary != "" {
			viaMCP.Proxy, viaREST.Proxy = mcpProxy.Usage, restProxy.Usage
		}
		if len(o.Relay) > 0 {
			relayedMCP.Proxy, relayedREST.Proxy, viaMCPRelay.Proxy = relayMCP.Usage, relayREST.Usage, mcpRelay.Usage
		}
		var pm, dm, fm, gm, pr, dr, fr []Bench
		for round := 1; round <= o.Rounds; round++ {
			o.Logf("%s round %d/%d: proxy MCP tier, direct MCP, relay MCP, MCP relay, proxy REST tier, direct REST, relay REST", era, round, o.Rounds)
			pm = append(pm, Measure(ctx, "proxy → MCP tier", ProxyGetAccount(clients["proxy-mcp"]), ids, viaMCP))
			dm = append(dm, Measure(ctx, "direct ZohoCRM_getRecord", DirectMCPGetRecord(clients["direct-mcp"]), ids, direct))
			fm = append(fm, Measure(ctx, "relay → MCP", DirectMCPGetRecord(clients["relay-mcp"]), ids, relayedMCP))
			gm = append(gm, Measure(ctx, "MCP relay (mcp-go) → MCP", DirectMCPGetRecord(clients["mcp-relay"]), ids, viaMCPRelay))
			pr = append(pr, Measure(ctx, "proxy → REST tier", ProxyGetAccount(clients["proxy-rest"]), ids, viaREST))
			dr = append(dr, Measure(ctx, "direct REST GET", DirectRESTGet(hc, apiDomain, token), ids, direct))
			fr = append(fr, Measure(ctx, "relay → REST", DirectRESTGet(hc, relayREST.URL, token), ids, relayedREST))
		}
		r.ProxyMCP, r.DirectMCP, r.RelayMCP, r.MCPRelay = medianBench(pm), medianBench(dm), medianBench(fm), medianBench(gm)
		r.ProxyREST, r.DirectREST, r.RelayREST = medianBench(pr), medianBench(dr), medianBench(fr)
		if s, err := mcpProxy.Sample(ctx); err == nil {
			r.ProxyMCPRSS = s.RSSBytes
		}
		out = append(out, r)
	}
	return out, nil
}

// WriteCompareMarkdown renders Compare's results with the goals of issue 5.
func WriteCompareMarkdown(w io.Writer, rs []CompareResult) {
	n := conc(rs)
	fmt.Fprintf(w, "| protocol | path | p50 c=1 µs | p99 c=1 µs | calls/s c=%d | p50 c=%d µs | p99 c=%d µs | max c=%d ms | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
		n, n, n, n)
	for _, r := range rs {
		for _, b := range r.benches() {
			fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f | %d |\n", r.Era, b.Path, b.P50C1, b.P99C1, b.PerSecCN, b.P50CN, b.P99CN, b.MaxCN/1000, b.Errors)
		}
	}
	if len(rs) > 0 && rs[0].ProxyMCP.Rounds > 1 {
		fmt.Fprintf(w, "\nEach figure is the median of %d interleaved rounds.\n", rs[0].ProxyMCP.Rounds)
	}
	fmt.Fprintf(w, "\n| protocol | comparison | added p50 c=1 | throughput ratio c=%d | goal | met |\n|---|---|---:|---:|---|---|\n", conc(rs))
	for _, r := range rs {
		add, ratio := AddedP50(r.ProxyMCP, r.DirectMCP), Ratio(r.ProxyMCP, r.DirectMCP)
		fmt.Fprintf(w, "| %s | (a) proxy MCP tier vs direct MCP | %.0f µs | %.2f× | ≤ 160 µs, ≥ 0.60× | %s |\n", r.Era, add, ratio,
			met(add <= 160 && ratio >= 0.6))
		add, ratio = AddedP50(r.ProxyREST, r.DirectREST), Ratio(r.ProxyREST, r.DirectREST)
		fmt.Fprintf(w, "| %s | (b) proxy REST tier vs direct REST | %.0f µs | %.2f× | (none set) | — |\n", r.Era, add, ratio)
		fmt.Fprintf(w, "| %s | (c) floor: relay vs direct MCP | %.0f µs | %.2f× | (floor) | — |\n", r.Era, AddedP50(r.RelayMCP, r.DirectMCP), Ratio(r.RelayMCP, r.DirectMCP))
		fmt.Fprintf(w, "| %s | (d) floor: relay vs direct REST | %.0f µs | %.2f× | (floor) | — |\n", r.Era, AddedP50(r.RelayREST, r.DirectREST), Ratio(r.RelayREST, r.DirectREST))
		fmt.Fprintf(w, "| %s | (e) MCP relay (mcp-go) vs direct MCP | %.0f µs | %.2f× | (yardstick) | — |\n", r.Era, AddedP50(r.MCPRelay, r.DirectMCP), Ratio(r.MCPRelay, r.DirectMCP))
	}
	writeCostMarkdown(w, rs)
	writeFloorMarkdown(w, rs)
	writeYardstickMarkdown(w, rs)
	writeCeilingMarkdown(w, rs)
	for _, r := range rs {
		for _, b := range r.benches() {
			if b.Errors > 0 {
				fmt.Fprintf(w, "\n%s %s: %d errors, e.g. %s\n", r.Era, b.Path, b.Errors, cell(b.ErrorText))
			}
		}
	}
}

// writeCostMarkdown renders the CPU and allocations per call of every path,
// and the proxy's against the goals of issue 14.
func writeCostMarkdown(w io.Writer, rs []CompareResult) {
	fmt.Fprintf(w, "\n| protocol | path | proxy CPU µs/call | proxy allocs/call | load generator CPU µs/call | load generator allocs/call | CPU µs/call, both |\n|---|---|---:|---:|---:|---:|---:|\n")
	inproc := false
	for _, r := range rs {
		for _, b := range r.benches() {
			pcpu, palloc := hopCost(b)
			if b.Proxy == nil && !strings.HasPrefix(b.Path, "direct") {
				inproc = true
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.0f | %s | %.0f |\n", r.Era, b.Path, pcpu, palloc, b.LoadGen.CPUus, allocs(b.LoadGen.Allocs), totalCPU(b))
		}
	}
	fmt.Fprintf(w, "\nCPU is user + system time of the process over the measured calls of both phases (c=1 and c=%d), divided by the calls; "+
		"the load generator is the MCP/HTTP client and the in-process emulator. On the relay paths the proxy columns are the relay process's.", conc(rs))
	if inproc {
		fmt.Fprintf(w, " The proxy or the relay ran in this process (-inprocess), so its cost is inside the load generator's: compare those paths' load generator figures with the direct ones.")
	}
	fmt.Fprintf(w, "\n\n| protocol | comparison | proxy CPU µs/call | proxy allocs/call | CPU ratio, both processes | goal | met |\n|---|---|---:|---:|---:|---|---|\n")
	for _, r := range rs {
		for _, c := range []struct {
			name          string
			proxy, direct Bench
		}{{"(a) cost: proxy MCP tier vs direct MCP", r.ProxyMCP, r.DirectMCP}, {"(b) cost: proxy REST tier vs direct REST", r.ProxyREST, r.DirectREST}} {
			pcpu, palloc := hopCost(c.proxy)
			ok := "—"
			if c.proxy.Proxy != nil {
				ok = met(c.proxy.Proxy.CPUus <= 120)
			}
			ratio := 0.0
			if d := totalCPU(c.direct); d > 0 {
				ratio = totalCPU(c.proxy) / d
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f× | CPU ≤ 120 µs | %s |\n", r.Era, c.name, pcpu, palloc, ratio, ok)
		}
	}
}

// writeFloorMarkdown renders, per tier, how much of the proxy's added p50
// and CPU lies above the floor (the relay's).
func writeFloorMarkdown(w io.Writer, rs []CompareResult) {
	fmt.Fprintf(w, "\n| protocol | tier | proxy added p50 c=1 | floor added p50 c=1 | p50 above the floor | proxy CPU µs/call | relay CPU µs/call | CPU above the floor |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		for _, t := range []struct {
			name                 string
			proxy, direct, relay Bench
		}{{"MCP", r.ProxyMCP, r.DirectMCP, r.RelayMCP}, {"REST", r.ProxyREST, r.DirectREST, r.RelayREST}} {
			added := AddedP50(t.proxy, t.direct)
			p50, cpu, cpuOK := AboveFloor(t.proxy, t.relay)
			pcpu, rcpu, above := "—", "—", "—"
			if cpuOK {
				pcpu, rcpu = fmt.Sprintf("%.0f", t.proxy.Proxy.CPUus), fmt.Sprintf("%.0f", t.relay.Proxy.CPUus)
				above = fmt.Sprintf("%.0f µs (%s)", cpu, share(cpu, t.proxy.Proxy.CPUus))
			}
			fmt.Fprintf(w, "| %s | %s tier | %.0f µs | %.0f µs | %.0f µs (%s) | %s | %s | %s |\n", r.Era, t.name, added,
				AddedP50(t.relay, t.direct), p50, share(p50, added), pcpu, rcpu, above)
		}
	}
	fmt.Fprintf(w, "\nThe floor is the direct call through a bare net/http ReverseProxy (zmp-load relay: its defaults but the proxy's upstream transport, pooled copy buffers and the proxy's GOGC=200). "+
		"Above the floor: the proxy's p50 less the relay's, as a share of the proxy's added p50; its CPU per call less the relay's, as a share of its own.\n")
}

// writeYardstickMarkdown sets the proxy's MCP tier beside the MCP relay
// (a general-purpose MCP proxy on mcp-go) and the bare relay, each against
// the same direct call.
func writeYardstickMarkdown(w io.Writer, rs []CompareResult) {
	fmt.Fprintf(w, "\n| protocol | MCP hop | added p50 c=1 | throughput ratio c=%d | hop CPU µs/call | hop allocs/call |\n|---|---|---:|---:|---:|---:|\n", conc(rs))
	for _, r := range rs {
		for _, h := range []struct {
			name string
			hop  Bench
		}{{"proxy, MCP tier (get_account)", r.ProxyMCP}, {"MCP relay on mcp-go (ZohoCRM_getRecord)", r.MCPRelay}, {"bare relay (ZohoCRM_getRecord)", r.RelayMCP}} {
			cpu, al := hopCost(h.hop)
			fmt.Fprintf(w, "| %s | %s | %.0f µs | %.2f× | %s | %s |\n", r.Era, h.name, AddedP50(h.hop, r.DirectMCP), Ratio(h.hop, r.DirectMCP), cpu, al)
		}
	}
	fmt.Fprintf(w, "\nThe MCP relay is a general-purpose MCP proxy as built on mcp-go (zmp-load relay -mcp: one upstream mcp-go client session, the upstream's tools "+
		"registered on an mcp-go server, each call's name and arguments passed through and its result handed back as mcp-go parsed it), with no permissions, checks, failover or metrics.\n")
}

// writeCeilingMarkdown renders, per tier, the throughput ratio the
// proxy's path could reach at best (see Ceiling) beside the measured one
// and the goal.
func writeCeilingMarkdown(w io.Writer, rs []CompareResult) {
	n := conc(rs)
	fmt.Fprintf(w, "\n| protocol | tier | throughput ratio c=%d, measured | predicted from CPU per call | proxy costing nothing | proxy costing the relay's CPU | goal |\n|---|---|---:|---:|---:|---:|---:|\n", n)
	for _, r := range rs {
		for _, t := range []struct {
			name                 string
			proxy, direct, relay Bench
			goal                 string
		}{{"MCP", r.ProxyMCP, r.DirectMCP, r.RelayMCP, "≥ 0.60×"}, {"REST", r.ProxyREST, r.DirectREST, r.RelayREST, "≥ 0.40×"}} {
			cells := []string{"—", "—", "—"}
			if predicted, free, asRelay, ok := Ceiling(t.proxy, t.direct, t.relay); ok {
				cells = []string{fmt.Sprintf("%.2f×", predicted), fmt.Sprintf("%.2f×", free), fmt.Sprintf("%.2f×", asRelay)}
			}
			fmt.Fprintf(w, "| %s | %s tier | %.2f× | %s | %s | %s | %s |\n", r.Era, t.name, Ratio(t.proxy, t.direct), cells[0], cells[1], cells[2], t.goal)
		}
	}
	fmt.Fprintf(w, "\nPredicted: the direct path's CPU per call (both processes) over the proxy path's, the ratio if throughput follows CPU. "+
		"Costing nothing: the same with the proxy process's CPU taken out; the load generator's stays, since its client still reads the proxy's answer "+
		"(structured content and its text rendering) and its emulator still serves the proxy's upstream call. Costing the relay's CPU: the proxy at the floor.\n")
}

// share is part/whole as a percentage ("—" without a whole).
func share(part, whole float64) string {
	if whole <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f %%", 100*part/whole)
}

// totalCPU is the CPU per call of both processes on b's path.
func totalCPU(b Bench) float64 {
	if b.Proxy == nil {
		return b.LoadGen.CPUus
	}
	return b.LoadGen.CPUus + b.Proxy.CPUus
}

// hopCost is the cells of b's hop process's CPU µs and allocations per
// call ("—" where unknown).
func hopCost(b Bench) (cpu, allocations string) {
	if b.Proxy == nil {
		return "—", "—"
	}
	return fmt.Sprintf("%.0f", b.Proxy.CPUus), allocs(b.Proxy.Allocs)
}

func allocs(a float64) string {
	if a < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", a)
}

func conc(rs []CompareResult) int {
	if len(rs) == 0 {
		return 16
	}
	return rs[0].ProxyMCP.Conc
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// ColdStart is the time from spawning `serve --sandbox` (stdio) to the
// answer of the first tools/list, per run.
type ColdStart struct {
	Era     string    `json:"protocol_version"`
	Runs    []float64 `json:"runs_ms"`
	Median  float64   `json:"median_ms"`
	Min     float64   `json:"min_ms"`
	Max     float64   `json:"max_ms"`
	ToolsN  int       `json:"tools"`
	Command string    `json:"command"`
}

// MeasureColdStart spawns binary n times over stdio with era and times each
// until tools/list answers.
func MeasureColdStart(ctx context.Context, binary, era string, n int) (ColdStart, error) {
	cs := ColdStart{Era: era, Command: binary + " serve --sandbox"}
	var ds []time.Duration
	for i := 0; i < n; i++ {
		d, tools, err := coldStartOnce(ctx, binary, era)
		if err != nil {
			return cs, fmt.Errorf("run %d: %w", i+1, err)
		}
		ds = append(ds, d)
		cs.Runs = append(cs.Runs, ms(d))
		cs.ToolsN = tools
	}
	slices.Sort(ds)
	cs.Median, cs.Min, cs.Max = ms(Percentile(ds, 0.5)), ms(ds[0]), ms(ds[len(ds)-1])
	return cs, nil
}

func coldStartOnce(ctx context.Context, binary, era string) (time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmdFunc := func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, command, args...)
		cmd.Env = append(BaseEnv(), "ZOHO_MCP_PROXY_LOG_LEVEL=warn")
		return cmd, nil
	}
	start := time.Now()
	tr := transport.NewStdioWithOptions(binary, nil, []string{"serve", "--sandbox"}, transport.WithCommandFunc(cmdFunc))
	if err := tr.Start(ctx); err != nil {
		return 0, 0, err
	}
	c := mcpclient.NewClient(tr, mcpclient.WithProtocolVersion(era))
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = era
	init.Params.ClientInfo = mcp.Implementation{Name: "zmp-load", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return 0, 0, err
	}
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	d := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	if len(res.Tools) == 0 {
		return 0, 0, errors.New("tools/list answered no tools")
	}
	return d, len(res.Tools), nil
}

// IdleRSS is the resident memory of an idle `serve --transport http`.
type IdleRSS struct {
	Name       string  `json:"name"`
	Command    string  `json:"command"`
	AfterStart float64 `json:"after_start_mib"` // 1 s after /healthz answered
	AfterCalls float64 `json:"after_calls_mib"` // after N get_account calls, then 1 s idle
	Calls      int     `json:"calls"`
}

// MeasureIdleRSS spawns `serve --transport http --sandbox` (the emulator
// inside the proxy, as a newcomer runs it) and reads /proc/PID/status VmRSS
// after start and after calls get_account calls; then the same for a proxy
// pointed at an external emulator (the proxy alone).
func MeasureIdleRSS(ctx context.Context, binary string, calls int) ([]IdleRSS, error) {
	var out []IdleRSS
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--transport", "http", "--sandbox", "--addr", addr, "--log-level", "warn"}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = BaseEnv()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + addr, PID: cmd.Process.Pid, hc: &http.Client{Timeout: 5 * time.Second}, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	p.stop = func() error { _ = cmd.Process.Kill(); <-p.done; return nil }
	r, err := idleRSS(ctx, p, "serve --transport http --sandbox (emulator in process, 500 accounts)",
		binary+" "+strings.Join(args, " "), calls, sandboxFirstID)
	_ = p.Close()
	if err != nil {
		return nil, err
	}
	out = append(out, r)

	sim, err := StartEmulator(EmulatorOptions{})
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	p2, err := StartProxy(ctx, sim, ProxyOptions{Binary: binary, LogLevel: "warn"})
	if err != nil {
		return nil, err
	}
	defer p2.Close()
	r, err = idleRSS(ctx, p2, "serve --transport http (proxy alone, external emulator)",
		binary+" serve --transport http --addr 127.0.0.1:PORT --log-level warn  # env from `zoho-mcp-proxy sandbox`", calls, sim.Store().IDs()[0])
	if err != nil {
		return nil, err
	}
	return append(out, r), nil
}

// sandboxFirstID is the first seeded account of the default emulator.
const sandboxFirstID = "5725767000001000000"

func idleRSS(ctx context.Context, p *Proxy, name, command string, calls int, id string) (IdleRSS, error) {
	r := IdleRSS{Name: name, Command: command, Calls: calls}
	if err := p.waitHealthy(ctx, 15*time.Second); err != nil {
		return r, err
	}
	pid := fmt.Sprint(p.PID)
	time.Sleep(time.Second)
	b, err := ReadVmRSS(pid)
	if err != nil {
		return r, err
	}
	r.AfterStart = mib(b)
	hc := NewHTTPClient(1)
	defer hc.CloseIdleConnections()
	c, err := Connect(ctx, p.Endpoint(), EraModern, hc)
	if err != nil {
		return r, err
	}
	call := ProxyGetAccount(c)
	for i := 0; i < calls; i++ {
		if err := call(ctx, id); err != nil {
			_ = c.Close()
			return r, err
		}
	}
	_ = c.Close()
	time.Sleep(time.Second)
	if b, err = ReadVmRSS(pid); err != nil {
		return r, err
	}
	r.AfterCalls = mib(b)
	return r, nil
}
