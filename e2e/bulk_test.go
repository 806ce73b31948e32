package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// progressLog collects the progress notifications a Go SDK client gets.
type progressLog struct {
	mu    sync.Mutex
	notes map[string][]*sdk.ProgressNotificationParams
	more  chan struct{} // a notification came
}

func newProgressLog() *progressLog {
	return &progressLog{notes: map[string][]*sdk.ProgressNotificationParams{}, more: make(chan struct{}, 1)}
}

func (l *progressLog) handle(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
	l.mu.Lock()
	tok := fmt.Sprint(req.Params.ProgressToken)
	l.notes[tok] = append(l.notes[tok], req.Params)
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
}

func (l *progressLog) of(token string) []*sdk.ProgressNotificationParams {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*sdk.ProgressNotificationParams(nil), l.notes[token]...)
}

// waitFor returns token's notifications once one reports done, or what
// came within limit.
func (l *progressLog) waitFor(token string, done float64, limit time.Duration) []*sdk.ProgressNotificationParams {
	timeout := time.After(limit)
	for {
		ns := l.of(token)
		if len(ns) > 0 && ns[len(ns)-1].Progress >= done {
			return ns
		}
		select {
		case <-l.more:
		case <-timeout:
			return ns
		}
	}
}

// structuredOf decodes a tool result's structured content into v.
func structuredOf(t *testing.T, res *sdk.CallToolResult, v any) {
	t.Helper()
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
}

// TestGoSDKBulkTools drives the bulk tools of the real binary with the
// official Go SDK client over every transport and era: a bulk read too large
// to inline becomes a resource the client finds in resources/list, reads
// with resources/read and pages with read_bulk_result; a bulk update sends
// progress notifications for the client's progressToken (the SDK checks
// they belong to a request in flight), answers counts and failures and
// keeps every outcome in a resource; get_bulk_job refuses an unknown job.
func TestGoSDKBulkTools(t *testing.T) {
	t.Parallel()
	p := startHTTP(t, nil)
	cases := []struct {
		name, pv string
		tr       func() sdk.Transport
	}{
		{"stdio", "", func() sdk.Transport {
			return &sdk.CommandTransport{Command: exec.Command(binary, "serve", "--sandbox")}
		}},
		{"http 2026-07-28", "", func() sdk.Transport {
			return &sdk.StreamableClientTransport{Endpoint: p.url("/mcp"), DisableStandaloneSSE: true}
		}},
		{"http 2025-11-25", "2025-11-25", func() sdk.Transport { return &sdk.StreamableClientTransport{Endpoint: p.url("/mcp")} }},
		{"sse", "", func() sdk.Transport { return &sdk.SSEClientTransport{Endpoint: p.url("/sse")} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			progress := newProgressLog()
			c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk-bulk", Version: "0.0.1"},
				&sdk.ClientOptions{ProgressNotificationHandler: progress.handle})
			cs, err := c.Connect(ctx, tc.tr(), &sdk.ClientSessionOptions{ProtocolVersion: tc.pv})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()

			// A bulk read of every sandbox account (500, over the inline 200).
			res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "bulk_read_accounts", Arguments: map[string]any{"fields": []string{"Account_Name"}}})
			if err != nil || res.IsError {
				t.Fatalf("bulk_read_accounts: %v %+v", err, res)
			}
			var read struct {
				Count       int    `json:"count"`
				Inline      bool   `json:"inline"`
				ResourceURI string `json:"resource_uri"`
				Pages       int    `json:"pages"`
			}
			structuredOf(t, res, &read)
			if read.Inline || read.ResourceURI == "" || read.Pages != 1 || read.Count != 500 {
				t.Fatalf("bulk read answer %+v", read)
			}
			lr, err := cs.ListResources(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range lr.Resources {
				found = found || r.URI == read.ResourceURI
			}
			if !found {
				t.Errorf("resources/list lacks the caller's result %s", read.ResourceURI)
			}
			rr, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: read.ResourceURI})
			if err != nil || len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, `"total":500`) {
				t.Fatalf("resources/read: %v %+v", err, rr)
			}
			id := strings.TrimPrefix(read.ResourceURI, "zoho-mcp-proxy://bulk/")
			res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_bulk_result", Arguments: map[string]any{"id": id, "page": 1}})
			var page struct {
				Records []map[string]any `json:"records"`
				Total   int              `json:"total"`
			}
			if err != nil || res.IsError {
				t.Fatalf("read_bulk_result: %v %+v", err, res)
			}
			structuredOf(t, res, &page)
			if page.Total != 500 || len(page.Records) != 500 || page.Records[0]["Account_Name"] == nil {
				t.Errorf("read_bulk_result: %d of %d records", len(page.Records), page.Total)
			}

			// A bulk update of 300 of those accounts, with a progress token.
			var rp struct {
				Records []struct {
					ID string `json:"id"`
				} `json:"records"`
			}
			if err := json.Unmarshal([]byte(rr.Contents[0].Text), &rp); err != nil || len(rp.Records) < 300 {
				t.Fatalf("resource page: %v, %d records", err, len(rp.Records))
			}
			ups := make([]map[string]any, 300)
			for k := range ups {
				ups[k] = map[string]any{"id": rp.Records[k].ID, "data": map[string]any{"Description": "go-sdk bulk " + tc.name}}
			}
			params := &sdk.CallToolParams{Name: "bulk_update_accounts", Arguments: map[string]any{"updates": ups, "trigger": []string{}}}
			tok := "bulk-" + strings.ReplaceAll(tc.name, " ", "-")
			params.SetProgressToken(tok)
			res, err = cs.CallTool(ctx, params)
			if err != nil || res.IsError {
				t.Fatalf("bulk_update_accounts: %v %+v", err, res)
			}
			var upd struct {
				Total, Succeeded, Failed int
				Inline                   bool   `json:"inline"`
				ResourceURI              string `json:"resource_uri"`
				Results                  []any  `json:"results"`
			}
			structuredOf(t, res, &upd)
			if upd.Total != 300 || upd.Succeeded != 300 || upd.Inline || upd.ResourceURI == "" || len(upd.Results) != 0 {
				t.Errorf("bulk update answer %+v", upd)
			}
			// The SDK hands notifications to the handler on its own
			// goroutine: the last one may be handled just after CallTool
			// returns, though it was sent before the answer (server tests
			// check the order on the wire).
			notes := progress.waitFor(tok, 300, 10*time.Second)
			if len(notes) == 0 {
				t.Fatal("no progress notification for the bulk update")
			}
			for k, n := range notes {
				if k > 0 && n.Progress <= notes[k-1].Progress {
					t.Errorf("progress %v after %v", n.Progress, notes[k-1].Progress)
				}
				if n.Total != 300 {
					t.Errorf("progress total %v, want 300", n.Total)
				}
			}
			if last := notes[len(notes)-1]; last.Progress != 300 {
				t.Errorf("last progress %+v, want 300 of 300", last)
			}
			res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_bulk_job", Arguments: map[string]any{"job_id": strings.Repeat("ab", 16)}})
			if err != nil || !res.IsError {
				t.Errorf("get_bulk_job of an unknown job: %v %+v", err, res)
			}
		})
	}
}

// TestCrashLeavesNoBulkResults: a proxy killed with SIGKILL while holding
// bulk results leaves its result directory behind; the next proxy started
// on the same temp directory removes it at start, and never the directory
// of a proxy still running. Before, 337 MB of CRM data stayed in the temp
// directory after a crash.
func TestCrashLeavesNoBulkResults(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	env := []string{"TMPDIR=" + tmp}
	dirs := func() []string {
		d, _ := filepath.Glob(filepath.Join(tmp, "zoho-mcp-proxy-bulk-*"))
		return d
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bulkRead := func(p *proxy) {
		c := sdk.NewClient(&sdk.Implementation{Name: "crash", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: p.url("/mcp"), DisableStandaloneSSE: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "bulk_read_accounts", Arguments: map[string]any{}})
		if err != nil || res.IsError {
			t.Fatalf("bulk_read_accounts: %v %+v", err, res)
		}
	}
	first := startHTTP(t, env)
	bulkRead(first)
	before := dirs()
	if len(before) != 1 {
		t.Fatalf("result directories %v, want the first proxy's", before)
	}
	if files, _ := filepath.Glob(filepath.Join(before[0], "*.jsonl")); len(files) != 1 {
		t.Fatalf("the first proxy keeps %v", files)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	if _, err := os.Stat(before[0]); err != nil {
		t.Fatalf("the killed proxy's directory is already gone (%v): this proves nothing", err)
	}
	second := startHTTP(t, env)
	bulkRead(second)
	after := dirs()
	if len(after) != 1 || after[0] == before[0] {
		t.Fatalf("after a restart: %v (the killed proxy's was %s)", after, before[0])
	}
	// A third proxy beside the second removes nothing of it.
	startHTTP(t, env)
	if _, err := os.Stat(after[0]); err != nil {
		t.Errorf("a proxy removed a live proxy's results: %v", err)
	}
	if n := len(dirs()); n != 2 {
		t.Errorf("%d result directories with two proxies running", n)
	}
}
