package router

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// fakeCall is what a fake tier received.
type fakeCall struct {
	Op          tiers.OpKind
	Req         any // the request struct, by value
	Scopes      []string
	Budget      tiers.RetryBudget
	HasBudget   bool
	Deadline    time.Time
	HasDeadline bool
}

// crm is the records store that fake tiers share, standing in for Zoho.
type crm struct {
	mu      sync.Mutex
	records map[string]tiers.Record
}

func newCRM(n int) *crm {
	c := &crm{records: map[string]tiers.Record{}}
	for i := range n {
		id := fmt.Sprint(1000 + i)
		c.records[id] = tiers.Record{"id": id, "Account_Name": "Acct " + id, "Phone": "555-0100",
			"Annual_Revenue": json.Number("100"), "Owner": map[string]any{"id": "77", "name": "Ann"}}
	}
	return c
}

func (c *crm) get(id string, fields []string) (tiers.Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[id]
	if !ok {
		return nil, false
	}
	out := tiers.Record{"id": id}
	for _, f := range fields {
		out[f] = r[f]
	}
	if len(fields) == 0 {
		maps.Copy(out, r)
	}
	return out, true
}

func (c *crm) apply(id string, data tiers.Record) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[id]
	if !ok {
		return false
	}
	for k, v := range data {
		// Zoho hands numbers back as json.Number.
		switch v := v.(type) {
		case float64:
			r[k] = json.Number(fmt.Sprint(v))
		case int:
			r[k] = json.Number(fmt.Sprint(v))
		default:
			r[k] = v
		}
	}
	return true
}

// fakeTier is a configurable in-process tier that records every call.
type fakeTier struct {
	name         tiers.Name
	unconfigured bool
	unsupported  map[tiers.OpKind]bool
	store        *crm // nil: answers with empty results

	// behave, if set, runs first on every call; a non-nil error is returned
	// as the call's result (nothing else happens).
	behave func(ctx context.Context, n int, c fakeCall) error
	// bulk, if set, replaces BulkUpdate.
	bulk func(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error)
	// bulkRead, if set, replaces BulkRead.
	bulkRead func(ctx context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error)

	mu    sync.Mutex
	calls []fakeCall
}

var _ tiers.Tier = (*fakeTier)(nil)

func (f *fakeTier) Name() tiers.Name              { return f.name }
func (f *fakeTier) Configured() bool              { return !f.unconfigured }
func (f *fakeTier) Supports(op tiers.OpKind) bool { return !f.unsupported[op] }
func (f *fakeTier) Probe(context.Context) error   { return nil }

func (f *fakeTier) enter(ctx context.Context, op tiers.OpKind, req any) error {
	c := fakeCall{Op: op, Req: req, Scopes: tiers.ScopesFrom(ctx)}
	c.Budget, c.HasBudget = tiers.RetryBudgetFrom(ctx)
	c.Deadline, c.HasDeadline = ctx.Deadline()
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if f.behave != nil {
		return f.behave(ctx, n, c)
	}
	return nil
}

// Calls returns a copy of the calls received.
func (f *fakeTier) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeTier) callsOf(op tiers.OpKind) []fakeCall {
	var out []fakeCall
	for _, c := range f.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeTier) Get(ctx context.Context, req tiers.GetRequest) (tiers.Record, error) {
	if err := f.enter(ctx, tiers.OpGet, req); err != nil {
		return nil, err
	}
	if f.store == nil {
		return tiers.Record{"id": req.ID}, nil
	}
	r, ok := f.store.get(req.ID, req.Fields)
	if !ok {
		return nil, tiers.NotFound(f.name, req.Module, req.ID)
	}
	return r, nil
}

func (f *fakeTier) List(ctx context.Context, req tiers.ListRequest) (tiers.Page, error) {
	if err := f.enter(ctx, tiers.OpList, req); err != nil {
		return tiers.Page{}, err
	}
	var p tiers.Page
	if f.store != nil {
		for _, id := range req.IDs {
			if r, ok := f.store.get(id, req.Fields); ok {
				p.Records = append(p.Records, r)
			}
		}
	}
	return p, nil
}

func (f *fakeTier) Search(ctx context.Context, req tiers.SearchRequest) (tiers.Page, error) {
	if err := f.enter(ctx, tiers.OpSearch, req); err != nil {
		return tiers.Page{}, err
	}
	return tiers.Page{}, nil
}

func (f *fakeTier) Update(ctx context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
	if err := f.enter(ctx, tiers.OpUpdate, req); err != nil {
		return tiers.Outcome{ID: req.ID, Status: tiers.StatusUnknown}, err
	}
	if f.store != nil && !f.store.apply(req.ID, req.Data) {
		e := &tiers.Error{Tier: f.name, Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "the id given seems to be invalid"}
		return tiers.Outcome{ID: req.ID, Status: tiers.StatusError, Code: e.Code, Message: e.Message}, e
	}
	return tiers.Outcome{ID: req.ID, Status: tiers.StatusSuccess, Code: "SUCCESS", Message: "record updated"}, nil
}

func (f *fakeTier) BulkUpdate(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	if err := f.enter(ctx, tiers.OpBulkUpdate, req); err != nil {
		return tiers.BulkUpdateResult{}, err
	}
	if f.bulk != nil {
		return f.bulk(ctx, req)
	}
	res := tiers.BulkUpdateResult{Strategy: "fake-" + string(f.name), Calls: 1, Credits: 1}
	for _, u := range req.Updates {
		if f.store != nil {
			f.store.apply(u.ID, u.Data)
		}
		res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess, Code: "SUCCESS"})
	}
	return res, nil
}

func (f *fakeTier) BulkRead(ctx context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
	if err := f.enter(ctx, tiers.OpBulkRead, req); err != nil {
		return tiers.BulkReadResult{}, err
	}
	if f.bulkRead != nil {
		return f.bulkRead(ctx, req, sink)
	}
	n := 0
	for _, id := range req.IDs {
		if err := sink.Write(tiers.Record{"id": id, "via": string(f.name)}); err != nil {
			return tiers.BulkReadResult{Count: n}, err
		}
		n++
	}
	return tiers.BulkReadResult{Count: n, Strategy: "fake", Calls: 1}, nil
}

// newFakes returns the three tiers, named and ordered by default priority.
func newFakes() (mcp, bulk, rest *fakeTier) {
	return &fakeTier{name: tiers.MCP, unsupported: map[tiers.OpKind]bool{tiers.OpBulkRead: true, tiers.OpBulkUpdate: true}},
		&fakeTier{name: tiers.Bulk},
		&fakeTier{name: tiers.REST}
}

// failWith returns a behave func that fails every call with err.
func failWith(err error) func(context.Context, int, fakeCall) error {
	return func(context.Context, int, fakeCall) error { return err }
}

// hang blocks until the call's context ends and returns its error.
func hang(ctx context.Context, _ int, _ fakeCall) error {
	<-ctx.Done()
	return ctx.Err()
}

func classErr(t tiers.Name, c tiers.Class) *tiers.Error {
	e := &tiers.Error{Tier: t, Class: c, Message: c.String() + " (fake)"}
	if c == tiers.ClassVerdict {
		e.Code, e.Message, e.HTTPStatus = "INVALID_DATA", "the field api name given seems to be invalid", 400
	}
	return e
}

// memSink is a RecordSink in memory.
type memSink struct {
	mu      sync.Mutex
	records []tiers.Record
	resets  int
}

func (s *memSink) Write(r tiers.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r)
	return nil
}

func (s *memSink) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = nil
	s.resets++
	return nil
}
