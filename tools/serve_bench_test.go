package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	proxyserver "github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// emulatorAccount is one account as the emulator's REST and MCP surfaces
// send it (≈1.1 KB): the record the proxy's server side carries per call.
const emulatorAccount = `{"id":"5725767000001000007","Account_Name":"Hooli Corp 7","Owner":{"email":"p.boyle@example.com","id":"5725767000000411001","name":"Patricia Boyle"},"Account_Number":100007,"Account_Site":"Sydney HQ","Account_Type":"Partner","Annual_Revenue":2950000,"Employees":2753,"Industry":"Communications","Ownership":"Other","Rating":"Acquired","SIC_Code":3538,"Ticker_Symbol":"T0007","Phone":"+1 555 0007","Fax":null,"Website":"https://acct7.example.com","Email":"contact@acct7.example.com","Description":null,"Parent_Account":null,"Billing_Street":"937 Main Street","Billing_City":"Sydney","Billing_State":"NSW","Billing_Code":"17924","Billing_Country":"Australia","Shipping_Street":null,"Shipping_City":"Sydney","Shipping_State":"NSW","Shipping_Code":null,"Shipping_Country":"Australia","Currency":"USD","Exchange_Rate":1,"Locked__s":false,"Created_Time":"2024-01-09T15:21:31-06:00","Modified_Time":"2024-02-22T13:21:31-06:00","Last_Activity_Time":"2024-02-22T13:21:31-06:00","Created_By":{"email":"p.boyle@example.com","id":"5725767000000411001","name":"Patricia Boyle"},"Modified_By":{"email":"p.boyle@example.com","id":"5725767000000411001","name":"Patricia Boyle"}}`

// emulatorAccountID is emulatorAccount's id.
const emulatorAccountID = "5725767000001000007"

// idTier is a fake tier that also hands over records as bytes
// (tiers.RawGetter), as the MCP and REST tiers do: GetRaw answers rec for
// its id and asks the fake's store otherwise.
type idTier struct {
	*tierstest.Tier
	id  string
	rec json.RawMessage
}

var _ tiers.RawGetter = (*idTier)(nil)

func (t *idTier) GetRaw(ctx context.Context, req tiers.GetRequest) (json.RawMessage, error) {
	if req.ID == t.id {
		return t.rec, nil
	}
	r, err := t.Get(ctx, req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// servedEnv is the tools (with the test org's metadata) over an idTier
// holding emulatorAccount, served by the proxy's own MCP server
// (middleware, call log at info into io.Discard, metrics on a private
// registry), as app assembles them.
func servedEnv(tb testing.TB) (*env, *proxyserver.MCP) {
	tb.Helper()
	ft := newFakeTier(tiers.MCP, 3)
	e := newEnvWithTiers(tb, ft, []tiers.Tier{&idTier{Tier: ft, id: emulatorAccountID, rec: json.RawMessage(emulatorAccount)}}, withMeta(ft))
	var ts []proxyserver.Tool
	for _, name := range slices.Sorted(maps.Keys(e.tools)) {
		t := e.tools[name]
		ts = append(ts, proxyserver.Tool{Def: t.Def, Scopes: t.Scopes, Handler: t.Handler, Modules: t.Modules})
	}
	m, err := proxyserver.NewMCP(proxyserver.Options{Tools: ts, Registerer: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		tb.Fatal(err)
	}
	return e, m
}

// serve handles one JSON-RPC message as prof's caller and encodes the
// answer as mcp-go's Streamable HTTP transport does (json.Encoder).
func serve(tb testing.TB, m *proxyserver.MCP, prof *permissions.Profile, msg []byte, w io.Writer) {
	ctx := permissions.WithCaller(permissions.WithProfile(context.Background(), prof), callerOf(prof))
	resp := m.Server.HandleMessage(ctx, msg)
	if _, ok := resp.(mcp.JSONRPCResponse); !ok {
		tb.Fatalf("answer %#v", resp)
	}
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkServeGetAccount is the proxy's own server side of one
// get_account (≈1.1 KB record) without the network: mcp-go's HandleMessage
// through the proxy's middleware, the tool and the router to a tier that
// hands over the record as bytes, and the answer's encoding as the
// Streamable HTTP transport writes it.
func BenchmarkServeGetAccount(b *testing.B) {
	_, m := servedEnv(b)
	msg := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_account","arguments":{"account_id":"` + emulatorAccountID + `"}}}`)
	for _, p := range []*permissions.Profile{profAll, profSales} {
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, m, p, msg, io.Discard)
			}
		})
	}
}

// BenchmarkServeGetAccountHTTP is BenchmarkServeGetAccount through the
// proxy's Streamable HTTP handler in process (front door, session gate, and
// then mcp-go's transport or the proxy's fast path for a plain legacy
// tools/call), without the network: the two side by side in one run.
func BenchmarkServeGetAccountHTTP(b *testing.B) {
	_, m := servedEnv(b)
	body := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_account","arguments":{"account_id":"` + emulatorAccountID + `"}}}`)
	discard := slog.New(slog.DiscardHandler)
	for _, path := range []struct {
		name    string
		disable bool
	}{{"mcp-go", true}, {"fast", false}} {
		h := proxyserver.NewHTTP(proxyserver.HTTPOptions{MCP: m, Logger: discard, DisableFastToolCall: path.disable}).Handler(true)
		b.Run(path.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, proxyserver.PathMCP, bytes.NewReader(body))
				req.Host = "127.0.0.1:8765"
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
				req.Header.Set("Mcp-Session-Id", "mcp-session-3b0e7c1a-8f51-4f3c-9c1e-3a3f4d7e2b13")
				w := &discardResponse{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK || w.n < 1000 {
					b.Fatalf("answer %d, %d bytes", w.code, w.n)
				}
			}
		})
	}
}

// discardResponse is a response writer that keeps the status and counts
// the body.
type discardResponse struct {
	h    http.Header
	code int
	n    int
}

func (d *discardResponse) Header() http.Header { return d.h }
func (d *discardResponse) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}
func (d *discardResponse) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	d.n += len(p)
	return len(p), nil
}
func (d *discardResponse) Flush() {}
