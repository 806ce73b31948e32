package config

import "strings"

// Environment variable names (SPEC §3). The first group keeps the names of the
// system this proxy replaces.
const (
	EnvMCPEndpoint     = "ZOHO_MCP_ENDPOINT"      // tier 1 upstream URL; holds a secret key
	EnvMCPClientID     = "ZOHO_MCP_CLIENT_ID"     // optional OAuth client registered at tier 1's authorization server (skips DCR in `login`)
	EnvMCPClientSecret = "ZOHO_MCP_CLIENT_SECRET" // its secret, if it has one

	EnvClientID     = "ZOHO_CLIENT_ID"     // shared self-client id (tiers 2 and 3)
	EnvClientSecret = "ZOHO_CLIENT_SECRET" // shared self-client secret
	EnvRefreshToken = "ZOHO_REFRESH_TOKEN" // shared refresh token

	EnvBulkClientID     = "ZOHO_BULK_CLIENT_ID"     // tier 2 override
	EnvBulkClientSecret = "ZOHO_BULK_CLIENT_SECRET" // tier 2 override
	EnvBulkRefreshToken = "ZOHO_BULK_REFRESH_TOKEN" // tier 2 override
	EnvSDKClientID      = "ZOHO_SDK_CLIENT_ID"      // alias of EnvBulkClientID
	EnvSDKClientSecret  = "ZOHO_SDK_CLIENT_SECRET"  // alias of EnvBulkClientSecret
	EnvSDKRefreshToken  = "ZOHO_SDK_REFRESH_TOKEN"  // alias of EnvBulkRefreshToken

	EnvRESTClientID     = "ZOHO_REST_CLIENT_ID"     // tier 3 override
	EnvRESTClientSecret = "ZOHO_REST_CLIENT_SECRET" // tier 3 override
	EnvRESTRefreshToken = "ZOHO_REST_REFRESH_TOKEN" // tier 3 override
	EnvRESTAccessToken  = "ZOHO_REST_ACCESS_TOKEN"  // tier 3 fixed access token

	EnvDC          = "ZOHO_DC"              // data centre: us, eu, in, au, jp, ca, sa, cn
	EnvAccountsURL = "ZOHO_ACCOUNTS_URL"    // accounts (OAuth) server override
	EnvAPIDomain   = "ZOHO_REST_API_DOMAIN" // API domain override
	EnvContentURL  = "ZOHO_CONTENT_URL"     // bulk-write upload host override
	EnvOrgID       = "ZOHO_ORG_ID"          // the org's zgid for X-CRM-ORG

	EnvConcurrencyLimit = "ZOHO_CONCURRENCY_LIMIT" // API calls in flight at Zoho at once, org-wide; default 10

	EnvEnableMCP      = "ENABLE_TIER1_MCP"  // boolean, default true
	EnvEnableBulk     = "ENABLE_TIER2_BULK" // boolean, default true
	EnvEnableSDK      = "ENABLE_TIER2_SDK"  // alias of EnvEnableBulk
	EnvEnableREST     = "ENABLE_TIER3_REST" // boolean, default true
	EnvEnableFailover = "ENABLE_FAILOVER"   // boolean, default true

	EnvBreakerThreshold = "CIRCUIT_BREAKER_THRESHOLD" // consecutive failures, default 5
	EnvBreakerTimeout   = "CIRCUIT_BREAKER_TIMEOUT"   // seconds (or a Go duration), default 60

	EnvConfig      = "ZOHO_MCP_PROXY_CONFIG"      // same as --config
	EnvPermissions = "ZOHO_MCP_PROXY_PERMISSIONS" // same as --permissions
	EnvProfile     = "ZOHO_MCP_PROXY_PROFILE"     // same as --profile
	EnvAddr        = "ZOHO_MCP_PROXY_ADDR"        // same as --addr
	EnvLogLevel    = "ZOHO_MCP_PROXY_LOG_LEVEL"   // same as --log-level

	EnvSessionIdleTTL = "ZOHO_MCP_PROXY_SESSION_IDLE_TTL" // same as --session-idle-ttl: seconds or a Go duration, default 30m
	EnvCacheDir       = "ZOHO_MCP_PROXY_CACHE_DIR"        // token cache directory (access tokens, tier 1's login); default the user cache directory

	EnvBulkTimeout        = "ZOHO_MCP_PROXY_BULK_TIMEOUT"          // same as --bulk-timeout: seconds or a Go duration, default 10m
	EnvBulkResultMaxBytes = "ZOHO_MCP_PROXY_BULK_RESULT_MAX_BYTES" // bulk_result_max_bytes: bytes, default 268435456 (256 MiB)

	EnvToolsets    = "ZOHO_MCP_PROXY_TOOLSETS"     // same as --toolsets: comma-separated toolsets (accounts, records, monitor, all)
	EnvTools       = "ZOHO_MCP_PROXY_TOOLS"        // same as --tools: comma-separated tool names
	EnvReadOnly    = "ZOHO_MCP_PROXY_READ_ONLY"    // same as --read-only: boolean
	EnvResultText  = "ZOHO_MCP_PROXY_RESULT_TEXT"  // same as --result-text: full (default) or summary
	EnvMetadataTTL = "ZOHO_MCP_PROXY_METADATA_TTL" // module metadata cache TTL: seconds or a Go duration, default 10m
)

// Getenv looks up an environment variable; "" means unset. os.Getenv fits.
type Getenv func(string) string

// IsUnsetPlaceholder reports whether v is the literal `${user_config.KEY}`
// that an MCPB host passes for an optional setting the user left empty. Such
// a value counts as unset.
func IsUnsetPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	return strings.HasPrefix(v, "${user_config.") && strings.HasSuffix(v, "}")
}

// clean wraps getenv so that blank values and MCPB placeholders read as "".
func clean(getenv Getenv) Getenv {
	return func(k string) string {
		if getenv == nil {
			return ""
		}
		v := strings.TrimSpace(getenv(k))
		if IsUnsetPlaceholder(v) {
			return ""
		}
		return v
	}
}

// first returns the value and name of the first of names that is set.
func first(getenv Getenv, names ...string) (value, name string) {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}
