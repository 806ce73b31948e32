package mcp

import (
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestModuleTier(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.MCPVariant{})
	tr := newTier(t, sim.MCPEndpoint(), nil)
	tierstest.CheckModuleTier(t, tr, tr, tierstest.ModuleOrg{AccountID: sim.Store().IDs()[3]})
}
