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
	"runtime/debug"
	"strings"
	"sync"
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
}

// Options configures NewMCP.
type Options struct {
	// Name and Version identify the server to clients. Empty means
	// "zoho-mcp-proxy" and "dev".
	Name, Version string
	// Tools are registered in order.
	Tools []Tool
	// ResourceTemplates are registered as is (e.g. bulk results).
	ResourceTemplates []mcpserver.ServerResourceTemplate
	// Logger receives one line per tool call. Nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the tool-call and HTTP-refusal metrics. Nil means
	// they are not registered.
	Registerer prometheus.Registerer
	// Now is the clock for call durations. Nil means time.Now.
	Now func() time.Time
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
	Server  *mcpserver.MCPServer
	scopes  map[string][]permissions.Scope
	log     *slog.Logger
	now     func() time.Time
	drain   drain
	metrics *callMetrics
}

// callMetrics are the server's Prometheus collectors.
type callMetrics struct {
	// ToolCalls counts tool calls by tool and outcome (ok, tool_error,
	// error, denied, panic, canceled, shutting_down).
	ToolCalls *prometheus.CounterVec
	// ToolDuration observes tool call durations by tool.
	ToolDuration *prometheus.HistogramVec
	// HTTPRefused counts HTTP requests the front door refused, by reason.
	HTTPRefused *prometheus.CounterVec
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
			Help: "HTTP requests refused before reaching MCP, by reason (host, origin, body, auth, busy).",
		}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.ToolCalls, m.ToolDuration, m.HTTPRefused} {
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
	m := &MCP{scopes: map[string][]permissions.Scope{}, log: o.Logger, now: o.Now, metrics: met}
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
	}
	opts := []mcpserver.ServerOption{
		mcpserver.WithToolCapabilities(false),
		// logging/setLevel is answered (clients and the conformance suite
		// send it); the proxy logs to stderr, not to clients.
		mcpserver.WithLogging(),
		mcpserver.WithToolFilter(m.filter),
		// Outermost first: observe (log, count, drain), then refuse out of
		// scope, then recover panics around the handler.
		mcpserver.WithToolHandlerMiddleware(m.observe),
		mcpserver.WithToolHandlerMiddleware(m.enforce),
		mcpserver.WithToolHandlerMiddleware(m.recover),
		mcpserver.WithInstructions("Zoho CRM accounts through a permissioned, failover-capable proxy. " +
			"Read with get_account, get_accounts, search_accounts; change with update_account; " +
			"use the bulk_* tools for many records. Every result's _meta[\"" + tiers.RouteMetaKey + "\"] says which tier served it."),
	}
	if o.ValidateInput {
		opts = append(opts, mcpserver.WithInputSchemaValidation())
	}
	if len(o.ResourceTemplates) > 0 {
		opts = append(opts, mcpserver.WithResourceCapabilities(false, false), mcpserver.WithResourceRecovery())
	}
	s := mcpserver.NewMCPServer(o.Name, o.Version, opts...)
	for _, t := range o.Tools {
		s.AddTool(t.Def, t.Handler)
	}
	if len(o.ResourceTemplates) > 0 {
		s.AddResourceTemplates(o.ResourceTemplates...)
	}
	m.Server = s
	return m, nil
}

// allowed reports whether the caller in ctx may use the tool.
func (m *MCP) allowed(ctx context.Context, tool string) bool {
	sc, ok := m.scopes[tool]
	return ok && permissions.ProfileFrom(ctx).Allows(sc...)
}

// filter is the mcp-go tool filter: on tools/list it gets every tool, on
// tools/call only the called one.
func (m *MCP) filter(ctx context.Context, ts []mcp.Tool) []mcp.Tool {
	out := make([]mcp.Tool, 0, len(ts))
	for _, t := range ts {
		if m.allowed(ctx, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

type outcomeKey struct{}

// enforce refuses a call outside the caller's scopes even if the filter was
// bypassed (belt and braces).
func (m *MCP) enforce(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		name := req.Params.Name
		if !m.allowed(ctx, name) {
			if o, ok := ctx.Value(outcomeKey{}).(*string); ok {
				*o = "denied"
			}
			p := permissions.ProfileFrom(ctx)
			pname := "none"
			if p != nil {
				pname = p.Name
			}
			return mcp.NewToolResultErrorf("tool %s needs scopes %s; profile %q does not have them: ask an operator for a profile that does",
				name, scopeList(m.scopes[name]), pname), nil
		}
		return next(ctx, req)
	}
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
				if o, ok := ctx.Value(outcomeKey{}).(*string); ok {
					*o = "panic"
				}
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
	parts := make([]string, len(r.Attempts))
	for i, a := range r.Attempts {
		parts[i] = string(a.Tier) + ":" + a.Outcome.String()
	}
	return string(r.Tier), strings.Join(parts, ",")
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
		if !m.drain.enter() {
			m.metrics.ToolCalls.WithLabelValues(name, "shutting_down").Inc()
			m.log.Info("tool call", "tool", name, "profile", profile, "outcome", "shutting_down")
			return mcp.NewToolResultError("the proxy is shutting down: retry the call in a few seconds"), nil
		}
		defer m.drain.leave()
		start := m.now()
		outcome := ""
		res, err := next(context.WithValue(ctx, outcomeKey{}, &outcome), req)
		d := m.now().Sub(start)
		switch {
		case outcome != "":
		case err != nil && (errors.Is(err, context.Canceled) || ctx.Err() != nil):
			outcome = "canceled"
		case err != nil:
			outcome = "error"
		case res != nil && res.IsError:
			outcome = "tool_error"
		default:
			outcome = "ok"
		}
		tier, attempts := routeOf(res)
		m.metrics.ToolCalls.WithLabelValues(name, outcome).Inc()
		m.metrics.ToolDuration.WithLabelValues(name).Observe(d.Seconds())
		lvl := slog.LevelInfo
		if outcome == "error" || outcome == "panic" {
			lvl = slog.LevelError
		}
		m.log.Log(ctx, lvl, "tool call", "tool", name, "profile", profile, "tier", tier, "attempts", attempts,
			"duration_ms", float64(d.Microseconds())/1000, "outcome", outcome)
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
