package router

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// rawTier is a fake tier that also serves GetRaw, with bytes of its own.
type rawTier struct {
	*tierstest.Tier
	raw  json.RawMessage
	err  error
	used int
}

var _ tiers.RawGetter = (*rawTier)(nil)

func (r *rawTier) GetRaw(ctx context.Context, req tiers.GetRequest) (json.RawMessage, error) {
	r.used++
	return r.raw, r.err
}

func TestGetRaw(t *testing.T) {
	t.Parallel()
	rc := RoutingContext{OperationType: tiers.OpGet, RecordCount: 1, AgentContext: true}
	req := tiers.GetRequest{Module: "Accounts", ID: "1000"}

	t.Run("tier without GetRaw: its record encoded", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(_ *Config, mcp, _, _ *tierstest.Tier) { mcp.Store = newStore(3) })
		raw, route, err := e.r.GetRaw(context.Background(), rc, req)
		if err != nil || route.Tier != tiers.MCP {
			t.Fatalf("GetRaw = %s, %+v, %v", raw, route, err)
		}
		var got map[string]any
		if err := json.Unmarshal(raw, &got); err != nil || got["id"] != "1000" || got["Account_Name"] != "Acct 0" {
			t.Errorf("GetRaw = %s (%v), want account 1000", raw, err)
		}
	})

	t.Run("tier with GetRaw: its bytes as they are", func(t *testing.T) {
		t.Parallel()
		want := `{"id": "1000", "Zeta":1,"Alpha":2}` // not re-encoded: order and spaces kept
		mcp, bulk, rest := newFakes()
		rt := &rawTier{Tier: mcp, raw: json.RawMessage(want)}
		r, err := New(Config{Failover: true}, rt, bulk, rest)
		if err != nil {
			t.Fatal(err)
		}
		raw, route, err := r.GetRaw(context.Background(), rc, req)
		if err != nil || string(raw) != want || route.Tier != tiers.MCP || rt.used != 1 || len(mcp.Calls()) != 0 {
			t.Errorf("GetRaw = %s, %+v, %v (GetRaw used %d times, Get %d)", raw, route, err, rt.used, len(mcp.Calls()))
		}
	})

	t.Run("a failing GetRaw fails over like Get", func(t *testing.T) {
		t.Parallel()
		mcp, bulk, rest := newFakes()
		bulk.Store = newStore(3)
		rt := &rawTier{Tier: mcp, err: classErr(tiers.MCP, tiers.ClassUnavailable)}
		r, err := New(Config{Failover: true}, rt, bulk, rest)
		if err != nil {
			t.Fatal(err)
		}
		raw, route, err := r.GetRaw(context.Background(), rc, req)
		if err != nil || route.Tier != tiers.Bulk || len(route.Attempts) != 2 {
			t.Fatalf("GetRaw = %s, %+v, %v; want served by BULK after MCP failed", raw, route, err)
		}
	})

	t.Run("a verdict is not failed over", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(_ *Config, mcp, _, _ *tierstest.Tier) { mcp.Store = newStore(3) })
		_, _, err := e.r.GetRaw(context.Background(), rc, tiers.GetRequest{Module: "Accounts", ID: "9"})
		if te, ok := err.(*tiers.Error); !ok || te.Code != "NOT_FOUND" {
			t.Errorf("GetRaw of an unknown id = %v, want NOT_FOUND", err)
		}
	})
}
