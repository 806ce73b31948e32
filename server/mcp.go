// Package server is the proxy's front door: it assembles the MCP server
// (tools, permission filter, call logging and metrics) and serves it over
// stdio or HTTP (Streamable HTTP and legacy SSE) with the HTTP security and
// operations endpoints. It knows the tools only as values handed to NewMCP;
// package app builds them.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Tool is one tool the server registers: its definition, the scopes a caller
// needs (all of them), and its handler. It has the shape of tools.Tool.
type Tool struct {
	Def     mcp.Tool
	Scopes  []permissions.Scope
	Handler mcpserver.ToolHandlerFunc
	// Modules are the modules the tool is bound to (the Account tools:
	// Accounts): a caller whose profile may not touch one of them neither
	// sees nor calls it. Nil means the tool names its module per call and
	// checks the profile itself.
	Modules []string
	// Disabled, when not empty, says why the tool is switched off for every
	// caller (say, the proxy runs with --read-only): it is not listed, and a
	// call by name gets this reason as a tool error.
	Disabled string
}

// Prompt is one prompt the server registers: its definition, its handler,
// and the tools its instructions use. A caller sees it in prompts/list, and
// may get it, only when it may call every one of those tools.
type Prompt struct {
	Def     mcp.Prompt
	Handler mcpserver.PromptHandlerFunc
	Tools   []string
	// Modules are the modules its instructions use; a caller whose profile
	// may not touch one does not see it.
	Modules []string
}

// Options configures NewMCP.
type Options struct {
	// Name and Version identify the server to clients. Empty means
	// "zoho-mcp-proxy" and "dev".
	Name, Version string
	// Tools are registered in order.
	Tools []Tool
	// Prompts are registered in order; each is listed only to callers who
	// may use its tools.
	Prompts []Prompt
	// Instructions are the server's instructions to clients; empty means a
	// generic text.
	Instructions string
	// ResourceTemplates are registered as is (e.g. bulk results).
	ResourceTemplates []mcpserver.ServerResourceTemplate
	// ListResources returns the resources of the caller in ctx
	// (permissions.CallerFrom), e.g. its live bulk results; resources/list
	// shows them after the registered ones, to that caller only. Nil means
	// none.
	ListResources func(ctx context.Context) []mcp.Resource
	// Logger receives one line per tool call. Nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the tool-call and HTTP-refusal metrics. Nil means
	// they are not registered.
	Registerer prometheus.Registerer
	// Now is the clock for call durations. Nil means time.Now.
	Now func() time.Time
	// ProgressInterval is the least time between two progress
	// notifications of one call (the last report is always sent before the
	// answer). Zero means DefaultProgressInterval; negative means none.
	ProgressInterval time.Duration
	// ValidateInput makes mcp-go check arguments against each tool's input
	// schema before the handler runs. Off by default: the tools validate
	// their own arguments with messages written for an agent ("account_id
	// must be 1–19 digits"), which mcp-go's generic schema errors would
	// pre-empt.
	ValidateInput bool
}

// MCP is the assembled MCP server plus what the transports need to drain it.
type MCP struct {
	// Server is the mcp-go server; both transports serve it.
	Server   *mcpserver.MCPServer
	scopes   map[string][]permissions.Scope
	modules  map[string][]string // tool → the modules it is bound to
	disabled map[string]string   // tool → why it is switched off
	log      *slog.Logger
	now      func() time.Time
	drain    drain
	metrics  *callMetrics
	// collectors are each registered tool's call metrics, looked up on
	// first use (read-only after NewMCP).
	collectors map[string]*toolCollectors
	// progressInterval is Options.ProgressInterval (0: every report).
	progressInterval time.Duration
	// fast maps the tools the HTTP fast path may call (see fastcall.go) to
	// their wrapped handlers, the ones registered with mcp-go: every tool
	// without execution options, none when mcp-go validates input.
	fast map[string]mcpserver.ToolHandlerFunc
	// hooks are the mcp-go hooks NewMCP registers (none on tools/call: the
	// fast path would skip them).
	hooks *mcpserver.Hooks
}

// callMetrics are the server's Prometheus collectors.
type callMetrics struct {
	// ToolCalls counts tool calls by tool and outcome (ok, tool_error,
	// error, denied, disabled, panic, canceled, shutting_down).
	ToolCalls *prometheus.CounterVec
	// ToolDuration observes tool call durations by tool.
	ToolDuration *prometheus.HistogramVec
	// HTTPRefused counts HTTP requests the front door refused, by reason.
	HTTPRefused *prometheus.CounterVec
	// Sessions is the number of legacy Streamable HTTP sessions kept.
	Sessions prometheus.Gauge
	// Streams is the number of open SSE and Streamable HTTP GET streams.
	Streams prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*callMetrics, error) {
	m := &callMetrics{
		ToolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_mcp_proxy_tool_calls_total",
			Help: "MCP tool calls by tool and outcome.",
		}, []string{"tool", "outcome"}),
		ToolDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zoho_mcp_proxy_tool_call_duration_seconds",
			Help:    "MCP tool call duration by tool.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"tool"}),
		HTTPRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_mcp_proxy_http_refused_total",
			Help: "HTTP requests refused before reaching MCP, by reason (host, origin, body, body_timeout, auth, forbidden, busy, busy_caller, sessions).",
		}, []string{"reason"}),
		Sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zoho_mcp_proxy_http_sessions",
			Help: "Legacy (initialize-based) Streamable HTTP sessions the proxy keeps.",
		}),
		Streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zoho_mcp_proxy_http_streams",
			Help: "Open SSE and Streamable HTTP GET streams.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.ToolCalls, m.ToolDuration, m.HTTPRefused, m.Sessions, m.Streams} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// NewMCP builds the MCP server: every tool, a tool filter that hides tools
// outside the caller's profile (from the request context, so it works with
// and without sessions), middleware that refuses them again on call, logs and
// counts each call, recovers panics, and refuses new calls while draining.
func NewMCP(o Options) (*MCP, error) {
	if o.Name == "" {
		o.Name = "zoho-mcp-proxy"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	met, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	m := &MCP{scopes: map[string][]permissions.Scope{}, modules: map[string][]string{}, disabled: map[string]string{},
		log: o.Logger, now: o.Now, metrics: met, collectors: map[string]*toolCollectors{}, progressInterval: o.ProgressInterval,
		fast: map[string]mcpserver.ToolHandlerFunc{}}
	switch {
	case o.ProgressInterval == 0:
		m.progressInterval = DefaultProgressInterval
	case o.ProgressInterval < 0:
		m.progressInterval = 0
	}
	for _, t := range o.Tools {
		if t.Def.Name == "" || t.Handler == nil {
			return nil, fmt.Errorf("tool %q has no name or no handler", t.Def.Name)
		}
		if len(t.Scopes) == 0 {
			return nil, fmt.Errorf("tool %q declares no scope", t.Def.Name)
		}
		if _, dup := m.scopes[t.Def.Name]; dup {
			return nil, fmt.Errorf("tool %q registered twice", t.Def.Name)
		}
		m.scopes[t.Def.Name] = t.Scopes
		m.collectors[t.Def.Name] = &toolCollectors{}
		m.modules[t.Def.Name] = t.Modules
		if t.Disabled != "" {
			m.disabled[t.Def.Name] = t.Disabled
		}
	}
	for _, p := range o.Prompts {
		if p.Def.Name == "" || p.Handler == nil {
			return nil, fmt.Errorf("prompt %q has no name or no handler", p.Def.Name)
		}
		for _, tl := range p.Tools {
			if _, ok := m.scopes[tl]; !ok {
				return nil, fmt.Errorf("prompt %q uses tool %q, which is not registered", p.Def.Name, tl)
			}
		}
	}
	if o.Instructions == "" {
		o.Instructions = "Zoho CRM through a permissioned, failover-capable proxy. " +
			"Use the tools you are given; every result's _meta[\"" + tiers.RouteMetaKey + "\"] says which tier served it."
	}
	hooks := &mcpserver.Hooks{}
	// tools/list shows only the caller's tools. This is not a tool filter
	// (WithToolFilter): mcp-go applies those on tools/call too and answers a
	// hidden tool with a bare "tool not found" before any handler runs,
	// where enforce tells the caller which scope it lacks.
	hooks.AddAfterListTools(func(ctx context.Context, _ any, _ *mcp.ListToolsRequest, res *mcp.ListToolsResult) {
		if res != nil {
			res.Tools = m.filter(ctx, res.Tools)
		}
	})
	templates := make([]mcpserver.ServerResourceTemplate, len(o.ResourceTemplates))
	for i, t := range o.ResourceTemplates {
		t.Handler = probed(t.Handler)
		templates[i] = t
	}
	hooks.AddBeforeReadResource(probeResource(templates))
	if o.ListResources != nil {
		list := o.ListResources
		hooks.AddAfterListResources(func(ctx context.Context, _ any, _ *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
			if res != nil && res.NextCursor == "" {
				res.Resources = append(res.Resources, list(ctx)...)
			}
		})
	}
	opts := []mcpserver.ServerOption{
		mcpserver.WithToolCapabilities(false),
		// logging/setLevel is answered (clients and the conformance suite
		// send it); the proxy logs to stderr, not to clients.
		mcpserver.WithLogging(),
		mcpserver.WithHooks(hooks),
		mcpserver.WithInstructions(o.Instructions),
	}
	if len(o.Prompts) > 0 {
		uses := make(map[string]Prompt, len(o.Prompts))
		for _, p := range o.Prompts {
			uses[p.Def.Name] = p
		}
		// A prompt filter applies to prompts/list and prompts/get alike:
		// a prompt the caller may not use is "not found".
		opts = append(opts, mcpserver.WithPromptFilter(func(ctx context.Context, ps []mcp.Prompt) []mcp.Prompt {
			out := make([]mcp.Prompt, 0, len(ps))
			for _, p := range ps {
				if u := uses[p.Name]; m.allowedAll(ctx, u.Tools) && allowsModules(ctx, u.Modules) {
					out = append(out, p)
				}
			}
			return out
		}))
	}
	if o.ValidateInput {
		opts = append(opts, mcpserver.WithInputSchemaValidation())
	}
	if len(o.ResourceTemplates) > 0 {
		opts = append(opts, mcpserver.WithResourceCapabilities(false, false), mcpserver.WithResourceRecovery())
	}
	s := mcpserver.NewMCPServer(o.Name, o.Version, opts...)
	m.hooks = hooks
	for _, t := range o.Tools {
		h := m.wrap(t.Handler)
		s.AddTool(t.Def, h)
		if !o.ValidateInput && t.Def.Execution == nil {
			m.fast[t.Def.Name] = h
		}
	}
	if len(templates) > 0 {
		s.AddResourceTemplates(templates...)
	}
	for _, p := range o.Prompts {
		s.AddPrompt(p.Def, p.Handler)
	}
	m.Server = s
	return m, nil
}

// allowed reports whether the caller in ctx may use the tool: it is
// registered and not disabled, and the caller's profile has its scopes and
// may touch its modules.
func (m *MCP) allowed(ctx context.Context, tool string) bool {
	sc, ok := m.scopes[tool]
	if !ok || m.disabled[tool] != "" {
		return false
	}
	p := permissions.ProfileFrom(ctx)
	if !p.Allows(sc...) {
		return false
	}
	for _, mod := range m.modules[tool] {
		if !p.AllowsModule(mod) {
			return false
		}
	}
	return true
}

// allowsModules reports whether the caller's profile may touch every one of
// modules.
func allowsModules(ctx context.Context, modules []string) bool {
	p := permissions.ProfileFrom(ctx)
	for _, mod := range modules {
		if !p.AllowsModule(mod) {
			return false
		}
	}
	return true
}

// allowedAll reports whether the caller may use every one of tools.
func (m *MCP) allowedAll(ctx context.Context, tools []string) bool {
	for _, t := range tools {
		if !m.allowed(ctx, t) {
			return false
		}
	}
	return true
}

// filter keeps the tools the caller in ctx may use (for tools/list).
func (m *MCP) filter(ctx context.Context, ts []mcp.Tool) []mcp.Tool {
	out := make([]mcp.Tool, 0, len(ts))
	for _, t := range ts {
		if m.allowed(ctx, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// wrap puts the middleware around a tool's handler, outermost first:
// observe (log, count, drain), then refuse out of scope, then give the call
// its progress reporter, then recover panics around the handler. Each tool
// is wrapped once, when it is registered: mcp-go's WithToolHandlerMiddleware
// would build the same chain again on every call, a closure per layer.
func (m *MCP) wrap(h mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return m.observe(m.enforce(m.progress(m.recover(h))))
}

// callOutcome is what became of a tool call: the outcome label of the call
// metrics and of the call log line.
type callOutcome uint8

// The call outcomes; outcomeNone is a call not settled yet.
const (
	outcomeNone callOutcome = iota
	outcomeOK
	outcomeToolError
	outcomeError
	outcomeDenied
	outcomeDisabled
	outcomePanic
	outcomeCanceled
	outcomeShuttingDown
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	outcomeOK:           "ok",
	outcomeToolError:    "tool_error",
	outcomeError:        "error",
	outcomeDenied:       "denied",
	outcomeDisabled:     "disabled",
	outcomePanic:        "panic",
	outcomeCanceled:     "canceled",
	outcomeShuttingDown: "shutting_down",
}

func (o callOutcome) String() string { return outcomeNames[o] }

type outcomeKey struct{}

// callCtx is the context observe passes down a call: the caller's, plus
// the outcome a refusal or a panic settles on the way (settle). One value
// where context.WithValue and the outcome it pointed to were two
// allocations per call.
type callCtx struct {
	context.Context
	outcome callOutcome
}

// Value returns the callCtx itself for outcomeKey, else the caller's value.
func (c *callCtx) Value(key any) any {
	if key == (outcomeKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// settle records o as the outcome of the call in ctx, when observe tracks
// it.
func settle(ctx context.Context, o callOutcome) {
	if c, ok := ctx.Value(outcomeKey{}).(*callCtx); ok {
		c.outcome = o
	}
}

// toolCollectors are one tool's call metrics, each made on first use and
// kept: WithLabelValues hashes its labels and takes a lock on every call.
// Made lazily, so /metrics shows only the outcomes that happened, as
// before.
type toolCollectors struct {
	calls    [numOutcomes]atomic.Pointer[prometheus.Counter]
	duration atomic.Pointer[prometheus.Observer]
}

// collectorsOf returns the call metrics of tool: its kept ones when it is
// registered, else (a name mcp-go would not route to a handler) fresh ones.
func (m *MCP) collectorsOf(tool string) *toolCollectors {
	if c := m.collectors[tool]; c != nil {
		return c
	}
	return &toolCollectors{}
}

// count counts one call of tool with outcome o.
func (c *toolCollectors) count(met *callMetrics, tool string, o callOutcome) {
	p := c.calls[o].Load()
	if p == nil {
		// Two calls racing here both get the same child of the vector.
		ctr := met.ToolCalls.WithLabelValues(tool, o.String())
		p = &ctr
		c.calls[o].Store(p)
	}
	(*p).Inc()
}

// observe records the duration d of one call of tool.
func (c *toolCollectors) observe(met *callMetrics, tool string, d time.Duration) {
	p := c.duration.Load()
	if p == nil {
		obs := met.ToolDuration.WithLabelValues(tool)
		p = &obs
		c.duration.Store(p)
	}
	(*p).Observe(d.Seconds())
}

// enforce refuses a call outside the caller's scopes with a tool error that
// says which scope is missing and what the caller's profile has (tools/list
// does not show such a tool, but a client may call it by name).
func (m *MCP) enforce(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		name := req.Params.Name
		if why := m.disabled[name]; why != "" {
			settle(ctx, outcomeDisabled)
			return mcp.NewToolResultError(fmt.Sprintf("tool %s is disabled: %s", name, why)), nil
		}
		if !m.allowed(ctx, name) {
			settle(ctx, outcomeDenied)
			return mcp.NewToolResultError(refusal(ctx, name, m.scopes[name], m.modules[name])), nil
		}
		return next(ctx, req)
	}
}

// refusal is the text of a call refused for lack of scopes, or for a
// module the caller's profile may not touch.
func refusal(ctx context.Context, tool string, need []permissions.Scope, modules []string) string {
	p := permissions.ProfileFrom(ctx)
	pname, have := "none", "no scopes"
	if p != nil {
		pname = p.Name
		if len(p.Scopes) > 0 {
			have = strings.Join(p.ScopeNames(), ", ")
		}
	}
	var missing []permissions.Scope
	for _, s := range need {
		if !p.Allows(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		for _, mod := range modules {
			if !p.AllowsModule(mod) {
				return fmt.Sprintf("tool %s works on module %s, which profile %q may not touch (its modules: %s): ask an operator for a profile that lists it",
					tool, mod, pname, strings.Join(p.Modules, ", "))
			}
		}
		// an unknown tool: no scope can help
		return fmt.Sprintf("tool %s is not available to profile %q", tool, pname)
	}
	scope := "scope " + scopeList(missing)
	if len(missing) > 1 {
		scope = "scopes " + strings.ReplaceAll(scopeList(missing), "+", " and ")
	}
	msg := fmt.Sprintf("tool %s requires %s; your profile %q has %s", tool, scope, pname, have)
	if o := browserOrigin(ctx); o != "" {
		return msg + fmt.Sprintf(" for requests from a browser page (Origin %s): write, bulk and admin tools are withheld from pages "+
			"whose origin is not listed in the proxy's http.allowed_origins", o)
	}
	return msg + ": ask an operator for a profile that has it"
}

func scopeList(sc []permissions.Scope) string {
	s := make([]string, len(sc))
	for i, x := range sc {
		s[i] = string(x)
	}
	return strings.Join(s, "+")
}

// recover turns a handler panic into a JSON-RPC internal error (a broken
// invariant), logging the stack but never the panic value's arguments to the
// client.
func (m *MCP) recover(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		defer func() {
			if r := recover(); r != nil {
				settle(ctx, outcomePanic)
				m.log.Error("tool handler panicked", "tool", req.Params.Name, "panic_type", fmt.Sprintf("%T", r), "stack", string(debug.Stack()))
				res, err = nil, fmt.Errorf("internal error in tool %s (logged by the server)", req.Params.Name)
			}
		}()
		return next(ctx, req)
	}
}

// routeOf returns what the call log says of a result's route: the tier that
// served it and its attempts as "tier:outcome,…". The tools put the route in
// _meta as a tiers.Route; anything else there (or nothing) logs no route.
func routeOf(res *mcp.CallToolResult) (tier, attempts string) {
	if res == nil || res.Meta == nil {
		return "", ""
	}
	r, ok := res.Meta.AdditionalFields[tiers.RouteMetaKey].(tiers.Route)
	if !ok {
		return "", ""
	}
	var sb strings.Builder
	for i, a := range r.Attempts {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(string(a.Tier))
		sb.WriteByte(':')
		sb.WriteString(a.Outcome.String())
	}
	return string(r.Tier), sb.String()
}

// observe logs one line per call (tool, profile, tier, attempts, duration,
// outcome: never argument values), counts it, and tracks it for draining.
func (m *MCP) observe(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		name := req.Params.Name
		profile := "none"
		if p := permissions.ProfileFrom(ctx); p != nil {
			profile = p.Name
		}
		col := m.collectorsOf(name)
		if !m.drain.enter() {
			col.count(m.metrics, name, outcomeShuttingDown)
			m.log.Info("tool call", "tool", name, "profile", profile, "outcome", "shutting_down")
			return mcp.NewToolResultError("the proxy is shutting down: retry the call in a few seconds"), nil
		}
		defer m.drain.leave()
		start := m.now()
		call := &callCtx{Context: ctx}
		res, err := next(call, req)
		d := m.now().Sub(start)
		outcome := call.outcome
		switch {
		case outcome != outcomeNone:
		case err != nil && (errors.Is(err, context.Canceled) || ctx.Err() != nil):
			outcome = outcomeCanceled
		case err != nil:
			outcome = outcomeError
		case res != nil && res.IsError:
			outcome = outcomeToolError
		default:
			outcome = outcomeOK
		}
		col.count(m.metrics, name, outcome)
		col.observe(m.metrics, name, d)
		lvl := slog.LevelInfo
		if outcome == outcomeError || outcome == outcomePanic {
			lvl = slog.LevelError
		}
		// LogAttrs with typed attributes: no boxing of each value into an
		// interface, and nothing built when the level is off.
		if m.log.Enabled(ctx, lvl) {
			tier, attempts := routeOf(res)
			m.log.LogAttrs(ctx, lvl, "tool call", slog.String("tool", name), slog.String("profile", profile), slog.String("tier", tier),
				slog.String("attempts", attempts), slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("outcome", outcome.String()))
		}
		return res, err
	}
}

// Drain stops new tool calls (they get a "shutting down" tool error) and
// waits until the calls in flight have finished or ctx ends.
func (m *MCP) Drain(ctx context.Context) error { return m.drain.wait(ctx) }

// InFlight returns the number of tool calls running now.
func (m *MCP) InFlight() int { return m.drain.count() }

// drain counts calls in flight and lets shutdown wait for them.
type drain struct {
	mu      sync.Mutex
	closing bool
	began   chan struct{} // closed once closing; made on first use
	n       int
	idle    chan struct{}
}

// begun returns a channel closed once the drain has begun.
func (d *drain) begun() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.began == nil {
		d.began = make(chan struct{})
		if d.closing {
			close(d.began)
		}
	}
	return d.began
}

func (d *drain) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return false
	}
	d.n++
	return true
}

func (d *drain) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n--
	if d.n == 0 && d.idle != nil {
		close(d.idle)
		d.idle = nil
	}
}

func (d *drain) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

func (d *drain) wait(ctx context.Context) error {
	d.mu.Lock()
	if !d.closing && d.began != nil {
		close(d.began)
	}
	d.closing = true
	if d.n == 0 {
		d.mu.Unlock()
		return nil
	}
	if d.idle == nil {
		d.idle = make(chan struct{})
	}
	ch := d.idle
	d.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d tool call(s) still running at the end of the grace period: %w", d.count(), ctx.Err())
	}
}

// resourceProbe carries the answer of a resources/read that the
// BeforeReadResource hook already produced to the handler mcp-go then calls
// (see probeResource).
type resourceProbe struct {
	contents []mcp.ResourceContents
	err      error
}

// probeKey is the _meta key under which the hook hands the probe to the
// handler. Clients cannot forge it: the handler accepts only a *resourceProbe
// value, which JSON cannot produce.
const probeKey = "zoho-mcp-proxy/probe"

// probeResource returns the BeforeReadResource hook that lets an unknown
// resource answer -32002 (resource not found; -32602 in the 2026-07-28
// revision), as the MCP specification asks. mcp-go turns any error of a
// template handler into -32603 (internal error), so the hook reads a URI
// that matches a template itself: when the handler says not found
// (errors.Is mcpserver.ErrResourceNotFound), it points the request at a URI
// no template matches, which mcp-go answers with the not-found code and the
// handler's explanation; otherwise it hands the answer on to the handler
// through the request's _meta (read once, not twice).
func probeResource(templates []mcpserver.ServerResourceTemplate) func(ctx context.Context, id any, req *mcp.ReadResourceRequest) {
	return func(ctx context.Context, _ any, req *mcp.ReadResourceRequest) {
		for _, t := range templates {
			if t.Template.URITemplate == nil || !t.Template.URITemplate.Regexp().MatchString(req.Params.URI) {
				continue
			}
			probe := *req
			probe.Params.Arguments = map[string]any{}
			for k, v := range t.Template.URITemplate.Match(req.Params.URI) {
				probe.Params.Arguments[k] = v.V
			}
			contents, err := t.Handler(ctx, probe)
			if errors.Is(err, mcpserver.ErrResourceNotFound) {
				// A space matches no URI template.
				req.Params.URI = fmt.Sprintf("%s (%s)", req.Params.URI, err)
				return
			}
			meta := &mcp.Meta{AdditionalFields: map[string]any{}}
			if req.Params.Meta != nil {
				meta.ProgressToken = req.Params.Meta.ProgressToken
				maps.Copy(meta.AdditionalFields, req.Params.Meta.AdditionalFields)
			}
			meta.AdditionalFields[probeKey] = &resourceProbe{contents: contents, err: err}
			req.Params.Meta = meta
			return
		}
	}
}

// probed wraps a template handler to return the answer probeResource already
// got, if any.
func probed(h mcpserver.ResourceTemplateHandlerFunc) mcpserver.ResourceTemplateHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		if m := req.Params.Meta; m != nil {
			if p, ok := m.AdditionalFields[probeKey].(*resourceProbe); ok {
				return p.contents, p.err
			}
		}
		return h(ctx, req)
	}
}
