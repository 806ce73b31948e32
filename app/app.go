// Package app wires the proxy together: from one validated config.Config it
// builds the three tiers, the router over them, the tools, the MCP server,
// the store of bulk results, the operator status page and the one
// Prometheus registry they all report to, and serves the result over the
// transports of package server. It is the only package that knows every
// layer; cmd, demo and loadtest call Build and nothing else below it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/metadata"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/status"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
)

// Options are what Build needs besides the Config.
type Options struct {
	// Policy is the permissions policy. Nil means permissions.Default().
	Policy *permissions.Policy
	// Logger receives every log line. Nil means slog.Default().
	Logger *slog.Logger
	// Version is reported to MCP clients. Empty means "dev".
	Version string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// TempDir holds large bulk results while they are served, in a
	// directory per process (locked while it lives; the directories of
	// processes that are gone are removed at start). Empty means
	// os.TempDir().
	TempDir string
	// Status tunes the status page (sampling interval, history kept, event
	// streams). The zero value is the page's defaults; a nil Logger means
	// Logger.
	Status status.Options
}

// App is the wired proxy: tiers, router, tools and the MCP server, with one
// Prometheus registry for all of them.
type App struct {
	// Config is the configuration the app was built from.
	Config *config.Config
	// Policy authenticates HTTP callers and gives profiles.
	Policy *permissions.Policy
	// Tiers are MCP, BULK and REST, configured or not.
	Tiers []tiers.Tier
	// Router routes every tool call over Tiers.
	Router *router.Router
	// MCP is the MCP server with the nine tools.
	MCP *server.MCP
	// Registry holds every metric (Go runtime, process, router, tools, Zoho
	// credits); /metrics exposes it.
	Registry *prometheus.Registry
	// Results keeps the bulk tools' large results and job handles, each
	// bound to the caller that made it, served as MCP resources: in Redis
	// when Config.Redis is set (every replica serves every result), else in
	// files of this process. Nil when the temp directory could not be used
	// and there is no Redis (bulk results are then refused).
	Results tools.ResultStore
	// Status is the operator status page, served at / by the HTTP
	// transport. It samples Router and Registry from Build until Close.
	Status *status.Page
	// Metadata is the org's module metadata, read through Router.
	Metadata *metadata.Cache
	// Cluster is the connection to the Redis that replicas share state
	// through (tokens, breakers, governor, credits); nil when Redis is not
	// configured.
	Cluster *cluster.Client
	shared  *shared
	closers []func() error
	log     *slog.Logger

	transport atomic.Pointer[server.HTTP] // the latest HTTP(), for the session count
}

// Build wires the proxy from a validated cfg: tiers (reporting Zoho's credits
// to the registry), router (with failover, breakers and the call deadline of
// cfg), the nine tools, the MCP server and the status page, whose sampling
// runs until Close.
func Build(cfg *config.Config, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Policy == nil {
		o.Policy = permissions.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	reg := prometheus.NewRegistry()
	credits := newCreditsGauge()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), credits)

	sh, err := newShared(cfg, o.Logger, o.Now)
	if err != nil {
		return nil, fmt.Errorf("shared state (Redis): %w", err)
	}
	if sh != nil {
		reg.MustRegister(newSharedCredits(sh))
	}
	ts := newTiers(cfg, o.Logger, o.Now, sh.onCredits(creditsTo(credits)), sh)
	rt, err := router.New(router.Config{
		Tiers:            routerTiers(cfg, ts),
		Failover:         cfg.Failover,
		BreakerThreshold: cfg.BreakerThreshold,
		BreakerTimeout:   cfg.BreakerTimeout,
		CallTimeout:      cfg.CallTimeout,
		BulkTimeout:      cfg.BulkTimeout,
		NewBreaker:       sh.newBreaker(),
		Now:              o.Now,
		Logger:           o.Logger,
		Registerer:       reg,
	}, ts...)
	if err != nil {
		_ = sh.close()
		return nil, fmt.Errorf("router: %w", err)
	}
	a := &App{Config: cfg, Policy: o.Policy, Tiers: ts, Router: rt, Registry: reg, log: o.Logger, shared: sh}
	if sh != nil {
		a.Cluster = sh.client
		a.closers = append(a.closers, sh.close)
	}
	a.Metadata = metadata.New(metadata.Config{TTL: cfg.MetadataTTL, Now: o.Now, Fetch: metadataFetch(rt)})
	sopts := server.Options{Version: o.Version, Logger: o.Logger, Registerer: reg, Now: o.Now}
	store, err := a.resultStore(cfg, o) // app/cluster_results.go: Redis when configured
	if err != nil {
		o.Logger.Warn("bulk results cannot be kept: larger bulk reads will be refused", "error", err.Error())
	} else {
		a.Results = store
		tmpl, read := tools.ResourceTemplate(store)
		sopts.ResourceTemplates = []mcpserver.ServerResourceTemplate{{Template: tmpl, Handler: read}}
		sopts.ListResources = tools.ListResources(store)
	}
	text := tools.TextFull
	if cfg.ResultText == config.ResultTextSummary {
		text = tools.TextSummary
	}
	all := tools.All(tools.Deps{Router: rt, Logger: o.Logger, InlineLimit: cfg.InlineBulkLimit, Bulk: a.Results, Now: o.Now, Metadata: a.Metadata, Text: text})
	off, err := tools.Selection{Toolsets: cfg.Toolsets, Tools: cfg.Tools, ReadOnly: cfg.ReadOnly}.Disabled(all)
	if err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("--toolsets / --tools (%s, %s): %w", config.EnvToolsets, config.EnvTools, err)
	}
	var enabled []string
	for _, t := range all {
		sopts.Tools = append(sopts.Tools, server.Tool{Def: t.Def, Scopes: t.Scopes, Handler: t.Handler, Modules: t.Modules, Disabled: off[t.Def.Name]})
		if off[t.Def.Name] == "" {
			enabled = append(enabled, t.Def.Name)
		}
	}
	for _, p := range tools.Prompts() {
		sopts.Prompts = append(sopts.Prompts, server.Prompt{Def: p.Def, Handler: p.Handler, Tools: p.Tools, Modules: p.Modules})
	}
	sopts.Instructions = instructions(enabled)
	if a.MCP, err = server.NewMCP(sopts); err != nil {
		_ = a.Close()
		return nil, err
	}
	so := o.Status
	if so.Logger == nil {
		so.Logger = o.Logger
	}
	if a.Status, err = status.New(status.Proxy{Router: rt, Metrics: reg, Sessions: a.sessions}, so); err != nil {
		_ = a.Close()
		return nil, err
	}
	// The first sample now, so that the page shows the tiers from the first
	// request on, not once the goroutine below has run.
	a.Status.Sample()
	ctx, stop := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() { defer close(ended); _ = a.Status.Run(ctx) }()
	// Stop sampling first: Close runs closers in order.
	a.closers = append([]func() error{func() error { stop(); <-ended; return nil }}, a.closers...)
	return a, nil
}

// metadataFetch reads metadata through the router, like any call of an
// agent (tier 1 first), as a read.
func metadataFetch(rt *router.Router) metadata.Fetch {
	return func(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
		md, _, err := rt.Metadata(ctx, router.RoutingContext{OperationType: tiers.OpMetadata, AgentContext: true, Tools: []string{"read"}}, req)
		return md, err
	}
}

// instructions are the server's instructions to clients, naming the tools
// the server has enabled.
func instructions(enabled []string) string {
	has := func(n string) bool { return slices.Contains(enabled, n) }
	var b strings.Builder
	b.WriteString("Zoho CRM through a permissioned, failover-capable proxy.")
	if has("describe_module") {
		b.WriteString(" describe_module lists the modules and a module's fields, types, required fields and picklist values: call it before writing;" +
			" get_record, get_records, search_records and get_related_records read any module, create_records and update_records write (when enabled);" +
			" bulk_read_records and bulk_update_records work on thousands of records.")
	}
	if has("get_account") {
		b.WriteString(" The *_account(s) tools work on Accounts; use the bulk_* tools for many records.")
	}
	if has("update_records") || has("update_account") || has("create_records") {
		b.WriteString(" A write result of OUTCOME_UNKNOWN means read the record back before sending it again.")
	}
	b.WriteString(" Every result's _meta[\"" + tiers.RouteMetaKey + "\"] says which tier served it.")
	return b.String()
}

// sessions is the status page's session count: the open MCP sessions of the
// HTTP transport, or -1 (unknown) before there is one.
func (a *App) sessions() int {
	if h := a.transport.Load(); h != nil {
		return h.ActiveSessions()
	}
	return -1
}

// Close stops the status page's sampling and releases what Build made (bulk
// result files).
func (a *App) Close() error {
	var errs []error
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// ServeStdio serves the app over stdio for one caller with profile.
func (a *App) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, profile *permissions.Profile) error {
	return server.ServeStdio(ctx, a.MCP, server.StdioOptions{Profile: profile, In: in, Out: out, ShutdownGrace: a.Config.HTTP.ShutdownGrace, Logger: a.log})
}

// HTTP returns the app's HTTP transport configured from the Config, with
// the status page at /.
func (a *App) HTTP() *server.HTTP {
	h := a.Config.HTTP
	t := server.NewHTTP(server.HTTPOptions{
		MCP: a.MCP,
		Security: server.Security{
			AllowedHosts: h.AllowedHosts, AllowedOrigins: h.AllowedOrigins,
			BodyLimit: h.BodyLimit, MaxInFlight: h.MaxInFlight, Policy: a.Policy,
			MaxInFlightPerCaller: h.MaxInFlightPerCaller, BodyReadTimeout: h.BodyReadTimeout,
		},
		Ready:             a.Router.Ready,
		Health:            func() any { return a.Router.Health() },
		SharedState:       a.sharedState(),
		Gatherer:          a.Registry,
		ReadHeaderTimeout: h.ReadHeaderTimeout, ReadTimeout: h.ReadTimeout, IdleTimeout: h.IdleTimeout,
		ShutdownGrace:  h.ShutdownGrace,
		SessionIdleTTL: h.SessionIdleTTL, MaxSessions: h.MaxSessions, MaxSessionsPerCaller: h.MaxSessionsPerCaller,
		StreamIdleTimeout: h.StreamIdleTimeout, StreamHeartbeat: h.StreamHeartbeat,
		StatusPage: a.Status,
		Logger:     a.log,
	})
	a.transport.Store(t)
	return t
}

// sharedState is the /readyz detail of the state replicas share; nil
// without Redis.
func (a *App) sharedState() func(context.Context) any {
	if a.shared == nil {
		return nil
	}
	return func(ctx context.Context) any { return a.shared.state(ctx) }
}

// ServeHTTP serves the app on ln until ctx ends, then shuts down gracefully.
// It refuses a non-loopback listener when the policy has no tokens.
func (a *App) ServeHTTP(ctx context.Context, ln net.Listener) error {
	if err := server.CheckBind(ln.Addr().String(), a.Policy); err != nil {
		return err
	}
	return a.HTTP().Serve(ctx, ln)
}
