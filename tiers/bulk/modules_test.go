package bulk

import (
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestModuleTier(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 20, realTime: true})
	tierstest.CheckModuleTier(t, e.tier, e.tier, tierstest.ModuleOrg{AccountID: e.sim.Store().IDs()[3], RelatedLists: true})
}
