package router

import (
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// newFakes returns the three tiers, named and ordered by default priority;
// MCP cannot bulk read or write, as the real tier 1.
func newFakes() (mcp, bulk, rest *tierstest.Tier) {
	mcp = tierstest.NewTier(tiers.MCP, nil)
	mcp.Unsupported = map[tiers.OpKind]bool{tiers.OpBulkRead: true, tiers.OpBulkUpdate: true}
	return mcp, tierstest.NewTier(tiers.Bulk, nil), tierstest.NewTier(tiers.REST, nil)
}

// newStore returns a store of n accounts with ids 1000, 1001, ….
func newStore(n int) *tierstest.Store { return tierstest.NewStore(tierstest.Accounts(n, 1000)...) }

func classErr(t tiers.Name, c tiers.Class) *tiers.Error {
	e := &tiers.Error{Tier: t, Class: c, Message: c.String() + " (fake)"}
	if c == tiers.ClassVerdict {
		e.Code, e.Message, e.HTTPStatus = "INVALID_DATA", "the field api name given seems to be invalid", 400
	}
	return e
}
