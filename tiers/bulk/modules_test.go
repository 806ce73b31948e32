package bulk

import (
	"slices"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestModuleTier(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 20, realTime: true})
	tierstest.CheckModuleTier(t, e.tier, e.tier, tierstest.ModuleOrg{AccountID: e.sim.Store().IDs()[3], RelatedLists: true})
}

// bulkOrg is what tierstest.CheckModuleBulk knows of the emulator's org.
func bulkOrg(sim *zohosim.Sim) tierstest.BulkOrg {
	org := tierstest.BulkOrg{IDs: map[string][]string{}}
	for _, m := range []string{zohosim.ModuleContacts, zohosim.ModuleDeals, zohosim.ModuleProjects} {
		org.IDs[m] = sim.Records(m).IDs()
	}
	return org
}

// TestModuleBulk: bulk reads and bulk updates of Contacts, Deals and the
// custom module Projects, on every path of the tier: COQL and PUTs of 100
// records for small work, and, past the planner's crossover, a Bulk Read job
// (its CSV typed by the module's own field metadata) and a Bulk Write job.
func TestModuleBulk(t *testing.T) {
	t.Parallel()
	t.Run("coql and batched puts", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{accounts: 20})
		reads, writes := tierstest.CheckModuleBulk(t, e.tier, bulkOrg(e.sim))
		if !slices.Contains(reads, StrategyCOQL) || slices.ContainsFunc(writes, func(s string) bool { return s != StrategyBatchedPut }) {
			t.Errorf("strategies: reads %v, writes %v; want COQL and batched-put", reads, writes)
		}
	})
	t.Run("bulk read and bulk write jobs", func(t *testing.T) {
		t.Parallel()
		n := RowsPerCOQL + 150 // a second page: read by a job
		e := newEnv(t, envOpts{accounts: 20,
			sim: func(o *zohosim.Options) {
				o.ModuleRecords = map[string]int{zohosim.ModuleContacts: n, zohosim.ModuleDeals: n, zohosim.ModuleProjects: n}
			},
			tier: func(c *Config) {
				c.Plan = func(k Kind, n int) Strategy {
					switch {
					case k == KindUpdate:
						return Strategy{Name: StrategyBulkWriteJob}
					case k == KindReadQuery && n > RowsPerCOQL:
						return Strategy{Name: StrategyBulkReadJob}
					}
					return Plan(k, n)
				}
			}})
		reads, writes := tierstest.CheckModuleBulk(t, e.tier, bulkOrg(e.sim))
		job := StrategyCOQL + "+" + StrategyBulkReadJob
		if slices.Index(reads, job) < 0 || slices.ContainsFunc(writes, func(s string) bool { return s != StrategyBulkWriteJob }) {
			t.Errorf("strategies: reads %v, writes %v; want %s and bulk-write-job for every module", reads, writes, job)
		}
		for _, m := range []string{"Contacts", "Deals", "Projects"} {
			if n := len(requests(e.sim, "PUT", "/crm/v8/"+m)); n != 0 {
				t.Errorf("%d PUTs of %s made by jobs", n, m)
			}
		}
	})
}
