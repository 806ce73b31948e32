package mcp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// These tests run tier 1 against the emulator's hosted-MCP look-alike over
// loopback HTTP: the real tool schemas with their strict argument checks,
// the real CRM behind them, and the emulator's fault injection.

func startSim(t *testing.T, v zohosim.MCPVariant) *zohosim.Sim {
	t.Helper()
	sim, err := zohosim.Start(zohosim.Options{Accounts: 60, MCPKey: testKey, MCPVariant: v})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

func simID(i int) string {
	return "57257670000010000" + string(rune('0'+i/10)) + string(rune('0'+i%10))
}

func TestSimVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    zohosim.MCPVariant
	}{
		{"default names", zohosim.MCPVariant{}},
		{"renamed arguments", zohosim.MCPVariant{ArgNames: map[string]string{"module": "moduleApiName", "recordID": "recordId", "per_page": "perPage"}}},
		{"per-module tools", zohosim.MCPVariant{ToolNames: map[string]string{
			"ZohoCRM_getRecord": "ZohoCRM_getAccountsRecord", "ZohoCRM_getRecords": "ZohoCRM_getAccountsRecords",
			"ZohoCRM_updateRecords": "ZohoCRM_updateAccountsRecords", "ZohoCRM_searchRecords": "ZohoCRM_searchAccountsRecords"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, tt.v)
			tr := newTier(t, sim.MCPEndpoint(), nil)
			ctx := tiers.WithScopes(context.Background(), []string{"read", "write"})
			id := simID(5)
			want, _ := sim.Store().Get(id)

			rec, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: id, Fields: []string{"Account_Name", "Phone"}})
			if err != nil || rec["Account_Name"] != want["Account_Name"] {
				t.Fatalf("Get = %v, %v; want %v", rec, err, want["Account_Name"])
			}
			if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: "5725767000009999999"}); tiers.Classify(err) != tiers.ClassVerdict {
				t.Fatalf("Get unknown = %v, want a not-found verdict", err)
			}
			p, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", IDs: []string{simID(12), simID(3)}})
			if err != nil || len(p.Records) != 2 || p.Records[0]["id"] != simID(12) || p.Records[0]["Industry"] == nil && p.Records[0]["Account_Name"] == nil {
				t.Fatalf("List ids = %v, %v", p.Records, err)
			}
			var ids []string
			tok := ""
			for range 5 {
				p, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", Fields: []string{"Account_Name"}, Limit: 25, PageToken: tok})
				if err != nil {
					t.Fatalf("List all: %v", err)
				}
				for _, r := range p.Records {
					ids = append(ids, r["id"].(string))
				}
				if !p.MoreRecords {
					break
				}
				tok = p.NextPageToken
			}
			if len(ids) != 60 || ids[0] != simID(0) || ids[59] != simID(59) {
				t.Fatalf("listed %d ids: %v…", len(ids), ids[:min(3, len(ids))])
			}
			name := want["Account_Name"].(string)
			sp, err := tr.Search(ctx, tiers.SearchRequest{Module: "Accounts", Where: []tiers.Condition{{Field: "Account_Name", Op: tiers.OpEquals, Values: []any{name}}}})
			if err != nil || len(sp.Records) == 0 {
				t.Fatalf("Search = %v, %v", sp, err)
			}
			found := false
			for _, r := range sp.Records {
				found = found || r["id"] == id
			}
			if !found {
				t.Errorf("search for %q did not find %s", name, id)
			}
			lp, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", Fields: []string{"Industry"}, Limit: 3,
				Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{want["Industry"]}}}})
			if err != nil || len(lp.Records) == 0 || lp.Records[0]["Industry"] != want["Industry"] {
				t.Fatalf("List filters = %v, %v", lp.Records, err)
			}
			out, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0142"}, Trigger: []string{}})
			if err != nil || out.Status != tiers.StatusSuccess {
				t.Fatalf("Update = %+v, %v", out, err)
			}
			if r, _ := sim.Store().Get(id); r["Phone"] != "555-0142" || sim.RecordWrites(id) != 1 {
				t.Fatalf("store: Phone=%v writes=%d", r["Phone"], sim.RecordWrites(id))
			}
			out, err = tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"No_Such_Field": "x"}})
			var te *tiers.Error
			if !errors.As(err, &te) || te.Class != tiers.ClassVerdict || te.Code != "INVALID_DATA" || out.Status != tiers.StatusError {
				t.Fatalf("Update unknown field = %+v, %v; want INVALID_DATA verdict", out, err)
			}
		})
	}
}

func TestSimMissingTools(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.MCPVariant{Omit: []string{"ZohoCRM_searchRecords", "ZohoCRM_executeCOQLQuery", "ZohoCRM_updateRecords"}})
	tr := newTier(t, sim.MCPEndpoint(), nil)
	ctx := context.Background()
	if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: simID(1)}); err != nil {
		t.Fatalf("Get on a server with getRecord: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"search", func() error {
			_, err := tr.Search(ctx, tiers.SearchRequest{Module: "Accounts", Word: "Zylker"})
			return err
		}},
		{"filtered list", func() error {
			_, err := tr.List(ctx, tiers.ListRequest{Module: "Accounts", Filters: []tiers.Condition{{Field: "Industry", Op: tiers.OpEquals, Values: []any{"Retail"}}}})
			return err
		}},
		{"update", func() error {
			out, err := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: simID(1), Data: tiers.Record{"Phone": "1"}})
			if out.Status != tiers.StatusNotSent {
				t.Errorf("update outcome %s, want not_sent", out.Status)
			}
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); tiers.Classify(err) != tiers.ClassUnsupported {
				t.Fatalf("err = %v (%s), want unsupported", err, classOf(err))
			}
		})
	}
	if sim.RecordWrites(simID(1)) != 0 {
		t.Fatal("a record was written")
	}
}

// TestSimFaults runs every SPEC §9 fault mode on the MCP surface.
func TestSimFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		surface zohosim.Surface
		fault   zohosim.Fault
		read    string
		write   string
		status  tiers.OutcomeStatus
		writes  int
	}{
		{"down", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown}, "unavailable", "unavailable", tiers.StatusNotSent, 0},
		{"5xx", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.Fault5xx}, "unavailable", "outcome_unknown", tiers.StatusUnknown, 0},
		{"429", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.Fault429}, "rate_limited", "rate_limited", tiers.StatusNotSent, 0},
		{"latency", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultLatency, Latency: 30 * time.Millisecond}, "ok", "ok", tiers.StatusSuccess, 1},
		{"hang", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultHang}, "unavailable", "outcome_unknown", tiers.StatusUnknown, 0},
		{"hang after apply", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultHangAfterApply}, "unavailable", "outcome_unknown", tiers.StatusUnknown, 1},
		{"malformed", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultMalformed}, "unavailable", "outcome_unknown", tiers.StatusUnknown, 1},
		{"expired tokens", zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultExpiredTokens}, "auth_failed", "auth_failed", tiers.StatusNotSent, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, zohosim.MCPVariant{})
			cred := sim.BulkCredential()
			tr := newTier(t, sim.MCPEndpoint(), func(c *Config) { c.Timeout = 3 * time.Second })
			ctx := context.Background()
			if tt.surface == zohosim.SurfaceMCP {
				if err := tr.Probe(ctx); err != nil {
					t.Fatal(err)
				}
			}
			sim.SetFault(tt.surface, tt.fault)
			id := simID(7)
			_, rerr := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: id})
			if got := classOf(rerr); got != tt.read {
				t.Errorf("read: %s (%v), want %s", got, rerr, tt.read)
			}
			out, werr := tr.Update(ctx, tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0177"}})
			if got := classOf(werr); got != tt.write {
				t.Errorf("write: %s (%v), want %s", got, werr, tt.write)
			}
			if out.Status != tt.status {
				t.Errorf("outcome %s, want %s", out.Status, tt.status)
			}
			sim.ClearFaults()
			if w := sim.RecordWrites(id); w != tt.writes {
				t.Errorf("record written %d times, want %d", w, tt.writes)
			}
			for _, err := range []error{rerr, werr} {
				if err != nil && (strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), cred.ClientSecret)) {
					t.Errorf("error text holds a secret: %v", err)
				}
			}
		})
	}
}

// TestSimRetryBudget: a read that meets one 5xx succeeds on its retry when
// the budget allows one, and fails over (unavailable) at once when the
// router's budget allows none.
func TestSimRetryBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		retries int
		want    string
	}{
		{"one retry", 1, "ok"},
		{"no retry", 0, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, zohosim.MCPVariant{})
			var slept []time.Duration
			tr := newTier(t, sim.MCPEndpoint(), func(c *Config) {
				c.MaxRetries = 5
				c.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			})
			ctx := tiers.WithRetryBudget(context.Background(), tiers.RetryBudget{MaxRetries: tt.retries, MaxBackoff: 250 * time.Millisecond})
			if err := tr.Probe(ctx); err != nil {
				t.Fatal(err)
			}
			sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.Fault5xx, Times: 1})
			_, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: simID(2)})
			if got := classOf(err); got != tt.want {
				t.Fatalf("class %s (%v), want %s", got, err, tt.want)
			}
			if len(slept) != tt.retries {
				t.Fatalf("waited %d times, want %d", len(slept), tt.retries)
			}
			for _, d := range slept {
				if d > 250*time.Millisecond {
					t.Errorf("waited %s, more than the budget's 250ms", d)
				}
			}
		})
	}
}

// TestSimConnectsOnce: twenty concurrent first calls share one lazily
// made session: one initialize, one tools/list.
func TestSimConnectsOnce(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.MCPVariant{})
	tr := newTier(t, sim.MCPEndpoint(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tr.Get(context.Background(), tiers.GetRequest{Module: "Accounts", ID: simID(i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var inits, lists int
	for _, r := range sim.Requests() {
		if r.Surface != zohosim.SurfaceMCP {
			continue
		}
		if strings.Contains(string(r.Body), `"method":"initialize"`) {
			inits++
		}
		if strings.Contains(string(r.Body), `"method":"tools/list"`) {
			lists++
		}
	}
	if inits != 1 || lists != 1 {
		t.Fatalf("initialize %d times and tools/list %d times, want 1 and 1", inits, lists)
	}
}

// TestSimMessageOnlyToolError: a message-only isError result from the
// upstream (no Zoho code) is the upstream failing, not Zoho's verdict on
// the request: unavailable, so the router fails over; Zoho's own verdict
// (a code) stays a verdict.
func TestSimMessageOnlyToolError(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.MCPVariant{})
	tr := newTier(t, sim.MCPEndpoint(), nil)
	ctx := tiers.WithScopes(context.Background(), []string{"read", "write"})
	tests := []struct {
		name, text string
		want       tiers.Class
	}{
		{"message-only JSON", zohosim.DefaultMCPToolErrorText, tiers.ClassUnavailable},
		{"plain text", "Internal error while running the tool", tiers.ClassUnavailable},
		{"message-only, in auth words", `{"message":"Unauthorized: invalid oauth token"}`, tiers.ClassAuth},
		{"a Zoho verdict", `{"code":"INVALID_DATA","details":{"api_name":"Phone"},"message":"invalid data","status":"error"}`, tiers.ClassVerdict},
	}
	for _, tt := range tests {
		sim.SetMCPToolError(tt.text, 1)
		_, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: simID(4)})
		var te *tiers.Error
		if !errors.As(err, &te) || te.Class != tt.want {
			t.Errorf("%s: err %v, want class %s", tt.name, err, tt.want)
			continue
		}
		if tt.want == tiers.ClassUnavailable && (te.Code != "" || !strings.Contains(te.Message, "upstream tool error")) {
			t.Errorf("%s: %+v; want an upstream failure without a Zoho code", tt.name, te)
		}
	}
	sim.SetMCPToolError("", 0)
	if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: simID(4)}); err != nil {
		t.Fatalf("after the errors: %v", err)
	}
}

// TestSimToolCallsTakeGovernorSlots: a tool call holds a slot of the org's
// governor while it runs; one that gets no slot before its deadline is not
// sent upstream, and the slot is free again after every call.
func TestSimToolCallsTakeGovernorSlots(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.MCPVariant{})
	gov := cluster.NewLocalGovernor(1)
	tr := newTier(t, sim.MCPEndpoint(), func(c *Config) { c.Governor = gov })
	ctx := tiers.WithScopes(context.Background(), []string{"read"})
	if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: simID(1)}); err != nil || gov.InFlight() != 0 {
		t.Fatalf("Get: %v, %d slots held after it", err, gov.InFlight())
	}
	release, _ := gov.Acquire(context.Background()) // the org's only slot is busy
	before := sim.RequestCount(zohosim.SurfaceMCP)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := tr.Get(short, tiers.GetRequest{Module: "Accounts", ID: simID(2)})
	cancel()
	if c := tiers.Classify(err); c != tiers.ClassCanceled {
		t.Fatalf("queued past the deadline: %v (%s), want canceled", err, c)
	}
	if n := sim.RequestCount(zohosim.SurfaceMCP) - before; n != 0 {
		t.Fatalf("%d requests reached the upstream while no slot was free", n)
	}
	release()
	if _, err := tr.Get(ctx, tiers.GetRequest{Module: "Accounts", ID: simID(2)}); err != nil {
		t.Fatalf("after the slot came free: %v", err)
	}
}
