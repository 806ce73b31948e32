package router_test

import (
	"context"
	"fmt"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// downTier is a tier whose upstream refuses connections. (Embedding
// tiers.Tier leaves the methods this example does not call unimplemented.)
type downTier struct{ tiers.Tier }

func (downTier) Name() tiers.Name              { return tiers.MCP }
func (downTier) Configured() bool              { return true }
func (downTier) Supports(op tiers.OpKind) bool { return true }

func (downTier) Get(context.Context, tiers.GetRequest) (tiers.Record, error) {
	return nil, tiers.Errorf(tiers.MCP, tiers.ClassUnavailable, "connection refused")
}

// upTier serves every read.
type upTier struct {
	tiers.Tier
	name tiers.Name
}

func (t upTier) Name() tiers.Name            { return t.name }
func (upTier) Configured() bool              { return true }
func (upTier) Supports(op tiers.OpKind) bool { return true }

func (t upTier) Get(_ context.Context, req tiers.GetRequest) (tiers.Record, error) {
	return tiers.Record{"id": req.ID}, nil
}

func Example() {
	r, err := router.New(router.Config{Failover: true},
		downTier{}, upTier{name: tiers.Bulk}, upTier{name: tiers.REST})
	if err != nil {
		panic(err)
	}
	rc := router.RoutingContext{AgentContext: true, Tools: []string{"read"}}
	rec, route, err := r.Get(context.Background(), rc, tiers.GetRequest{Module: "Accounts", ID: "1001"})
	fmt.Println(rec["id"], err)
	fmt.Println("served by", route.Tier)
	for _, a := range route.Attempts {
		fmt.Printf("%s %s %q\n", a.Tier, a.Outcome, a.Error)
	}
	// Output:
	// 1001 <nil>
	// served by BULK
	// MCP unavailable "MCP: connection refused"
	// BULK success ""
}
