// Package config turns flags, environment and an optional YAML file into the
// one validated Config the proxy runs with (precedence: flags > env > file >
// defaults).
package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Secret is a credential or key. It prints, logs and marshals as a redaction
// marker so it cannot leak by accident; Reveal returns the value. The zero
// value is an unset secret.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s != "" }

// String returns "[redacted]" for a set secret and "" for an unset one.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts like String, so %#v does not leak either.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts the secret in JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText redacts the secret in text encodings (YAML, fmt with %v of maps).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a secret from a file (YAML); the value is kept as is.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// Credentials are a Zoho OAuth self-client's credentials. Zero values mean
// "not given".
type Credentials struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	RefreshToken Secret `yaml:"refresh_token"`
}

// Complete reports whether all three values are present.
func (c Credentials) Complete() bool {
	return c.ClientID != "" && c.ClientSecret.IsSet() && c.RefreshToken.IsSet()
}

// empty reports whether none of the values is present.
func (c Credentials) empty() bool {
	return c.ClientID == "" && !c.ClientSecret.IsSet() && !c.RefreshToken.IsSet()
}

// TierSettings are the router's per-tier settings.
type TierSettings struct {
	Enabled    bool          `yaml:"enabled"`
	Timeout    time.Duration `yaml:"timeout"`     // per attempt on this tier
	MaxRetries int           `yaml:"max_retries"` // retries after the first attempt when last in the chain
	Priority   int           `yaml:"priority"`    // lower is tried first
}

// MCPTier configures tier 1 (Zoho's hosted MCP endpoint).
type MCPTier struct {
	TierSettings `yaml:",inline"`
	Endpoint     Secret `yaml:"endpoint"` // full URL incl. its key; empty = not configured
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
}

// BulkTier configures tier 2 (multi-record REST, COQL, Bulk Read/Write).
type BulkTier struct {
	TierSettings `yaml:",inline"`
	Credentials  `yaml:",inline"` // resolved: per-tier override, else shared
}

// RESTTier configures tier 3 (plain REST v8).
type RESTTier struct {
	TierSettings `yaml:",inline"`
	Credentials  `yaml:",inline"` // resolved: per-tier override, else shared
	AccessToken  Secret           `yaml:"access_token"` // fixed token; used when no refresh credentials
}

// Zoho holds the settings shared by the Zoho tiers.
type Zoho struct {
	DC          string      `yaml:"dc"`           // us (default), eu, in, au, jp, ca, sa, cn
	AccountsURL string      `yaml:"accounts_url"` // "" = the DC's accounts server
	APIDomain   string      `yaml:"api_domain"`   // "" = the token response's api_domain
	ContentURL  string      `yaml:"content_url"`  // "" = the DC's upload host
	OrgID       string      `yaml:"org_id"`       // "" = read once from GET /crm/v8/org
	Credentials Credentials `yaml:"credentials"`  // shared by tiers 2 and 3
	// ConcurrencyLimit bounds the API calls in flight at Zoho at once,
	// shared by every tier and tool call (ZOHO_CONCURRENCY_LIMIT): Zoho
	// allows Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate
	// 25 per org and app; beyond, it answers 429. Default
	// tiers.DefaultConcurrencyLimit (10).
	ConcurrencyLimit int `yaml:"concurrency_limit"`
}

// HTTP configures the HTTP transport.
type HTTP struct {
	AllowedOrigins    []string      `yaml:"allowed_origins"`     // extra allowed Origin values (scheme://host[:port]); loopback origins are allowed on a loopback bind
	AllowedHosts      []string      `yaml:"allowed_hosts"`       // extra allowed Host values for non-loopback binds; empty = any
	BodyLimit         int64         `yaml:"body_limit"`          // bytes per request body
	MaxInFlight       int           `yaml:"max_in_flight"`       // concurrent requests (incl. open SSE streams); beyond → 503
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"` //
	ReadTimeout       time.Duration `yaml:"read_timeout"`        // whole request read
	IdleTimeout       time.Duration `yaml:"idle_timeout"`        // keep-alive idle
	ShutdownGrace     time.Duration `yaml:"shutdown_grace"`      // time in-flight calls get to finish on shutdown

	MaxInFlightPerCaller int           `yaml:"max_in_flight_per_caller"` // one caller's share of max_in_flight; 0 = a quarter with tokens, all without
	BodyReadTimeout      time.Duration `yaml:"body_read_timeout"`        // a request body must arrive within this; slower → 408
	SessionIdleTTL       time.Duration `yaml:"session_idle_ttl"`         // a session without requests (and open stream) this long is forgotten
	MaxSessions          int           `yaml:"max_sessions"`             // sessions in total; beyond → 503
	MaxSessionsPerCaller int           `yaml:"max_sessions_per_caller"`  // sessions per bearer token (or the local caller); beyond → 503
	StreamIdleTimeout    time.Duration `yaml:"stream_idle_timeout"`      // an SSE/GET stream whose session is unused this long is closed
	StreamHeartbeat      time.Duration `yaml:"stream_heartbeat"`         // ping interval on open streams
}

// Tiers holds the three tiers' settings.
type Tiers struct {
	MCP  MCPTier  `yaml:"mcp"`
	Bulk BulkTier `yaml:"bulk"`
	REST RESTTier `yaml:"rest"`
}

// Config is everything the proxy runs with. Build it with Load (or Default
// for tests) and check it with Validate.
type Config struct {
	Transport   string `yaml:"transport"`   // "stdio" or "http"
	Addr        string `yaml:"addr"`        // HTTP listen address
	ConfigFile  string `yaml:"-"`           // the YAML file read, "" = none
	Permissions string `yaml:"permissions"` // permissions file, "" = default policy
	Profile     string `yaml:"profile"`     // stdio caller's profile, "" = the file's default_profile
	Sandbox     bool   `yaml:"sandbox"`     // run against the built-in emulator
	LogLevel    string `yaml:"log_level"`   // debug, info, warn, error
	LogFormat   string `yaml:"log_format"`  // auto, text, json
	// CacheDir is the token cache: access tokens of tiers 2 and 3 and the
	// OAuth grant `login` stores for tier 1, each a file of mode 0600.
	// "" means the user cache directory (os.UserCacheDir()/zoho-mcp-proxy).
	CacheDir string `yaml:"cache_dir"`

	Zoho  Zoho  `yaml:"zoho"`
	Tiers Tiers `yaml:"tiers"`

	Failover         bool          `yaml:"failover"`
	BreakerThreshold uint32        `yaml:"circuit_breaker_threshold"`
	BreakerTimeout   time.Duration `yaml:"circuit_breaker_timeout"`
	CallTimeout      time.Duration `yaml:"call_timeout"`      // one deadline per tool call
	InlineBulkLimit  int           `yaml:"bulk_inline_limit"` // bulk_read records returned inline
	// BulkTimeout is the deadline of one bulk tool call (bulk_read_*,
	// bulk_update_*, get_bulk_job), instead of CallTimeout: a bulk job runs
	// at Zoho's pace.
	BulkTimeout time.Duration `yaml:"bulk_timeout"`
	// BulkResultMaxBytes caps the bytes of every bulk result kept for
	// callers (a quarter of it per caller).
	BulkResultMaxBytes int64 `yaml:"bulk_result_max_bytes"`
	HTTP               HTTP  `yaml:"http"`
	Redis              Redis `yaml:"redis"` // state shared by replicas; off unless Redis.URL is set

	// Toolsets are the toolsets to enable (--toolsets): accounts, records,
	// monitor or all. Nil means every toolset, unless Tools is set: then
	// only Tools. The names are checked when the tools are built.
	Toolsets []string `yaml:"toolsets"`
	// Tools are tools to enable by name (--tools), besides Toolsets.
	Tools []string `yaml:"tools"`
	// ReadOnly switches off every tool that changes Zoho data, whatever the
	// profiles say (--read-only).
	ReadOnly bool `yaml:"read_only"`
	// ResultText is what a tool result's text carries (--result-text):
	// ResultTextFull, the summary line and the structured content again as
	// JSON, for clients that read only text; ResultTextSummary, the summary
	// line only.
	ResultText string `yaml:"result_text"`
	// MetadataTTL is how long the org's module metadata is used before it
	// is read again.
	MetadataTTL time.Duration `yaml:"metadata_ttl"`

	// problems found while reading env and the file (bad numbers, unknown
	// keys); Validate reports them with the rest.
	problems []string
}

// Defaults.
const (
	DefaultAddr             = "127.0.0.1:8765"
	DefaultBodyLimit        = 1 << 20
	DefaultInlineBulkLimit  = 200
	DefaultCallTimeout      = 30 * time.Second
	DefaultBulkTimeout      = 10 * time.Minute
	DefaultBulkResultBytes  = 256 << 20
	DefaultBreakerThreshold = 5
	DefaultBreakerTimeout   = 60 * time.Second

	DefaultSessionIdleTTL       = 30 * time.Minute
	DefaultMaxSessions          = 4096
	DefaultMaxSessionsPerCaller = 1024
	DefaultStreamIdleTimeout    = 30 * time.Minute
	DefaultStreamHeartbeat      = 25 * time.Second
	DefaultBodyReadTimeout      = 10 * time.Second
	DefaultMetadataTTL          = 10 * time.Minute
)

// The values of result_text (--result-text, ZOHO_MCP_PROXY_RESULT_TEXT).
const (
	ResultTextFull    = "full"    // the summary line, then the structured content as JSON (default)
	ResultTextSummary = "summary" // the summary line only; the content comes as structuredContent alone
)

// Default returns the configuration used when nothing is set: stdio, every
// tier enabled (none configured), failover on.
func Default() *Config {
	c := &Config{
		Transport:        "stdio",
		Addr:             DefaultAddr,
		LogLevel:         "info",
		LogFormat:        "auto",
		Failover:         true,
		BreakerThreshold: DefaultBreakerThreshold,
		BreakerTimeout:   DefaultBreakerTimeout,
		CallTimeout:      DefaultCallTimeout,
		InlineBulkLimit:  DefaultInlineBulkLimit,
		BulkTimeout:      DefaultBulkTimeout,

		BulkResultMaxBytes: DefaultBulkResultBytes,
		MetadataTTL:        DefaultMetadataTTL,
		ResultText:         ResultTextFull,
		HTTP: HTTP{
			BodyLimit:         DefaultBodyLimit,
			MaxInFlight:       256,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownGrace:     10 * time.Second,

			BodyReadTimeout:      DefaultBodyReadTimeout,
			SessionIdleTTL:       DefaultSessionIdleTTL,
			MaxSessions:          DefaultMaxSessions,
			MaxSessionsPerCaller: DefaultMaxSessionsPerCaller,
			StreamIdleTimeout:    DefaultStreamIdleTimeout,
			StreamHeartbeat:      DefaultStreamHeartbeat,
		},
	}
	c.Zoho.DC = "us"
	c.Zoho.ConcurrencyLimit = tiers.DefaultConcurrencyLimit
	c.Tiers.MCP.TierSettings = defaultSettings(tiers.MCP)
	c.Tiers.Bulk.TierSettings = defaultSettings(tiers.Bulk)
	c.Tiers.REST.TierSettings = defaultSettings(tiers.REST)
	return c
}

// defaultSettings are tier n's settings when nothing is set: enabled, with
// the tier's defaults (tiers.DefaultsOf).
func defaultSettings(n tiers.Name) TierSettings {
	d := tiers.DefaultsOf(n)
	return TierSettings{Enabled: true, Timeout: d.Timeout, MaxRetries: d.MaxRetries, Priority: d.Priority}
}

// MCPConfigured reports whether tier 1 has an endpoint.
func (c *Config) MCPConfigured() bool { return c.Tiers.MCP.Endpoint.IsSet() }

// BulkConfigured reports whether tier 2 has complete credentials.
func (c *Config) BulkConfigured() bool { return c.Tiers.Bulk.Complete() }

// RESTConfigured reports whether tier 3 has complete credentials or a fixed
// access token.
func (c *Config) RESTConfigured() bool {
	return c.Tiers.REST.Complete() || c.Tiers.REST.AccessToken.IsSet()
}

// RedactURL returns u with everything after the host replaced, so an endpoint
// whose path or query holds a key can be shown. A value that does not parse
// is fully redacted.
func RedactURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return redacted
	}
	s := p.Scheme + "://" + p.Host
	if p.Path != "" && p.Path != "/" || p.RawQuery != "" {
		s += "/" + redacted
	}
	return s
}

func setOrUnset(b bool) string {
	if b {
		return "set"
	}
	return "unset"
}

// String describes the configuration without any secret: secrets show as
// set/unset and the MCP endpoint as scheme://host/[redacted].
func (c *Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "transport=%s addr=%s config=%q permissions=%q profile=%q sandbox=%t log_level=%s log_format=%s\n",
		c.Transport, c.Addr, c.ConfigFile, c.Permissions, c.Profile, c.Sandbox, c.LogLevel, c.LogFormat)
	fmt.Fprintf(&b, "zoho: dc=%s accounts_url=%q api_domain=%q content_url=%q org_id=%q concurrency_limit=%d\n",
		c.Zoho.DC, c.Zoho.AccountsURL, c.Zoho.APIDomain, c.Zoho.ContentURL, c.Zoho.OrgID, c.Zoho.ConcurrencyLimit)
	m := c.Tiers.MCP
	fmt.Fprintf(&b, "tier MCP: enabled=%t priority=%d timeout=%s max_retries=%d endpoint=%q client_id=%q client_secret=%s\n",
		m.Enabled, m.Priority, m.Timeout, m.MaxRetries, RedactURL(m.Endpoint.Reveal()), m.ClientID, setOrUnset(m.ClientSecret.IsSet()))
	k := c.Tiers.Bulk
	fmt.Fprintf(&b, "tier BULK: enabled=%t priority=%d timeout=%s max_retries=%d client_id=%q client_secret=%s refresh_token=%s\n",
		k.Enabled, k.Priority, k.Timeout, k.MaxRetries, k.ClientID, setOrUnset(k.ClientSecret.IsSet()), setOrUnset(k.RefreshToken.IsSet()))
	r := c.Tiers.REST
	fmt.Fprintf(&b, "tier REST: enabled=%t priority=%d timeout=%s max_retries=%d client_id=%q client_secret=%s refresh_token=%s access_token=%s\n",
		r.Enabled, r.Priority, r.Timeout, r.MaxRetries, r.ClientID, setOrUnset(r.ClientSecret.IsSet()), setOrUnset(r.RefreshToken.IsSet()), setOrUnset(r.AccessToken.IsSet()))
	fmt.Fprintf(&b, "router: failover=%t breaker_threshold=%d breaker_timeout=%s call_timeout=%s bulk_inline_limit=%d bulk_timeout=%s bulk_result_max_bytes=%d\n",
		c.Failover, c.BreakerThreshold, c.BreakerTimeout, c.CallTimeout, c.InlineBulkLimit, c.BulkTimeout, c.BulkResultMaxBytes)
	fmt.Fprintf(&b, "tools: toolsets=%v tools=%v read_only=%t result_text=%s metadata_ttl=%s\n", c.Toolsets, c.Tools, c.ReadOnly, c.ResultText, c.MetadataTTL)
	h := c.HTTP
	fmt.Fprintf(&b, "http: allowed_origins=%v allowed_hosts=%v body_limit=%d max_in_flight=%d read_header_timeout=%s read_timeout=%s idle_timeout=%s shutdown_grace=%s",
		h.AllowedOrigins, h.AllowedHosts, h.BodyLimit, h.MaxInFlight, h.ReadHeaderTimeout, h.ReadTimeout, h.IdleTimeout, h.ShutdownGrace)
	fmt.Fprintf(&b, " max_in_flight_per_caller=%d body_read_timeout=%s session_idle_ttl=%s max_sessions=%d max_sessions_per_caller=%d stream_idle_timeout=%s stream_heartbeat=%s",
		h.MaxInFlightPerCaller, h.BodyReadTimeout, h.SessionIdleTTL, h.MaxSessions, h.MaxSessionsPerCaller, h.StreamIdleTimeout, h.StreamHeartbeat)
	return b.String()
}

// GoString is String, so %#v does not print secrets either.
func (c *Config) GoString() string { return c.String() }

// LogValue logs the redacted description.
func (c *Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
