// Package demo is the guided tour behind `zoho-mcp-proxy demo`: the Zoho
// emulator and the proxy in one process, a real MCP client over Streamable
// HTTP, every tool family, then failover, the breaker opening and recovery.
// Each step checks what it shows, so the tour doubles as a smoke test.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/app"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/status"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Options tune the tour. The zero value is the tour `demo` runs.
type Options struct {
	// Accounts seeded in the emulator; 0 means 2,000.
	Accounts int
	// BulkUpdates is the size of the bulk update step; 0 means 1,000.
	BulkUpdates int
	// BreakerThreshold is the consecutive failures that open a breaker; 0 means 3.
	BreakerThreshold uint32
	// BreakerTimeout is how long a breaker stays open; 0 means 1s.
	BreakerTimeout time.Duration
	// Logger receives the proxy's own logs; nil discards them.
	Logger *slog.Logger
}

// Step is one checked step of the tour.
type Step struct {
	N          int            `json:"n"`
	Name       string         `json:"step"`
	OK         bool           `json:"ok"`
	Tier       string         `json:"tier,omitempty"`
	Detail     string         `json:"detail"`
	Attempts   []any          `json:"attempts,omitempty"`
	DurationMS float64        `json:"duration_ms"`
	Data       map[string]any `json:"data,omitempty"`
}

// Report is the whole tour.
type Report struct {
	OK       bool    `json:"ok"`
	Steps    []Step  `json:"steps"`
	TotalMS  float64 `json:"total_ms"`
	Endpoint string  `json:"endpoint"`
	// StatusURL is the status page while the demo keeps serving (demo
	// --serve); empty otherwise.
	StatusURL string `json:"status_url,omitempty"`
}

// firstID is the emulator's first seeded account.
const firstID = "5725767000001000000"

// Demo is the emulator and the proxy of the tour, serving HTTP on
// 127.0.0.1 until Close.
type Demo struct {
	o      Options
	sim    *zohosim.Sim
	app    *app.App
	c      *mcpclient.Client
	base   string // http://127.0.0.1:port
	stop   context.CancelFunc
	served chan error
	start  time.Time
}

// Start starts the emulator and the proxy and connects the tour's MCP
// client (ctx bounds the connecting). They run until Close.
func Start(ctx context.Context, o Options) (_ *Demo, err error) {
	if o.Accounts == 0 {
		o.Accounts = 2000
	}
	if o.BulkUpdates == 0 {
		o.BulkUpdates = 1000
	}
	if o.BreakerThreshold == 0 {
		o.BreakerThreshold = 3
	}
	if o.BreakerTimeout == 0 {
		o.BreakerTimeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Demo{o: o, start: time.Now()}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	if d.sim, err = zohosim.Start(zohosim.Options{Accounts: o.Accounts, JobStep: 50 * time.Millisecond}); err != nil {
		return nil, fmt.Errorf("start the Zoho emulator: %w", err)
	}
	cfg, err := config.Load(config.Flags{}, func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	cfg.UseSandbox(d.sim.Env())
	cfg.BreakerThreshold = o.BreakerThreshold
	cfg.BreakerTimeout = o.BreakerTimeout
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The status page samples every 2 s: the tour takes seconds, and one
	// watching the page while serving wants to see calls come in.
	if d.app, err = app.Build(cfg, app.Options{Logger: o.Logger, Version: "demo", Status: status.Options{Interval: 2 * time.Second}}); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.base = "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(context.Background())
	d.stop, d.served = stop, make(chan error, 1)
	go func() { d.served <- d.app.ServeHTTP(sctx, ln) }()

	if d.c, err = mcpclient.NewStreamableHttpClient(d.Endpoint()); err != nil {
		return nil, err
	}
	if err := d.c.Start(ctx); err != nil {
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "zoho-mcp-proxy-demo", Version: "1"}
	if _, err := d.c.Initialize(ctx, init); err != nil {
		return nil, fmt.Errorf("connect the MCP client: %w", err)
	}
	return d, nil
}

// Endpoint is the proxy's MCP endpoint (Streamable HTTP).
func (d *Demo) Endpoint() string { return d.base + "/mcp" }

// StatusURL is the proxy's status page.
func (d *Demo) StatusURL() string { return d.base + "/" }

// Tour runs every step and returns the report; failed steps are in it
// (Report.OK false). ctx bounds the calls.
func (d *Demo) Tour(ctx context.Context) *Report {
	t := &tour{ctx: ctx, c: d.c, sim: d.sim, o: d.o}
	t.run()
	// The page shows the whole tour at once, not at its next sample.
	d.app.Status.Sample()
	rep := &Report{OK: true, Steps: t.steps, TotalMS: ms(time.Since(d.start)), Endpoint: d.Endpoint()}
	for _, s := range t.steps {
		rep.OK = rep.OK && s.OK
	}
	return rep
}

// Close disconnects the client, stops the proxy (gracefully) and the
// emulator.
func (d *Demo) Close() error {
	var errs []error
	if d.c != nil {
		errs = append(errs, d.c.Close())
	}
	if d.stop != nil {
		d.stop()
		errs = append(errs, <-d.served)
	}
	if d.app != nil {
		errs = append(errs, d.app.Close())
	}
	if d.sim != nil {
		errs = append(errs, d.sim.Close())
	}
	return errors.Join(errs...)
}

// Run starts the emulator and the proxy, runs every step, stops them and
// returns the report. It returns an error only when the tour could not
// start; failed steps are in the report (Report.OK false).
func Run(ctx context.Context, o Options) (*Report, error) {
	d, err := Start(ctx, o)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Tour(ctx), nil
}

// tour holds the client and the emulator while the steps run.
type tour struct {
	ctx   context.Context
	c     *mcpclient.Client
	sim   *zohosim.Sim
	o     Options
	steps []Step
}

// call is one tool call's result, decoded.
type call struct {
	res        *mcp.CallToolResult
	structured map[string]any
	route      map[string]any
	text       string
	dur        time.Duration
	err        error
}

func (t *tour) call(name string, args map[string]any) call {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	start := time.Now()
	res, err := t.c.CallTool(t.ctx, req)
	out := call{res: res, err: err, dur: time.Since(start)}
	if err != nil {
		return out
	}
	if b, err := json.Marshal(res.StructuredContent); err == nil {
		_ = json.Unmarshal(b, &out.structured)
	}
	if res.Meta != nil {
		if r, ok := res.Meta.AdditionalFields[tiers.RouteMetaKey]; ok {
			b, _ := json.Marshal(r)
			_ = json.Unmarshal(b, &out.route)
		}
	}
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			out.text += tc.Text
		}
	}
	return out
}

func (c call) tier() string { s, _ := c.route["tier"].(string); return s }

func (c call) attempts() []any { a, _ := c.route["attempts"].([]any); return a }

// routeText is the call's route as tier:outcome per attempt, e.g.
// "MCP:breaker_open → BULK:unavailable → REST:success".
func (c call) routeText() string {
	var parts []string
	for _, a := range c.attempts() {
		m, _ := a.(map[string]any)
		parts = append(parts, fmt.Sprintf("%v:%v", m["tier"], m["outcome"]))
	}
	if len(parts) == 0 {
		return "no route"
	}
	return strings.Join(parts, " → ")
}

// firstAttempt returns the tier and outcome of the route's first attempt.
func (c call) firstAttempt() (tier, outcome string) {
	a := c.attempts()
	if len(a) == 0 {
		return "", ""
	}
	m, _ := a[0].(map[string]any)
	tier, _ = m["tier"].(string)
	outcome, _ = m["outcome"].(string)
	return tier, outcome
}

// failure describes why a call did not succeed, or "" when it did.
func (c call) failure() string {
	switch {
	case c.err != nil:
		return c.err.Error()
	case c.res.IsError:
		return "tool error: " + c.text
	}
	return ""
}

func (t *tour) add(s Step, c *call) {
	s.N = len(t.steps) + 1
	if c != nil {
		s.DurationMS = ms(c.dur)
		if s.Tier == "" {
			s.Tier = c.tier()
		}
		s.Attempts = c.attempts()
		if f := c.failure(); f != "" && s.OK {
			s.OK, s.Detail = false, f
		}
	}
	t.steps = append(t.steps, s)
}

// breaker returns the state of tier's breaker from get_tier_health.
func (t *tour) breaker(tier string) string {
	c := t.call("get_tier_health", nil)
	if c.failure() != "" {
		return "unknown (" + c.failure() + ")"
	}
	list, _ := c.structured["tiers"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		if m["tier"] == tier {
			cb, _ := m["circuit_breaker"].(map[string]any)
			s, _ := cb["state"].(string)
			return s
		}
	}
	return "unknown"
}

func (t *tour) run() {
	t.listTools()
	t.getAccount()
	t.search()
	t.update()
	t.bulkUpdate()
	t.failover()
}

func (t *tour) listTools() {
	start := time.Now()
	res, err := t.c.ListTools(t.ctx, mcp.ListToolsRequest{})
	s := Step{Name: "list tools", OK: err == nil}
	if err != nil {
		s.Detail = err.Error()
		t.steps = append(t.steps, s)
		return
	}
	scopes := map[string]string{}
	for _, tl := range tools.All(tools.Deps{}) {
		var sc []string
		for _, x := range tl.Scopes {
			sc = append(sc, string(x))
		}
		scopes[tl.Def.Name] = strings.Join(sc, "+")
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name+" ("+scopes[tl.Name]+")")
	}
	sort.Strings(names)
	s.OK = len(res.Tools) == len(scopes)-1 // every tool but the admin-scoped reset_circuit_breakers
	s.Detail = fmt.Sprintf("%d tools: %s", len(res.Tools), strings.Join(names, ", "))
	s.DurationMS = ms(time.Since(start))
	t.add(s, nil)
}

func (t *tour) getAccount() {
	c := t.call("get_account", map[string]any{"account_id": firstID, "fields": []string{"Account_Name", "Industry", "Phone"}})
	acct, _ := c.structured["account"].(map[string]any)
	s := Step{Name: "get_account", OK: acct["id"] == firstID && c.tier() == "MCP",
		Detail: fmt.Sprintf("%v (%v), served by tier 1 as an agent-context call", acct["Account_Name"], acct["Industry"])}
	t.add(s, &c)
}

func (t *tour) search() {
	c := t.call("search_accounts", map[string]any{
		"where": []map[string]any{{"field": "Industry", "op": "equals", "value": "Retail"},
			{"field": "Employees", "op": "greater_than", "value": 1000}},
		"fields": []string{"Account_Name", "Employees"}, "limit": 5})
	n, _ := c.structured["count"].(float64)
	more, _ := c.structured["more_records"].(bool)
	t.add(Step{Name: "search_accounts", OK: n > 0,
		Detail: fmt.Sprintf("Industry = Retail and Employees > 1000: %d on this page, more: %v", int(n), more)}, &c)
}

func (t *tour) update() {
	phone := "+1 555 0142"
	c := t.call("update_account", map[string]any{"account_id": firstID, "data": map[string]any{"Phone": phone}})
	results, _ := c.structured["results"].([]any)
	r0, _ := firstMap(results)
	stored, _ := t.sim.Store().Get(firstID)
	ok := r0["status"] == "success" && stored["Phone"] == phone
	t.add(Step{Name: "update_account", OK: ok,
		Detail: fmt.Sprintf("Phone → %s: record %v is %v; the emulator's store agrees: %v", phone, r0["id"], r0["status"], stored["Phone"] == phone)}, &c)
}

func (t *tour) bulkUpdate() {
	updates := make([]map[string]any, t.o.BulkUpdates)
	ids := t.sim.Store().IDs()
	for i := range updates {
		updates[i] = map[string]any{"id": ids[i], "data": map[string]any{"Rating": "Active"}}
	}
	c := t.call("bulk_update_accounts", map[string]any{"updates": updates, "trigger": []string{}})
	sc := c.structured
	ok := num(sc["succeeded"]) == float64(len(updates)) && num(sc["failed"]) == 0
	t.add(Step{Name: "bulk_update_accounts", OK: ok,
		Detail: fmt.Sprintf("%d records: %v succeeded, %v failed; strategy %v, %v Zoho calls, %v credits",
			len(updates), sc["succeeded"], sc["failed"], sc["strategy"], sc["calls"], sc["credits"]),
		Data: map[string]any{"strategy": sc["strategy"], "calls": sc["calls"], "credits": sc["credits"]}}, &c)
}

func (t *tour) failover() {
	t.sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
	c := t.call("get_account", map[string]any{"account_id": firstID, "fields": []string{"Account_Name"}})
	tier, outcome := c.firstAttempt()
	t.add(Step{Name: "MCP tier down → failover", OK: tier == "MCP" && outcome != "success" && c.tier() != "MCP" && c.tier() != "",
		Detail: fmt.Sprintf("tier 1 refused connections; route %s; served by %s", c.routeText(), c.tier())}, &c)

	// Keep calling until the breaker opens; the first failure counted above.
	threshold := int(t.o.BreakerThreshold)
	calls := 1
	for calls < threshold+2 && t.breaker("MCP") != "open" {
		t.call("get_account", map[string]any{"account_id": firstID, "fields": []string{"Account_Name"}})
		calls++
	}
	state := t.breaker("MCP")
	t.add(Step{Name: "breaker opens", OK: state == "open", Tier: "MCP",
		Detail: fmt.Sprintf("after %d failing calls (threshold %d) the MCP breaker is %s", calls, threshold, state)}, nil)

	c = t.call("get_account", map[string]any{"account_id": firstID, "fields": []string{"Account_Name"}})
	tier, outcome = c.firstAttempt()
	t.add(Step{Name: "open breaker skipped", OK: tier == "MCP" && outcome == "breaker_open" && c.tier() != "MCP",
		Detail: fmt.Sprintf("tier 1 skipped at once; route %s; served by %s in %.1f ms", c.routeText(), c.tier(), ms(c.dur))}, &c)

	// Tier 2 down as well, for one call (below its breaker's threshold):
	// the call walks the whole chain and lands on tier 3.
	t.sim.SetFault(zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultDown})
	c = t.call("get_account", map[string]any{"account_id": firstID, "fields": []string{"Account_Name"}})
	t.sim.SetFault(zohosim.SurfaceBulk, zohosim.Fault{})
	route := c.routeText()
	t.add(Step{Name: "BULK down too → REST", OK: c.tier() == "REST" && route == "MCP:breaker_open → BULK:unavailable → REST:success",
		Detail: fmt.Sprintf("tier 2 refused connections too; route %s; served by %s", route, c.tier())}, &c)

	t.sim.ClearFaults()
	time.Sleep(t.o.BreakerTimeout + 50*time.Millisecond) // the breaker's cooldown, as configured for the tour
	var states []string
	var last call
	for i := 0; i < 4 && t.breaker("MCP") != "closed"; i++ {
		last = t.call("get_account", map[string]any{"account_id": firstID, "fields": []string{"Account_Name"}})
		states = append(states, last.tier())
	}
	state = t.breaker("MCP")
	t.add(Step{Name: "recovery", OK: state == "closed" && last.tier() == "MCP", Tier: "MCP",
		Detail: fmt.Sprintf("tier 1 healed; after the %v cooldown, calls served by %v; breaker %s", t.o.BreakerTimeout, states, state)}, &last)
}

// Write renders the report as a table, or as JSON when asJSON is set.
func Write(w io.Writer, rep *Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tSTEP\tRESULT\tTIER\tMS\tWHAT HAPPENED\n")
	for _, s := range rep.Steps {
		res := "ok"
		if !s.OK {
			res = "FAILED"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.1f\t%s\n", s.N, s.Name, res, orDash(s.Tier), s.DurationMS, s.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "every step behaved as described"
	if !rep.OK {
		verdict = "some steps did not behave as described"
	}
	_, err := fmt.Fprintf(w, "\n%s (%.1f s)\n", verdict, rep.TotalMS/1000)
	return err
}

// ErrFailed is returned by callers when a report is not OK.
var ErrFailed = errors.New("demo: a step did not behave as described")

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstMap(xs []any) (map[string]any, bool) {
	if len(xs) == 0 {
		return map[string]any{}, false
	}
	m, ok := xs[0].(map[string]any)
	return m, ok
}

func num(v any) float64 { f, _ := v.(float64); return f }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
