// Package loadtest drives the proxy with many concurrent MCP sessions over
// Streamable HTTP, switches emulator faults on and off, and reports
// throughput, latency, errors by class and the proxy's goroutines and RSS
// over time; it also holds the proxy-vs-direct benchmarks behind zmp-load.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// The protocol versions the load generator speaks.
const (
	EraModern = "2026-07-28" // stateless: server/discover, no session
	EraLegacy = "2025-11-25" // initialize handshake, Mcp-Session-Id
)

// FaultStep is one fault phase: the faults set together on the emulator.
type FaultStep struct {
	Name   string
	Faults map[zohosim.Surface]zohosim.Fault
}

// DefaultFaults is the fault cycle of a run with faults on: single-surface
// faults the router should hide by failing over, then every API surface
// failing at once, which the agent must see as honest isError results.
// Hangs are left out: they last a tier timeout (30–60 s) per call.
func DefaultFaults() []FaultStep {
	one := func(name string, sf zohosim.Surface, f zohosim.Fault) FaultStep {
		return FaultStep{Name: name, Faults: map[zohosim.Surface]zohosim.Fault{sf: f}}
	}
	return []FaultStep{
		one("mcp 5xx", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.Fault5xx}),
		one("rest 429", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault429}),
		one("mcp down", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown}),
		one("bulk 5xx", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.Fault5xx}),
		one("mcp +300ms", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultLatency, Latency: 300 * time.Millisecond}),
		one("mcp malformed", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultMalformed}),
		{Name: "mcp+bulk+rest 5xx", Faults: map[zohosim.Surface]zohosim.Fault{
			zohosim.SurfaceMCP: {Mode: zohosim.Fault5xx}, zohosim.SurfaceBulk: {Mode: zohosim.Fault5xx}, zohosim.SurfaceREST: {Mode: zohosim.Fault5xx}}},
	}
}

// Options configure Run. Zero values pick the defaults named.
type Options struct {
	// Sessions is the number of concurrent MCP sessions; 0 means 50.
	Sessions int
	// Duration of the load phase; 0 means 20s.
	Duration time.Duration
	// Faults switches the fault cycle on.
	Faults bool
	// FaultSteps is the cycle; nil means DefaultFaults().
	FaultSteps []FaultStep
	// FaultOn and FaultOff are how long each fault is on, and the pause
	// between faults; 0 means 2s and 3s.
	FaultOn, FaultOff time.Duration
	// FaultGrace extends each fault window for attributing errors to it
	// (retries, reconnects, and breakers that stay open for the proxy's
	// CIRCUIT_BREAKER_TIMEOUT after the fault clears); 0 means 2s.
	FaultGrace time.Duration
	// Era is the protocol version; "" means EraModern.
	Era string
	// Think is each session's pause between calls (±50 % jitter); 0 means
	// 100ms, negative means none. Sessions start staggered over one Think,
	// not all at once.
	Think time.Duration
	// CallTimeout is the client's deadline per call; 0 means 40s (above the
	// proxy's 30 s call deadline).
	CallTimeout time.Duration
	// SampleEvery is the resource sampling period; 0 means 1s.
	SampleEvery time.Duration
	// Seed makes the workload reproducible; 0 means 1.
	Seed uint64
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Sessions <= 0 {
		o.Sessions = 50
	}
	def(&o.Duration, 20*time.Second)
	def(&o.FaultOn, 2*time.Second)
	def(&o.FaultOff, 3*time.Second)
	def(&o.FaultGrace, 2*time.Second)
	def(&o.Think, 100*time.Millisecond)
	def(&o.CallTimeout, 40*time.Second)
	def(&o.SampleEvery, time.Second)
	if o.FaultSteps == nil {
		o.FaultSteps = DefaultFaults()
	}
	if o.Era == "" {
		o.Era = EraModern
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Error classes of a call.
const (
	ClassOK        = "ok"
	ClassProtocol  = "protocol"  // a JSON-RPC error answer
	ClassTransport = "transport" // HTTP status, connection or stream failure
	ClassTimeout   = "timeout"   // the client's own deadline passed
	ClassBusy      = "busy"      // the proxy's max_in_flight refusal (HTTP 503 with a JSON-RPC error body)
	ClassTool      = "tool:"     // prefix of isError results: tool:<category>
)

// ToolErrorCategory sorts an isError result's text into a category: the
// proxy's tool errors are written for agents, so the wording is the contract.
func ToolErrorCategory(text string) string {
	t := strings.ToLower(text)
	switch {
	case strings.HasPrefix(t, "invalid arguments"):
		return "invalid_arguments"
	case strings.Contains(t, "rate limit"):
		return "rate_limited"
	case strings.Contains(t, "may or may not have been applied") || strings.Contains(t, "outcome unknown") || strings.Contains(t, "outcome is unknown"):
		return "outcome_unknown"
	case strings.Contains(t, "canceled or ran out of time"):
		return "timeout"
	case strings.Contains(t, "no tier could serve") || strings.Contains(t, "get_tier_health"):
		return "unavailable"
	case strings.HasPrefix(t, "no account with id") || strings.Contains(t, "found nothing"):
		return "not_found"
	case strings.HasPrefix(t, "zoho rejected"):
		return "verdict"
	case strings.Contains(t, "shutting down"):
		return "shutting_down"
	case strings.Contains(t, "failed") && strings.Contains(t, "record"):
		return "partial"
	}
	return "other"
}

// Classify returns the class of one call's outcome.
func Classify(ctx context.Context, res *mcp.CallToolResult, err error) string {
	if err != nil {
		var te *transport.Error
		switch {
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			return ClassTimeout
		case strings.Contains(err.Error(), "too many concurrent requests"):
			return ClassBusy
		case errors.As(err, &te):
			return ClassTransport
		}
		return ClassProtocol
	}
	if res.IsError {
		return ClassTool + ToolErrorCategory(resultText(res))
	}
	return ClassOK
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// servedBy returns the tier in the result's route metadata ("" if none).
func servedBy(res *mcp.CallToolResult) string {
	if res == nil || res.Meta == nil {
		return ""
	}
	r, _ := res.Meta.AdditionalFields[tiers.RouteMetaKey].(map[string]any)
	t, _ := r["tier"].(string)
	return t
}

// Window is a time span of the run, in offsets from its start.
type Window struct{ From, To time.Duration }

// Overlaps reports whether [from, to] meets w.
func (w Window) Overlaps(from, to time.Duration) bool { return from <= w.To && to >= w.From }

// FaultEvent is a fault switched on or off.
type FaultEvent struct {
	AtMS  int64  `json:"at_ms"`
	Fault string `json:"fault"`
	On    bool   `json:"on"`
}

// ErrorCount counts one error class.
type ErrorCount struct {
	Class    string `json:"class"`
	Injected bool   `json:"injected"` // inside a fault window (+ grace)
	Count    int    `json:"count"`
	FirstMS  int64  `json:"first_at_ms"` // when the first one started, from the run's start
	LastMS   int64  `json:"last_at_ms"`
	Example  string `json:"example,omitempty"`
}

// ToolStats are one tool's figures.
type ToolStats struct {
	Tool   string `json:"tool"`
	Calls  int    `json:"calls"`
	Errors int    `json:"errors"`
	Dist
}

// Report is the outcome of Run.
type Report struct {
	Mode        string  `json:"mode"` // subprocess or in-process
	Era         string  `json:"protocol_version"`
	Sessions    int     `json:"sessions"`
	DurationS   float64 `json:"duration_s"`
	Faults      bool    `json:"faults"`
	ThinkMS     float64 `json:"think_ms"`
	GraceS      float64 `json:"fault_grace_s"`
	Connected   int     `json:"sessions_connected"`
	ConnectErrs int     `json:"connect_errors"`
	ConnectErr  string  `json:"connect_error_example,omitempty"`
	Connect     Dist    `json:"connect"`

	Calls       int            `json:"calls"`
	CallsPerSec float64        `json:"calls_per_s"`
	Latency     Dist           `json:"latency"`
	Tools       []ToolStats    `json:"tools"`
	ServedBy    map[string]int `json:"served_by"` // successful calls per tier
	Errors      []ErrorCount   `json:"errors"`
	Injected    int            `json:"errors_injected"`
	Uninjected  int            `json:"errors_uninjected"`
	FaultEvents []FaultEvent   `json:"fault_events,omitempty"`

	Baseline   Sample   `json:"baseline"`    // before any session
	Samples    []Sample `json:"samples"`     // during the load
	AfterClose Sample   `json:"after_close"` // sessions closed, 2 s later
	AfterDrain Sample   `json:"after_drain"` // then idle upstream connections closed
	Peak       Sample   `json:"peak"`
	Goroutines Growth   `json:"goroutine_growth"`
	RSS        Growth   `json:"rss_growth"`
	InFlight   Growth   `json:"in_flight_growth"` // the load side of goroutine growth
	SampleErrs int      `json:"sample_errors"`
}

// callRecord is one call as the report needs it.
type callRecord struct {
	tool       string
	from, to   time.Duration
	class      string
	tier       string
	errExample string
}

// session is one MCP client connection.
type session struct {
	c   *mcpclient.Client
	rng *rand.Rand
	log []callRecord
}

// NewHTTPClient returns an HTTP client for n concurrent sessions to one
// host: enough idle connections that none is torn down between calls.
func NewHTTPClient(n int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // 127.0.0.1 only, never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        n + 16,
		MaxIdleConnsPerHost: n + 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr}
}

// Connect opens one MCP session over Streamable HTTP with era.
func Connect(ctx context.Context, endpoint, era string, hc *http.Client) (*mcpclient.Client, error) {
	tr, err := transport.NewStreamableHTTP(endpoint, transport.WithHTTPBasicClient(hc))
	if err != nil {
		return nil, err
	}
	c := mcpclient.NewClient(tr, mcpclient.WithProtocolVersion(era))
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = era
	init.Params.ClientInfo = mcp.Implementation{Name: "zmp-load", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Run holds o.Sessions sessions against proxy for o.Duration with the mixed
// workload, switching sim's faults when o.Faults, sampling the proxy, and
// returns the report. It stops by itself; ctx cancels early.
func Run(ctx context.Context, sim *zohosim.Sim, proxy *Proxy, o Options) (*Report, error) {
	o.defaults()
	ids := sim.Store().IDs()
	if len(ids) < 10 {
		return nil, errors.New("the emulator needs at least 10 accounts")
	}
	rep := &Report{Mode: "subprocess", Era: o.Era, Sessions: o.Sessions, DurationS: o.Duration.Seconds(),
		Faults: o.Faults, ThinkMS: ms(max(o.Think, 0)), GraceS: o.FaultGrace.Seconds(), ServedBy: map[string]int{}}
	if proxy.PID == 0 {
		rep.Mode = "in-process"
	}
	base, err := proxy.Sample(ctx)
	if err != nil {
		return nil, fmt.Errorf("sample the proxy before the run: %w", err)
	}
	rep.Baseline = base

	// Connect every session, 32 at a time.
	hc := NewHTTPClient(o.Sessions)
	defer hc.CloseIdleConnections()
	sessions := make([]*session, 0, o.Sessions)
	var (
		mu       sync.Mutex
		connDurs []time.Duration
		wg       sync.WaitGroup
		gate     = make(chan struct{}, 32)
	)
	o.Logf("connecting %d sessions (%s)", o.Sessions, o.Era)
	for i := 0; i < o.Sessions; i++ {
		wg.Add(1)
		gate <- struct{}{}
		go func(i int) {
			defer func() { <-gate; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			start := time.Now()
			c, err := Connect(cctx, proxy.Endpoint(), o.Era, hc)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rep.ConnectErrs++
				if rep.ConnectErr == "" {
					rep.ConnectErr = err.Error()
				}
				return
			}
			connDurs = append(connDurs, d)
			sessions = append(sessions, &session{c: c, rng: rand.New(rand.NewPCG(o.Seed, uint64(i)))})
		}(i)
	}
	wg.Wait()
	rep.Connected = len(sessions)
	rep.Connect = Summarise(connDurs)
	closeAll := func() {
		for _, s := range sessions {
			_ = s.c.Close()
		}
		hc.CloseIdleConnections()
	}
	if ctx.Err() != nil {
		closeAll()
		return nil, ctx.Err()
	}
	o.Logf("%d sessions connected (%d failed); load for %s, faults %v", rep.Connected, rep.ConnectErrs, o.Duration, o.Faults)

	start := time.Now()
	since := func() time.Duration { return time.Since(start) }
	runCtx, stopRun := context.WithTimeout(ctx, o.Duration)
	defer stopRun()

	// Sampler. Goroutines follow the calls in flight (each holds a few in
	// the proxy), so the sample records those too.
	var inFlight atomic.Int64
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		t := time.NewTicker(o.SampleEvery)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				s, err := proxy.Sample(sctx)
				cancel()
				mu.Lock()
				if err != nil {
					rep.SampleErrs++
				} else {
					s.At = since()
					s.AtMS = s.At.Milliseconds()
					s.InFlight = int(inFlight.Load())
					rep.Samples = append(rep.Samples, s)
				}
				mu.Unlock()
			}
		}
	}()

	// Fault cycle: off, on, off, on, ... (faults never outlive the run).
	var windows []Window
	if o.Faults {
		bg.Add(1)
		go func() {
			defer bg.Done()
			defer sim.ClearFaults()
			for i := 0; ; i++ {
				select {
				case <-runCtx.Done():
					return
				case <-time.After(o.FaultOff):
				}
				step := o.FaultSteps[i%len(o.FaultSteps)]
				on := since()
				for sf, f := range step.Faults {
					sim.SetFault(sf, f)
				}
				mu.Lock()
				rep.FaultEvents = append(rep.FaultEvents, FaultEvent{AtMS: on.Milliseconds(), Fault: step.Name, On: true})
				mu.Unlock()
				o.Logf("%6.1fs fault on: %s", on.Seconds(), step.Name)
				select {
				case <-runCtx.Done():
				case <-time.After(o.FaultOn):
				}
				sim.ClearFaults()
				off := since()
				mu.Lock()
				rep.FaultEvents = append(rep.FaultEvents, FaultEvent{AtMS: off.Milliseconds(), Fault: step.Name, On: false})
				windows = append(windows, Window{From: on, To: off + o.FaultGrace})
				mu.Unlock()
				o.Logf("%6.1fs fault off: %s", off.Seconds(), step.Name)
			}
		}()
	}

	// Sessions.
	for _, s := range sessions {
		wg.Add(1)
		go func(s *session) {
			defer wg.Done()
			if o.Think > 0 { // stagger the first calls like independent agents
				select {
				case <-runCtx.Done():
				case <-time.After(time.Duration(s.rng.Int64N(int64(o.Think)))):
				}
			}
			for runCtx.Err() == nil {
				inFlight.Add(1)
				s.log = append(s.log, s.call(ctx, ids, o.CallTimeout, since))
				inFlight.Add(-1)
				if o.Think > 0 {
					pause := o.Think/2 + time.Duration(s.rng.Int64N(int64(o.Think)))
					select {
					case <-runCtx.Done():
					case <-time.After(pause):
					}
				}
			}
		}(s)
	}
	wg.Wait()
	elapsed := since()
	stopRun()
	bg.Wait()
	sim.ClearFaults()

	// Close the sessions and let the proxy settle. Its pooled upstream
	// connections (2 goroutines each) stay open for their idle timeout, so
	// AfterClose includes them; then the emulator restarts its listeners,
	// which closes those connections, and AfterDrain should be back near
	// the baseline: anything left is per-session state that leaked.
	closeAll()
	rep.AfterClose = settle(ctx, proxy, base.Goroutines, 2*time.Second)
	for _, sf := range zohosim.Surfaces {
		sim.SetFault(sf, zohosim.Fault{Mode: zohosim.FaultDown})
	}
	sim.ClearFaults()
	rep.AfterDrain = settle(ctx, proxy, base.Goroutines, 10*time.Second)

	rep.aggregate(sessions, windows, elapsed)
	return rep, nil
}

// settle samples the proxy until its goroutines are within 10 % (+10) of
// baseline or limit passes, and returns the last sample.
func settle(ctx context.Context, proxy *Proxy, baseline int, limit time.Duration) Sample {
	deadline := time.Now().Add(limit)
	var last Sample
	for {
		s, err := proxy.Sample(ctx)
		if err == nil {
			last = s
			if s.Goroutines <= baseline+baseline/10+10 {
				return s
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mix is the workload: tool and weight.
var mix = []struct {
	tool   string
	weight int
}{
	{"get_account", 40}, {"get_accounts", 15}, {"search_accounts", 15},
	{"update_account", 15}, {"bulk_read_accounts", 8}, {"bulk_update_accounts", 7},
}

var mixTotal = func() int {
	n := 0
	for _, m := range mix {
		n += m.weight
	}
	return n
}()

// letters for search prefixes that the seeded names start with.
const nameLetters = "ABCDEFGHIJKLMNOPRSTVWZ"

// Args returns the arguments of one call of tool, drawing ids and values
// from rng.
func Args(tool string, rng *rand.Rand, ids []string) map[string]any {
	id := func() string { return ids[rng.IntN(len(ids))] }
	some := func(n int) []any { // n distinct ids
		out := make([]any, 0, n)
		for _, i := range rng.Perm(len(ids))[:min(n, len(ids))] {
			out = append(out, ids[i])
		}
		return out
	}
	note := "zmp-load " + strconv.FormatUint(rng.Uint64()%1_000_000, 10)
	switch tool {
	case "get_account":
		return map[string]any{"account_id": id()}
	case "get_accounts":
		if rng.IntN(2) == 0 {
			return map[string]any{"ids": some(5)}
		}
		return map[string]any{"limit": 10, "sort_by": "Modified_Time", "sort_order": "desc"}
	case "search_accounts":
		l := string(nameLetters[rng.IntN(len(nameLetters))])
		return map[string]any{"where": []any{map[string]any{"field": "Account_Name", "op": "starts_with", "value": l}},
			"limit": 10, "fields": []any{"Account_Name", "Phone"}}
	case "update_account":
		return map[string]any{"account_id": id(), "data": map[string]any{"Description": note}}
	case "bulk_read_accounts":
		return map[string]any{"account_ids": some(5), "fields": []any{"Account_Name", "Phone"}}
	case "bulk_update_accounts":
		ups := make([]any, 0, 5)
		for _, id := range some(5) {
			ups = append(ups, map[string]any{"id": id, "data": map[string]any{"Description": note}})
		}
		return map[string]any{"updates": ups}
	}
	return nil
}

func pickTool(rng *rand.Rand) string {
	n := rng.IntN(mixTotal)
	for _, m := range mix {
		if n < m.weight {
			return m.tool
		}
		n -= m.weight
	}
	return mix[0].tool
}

func (s *session) call(ctx context.Context, ids []string, timeout time.Duration, since func() time.Duration) callRecord {
	tool := pickTool(s.rng)
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = Args(tool, s.rng, ids)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rec := callRecord{tool: tool, from: since()}
	res, err := s.c.CallTool(cctx, req)
	rec.to = since()
	rec.class = Classify(cctx, res, err)
	switch {
	case err != nil:
		rec.errExample = err.Error()
	case res.IsError:
		rec.errExample = resultText(res)
	default:
		rec.tier = servedBy(res)
	}
	return rec
}

// aggregate fills the figures from the sessions' call logs.
func (r *Report) aggregate(sessions []*session, windows []Window, elapsed time.Duration) {
	type key struct {
		class    string
		injected bool
	}
	errs := map[key]*ErrorCount{}
	perTool := map[string][]time.Duration{}
	toolErrs := map[string]int{}
	var all []time.Duration
	for _, s := range sessions {
		for _, c := range s.log {
			d := c.to - c.from
			all = append(all, d)
			perTool[c.tool] = append(perTool[c.tool], d)
			if c.class == ClassOK {
				r.ServedBy[c.tier]++
				continue
			}
			toolErrs[c.tool]++
			inj := false
			for _, w := range windows {
				if w.Overlaps(c.from, c.to) {
					inj = true
					break
				}
			}
			k := key{c.class, inj}
			e := errs[k]
			if e == nil {
				e = &ErrorCount{Class: c.class, Injected: inj, Example: truncate(c.errExample, 240), FirstMS: c.from.Milliseconds()}
				errs[k] = e
			}
			e.Count++
			e.FirstMS = min(e.FirstMS, c.from.Milliseconds())
			e.LastMS = max(e.LastMS, c.from.Milliseconds())
			if inj {
				r.Injected++
			} else {
				r.Uninjected++
			}
		}
	}
	r.Calls = len(all)
	if elapsed > 0 {
		r.CallsPerSec = float64(int(float64(r.Calls)/elapsed.Seconds()*10)) / 10
	}
	r.Latency = Summarise(all)
	for _, m := range mix {
		if ds := perTool[m.tool]; len(ds) > 0 {
			r.Tools = append(r.Tools, ToolStats{Tool: m.tool, Calls: len(ds), Errors: toolErrs[m.tool], Dist: Summarise(ds)})
		}
	}
	for _, e := range errs {
		r.Errors = append(r.Errors, *e)
	}
	sort.Slice(r.Errors, func(i, j int) bool {
		a, b := r.Errors[i], r.Errors[j]
		if a.Injected != b.Injected {
			return !a.Injected
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Class < b.Class
	})
	var gs, rs, fs []float64
	for _, s := range r.Samples {
		gs = append(gs, float64(s.Goroutines))
		rs = append(rs, float64(s.RSSBytes))
		fs = append(fs, float64(s.InFlight))
		r.Peak.Goroutines = max(r.Peak.Goroutines, s.Goroutines)
		r.Peak.RSSBytes = max(r.Peak.RSSBytes, s.RSSBytes)
	}
	r.Goroutines, r.RSS, r.InFlight = growth(gs), growth(rs), growth(fs)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
