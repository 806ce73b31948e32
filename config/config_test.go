package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(kv map[string]string) Getenv {
	return func(k string) string { return kv[k] }
}

func ptr[T any](v T) *T { return &v }

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
addr: 127.0.0.1:1111
log_level: debug
profile: fromfile
zoho: { dc: eu }
tiers:
  mcp: { timeout: 5s, priority: 1 }
  bulk: { enabled: false }
circuit_breaker_threshold: 9
`)
	tests := []struct {
		name  string
		flags Flags
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"defaults", Flags{}, nil, func(t *testing.T, c *Config) {
			want := Default()
			if c.Addr != DefaultAddr || c.Transport != "stdio" || c.Zoho.DC != "us" || !c.Failover {
				t.Errorf("defaults not applied: %s", c)
			}
			if c.Tiers.MCP.TierSettings != want.Tiers.MCP.TierSettings ||
				c.Tiers.Bulk.TierSettings != (TierSettings{true, 60 * time.Second, 3, 2}) ||
				c.Tiers.REST.TierSettings != (TierSettings{true, 45 * time.Second, 2, 3}) ||
				c.Tiers.MCP.TierSettings != (TierSettings{true, 30 * time.Second, 3, 1}) {
				t.Errorf("tier defaults wrong: %+v %+v %+v", c.Tiers.MCP.TierSettings, c.Tiers.Bulk.TierSettings, c.Tiers.REST.TierSettings)
			}
			if c.BreakerThreshold != 5 || c.BreakerTimeout != time.Minute || c.CallTimeout != 30*time.Second ||
				c.HTTP.BodyLimit != 1<<20 || c.InlineBulkLimit != 200 {
				t.Errorf("router/http defaults wrong: %s", c)
			}
		}},
		{"file over defaults", Flags{Config: &file}, nil, func(t *testing.T, c *Config) {
			if c.Addr != "127.0.0.1:1111" || c.LogLevel != "debug" || c.Zoho.DC != "eu" || c.BreakerThreshold != 9 {
				t.Errorf("file not applied: %s", c)
			}
			if c.Tiers.MCP.Timeout != 5*time.Second || c.Tiers.MCP.MaxRetries != 3 || c.Tiers.Bulk.Enabled || !c.Tiers.REST.Enabled {
				t.Errorf("file tier settings wrong (unset keys must keep defaults): %s", c)
			}
		}},
		{"config file from env", Flags{}, map[string]string{EnvConfig: file}, func(t *testing.T, c *Config) {
			if c.ConfigFile != file || c.Addr != "127.0.0.1:1111" {
				t.Errorf("ZOHO_MCP_PROXY_CONFIG not used: %s", c)
			}
		}},
		{"env over file", Flags{Config: &file}, map[string]string{EnvAddr: "127.0.0.1:2222", EnvDC: "IN", EnvEnableBulk: "yes", EnvBreakerThreshold: "3", EnvBreakerTimeout: "90", EnvLogLevel: "warn"}, func(t *testing.T, c *Config) {
			if c.Addr != "127.0.0.1:2222" || c.Zoho.DC != "in" || !c.Tiers.Bulk.Enabled || c.BreakerThreshold != 3 || c.BreakerTimeout != 90*time.Second || c.LogLevel != "warn" {
				t.Errorf("env did not win over file: %s", c)
			}
			if c.Profile != "fromfile" {
				t.Errorf("file value lost where env is unset: profile=%q", c.Profile)
			}
		}},
		{"flags over env", Flags{Config: &file, Addr: ptr("127.0.0.1:3333"), LogLevel: ptr("error"), Profile: ptr("flag"), Transport: ptr("http"), Sandbox: ptr(true)},
			map[string]string{EnvAddr: "127.0.0.1:2222", EnvLogLevel: "warn", EnvProfile: "env"}, func(t *testing.T, c *Config) {
				if c.Addr != "127.0.0.1:3333" || c.LogLevel != "error" || c.Profile != "flag" || c.Transport != "http" || !c.Sandbox {
					t.Errorf("flags did not win: %s", c)
				}
			}},
		{"flag config over env config", Flags{Config: &file}, map[string]string{EnvConfig: "/nonexistent.yaml"}, func(t *testing.T, c *Config) {
			if c.ConfigFile != file {
				t.Errorf("config file = %q, want the flag's", c.ConfigFile)
			}
		}},
		{"breaker timeout as Go duration", Flags{}, map[string]string{EnvBreakerTimeout: "1m30s"}, func(t *testing.T, c *Config) {
			if c.BreakerTimeout != 90*time.Second {
				t.Errorf("breaker timeout = %s", c.BreakerTimeout)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.flags, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestCredentialsAndAliases(t *testing.T) {
	t.Parallel()
	shared := map[string]string{EnvClientID: "sid", EnvClientSecret: "ssec", EnvRefreshToken: "srt"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range shared {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name               string
		env                map[string]string
		bulkID, bulkSecret string
		restID, restToken  string
		bulkEnabled        bool
	}{
		{"shared for both", shared, "sid", "ssec", "sid", "srt", true},
		{"bulk override", with(map[string]string{EnvBulkClientID: "bid", EnvBulkClientSecret: "bsec"}), "bid", "bsec", "sid", "srt", true},
		{"SDK alias", with(map[string]string{EnvSDKClientID: "kid", EnvSDKClientSecret: "ksec"}), "kid", "ksec", "sid", "srt", true},
		{"BULK wins over SDK alias", with(map[string]string{EnvSDKClientID: "kid", EnvBulkClientID: "bid"}), "bid", "ssec", "sid", "srt", true},
		{"REST override", with(map[string]string{EnvRESTClientID: "rid", EnvRESTRefreshToken: "rrt"}), "sid", "ssec", "rid", "rrt", true},
		{"ENABLE_TIER2_SDK alias", with(map[string]string{EnvEnableSDK: "false"}), "sid", "ssec", "sid", "srt", false},
		{"ENABLE_TIER2_BULK wins over alias", with(map[string]string{EnvEnableSDK: "false", EnvEnableBulk: "true"}), "sid", "ssec", "sid", "srt", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(Flags{}, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			b, r := c.Tiers.Bulk, c.Tiers.REST
			if b.ClientID != tt.bulkID || b.ClientSecret.Reveal() != tt.bulkSecret || r.ClientID != tt.restID || r.RefreshToken.Reveal() != tt.restToken {
				t.Errorf("bulk=(%s,%s) rest=(%s,%s), want (%s,%s) (%s,%s)", b.ClientID, b.ClientSecret.Reveal(), r.ClientID, r.RefreshToken.Reveal(), tt.bulkID, tt.bulkSecret, tt.restID, tt.restToken)
			}
			if b.Enabled != tt.bulkEnabled {
				t.Errorf("bulk enabled = %t, want %t", b.Enabled, tt.bulkEnabled)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestUserConfigPlaceholderIsUnset(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		EnvClientID: "id", EnvClientSecret: "sec", EnvRefreshToken: "rt",
		EnvMCPEndpoint: "${user_config.ZOHO_MCP_ENDPOINT}",
		EnvOrgID:       "${user_config.ZOHO_ORG_ID}",
		EnvDC:          " ${user_config.ZOHO_DC} ",
	}
	c, err := Load(Flags{}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.MCPConfigured() || c.Zoho.OrgID != "" || c.Zoho.DC != "us" {
		t.Errorf("placeholders not treated as unset: %s", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if !IsUnsetPlaceholder("${user_config.x}") || IsUnsetPlaceholder("abc${user_config.x}") || IsUnsetPlaceholder("") {
		t.Error("IsUnsetPlaceholder wrong")
	}
}

func TestValidateReportsAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
tiers:
  mcp: { priority: 2, max_retries: -1 }
  rest: { timeout: 0s }
http: { body_limit: 10, allowed_origins: ["example.com"] }
bulk_inline_limit: 0
`)
	env := map[string]string{
		EnvDC: "mars", EnvEnableFailover: "maybe", EnvBreakerThreshold: "-3", EnvBreakerTimeout: "soon",
		EnvClientID: "only-the-id", EnvMCPEndpoint: "not a url/secretkey123", EnvMCPClientSecret: "mcpsecret",
		EnvAccountsURL: "ftp://x", EnvOrgID: "12ab",
	}
	c, err := Load(Flags{Config: &file, Transport: ptr("carrier-pigeon"), LogLevel: ptr("loud"), LogFormat: ptr("xml")}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	pe, ok := err.(*ProblemsError)
	if !ok {
		t.Fatalf("Validate = %v, want *ProblemsError", err)
	}
	want := []string{
		"transport \"carrier-pigeon\"", "--log-level", "--log-format", "ZOHO_DC=\"mars\"",
		"ENABLE_FAILOVER=\"maybe\"", "CIRCUIT_BREAKER_THRESHOLD", "CIRCUIT_BREAKER_TIMEOUT",
		"ZOHO_ACCOUNTS_URL", "ZOHO_MCP_ENDPOINT is not an http(s) URL", "ZOHO_ORG_ID",
		"ZOHO_MCP_CLIENT_SECRET is set without ZOHO_MCP_CLIENT_ID", "ZOHO_BULK_CLIENT_SECRET, ZOHO_BULK_REFRESH_TOKEN",
		"ZOHO_REST_CLIENT_SECRET, ZOHO_REST_REFRESH_TOKEN", "tiers.mcp.max_retries", "share priority 2",
		"tiers.rest.timeout", "http.body_limit", "allowed_origins entry \"example.com\"", "bulk_inline_limit",
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("problems lack %q:\n%s", w, msg)
		}
	}
	if len(pe.Problems) < len(want) {
		t.Errorf("got %d problems, want ≥ %d", len(pe.Problems), len(want))
	}
	if strings.Contains(msg, "secretkey123") {
		t.Errorf("problem text echoes the MCP endpoint key:\n%s", msg)
	}
}

func TestValidateNoTierConfigured(t *testing.T) {
	t.Parallel()
	c, _ := Load(Flags{}, envOf(nil))
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "--sandbox") {
		t.Fatalf("Validate = %v, want a no-tier problem suggesting --sandbox", err)
	}
	c.Sandbox = true
	if err := c.Validate(); err != nil {
		t.Errorf("sandbox needs no credentials: %v", err)
	}
	fs := c.Findings()
	if len(fs) == 0 || fs[0].Level != LevelOK {
		t.Errorf("findings = %v", fs)
	}
}

func TestFindingsNotConfiguredIsAWarning(t *testing.T) {
	t.Parallel()
	c, _ := Load(Flags{}, envOf(map[string]string{EnvClientID: "a", EnvClientSecret: "b", EnvRefreshToken: "c"}))
	var got []string
	for _, f := range c.Findings() {
		got = append(got, f.String())
	}
	s := strings.Join(got, "\n")
	for _, w := range []string{"ok    config: valid", "warn  tier MCP: not configured", "ok    tier BULK: configured", "ok    tier REST: configured"} {
		if !strings.Contains(s, w) {
			t.Errorf("findings lack %q:\n%s", w, s)
		}
	}
}

func TestUnknownFileKeyIsAProblem(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "tiers:\n  mcp:\n    timout: 5s\n")
	c, err := Load(Flags{Config: &file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Sandbox = true
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "timout") {
		t.Errorf("Validate = %v, want the unknown key named", err)
	}
	bad := writeFile(t, "tiers: [unclosed\n")
	if _, err := Load(Flags{Config: &bad}, nil); err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("Load(bad yaml) = %v", err)
	}
	if _, err := Load(Flags{Config: ptr("/nonexistent/x.yaml")}, nil); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("Load(missing file) = %v", err)
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		EnvClientID: "1000.CLIENTID", EnvClientSecret: "S3CR3T-client", EnvRefreshToken: "1000.R3FR3SH",
		EnvMCPEndpoint: "https://crm-123.zohomcp.com/mcp/K3YK3YK3Y/message", EnvMCPClientSecret: "MCPS3CR3T", EnvMCPClientID: "m",
		EnvRESTAccessToken: "1000.ACC3SS",
	}
	c, err := Load(Flags{}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "config", c, "secret", c.Tiers.Bulk.ClientSecret)
	js, _ := json.Marshal(c)
	outputs := []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", c), logged.String(), string(js)}
	for i, out := range outputs {
		for _, s := range []string{"S3CR3T-client", "1000.R3FR3SH", "K3YK3YK3Y", "MCPS3CR3T", "1000.ACC3SS"} {
			if strings.Contains(out, s) {
				t.Errorf("output %d leaks %q:\n%s", i, s, out)
			}
		}
	}
	if !strings.Contains(c.String(), "https://crm-123.zohomcp.com/[redacted]") || !strings.Contains(c.String(), "client_id=\"1000.CLIENTID\"") {
		t.Errorf("String lacks the redacted endpoint or the (non-secret) client id:\n%s", c)
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add("addr: 127.0.0.1:1\n")
	f.Add("tiers:\n  mcp: { enabled: false, timeout: 1s, priority: 3 }\n")
	f.Add("http: { allowed_origins: [\"http://a\"], body_limit: 5 }\n")
	f.Add("zoho: { credentials: { client_id: a, client_secret: b, refresh_token: c } }\n")
	f.Add("- [")
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Flags{Config: &p}, nil)
		if err != nil {
			return
		}
		_ = c.Validate()
		_ = c.String()
		_ = c.Findings()
	})
}

func TestUseSandboxReplacesEveryCredential(t *testing.T) {
	t.Parallel()
	c, err := Load(Flags{Addr: ptr("127.0.0.1:9999")}, envOf(map[string]string{
		EnvClientID: "real-id", EnvClientSecret: "real-secret", EnvRefreshToken: "real-rt",
		EnvRESTAccessToken: "real-access", EnvMCPEndpoint: "https://real.zohomcp.com/mcp/REALKEY/message",
		EnvMCPClientID: "real-mcp", EnvMCPClientSecret: "real-mcp-secret", EnvAPIDomain: "https://www.zohoapis.eu",
		EnvEnableMCP: "false", EnvBreakerThreshold: "7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c.UseSandbox([]string{
		"ZOHO_MCP_ENDPOINT=http://127.0.0.1:1/mcp/k/message", "ZOHO_ACCOUNTS_URL=http://127.0.0.1:2",
		"ZOHO_CLIENT_ID=sim-id", "ZOHO_CLIENT_SECRET=sim-secret", "ZOHO_REFRESH_TOKEN=sim-rt",
		"ZOHO_BULK_CLIENT_ID=sim-bid", "ZOHO_BULK_CLIENT_SECRET=sim-bsec", "ZOHO_BULK_REFRESH_TOKEN=sim-brt",
		"ZOHO_CONTENT_URL=http://127.0.0.1:3", "ZOHO_ORG_ID=700000001",
	})
	s := c.String() + c.Tiers.REST.ClientSecret.Reveal() + c.Tiers.Bulk.RefreshToken.Reveal() + c.Tiers.MCP.Endpoint.Reveal() + c.Zoho.APIDomain
	for _, real := range []string{"real-", "REALKEY", "zohoapis.eu"} {
		if strings.Contains(s, real) {
			t.Errorf("sandbox config keeps %q:\n%s", real, s)
		}
	}
	if c.RESTConfigured() != true || c.Tiers.REST.AccessToken.IsSet() || c.Tiers.Bulk.ClientID != "sim-bid" || c.Tiers.REST.ClientID != "sim-id" ||
		c.Tiers.MCP.Endpoint.Reveal() != "http://127.0.0.1:1/mcp/k/message" || c.Zoho.OrgID != "700000001" || c.Tiers.MCP.ClientID != "" {
		t.Errorf("sandbox settings not applied: %s", c)
	}
	if c.Tiers.MCP.Enabled || c.BreakerThreshold != 7 || c.Addr != "127.0.0.1:9999" || !c.Sandbox {
		t.Errorf("user's switches lost: %s", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
