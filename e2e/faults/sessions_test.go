package faults

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
)

const initMsg = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"faults","version":"1"}}}`
const initializedMsg = `{"jsonrpc":"2.0","method":"notifications/initialized"}`

func callMsg(id int, tool string, args string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, tool, args)
}

// post sends one JSON-RPC message with a bearer token and extra headers and
// returns the status, headers and body (a JSON answer or an SSE stream).
func (h *harness) post(t *testing.T, path, token, msg string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+path, strings.NewReader(msg))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.assertNoSecrets("an HTTP answer", string(b))
	return resp.StatusCode, resp.Header, string(b)
}

// refusedAnswer reports whether a JSON-RPC answer is an error or a tool error.
func refusedAnswer(s string) bool {
	return strings.Contains(s, `"error":{`) || strings.Contains(s, `"isError":true`)
}

// TestNoEscalationThroughAnotherSession: the profile comes from each
// request's bearer token, never from the session it posts into, on both
// transports: a reader posting into an ops session (legacy SSE) or with an
// ops session id (Streamable HTTP) stays a reader.
func TestNoEscalationThroughAnotherSession(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})

	t.Run("streamable_http", func(t *testing.T) {
		st, hdr, body := h.post(t, server.PathMCP, tokenOps, initMsg, nil)
		sid := hdr.Get("Mcp-Session-Id")
		if st != http.StatusOK || sid == "" {
			t.Fatalf("initialize as ops: %d session %q %s", st, sid, clip(body, 200))
		}
		h.post(t, server.PathMCP, tokenOps, initializedMsg, map[string]string{"Mcp-Session-Id": sid})
		for i, tool := range []string{"reset_circuit_breakers", "update_account", "bulk_read_accounts"} {
			args := `{}`
			if tool == "update_account" {
				args = `{"account_id":"` + h.ids(0, 1)[0] + `","data":{"Description":"escalated"}}`
			}
			if tool == "bulk_read_accounts" {
				args = `{"account_ids":["` + h.ids(0, 1)[0] + `"]}`
			}
			_, _, ans := h.post(t, server.PathMCP, tokenReader, callMsg(10+i, tool, args), map[string]string{"Mcp-Session-Id": sid})
			if !refusedAnswer(ans) {
				t.Errorf("a reader with the ops session id called %s: %s", tool, clip(ans, 300))
			}
		}
		// Control: the ops caller itself may.
		if _, _, ans := h.post(t, server.PathMCP, tokenOps, callMsg(20, "reset_circuit_breakers", `{}`), map[string]string{"Mcp-Session-Id": sid}); refusedAnswer(ans) || !strings.Contains(ans, `"tiers"`) {
			t.Errorf("ops in its own session was refused: %s", clip(ans, 300))
		}
	})

	t.Run("legacy_sse", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+server.PathSSE, nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+tokenOps)
		resp, err := h.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /sse as ops: %d", resp.StatusCode)
		}
		events := make(chan string, 64)
		go func() {
			defer close(events)
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					events <- d
				}
			}
		}()
		next := func(match string) string {
			for {
				select {
				case e, ok := <-events:
					if !ok {
						t.Fatalf("the SSE stream ended before %q", match)
					}
					if strings.Contains(e, match) {
						return e
					}
				case <-ctx.Done():
					t.Fatalf("no SSE event with %q", match)
				}
			}
		}
		endpoint := next("sessionId=")
		msgPath := server.PathMessage + endpoint[strings.Index(endpoint, "?"):]
		h.post(t, msgPath, tokenOps, initMsg, nil)
		next(`"id":1`)
		h.post(t, msgPath, tokenOps, initializedMsg, nil)
		st, _, _ := h.post(t, msgPath, tokenReader, callMsg(31, "reset_circuit_breakers", `{}`), nil)
		if st/100 == 2 {
			if ans := next(`"id":31`); !refusedAnswer(ans) {
				t.Errorf("a reader posting into the ops SSE session reset the breakers: %s", clip(ans, 300))
			}
			t.Logf("note: a reader's message into another principal's SSE session is accepted (%d) and run as the reader; sessions are not bound to the principal that opened them", st)
		}
		h.post(t, msgPath, tokenOps, callMsg(32, "reset_circuit_breakers", `{}`), nil)
		if ans := next(`"id":32`); refusedAnswer(ans) {
			t.Errorf("ops in its own SSE session was refused: %s", clip(ans, 300))
		}
		cancel()
	})
}
