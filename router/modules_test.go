package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// applyCreateThenLose returns an OnCreate that adds the records to store (as
// Zoho would) and then reports that no answer came.
func applyCreateThenLose(store *tierstest.Store, name tiers.Name, now func() time.Time) func(context.Context, tiers.CreateRequest) (tiers.CreateResult, error) {
	return func(_ context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
		res := tiers.CreateResult{Calls: 1}
		for _, r := range req.Records {
			store.Add(r, now())
			res.Outcomes = append(res.Outcomes, tiers.CreateOutcome{Outcome: tiers.Outcome{Status: tiers.StatusUnknown}})
		}
		return res, &tiers.Error{Tier: name, Class: tiers.ClassOutcomeUnknown, Message: "sent; no answer within the timeout"}
	}
}

// loseCreate reports that no answer came without adding anything.
func loseCreate(name tiers.Name) func(context.Context, tiers.CreateRequest) (tiers.CreateResult, error) {
	return func(_ context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
		res := tiers.CreateResult{Calls: 1, Outcomes: make([]tiers.CreateOutcome, len(req.Records))}
		for i := range res.Outcomes {
			res.Outcomes[i].Status = tiers.StatusUnknown
		}
		return res, &tiers.Error{Tier: name, Class: tiers.ClassOutcomeUnknown, Message: "sent; no answer"}
	}
}

// countWith returns how many records of store hold value under field.
func countWith(store *tierstest.Store, field, value string) int {
	n := 0
	for _, id := range store.IDs() {
		if r, _ := store.Get(id, nil); r[field] == value {
			n++
		}
	}
	return n
}

func TestCreateNeverResendsBlindly(t *testing.T) {
	t.Parallel()
	contact := func() tiers.Record {
		return tiers.Record{"Last_Name": "Lovelace", "Email": "ada@example.com", "Account_Name": map[string]any{"id": "1001"}}
	}
	unique := []string{"Email"}
	tests := []struct {
		name         string
		unique       []string
		setup        func(cfg *Config, store *tierstest.Store, mcp, bulk, rest *tierstest.Tier)
		wantAttempts []string
		wantStatus   tiers.OutcomeStatus
		wantMsg      string
		wantCopies   int  // records named Lovelace in the store afterwards
		wantErr      bool // ClassOutcomeUnknown
		wantCreates  map[tiers.Name]int
	}{
		{
			name:         "served by tier 1",
			setup:        func(*Config, *tierstest.Store, *tierstest.Tier, *tierstest.Tier, *tierstest.Tier) {},
			wantAttempts: []string{"MCP:success"}, wantStatus: tiers.StatusSuccess, wantCopies: 1,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
		{
			name: "tier 1 down before sending: tier 2 creates, no look-up",
			setup: func(_ *Config, _ *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnavailable))
			},
			wantAttempts: []string{"MCP:unavailable", "BULK:success"}, wantStatus: tiers.StatusSuccess, wantCopies: 1,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1, tiers.Bulk: 1},
		},
		{
			name: "applied, answer lost: found by its fields, not sent again",
			setup: func(_ *Config, store *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				mcp.OnCreate = applyCreateThenLose(store, tiers.MCP, time.Now)
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled"}, wantStatus: tiers.StatusSuccess,
			wantMsg: "reconciled: created by an earlier attempt", wantCopies: 1,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
		{
			name: "applied, tier hangs (the router's timeout): found, not sent again",
			setup: func(cfg *Config, store *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				cfg.Tiers = DefaultTierConfigs()
				cfg.Tiers[0].Timeout = 30 * time.Millisecond
				mcp.OnCreate = func(ctx context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
					for _, r := range req.Records {
						store.Add(r, time.Now())
					}
					<-ctx.Done()
					return tiers.CreateResult{}, ctx.Err()
				}
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled"}, wantStatus: tiers.StatusSuccess,
			wantMsg: "found by its fields through BULK", wantCopies: 1,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
		{
			name: "look-up fails on BULK: REST looks it up",
			setup: func(_ *Config, store *tierstest.Store, mcp, bulk, _ *tierstest.Tier) {
				mcp.OnCreate = applyCreateThenLose(store, tiers.MCP, time.Now)
				bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassUnavailable))
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:unavailable", "REST:reconciled"}, wantStatus: tiers.StatusSuccess,
			wantCopies: 1, wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
		{
			name: "not applied, no unique field: reported unknown, never sent again",
			setup: func(_ *Config, _ *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				mcp.OnCreate = loseCreate(tiers.MCP)
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled"}, wantStatus: tiers.StatusUnknown,
			wantMsg: "it was not sent again, since it sets no unique field", wantCopies: 0, wantErr: true,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
		{
			name:   "not applied, sets a unique field: sent again safely",
			unique: unique,
			setup: func(_ *Config, _ *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				mcp.OnCreate = loseCreate(tiers.MCP)
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled", "BULK:success"}, wantStatus: tiers.StatusSuccess,
			wantCopies: 1, wantCreates: map[tiers.Name]int{tiers.MCP: 1, tiers.Bulk: 1},
		},
		{
			name:   "applied but not yet searchable: the resend is refused as a duplicate of it, which settles it",
			unique: unique,
			setup: func(_ *Config, store *tierstest.Store, mcp, bulk, _ *tierstest.Tier) {
				mcp.OnCreate = applyCreateThenLose(store, tiers.MCP, time.Now)
				bulk.OnCreate = func(_ context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
					dup := store.IDs()[len(store.IDs())-1]
					return tiers.CreateResult{Calls: 1, Outcomes: []tiers.CreateOutcome{{
						Outcome: tiers.Outcome{Status: tiers.StatusError, Code: "DUPLICATE_DATA", Message: "duplicate data"},
						Details: map[string]any{"api_name": "Email", "duplicate_record": map[string]any{"id": dup}}}}}, nil
				}
				// The search index lags: the look-up finds nothing (a
				// fake without a store lists nothing).
				bulk.Store = nil
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled", "BULK:success", "BULK:reconciled"},
			wantStatus:   tiers.StatusSuccess, wantMsg: "refused a second copy as a duplicate of it", wantCopies: 1,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1, tiers.Bulk: 1},
		},
		{
			name: "no tier can look it up: honest outcome unknown",
			setup: func(_ *Config, store *tierstest.Store, mcp, bulk, rest *tierstest.Tier) {
				mcp.OnCreate = applyCreateThenLose(store, tiers.MCP, time.Now)
				bulk.Behave = tierstest.FailWith(classErr(tiers.Bulk, tiers.ClassUnavailable))
				rest.Behave = tierstest.FailWith(classErr(tiers.REST, tiers.ClassRateLimited))
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:unavailable", "REST:rate_limited"}, wantStatus: tiers.StatusUnknown,
			wantMsg: "no tier could look it up", wantCopies: 1, wantErr: true,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
		{
			name: "an older record with the same values does not count",
			setup: func(_ *Config, store *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				store.Add(contact(), time.Now().Add(-time.Hour))
				mcp.OnCreate = loseCreate(tiers.MCP)
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled"}, wantStatus: tiers.StatusUnknown,
			wantCopies: 1, wantErr: true, wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
		{
			name: "two new records hold its values: unknown, both named",
			setup: func(_ *Config, store *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				store.Add(contact(), time.Now())
				mcp.OnCreate = applyCreateThenLose(store, tiers.MCP, time.Now)
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled"}, wantStatus: tiers.StatusUnknown,
			wantMsg: "2 new records hold its values", wantCopies: 2, wantErr: true,
			wantCreates: map[tiers.Name]int{tiers.MCP: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := tierstest.NewStore()
			e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
				mcp.Store, bulk.Store, rest.Store = store, store, store
				tt.setup(cfg, store, mcp, bulk, rest)
			})
			res, rt, err := e.r.Create(context.Background(), agentRC, tiers.CreateRequest{Module: "Contacts", Records: []tiers.Record{contact()}, Unique: tt.unique})
			if got := outcomes(rt); !slices.Equal(got, tt.wantAttempts) {
				t.Errorf("attempts = %v, want %v", got, tt.wantAttempts)
			}
			if len(res.Outcomes) != 1 {
				t.Fatalf("outcomes = %+v, want 1", res.Outcomes)
			}
			o := res.Outcomes[0]
			if o.Status != tt.wantStatus || !strings.Contains(o.Message, tt.wantMsg) {
				t.Errorf("outcome = %+v, want %s with %q", o, tt.wantStatus, tt.wantMsg)
			}
			if o.Status == tiers.StatusSuccess {
				if r, ok := store.Get(o.ID, nil); !ok || r["Last_Name"] != "Lovelace" {
					t.Errorf("the id %q the outcome names is not the created record", o.ID)
				}
			}
			if n := countWith(store, "Last_Name", "Lovelace"); n != tt.wantCopies {
				t.Errorf("%d records hold its values, want %d", n, tt.wantCopies)
			}
			if (err != nil) != tt.wantErr || err != nil && tiers.Classify(err) != tiers.ClassOutcomeUnknown {
				t.Errorf("err = %v, want an outcome-unknown error: %v", err, tt.wantErr)
			}
			for _, f := range []*tierstest.Tier{e.mcp, e.bulk, e.rest} {
				if n := len(f.CallsOf(tiers.OpCreate)); n != tt.wantCreates[f.Name()] {
					t.Errorf("%s got %d creates, want %d", f.Name(), n, tt.wantCreates[f.Name()])
				}
			}
		})
	}
}

func TestCreateMixedOutcomesAndVerdicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, mcp, _, _ *tierstest.Tier) {
		mcp.OnCreate = func(_ context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
			if req.Module == "Nope" {
				return tiers.CreateResult{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "INVALID_MODULE", Message: "the module name given seems to be invalid"}
			}
			return tiers.CreateResult{Calls: 1, Outcomes: []tiers.CreateOutcome{
				{Outcome: tiers.Outcome{ID: "5725767000000000001", Status: tiers.StatusSuccess}},
				{Outcome: tiers.Outcome{Status: tiers.StatusError, Code: "MANDATORY_NOT_FOUND"}, Details: map[string]any{"api_name": "Last_Name"}},
			}}, nil
		}
	})
	res, rt, err := e.r.Create(context.Background(), agentRC, tiers.CreateRequest{Module: "Contacts", Records: []tiers.Record{{"Last_Name": "a"}, {"First_Name": "b"}}})
	if err != nil || rt.Tier != tiers.MCP || res.Outcomes[0].ID == "" || res.Outcomes[1].Details["api_name"] != "Last_Name" || res.Calls != 1 {
		t.Errorf("mixed create: %+v, %+v, %v", res, rt, err)
	}
	if n := len(e.bulk.Calls()); n != 0 {
		t.Errorf("a per-record verdict moved the call on: BULK got %d calls", n)
	}
	res, _, err = e.r.Create(context.Background(), agentRC, tiers.CreateRequest{Module: "Nope", Records: []tiers.Record{{"Name": "a"}}})
	if tiers.Classify(err) != tiers.ClassVerdict || res.Outcomes[0].Status != tiers.StatusError || res.Outcomes[0].Code != "INVALID_MODULE" {
		t.Errorf("a verdict on the request: %+v, %v", res, err)
	}
	if n := len(e.bulk.Calls()); n != 0 {
		t.Errorf("a verdict moved the call on: BULK got %d calls", n)
	}
}

func TestCreateNoTierCanServe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, mcp, bulk, rest *tierstest.Tier) {
		for _, f := range []*tierstest.Tier{mcp, bulk, rest} {
			f.Behave = tierstest.FailWith(classErr(f.Name(), tiers.ClassUnavailable))
		}
	})
	res, _, err := e.r.Create(context.Background(), agentRC, tiers.CreateRequest{Module: "Contacts", Records: []tiers.Record{{"Last_Name": "a"}}})
	var ue *UnavailableError
	if !errors.As(err, &ue) || res.Outcomes[0].Status != tiers.StatusNotSent {
		t.Errorf("all tiers down: %+v, %v; want not sent and an UnavailableError", res, err)
	}
}

func TestRelatedAndMetadataRouted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, mcp, bulk, _ *tierstest.Tier) {
		mcp.Behave = tierstest.FailWith(classErr(tiers.MCP, tiers.ClassUnsupported))
		bulk.Meta = tierstest.OrgMeta{Modules: []tiers.ModuleMeta{{APIName: "Contacts", APISupported: true}}}
		bulk.OnRelated = func(_ context.Context, req tiers.RelatedRequest) (tiers.Page, error) {
			return tiers.Page{Records: []tiers.Record{{"id": "1", "list": req.List}}}, nil
		}
	})
	md, rt, err := e.r.Metadata(context.Background(), agentRC, tiers.MetadataRequest{Kind: tiers.MetaModules})
	if err != nil || len(md.Modules) != 1 || !slices.Equal(outcomes(rt), []string{"MCP:unsupported", "BULK:success"}) {
		t.Errorf("metadata: %+v %v %v", md, outcomes(rt), err)
	}
	pg, rt, err := e.r.Related(context.Background(), agentRC, tiers.RelatedRequest{Module: "Accounts", ID: "1", List: "Contacts"})
	if err != nil || len(pg.Records) != 1 || pg.Records[0]["list"] != "Contacts" || rt.Tier != tiers.Bulk {
		t.Errorf("related: %+v %+v %v", pg, rt, err)
	}
}

// plainTier is a Tier that is not a ModuleTier.
type plainTier struct{ tiers.Tier }

func TestModuleOpsSkipTiersWithoutThem(t *testing.T) {
	t.Parallel()
	mcp, bulk, rest := newFakes()
	r, err := New(Config{Failover: true}, plainTier{mcp}, bulk, rest)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Plan(RoutingContext{AgentContext: true, OperationType: tiers.OpCreate}); !slices.Equal(got, []tiers.Name{tiers.Bulk, tiers.REST}) {
		t.Errorf("create plan = %v, want BULK, REST (MCP implements no ModuleTier)", got)
	}
	if got := r.Plan(RoutingContext{AgentContext: true, OperationType: tiers.OpGet}); got[0] != tiers.MCP {
		t.Errorf("get plan = %v, want MCP first", got)
	}
}
