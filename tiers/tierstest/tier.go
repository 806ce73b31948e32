package tierstest

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

// Store is an in-memory set of records standing in for Zoho; fake tiers
// that share one see each other's writes. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	records map[string]tiers.Record
}

// NewStore returns a store holding recs, keyed by their "id".
func NewStore(recs ...tiers.Record) *Store {
	s := &Store{records: make(map[string]tiers.Record, len(recs))}
	for _, r := range recs {
		id, _ := r["id"].(string)
		s.records[id] = maps.Clone(r)
	}
	return s
}

// Accounts returns n account records with ids first, first+1, …: the i-th
// is named "Acct i" and has a Phone, an Annual_Revenue (a json.Number, as
// Zoho's numbers decode), an Industry and an Owner lookup.
func Accounts(n int, first int64) []tiers.Record {
	out := make([]tiers.Record, n)
	for i := range n {
		id := fmt.Sprint(first + int64(i))
		out[i] = tiers.Record{"id": id, "Account_Name": fmt.Sprintf("Acct %d", i), "Phone": "555-0100",
			"Annual_Revenue": json.Number("1000000"), "Industry": "Retail", "Owner": map[string]any{"id": "77", "name": "Ann"}}
	}
	return out
}

// Get returns a copy of record id, only fields (and id) when fields is not
// empty.
func (s *Store) Get(id string, fields []string) (tiers.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return nil, false
	}
	if len(fields) == 0 {
		return maps.Clone(r), true
	}
	out := tiers.Record{"id": id}
	for _, f := range fields {
		out[f] = r[f]
	}
	return out, true
}

// Apply writes data to record id, numbers as json.Number (as Zoho hands
// them back); false when there is no such record.
func (s *Store) Apply(id string, data tiers.Record) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return false
	}
	for k, v := range data {
		switch v := v.(type) {
		case float64, int:
			r[k] = json.Number(fmt.Sprint(v))
		default:
			r[k] = v
		}
	}
	return true
}

// IDs returns the ids of the records, sorted.
func (s *Store) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.records))
}

// page returns the first limit records in id order (the fake does not page
// further: its next-page token says where the next page would start).
func (s *Store) page(limit int) tiers.Page {
	var recs []tiers.Record
	for _, id := range s.IDs() {
		if limit > 0 && len(recs) == limit {
			return tiers.Page{Records: recs, MoreRecords: true, NextPageToken: tiers.Cursor{Offset: limit}.Encode()}
		}
		r, _ := s.Get(id, nil)
		recs = append(recs, r)
	}
	return tiers.Page{Records: recs}
}

// Call is what a fake tier received.
type Call struct {
	Op          tiers.OpKind
	Req         any // the request struct, by value
	Scopes      []string
	Budget      tiers.RetryBudget
	HasBudget   bool
	Deadline    time.Time
	HasDeadline bool
}

// Tier is a fake tier that records every call. Over a Store it reads and
// writes the store's records like Zoho would (a missing record is
// tiers.NotFound on a read and an INVALID_DATA verdict on a write); without
// one it answers every call with an empty success. The function fields,
// when set, change that; set them before the tier is used.
type Tier struct {
	// Unconfigured makes Configured false.
	Unconfigured bool
	// Unsupported lists the operations Supports refuses.
	Unsupported map[tiers.OpKind]bool
	// Store holds the records; nil answers every call with an empty success.
	Store *Store
	// Behave, if set, runs first on every call with the call's index and
	// what it received; a non-nil error is the call's result.
	Behave func(ctx context.Context, n int, c Call) error
	// OnUpdate, OnBulkUpdate and OnBulkRead, if set, replace the operation.
	OnUpdate     func(ctx context.Context, req tiers.UpdateRequest) (tiers.Outcome, error)
	OnBulkUpdate func(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error)
	OnBulkRead   func(ctx context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error)
	// OnCreate, OnRelated and OnMetadata, if set, replace the operations of
	// tiers.ModuleTier.
	OnCreate   func(ctx context.Context, req tiers.CreateRequest) (tiers.CreateResult, error)
	OnRelated  func(ctx context.Context, req tiers.RelatedRequest) (tiers.Page, error)
	OnMetadata func(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error)
	// Meta is the org's metadata Metadata answers with: the modules, and
	// each module's fields and related lists by module API name. A module
	// Meta does not list is Zoho's INVALID_MODULE verdict.
	Meta OrgMeta
	// Now stamps Created_Time on the records Create adds; nil means
	// time.Now.
	Now func() time.Time

	name  tiers.Name
	mu    sync.Mutex
	calls []Call
}

var _ tiers.Tier = (*Tier)(nil)

// NewTier returns a fake tier called name over store (nil for none).
func NewTier(name tiers.Name, store *Store) *Tier { return &Tier{name: name, Store: store} }

// FailWith is a Behave that fails every call with err.
func FailWith(err error) func(context.Context, int, Call) error {
	return func(context.Context, int, Call) error { return err }
}

// Hang is a Behave that blocks every call until its context ends and
// returns the context's error.
func Hang(ctx context.Context, _ int, _ Call) error {
	<-ctx.Done()
	return ctx.Err()
}

// Name returns the tier's name.
func (f *Tier) Name() tiers.Name { return f.name }

// Configured reports !Unconfigured.
func (f *Tier) Configured() bool { return !f.Unconfigured }

// Supports reports whether op is not in Unsupported.
func (f *Tier) Supports(op tiers.OpKind) bool { return !f.Unsupported[op] }

// Probe succeeds.
func (f *Tier) Probe(context.Context) error { return nil }

// Calls returns a copy of the calls received, in order.
func (f *Tier) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CallsOf returns the calls of operation op.
func (f *Tier) CallsOf(op tiers.OpKind) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (f *Tier) enter(ctx context.Context, op tiers.OpKind, req any) error {
	c := Call{Op: op, Req: req, Scopes: tiers.ScopesFrom(ctx)}
	c.Budget, c.HasBudget = tiers.RetryBudgetFrom(ctx)
	c.Deadline, c.HasDeadline = ctx.Deadline()
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if f.Behave != nil {
		return f.Behave(ctx, n, c)
	}
	return nil
}

// Get reads one record.
func (f *Tier) Get(ctx context.Context, req tiers.GetRequest) (tiers.Record, error) {
	if err := f.enter(ctx, tiers.OpGet, req); err != nil {
		return nil, err
	}
	if f.Store == nil {
		return tiers.Record{"id": req.ID}, nil
	}
	r, ok := f.Store.Get(req.ID, req.Fields)
	if !ok {
		return nil, tiers.NotFound(f.name, req.Module, req.ID)
	}
	return r, nil
}

// List reads the records of req.IDs, or the first page of the store.
func (f *Tier) List(ctx context.Context, req tiers.ListRequest) (tiers.Page, error) {
	if err := f.enter(ctx, tiers.OpList, req); err != nil {
		return tiers.Page{}, err
	}
	if f.Store == nil {
		return tiers.Page{}, nil
	}
	if req.IDs == nil && req.Filters != nil {
		return f.Store.filtered(req.Filters, req.Fields, req.Limit, req.SortOrder == "desc"), nil
	}
	if req.IDs == nil {
		return f.Store.page(req.Limit), nil
	}
	var p tiers.Page
	for _, id := range req.IDs {
		if r, ok := f.Store.Get(id, req.Fields); ok {
			p.Records = append(p.Records, r)
		}
	}
	return p, nil
}

// Search returns the first page of the store: every record matches.
func (f *Tier) Search(ctx context.Context, req tiers.SearchRequest) (tiers.Page, error) {
	if err := f.enter(ctx, tiers.OpSearch, req); err != nil {
		return tiers.Page{}, err
	}
	if f.Store == nil {
		return tiers.Page{}, nil
	}
	return f.Store.page(req.Limit), nil
}

// invalidID is Zoho's verdict on a write to a record that does not exist.
func (f *Tier) invalidID() *tiers.Error {
	return &tiers.Error{Tier: f.name, Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "the id given seems to be invalid"}
}

// Update writes one record.
func (f *Tier) Update(ctx context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
	if err := f.enter(ctx, tiers.OpUpdate, req); err != nil {
		return tiers.Outcome{ID: req.ID, Status: tiers.StatusUnknown}, err
	}
	if f.OnUpdate != nil {
		return f.OnUpdate(ctx, req)
	}
	if f.Store != nil && !f.Store.Apply(req.ID, req.Data) {
		e := f.invalidID()
		return tiers.Outcome{ID: req.ID, Status: tiers.StatusError, Code: e.Code, Message: e.Message}, e
	}
	return tiers.Outcome{ID: req.ID, Status: tiers.StatusSuccess, Code: "SUCCESS", Message: "record updated"}, nil
}

// BulkUpdate writes many records: one outcome each, in input order, with
// the strategy "fake-<tier>" and one call and credit per 100 records.
func (f *Tier) BulkUpdate(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	if err := f.enter(ctx, tiers.OpBulkUpdate, req); err != nil {
		return tiers.BulkUpdateResult{}, err
	}
	if f.OnBulkUpdate != nil {
		return f.OnBulkUpdate(ctx, req)
	}
	calls := (len(req.Updates) + tiers.MaxRecordsPerWrite - 1) / tiers.MaxRecordsPerWrite
	res := tiers.BulkUpdateResult{Strategy: "fake-" + string(f.name), Calls: calls, Credits: calls}
	for _, u := range req.Updates {
		if f.Store != nil && !f.Store.Apply(u.ID, u.Data) {
			e := f.invalidID()
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusError, Code: e.Code, Message: e.Message})
			continue
		}
		res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess, Code: "SUCCESS"})
	}
	return res, nil
}

// BulkRead writes the records of req.IDs (every record of the store when
// IDs is nil) to sink; without a store, a record {"id", "via": <tier>} per
// id of req.IDs.
func (f *Tier) BulkRead(ctx context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
	if err := f.enter(ctx, tiers.OpBulkRead, req); err != nil {
		return tiers.BulkReadResult{}, err
	}
	if f.OnBulkRead != nil {
		return f.OnBulkRead(ctx, req, sink)
	}
	res := tiers.BulkReadResult{Strategy: "fake-" + string(f.name), Calls: 1, Credits: 1}
	ids := req.IDs
	if ids == nil && f.Store != nil {
		ids = f.Store.IDs()
	}
	for _, id := range ids {
		r := tiers.Record{"id": id, "via": string(f.name)}
		if f.Store != nil {
			var ok bool
			if r, ok = f.Store.Get(id, req.Fields); !ok {
				continue
			}
		}
		if err := sink.Write(r); err != nil {
			return res, err
		}
		res.Count++
	}
	return res, nil
}
