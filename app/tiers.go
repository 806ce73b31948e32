package app

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/bulk"
	tiermcp "github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/mcp"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/rest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// newCreditsGauge is the gauge of the credits Zoho says remain: the tiers
// report X-API-CREDITS-REMAINING to it as they read answers.
func newCreditsGauge() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "zoho_mcp_proxy_zoho_api_credits_remaining",
		Help: "Zoho API credits remaining, as last reported by Zoho (X-API-CREDITS-REMAINING), by tier.",
	}, []string{"tier"})
}

// creditsTo returns the OnCredits callback of tier t: it sets t's child of
// g. The child is made on Zoho's first report, not before: a child made
// early would export 0 credits left for a tier Zoho has said nothing to
// (Zoho sends the header only once half the day's credits are spent).
func creditsTo(g *prometheus.GaugeVec) func(t tiers.Name) func(remaining int) {
	return func(t tiers.Name) func(int) {
		return func(n int) { g.WithLabelValues(string(t)).Set(float64(n)) }
	}
}

// newTiers constructs the three tiers from cfg. Each tier labels its own log
// lines with "tier" (adding it here too would repeat the key). onCredits
// gives each Zoho tier the callback that receives Zoho's
// X-API-CREDITS-REMAINING. sh, when not nil, is the state replicas share
// through Redis: the governors and the Zoho tiers' access tokens.
func newTiers(cfg *config.Config, log *slog.Logger, now func() time.Time, onCredits func(tiers.Name) func(int), sh *shared) []tiers.Tier {
	cacheDir := cacheDirOf(cfg)
	// One governor for the org, shared by every tier and tool call: Zoho
	// counts the org's API calls in flight together (reference §9.3), and
	// tier 1's tool calls run API calls on the org too. heavy bounds Zoho's
	// sub-concurrency group within it. With Redis they are shared by all
	// replicas (cluster.SharedGovernor).
	gov, heavy := sh.governors(cfg)
	// The accounts server the credentials belong to, which names them in
	// Redis.
	var accounts string
	if dc, err := zoho.DC(cfg.Zoho.DC); err == nil {
		accounts = dc.WithOverrides(cfg.Zoho.AccountsURL, cfg.Zoho.APIDomain, cfg.Zoho.ContentURL).AccountsURL
	}
	m := cfg.Tiers.MCP
	t1 := tiermcp.New(tiermcp.Config{
		Endpoint:     m.Endpoint.Reveal(),
		ClientID:     m.ClientID,
		ClientSecret: m.ClientSecret.Reveal(),
		CacheDir:     cacheDir,
		Timeout:      m.Timeout,
		MaxRetries:   m.MaxRetries,
		Logger:       log, // the tier adds "tier" itself
		Now:          now,
		Governor:     gov, HeavyGovernor: heavy,
	})
	// The Zoho tiers' clients share everything but their tier, credential
	// and settings.
	zohoConfig := func(t tiers.Name, cred zoho.Credential, s config.TierSettings) zoho.Config {
		return zoho.Config{
			Tier: t, Credential: cred,
			DC: cfg.Zoho.DC, AccountsURL: cfg.Zoho.AccountsURL, APIDomain: cfg.Zoho.APIDomain,
			ContentURL: cfg.Zoho.ContentURL, OrgID: cfg.Zoho.OrgID,
			Timeout: s.Timeout, MaxRetries: s.MaxRetries,
			Now: now, Logger: log, // the tier adds "tier" itself
			CacheDir: cacheDir, OnCredits: onCredits(t),
			Governor: gov, HeavyGovernor: heavy,
			SharedTokens: sh.tokensFor(t, accounts, cred),
		}
	}
	k := cfg.Tiers.Bulk
	var bulkClient *zoho.Client
	if cfg.BulkConfigured() {
		zc, err := zoho.New(zohoConfig(tiers.Bulk,
			zoho.Credential{ClientID: k.ClientID, ClientSecret: k.ClientSecret.Reveal(), RefreshToken: k.RefreshToken.Reveal()},
			k.TierSettings))
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
	t3 := rest.New(rest.Config{Config: zohoConfig(tiers.REST,
		zoho.Credential{ClientID: r.ClientID, ClientSecret: r.ClientSecret.Reveal(),
			RefreshToken: r.RefreshToken.Reveal(), AccessToken: r.AccessToken.Reveal()},
		r.TierSettings)})
	return []tiers.Tier{t1, t2, t3}
}

// cacheDirOf is the token cache directory of cfg, for every tier: "-"
// (none) in sandbox mode, so that emulator tokens and the real ones never
// mix.
func cacheDirOf(cfg *config.Config) string {
	if cfg.Sandbox {
		return "-"
	}
	return cfg.CacheDir
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
