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

// TestModuleBulk: bulk reads (list pages, ids in chunks, search) and bulk
// updates (PUTs of 100 records) of Contacts, Deals and the custom module
// Projects, each record typed as a plain GET answers it.
func TestModuleBulk(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 20})
	tier := newTier(t, sim)
	org := tierstest.BulkOrg{IDs: map[string][]string{}}
	for _, m := range []string{zohosim.ModuleContacts, zohosim.ModuleDeals, zohosim.ModuleProjects} {
		org.IDs[m] = sim.Records(m).IDs()
	}
	reads, writes := tierstest.CheckModuleBulk(t, tier, org)
	for _, s := range append(reads, writes...) {
		if s != "rest-pages" && s != "batched-put" {
			t.Errorf("strategy %s", s)
		}
	}
	for _, m := range []string{"Contacts", "Deals", "Projects"} {
		if n := len(restRequests(sim, "PUT", "/crm/v8/"+m)); n != 1 {
			t.Errorf("%d PUTs of %s, want 1 (three records in one call)", n, m)
		}
	}
}
