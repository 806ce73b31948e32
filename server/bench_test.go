package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkHTTPToolCall measures one tools/call of a trivial tool through the
// whole HTTP front door (Host/Origin, bearer, body limit, in-flight cap,
// filter, middleware, call log) with the official Go SDK client, per
// protocol era.
func BenchmarkHTTPToolCall(b *testing.B) {
	for _, era := range []struct{ name, pv string }{{"2026-07-28", ""}, {"2025-11-25", "2025-11-25"}} {
		b.Run(era.name, func(b *testing.B) {
			ts := startHTTP(b, testPolicy(b))
			ctx := context.Background()
			hc := &http.Client{Transport: bearerTransport{readerToken}}
			c := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: hc, DisableStandaloneSSE: true},
				&sdk.ClientSessionOptions{ProtocolVersion: era.pv})
			if err != nil {
				b.Fatal(err)
			}
			defer cs.Close()
			args := map[string]any{"id": "1"}
			b.ReportAllocs()
			for b.Loop() {
				r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_thing", Arguments: args})
				if err != nil || r.IsError {
					b.Fatal(err, r)
				}
			}
		})
	}
}

// heapMB returns the live heap after two collections, in MiB.
func heapMB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// churnRequest is an initialize, or (every tenth request) a
// logging/setLevel naming a new session id: the two ways a client that
// never sends DELETE used to make mcp-go keep state forever.
func churnRequest(i int) *http.Request {
	body, id := initBody, ""
	if i%10 == 9 {
		body = `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`
		id = fmt.Sprintf("mcp-session-%08x-0000-4000-8000-000000000000", i)
	}
	req := httptest.NewRequest(http.MethodPost, PathMCP, strings.NewReader(body))
	req.Host = "127.0.0.1:8765"
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set("Mcp-Session-Id", id)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	return req
}

// BenchmarkSessionChurn is the session soak of issue 11: b.N requests (run
// it with -benchtime 100000x) from a client that opens sessions and never
// ends them, through the whole HTTP front door, on an injected clock; the
// table sweeps as Serve would. It reports the live heap at its peak and
// after one more TTL and a sweep, relative to the heap before the first
// request (goal: retained-MB ≤ 10), and how many requests a cap refused.
//
//   - default_caps: the default TTL and caps; the clock advances half a TTL
//     every 1,000 requests, so up to 2,000 requests' sessions would be live,
//     more than the caller's cap of 1,024, which refuses the rest.
//   - no_caps: caps out of the way and the clock still until the end: every
//     session stays live until the TTL passes (the worst case: b.N × ~10 KB
//     at the peak).
func BenchmarkSessionChurn(b *testing.B) {
	for _, sc := range []struct {
		name  string
		caps  int           // 0: the defaults
		every time.Duration // clock step per 1,000 requests, in TTLs/2
	}{{"default_caps", 0, DefaultSessionIdleTTL / 2}, {"no_caps", 1 << 30, 0}} {
		b.Run(sc.name, func(b *testing.B) {
			clk := newFakeClock()
			m, err := NewMCP(Options{Tools: fakeTools(nil, nil), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			h := NewHTTP(HTTPOptions{MCP: m, Now: clk.Now, Logger: slog.New(slog.DiscardHandler),
				MaxSessions: sc.caps, MaxSessionsPerCaller: sc.caps})
			handler := h.Handler(true)
			base := heapMB()
			peak, refused := base, 0
			for i := 0; b.Loop(); i++ {
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, churnRequest(i))
				switch rec.Code {
				case http.StatusOK:
				case http.StatusServiceUnavailable:
					refused++
				default:
					b.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
				}
				if i%1000 == 999 && sc.every > 0 {
					if i%10000 == 9999 {
						peak = max(peak, heapMB()) // before the sweep
					}
					clk.Add(sc.every)
					h.Sweep()
				}
			}
			b.StopTimer()
			peak = max(peak, heapMB())
			clk.Add(DefaultSessionIdleTTL)
			h.Sweep()
			after := heapMB()
			sessions, _ := h.Sessions()
			b.ReportMetric(peak-base, "peak-MB")
			b.ReportMetric(after-base, "retained-MB")
			b.ReportMetric(float64(refused), "refused")
			b.ReportMetric(float64(sessions), "sessions-left")
		})
	}
}

// BenchmarkSessionLeakMCPGo measures what mcp-go alone keeps for b.N
// initializes (run it with -benchtime 10000x): without an idle TTL, and with
// its own WithSessionIdleTTL (1s, on the wall clock: the benchmark waits for
// its sweeper), for comparison with BenchmarkSessionChurn.
func BenchmarkSessionLeakMCPGo(b *testing.B) {
	for _, ttl := range []time.Duration{0, time.Second} {
		b.Run(fmt.Sprintf("idle_ttl=%v", ttl), func(b *testing.B) {
			m, err := NewMCP(Options{Tools: fakeTools(nil, nil), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			s := mcpserver.NewStreamableHTTPServer(m.Server, mcpserver.WithSessionIdleTTL(ttl),
				mcpserver.WithStreamableHTTPLogger(slog.New(slog.DiscardHandler)))
			defer func() { _ = s.Shutdown(context.Background()) }()
			base := heapMB()
			for i := 0; b.Loop(); i++ {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, churnRequest(i))
			}
			b.StopTimer()
			held := heapMB()
			if ttl > 0 {
				time.Sleep(ttl + 2*max(ttl/2, time.Second)) // its sweeper ticks every max(ttl/2, 1s)
			}
			b.ReportMetric(held-base, "held-MB")
			b.ReportMetric(heapMB()-base, "retained-MB")
		})
	}
}
