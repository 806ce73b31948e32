package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Flags are the command-line settings. A nil field means the flag was not
// given, so the environment, the file or the default applies. Secrets have no
// flags on purpose: they would show in process listings.
type Flags struct {
	Transport   *string
	Addr        *string
	Config      *string
	Permissions *string
	Profile     *string
	Sandbox     *bool
	LogLevel    *string
	LogFormat   *string
	// SessionIdleTTL is --session-idle-ttl (http.session_idle_ttl).
	SessionIdleTTL *time.Duration
	// BulkTimeout is --bulk-timeout (bulk_timeout).
	BulkTimeout *time.Duration
	// Toolsets and Tools are --toolsets and --tools: comma-separated lists.
	Toolsets, Tools *string
	// ReadOnly is --read-only.
	ReadOnly *bool
	// ResultText is --result-text.
	ResultText *string
}

// List splits a comma-separated list, dropping blanks; "" is nil.
func List(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Load builds a Config from, in order of precedence, flags, the environment
// (read through getenv; nil = no environment), the YAML file named by
// --config or ZOHO_MCP_PROXY_CONFIG, and defaults. It returns an error only
// when the file cannot be read or is not YAML; every other problem (bad
// numbers, unknown keys, missing or contradictory settings) is reported by
// Validate, all at once.
func Load(fl Flags, getenv Getenv) (*Config, error) {
	env := clean(getenv)
	c := Default()

	path := env(EnvConfig)
	if fl.Config != nil {
		path = *fl.Config
	}
	if path != "" {
		if err := c.readFile(path); err != nil {
			return nil, err
		}
		c.ConfigFile = path
	}
	c.applyEnv(env)
	c.applyRedisEnv(env)
	c.applyFlags(fl)
	return c, nil
}

// readFile overlays the YAML file at path on c. Unknown keys are recorded as
// problems (a typo must not silently fall back to a default).
func (c *Config) readFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w (fix the --config path or %s)", err, EnvConfig)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				c.problems = append(c.problems, fmt.Sprintf("config file %s: %s", path, e))
			}
			return nil
		}
		return fmt.Errorf("config file %s is not valid YAML: %w", path, err)
	}
	return nil
}

func (c *Config) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// applyEnv overlays the environment on c.
func (c *Config) applyEnv(env Getenv) {
	str := func(dst *string, names ...string) {
		if v, _ := first(env, names...); v != "" {
			*dst = v
		}
	}
	sec := func(dst *Secret, names ...string) {
		if v, _ := first(env, names...); v != "" {
			*dst = Secret(v)
		}
	}
	boolean := func(dst *bool, names ...string) {
		v, name := first(env, names...)
		if v == "" {
			return
		}
		b, ok := parseBool(v)
		if !ok {
			c.problem("%s=%q is not a boolean: set it to true or false", name, v)
			return
		}
		*dst = b
	}

	str(&c.Addr, EnvAddr)
	str(&c.Permissions, EnvPermissions)
	str(&c.Profile, EnvProfile)
	str(&c.LogLevel, EnvLogLevel)
	str(&c.CacheDir, EnvCacheDir)

	str(&c.Zoho.DC, EnvDC)
	c.Zoho.DC = strings.ToLower(c.Zoho.DC)
	str(&c.Zoho.AccountsURL, EnvAccountsURL)
	str(&c.Zoho.APIDomain, EnvAPIDomain)
	str(&c.Zoho.ContentURL, EnvContentURL)
	str(&c.Zoho.OrgID, EnvOrgID)
	str(&c.Zoho.Credentials.ClientID, EnvClientID)
	sec(&c.Zoho.Credentials.ClientSecret, EnvClientSecret)
	sec(&c.Zoho.Credentials.RefreshToken, EnvRefreshToken)

	m := &c.Tiers.MCP
	sec(&m.Endpoint, EnvMCPEndpoint)
	str(&m.ClientID, EnvMCPClientID)
	sec(&m.ClientSecret, EnvMCPClientSecret)

	k := &c.Tiers.Bulk
	str(&k.ClientID, EnvBulkClientID, EnvSDKClientID)
	sec(&k.ClientSecret, EnvBulkClientSecret, EnvSDKClientSecret)
	sec(&k.RefreshToken, EnvBulkRefreshToken, EnvSDKRefreshToken)

	r := &c.Tiers.REST
	str(&r.ClientID, EnvRESTClientID)
	sec(&r.ClientSecret, EnvRESTClientSecret)
	sec(&r.RefreshToken, EnvRESTRefreshToken)
	sec(&r.AccessToken, EnvRESTAccessToken)

	// Per-tier credentials fall back to the shared ones, value by value.
	shared := c.Zoho.Credentials
	for _, cr := range []*Credentials{&k.Credentials, &r.Credentials} {
		if cr.ClientID == "" {
			cr.ClientID = shared.ClientID
		}
		if !cr.ClientSecret.IsSet() {
			cr.ClientSecret = shared.ClientSecret
		}
		if !cr.RefreshToken.IsSet() {
			cr.RefreshToken = shared.RefreshToken
		}
	}

	boolean(&m.Enabled, EnvEnableMCP)
	boolean(&k.Enabled, EnvEnableBulk, EnvEnableSDK)
	boolean(&r.Enabled, EnvEnableREST)
	boolean(&c.Failover, EnvEnableFailover)

	if v := env(EnvBreakerThreshold); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			c.problem("%s=%q is not a positive whole number of failures: set it to e.g. 5", EnvBreakerThreshold, v)
		} else {
			c.BreakerThreshold = uint32(n)
		}
	}
	if v := env(EnvConcurrencyLimit); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			c.problem("%s=%q is not a whole number: set it to your edition's limit of API calls at once (Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate 25)", EnvConcurrencyLimit, v)
		} else {
			c.Zoho.ConcurrencyLimit = n
		}
	}
	if v := env(EnvSessionIdleTTL); v != "" {
		d, ok := parseSeconds(v)
		if !ok {
			c.problem("%s=%q is not a duration: set it to a number of seconds (1800) or a Go duration (30m)", EnvSessionIdleTTL, v)
		} else {
			c.HTTP.SessionIdleTTL = d
		}
	}
	if v := env(EnvBulkTimeout); v != "" {
		d, ok := parseSeconds(v)
		if !ok {
			c.problem("%s=%q is not a duration: set it to a number of seconds (600) or a Go duration (10m)", EnvBulkTimeout, v)
		} else {
			c.BulkTimeout = d
		}
	}
	if v := env(EnvBulkResultMaxBytes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			c.problem("%s=%q is not a positive number of bytes: set it to e.g. 268435456 (256 MiB)", EnvBulkResultMaxBytes, v)
		} else {
			c.BulkResultMaxBytes = n
		}
	}
	if v := env(EnvToolsets); v != "" {
		c.Toolsets = List(v)
	}
	if v := env(EnvTools); v != "" {
		c.Tools = List(v)
	}
	boolean(&c.ReadOnly, EnvReadOnly)
	str(&c.ResultText, EnvResultText)
	if v := env(EnvMetadataTTL); v != "" {
		d, ok := parseSeconds(v)
		if !ok {
			c.problem("%s=%q is not a duration: set it to a number of seconds (600) or a Go duration (10m)", EnvMetadataTTL, v)
		} else {
			c.MetadataTTL = d
		}
	}
	if v := env(EnvBreakerTimeout); v != "" {
		d, ok := parseSeconds(v)
		if !ok {
			c.problem("%s=%q is not a duration: set it to a number of seconds (60) or a Go duration (1m30s)", EnvBreakerTimeout, v)
		} else {
			c.BreakerTimeout = d
		}
	}
}

func (c *Config) applyFlags(fl Flags) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Transport, fl.Transport)
	set(&c.Addr, fl.Addr)
	set(&c.Permissions, fl.Permissions)
	set(&c.Profile, fl.Profile)
	set(&c.LogLevel, fl.LogLevel)
	set(&c.LogFormat, fl.LogFormat)
	if fl.Sandbox != nil {
		c.Sandbox = *fl.Sandbox
	}
	if fl.SessionIdleTTL != nil {
		c.HTTP.SessionIdleTTL = *fl.SessionIdleTTL
	}
	if fl.BulkTimeout != nil {
		c.BulkTimeout = *fl.BulkTimeout
	}
	if fl.Toolsets != nil {
		c.Toolsets = List(*fl.Toolsets)
	}
	if fl.Tools != nil {
		c.Tools = List(*fl.Tools)
	}
	if fl.ReadOnly != nil {
		c.ReadOnly = *fl.ReadOnly
	}
	set(&c.ResultText, fl.ResultText)
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "yes", "y", "on":
		return true, true
	case "0", "f", "false", "no", "n", "off":
		return false, true
	}
	return false, false
}

// parseSeconds reads a whole number of seconds or a Go duration.
func parseSeconds(v string) (time.Duration, bool) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 {
			return 0, false
		}
		return time.Duration(n * float64(time.Second)), true
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// UseSandbox points every tier at the built-in emulator: it drops every
// credential, endpoint and host override the configuration had (so a real
// token can never reach the emulator, nor an emulator token Zoho) and reads
// the emulator's KEY=value lines (zohosim.Sim.Env) as environment.
func (c *Config) UseSandbox(env []string) {
	c.Sandbox = true
	c.Zoho.Credentials = Credentials{}
	c.Zoho.AccountsURL, c.Zoho.APIDomain, c.Zoho.ContentURL, c.Zoho.OrgID = "", "", "", ""
	c.Tiers.MCP.Endpoint, c.Tiers.MCP.ClientID, c.Tiers.MCP.ClientSecret = "", "", ""
	c.Tiers.Bulk.Credentials = Credentials{}
	c.Tiers.REST.Credentials = Credentials{}
	c.Tiers.REST.AccessToken = ""
	kv := make(map[string]string, len(env))
	for _, line := range env {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	// Only the emulator's own keys: the tier switches and breaker settings
	// the user chose stay.
	var lookup Getenv = func(k string) string { return kv[k] }
	saved := struct {
		enabled  [3]bool
		failover bool
		th       uint32
		to       time.Duration
		addr     string
		perms    string
		profile  string
		level    string
	}{[3]bool{c.Tiers.MCP.Enabled, c.Tiers.Bulk.Enabled, c.Tiers.REST.Enabled}, c.Failover, c.BreakerThreshold, c.BreakerTimeout, c.Addr, c.Permissions, c.Profile, c.LogLevel}
	c.applyEnv(clean(lookup))
	c.Tiers.MCP.Enabled, c.Tiers.Bulk.Enabled, c.Tiers.REST.Enabled = saved.enabled[0], saved.enabled[1], saved.enabled[2]
	c.Failover, c.BreakerThreshold, c.BreakerTimeout = saved.failover, saved.th, saved.to
	c.Addr, c.Permissions, c.Profile, c.LogLevel = saved.addr, saved.perms, saved.profile, saved.level
}
