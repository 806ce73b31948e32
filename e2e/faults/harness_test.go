package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
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

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/app"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Distinctive secrets: the emulator's MCP endpoint key and the proxy's
// bearer tokens. None of them may ever show in a log line, an error text or
// a tool result (the emulator's OAuth client secrets and refresh tokens are
// read from the emulator and checked the same way).
const (
	mcpKey        = "5ecretMcpEndpointKey0f1e2d3c4b5a"
	tokenOps      = "tok-ops-5ecretBearer-9f8e7d6c5b4a3921"
	tokenReader   = "tok-reader-5ecretBearer-1a2b3c4d5e6f"
	tokenSales    = "tok-sales-5ecretBearer-a9b8c7d6e5f4"
	tokenAnalyst  = "tok-analyst-5ecretBearer-77e6d5c4b3a2"
	tokenRestrict = "tok-restricted-5ecretBearer-3c2b1a0f9e8d"
	tokenOps2     = "tok-ops2-5ecretBearer-4d5e6f7a8b9c0d1e" // a second token of the ops profile
)

// zohoToken matches the emulator's access and refresh tokens (Zoho's shape).
var zohoToken = regexp.MustCompile(`1000\.[0-9a-f]{32}\.[0-9a-f]{32}`)

// The profiles of the test policy.
const (
	profOps     = "ops"     // every scope, admin included
	profReader  = "reader"  // read and monitor
	profSales   = "sales"   // read and write; Annual_Revenue denied
	profAnalyst = "analyst" // read, write, bulk, monitor; Annual_Revenue denied
	// profRestricted has read, write, bulk and monitor, and is denied a
	// field of every kind (restrictedDeny).
	profRestricted = "restricted"
	// profOps2 is the ops profile through another token: another caller.
	profOps2 = "ops#2"
)

var profileTokens = map[string]string{profOps: tokenOps, profReader: tokenReader, profSales: tokenSales, profAnalyst: tokenAnalyst,
	profRestricted: tokenRestrict, profOps2: tokenOps2}

func sum(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }

// policyYAML is the permissions file of every harness.
var policyYAML = fmt.Sprintf(`default_profile: reader
profiles:
  reader: { scopes: [read, monitor] }
  sales:  { scopes: [read, write], fields: { deny: [Annual_Revenue] } }
  ops:    { scopes: [read, write, bulk, monitor, admin] }
  analyst: { scopes: [read, write, bulk, monitor], fields: { deny: [Annual_Revenue] } }
  restricted: { scopes: [read, write, bulk, monitor], fields: { deny: [Annual_Revenue, Phone, Description, Website, Created_Time, Secret_Email] } }
tokens:
  - { profile: ops,    sha256: %q }
  - { profile: reader, sha256: %q }
  - { profile: sales,  sha256: %q }
  - { profile: analyst, sha256: %q }
  - { profile: restricted, sha256: %q }
  - { profile: ops,    sha256: %q }
`, sum(tokenOps), sum(tokenReader), sum(tokenSales), sum(tokenAnalyst), sum(tokenRestrict), sum(tokenOps2))

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = tierstest.Buffer

// opts tune a harness. Zero values pick the short defaults below.
type opts struct {
	Accounts       int
	TierTimeout    time.Duration // every tier's per-attempt timeout; 0 = tierTimeout()
	CallTimeout    time.Duration // the call deadline; 0 = 6 tier timeouts
	Threshold      uint32        // breaker threshold; 0 = 1000 (never opens)
	BreakerTimeout time.Duration // 0 = 1 minute
	MaxRetries     int           // per tier; 0 = 1
	Tune           func(*config.Config)
	// Sim tunes the emulator's options (edition, download host …); nil
	// keeps the harness's.
	Sim func(*zohosim.Options)
	// JobStep is the time the emulator's bulk jobs spend in each state; 0
	// = 5ms.
	JobStep time.Duration
	// Defaults keeps the shipped router settings (config.Default: tier
	// timeouts, retries, breaker, call deadline) instead of the short ones
	// above, which are then ignored.
	Defaults bool
}

// tierTimeout is the per-attempt timeout of every tier in these tests: 1s
// (2s under the race detector), or FAULTS_TIER_TIMEOUT (a Go duration) on a slower or busier machine. It
// is short so that hangs cost little, and long enough that a healthy
// emulator answers well inside it on a loaded 2-core machine.
func tierTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("FAULTS_TIER_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	if raceEnabled {
		return 2 * time.Second
	}
	return time.Second
}

// harness is one emulator plus one proxy served over HTTP on loopback.
type harness struct {
	t       testing.TB
	o       opts
	sim     *zohosim.Sim
	app     *app.App
	cfg     *config.Config
	base    string // http://127.0.0.1:port
	logs    *syncBuffer
	secrets []string
	hc      *http.Client

	mu       sync.Mutex
	clients  map[string]*mcpclient.Client
	progress map[string][]progressNote // progress notifications by token
	calls    atomic.Int64              // tools/call answered with a tool result
}

// progressNote is one notifications/progress a client received.
type progressNote struct {
	Progress, Total float64
	Message         string
}

// start builds a harness and registers its teardown (which also scrapes the
// logs for secrets).
func start(t testing.TB, o opts) *harness {
	t.Helper()
	if o.Accounts == 0 {
		o.Accounts = 300
	}
	if o.TierTimeout == 0 {
		o.TierTimeout = tierTimeout()
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 6 * o.TierTimeout
	}
	if o.Threshold == 0 {
		o.Threshold = 1000
	}
	if o.BreakerTimeout == 0 {
		o.BreakerTimeout = time.Minute
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.JobStep == 0 {
		o.JobStep = 5 * time.Millisecond
	}
	so := zohosim.Options{Accounts: o.Accounts, MCPKey: mcpKey, JobStep: o.JobStep}
	if o.Sim != nil {
		o.Sim(&so)
	}
	sim, err := zohosim.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, o: o, sim: sim, logs: &syncBuffer{}, clients: map[string]*mcpclient.Client{}, progress: map[string][]progressNote{}}
	h.secrets = []string{mcpKey, tokenOps, tokenReader, tokenSales, tokenAnalyst, tokenRestrict, tokenOps2}
	for _, c := range []zohosim.Credential{sim.RESTCredential(), sim.BulkCredential()} {
		h.secrets = append(h.secrets, c.ClientSecret, c.RefreshToken)
	}

	cfg, err := config.Load(config.Flags{}, func(string) string { return "" })
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	cfg.UseSandbox(sim.Env())
	cfg.Transport = "http"
	cfg.LogLevel = "debug"
	if o.Defaults {
		h.o.TierTimeout, h.o.CallTimeout = cfg.Tiers.MCP.Timeout, cfg.CallTimeout
	} else {
		cfg.BreakerThreshold = o.Threshold
		cfg.BreakerTimeout = o.BreakerTimeout
		cfg.CallTimeout = o.CallTimeout
		cfg.BulkTimeout = o.CallTimeout // these short deadlines bound bulk calls too, unless Tune says otherwise
		for _, s := range []*config.TierSettings{&cfg.Tiers.MCP.TierSettings, &cfg.Tiers.Bulk.TierSettings, &cfg.Tiers.REST.TierSettings} {
			s.Timeout = o.TierTimeout
			s.MaxRetries = o.MaxRetries
		}
	}
	cfg.HTTP.ReadHeaderTimeout = 300 * time.Millisecond
	cfg.HTTP.ShutdownGrace = 2 * time.Second
	if o.Tune != nil {
		o.Tune(cfg)
	}
	if err := cfg.Validate(); err != nil {
		sim.Close()
		t.Fatal(err)
	}
	h.cfg = cfg
	pol, err := permissions.Parse([]byte(policyYAML))
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := app.Build(cfg, app.Options{Policy: pol, Logger: logger, Version: "faults", TempDir: t.TempDir()})
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	h.app = app
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		app.Close()
		sim.Close()
		t.Fatal(err)
	}
	h.base = "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.ServeHTTP(ctx, ln) }()
	h.hc = &http.Client{Transport: &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 16}}

	t.Cleanup(func() {
		h.mu.Lock()
		for _, c := range h.clients {
			_ = c.Close()
		}
		h.mu.Unlock()
		stop()
		if err := <-served; err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
		h.hc.CloseIdleConnections()
		_ = app.Close()
		_ = sim.Close()
		h.assertNoSecrets("the proxy's logs", h.logs.String())
		h.checkLogLines()
	})
	return h
}

// assertNoSecrets fails the test if s holds any secret of the harness.
func (h *harness) assertNoSecrets(where, s string) {
	h.t.Helper()
	for _, sec := range h.secrets {
		if sec != "" && strings.Contains(s, sec) {
			h.t.Errorf("SECRET LEAK: %s contain the secret %.6s…", where, sec)
		}
	}
	if m := zohoToken.FindString(s); m != "" {
		h.t.Errorf("SECRET LEAK: %s contain a Zoho token %.9s…", where, m)
	}
}

// client returns the MCP client of profile (connected once, with its bearer
// token).
func (h *harness) client(profile string) *mcpclient.Client {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.clients[profile]; ok {
		return c
	}
	c, err := mcpclient.NewStreamableHttpClient(h.base+server.PathMCP,
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + profileTokens[profile]}),
		transport.WithHTTPBasicClient(h.hc))
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		h.t.Fatal(err)
	}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationProgress) {
			return
		}
		f := n.Params.AdditionalFields
		num := func(k string) float64 { v, _ := f[k].(float64); return v }
		msg, _ := f["message"].(string)
		h.mu.Lock()
		tok := fmt.Sprint(f["progressToken"])
		h.progress[tok] = append(h.progress[tok], progressNote{Progress: num("progress"), Total: num("total"), Message: msg})
		h.mu.Unlock()
	})
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "faults-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		h.t.Fatalf("initialize as %s: %v", profile, err)
	}
	h.clients[profile] = c
	return c
}

// attempt and route mirror tiers.Attempt and tiers.Route as they reach the
// agent in _meta["zoho-mcp-proxy/route"].
type attempt struct {
	Tier    string `json:"tier"`
	Outcome string `json:"outcome"`
	Error   string `json:"error"`
}

type route struct {
	Tier       string    `json:"tier"`
	Attempts   []attempt `json:"attempts"`
	DurationMS int64     `json:"duration_ms"`
}

func (r route) String() string {
	var parts []string
	for _, a := range r.Attempts {
		p := a.Tier + ":" + a.Outcome
		if a.Error != "" {
			p += "(" + clip(a.Error, 160) + ")"
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("served by %q via [%s]", r.Tier, strings.Join(parts, " "))
}

// outcomesOn returns the outcomes of the attempts on tier.
func (r route) outcomesOn(tier string) []string {
	var out []string
	for _, a := range r.Attempts {
		if a.Tier == tier {
			out = append(out, a.Outcome)
		}
	}
	return out
}

// result is one tool call as the agent sees it.
type result struct {
	res   *mcp.CallToolResult
	err   error // JSON-RPC or transport error
	sc    map[string]any
	raw   []byte // structured content as JSON
	route route
	hasRt bool
	text  string
	dur   time.Duration
	isErr bool
	dump  string // for failure messages
}

// call calls tool as profile and decodes the result; it also checks the
// result for secrets.
func (h *harness) call(profile, tool string, args any) result {
	h.t.Helper()
	return h.callWith(profile, tool, args, "")
}

// notes returns the progress notifications received for token.
func (h *harness) notes(token string) []progressNote {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]progressNote(nil), h.progress[token]...)
}

// callWith is call with a progressToken (none when "").
func (h *harness) callWith(profile, tool string, args any, progressToken string) result {
	h.t.Helper()
	c := h.client(profile)
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	if progressToken != "" {
		req.Params.Meta = &mcp.Meta{ProgressToken: progressToken}
	}
	// The client's own limit is a safety net above the proxy's deadline,
	// not an assertion: a bulk call cut at its deadline still builds and
	// sends a job handle with one pending outcome per record (thousands,
	// 100 KB of text), which takes seconds under -race on a loaded machine.
	wait := h.o.CallTimeout + 5*time.Second
	if tool == "bulk_read_accounts" || tool == "bulk_update_accounts" {
		wait = max(h.o.CallTimeout, h.cfg.BulkTimeout) + 30*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	t0 := time.Now()
	res, err := c.CallTool(ctx, req)
	out := result{res: res, err: err, dur: time.Since(t0)}
	if err != nil {
		out.dump = "call error: " + err.Error()
		h.assertNoSecrets("a JSON-RPC error of "+tool, err.Error())
		return out
	}
	h.calls.Add(1)
	out.isErr = res.IsError
	out.raw, _ = json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(out.raw, &out.sc)
	if res.Meta != nil {
		if r, ok := res.Meta.AdditionalFields["zoho-mcp-proxy/route"]; ok {
			b, _ := json.Marshal(r)
			out.hasRt = json.Unmarshal(b, &out.route) == nil
		}
	}
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			out.text += tc.Text
		}
	}
	whole, _ := json.Marshal(res)
	h.assertNoSecrets("the result of "+tool, string(whole))
	out.dump = fmt.Sprintf("isError=%v text=%q route=%s (%v)", out.isErr, clip(out.text, 600), out.route, out.dur.Round(time.Millisecond))
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// breaker is one tier's breaker as get_tier_health shows it.
type breaker struct {
	State        string `json:"state"`
	FailureCount int    `json:"failure_count"`
	SuccessCount int    `json:"success_count"`
}

// health returns tier → breaker from get_tier_health (as ops).
func (h *harness) health() map[string]breaker {
	h.t.Helper()
	r := h.call(profOps, "get_tier_health", map[string]any{})
	if r.err != nil || r.isErr {
		h.t.Fatalf("get_tier_health: %s", r.dump)
	}
	var body struct {
		Tiers []struct {
			Tier string  `json:"tier"`
			CB   breaker `json:"circuit_breaker"`
		} `json:"tiers"`
	}
	if err := json.Unmarshal(r.raw, &body); err != nil {
		h.t.Fatalf("get_tier_health: %v", err)
	}
	out := map[string]breaker{}
	for _, t := range body.Tiers {
		out[t.Tier] = t.CB
	}
	return out
}

// ids returns the first n account ids of the emulator, starting at from.
func (h *harness) ids(from, n int) []string {
	all := h.sim.Store().IDs()
	return append([]string(nil), all[from:from+n]...)
}

// field reads a field of a record from the emulator's store.
func (h *harness) field(id, name string) any {
	r, ok := h.sim.Store().Get(id)
	if !ok {
		return nil
	}
	return r[name]
}

// warmUp probes every tier (an MCP session, a token per Zoho tier) so that a
// fault strikes a proxy already in service. A probe that fails on a busy
// machine is tried again, a few times.
func (h *harness) warmUp() {
	h.t.Helper()
	var last string
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 4*h.o.TierTimeout)
		fs := h.app.Probe(ctx, 2*h.o.TierTimeout)
		cancel()
		last = ""
		for _, f := range fs {
			if f.Level != config.LevelOK {
				last += f.Subject + ": " + f.Message + "; "
			}
		}
		if last == "" {
			return
		}
	}
	h.t.Fatalf("warm-up probe: %s", last)
}

// waitIdle waits, at most limit, until no request is in flight on surface sf.
// It polls: the emulator's request log is the only witness (the emulator
// imports nothing of the proxy and offers no completion signal), and the
// requests it waits for run on the emulator's real clock.
func (h *harness) waitIdle(sf zohosim.Surface, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		busy := false
		for _, r := range h.sim.Requests() {
			if r.Surface == sf && r.Status == 0 {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkLogLines checks the proxy's JSON log: every line one JSON object
// without repeated keys, and one "tool call" line (tool, profile, tier,
// attempts, duration, outcome: SPEC §8) per tool call answered.
func (h *harness) checkLogLines() {
	h.t.Helper()
	calls := 0
	var dups []string
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		if line == "" {
			continue
		}
		keys, err := topKeys(line)
		if err != nil {
			h.t.Errorf("log line is not a JSON object (%v): %s", err, clip(line, 200))
			continue
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				dups = append(dups, k+" in "+clip(line, 160))
			}
			seen[k] = true
		}
		if strings.Contains(line, `"msg":"tool call"`) && seen["profile"] && seen["tool"] && seen["outcome"] && seen["attempts"] && seen["duration_ms"] {
			calls++
		}
	}
	if len(dups) > 0 {
		h.t.Errorf("%d log lines repeat a key, e.g. %s", len(dups), dups[0])
	}
	if n := int(h.calls.Load()); calls < n {
		h.t.Errorf("%d tool calls answered, but only %d \"tool call\" log lines with tool, profile, tier, attempts, duration and outcome", n, calls)
	}
}

// topKeys returns the keys of the JSON object in line, in order, repeats
// included.
func topKeys(line string) ([]string, error) {
	keys, _, err := tierstest.LogKeys(line)
	return keys, err
}
