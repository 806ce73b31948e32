package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/bulk"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Two bearer tokens of one profile: two callers.
const (
	replicaTokenA = "tok-replica-a-5ecret-0123456789abcdef"
	replicaTokenB = "tok-replica-b-5ecret-fedcba9876543210"
)

func sha(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }

// replica is one proxy served on loopback HTTP.
type replica struct {
	app *App
	url string
}

// startReplica builds a proxy from cfg (its own temp directory: nothing
// is shared but Redis and Zoho) and serves it until the test ends.
func startReplica(t *testing.T, cfg *config.Config, pol *permissions.Policy) replica {
	t.Helper()
	a, err := Build(cfg, Options{Policy: pol, Logger: slog.New(slog.DiscardHandler), Version: "test", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.ServeHTTP(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
		_ = a.Close()
	})
	return replica{app: a, url: "http://" + ln.Addr().String()}
}

// client connects an MCP client to r with token.
func (r replica) client(t *testing.T, token string) *mcpclient.Client {
	t.Helper()
	c, err := mcpclient.NewStreamableHttpClient(r.url+server.PathMCP,
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "replicas-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return c
}

// callTool calls tool and decodes its structured result into out; it
// returns the result's text and whether it is an error result.
func callTool(t *testing.T, c *mcpclient.Client, tool string, args map[string]any, out any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	defer func(t0 time.Time) { t.Logf("%s in %s", tool, time.Since(t0)) }(time.Now())
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	var text strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if out != nil && res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", tool, err, b)
		}
	}
	return text.String(), res.IsError
}

// TestReplicasShareBulkResultsThroughRedis: two replicas (two app.Build,
// each with its own temp directory) behind one Redis and one Zoho. A bulk
// read too large to inline made through replica 1 is read page by page
// through replica 2 by the same caller (read_bulk_result and resources/read),
// listed there for it, and "not found" for another caller; a bulk update
// whose Zoho job outlived the bulk deadline on replica 1 is answered by
// get_bulk_job on replica 2, running and then finished, and for no one
// else. Before, results and job handles lived on the disk of the replica
// that made them, and every one of these reads on replica 2 was "not
// found".
func TestReplicasShareBulkResultsThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5,001-record bulk job")
	}
	t.Parallel()
	srv := redistest.Start(t)
	const accounts = 5010 // > tiers/bulk.UpdateCrossover: an update of 5,001 is a Bulk Write job
	// Zoho's jobs take an hour per state until the test moves its clock:
	// the job outlives the bulk deadline.
	sim, err := zohosim.Start(zohosim.Options{Accounts: accounts, JobStep: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	pol, err := permissions.Parse(fmt.Appendf(nil, `default_profile: monitor
profiles:
  monitor: { scopes: [monitor] }
  ops:  { scopes: [read, write, bulk, monitor] }
tokens:
  - { profile: ops, sha256: %q }
  - { profile: ops, sha256: %q }
`, sha(replicaTokenA), sha(replicaTokenB)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.UseSandbox(sim.Env())
	cfg.Transport = "http"
	cfg.Redis.URL = config.Secret(srv.URL())
	cfg.Redis.Key = config.Secret(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg.Redis.Prefix = "replicas:"
	cfg.CallTimeout, cfg.BulkTimeout = 6*time.Second, 6*time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r1, r2 := startReplica(t, cfg, pol), startReplica(t, cfg, pol)
	for i, r := range []replica{r1, r2} {
		if _, ok := r.app.Results.(*sharedResults); !ok {
			t.Fatalf("replica %d keeps results in %T, not in Redis", i+1, r.app.Results)
		}
	}
	a1, a2, b2 := r1.client(t, replicaTokenA), r2.client(t, replicaTokenA), r2.client(t, replicaTokenB)

	// A bulk read through replica 1.
	var read struct {
		Count       int    `json:"count"`
		Inline      bool   `json:"inline"`
		ResourceURI string `json:"resource_uri"`
	}
	if text, isErr := callTool(t, a1, "bulk_read_accounts", map[string]any{"fields": []string{"Account_Name"}}, &read); isErr || read.Inline || read.Count != accounts || read.ResourceURI == "" {
		t.Fatalf("bulk read on replica 1: %+v %s", read, text)
	}
	id := strings.TrimPrefix(read.ResourceURI, tools.BulkURIPrefix)

	// Page by page through replica 2, by the same caller.
	seen := map[string]bool{}
	pages := 0
	for page := 1; page > 0; pages++ {
		var pg tools.BulkPage
		if text, isErr := callTool(t, a2, "read_bulk_result", map[string]any{"id": id, "page": page}, &pg); isErr {
			t.Fatalf("read_bulk_result page %d on replica 2: %s", page, text)
		}
		for _, rec := range pg.Records {
			var r struct{ ID string }
			_ = json.Unmarshal(rec, &r)
			seen[r.ID] = true
		}
		page = pg.NextPage
	}
	if want := (accounts + tools.BulkPageSize - 1) / tools.BulkPageSize; len(seen) != accounts || pages != want {
		t.Fatalf("replica 2 served %d distinct records in %d pages, want %d in %d", len(seen), pages, accounts, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = read.ResourceURI + "?page=2"
	if res, err := a2.ReadResource(ctx, rr); err != nil || len(res.Contents) != 1 {
		t.Fatalf("resources/read of page 2 on replica 2: %v", err)
	}
	listed := func(c *mcpclient.Client) bool {
		lr, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
		if err != nil {
			t.Fatalf("resources/list: %v", err)
		}
		for _, r := range lr.Resources {
			if r.URI == read.ResourceURI {
				return true
			}
		}
		return false
	}
	if !listed(a2) {
		t.Error("replica 2 does not list the caller's result")
	}
	// Another caller (same profile, another token) on replica 2.
	if listed(b2) {
		t.Error("replica 2 lists the result to another caller")
	}
	if text, isErr := callTool(t, b2, "read_bulk_result", map[string]any{"id": id}, nil); !isErr || !strings.Contains(text, "another caller") {
		t.Errorf("read_bulk_result by another caller on replica 2: %v %s", isErr, text)
	}
	rr.Params.URI = read.ResourceURI
	if _, err := b2.ReadResource(ctx, rr); err == nil || !strings.Contains(err.Error(), "another caller") {
		t.Errorf("resources/read by another caller on replica 2: %v", err)
	}

	// A bulk update through replica 1 whose job outlives the bulk deadline.
	ids := sim.Store().IDs()[:bulk.UpdateCrossover+1]
	ups := make([]map[string]any, len(ids))
	for i, id := range ids {
		ups[i] = map[string]any{"id": id, "data": map[string]any{"Description": "replicated " + id}}
	}
	var job struct {
		JobID     string `json:"job_id"`
		Pending   int    `json:"pending"`
		State     string `json:"state"`
		Succeeded int    `json:"succeeded"`
	}
	if text, _ := callTool(t, a1, "bulk_update_accounts", map[string]any{"updates": ups, "trigger": []string{}}, &job); job.JobID == "" || job.Pending != len(ids) {
		t.Fatalf("bulk update on replica 1: job %q, %d pending: %s", job.JobID, job.Pending, clipText(text))
	}
	handle := map[string]any{"job_id": job.JobID}
	if text, isErr := callTool(t, b2, "get_bulk_job", handle, nil); !isErr || !strings.Contains(text, "another caller") {
		t.Errorf("get_bulk_job by another caller on replica 2: %v %s", isErr, clipText(text))
	}
	job.State = ""
	if text, isErr := callTool(t, a2, "get_bulk_job", handle, &job); isErr || job.State != "running" || job.Pending != len(ids) {
		t.Fatalf("get_bulk_job on replica 2 while the job runs: %+v %s", job, clipText(text))
	}
	sim.Advance(3 * time.Hour) // Zoho finishes the job
	job.State = ""
	if text, isErr := callTool(t, a2, "get_bulk_job", handle, &job); isErr || job.State != "finished" || job.Succeeded != len(ids) {
		t.Fatalf("get_bulk_job on replica 2 after the job: %+v %s", job, clipText(text))
	}
	if r, _ := sim.Store().Get(ids[0]); r["Description"] != "replicated "+ids[0] {
		t.Errorf("the job's write is not in Zoho: %v", r["Description"])
	}
}

func clipText(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
