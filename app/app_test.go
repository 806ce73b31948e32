package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/bulk"
	tiermcp "github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/mcp"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/rest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Keep-alive connections of http.DefaultTransport used by clients.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

type syncBuffer = tierstest.Buffer

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func sdkSession(t *testing.T, ctx context.Context, tr sdk.Transport) *sdk.ClientSession {
	t.Helper()
	c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk-test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, tr, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return cs
}

// startApp wires the real proxy against a fresh emulator and serves it on
// loopback HTTP.
func startApp(t *testing.T, tweak func(*config.Config)) (*App, *zohosim.Sim, string, *syncBuffer) {
	return startAppWith(t, zohosim.Options{Accounts: 25}, tweak)
}

// startAppWith is startApp with the emulator's options.
func startAppWith(t *testing.T, so zohosim.Options, tweak func(*config.Config)) (*App, *zohosim.Sim, string, *syncBuffer) {
	t.Helper()
	start := time.Now()
	sim, err := zohosim.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	cfg := config.Default()
	cfg.UseSandbox(sim.Env())
	cfg.Transport = "http"
	if tweak != nil {
		tweak(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	app, err := Build(cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Version: "test", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.ServeHTTP(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
	})
	t.Logf("emulator + wiring + listen in %s", time.Since(start))
	return app, sim, "http://" + ln.Addr().String(), logs
}

func TestAppEndToEndOverHTTP(t *testing.T) {
	app, sim, url, logs := startApp(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	for _, tier := range app.Probe(ctx, 2*time.Second) {
		if tier.Level != config.LevelOK {
			t.Errorf("probe: %s", tier)
		}
	}
	cs := sdkSession(t, ctx, &sdk.StreamableClientTransport{Endpoint: url + "/mcp", DisableStandaloneSSE: true})
	defer cs.Close()
	id := sim.Store().IDs()[3]
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": id}})
	if err != nil || res.IsError {
		t.Fatalf("get_account: %v %+v", err, res)
	}
	route, _ := json.Marshal(res.Meta[tiers.RouteMetaKey])
	if !strings.Contains(string(route), `"tier":"MCP"`) {
		t.Errorf("route = %s, want MCP for an agent call", route)
	}
	lt, err := cs.ListTools(ctx, nil)
	if err != nil || len(lt.Tools) != 19 {
		t.Errorf("default profile tools = %d (%v), want 19 (every toolset, no admin)", len(lt.Tools), err)
	}

	code, body := get(t, url+"/readyz")
	if code != 200 || !strings.Contains(body, `"configured":true`) {
		t.Errorf("/readyz = %d %s", code, body)
	}
	_, body = get(t, url+"/metrics")
	for _, want := range []string{
		`zoho_mcp_proxy_tool_calls_total{outcome="ok",tool="get_account"} 1`,
		`zoho_mcp_proxy_tier_requests_total{`,
		`zoho_mcp_proxy_circuit_breaker_state{`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(logs.String(), `"tool":"get_account"`) || strings.Contains(logs.String(), id) {
		t.Errorf("call log line missing, or the account id (an argument value) logged:\n%s", logs)
	}
	// The probe refreshed BULK's and REST's tokens and get_account ran on
	// MCP: each tier logged, and no line may name a key twice.
	tiered := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		keys, vals := logKeys(t, line)
		seen := map[string]bool{}
		for i, k := range keys {
			if seen[k] {
				t.Errorf("key %q repeated: %s", k, line)
			}
			seen[k] = true
			if k == "tier" {
				tiered[fmt.Sprint(vals[i])] = true
			}
		}
	}
	for _, tier := range []string{"MCP", "BULK", "REST"} {
		if !tiered[tier] {
			t.Errorf("no log line names tier %s", tier)
		}
	}
}

// TestResultTextSummaryEndToEnd: with result_text summary, a real client's
// get_account answer over HTTP (the server's fast path) has the summary line
// as its text and the record in structuredContent only.
func TestResultTextSummaryEndToEnd(t *testing.T) {
	_, sim, url, _ := startApp(t, func(c *config.Config) { c.ResultText = config.ResultTextSummary })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs := sdkSession(t, ctx, &sdk.StreamableClientTransport{Endpoint: url + "/mcp", DisableStandaloneSSE: true})
	defer cs.Close()
	id := sim.Store().IDs()[3]
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": id}})
	if err != nil || res.IsError || len(res.Content) != 1 {
		t.Fatalf("get_account: %v %+v", err, res)
	}
	text := res.Content[0].(*sdk.TextContent).Text
	sc, _ := json.Marshal(res.StructuredContent)
	if !strings.HasPrefix(text, "Account ") || !strings.HasSuffix(text, "(served by MCP).") || strings.Contains(text, "{") {
		t.Errorf("text = %q, want the summary line only", text)
	}
	if !strings.Contains(string(sc), `"id":"`+id+`"`) {
		t.Errorf("structuredContent = %s, want the account", sc)
	}
}

// logKeys returns the top-level keys of one JSON log line, in order, with
// their values.
func logKeys(t *testing.T, line string) ([]string, []any) {
	t.Helper()
	keys, raw, err := tierstest.LogKeys(line)
	if err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	vals := make([]any, len(raw))
	for i, r := range raw {
		_ = json.Unmarshal(r, &vals[i])
	}
	return keys, vals
}

func TestReadyzWhenEveryTierIsDown(t *testing.T) {
	app, sim, url, _ := startApp(t, func(c *config.Config) {
		c.BreakerThreshold = 1
		c.CallTimeout = 3 * time.Second
		c.Tiers.MCP.MaxRetries, c.Tiers.Bulk.MaxRetries, c.Tiers.REST.MaxRetries = 0, 0, 0
	})
	for _, s := range []zohosim.Surface{zohosim.SurfaceMCP, zohosim.SurfaceBulk, zohosim.SurfaceREST, zohosim.SurfaceOAuth} {
		sim.SetFault(s, zohosim.Fault{Mode: zohosim.FaultDown})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs := sdkSession(t, ctx, &sdk.StreamableClientTransport{Endpoint: url + "/mcp", DisableStandaloneSSE: true})
	defer cs.Close()
	for i := 0; i < 3 && app.Router.Ready(); i++ {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": sim.Store().IDs()[0]}})
		if err != nil || !res.IsError {
			t.Fatalf("call with every tier down = %+v, %v; want an isError result", res, err)
		}
	}
	code, body := get(t, url+"/readyz")
	if code != 503 || !strings.Contains(body, `"ready":false`) || !strings.Contains(body, `"state":"open"`) {
		t.Errorf("/readyz = %d %s, want 503 with open breakers", code, body)
	}
	_, metrics := get(t, url+"/metrics")
	if !strings.Contains(metrics, `zoho_mcp_proxy_tool_calls_total{outcome="tool_error",tool="get_account"}`) {
		t.Errorf("failed calls not counted:\n%s", metrics)
	}
}

func TestAppRefusesNonLoopbackWithoutTokens(t *testing.T) {
	t.Parallel()
	app := &App{Policy: permissions.Default()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fake := fakeAddrListener{Listener: ln, addr: &net.TCPAddr{IP: net.IPv4zero, Port: 8765}}
	if err := app.ServeHTTP(context.Background(), fake); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("ServeHTTP on 0.0.0.0 without tokens = %v", err)
	}
}

type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

func (f fakeAddrListener) Addr() net.Addr { return f.addr }

// TestCreditsReachTheGauge: the Zoho tiers report X-API-CREDITS-REMAINING
// straight to the registry's gauge, with no transport in between.
func TestCreditsReachTheGauge(t *testing.T) {
	// A budget of 4 credits: the BULK and REST probes use at least half of
	// it, so Zoho starts sending the remaining count.
	const budget = 4
	app, _, url, _ := startAppWith(t, zohosim.Options{Accounts: 5, Credits: budget}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	app.Probe(ctx, 5*time.Second)
	_, body := get(t, url+"/metrics")
	var seen []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "zoho_mcp_proxy_zoho_api_credits_remaining{") {
			seen = append(seen, line)
		}
	}
	if len(seen) == 0 {
		t.Fatalf("no credits gauge after Zoho reported X-API-CREDITS-REMAINING:\n%s", body)
	}
	for _, line := range seen {
		var n float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n); err != nil || n < 0 || n >= budget {
			t.Errorf("credits gauge %q, want fewer than the %d of the budget", line, budget)
		}
		if !strings.Contains(line, `tier="BULK"`) && !strings.Contains(line, `tier="REST"`) {
			t.Errorf("credits gauge %q is not labelled with a Zoho tier", line)
		}
	}
}

// TestDefaultConfigIsTheRoutersDefault: the configuration's tier defaults
// and the router's are the same values (both come from tiers.DefaultsOf).
func TestDefaultConfigIsTheRoutersDefault(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	ts := []tiers.Tier{tiermcp.New(tiermcp.Config{}), bulk.New(bulk.Config{}), rest.New(rest.Config{})}
	got, want := routerTiers(cfg, ts), router.DefaultTierConfigs()
	if len(got) != len(want) {
		t.Fatalf("config gives %d tiers, the router %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tier %d: config gives %+v, the router %+v", i, got[i], want[i])
		}
	}
}

// TestStatusPageWired: the HTTP transport serves the status page at /, fed
// by the router, the registry and the transport's sessions, with nothing a
// caller's data or the proxy's secrets could leak through.
func TestStatusPageWired(t *testing.T) {
	app, sim, url, _ := startApp(t, nil)
	// Build took the first sample: the page shows the tiers from the first request on.
	if v := app.Status.View(); v.Samples == 0 || len(v.Tiers) != 3 {
		t.Errorf("right after Build the page has %d samples, %d tiers; want the tiers at once", v.Samples, len(v.Tiers))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	app.Status.Sample() // the baseline: counters show as differences from it
	// A legacy SSE session (a 2026-07-28 Streamable HTTP client has none).
	cs := sdkSession(t, ctx, &sdk.SSEClientTransport{Endpoint: url + "/sse"})
	defer cs.Close()
	id := sim.Store().IDs()[2]
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": id}})
	if err != nil || res.IsError {
		t.Fatalf("get_account: %v %+v", err, res)
	}
	app.Status.Sample()

	code, body := get(t, url+"/status.json")
	var v struct {
		Sessions int `json:"sessions"`
		Tiers    []struct {
			Tier       string `json:"tier"`
			Configured bool   `json:"configured"`
			Breaker    string `json:"breaker"`
			Requests   int    `json:"requests"`
		} `json:"tiers"`
		Tools []struct {
			Tool  string `json:"tool"`
			Count int    `json:"count"`
		} `json:"tools"`
		Credits []any `json:"credits"`
	}
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil {
		t.Fatalf("/status.json = %d %v: %s", code, err, body)
	}
	if v.Sessions != 1 {
		t.Errorf("sessions = %d; want the one open MCP session", v.Sessions)
	}
	var names []string
	for _, tier := range v.Tiers {
		names = append(names, tier.Tier)
		if !tier.Configured || tier.Breaker != "closed" {
			t.Errorf("tier %+v; want configured with its breaker closed", tier)
		}
		if tier.Tier == "MCP" && tier.Requests != 1 {
			t.Errorf("MCP requests = %d; want the one call", tier.Requests)
		}
	}
	if strings.Join(names, " ") != "MCP BULK REST" {
		t.Errorf("tiers = %v; want MCP BULK REST", names)
	}
	if len(v.Tools) != 1 || v.Tools[0].Tool != "get_account" || v.Tools[0].Count != 1 {
		t.Errorf("tools = %+v; want get_account once", v.Tools)
	}
	// The emulator, like Zoho, reports credits only once half the day's are
	// spent: until then there is no reading, not a reading of 0.
	if len(v.Credits) != 0 {
		t.Errorf("credits = %+v before Zoho reported any; want none", v.Credits)
	}
	if _, metrics := get(t, url+"/metrics"); strings.Contains(metrics, "zoho_mcp_proxy_zoho_api_credits_remaining{") {
		t.Errorf("/metrics exports a credits reading Zoho never sent")
	}

	code, page := get(t, url+"/")
	if code != 200 || !strings.Contains(page, `data-tier="REST"`) || !strings.Contains(page, `data-tool="get_account"`) {
		t.Errorf("GET / = %d; want the page with the tiers and the tool:\n%.500s", code, page)
	}
	acct, _ := sim.Store().Get(id)
	secrets := []string{id, fmt.Sprint(acct["Account_Name"]), sim.RESTCredential().ClientSecret, sim.RESTCredential().RefreshToken,
		sim.BulkCredential().ClientSecret, sim.BulkCredential().RefreshToken, sim.MCPEndpoint()}
	for _, s := range secrets {
		if strings.Contains(page, s) || strings.Contains(body, s) {
			t.Errorf("the status page shows %q (record data or a secret)", s)
		}
	}
}
