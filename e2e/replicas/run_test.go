package replicas

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

type loggedRequest = zohosim.LoggedRequest

// The scenario's settings.
const (
	calls       = 300
	workers     = 12 // calls in flight at once, over the three replicas
	concurrency = 6  // ZOHO_CONCURRENCY_LIMIT: fewer than workers, so replicas must share it
	redisKey    = "c2VjcmV0LXJlZGlzLWtleS1mb3ItdGhlLWUyZS0wMDE="
	prefix      = "e2e:"
	mcpKey      = "0123456789abcdef0123456789abcdef"
)

// breakerTimeout is the replicas' CIRCUIT_BREAKER_TIMEOUT: the phase with
// tier 1 down must end within it, or the breaker's trial calls would meet
// tier 1 still down (REPLICAS_BREAKER_TIMEOUT raises it on a slow machine).
func breakerTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("REPLICAS_BREAKER_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

// callResult is what one call's route said.
type callResult struct {
	tier    string
	retried int // times the call was sent again after a transport error
}

// TestThreeReplicas is issue 13's "Done means": redis-server, the emulator
// and three replicas (real processes) behind a round-robin balancer without
// sticky sessions; 300 get_account calls, 12 at a time:
//
//	calls   0– 99  all up: tier 1 (MCP) serves
//	calls 100–199  tier 1 down: the shared breaker opens once, BULK serves;
//	               replica 3 is SIGKILLed at call 125 (its calls in flight
//	               fail at the transport and are sent again through the
//	               balancer, which then stops sending to it); every access
//	               token is expired at call 160
//	calls 200–299  tier 1 healed: after the breaker's timeout its trial calls
//	               close it and tier 1 serves again
//
// and asserts: every call answered with a record (none lost), BULK's
// credential refreshed exactly once per token lifetime for all replicas
// (once before the expiry, once after), the MCP breaker opened once in
// Redis and each surviving replica logged and counted that one change,
// and never more than the concurrency limit in flight at the emulator.
func TestThreeReplicas(t *testing.T) {
	srv := startRedis(t)
	sim, err := zohosim.Start(zohosim.Options{Accounts: 50, MCPKey: mcpKey, ServeTime: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	bt := breakerTimeout()
	env := append(sim.Env(),
		"ZOHO_MCP_PROXY_REDIS_URL="+srv.URL(),
		"ZOHO_MCP_PROXY_REDIS_KEY="+redisKey,
		"ZOHO_MCP_PROXY_REDIS_PREFIX="+prefix,
		fmt.Sprintf("ZOHO_CONCURRENCY_LIMIT=%d", concurrency),
		"CIRCUIT_BREAKER_TIMEOUT="+bt.String(),
	)
	var reps []*replica
	for i := range 3 {
		reps = append(reps, startReplica(t, fmt.Sprint(i+1), env))
	}
	lb := &balancer{reps: reps, base: &http.Transport{MaxIdleConnsPerHost: workers}, sent: make([]atomic.Int64, len(reps))}
	hc := &http.Client{Transport: lb}
	defer hc.CloseIdleConnections()
	c, err := mcpclient.NewStreamableHttpClient("http://balancer.invalid/mcp", transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "replicas-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}

	ids := sim.Store().IDs()
	bulkRT := sim.BulkCredential().RefreshToken
	results := make([]callResult, calls)
	var lost []string
	var lostMu sync.Mutex
	// call sends call i, again through the balancer after a transport
	// error (a replica that died under it), at most three times.
	call := func(i int) {
		req := mcp.CallToolRequest{}
		req.Params.Name = "get_account"
		req.Params.Arguments = map[string]any{"account_id": ids[i%len(ids)]}
		for try := 0; ; try++ {
			cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
			res, err := c.CallTool(cctx, req)
			ccancel()
			if err != nil && try < 2 {
				results[i].retried++
				continue
			}
			var why string
			switch {
			case err != nil:
				why = err.Error()
			case res.IsError:
				why = fmt.Sprintf("isError: %v", res.Content)
			default:
				var rt struct {
					Tier string `json:"tier"`
				}
				if res.Meta != nil {
					b, _ := json.Marshal(res.Meta.AdditionalFields["zoho-mcp-proxy/route"])
					_ = json.Unmarshal(b, &rt)
				}
				results[i].tier = rt.Tier
				return
			}
			lostMu.Lock()
			lost = append(lost, fmt.Sprintf("call %d: %s", i, why))
			lostMu.Unlock()
			return
		}
	}
	// batch runs calls [from, to) with workers at once; at[i] runs just
	// before call i is sent, while other calls are in flight.
	batch := func(from, to int, at map[int]func()) {
		next := make(chan int)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := range next {
					if f := at[i]; f != nil {
						f()
					}
					call(i)
				}
			})
		}
		for i := from; i < to; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
	}

	// Phase 1: all up.
	batch(0, 100, nil)

	// Phase 2: tier 1 down; replica 3 killed; tokens expired.
	sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
	down := time.Now()
	var beforeExpiry int
	batch(100, 200, map[int]func(){
		125: func() {
			reps[2].kill()
		},
		160: func() {
			beforeExpiry = refreshesOf(sim.Requests(), bulkRT)
			sim.ExpireTokens()
		},
	})
	if d := time.Since(down); d >= bt {
		t.Fatalf("tier 1 was down for %s, longer than the breaker timeout %s: the machine is too slow for this run (raise REPLICAS_BREAKER_TIMEOUT)", d, bt)
	}

	// Phase 3: tier 1 healed; wait (on Redis) for the breaker's cooldown.
	sim.ClearFaults()
	cc, err := cluster.New(cluster.Config{URL: srv.URL(), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	mcpBreaker := cluster.NewSharedBreaker[struct{}](cc, gobreaker.Settings{Name: "MCP", Timeout: bt})
	if err := waitFor(ctx, func() bool { return mcpBreaker.State() != gobreaker.StateOpen }); err != nil {
		t.Fatalf("the shared MCP breaker stayed open: %v", err)
	}
	batch(200, calls, nil)

	// No call lost.
	for _, l := range lost {
		t.Error("lost: " + l)
	}
	retried, served := 0, map[string]int{}
	for _, r := range results {
		retried += r.retried
		served[r.tier]++
	}
	t.Logf("served by tier: %v; calls sent again after a transport error: %d; requests per replica: %d %d %d",
		served, retried, lb.sent[0].Load(), lb.sent[1].Load(), lb.sent[2].Load())
	for i := 100; i < 200; i++ {
		if results[i].tier == "MCP" {
			t.Errorf("call %d was served by MCP while it was down", i)
		}
	}
	for i := calls - 20; i < calls; i++ {
		if results[i].tier != "MCP" {
			t.Errorf("call %d served by %q after tier 1 healed and its breaker closed; want MCP", i, results[i].tier)
		}
	}

	// One refresh per credential per token lifetime, for all replicas.
	reqs := sim.Requests()
	after := refreshesOf(reqs, bulkRT) - beforeExpiry
	if beforeExpiry != 1 || after != 1 {
		t.Errorf("BULK's refresh grants: %d before the expiry, %d after; want 1 and 1 (shared by the replicas)", beforeExpiry, after)
	}
	if n := refreshesOf(reqs, sim.RESTCredential().RefreshToken); n > 2 {
		t.Errorf("REST's refresh grants: %d; want at most one per token lifetime", n)
	}

	// The breaker opened once, for all replicas.
	if n, err := mcpBreaker.Opens(ctx); err != nil || n != 1 {
		t.Errorf("the shared MCP breaker opened %d times (%v); want once", n, err)
	}
	if st := mcpBreaker.State(); st != gobreaker.StateClosed {
		t.Errorf("the shared MCP breaker is %v at the end; want closed", st)
	}
	opened := regexp.MustCompile(`zoho_mcp_proxy_breaker_transitions_total\{from="closed",tier="MCP",to="open"\} (\d+)`)
	for _, r := range reps[:2] {
		m := opened.FindStringSubmatch(r.get(t, "/metrics"))
		if m == nil || m[1] != "1" {
			t.Errorf("replica %s counted %v closed>open changes of MCP; want 1", r.name, m)
		}
		n := 0
		for _, line := range strings.Split(r.logs.String(), "\n") {
			if strings.Contains(line, `"msg":"circuit breaker state changed"`) && strings.Contains(line, `"tier":"MCP","from":"closed","to":"open"`) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("replica %s logged MCP opening %d times; want once", r.name, n)
		}
	}

	// Never more than the limit in flight at "Zoho".
	if st := sim.Concurrency(); st.Peak > concurrency || st.Refused != 0 {
		t.Errorf("emulator concurrency: peak %d, refused %d; want at most %d, none refused", st.Peak, st.Refused, concurrency)
	}
	if t.Failed() {
		for _, r := range reps {
			t.Logf("replica %s log:\n%s", r.name, tail(r.logs.String(), 40))
		}
	}

	// No secret in any log.
	secrets := []string{redisKey, sim.BulkCredential().ClientSecret, bulkRT, sim.RESTCredential().ClientSecret, sim.RESTCredential().RefreshToken, mcpKey}
	for _, r := range reps {
		for _, s := range secrets {
			if strings.Contains(r.logs.String(), s) {
				t.Errorf("replica %s logged a secret (%.6s…)", r.name, s)
			}
		}
	}

	// A bulk result made through one replica and read through another (and
	// a job handle answered by another) is app's
	// TestReplicasShareBulkResultsThroughRedis: two replicas on this Redis,
	// a 5,010-record result read page by page, another caller refused.
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
