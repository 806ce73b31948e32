// Package statuspage drives the operator status page of the real proxy in
// headless Chromium: the proxy wired by app.Build (as serve does) on the
// built-in emulator, served over HTTP on 127.0.0.1 with bearer tokens, an
// MCP client making calls while the emulator takes tier 1 down and brings
// it back. The browser signs in with a monitor token and the test watches
// the page's DOM follow the MCP breaker open and closed again.
//
//	STATUS_CHROMIUM        the browser (default: chromium on PATH; the test skips without one)
//	STATUS_ARTIFACTS       where screenshots go (default: a temporary directory)
//	STATUS_UPDATE_README=1 also writes the last screenshot to docs/status-page.png
package statuspage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/app"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/status"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/status/statustest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Keep-alive connections of the MCP client's HTTP transport.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

const (
	monitorToken = "tok-monitor-5ecretBearer-0d1e2f3a4b5c" // the operator's: read + monitor
	agentToken   = "tok-agent-5ecretBearer-6a7b8c9d0e1f"   // the agent's: read only
)

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// The config file of the test: the shipped defaults but for a short breaker
// cooldown, so that recovery takes a second rather than a minute.
const configYAML = `circuit_breaker_threshold: 3
circuit_breaker_timeout: 1s
`

// proxy is the emulator and the proxy serving HTTP on loopback.
type proxy struct {
	sim   *zohosim.Sim
	app   *app.App
	base  string
	agent *mcpclient.Client
}

func startProxy(t *testing.T) *proxy {
	t.Helper()
	sim, err := zohosim.Start(zohosim.Options{Accounts: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	dir := t.TempDir()
	cfgFile, permFile := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "permissions.yaml")
	perms := fmt.Sprintf(`default_profile: agent
profiles:
  agent:    { scopes: [read] }
  operator: { scopes: [read, monitor] }
tokens:
  - { profile: agent,    sha256: %q }
  - { profile: operator, sha256: %q }
`, sum(agentToken), sum(monitorToken))
	for f, body := range map[string]string{cfgFile: configYAML, permFile: perms} {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	transportHTTP := "http"
	cfg, err := config.Load(config.Flags{Config: &cfgFile, Permissions: &permFile, Transport: &transportHTTP}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.UseSandbox(sim.Env())
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.BreakerTimeout != time.Second {
		t.Fatalf("circuit_breaker_timeout = %v; the config file says 1s", cfg.BreakerTimeout)
	}
	policy, err := permissions.Load(cfg.Permissions)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(cfg, app.Options{Policy: policy, Logger: slog.New(slog.DiscardHandler), Version: "e2e", TempDir: t.TempDir(),
		// Sample often, and keep a short history so that the charts span
		// the run: the point is the page, not the default resolution.
		Status: status.Options{Interval: 250 * time.Millisecond, History: 10 * time.Second, Window: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.ServeHTTP(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
	})
	p := &proxy{sim: sim, app: a, base: "http://" + ln.Addr().String()}

	c, err := mcpclient.NewStreamableHttpClient(p.base+"/mcp",
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + agentToken}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(cctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "status-e2e", Version: "1"}
	if _, err := c.Initialize(cctx, init); err != nil {
		t.Fatal(err)
	}
	p.agent = c
	return p
}

// getAccount makes one call as the agent and returns the tier that served
// it ("" when none did).
func (p *proxy) getAccount(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "get_account"
	req.Params.Arguments = map[string]any{"account_id": id, "fields": []string{"Account_Name"}}
	res, err := p.agent.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("get_account: %v", err)
	}
	if res.IsError {
		t.Fatalf("get_account failed: %+v", res.Content)
	}
	if res.Meta == nil {
		t.Fatal("get_account: no _meta")
	}
	route, _ := res.Meta.AdditionalFields[tiers.RouteMetaKey].(map[string]any)
	tier, _ := route["tier"].(string)
	return tier
}

// breakerInDOM is the MCP card's breaker state as the page shows it.
func breakerInDOM(t *testing.T, tab context.Context) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](
		`(document.querySelector('[data-tier="MCP"]') || {dataset: {}}).dataset.breakerState || ""`))
	if err != nil {
		t.Fatalf("read the DOM: %v", err)
	}
	return s
}

// callUntilShown makes calls until the page shows the MCP breaker in state,
// for at most a minute (a loaded machine; each round takes milliseconds).
// It returns the tiers that served the calls.
func (p *proxy) callUntilShown(t *testing.T, tab context.Context, state string) []string {
	t.Helper()
	id := p.sim.Store().IDs()[0]
	var served []string
	deadline := time.Now().Add(time.Minute)
	for breakerInDOM(t, tab) != state {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute of calls (served by %v) the page shows the MCP breaker %q; want %q",
				served, breakerInDOM(t, tab), state)
		}
		served = append(served, p.getAccount(t, id))
		time.Sleep(50 * time.Millisecond) // pace the calls: the page samples every 250 ms
	}
	return served
}

// TestStatusPageInBrowser: tier 1 goes down and recovers; the page, signed
// in with a monitor token, shows the MCP breaker open and then closed, with
// the transitions and the failovers, updated over its event stream.
func TestStatusPageInBrowser(t *testing.T) {
	browser := statustest.Browser(t, 3*time.Minute)
	p := startProxy(t)
	tab := statustest.NewTab(t, browser)

	// A browser has no bearer header: the page asks it to sign in, showing nothing else.
	statustest.Do(t, tab, "load the page", chromedp.Navigate(p.base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	if n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('[data-tier]').length`)); err != nil || n != 0 {
		t.Errorf("the sign-in form shows %d tiers (%v); want none", n, err)
	}
	statustest.Do(t, tab, "sign in with the agent's token (no monitor scope)",
		chromedp.SendKeys(chromedp.ID("token"), agentToken),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("signin-error")),
	)
	if msg, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("signin-error"))); err != nil || !strings.Contains(msg, "monitor scope") {
		t.Errorf("sign-in with a read-only token: %q, %v; want a message about the monitor scope", msg, err)
	}
	statustest.Do(t, tab, "sign in with the operator's token",
		chromedp.SendKeys(chromedp.ID("token"), monitorToken),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`[data-tier="MCP"][data-breaker-state="closed"]`)),
		// The script holds the event stream, on the sign-in cookie.
		chromedp.WaitReady(chromedp.CSS(`#live[data-live="sse"]`)),
	)
	if _, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.statusTestMark = "no reload"`)); err != nil {
		t.Fatal(err)
	}
	if cookie, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.cookie`)); err != nil || cookie != "" {
		t.Errorf("document.cookie = %q, %v; the sign-in cookie must be HttpOnly", cookie, err)
	}

	if tier := p.getAccount(t, p.sim.Store().IDs()[0]); tier != "MCP" {
		t.Fatalf("healthy call served by %q; want MCP", tier)
	}
	p.sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
	served := p.callUntilShown(t, tab, "open")
	for _, tier := range served {
		if tier != "BULK" {
			t.Errorf("with tier 1 down calls were served by %v; want BULK each time", served)
			break
		}
	}
	statustest.Do(t, tab, "the page shows why",
		chromedp.WaitReady(chromedp.CSS(`[data-tier="MCP"] [data-transition-to="open"]`)),
		chromedp.WaitReady(chromedp.CSS(`tr[data-failover-from="MCP"][data-failover-to="BULK"]`)),
	)
	if badge, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`[data-tier="MCP"] [data-stat="breaker"]`))); err != nil || badge != "breaker open" {
		t.Errorf("MCP badge = %q, %v; want \"breaker open\"", badge, err)
	}
	statustest.Screenshot(t, tab, "status-e2e-breaker-open.png")

	// BULK down too, for two calls (below its breaker's threshold): they land
	// on REST, and the page counts the failovers from BULK.
	p.sim.SetFault(zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultDown})
	for range 2 {
		if tier := p.getAccount(t, p.sim.Store().IDs()[0]); tier != "REST" {
			t.Errorf("with MCP open and BULK down a call was served by %q; want REST", tier)
		}
	}
	p.sim.SetFault(zohosim.SurfaceBulk, zohosim.Fault{})
	statustest.Do(t, tab, "the page shows the failovers to REST",
		chromedp.WaitReady(chromedp.CSS(`tr[data-failover-from="BULK"][data-failover-to="REST"][data-reason="unavailable"]`)))

	p.sim.ClearFaults()
	served = p.callUntilShown(t, tab, "closed")
	if len(served) == 0 || served[len(served)-1] != "MCP" {
		t.Errorf("after recovery calls were served by %v; want MCP last", served)
	}
	statustest.Do(t, tab, "the page shows the recovery",
		chromedp.WaitReady(chromedp.CSS(`[data-tier="MCP"] [data-transition-from="half_open"][data-transition-to="closed"]`)),
		chromedp.WaitReady(chromedp.CSS(`#live[data-live="sse"]`)),
	)
	if mark, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.statusTestMark || "reloaded"`)); err != nil || mark != "no reload" {
		t.Errorf("page mark = %q, %v; want the page updated in place over its event stream", mark, err)
	}
	if headline, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("headline-text"))); err != nil || !strings.Contains(headline, "serving") {
		t.Errorf("headline = %q, %v; want every tier serving", headline, err)
	}
	// A few more healthy calls, so that the picture shows tier 1 serving again.
	for range 5 {
		p.getAccount(t, p.sim.Store().IDs()[1])
	}
	p.app.Status.Sample()
	want := p.app.Status.View().Samples
	for deadline := time.Now().Add(time.Minute); ; {
		n, err := chromedp.Run(tab, chromedp.Evaluate[uint64](`+document.getElementById("overview").dataset.samples`))
		if err == nil && n >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page shows sample %d (%v) a minute after sample %d", n, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	png := statustest.Screenshot(t, tab, "status-page.png")
	if os.Getenv("STATUS_UPDATE_README") == "1" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "status-page.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
