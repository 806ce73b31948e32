package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// fakeTier is an in-process tier over a small record store. Every call is
// recorded; the function fields, when set, replace the default behaviour.
type fakeTier struct {
	name tiers.Name

	fail       error // every operation fails with it
	update     func(req tiers.UpdateRequest) (tiers.Outcome, error)
	bulkUpdate func(req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error)
	bulkRead   func(req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error)

	mu      sync.Mutex
	records map[string]tiers.Record
	calls   []fakeCall
}

type fakeCall struct {
	Op     tiers.OpKind
	Req    any
	Scopes []string
}

var _ tiers.Tier = (*fakeTier)(nil)

func newFakeTier(name tiers.Name, n int) *fakeTier {
	f := &fakeTier{name: name, records: map[string]tiers.Record{}}
	for i := range n {
		id := fmt.Sprint(3652397000000000000 + i)
		f.records[id] = tiers.Record{"id": id, "Account_Name": fmt.Sprintf("Acct %d", i), "Phone": "555-0100",
			"Annual_Revenue": json.Number("1000000"), "Industry": "Retail", "Owner": map[string]any{"id": "77", "name": "Ann"}}
	}
	return f
}

func (f *fakeTier) Name() tiers.Name              { return f.name }
func (f *fakeTier) Configured() bool              { return true }
func (f *fakeTier) Supports(op tiers.OpKind) bool { return true }
func (f *fakeTier) Probe(context.Context) error   { return nil }

func (f *fakeTier) enter(ctx context.Context, op tiers.OpKind, req any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{Op: op, Req: req, Scopes: tiers.ScopesFrom(ctx)})
	return f.fail
}

func (f *fakeTier) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeTier) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.records))
	for id := range f.records {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (f *fakeTier) get(id string) (tiers.Record, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.records[id]
	if !ok {
		return nil, false
	}
	c := make(tiers.Record, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c, true
}

func (f *fakeTier) Get(ctx context.Context, req tiers.GetRequest) (tiers.Record, error) {
	if err := f.enter(ctx, tiers.OpGet, req); err != nil {
		return nil, err
	}
	r, ok := f.get(req.ID)
	if !ok {
		return nil, tiers.NotFound(f.name, req.Module, req.ID)
	}
	return r, nil
}

func (f *fakeTier) page(limit int) tiers.Page {
	var recs []tiers.Record
	for _, id := range f.ids() {
		if len(recs) == limit {
			return tiers.Page{Records: recs, MoreRecords: true, NextPageToken: tiers.Cursor{Offset: limit}.Encode()}
		}
		r, _ := f.get(id)
		recs = append(recs, r)
	}
	return tiers.Page{Records: recs}
}

func (f *fakeTier) List(ctx context.Context, req tiers.ListRequest) (tiers.Page, error) {
	if err := f.enter(ctx, tiers.OpList, req); err != nil {
		return tiers.Page{}, err
	}
	if req.IDs != nil {
		var recs []tiers.Record
		for _, id := range req.IDs {
			if r, ok := f.get(id); ok {
				recs = append(recs, r)
			}
		}
		return tiers.Page{Records: recs}, nil
	}
	return f.page(req.Limit), nil
}

func (f *fakeTier) Search(ctx context.Context, req tiers.SearchRequest) (tiers.Page, error) {
	if err := f.enter(ctx, tiers.OpSearch, req); err != nil {
		return tiers.Page{}, err
	}
	return f.page(req.Limit), nil
}

func (f *fakeTier) Update(ctx context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
	if err := f.enter(ctx, tiers.OpUpdate, req); err != nil {
		return tiers.Outcome{}, err
	}
	if f.update != nil {
		return f.update(req)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.records[req.ID]
	if !ok {
		return tiers.Outcome{}, tiers.NotFound(f.name, req.Module, req.ID)
	}
	for k, v := range req.Data {
		r[k] = v
	}
	return tiers.Outcome{ID: req.ID, Status: tiers.StatusSuccess}, nil
}

func (f *fakeTier) BulkUpdate(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	if err := f.enter(ctx, tiers.OpBulkUpdate, req); err != nil {
		return tiers.BulkUpdateResult{}, err
	}
	if f.bulkUpdate != nil {
		return f.bulkUpdate(req)
	}
	res := tiers.BulkUpdateResult{Strategy: "batched-put", Calls: (len(req.Updates) + 99) / 100, Credits: (len(req.Updates) + 99) / 100}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range req.Updates {
		r, ok := f.records[u.ID]
		if !ok {
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusError, Code: "INVALID_DATA", Message: "the id given seems to be invalid"})
			continue
		}
		for k, v := range u.Data {
			r[k] = v
		}
		res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess})
	}
	return res, nil
}

func (f *fakeTier) BulkRead(ctx context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
	if err := f.enter(ctx, tiers.OpBulkRead, req); err != nil {
		return tiers.BulkReadResult{}, err
	}
	if f.bulkRead != nil {
		return f.bulkRead(req, sink)
	}
	ids := req.IDs
	if ids == nil {
		ids = f.ids()
	}
	n := 0
	for _, id := range ids {
		if r, ok := f.get(id); ok {
			if err := sink.Write(r); err != nil {
				return tiers.BulkReadResult{}, err
			}
			n++
		}
	}
	return tiers.BulkReadResult{Count: n, Strategy: "bulk-read-job", Calls: 3, Credits: 50}, nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one tool set over a real router with one fake tier.
type env struct {
	tier   *fakeTier
	router *router.Router
	tools  map[string]Tool
	bulk   *BulkResults
	clock  *fakeClock
}

type envOpt func(*Deps)

func newEnv(t testing.TB, records int, opts ...envOpt) *env {
	t.Helper()
	return newEnvWith(t, []*fakeTier{newFakeTier(tiers.MCP, records)}, opts...)
}

// newEnvWith builds the tools over a router whose tiers are fts, in
// priority order; env.tier is the first.
func newEnvWith(t testing.TB, fts []*fakeTier, opts ...envOpt) *env {
	t.Helper()
	var cfgs []router.TierConfig
	impls := make([]tiers.Tier, len(fts))
	for i, ft := range fts {
		cfgs = append(cfgs, router.TierConfig{Name: ft.name, Enabled: true, Priority: i + 1, Timeout: 5 * time.Second})
		impls[i] = ft
	}
	r, err := router.New(router.Config{Tiers: cfgs, Failover: true}, impls...)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	bulk := NewBulkResults(t.TempDir(), time.Hour, clock.Now)
	t.Cleanup(func() { bulk.Close() })
	d := Deps{Router: r, Bulk: bulk, InlineLimit: 10, Now: clock.Now}
	for _, o := range opts {
		o(&d)
	}
	e := &env{tier: fts[0], router: r, tools: map[string]Tool{}, bulk: d.Bulk, clock: clock}
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

// call runs tool with args (a JSON string) as it arrives over the wire.
func (e *env) call(t testing.TB, prof *permissions.Profile, tool, args string) *mcp.CallToolResult {
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
