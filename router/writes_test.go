package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// applyThenLose returns a behave func for updates that writes the fields
// keep of the request to store (as Zoho stores them), then reports that no
// answer came. Other operations pass.
func applyThenLose(store *tierstest.Store, name tiers.Name, keep ...string) func(context.Context, int, tierstest.Call) error {
	return func(_ context.Context, _ int, c tierstest.Call) error {
		req, ok := c.Req.(tiers.UpdateRequest)
		if !ok {
			return nil
		}
		part := tiers.Record{}
		for _, k := range keep {
			if v, ok := req.Data[k]; ok {
				if m, ok := v.(map[string]any); ok { // Zoho returns lookups with their name
					v = map[string]any{"id": m["id"], "name": "Someone"}
				}
				part[k] = v
			}
		}
		store.Apply(req.ID, part)
		return &tiers.Error{Tier: name, Class: tiers.ClassOutcomeUnknown, Message: "sent; no answer within the timeout"}
	}
}

// onlyOps wraps behave so that it applies to calls of ops only.
func onlyOps(behave func(context.Context, int, tierstest.Call) error, ops ...tiers.OpKind) func(context.Context, int, tierstest.Call) error {
	return func(ctx context.Context, n int, c tierstest.Call) error {
		if slices.Contains(ops, c.Op) {
			return behave(ctx, n, c)
		}
		return nil
	}
}

func TestUpdateReconcilesUnknownOutcome(t *testing.T) {
	t.Parallel()
	data := func() tiers.Record {
		return tiers.Record{"Account_Name": "Renamed", "Phone": "555-0199", "Annual_Revenue": 250.0, "Owner": map[string]any{"id": "78"}}
	}
	unavailable := func(n tiers.Name) func(context.Context, int, tierstest.Call) error {
		return tierstest.FailWith(classErr(n, tiers.ClassUnavailable))
	}
	tests := []struct {
		name         string
		setup        func(cfg *Config, store *tierstest.Store, mcp, bulk, rest *tierstest.Tier)
		wantAttempts []string
		wantResent   map[tiers.Name][]string // fields each tier was sent in Update
		wantStatus   tiers.OutcomeStatus
		wantMsg      string
		wantClass    tiers.Class // of the error, when wantErr
		wantErr      bool
		wantNotSent  bool // the error says no tier could serve it (nothing sent unanswered)
	}{
		{
			name: "partly applied: only the missing fields are re-sent",
			setup: func(_ *Config, store *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				mcp.Behave = applyThenLose(store, tiers.MCP, "Account_Name", "Owner")
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled", "BULK:success"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}, tiers.Bulk: {"Annual_Revenue", "Phone"}},
			wantStatus:   tiers.StatusSuccess,
			wantMsg:      "reconciled: re-sent the 2 of 4 fields not yet applied",
		},
		{
			name: "fully applied (numbers and lookups normalized): nothing re-sent",
			setup: func(_ *Config, store *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				mcp.Behave = applyThenLose(store, tiers.MCP, "Account_Name", "Phone", "Annual_Revenue", "Owner")
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:   tiers.StatusSuccess,
			wantMsg:      "reconciled: the update had already been applied",
		},
		{
			name: "a write that timed out is unknown, not unavailable",
			setup: func(cfg *Config, _ *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				cfg.Tiers = DefaultTierConfigs()
				cfg.Tiers[0].Timeout = 30 * time.Millisecond
				mcp.Behave = tierstest.Hang
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled", "BULK:success"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}, tiers.Bulk: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:   tiers.StatusSuccess,
			wantMsg:      "re-sent the 4 of 4 fields",
		},
		{
			name: "a write that timed out before it was sent is unavailable, not unknown",
			setup: func(cfg *Config, _ *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				cfg.Tiers = DefaultTierConfigs()
				cfg.Tiers[0].Timeout = 30 * time.Millisecond
				// As tiers/zoho says it: canceled, and no OUTCOME_UNKNOWN
				// code (waiting for a token, or refused 401 before).
				mcp.Behave = func(ctx context.Context, _ int, _ tierstest.Call) error {
					<-ctx.Done()
					return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassCanceled, Message: "canceled while waiting for a Zoho access token", Err: ctx.Err()}
				}
			},
			wantAttempts: []string{"MCP:unavailable", "BULK:success"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}, tiers.Bulk: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:   tiers.StatusSuccess,
		},
		{
			name: "a write the tier marks possibly sent when it timed out is unknown",
			setup: func(cfg *Config, _ *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				cfg.Tiers = DefaultTierConfigs()
				cfg.Tiers[0].Timeout = 30 * time.Millisecond
				mcp.Behave = func(ctx context.Context, _ int, _ tierstest.Call) error {
					<-ctx.Done()
					return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassCanceled, Code: "OUTCOME_UNKNOWN",
						Message: "the caller's deadline passed after PUT was sent: it may or may not have been applied", Err: ctx.Err()}
				}
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled", "BULK:success"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}, tiers.Bulk: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:   tiers.StatusSuccess,
			wantMsg:      "re-sent the 4 of 4 fields",
		},
		{
			name: "no tier could send it before timing out: not sent",
			setup: func(cfg *Config, _ *tierstest.Store, mcp, bulk, rest *tierstest.Tier) {
				cfg.Tiers = DefaultTierConfigs()
				for i := range cfg.Tiers {
					cfg.Tiers[i].Timeout = 30 * time.Millisecond
				}
				notSent := func(ctx context.Context, _ int, c tierstest.Call) error {
					<-ctx.Done()
					return &tiers.Error{Class: tiers.ClassCanceled, Message: "canceled while waiting for a Zoho access token", Err: ctx.Err()}
				}
				mcp.Behave, bulk.Behave, rest.Behave = notSent, notSent, notSent
			},
			wantAttempts: []string{"MCP:unavailable", "BULK:unavailable", "REST:unavailable"},
			wantResent: map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"},
				tiers.Bulk: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}, tiers.REST: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:  tiers.StatusNotSent,
			wantMsg:     "not sent",
			wantNotSent: true,
		},
		{
			name: "read-back fails on BULK: REST reads back and re-sends",
			setup: func(_ *Config, store *tierstest.Store, mcp, bulk, _ *tierstest.Tier) {
				mcp.Behave = applyThenLose(store, tiers.MCP, "Phone")
				bulk.Behave = unavailable(tiers.Bulk)
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:unavailable", "REST:reconciled", "REST:success"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}, tiers.REST: {"Account_Name", "Annual_Revenue", "Owner"}},
			wantStatus:   tiers.StatusSuccess,
		},
		{
			name: "re-send fails after a read-back: the next tier reads back again",
			setup: func(_ *Config, store *tierstest.Store, mcp, bulk, _ *tierstest.Tier) {
				mcp.Behave = applyThenLose(store, tiers.MCP, "Phone")
				bulk.Behave = onlyOps(unavailable(tiers.Bulk), tiers.OpUpdate)
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:reconciled", "BULK:unavailable", "REST:reconciled", "REST:success"},
			wantResent: map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"},
				tiers.Bulk: {"Account_Name", "Annual_Revenue", "Owner"}, tiers.REST: {"Account_Name", "Annual_Revenue", "Owner"}},
			wantStatus: tiers.StatusSuccess,
		},
		{
			name: "no tier can read it back: honest outcome unknown",
			setup: func(_ *Config, store *tierstest.Store, mcp, bulk, rest *tierstest.Tier) {
				mcp.Behave = applyThenLose(store, tiers.MCP, "Phone")
				bulk.Behave = unavailable(tiers.Bulk)
				rest.Behave = tierstest.FailWith(classErr(tiers.REST, tiers.ClassRateLimited))
			},
			wantAttempts: []string{"MCP:outcome_unknown", "BULK:unavailable", "REST:rate_limited"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:   tiers.StatusUnknown,
			wantMsg:      "may or may not have been applied; read the record before retrying",
			wantErr:      true,
			wantClass:    tiers.ClassOutcomeUnknown,
		},
		{
			name: "failover off: the unknown outcome is reported, nothing re-sent",
			setup: func(cfg *Config, store *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				cfg.Failover = false
				mcp.Behave = applyThenLose(store, tiers.MCP, "Phone")
			},
			wantAttempts: []string{"MCP:outcome_unknown"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:   tiers.StatusUnknown,
			wantErr:      true,
			wantClass:    tiers.ClassOutcomeUnknown,
		},
		{
			name: "unavailable before sending: the next tier sends all without reading back",
			setup: func(_ *Config, _ *tierstest.Store, mcp, _, _ *tierstest.Tier) {
				mcp.Behave = unavailable(tiers.MCP)
			},
			wantAttempts: []string{"MCP:unavailable", "BULK:success"},
			wantResent:   map[tiers.Name][]string{tiers.MCP: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}, tiers.Bulk: {"Account_Name", "Annual_Revenue", "Owner", "Phone"}},
			wantStatus:   tiers.StatusSuccess,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newStore(3)
			e := newEnv(t, func(cfg *Config, mcp, bulk, rest *tierstest.Tier) {
				mcp.Store, bulk.Store, rest.Store = store, store, store
				tt.setup(cfg, store, mcp, bulk, rest)
			})
			out, rt, err := e.r.Update(context.Background(), agentRC, tiers.UpdateRequest{Module: "Accounts", ID: "1001", Data: data()})
			if got := outcomes(rt); !slices.Equal(got, tt.wantAttempts) {
				t.Errorf("attempts = %v, want %v", got, tt.wantAttempts)
			}
			for _, f := range []*tierstest.Tier{e.mcp, e.bulk, e.rest} {
				var sent []string
				for _, c := range f.CallsOf(tiers.OpUpdate) {
					sent = append(sent, sortedKeys(c.Req.(tiers.UpdateRequest).Data)...)
				}
				if !slices.Equal(sent, tt.wantResent[f.Name()]) {
					t.Errorf("%s was sent fields %v, want %v", f.Name(), sent, tt.wantResent[f.Name()])
				}
			}
			if out.Status != tt.wantStatus || out.ID != "1001" || !strings.Contains(out.Message, tt.wantMsg) {
				t.Errorf("outcome = %+v, want status %s and message with %q", out, tt.wantStatus, tt.wantMsg)
			}
			if tt.wantNotSent {
				var ue *UnavailableError
				if !errors.As(err, &ue) || tiers.Classify(err) == tiers.ClassOutcomeUnknown || strings.Contains(err.Error(), "may or may not") {
					t.Fatalf("err = %v, want an UnavailableError (nothing was sent without an answer)", err)
				}
				return
			}
			if tt.wantErr {
				var te *tiers.Error
				if !errors.As(err, &te) || te.Class != tt.wantClass || !strings.Contains(err.Error(), "read the record before retrying") {
					t.Fatalf("err = %v, want class %s", err, tt.wantClass)
				}
				if ue := (*UnavailableError)(nil); errors.As(err, &ue) {
					t.Fatalf("an unknown outcome wraps an UnavailableError, which reads as not sent: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Whatever the path, Zoho now holds the update.
			rec, _ := store.Get("1001", []string{"Account_Name", "Phone", "Annual_Revenue", "Owner"})
			if u := unapplied(data(), rec); len(u) != 0 {
				t.Errorf("not applied in the end: %v", u)
			}
		})
	}
}

func TestUpdateVerdictUntouched(t *testing.T) {
	t.Parallel()
	verdict := &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "MANDATORY_NOT_FOUND", Message: "required field not found",
		HTTPStatus: 400, Details: map[string]any{"api_name": "Account_Name"}}
	e := newEnv(t, func(_ *Config, mcp, _, _ *tierstest.Tier) { mcp.Behave = tierstest.FailWith(verdict) })
	_, rt, err := e.r.Update(context.Background(), agentRC, tiers.UpdateRequest{ID: "1", Data: tiers.Record{"Account_Name": nil}})
	if err != verdict || rt.Tier != tiers.MCP || len(e.bulk.Calls()) != 0 {
		t.Fatalf("err = %v, route %+v", err, rt)
	}
}

// bulkRecs makes n updates of records 1000… in store, each setting Phone
// and, for every third record, Account_Name too.
func bulkRecs(n int) []tiers.UpdateRequest {
	ups := make([]tiers.UpdateRequest, n)
	for i := range ups {
		d := tiers.Record{"Phone": fmt.Sprintf("555-%04d", i)}
		if i%3 == 0 {
			d["Account_Name"] = fmt.Sprintf("Renamed %d", i)
		}
		ups[i] = tiers.UpdateRequest{ID: fmt.Sprint(1000 + i), Data: d}
	}
	return ups
}

func TestBulkUpdateResumesWithoutResending(t *testing.T) {
	t.Parallel()
	store := newStore(250)
	ups := bulkRecs(250)
	e := newEnv(t, func(_ *Config, _, bulk, rest *tierstest.Tier) {
		bulk.Store, rest.Store = store, store
		// BULK sends in batches of 100: the first answers (record 5 is
		// refused), the second is applied for its first half but the answer
		// is lost, the third is never sent.
		bulk.OnBulkUpdate = func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
			res := tiers.BulkUpdateResult{Strategy: "batched-put", Calls: 2, Credits: 2}
			for i, u := range req.Updates {
				o := tiers.Outcome{ID: u.ID}
				switch {
				case i == 5:
					o.Status, o.Code, o.Message = tiers.StatusError, "INVALID_DATA", "invalid data"
				case i < 100:
					store.Apply(u.ID, u.Data)
					o.Status, o.Code = tiers.StatusSuccess, "SUCCESS"
				case i < 200:
					if i < 150 {
						store.Apply(u.ID, u.Data)
					}
					o.Status = tiers.StatusUnknown
				default:
					o.Status = tiers.StatusNotSent
				}
				res.Outcomes = append(res.Outcomes, o)
			}
			return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Message: "connection reset"}
		}
	})
	res, rt, err := e.r.BulkUpdate(context.Background(), agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(rt); !slices.Equal(got, []string{"BULK:unavailable", "REST:reconciled", "REST:success"}) || rt.Tier != tiers.REST {
		t.Fatalf("route = %v (%s)", got, rt.Tier)
	}
	// REST read back exactly the unknown records, in one call of 100.
	lists := e.rest.CallsOf(tiers.OpList)
	if len(lists) != 1 {
		t.Fatalf("REST list calls = %d", len(lists))
	}
	lr := lists[0].Req.(tiers.ListRequest)
	if !slices.Equal(lr.IDs, ids(ups[100:200])) || !slices.Equal(lr.Fields, []string{"Account_Name", "Phone"}) {
		t.Fatalf("read back %d ids %v…, fields %v", len(lr.IDs), lr.IDs[:3], lr.Fields)
	}
	// REST was sent only the records not confirmed: 150–249, as they were.
	sends := e.rest.CallsOf(tiers.OpBulkUpdate)
	if len(sends) != 1 {
		t.Fatalf("REST bulk calls = %d", len(sends))
	}
	sent := sends[0].Req.(tiers.BulkUpdateRequest).Updates
	if !slices.Equal(ids(sent), ids(ups[150:])) {
		t.Fatalf("REST was sent %d records %v…; want records 150–249 only", len(sent), ids(sent)[:3])
	}
	for k, u := range sent {
		if !recordsEqual(u.Data, ups[150+k].Data) {
			t.Fatalf("record %s sent with %v, want %v", u.ID, u.Data, ups[150+k].Data)
		}
	}
	if len(res.Outcomes) != 250 || res.Calls != 3 || res.Credits != 3 || res.Strategy != "batched-put+fake-REST" {
		t.Fatalf("result: %d outcomes, calls %d, credits %d, strategy %q", len(res.Outcomes), res.Calls, res.Credits, res.Strategy)
	}
	for i, o := range res.Outcomes {
		want := tiers.StatusSuccess
		if i == 5 {
			want = tiers.StatusError
		}
		if o.ID != ups[i].ID || o.Status != want {
			t.Fatalf("outcome %d = %+v, want %s for %s", i, o, want, ups[i].ID)
		}
		if (i >= 100 && i < 150) != strings.Contains(o.Message, "reconciled") {
			t.Fatalf("outcome %d message %q", i, o.Message)
		}
		rec, _ := store.Get(ups[i].ID, []string{"Phone", "Account_Name"})
		if applied := len(unapplied(ups[i].Data, rec)) == 0; applied != (i != 5) {
			t.Fatalf("record %d applied = %v", i, applied)
		}
	}
}

func ids(ups []tiers.UpdateRequest) []string {
	out := make([]string, len(ups))
	for i, u := range ups {
		out[i] = u.ID
	}
	return out
}

func recordsEqual(a, b tiers.Record) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestBulkUpdateReadBackInChunks(t *testing.T) {
	t.Parallel()
	store := newStore(150)
	ups := bulkRecs(150)
	e := newEnv(t, func(cfg *Config, _, bulk, rest *tierstest.Tier) {
		bulk.Store, rest.Store = store, store
		cfg.Tiers = DefaultTierConfigs()
		cfg.Tiers[1].Timeout = 30 * time.Millisecond
		// BULK writes everything, then hangs: no outcomes at all.
		bulk.OnBulkUpdate = func(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
			for _, u := range req.Updates {
				store.Apply(u.ID, u.Data)
			}
			<-ctx.Done()
			return tiers.BulkUpdateResult{}, ctx.Err()
		}
	})
	res, rt, err := e.r.BulkUpdate(context.Background(), agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(rt); !slices.Equal(got, []string{"BULK:outcome_unknown", "REST:reconciled", "REST:reconciled"}) {
		t.Fatalf("attempts = %v", got)
	}
	lists := e.rest.CallsOf(tiers.OpList)
	if len(lists) != 2 || len(lists[0].Req.(tiers.ListRequest).IDs) != 100 || len(lists[1].Req.(tiers.ListRequest).IDs) != 50 {
		t.Fatalf("read-back calls: %d", len(lists))
	}
	if n := len(e.rest.CallsOf(tiers.OpBulkUpdate)); n != 0 {
		t.Fatalf("REST re-sent %d times records that were all applied", n)
	}
	for i, o := range res.Outcomes {
		if o.Status != tiers.StatusSuccess || o.ID != ups[i].ID {
			t.Fatalf("outcome %d = %+v", i, o)
		}
	}
}

func TestBulkUpdateNoTierLeftIsNotSuccess(t *testing.T) {
	t.Parallel()
	ups := bulkRecs(4)
	e := newEnv(t, func(_ *Config, _, bulk, rest *tierstest.Tier) {
		bulk.OnBulkUpdate = func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
			return tiers.BulkUpdateResult{Outcomes: []tiers.Outcome{
				{ID: req.Updates[0].ID, Status: tiers.StatusSuccess},
				{ID: req.Updates[1].ID, Status: tiers.StatusUnknown},
				{ID: req.Updates[2].ID, Status: tiers.StatusNotSent},
				{ID: req.Updates[3].ID, Status: tiers.StatusNotSent},
			}, Calls: 1}, classErr(tiers.Bulk, tiers.ClassRateLimited)
		}
		rest.Behave = tierstest.FailWith(classErr(tiers.REST, tiers.ClassAuth))
	})
	res, rt, err := e.r.BulkUpdate(context.Background(), agentRC, tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	want := []tiers.OutcomeStatus{tiers.StatusSuccess, tiers.StatusUnknown, tiers.StatusNotSent, tiers.StatusNotSent}
	for i, o := range res.Outcomes {
		if o.Status != want[i] || o.ID != ups[i].ID {
			t.Errorf("outcome %d = %+v, want %s", i, o, want[i])
		}
	}
	if got := outcomes(rt); !slices.Equal(got, []string{"BULK:rate_limited", "REST:auth_failed"}) {
		t.Errorf("attempts = %v", got)
	}
	if !strings.Contains(res.Outcomes[1].Message, "read the record before retrying") {
		t.Errorf("unknown outcome message %q", res.Outcomes[1].Message)
	}
}

func TestSameValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		want, got any
		same      bool
	}{
		{"float vs json.Number", 250.0, json.Number("250"), true},
		{"int vs json.Number decimal", 250, json.Number("250.00"), true},
		{"numeral string vs number", "12.5", json.Number("12.5"), true},
		{"different numbers", 12.5, json.Number("12.6"), false},
		{"big ids exact", json.Number("4876876000000123457"), json.Number("4876876000000123456"), false},
		{"strings exact", "Acme", "Acme", true},
		{"strings differ", "Acme", "acme", false},
		{"numeral strings compare as text", "007", "7", false},
		{"lookup by id", map[string]any{"id": "78"}, map[string]any{"id": "78", "name": "Bob"}, true},
		{"lookup other id", map[string]any{"id": "78"}, map[string]any{"id": "79", "name": "Bob"}, false},
		{"lookup as bare id", "78", map[string]any{"id": "78", "name": "Bob"}, true},
		{"null vs missing", nil, nil, true},
		{"empty string vs null", "", nil, true},
		{"null vs value", nil, "x", false},
		{"multiselect any order", []any{"a", "b"}, []any{"b", "a"}, true},
		{"multiselect differs", []any{"a", "b"}, []any{"a", "a"}, false},
		{"bool", true, true, true},
		{"bool vs string", true, "true", false},
		{"hex is not a number", "0x10", json.Number("16"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sameValue(tt.want, tt.got); got != tt.same {
				t.Fatalf("sameValue(%#v, %#v) = %v", tt.want, tt.got, got)
			}
		})
	}
}

// FuzzSameValue checks that a value written is recognised when Zoho hands it
// back decoded with json.Number, whatever the agent's encoding.
func FuzzSameValue(f *testing.F) {
	for _, s := range []string{`"Acme"`, `12.5`, `250`, `{"id":"78"}`, `["a","b"]`, `null`, `true`, `1e3`, `-0`, `"x\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The agent's value as the tools layer decodes it (float64 numbers)
		// is what gets sent; Zoho hands back what was sent, decoded with
		// json.Number.
		var asFloat any
		if json.Unmarshal([]byte(s), &asFloat) != nil {
			return
		}
		sent, err := json.Marshal(asFloat)
		if err != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(sent)))
		dec.UseNumber()
		var asNumber any
		if dec.Decode(&asNumber) != nil {
			t.Fatalf("%s: re-encoded %s does not decode", s, sent)
		}
		if !sameValue(asFloat, asNumber) || !sameValue(asNumber, asNumber) {
			t.Fatalf("%s: written %#v, read back %#v: not recognised", s, asFloat, asNumber)
		}
	})
}

func TestMergeMatchesOutcomesToRecords(t *testing.T) {
	t.Parallel()
	req := tiers.BulkUpdateRequest{Updates: bulkRecs(4)}
	tests := []struct {
		name        string
		got         []tiers.Outcome
		wantFinal   []tiers.OutcomeStatus // "" = still pending
		wantUnknown []bool
	}{
		{name: "in order",
			got:       []tiers.Outcome{{ID: "1000", Status: tiers.StatusSuccess}, {ID: "1001", Status: tiers.StatusError}, {ID: "1002", Status: tiers.StatusNotSent}, {ID: "1003", Status: tiers.StatusUnknown}},
			wantFinal: []tiers.OutcomeStatus{tiers.StatusSuccess, tiers.StatusError, "", ""}, wantUnknown: []bool{false, false, false, true}},
		{name: "shuffled and short: matched by id, the missing one unknown",
			got:       []tiers.Outcome{{ID: "1002", Status: tiers.StatusSuccess}, {ID: "1000", Status: tiers.StatusNotSent}, {ID: "1003", Status: tiers.StatusError}},
			wantFinal: []tiers.OutcomeStatus{"", "", tiers.StatusSuccess, tiers.StatusError}, wantUnknown: []bool{false, true, false, false}},
		{name: "no ids, same length: by position",
			got:       []tiers.Outcome{{Status: tiers.StatusSuccess}, {Status: tiers.StatusSuccess}, {Status: "weird"}, {Status: tiers.StatusSuccess}},
			wantFinal: []tiers.OutcomeStatus{tiers.StatusSuccess, tiers.StatusSuccess, "", tiers.StatusSuccess}, wantUnknown: []bool{false, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			todo := make([]pending, 4)
			for i := range todo {
				todo[i] = pending{idx: i, data: req.Updates[i].Data}
			}
			final := make([]tiers.Outcome, 4)
			merge(req, todo, tt.got, final)
			for i := range 4 {
				if final[i].Status != tt.wantFinal[i] || todo[i].unknown != tt.wantUnknown[i] {
					t.Errorf("record %d: final %+v unknown %v; want %q, %v", i, final[i], todo[i].unknown, tt.wantFinal[i], tt.wantUnknown[i])
				}
				if final[i].Status != "" && final[i].ID != req.Updates[i].ID {
					t.Errorf("record %d outcome id %q", i, final[i].ID)
				}
			}
		})
	}
}
