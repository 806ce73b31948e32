package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// testRedisKey is a base64 key of 32 bytes for the tests.
const testRedisKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRedisUnreachableAtStart: a replica whose Redis does not answer starts
// anyway on its local state and says so: an error line at start, an error
// finding in `check`, "shared_state" unusable in /readyz's detail (while
// /readyz stays 200), and calls are served. The Redis password shows
// nowhere.
func TestRedisUnreachableAtStart(t *testing.T) {
	const password = "hunter2-redis-5ecret"
	app, sim, url, logs := startApp(t, func(c *config.Config) {
		c.Redis.URL = config.Secret("redis://:" + password + "@" + closedPort(t) + "/0")
		c.Redis.Key = testRedisKey
	})
	if app.Cluster == nil {
		t.Fatal("App.Cluster is nil with Redis configured")
	}
	if !strings.Contains(logs.String(), "shared state (Redis) unreachable at start") {
		t.Errorf("no start-up error about Redis:\n%s", logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var found bool
	for _, f := range app.Probe(ctx, 2*time.Second) {
		if f.Subject == "shared state" {
			found = true
			if f.Level != config.LevelError || !strings.Contains(f.Message, "unreachable") || !strings.Contains(f.Message, config.EnvRedisURL) {
				t.Errorf("check finding %s; want an error saying Redis is unreachable and what to check", f)
			}
			if strings.Contains(f.Message, password) {
				t.Error("the check finding shows the Redis password")
			}
		}
	}
	if !found {
		t.Error("check says nothing about the shared state")
	}
	code, body := get(t, url+"/readyz")
	var rz struct {
		Ready  bool        `json:"ready"`
		Shared SharedState `json:"shared_state"`
	}
	if err := json.Unmarshal([]byte(body), &rz); err != nil || code != 200 || !rz.Ready || rz.Shared.Usable || rz.Shared.Backend != "redis" ||
		!strings.Contains(rz.Shared.Detail, "its own tokens") {
		t.Errorf("/readyz = %d %s; want 200, ready, shared_state unusable with what the replica does", code, body)
	}
	res := rpc(t, app, permissions.Default().DefaultProfile(), "tools/call",
		map[string]any{"name": "get_account", "arguments": map[string]any{"account_id": sim.Store().IDs()[0]}})
	if r, _ := res["result"].(map[string]any); r == nil || r["isError"] == true {
		t.Errorf("get_account without Redis: %v; want it served on local state", res)
	}
	for _, s := range []string{logs.String(), body} {
		if strings.Contains(s, password) {
			t.Errorf("the Redis password leaked: %s", s)
		}
	}
}

// buildReplica builds one replica over sim sharing srv.
func buildReplica(t *testing.T, sim *zohosim.Sim, srv *redistest.Server, tweak func(*config.Config)) *App {
	t.Helper()
	cfg := config.Default()
	cfg.UseSandbox(sim.Env())
	cfg.Redis.URL = config.Secret(srv.URL())
	cfg.Redis.Key = testRedisKey
	cfg.Redis.Prefix = "t:"
	if tweak != nil {
		tweak(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := Build(cfg, Options{Logger: slog.New(slog.DiscardHandler), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestReplicasShareTokensAndBreakers: two apps on one Redis refresh each
// credential once between them, and tier 1 opened by one is open for the
// other; reset_circuit_breakers on one closes it for both.
func TestReplicasShareTokensAndBreakers(t *testing.T) {
	srv := redistest.Start(t)
	sim, err := zohosim.Start(zohosim.Options{Accounts: 5, MCPKey: "k3y-for-the-replica-test-0123456"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	tweak := func(c *config.Config) {
		c.BreakerThreshold = 1
		c.BreakerTimeout = time.Hour
		c.Tiers.MCP.MaxRetries = 0
	}
	a := buildReplica(t, sim, srv, tweak)
	b := buildReplica(t, sim, srv, tweak)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	for _, f := range append(a.Probe(ctx, 5*time.Second), b.Probe(ctx, 5*time.Second)...) {
		if f.Level != config.LevelOK {
			t.Errorf("probe: %s", f)
		}
	}
	// BULK and REST each refreshed once, on one replica or the other.
	if n := sim.RefreshCount(); n != 2 {
		t.Errorf("%d refresh grants for two replicas probing BULK and REST; want 2 (one per credential)", n)
	}

	sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
	ops := permissions.Default().DefaultProfile()
	call := func(x *App) map[string]any {
		return rpc(t, x, ops, "tools/call", map[string]any{"name": "get_account", "arguments": map[string]any{"account_id": sim.Store().IDs()[0]}})
	}
	call(a) // tier 1 fails once: open (threshold 1), served by failover
	// a records the outcome in the background: b sees it a round trip later.
	for h := b.Router.Health(); h[0].Tier != tiers.MCP || h[0].CircuitBreaker.State != "open"; h = b.Router.Health() {
		if ctx.Err() != nil {
			t.Fatalf("replica b's MCP breaker after a's failure: %+v; want open", h[0])
		}
		time.Sleep(time.Millisecond)
	}
	before := sim.RequestCount(zohosim.SurfaceMCP)
	res := call(b)
	if sim.RequestCount(zohosim.SurfaceMCP) != before {
		t.Error("replica b sent a call to tier 1 through the shared open breaker")
	}
	if r, _ := res["result"].(map[string]any); r == nil || r["isError"] == true {
		t.Errorf("replica b: %v; want served by failover", res)
	}
	sim.ClearFaults()
	b.Router.ResetBreakers()
	// a looks at the shared state at most every breakerLook.
	for st := ""; st != "closed"; st = a.Router.Health()[0].CircuitBreaker.State {
		if ctx.Err() != nil {
			t.Fatalf("replica a's MCP breaker after b's reset: %s; want closed", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReplicasShareCredits: the credits Zoho reports to one replica are
// what every replica exports as the org's shared figure.
func TestReplicasShareCredits(t *testing.T) {
	srv := redistest.Start(t)
	sim, err := zohosim.Start(zohosim.Options{Accounts: 5, Credits: 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	a := buildReplica(t, sim, srv, nil)
	b := buildReplica(t, sim, srv, nil)
	shared := func(x *App) (float64, bool) {
		mfs, err := x.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "zoho_mcp_proxy_zoho_api_credits_remaining_shared" {
				return mf.GetMetric()[0].GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	if _, ok := shared(b); ok {
		t.Fatal("a shared credit figure before any replica saw one")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 2 { // probes spend credits; Zoho reports them once half are spent
		a.Probe(ctx, 5*time.Second)
	}
	got, ok := shared(b)
	if !ok {
		t.Fatal("replica b exports no shared credit figure after replica a was told one")
	}
	// Zoho reports the figure once half the budget (6) is spent.
	if low := float64(6 - sim.CreditsUsed()); got < low || got > 3 {
		t.Errorf("shared credits remaining = %v; want what Zoho reported (between %v and 3)", got, low)
	}
}
