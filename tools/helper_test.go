package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// newFakeTier returns a fake tier called name over its own store of n
// accounts with ids acct-1, acct, acct+1, … (3652397000000000000 + i).
func newFakeTier(name tiers.Name, n int) *tierstest.Tier {
	return tierstest.NewTier(name, tierstest.NewStore(tierstest.Accounts(n, 3652397000000000000)...))
}

// newClock is the tools' test clock.
func newClock() *tierstest.Clock {
	return tierstest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
}

// env is one tool set over a real router with one fake tier.
type env struct {
	tier   *tierstest.Tier
	router *router.Router
	tools  map[string]Tool
	bulk   *FileResults
	clock  *tierstest.Clock
}

type envOpt func(*Deps)

func newEnv(t testing.TB, records int, opts ...envOpt) *env {
	t.Helper()
	return newEnvWith(t, []*tierstest.Tier{newFakeTier(tiers.MCP, records)}, opts...)
}

// newEnvWith builds the tools over a router whose tiers are fts, in
// priority order; env.tier is the first.
func newEnvWith(t testing.TB, fts []*tierstest.Tier, opts ...envOpt) *env {
	t.Helper()
	impls := make([]tiers.Tier, len(fts))
	for i, ft := range fts {
		impls[i] = ft
	}
	return newEnvWithTiers(t, fts[0], impls, opts...)
}

// newEnvWithTiers builds the tools over a router whose tiers are impls, in
// priority order; first is the fake behind impls[0] (env.tier).
func newEnvWithTiers(t testing.TB, first *tierstest.Tier, impls []tiers.Tier, opts ...envOpt) *env {
	t.Helper()
	var cfgs []router.TierConfig
	for i, im := range impls {
		cfgs = append(cfgs, router.TierConfig{Name: im.Name(), Enabled: true, Priority: i + 1, Timeout: 5 * time.Second})
	}
	r, err := router.New(router.Config{Tiers: cfgs, Failover: true}, impls...)
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	bulk, err := NewFileResults(FileResultsConfig{Dir: t.TempDir(), TTL: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bulk.Close() })
	d := Deps{Router: r, Bulk: bulk, InlineLimit: 10, Now: clock.Now}
	for _, o := range opts {
		o(&d)
	}
	e := &env{tier: first, router: r, tools: map[string]Tool{}, bulk: bulk, clock: clock}
	for _, tl := range All(d) {
		e.tools[tl.Def.Name] = tl
	}
	return e
}

// Profiles used by the tests.
var (
	profAll    = &permissions.Profile{Name: "ops", Scopes: permissions.AllScopes()}
	profSales  = &permissions.Profile{Name: "sales", Scopes: permissions.AllScopes(), DenyFields: []string{"Annual_Revenue", "Owner"}}
	profReader = &permissions.Profile{Name: "reader", Scopes: []permissions.Scope{permissions.ScopeRead, permissions.ScopeMonitor}}
)

// callerOf is the caller identity the tests give a profile's calls: one
// caller per profile, unless a test names another (callAs).
func callerOf(prof *permissions.Profile) permissions.Caller {
	if prof == nil {
		return ""
	}
	return permissions.Caller("test:" + prof.Name)
}

// call runs tool with args (a JSON string) as it arrives over the wire, as
// the profile's caller (callerOf).
func (e *env) call(t testing.TB, prof *permissions.Profile, tool, args string) *mcp.CallToolResult {
	t.Helper()
	return e.callAs(t, callerOf(prof), prof, tool, args)
}

// callAs runs tool with args as caller with profile prof.
func (e *env) callAs(t testing.TB, caller permissions.Caller, prof *permissions.Profile, tool, args string) *mcp.CallToolResult {
	t.Helper()
	tl, ok := e.tools[tool]
	if !ok {
		t.Fatalf("no tool %s", tool)
	}
	var req mcp.CallToolRequest
	wire := fmt.Sprintf(`{"name":%q,"arguments":%s}`, tool, args)
	if err := json.Unmarshal([]byte(wire), &req.Params); err != nil {
		t.Fatalf("bad test arguments %s: %v", args, err)
	}
	ctx := context.Background()
	if prof != nil {
		ctx = permissions.WithProfile(ctx, prof)
	}
	if caller != "" {
		ctx = permissions.WithCaller(ctx, caller)
	}
	res, err := tl.Handler(ctx, req)
	if err != nil {
		t.Fatalf("%s returned a Go error (a JSON-RPC error) for %s: %v", tool, args, err)
	}
	if res == nil {
		t.Fatalf("%s returned a nil result", tool)
	}
	checkWire(t, tl, res)
	return res
}

// checkWire checks what every result must hold on the wire: the route in
// _meta and, when there is structured content, that it matches the tool's
// output schema (the TypeScript SDK validates it even on error results).
func checkWire(t testing.TB, tl Tool, res *mcp.CallToolResult) {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	var wire struct {
		Meta              map[string]json.RawMessage `json:"_meta"`
		StructuredContent json.RawMessage            `json:"structuredContent"`
		Content           []map[string]any           `json:"content"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	raw, ok := wire.Meta[tiers.RouteMetaKey]
	if !ok {
		t.Fatalf("result has no _meta[%q]: %s", tiers.RouteMetaKey, b)
	}
	var route struct {
		Tier       *string           `json:"tier"`
		Attempts   []json.RawMessage `json:"attempts"`
		DurationMS *int64            `json:"duration_ms"`
	}
	if err := json.Unmarshal(raw, &route); err != nil || route.Tier == nil || route.Attempts == nil || route.DurationMS == nil {
		t.Fatalf("route meta malformed: %s", raw)
	}
	if len(wire.Content) == 0 || wire.Content[0]["type"] != "text" || wire.Content[0]["text"] == "" {
		t.Fatalf("result has no text content: %s", b)
	}
	if len(wire.StructuredContent) > 0 {
		validate(t, tl.Def.RawOutputSchema, wire.StructuredContent)
	} else if !res.IsError {
		t.Fatalf("successful result without structuredContent: %s", b)
	}
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*jsonschema.Schema{}
)

func compileSchema(t testing.TB, s json.RawMessage) *jsonschema.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if c, ok := schemaCache[string(s)]; ok {
		return c
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	loc := fmt.Sprintf("mem://schema/%d.json", len(schemaCache))
	if err := c.AddResource(loc, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		t.Fatalf("schema does not compile: %v\n%s", err, s)
	}
	schemaCache[string(s)] = sch
	return sch
}

// validate fails t unless instance matches schema s.
func validate(t testing.TB, s, instance json.RawMessage) {
	t.Helper()
	if err := validateErr(t, s, instance); err != nil {
		t.Fatalf("instance does not match the schema: %v\ninstance: %s", err, clipBytes(instance))
	}
}

func validateErr(t testing.TB, s, instance json.RawMessage) error {
	sch := compileSchema(t, s)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(instance))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func clipBytes(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

func text(res *mcp.CallToolResult) string {
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	return sb.String()
}

func structured(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// routeOf returns the result's route: a tiers.Route, typed, as the server's
// call log reads it.
func routeOf(t testing.TB, res *mcp.CallToolResult) tiers.Route {
	t.Helper()
	r, ok := res.Meta.GetMetaField(tiers.RouteMetaKey).(tiers.Route)
	if !ok {
		t.Fatalf("_meta[%q] is %T, want a tiers.Route", tiers.RouteMetaKey, res.Meta.GetMetaField(tiers.RouteMetaKey))
	}
	return r
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
