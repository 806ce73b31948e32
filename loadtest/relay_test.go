package loadtest

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// relayCommand starts this test binary as `zmp-load relay` (see TestMain).
func relayCommand() []string { return []string{os.Args[0], "relay"} }

// TestRelayRelays checks that the relay carries both emulator surfaces: an
// MCP ZohoCRM_getRecord and a REST GET through it answer what the direct
// calls answer, in process and as a process of its own.
func TestRelayRelays(t *testing.T) {
	sim, err := StartEmulator(EmulatorOptions{Accounts: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	hc := NewHTTPClient(4)
	defer hc.CloseIdleConnections()
	token, apiDomain, err := FetchToken(ctx, hc, sim.AccountsURL(), sim.RESTCredential())
	if err != nil {
		t.Fatal(err)
	}
	mcpURL, err := url.Parse(sim.MCPEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	id := sim.Store().IDs()[3]
	wantREST := restBody(t, hc, apiDomain, token, id)
	wantMCP := mcpRecordText(t, sim.MCPEndpoint(), id, hc)

	for _, tt := range []struct {
		name    string
		command []string
	}{{"in process", nil}, {"process", relayCommand()}} {
		t.Run(tt.name, func(t *testing.T) {
			restRelay, err := StartRelay(ctx, tt.command, sim.RESTURL())
			if err != nil {
				t.Fatal(err)
			}
			defer restRelay.Close()
			mcpRelay, err := StartRelay(ctx, tt.command, mcpURL.Scheme+"://"+mcpURL.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer mcpRelay.Close()
			if got := restBody(t, hc, restRelay.URL, token, id); got != wantREST {
				t.Errorf("REST through the relay = %q, want %q", got, wantREST)
			}
			if got := mcpRecordText(t, mcpRelay.URL+mcpURL.Path, id, hc); got != wantMCP {
				t.Errorf("ZohoCRM_getRecord through the relay = %q, want %q", got, wantMCP)
			}
			// The MCP relay is an MCP server of its own in front of the
			// emulator's: the same tool answers the same text through it.
			mcpgo, err := StartMCPRelay(ctx, tt.command, sim.MCPEndpoint())
			if err != nil {
				t.Fatal(err)
			}
			defer mcpgo.Close()
			if got := mcpRecordText(t, mcpgo.URL+"/mcp", id, hc); got != wantMCP {
				t.Errorf("ZohoCRM_getRecord through the MCP relay = %q, want %q", got, wantMCP)
			}
			if err := DirectRESTGet(hc, restRelay.URL, token)(ctx, id); err != nil {
				t.Errorf("compare's REST caller through the relay: %v", err)
			}
			if (tt.command == nil) != (restRelay.PID == 0) {
				t.Errorf("relay PID %d for command %v", restRelay.PID, tt.command)
			}
			if tt.command == nil {
				return
			}
			// A relay of its own is metered as the proxy is: CPU from /proc,
			// allocations from its /metrics.
			u, err := restRelay.Usage(ctx)
			if err != nil || !u.HasMallocs || u.Mallocs == 0 {
				t.Errorf("relay usage = %+v, %v; want its allocation count", u, err)
			}
		})
	}
}

func restBody(t *testing.T, hc *http.Client, base, token, id string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/crm/v8/Accounts/"+id, nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v: %s", req.URL, resp.Status, err, b)
	}
	return string(b)
}

func mcpRecordText(t *testing.T, endpoint, id string, hc *http.Client) string {
	t.Helper()
	ctx := context.Background()
	c, err := Connect(ctx, endpoint, EraModern, hc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := mcp.CallToolRequest{}
	req.Params.Name = "ZohoCRM_getRecord"
	req.Params.Arguments = map[string]any{"path_variables": map[string]any{"module": "Accounts", "recordID": id}}
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("ZohoCRM_getRecord via %s: %v %+v", endpoint, err, res)
	}
	if err := checkZohoRecord([]byte(resultText(res)), id); err != nil {
		t.Fatal(err)
	}
	return resultText(res)
}

// TestRelayStreams checks that the relay passes an answer on as the
// upstream writes it: the upstream sends its second part only after the
// client has read the first, which a buffering relay never delivers.
func TestRelayStreams(t *testing.T) {
	for _, ctype := range []string{"text/event-stream", "application/json"} {
		t.Run(ctype, func(t *testing.T) {
			got1 := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ctype)
				_, _ = io.WriteString(w, "part one\n")
				w.(http.Flusher).Flush()
				select {
				case <-got1:
					_, _ = io.WriteString(w, "part two\n")
				case <-r.Context().Done():
				}
			}))
			defer up.Close()
			relay, err := StartRelay(context.Background(), nil, up.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer relay.Close()
			// A bound on a broken relay's wait, not a measured sleep.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, relay.URL+"/stream", nil)
			hc := NewHTTPClient(1)
			defer hc.CloseIdleConnections()
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			line, err := br.ReadString('\n')
			if err != nil || line != "part one\n" {
				t.Fatalf("first part = %q, %v; want it before the upstream's answer is complete", line, err)
			}
			close(got1)
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "part two\n" || resp.Header.Get("Content-Type") != ctype {
				t.Errorf("rest = %q, %v, content type %q", rest, err, resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestRelayMainRefusesBadTarget(t *testing.T) {
	t.Parallel()
	for _, to := range []string{"", "127.0.0.1:80", "::"} {
		if err := RelayMain(context.Background(), []string{"-to", to}); err == nil || !strings.Contains(err.Error(), "-to") {
			t.Errorf("RelayMain -to %q = %v, want an error naming -to", to, err)
		}
	}
}
