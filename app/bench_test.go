package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// BenchmarkRedisPathPerCall measures what sharing state through Redis adds
// to one get_account call (tier 1, the default route): the same call
// through two apps on one emulator, one alone and one on a loopback
// redis-server, alternating call by call so that both see the same load.
// It reports each one's median and 99th percentile and the difference of
// the medians (goal: at most 200 µs added):
//
//	go test -run '^$' -bench RedisPathPerCall -benchtime 2000x -count 3 ./app/
func BenchmarkRedisPathPerCall(b *testing.B) {
	srv := redistest.Start(b)
	sim, err := zohosim.Start(zohosim.Options{Accounts: 50, MCPKey: "bench-key-0123456789abcdef012345"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })
	build := func(redis bool) *App {
		cfg := config.Default()
		cfg.UseSandbox(sim.Env())
		if redis {
			cfg.Redis.URL, cfg.Redis.Key, cfg.Redis.Prefix = config.Secret(srv.URL()), testRedisKey, "bench:"
		}
		a, err := Build(cfg, Options{Logger: slog.New(slog.DiscardHandler), TempDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.Close() })
		return a
	}
	apps := [2]*App{build(false), build(true)}
	ctx := permissions.WithProfile(context.Background(), permissions.Default().DefaultProfile())
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "get_account", "arguments": map[string]any{"account_id": sim.Store().IDs()[0]}}})
	call := func(a *App) time.Duration {
		t0 := time.Now()
		out, _ := json.Marshal(a.MCP.Server.HandleMessage(ctx, msg))
		d := time.Since(t0)
		var res struct {
			Result struct {
				IsError bool `json:"isError"`
			} `json:"result"`
			Error any `json:"error"`
		}
		if err := json.Unmarshal(out, &res); err != nil || res.Error != nil || res.Result.IsError {
			b.Fatalf("get_account: %s", out)
		}
		return d
	}
	for _, a := range apps { // warm up: sessions, tokens, connections
		for range 20 {
			call(a)
		}
	}
	var d [2][]time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		first := i % 2 // alternate which goes first
		d[first] = append(d[first], call(apps[first]))
		d[1-first] = append(d[1-first], call(apps[1-first]))
	}
	b.StopTimer()
	pct := func(x []time.Duration, p int) float64 {
		slices.Sort(x)
		return float64(x[len(x)*p/100].Nanoseconds()) / 1e3
	}
	local50, redis50 := pct(d[0], 50), pct(d[1], 50)
	b.ReportMetric(local50, "local-p50-µs")
	b.ReportMetric(pct(d[0], 99), "local-p99-µs")
	b.ReportMetric(redis50, "redis-p50-µs")
	b.ReportMetric(pct(d[1], 99), "redis-p99-µs")
	b.ReportMetric(redis50-local50, "added-p50-µs")
}
