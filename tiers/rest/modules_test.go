package rest

import (
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestModuleTier(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 20})
	tier := newTier(t, sim)
	tierstest.CheckModuleTier(t, tier, tier, tierstest.ModuleOrg{AccountID: sim.Store().IDs()[3], RelatedLists: true})
}
