package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// ProblemsError lists every problem found in a configuration. Each entry says
// what to change.
type ProblemsError struct {
	Problems []string
}

// Error joins the problems, one per line.
func (e *ProblemsError) Error() string {
	if len(e.Problems) == 1 {
		return "configuration problem: " + e.Problems[0]
	}
	return fmt.Sprintf("%d configuration problems:\n  - %s", len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// MaxConcurrencyLimit is the largest ZOHO_CONCURRENCY_LIMIT: the limit of
// Zoho's largest edition (Ultimate, 25 calls at once).
const MaxConcurrencyLimit = 25

// Validate checks the whole configuration and returns a *ProblemsError
// listing every problem at once, or nil. A tier without credentials is not a
// problem (it is reported by Findings as not configured); half-given
// credentials are.
func (c *Config) Validate() error {
	p := append([]string(nil), c.problems...)
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	switch c.Transport {
	case "stdio", "http":
	default:
		add("transport %q is unknown: use --transport stdio or --transport http", c.Transport)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		add("log level %q is unknown: use --log-level (or %s) debug, info, warn or error", c.LogLevel, EnvLogLevel)
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		add("log format %q is unknown: use --log-format auto, text or json", c.LogFormat)
	}
	if c.Transport == "http" || c.Addr != DefaultAddr {
		if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
			add("listen address %q is not host:port: use --addr (or %s) like 127.0.0.1:8765", c.Addr, EnvAddr)
		}
	}
	if n := c.Zoho.ConcurrencyLimit; n < 1 || n > MaxConcurrencyLimit {
		add("%s=%d (zoho.concurrency_limit) is out of range: set it to 1–%d, your edition's limit of API calls at once (Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate 25)",
			EnvConcurrencyLimit, n, MaxConcurrencyLimit)
	}
	if !c.Sandbox {
		if dcs := zoho.DCNames(); !slices.Contains(dcs, c.Zoho.DC) {
			add("%s=%q is not a Zoho data centre: use one of %s", EnvDC, c.Zoho.DC, strings.Join(dcs, ", "))
		}
		for _, u := range []struct{ name, val string }{
			{EnvAccountsURL, c.Zoho.AccountsURL}, {EnvAPIDomain, c.Zoho.APIDomain}, {EnvContentURL, c.Zoho.ContentURL},
		} {
			if u.val != "" && !isHTTPURL(u.val) {
				add("%s=%q is not an http(s) URL: give e.g. https://www.zohoapis.com or unset it", u.name, u.val)
			}
		}
		if e := c.Tiers.MCP.Endpoint.Reveal(); e != "" && !isHTTPURL(e) {
			// Never echo the value: it holds the endpoint key.
			add("%s is not an http(s) URL: copy the full endpoint URL from Zoho's MCP console", EnvMCPEndpoint)
		}
		if c.Zoho.OrgID != "" && !allDigits(c.Zoho.OrgID) {
			add("%s=%q is not a zgid (digits only): copy it from Setup > Company Details or unset it", EnvOrgID, c.Zoho.OrgID)
		}
		m := c.Tiers.MCP
		if m.ClientID == "" && m.ClientSecret.IsSet() {
			// A client id alone is a public client; a secret alone is a mistake.
			add("%s is set without %s: set the id of the OAuth client registered for your MCP server too, or unset both to let `zoho-mcp-proxy login` register one", EnvMCPClientSecret, EnvMCPClientID)
		}
		if miss := missing(c.Tiers.Bulk.Credentials, EnvBulkClientID, EnvBulkClientSecret, EnvBulkRefreshToken); len(miss) > 0 {
			add("tier BULK credentials are incomplete: set %s (or the shared ZOHO_CLIENT_* / ZOHO_REFRESH_TOKEN)", strings.Join(miss, ", "))
		}
		r := c.Tiers.REST
		if !r.AccessToken.IsSet() {
			if miss := missing(r.Credentials, EnvRESTClientID, EnvRESTClientSecret, EnvRESTRefreshToken); len(miss) > 0 {
				add("tier REST credentials are incomplete: set %s (or the shared ZOHO_CLIENT_* / ZOHO_REFRESH_TOKEN), or %s", strings.Join(miss, ", "), EnvRESTAccessToken)
			}
		}
	}

	tiers := []struct {
		name string
		s    TierSettings
	}{{"mcp", c.Tiers.MCP.TierSettings}, {"bulk", c.Tiers.Bulk.TierSettings}, {"rest", c.Tiers.REST.TierSettings}}
	enabled := 0
	prio := map[int]string{}
	for _, t := range tiers {
		if t.s.Enabled {
			enabled++
		}
		if t.s.Timeout <= 0 {
			add("tiers.%s.timeout must be positive: set it to e.g. 30s", t.name)
		}
		if t.s.MaxRetries < 0 || t.s.MaxRetries > 10 {
			add("tiers.%s.max_retries=%d is out of range: use 0–10", t.name, t.s.MaxRetries)
		}
		if t.s.Priority < 1 {
			add("tiers.%s.priority=%d must be 1 or more", t.name, t.s.Priority)
		} else if other, dup := prio[t.s.Priority]; dup {
			add("tiers.%s and tiers.%s share priority %d: give each tier its own", other, t.name, t.s.Priority)
		} else {
			prio[t.s.Priority] = t.name
		}
	}
	if enabled == 0 {
		add("every tier is disabled: set at least one of %s, %s, %s to true", EnvEnableMCP, EnvEnableBulk, EnvEnableREST)
	} else if !c.Sandbox && !(c.Tiers.MCP.Enabled && c.MCPConfigured() || c.Tiers.Bulk.Enabled && c.BulkConfigured() || c.Tiers.REST.Enabled && c.RESTConfigured()) {
		add("no enabled tier is configured, so no tool call could be served: set %s, %s and %s (tiers BULK and REST) and/or %s (tier MCP), or run with --sandbox to use the built-in emulator", EnvClientID, EnvClientSecret, EnvRefreshToken, EnvMCPEndpoint)
	}
	if c.BreakerThreshold == 0 {
		add("circuit_breaker_threshold must be at least 1 (%s)", EnvBreakerThreshold)
	}
	if c.BreakerTimeout <= 0 {
		add("circuit_breaker_timeout must be positive (%s)", EnvBreakerTimeout)
	}
	if c.CallTimeout <= 0 {
		add("call_timeout must be positive: set it to e.g. 30s")
	}
	if c.MetadataTTL <= 0 {
		add("metadata_ttl must be positive: set it (or %s) to e.g. 10m", EnvMetadataTTL)
	}
	switch c.ResultText {
	case ResultTextFull, ResultTextSummary:
	default:
		add("result_text %q is unknown: set result_text (or --result-text, %s) to %s (a result's text is its summary line and the result as JSON) or %s (the summary line only)",
			c.ResultText, EnvResultText, ResultTextFull, ResultTextSummary)
	}
	if c.InlineBulkLimit < 1 || c.InlineBulkLimit > 10000 {
		add("bulk_inline_limit=%d is out of range: use 1–10000", c.InlineBulkLimit)
	}
	if c.BulkTimeout < c.CallTimeout && c.CallTimeout > 0 {
		add("bulk_timeout=%s is shorter than call_timeout=%s: a bulk call gets the longer deadline; set it (or %s, --bulk-timeout) to at least call_timeout, e.g. 10m", c.BulkTimeout, c.CallTimeout, EnvBulkTimeout)
	}
	if c.BulkResultMaxBytes < 1<<20 {
		add("bulk_result_max_bytes=%d is too small: use at least 1048576 (1 MiB; default 256 MiB, %s)", c.BulkResultMaxBytes, EnvBulkResultMaxBytes)
	}
	h := c.HTTP
	if h.BodyLimit < 1024 {
		add("http.body_limit=%d is too small: use at least 1024 bytes (default 1048576)", h.BodyLimit)
	}
	if h.MaxInFlight < 1 {
		add("http.max_in_flight must be at least 1")
	}
	for _, d := range []struct {
		name string
		v    int64
	}{{"read_header_timeout", int64(h.ReadHeaderTimeout)}, {"read_timeout", int64(h.ReadTimeout)}, {"idle_timeout", int64(h.IdleTimeout)}, {"shutdown_grace", int64(h.ShutdownGrace)},
		{"body_read_timeout", int64(h.BodyReadTimeout)}, {"stream_idle_timeout", int64(h.StreamIdleTimeout)}, {"stream_heartbeat", int64(h.StreamHeartbeat)}} {
		if d.v <= 0 {
			add("http.%s must be positive", d.name)
		}
	}
	if h.SessionIdleTTL <= 0 {
		add("http.session_idle_ttl must be positive: set it (or %s, --session-idle-ttl) to e.g. 30m", EnvSessionIdleTTL)
	}
	if h.MaxInFlightPerCaller < 0 || h.MaxInFlightPerCaller > h.MaxInFlight && h.MaxInFlight >= 1 {
		add("http.max_in_flight_per_caller=%d is out of range: use 1–%d (http.max_in_flight), or 0 for a quarter of it", h.MaxInFlightPerCaller, h.MaxInFlight)
	}
	if h.MaxSessions < 1 {
		add("http.max_sessions must be at least 1 (default %d)", DefaultMaxSessions)
	}
	if h.MaxSessionsPerCaller < 1 || h.MaxSessionsPerCaller > h.MaxSessions && h.MaxSessions >= 1 {
		add("http.max_sessions_per_caller=%d is out of range: use 1–%d (http.max_sessions)", h.MaxSessionsPerCaller, h.MaxSessions)
	}
	for _, o := range h.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			add("http.allowed_origins entry %q is not an origin: write scheme://host[:port]", o)
		}
	}
	p = append(p, c.Redis.problems()...)
	if len(p) == 0 {
		return nil
	}
	return &ProblemsError{Problems: p}
}

// missing names the credential values not present, when some but not all
// are (all absent means "not configured", which is not a problem).
func missing(c Credentials, idName, secretName, tokenName string) []string {
	if c.empty() || c.Complete() {
		return nil
	}
	var m []string
	if c.ClientID == "" {
		m = append(m, idName)
	}
	if !c.ClientSecret.IsSet() {
		m = append(m, secretName)
	}
	if !c.RefreshToken.IsSet() {
		m = append(m, tokenName)
	}
	return m
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Level is the severity of a Finding.
type Level string

// Finding levels.
const (
	LevelOK    Level = "ok"
	LevelWarn  Level = "warn"
	LevelError Level = "error"
)

// Finding is one line of `check` output.
type Finding struct {
	Level   Level
	Subject string // e.g. "config", "tier MCP"
	Message string // what was found and, if not ok, what to change
}

// String renders "level subject: message".
func (f Finding) String() string { return fmt.Sprintf("%-5s %s: %s", f.Level, f.Subject, f.Message) }

// Findings lists what `check` reports about the configuration itself: each
// validation problem as an error, and per tier whether it is enabled and
// configured. Tier probes are added by the caller.
func (c *Config) Findings() []Finding {
	var fs []Finding
	if err := c.Validate(); err != nil {
		for _, p := range err.(*ProblemsError).Problems {
			fs = append(fs, Finding{LevelError, "config", p})
		}
	} else {
		src := "defaults and environment"
		if c.ConfigFile != "" {
			src = c.ConfigFile + ", environment and defaults"
		}
		fs = append(fs, Finding{LevelOK, "config", "valid (from " + src + ")"})
	}
	tier := func(name string, enabled, ok bool, hint string) {
		switch {
		case !enabled:
			fs = append(fs, Finding{LevelOK, "tier " + name, "disabled"})
		case !ok:
			fs = append(fs, Finding{LevelWarn, "tier " + name, "not configured (skipped by the router): " + hint})
		default:
			fs = append(fs, Finding{LevelOK, "tier " + name, "configured"})
		}
	}
	if c.Sandbox {
		return append(fs, Finding{LevelOK, "tiers", "sandbox: every tier points at the built-in emulator"})
	}
	tier("MCP", c.Tiers.MCP.Enabled, c.MCPConfigured(), "set "+EnvMCPEndpoint)
	tier("BULK", c.Tiers.Bulk.Enabled, c.BulkConfigured(), "set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN (or the ZOHO_BULK_* overrides)")
	tier("REST", c.Tiers.REST.Enabled, c.RESTConfigured(), "set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN (or the ZOHO_REST_* overrides)")
	return fs
}
