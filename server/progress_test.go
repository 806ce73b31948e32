package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// progressSteps is how many progress notifications each measured call sends.
const progressSteps = 20

// progressTools are two tools that each send progressSteps progress
// notifications for their call's progressToken and then answer: raw through
// mcp-go's own SendNotificationToClient, ours through tiers.ReportProgress
// (the proxy's path: the tools and the router report progress that way).
func progressTools() []Tool {
	ro := mcp.WithReadOnlyHintAnnotation(true)
	return []Tool{
		{Def: mcp.NewTool("progress_raw", ro), Scopes: []permissions.Scope{permissions.ScopeRead},
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				var tok mcp.ProgressToken
				if req.Params.Meta != nil {
					tok = req.Params.Meta.ProgressToken
				}
				s := mcpserver.ServerFromContext(ctx)
				for i := range progressSteps {
					_ = s.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
						"progressToken": tok, "progress": i + 1, "total": progressSteps})
				}
				return mcp.NewToolResultText("done"), nil
			}},
		{Def: mcp.NewTool("progress_ours", ro), Scopes: []permissions.Scope{permissions.ScopeRead},
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				for i := range progressSteps {
					tiers.ReportProgress(ctx, tiers.Progress{Done: i + 1, Total: progressSteps, Message: fmt.Sprint("step ", i+1)})
				}
				return mcp.NewToolResultText("done"), nil
			}},
	}
}

// wireMsg is one JSON-RPC message as a client sees it.
type wireMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Token    any     `json:"progressToken"`
		Progress float64 `json:"progress"`
	} `json:"params"`
	Result json.RawMessage `json:"result"`
}

// delivery counts what became of the progress notifications of many calls.
type delivery struct {
	mu      sync.Mutex
	calls   int
	sent    int
	onTime  int // on the call's own stream, before its answer, increasing
	late    int // after the call's answer
	foreign int // on another call's stream
	unorder int // not increasing
	missing int
}

func (d *delivery) String() string {
	return fmt.Sprintf("%d calls, %d notifications sent: %d delivered in time, %d missing, %d after the answer, %d on another call's stream, %d out of order",
		d.calls, d.sent, d.onTime, d.missing, d.late, d.foreign, d.unorder)
}

// account reads one stream's messages in order: for each call answered on
// it, its notifications before the answer are on time, after it late; a
// notification of a call that is not own(token) is foreign.
func (d *delivery) account(msgs []wireMsg, own func(token string) bool) map[string]int {
	seen := map[string]int{}      // token → on-time count
	answered := map[string]bool{} // token (call id) → answered
	last := map[string]float64{}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range msgs {
		switch {
		case m.Method == "notifications/progress":
			tok := fmt.Sprint(m.Params.Token)
			if !own(tok) {
				d.foreign++
				continue
			}
			if answered[tok] {
				d.late++
				continue
			}
			if m.Params.Progress <= last[tok] {
				d.unorder++
			}
			last[tok] = m.Params.Progress
			seen[tok]++
		case m.Result != nil:
			answered["t"+strings.Trim(string(m.ID), `"`)] = true
		}
	}
	return seen
}

// progressCall is a tools/call of tool with progressToken "t<id>".
func progressCall(id int, tool string, modern bool) string {
	meta := fmt.Sprintf(`{"progressToken":"t%d"}`, id)
	if modern {
		meta = fmt.Sprintf(`{"progressToken":"t%d","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`, id)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{},"_meta":%s}}`, id, tool, meta)
}

// parseSSE returns the JSON messages of an SSE body (or a JSON body).
func parseSSE(body string) []wireMsg {
	var out []wireMsg
	if strings.HasPrefix(strings.TrimSpace(body), "{") {
		var m wireMsg
		if json.Unmarshal([]byte(body), &m) == nil {
			out = append(out, m)
		}
		return out
	}
	for _, line := range strings.Split(body, "\n") {
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			var m wireMsg
			if json.Unmarshal([]byte(strings.TrimSpace(d)), &m) == nil {
				out = append(out, m)
			}
		}
	}
	return out
}

// progressTransports measure delivery over each transport: rounds of
// parallel calls of tool, every notification traced.
var progressTransports = []struct {
	name string
	run  func(t *testing.T, tool string, rounds, parallel int) *delivery
}{
	{"stdio", measureStdio},
	{"streamable-legacy", func(t *testing.T, tool string, rounds, parallel int) *delivery {
		return measureStreamable(t, tool, rounds, parallel, false)
	}},
	{"streamable-2026-07-28", func(t *testing.T, tool string, rounds, parallel int) *delivery {
		return measureStreamable(t, tool, rounds, parallel, true)
	}},
	{"sse", measureSSE},
}

func progressMCP(t *testing.T) *MCP {
	t.Helper()
	m, err := NewMCP(Options{Tools: progressTools(), Logger: discardLogger(), ProgressInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func measureStreamable(t *testing.T, tool string, rounds, parallel int, modern bool) *delivery {
	ts := startHTTPWith(t, testPolicy(t), progressMCP(t))
	c := &rawClient{t: t, base: ts.URL, hc: &http.Client{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hdr := map[string]string{"Authorization": "Bearer " + readerToken}
	if modern {
		hdr["MCP-Protocol-Version"] = "2026-07-28"
		hdr["Mcp-Method"] = "tools/call"
		hdr["Mcp-Name"] = tool
	} else {
		hdr["Mcp-Session-Id"] = c.initialize(ctx, hdr)
		hdr["MCP-Protocol-Version"] = "2025-11-25"
		c.post(ctx, PathMCP, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, hdr)
	}
	d := &delivery{}
	id := 100
	for range rounds {
		var wg sync.WaitGroup
		for range parallel {
			id++
			wg.Add(1)
			go func(id int) {
				defer wg.Done()
				st, _, body := c.post(ctx, PathMCP, progressCall(id, tool, modern), hdr)
				if st != http.StatusOK {
					t.Errorf("call %d: %d %.300s", id, st, body)
				}
				mine := fmt.Sprintf("t%d", id)
				seen := d.account(parseSSE(body), func(tok string) bool { return tok == mine })
				d.mu.Lock()
				d.calls++
				d.sent += progressSteps
				d.onTime += seen[mine]
				d.missing += progressSteps - seen[mine]
				d.mu.Unlock()
			}(id)
		}
		wg.Wait()
	}
	return d
}

func measureSSE(t *testing.T, tool string, rounds, parallel int) *delivery {
	ts := startHTTPWith(t, testPolicy(t), progressMCP(t))
	c := &rawClient{t: t, base: ts.URL, hc: &http.Client{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hdr := map[string]string{"Authorization": "Bearer " + readerToken}
	endpoint, events := c.openSSESession(ctx, hdr)
	d := &delivery{}
	id := 100
	for range rounds {
		want := map[string]bool{}
		for range parallel {
			id++
			want[fmt.Sprint(id)] = true
			go c.post(ctx, endpoint, progressCall(id, tool, false), hdr)
		}
		// Read the stream until every call of the round is answered, then
		// a little more for notifications that come after their answer: a
		// ping round trip marks the end of what was queued.
		var msgs []wireMsg
		for len(want) > 0 {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatal("the SSE stream ended")
				}
				var m wireMsg
				if json.Unmarshal([]byte(e), &m) != nil {
					continue
				}
				msgs = append(msgs, m)
				if m.Result != nil {
					delete(want, strings.Trim(string(m.ID), `"`))
				}
			case <-ctx.Done():
				t.Fatalf("calls not answered: %v", want)
			}
		}
		msgs = append(msgs, drainUntilPong(t, ctx, c, endpoint, hdr, events)...)
		seen := d.account(msgs, func(string) bool { return true })
		d.mu.Lock()
		for range parallel {
			d.calls++
			d.sent += progressSteps
		}
		for _, n := range seen {
			d.onTime += n
		}
		d.missing += parallel*progressSteps - d.late - sumOf(seen)
		d.mu.Unlock()
	}
	d.missing = d.sent - d.onTime - d.late
	return d
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// drainUntilPong sends a ping on the SSE session and returns the messages
// before its answer.
func drainUntilPong(t *testing.T, ctx context.Context, c *rawClient, endpoint string, hdr map[string]string, events <-chan string) []wireMsg {
	c.post(ctx, endpoint, `{"jsonrpc":"2.0","id":"pong","method":"ping"}`, hdr)
	var out []wireMsg
	for {
		select {
		case e := <-events:
			var m wireMsg
			if json.Unmarshal([]byte(e), &m) != nil {
				continue
			}
			if string(m.ID) == `"pong"` {
				return out
			}
			out = append(out, m)
		case <-ctx.Done():
			t.Fatal("no pong")
		}
	}
}

func measureStdio(t *testing.T, tool string, rounds, parallel int) *delivery {
	m := progressMCP(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeStdio(ctx, m, StdioOptions{Profile: &permissions.Profile{Name: "r", Scopes: []permissions.Scope{permissions.ScopeRead}},
			In: inR, Out: outW, Logger: discardLogger()})
	}()
	defer func() {
		cancel()
		inW.Close()
		<-done
		outW.Close()
	}()
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var wmu sync.Mutex
	write := func(s string) {
		wmu.Lock()
		defer wmu.Unlock()
		io.WriteString(inW, s+"\n")
	}
	write(initBody)
	<-lines
	write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	d := &delivery{}
	id := 100
	for range rounds {
		want := map[string]bool{}
		for range parallel {
			id++
			want[fmt.Sprint(id)] = true
			go write(progressCall(id, tool, false))
		}
		var msgs []wireMsg
		for len(want) > 0 {
			l := <-lines
			var m wireMsg
			if json.Unmarshal([]byte(l), &m) != nil {
				continue
			}
			msgs = append(msgs, m)
			if m.Result != nil {
				delete(want, strings.Trim(string(m.ID), `"`))
			}
		}
		write(`{"jsonrpc":"2.0","id":"pong","method":"ping"}`)
		for l := range lines {
			var m wireMsg
			if json.Unmarshal([]byte(l), &m) != nil {
				continue
			}
			if string(m.ID) == `"pong"` {
				break
			}
			msgs = append(msgs, m)
		}
		seen := d.account(msgs, func(string) bool { return true })
		d.calls += parallel
		d.sent += parallel * progressSteps
		d.onTime += sumOf(seen)
	}
	d.missing = d.sent - d.onTime - d.late
	return d
}

// TestMeasureProgressDelivery measures mcp-go v1.2.1's own progress
// delivery (SendNotificationToClient) on every transport and logs it; run it
// with PROGRESS_MEASURE=1 (under -race) to see the figures.
func TestMeasureProgressDelivery(t *testing.T) {
	if os.Getenv("PROGRESS_MEASURE") == "" {
		t.Skip("set PROGRESS_MEASURE=1 to measure mcp-go's own progress delivery")
	}
	for _, tr := range progressTransports {
		t.Run(tr.name, func(t *testing.T) {
			d := tr.run(t, "progress_raw", 20, 8)
			t.Logf("mcp-go SendNotificationToClient over %s: %s", tr.name, d)
		})
	}
}

// TestProgressDelivery: progress reported through the proxy's path reaches
// the client whole on every transport (stdio, Streamable HTTP in both eras,
// legacy SSE), under concurrency: every notification of every call on the
// call's own stream, before its answer, in increasing order. With mcp-go's
// own SendNotificationToClient (TestMeasureProgressDelivery) notifications
// came after the answer or not at all (stdio, SSE), on other calls'
// streams (a legacy Streamable HTTP session), or went missing at the end of
// a call (Streamable HTTP).
func TestProgressDelivery(t *testing.T) {
	for _, tr := range progressTransports {
		t.Run(tr.name, func(t *testing.T) {
			d := tr.run(t, "progress_ours", 10, 8)
			t.Log(d)
			if d.onTime != d.sent || d.sent != 10*8*progressSteps || d.late+d.foreign+d.unorder+d.missing != 0 {
				t.Errorf("over %s: %s", tr.name, d)
			}
		})
	}
}

// TestNotifierValues: every notification's progress value increases, also
// for reports that bring no further record (creeping toward the next whole
// one) or fewer (a retry on another tier); reports inside the interval are
// held back, the latest sent at the latest when the call ends; nothing is
// sent after.
func TestNotifierValues(t *testing.T) {
	clock := newFakeClock()
	var got []map[string]any
	ctx := withSender(context.Background(), func(_ context.Context, n mcp.JSONRPCNotification) error {
		got = append(got, n.Params.AdditionalFields)
		return nil
	})
	n := newNotifier(ctx, "tok", clock.Now, time.Second)
	for _, p := range []tiers.Progress{
		{Done: 0, Total: 10, Message: "started"}, // sent: 0
		{Done: 3, Total: 10},                     // held back (inside the interval)
		{Done: 4, Total: 10, Message: "four"},    // held back, replaces 3
	} {
		n.report(p)
	}
	clock.Add(time.Second)
	n.report(tiers.Progress{Done: 4, Total: 10, Message: "job polled"}) // 4 (replaces the held-back 4)
	clock.Add(time.Second)
	n.report(tiers.Progress{Done: 2, Total: 10, Message: "retrying"}) // fewer: 4.5
	clock.Add(time.Second)
	n.report(tiers.Progress{Done: 9, Total: 10}) // 9
	n.report(tiers.Progress{Done: 10, Total: 10, Message: "done"})
	n.close()
	n.report(tiers.Progress{Done: 10, Total: 10, Message: "after the answer"})
	var vals []float64
	for _, g := range got {
		vals = append(vals, g["progress"].(float64))
		if g["progressToken"] != mcp.ProgressToken("tok") {
			t.Errorf("token %v", g["progressToken"])
		}
	}
	want := []float64{0, 4, 4.5, 9, 10}
	if fmt.Sprint(vals) != fmt.Sprint(want) {
		t.Fatalf("progress values %v, want %v", vals, want)
	}
	if got[4]["message"] != "done" || got[4]["total"] != 10 {
		t.Errorf("the last report, held back, was not sent at the end: %v", got[4])
	}
	// A long job with no record done: the values keep increasing, then
	// stop rather than repeat.
	got = nil
	n = newNotifier(ctx, "tok", clock.Now, 0)
	for range maxCreep + 5 {
		n.report(tiers.Progress{Done: 7, Total: 10})
	}
	for i := 1; i < len(got); i++ {
		if got[i]["progress"].(float64) <= got[i-1]["progress"].(float64) {
			t.Fatalf("value %d does not increase: %v", i, got[i]["progress"])
		}
	}
	if len(got) != maxCreep+1 || got[len(got)-1]["progress"].(float64) >= 8 {
		t.Errorf("%d notifications, last %v", len(got), got[len(got)-1]["progress"])
	}
}
