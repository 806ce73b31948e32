package loadtest

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
)

// BenchmarkProxyGetAccount is one get_account through an in-process proxy
// (mcp-go client → Streamable HTTP → tools → router → tier → emulator), on
// the MCP tier and on the REST tier, beside the same read made directly to
// the emulator and through a bare relay (compare's floor). The proxy's
// requests run under the pprof label side=proxy, so a profile separates its
// cost from the client's and the emulator's:
//
//	go test -run '^$' -bench ProxyGetAccount -cpuprofile cpu.out ./loadtest/
//	go tool pprof -top -tagfocus side=proxy cpu.out
//
// The proxy logs at info (one line per call, as in production) into
// io.Discard, so formatting is counted and writing is not.
func BenchmarkProxyGetAccount(b *testing.B) {
	ctx := context.Background()
	sim, err := StartEmulator(EmulatorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	start := func(env ...string) *Proxy {
		p, err := StartProxy(ctx, sim, ProxyOptions{Env: env, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	mcpProxy := start()
	defer mcpProxy.Close()
	restProxy := start("ENABLE_TIER1_MCP=false", "ENABLE_TIER2_BULK=false")
	defer restProxy.Close()
	hc := NewHTTPClient(4)
	defer hc.CloseIdleConnections()
	token, apiDomain, err := FetchToken(ctx, hc, sim.AccountsURL(), sim.RESTCredential())
	if err != nil {
		b.Fatal(err)
	}
	ids := sim.Store().IDs()[:200]
	mcpURL, err := url.Parse(sim.MCPEndpoint())
	if err != nil {
		b.Fatal(err)
	}
	relayMCP, err := StartRelay(ctx, nil, mcpURL.Scheme+"://"+mcpURL.Host)
	if err != nil {
		b.Fatal(err)
	}
	defer relayMCP.Close()
	relayREST, err := StartRelay(ctx, nil, sim.RESTURL())
	if err != nil {
		b.Fatal(err)
	}
	defer relayREST.Close()
	paths := []struct{ name, endpoint string }{
		{"mcp-tier", mcpProxy.Endpoint()},
		{"rest-tier", restProxy.Endpoint()},
		{"direct-mcp", sim.MCPEndpoint()},
		{"direct-rest", ""},
		{"relay-mcp", relayMCP.URL + mcpURL.Path},
		{"relay-rest", ""},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			var call Caller
			switch p.name {
			case "direct-rest":
				call = DirectRESTGet(hc, apiDomain, token)
			case "relay-rest":
				call = DirectRESTGet(hc, relayREST.URL, token)
			default:
				c, err := Connect(ctx, p.endpoint, EraLegacy, hc)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if p.name == "direct-mcp" || p.name == "relay-mcp" {
					call = DirectMCPGetRecord(c)
				} else {
					call = ProxyGetAccount(c)
				}
			}
			for i := range 20 { // warm the pools and the tier's catalog
				if err := call(ctx, ids[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := call(ctx, ids[i%len(ids)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
