package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestTier1NeedsLogin: tier 1's endpoint asks for OAuth ("Authorization on
// Demand") and no login is stored. The proxy says so in the probe `check`
// prints, in get_tier_health and in /readyz, and the router skips tier 1 as
// not configured: calls are served by the next tier and tier 1's breaker
// counts no failure.
func TestTier1NeedsLogin(t *testing.T) {
	const fix = "tier 1 needs `zoho-mcp-proxy login`"
	app, sim, url, _ := startAppWith(t, zohosim.Options{Accounts: 25, MCPAuth: zohosim.MCPAuthOnDemand}, func(c *config.Config) {
		c.BreakerThreshold = 1 // a single failure would open it
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	findings := app.Probe(ctx, 3*time.Second)
	var mcp config.Finding
	for _, f := range findings {
		if f.Subject == "probe MCP" {
			mcp = f
		} else if f.Level != config.LevelOK {
			t.Errorf("probe: %s", f)
		}
	}
	if mcp.Level != config.LevelError || !strings.Contains(mcp.Message, fix) {
		t.Fatalf("probe MCP = %s, want an error naming the fix", mcp)
	}

	cs := sdkSession(t, ctx, &sdk.StreamableClientTransport{Endpoint: url + "/mcp", DisableStandaloneSSE: true})
	defer cs.Close()
	id := sim.Store().IDs()[3]
	for range 3 {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": id}})
		if err != nil || res.IsError {
			t.Fatalf("get_account: %v %+v", err, res)
		}
		route, _ := json.Marshal(res.Meta[tiers.RouteMetaKey])
		if strings.Contains(string(route), `"MCP"`) {
			t.Fatalf("route = %s: tier 1 was tried", route)
		}
	}
	if st := sim.MCPAuthStats(); st.Unauthorized != 1 {
		t.Fatalf("the MCP endpoint answered %d 401s, want only the probe's", st.Unauthorized)
	}

	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_tier_health"})
	if err != nil || res.IsError {
		t.Fatalf("get_tier_health: %v %+v", err, res)
	}
	var health struct {
		Tiers []struct {
			Tier           string `json:"tier"`
			Configured     bool   `json:"configured"`
			Detail         string `json:"detail"`
			CircuitBreaker struct {
				State        string `json:"state"`
				FailureCount int    `json:"failure_count"`
			} `json:"circuit_breaker"`
		} `json:"tiers"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &health); err != nil || len(health.Tiers) != 3 {
		t.Fatalf("health %s: %v", b, err)
	}
	for _, h := range health.Tiers {
		switch {
		case h.Tier == "MCP" && (h.Configured || !strings.Contains(h.Detail, fix) || h.CircuitBreaker.FailureCount != 0 || h.CircuitBreaker.State != "closed"):
			t.Errorf("MCP health %+v", h)
		case h.Tier != "MCP" && (!h.Configured || h.Detail != ""):
			t.Errorf("%s health %+v", h.Tier, h)
		}
	}
	if text := res.Content[0].(*sdk.TextContent).Text; !strings.Contains(text, "MCP not configured ("+fix) {
		t.Errorf("health text %q", text)
	}
	code, body := get(t, url+"/readyz")
	if code != 200 || !strings.Contains(body, "needs `zoho-mcp-proxy login`") {
		t.Errorf("/readyz = %d %s", code, body)
	}
}
