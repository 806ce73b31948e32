package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// BenchmarkClientReadsAnswer is what an mcp-go client spends reading one
// get_account answer, without the network: the transport's JSON-RPC
// decode and ParseCallToolResult, over the bytes the proxy and the
// emulator's hosted-MCP look-alike really sent (captured once). It is the
// load generator's share of compare's CPU that depends on the answer's
// shape, not on the proxy's own work: the proxy's answer carries the
// record twice (structured content, and its text rendering, as the MCP
// specification asks for compatibility), the direct one once, as text;
// with result_text=summary the proxy's carries it once, as structured
// content.
//
//	go test -run '^$' -bench ClientReadsAnswer -benchmem ./loadtest/
func BenchmarkClientReadsAnswer(b *testing.B) {
	ctx := context.Background()
	sim, err := StartEmulator(EmulatorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	full, err := StartProxy(ctx, sim, ProxyOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer full.Close()
	summary, err := StartProxy(ctx, sim, ProxyOptions{Logger: slog.New(slog.DiscardHandler), Env: []string{"ZOHO_MCP_PROXY_RESULT_TEXT=summary"}})
	if err != nil {
		b.Fatal(err)
	}
	defer summary.Close()
	id := sim.Store().IDs()[0]
	answers := map[string][]byte{
		"direct":        captureAnswer(b, sim.MCPEndpoint(), DirectMCPGetRecord, id),
		"proxy":         captureAnswer(b, full.Endpoint(), ProxyGetAccount, id),
		"proxy-summary": captureAnswer(b, summary.Endpoint(), ProxyGetAccount, id),
	}
	if len(answers["proxy-summary"]) >= len(answers["proxy"]) {
		b.Fatalf("result_text=summary did not shorten the answer: %d bytes, full %d", len(answers["proxy-summary"]), len(answers["proxy"]))
	}
	for _, name := range []string{"direct", "proxy", "proxy-summary"} {
		body := answers[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var resp transport.JSONRPCResponse
				if err := json.NewDecoder(bytes.NewReader(body)).Decode(&resp); err != nil {
					b.Fatal(err)
				}
				if _, err := mcp.ParseCallToolResult(&resp.Result); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// captureAnswer makes one call through a client whose transport keeps the
// last tools/call answer's body, and returns that body.
func captureAnswer(b *testing.B, endpoint string, caller func(*mcpclient.Client) Caller, id string) []byte {
	b.Helper()
	tee := &teeTransport{base: NewHTTPClient(1).Transport}
	c, err := Connect(context.Background(), endpoint, EraLegacy, &http.Client{Transport: tee})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := caller(c)(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	return tee.last()
}

type teeTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	body []byte
}

func (t *teeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.body = body
	t.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (t *teeTransport) last() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.body
}
