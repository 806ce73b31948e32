package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/bulk"
	tiermcp "github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/mcp"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/rest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
)

// BuildOptions are what Build needs besides the Config.
type BuildOptions struct {
	// Policy is the permissions policy. Nil means permissions.Default().
	Policy *permissions.Policy
	// Logger receives every log line. Nil means slog.Default().
	Logger *slog.Logger
	// Version is reported to MCP clients. Empty means "dev".
	Version string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// TempDir holds large bulk-read results while they are served. Empty
	// means os.TempDir().
	TempDir string
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
	MCP *MCP
	// Registry holds every metric (Go runtime, process, router, tools);
	// /metrics exposes it.
	Registry *prometheus.Registry
	// Results keeps large bulk_read results, served as MCP resources.
	Results *tools.BulkResults
	log     *slog.Logger
}

// retries maps a config max_retries (0 = none) to the tiers' convention
// (0 = default, negative = none).
func retries(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// NewTiers constructs the three tiers from cfg. Each tier labels its own
// log lines with "tier" (adding it here too would repeat the key). onCredits
// receives Zoho's X-API-CREDITS-REMAINING per tier; nil ignores it.
func NewTiers(cfg *config.Config, log *slog.Logger, now func() time.Time, onCredits func(tier string, remaining int)) []tiers.Tier {
	if onCredits == nil {
		onCredits = func(string, int) {}
	}
	cacheDir := ""
	if cfg.Sandbox {
		cacheDir = "-" // never mix emulator tokens into the real token cache
	}
	accounts := cfg.Zoho.AccountsURL
	if accounts == "" {
		if dc, err := zoho.DC(cfg.Zoho.DC); err == nil {
			accounts = dc.AccountsURL
		}
	}
	m := cfg.Tiers.MCP
	t1 := tiermcp.New(tiermcp.Config{
		Endpoint:     m.Endpoint.Reveal(),
		ClientID:     m.ClientID,
		ClientSecret: m.ClientSecret.Reveal(),
		AccountsURL:  accounts,
		Timeout:      m.Timeout,
		MaxRetries:   retries(m.MaxRetries),
		Logger:       log, // the tier adds "tier" itself
		Now:          now,
	})
	k := cfg.Tiers.Bulk
	var bulkClient *zoho.Client
	if cfg.BulkConfigured() {
		zc, err := zoho.New(zoho.Config{
			Tier:       tiers.Bulk,
			Credential: zoho.Credential{ClientID: k.ClientID, ClientSecret: k.ClientSecret.Reveal(), RefreshToken: k.RefreshToken.Reveal()},
			DC:         cfg.Zoho.DC, AccountsURL: cfg.Zoho.AccountsURL, APIDomain: cfg.Zoho.APIDomain,
			ContentURL: cfg.Zoho.ContentURL, OrgID: cfg.Zoho.OrgID,
			Timeout:    k.Timeout,
			MaxRetries: retries(k.MaxRetries),
			Now:        now,
			Logger:     log, // the tier adds "tier" itself
			CacheDir:   cacheDir,
			OnCredits:  func(n int) { onCredits(string(tiers.Bulk), n) },
		})
		if err != nil {
			// Validate catches bad DCs and URLs first; a tier left
			// unconfigured here is reported by check and /readyz.
			log.Warn("tier BULK not configured", "error", err.Error())
		} else {
			bulkClient = zc
		}
	}
	t2 := bulk.New(bulk.Config{Client: bulkClient, Now: now, Logger: log})
	r := cfg.Tiers.REST
	t3 := rest.New(rest.Config{
		Credential: zoho.Credential{ClientID: r.ClientID, ClientSecret: r.ClientSecret.Reveal(),
			RefreshToken: r.RefreshToken.Reveal(), AccessToken: r.AccessToken.Reveal()},
		DC: cfg.Zoho.DC, AccountsURL: cfg.Zoho.AccountsURL, APIDomain: cfg.Zoho.APIDomain,
		ContentURL: cfg.Zoho.ContentURL, OrgID: cfg.Zoho.OrgID,
		Timeout:    r.Timeout,
		MaxRetries: retries(r.MaxRetries),
		Logger:     log, // the tier adds "tier" itself
		Now:        now,
		CacheDir:   cacheDir,
		OnCredits:  func(n int) { onCredits(string(tiers.REST), n) },
	})
	return []tiers.Tier{t1, t2, t3}
}

// routerTiers maps the config's per-tier settings to the router's.
func routerTiers(cfg *config.Config, ts []tiers.Tier) []router.TierConfig {
	set := map[tiers.Name]config.TierSettings{
		tiers.MCP: cfg.Tiers.MCP.TierSettings, tiers.Bulk: cfg.Tiers.Bulk.TierSettings, tiers.REST: cfg.Tiers.REST.TierSettings,
	}
	out := make([]router.TierConfig, 0, len(ts))
	for _, t := range ts {
		s := set[t.Name()]
		out = append(out, router.TierConfig{Name: t.Name(), Enabled: s.Enabled, Priority: s.Priority, Timeout: s.Timeout, MaxRetries: s.MaxRetries})
	}
	return out
}

// Build wires the proxy from a validated cfg: tiers, router (with failover,
// breakers and the call deadline of cfg), the nine tools and the MCP server.
func Build(cfg *config.Config, o BuildOptions) (*App, error) {
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
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var mcpRef atomic.Pointer[MCP]
	onCredits := func(tier string, n int) {
		if m := mcpRef.Load(); m != nil {
			m.CreditsHook()(tier, n)
		}
	}
	ts := NewTiers(cfg, o.Logger, o.Now, onCredits)
	rt, err := router.New(router.Config{
		Tiers:            routerTiers(cfg, ts),
		Failover:         cfg.Failover,
		BreakerThreshold: cfg.BreakerThreshold,
		BreakerTimeout:   cfg.BreakerTimeout,
		CallTimeout:      cfg.CallTimeout,
		Now:              o.Now,
		Logger:           o.Logger,
		Registerer:       reg,
	}, ts...)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	results := tools.NewBulkResults(o.TempDir, 0, o.Now)
	all := tools.All(tools.Deps{Router: rt, Logger: o.Logger, InlineLimit: cfg.InlineBulkLimit, Bulk: results, Now: o.Now})
	st := make([]Tool, len(all))
	for i, t := range all {
		st[i] = Tool(t)
	}
	tmpl, read := results.ResourceTemplate()
	m, err := NewMCP(Options{Version: o.Version, Tools: st, Logger: o.Logger, Registerer: reg, Now: o.Now,
		ResourceTemplates: []mcpserver.ServerResourceTemplate{{Template: tmpl, Handler: read}}})
	if err != nil {
		_ = results.Close()
		return nil, err
	}
	mcpRef.Store(m)
	return &App{Config: cfg, Policy: o.Policy, Tiers: ts, Router: rt, MCP: m, Registry: reg, Results: results, log: o.Logger}, nil
}

// Close releases what Build made (bulk result files).
func (a *App) Close() error {
	return a.Results.Close()
}

// ServeStdio serves the app over stdio for one caller with profile.
func (a *App) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, profile *permissions.Profile) error {
	return ServeStdio(ctx, a.MCP, StdioOptions{Profile: profile, In: in, Out: out, ShutdownGrace: a.Config.HTTP.ShutdownGrace, Logger: a.log})
}

// HTTP returns the app's HTTP transport configured from the Config.
func (a *App) HTTP() *HTTP {
	h := a.Config.HTTP
	return NewHTTP(HTTPOptions{
		MCP: a.MCP,
		Security: Security{
			AllowedHosts: h.AllowedHosts, AllowedOrigins: h.AllowedOrigins,
			BodyLimit: h.BodyLimit, MaxInFlight: h.MaxInFlight, Policy: a.Policy,
			MaxInFlightPerCaller: h.MaxInFlightPerCaller, BodyReadTimeout: h.BodyReadTimeout,
		},
		Ready:             a.Router.Ready,
		Health:            func() any { return a.Router.Health() },
		Gatherer:          a.Registry,
		ReadHeaderTimeout: h.ReadHeaderTimeout, ReadTimeout: h.ReadTimeout, IdleTimeout: h.IdleTimeout,
		ShutdownGrace:  h.ShutdownGrace,
		SessionIdleTTL: h.SessionIdleTTL, MaxSessions: h.MaxSessions, MaxSessionsPerCaller: h.MaxSessionsPerCaller,
		StreamIdleTimeout: h.StreamIdleTimeout, StreamHeartbeat: h.StreamHeartbeat,
		Logger: a.log,
	})
}

// ServeHTTP serves the app on ln until ctx ends, then shuts down gracefully.
// It refuses a non-loopback listener when the policy has no tokens.
func (a *App) ServeHTTP(ctx context.Context, ln net.Listener) error {
	if err := CheckBind(ln.Addr().String(), a.Policy); err != nil {
		return err
	}
	return a.HTTP().Serve(ctx, ln)
}

// Probe checks every enabled, configured tier with timeout and returns one
// finding per tier.
func (a *App) Probe(ctx context.Context, timeout time.Duration) []config.Finding {
	enabled := map[tiers.Name]bool{}
	for _, tc := range routerTiers(a.Config, a.Tiers) {
		enabled[tc.Name] = tc.Enabled
	}
	// Probe the tiers concurrently: check should take one probe timeout at
	// most, not one per tier.
	fs := make([]config.Finding, len(a.Tiers))
	var wg sync.WaitGroup
	for i, t := range a.Tiers {
		subject := "probe " + string(t.Name())
		switch {
		case !enabled[t.Name()]:
			continue
		case !t.Configured():
			fs[i] = config.Finding{Level: config.LevelWarn, Subject: subject, Message: "skipped: tier not configured"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			if err := t.Probe(pctx); err != nil {
				fs[i] = config.Finding{Level: config.LevelError, Subject: subject,
					Message: "cannot reach Zoho: " + err.Error() + " (check the tier's credentials, ZOHO_DC and the URL overrides)"}
				return
			}
			fs[i] = config.Finding{Level: config.LevelOK, Subject: subject, Message: fmt.Sprintf("reachable (%d ms)", time.Since(start).Milliseconds())}
		}()
	}
	wg.Wait()
	out := fs[:0]
	for _, f := range fs {
		if f.Level != "" {
			out = append(out, f)
		}
	}
	return out
}
