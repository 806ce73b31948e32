package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// The tiers as the route names them.
const (
	tMCP  = "MCP"
	tBulk = "BULK"
	tREST = "REST"
)

// tierOfSurface is the tier each API surface serves; the OAuth surface
// serves the tiers that refresh tokens there.
var tiersOfSurface = map[zohosim.Surface][]string{
	zohosim.SurfaceMCP:   {tMCP},
	zohosim.SurfaceBulk:  {tBulk},
	zohosim.SurfaceREST:  {tREST},
	zohosim.SurfaceOAuth: {tBulk, tREST},
}

var surfaceOfTier = map[string]zohosim.Surface{tMCP: zohosim.SurfaceMCP, tBulk: zohosim.SurfaceBulk, tREST: zohosim.SurfaceREST}

// faultCase is one column of the matrix: a named emulator fault. Latency is
// split in two: above the tier timeout (the timeout path) and well below it
// (served, only slower).
type faultCase struct {
	name string
	f    zohosim.Fault
}

const (
	latencyOver  = "latency_over_timeout"
	latencyUnder = "latency_under_timeout"
)

// faultCases expands zohosim.FaultModes, so a new mode joins the matrix.
func faultCases(tierTimeout time.Duration) []faultCase {
	var out []faultCase
	for _, m := range zohosim.FaultModes {
		if m == zohosim.FaultLatency {
			out = append(out,
				faultCase{latencyOver, zohosim.Fault{Mode: m, Latency: tierTimeout + tierTimeout/2}},
				faultCase{latencyUnder, zohosim.Fault{Mode: m, Latency: 40 * time.Millisecond}})
			continue
		}
		out = append(out, faultCase{string(m), zohosim.Fault{Mode: m}})
	}
	return out
}

// breaking says whether fault fc on surface sf makes calls of the tiers it
// serves fail (the OAuth surface is reached because every cached token has
// expired; see runCase). known is false for a fault mode this file does not
// know yet: then only the generic assertions apply.
func breaking(sf zohosim.Surface, fc faultCase) (breaks, known bool) {
	switch fc.name {
	case latencyUnder:
		return false, true
	case latencyOver, string(zohosim.FaultDown), string(zohosim.Fault5xx), string(zohosim.Fault429),
		string(zohosim.FaultHang), string(zohosim.FaultHangAfterApply), string(zohosim.FaultMalformed),
		string(zohosim.FaultExpiredTokens):
		return true, true
	case string(zohosim.FaultRefreshCap):
		return sf == zohosim.SurfaceOAuth, true // the cap is the token endpoint's
	}
	return false, false
}

// causeRE is what an honest error text says for each fault.
var causeRE = map[string]*regexp.Regexp{
	string(zohosim.FaultDown):           regexp.MustCompile(`(?i)refused|unreachable|cannot reach|connect`),
	string(zohosim.Fault5xx):            regexp.MustCompile(`(?i)\b500\b|internal|server error|5xx`),
	string(zohosim.Fault429):            regexp.MustCompile(`(?i)rate.limit|429|too many`),
	latencyOver:                         regexp.MustCompile(`(?i)timed out|timeout|deadline|no answer`),
	string(zohosim.FaultHang):           regexp.MustCompile(`(?i)timed out|timeout|deadline|no answer`),
	string(zohosim.FaultHangAfterApply): regexp.MustCompile(`(?i)timed out|timeout|deadline|no answer`),
	string(zohosim.FaultMalformed):      regexp.MustCompile(`(?i)malformed|not a token response|json|decode|unexpected|truncated|unreadable|invalid|body`),
	string(zohosim.FaultExpiredTokens):  regexp.MustCompile(`(?i)token|credential`),
	string(zohosim.FaultRefreshCap):     regexp.MustCompile(`(?i)refresh.cap|REFRESH_CAP|rate.limit`),
}

// family is one row group of the matrix: a tool and how to check its answer.
type family struct {
	tool  string
	bulk  bool // a bulk_* operation: MCP cannot do it, BULK is chosen
	write bool
	args  func(c *mcase) map[string]any
	check func(t *testing.T, c *mcase, r result)
}

// mcase is one cell of the matrix while it runs.
type mcase struct {
	name   string
	sf     zohosim.Surface
	fc     faultCase
	fam    family
	behind string // tier whose surface is down ahead of the faulted one; "" = default routing
	h      *harness
	ids    []string
	value  string // the unique value a write sets
	chain  []string
	broken map[string]bool // tiers that cannot serve in this case
	known  bool
}

const (
	readFields = "Account_Name"
	listN      = 5
	bulkReadN  = 20
	bulkWriteN = 12
	probeIdx   = 3 // the account search_accounts looks for (by its seeded Email)
)

// families lists the tool families of the matrix; a new one joins it here.
func families() []family {
	return []family{
		{tool: "get_account",
			args: func(c *mcase) map[string]any {
				return map[string]any{"account_id": c.ids[0], "fields": []string{readFields}}
			},
			check: func(t *testing.T, c *mcase, r result) {
				var out struct {
					Account map[string]any `json:"account"`
				}
				mustDecode(t, r, &out)
				checkAccounts(t, c, []map[string]any{out.Account}, c.ids[:1])
			}},
		{tool: "get_accounts",
			args: func(c *mcase) map[string]any {
				return map[string]any{"ids": c.ids[:listN], "fields": []string{readFields}}
			},
			check: func(t *testing.T, c *mcase, r result) {
				var out struct {
					Accounts []map[string]any `json:"accounts"`
					Count    int              `json:"count"`
				}
				mustDecode(t, r, &out)
				if out.Count != listN {
					t.Errorf("count %d, want %d", out.Count, listN)
				}
				checkAccounts(t, c, out.Accounts, c.ids[:listN])
			}},
		{tool: "search_accounts",
			args: func(c *mcase) map[string]any {
				return map[string]any{"where": []map[string]any{{"field": "Email", "op": "equals",
					"value": fmt.Sprintf("contact@acct%d.example.com", probeIdx)}}, "fields": []string{readFields, "Email"}}
			},
			check: func(t *testing.T, c *mcase, r result) {
				var out struct {
					Accounts []map[string]any `json:"accounts"`
				}
				mustDecode(t, r, &out)
				checkAccounts(t, c, out.Accounts, c.ids[probeIdx:probeIdx+1])
			}},
		{tool: "update_account", write: true,
			args: func(c *mcase) map[string]any {
				return map[string]any{"account_id": c.ids[1], "data": map[string]any{"Description": c.value}}
			},
			check: func(t *testing.T, c *mcase, r result) { checkWrites(t, c, r, c.ids[1:2]) }},
		{tool: "bulk_read_accounts", bulk: true,
			args: func(c *mcase) map[string]any {
				return map[string]any{"account_ids": c.ids[:bulkReadN], "fields": []string{readFields}}
			},
			check: func(t *testing.T, c *mcase, r result) {
				var out struct {
					Accounts []map[string]any `json:"accounts"`
					Count    int              `json:"count"`
					Inline   bool             `json:"inline"`
				}
				mustDecode(t, r, &out)
				if out.Count != bulkReadN || !out.Inline {
					t.Errorf("count %d inline %v, want %d inline", out.Count, out.Inline, bulkReadN)
				}
				checkAccounts(t, c, out.Accounts, c.ids[:bulkReadN])
			}},
		{tool: "bulk_update_accounts", bulk: true, write: true,
			args: func(c *mcase) map[string]any {
				ups := make([]map[string]any, bulkWriteN)
				for i, id := range c.ids[bulkReadN : bulkReadN+bulkWriteN] {
					ups[i] = map[string]any{"id": id, "data": map[string]any{"Description": c.value}}
				}
				return map[string]any{"updates": ups, "trigger": []string{}}
			},
			check: func(t *testing.T, c *mcase, r result) { checkWrites(t, c, r, c.ids[bulkReadN:bulkReadN+bulkWriteN]) }},
	}
}

func mustDecode(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("structured content does not decode: %v (%s)", err, r.dump)
	}
}

// checkAccounts compares accounts with the emulator's store: exactly the ids
// wanted, each with the stored Account_Name.
func checkAccounts(t *testing.T, c *mcase, accts []map[string]any, want []string) {
	t.Helper()
	var got []string
	for _, a := range accts {
		id, _ := a["id"].(string)
		got = append(got, id)
		if stored := c.h.field(id, readFields); a[readFields] != stored {
			t.Errorf("account %s: %s %q, the store has %q", id, readFields, a[readFields], stored)
		}
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Errorf("accounts %v, want %v", got, w)
	}
}

// writeOutcome is one record's outcome of update_account or bulk_update_accounts.
type writeOutcome struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type writeOut struct {
	Results   []writeOutcome `json:"results"`
	Total     int            `json:"total"`
	Succeeded int            `json:"succeeded"`
	Failed    int            `json:"failed"`
}

// unknownRE is what an OUTCOME_UNKNOWN message must say.
var unknownRE = regexp.MustCompile(`(?i)may or may not|unknown|no answer|read (it|the record|them)? ?back`)

// checkWrites asserts the write-safety invariant for the records ids written
// with c.value: one outcome per record, in order; success ⇒ the store has the
// value and it was written exactly once; an error other than OUTCOME_UNKNOWN
// ⇒ the store does not have it and nothing was written; OUTCOME_UNKNOWN ⇒
// the message says so, and at most one write. Never two writes.
func checkWrites(t *testing.T, c *mcase, r result, ids []string) {
	t.Helper()
	var out writeOut
	mustDecode(t, r, &out)
	verifyWriteOutcomes(t, c.h.sim, out, ids, func(string) string { return c.value }, r, resent(r.route))
	if !r.isErr && (out.Failed != 0 || out.Succeeded != len(ids)) {
		t.Errorf("not an error, yet %d of %d failed", out.Failed, len(ids))
	}
	if r.isErr && out.Failed == 0 {
		t.Errorf("isError with every record a success: %s", r.dump)
	}
}

// verifyWriteOutcomes is the per-record write invariant shared with the
// randomized test. want gives the value each record was asked to take.
//
// The one exception: a record may be written twice when its first write's
// outcome was unknown (a timeout after sending), the reconcile step read it
// back without the change and re-sent it (mayResend), and the first write
// then landed after all — Zoho, like the emulator under latency, may finish a
// request whose client has gone.
func verifyWriteOutcomes(t *testing.T, sim *zohosim.Sim, out writeOut, ids []string, want func(id string) string, r result, mayResend bool) (unknown int) {
	t.Helper()
	if len(out.Results) != len(ids) || out.Total != len(ids) {
		t.Errorf("%d outcomes (total %d) for %d records: %s", len(out.Results), out.Total, len(ids), r.dump)
		return
	}
	succ, fail := 0, 0
	for i, o := range out.Results {
		id := ids[i]
		if o.ID != id {
			t.Errorf("outcome %d is for %s, want %s (request order)", i, o.ID, id)
			continue
		}
		stored := sim.Store().Get
		rec, _ := stored(id)
		has := rec["Description"] == want(id)
		writes := sim.RecordWrites(id)
		if writes > 1 && !(writes == 2 && mayResend && !strings.Contains(o.Message, "already been applied")) {
			t.Errorf("record %s was written %d times with the same change (status %s %s: %q; route %s)", id, writes, o.Status, o.Code, o.Message, r.route)
		}
		if writes == 2 {
			t.Logf("record %s: written twice: the reconcile read it back unapplied and re-sent it, then the first write landed (%q)", id, o.Message)
			writes = 1
		}
		switch {
		case o.Status == "success":
			succ++
			if !has || writes != 1 {
				t.Errorf("record %s reported success, but the store has %q after %d writes", id, rec["Description"], writes)
			}
		case o.Status == "error" && o.Code == "OUTCOME_UNKNOWN":
			fail++
			unknown++
			if !unknownRE.MatchString(o.Message) {
				t.Errorf("record %s: OUTCOME_UNKNOWN without saying so: %q", id, o.Message)
			}
			if has != (writes == 1) {
				t.Errorf("record %s: store has the value %v after %d writes", id, has, writes)
			}
		case o.Status == "error":
			fail++
			if o.Code == "" {
				t.Errorf("record %s: error without a code: %q", id, o.Message)
			}
			if has || writes != 0 {
				t.Errorf("record %s reported %s (%q), but it was written %d times (store has it: %v)", id, o.Code, o.Message, writes, has)
			}
		default:
			t.Errorf("record %s: status %q", id, o.Status)
		}
	}
	if succ != out.Succeeded || fail != out.Failed {
		t.Errorf("totals succeeded %d failed %d, the outcomes say %d and %d", out.Succeeded, out.Failed, succ, fail)
	}
	return unknown
}

// resent reports whether a route allows a second write of a record: an
// attempt whose outcome was unknown followed by a reconcile read-back.
func resent(rt route) bool {
	unknown := false
	for _, a := range rt.Attempts {
		switch a.Outcome {
		case "outcome_unknown":
			unknown = true
		case "reconciled":
			if unknown {
				return true
			}
		}
	}
	return false
}

// countable are the attempt outcomes a breaker counts as failures.
var countable = []string{"unavailable", "rate_limited", "auth_failed", "outcome_unknown"}

// buildCases generates the matrix: every surface × fault × family, plus, where
// the faulted tier would not be reached (an earlier tier serves the call), a
// "behind" variant in which the first tier's surface is down and the faulted
// tier comes next in the failover chain.
func buildCases(tierTimeout time.Duration) []*mcase {
	var out []*mcase
	for _, sf := range zohosim.Surfaces {
		for _, fc := range faultCases(tierTimeout) {
			for _, fam := range families() {
				first := tMCP
				if fam.bulk {
					first = tBulk
				}
				add := func(behind string) {
					name := fmt.Sprintf("%s/%s/%s", sf, fc.name, fam.tool)
					if behind != "" {
						name += "/behind_" + strings.ToLower(behind) + "_down"
					}
					out = append(out, &mcase{name: name, sf: sf, fc: fc, fam: fam, behind: behind})
				}
				add("")
				targets := tiersOfSurface[sf]
				if !slices.Contains(targets, first) && (!fam.bulk || !slices.Contains(targets, tMCP)) {
					add(first)
				}
			}
		}
	}
	return out
}

// chainFor returns the failover chain of the case: the chosen tier, then the
// others by priority (the faulted tier right after the first in a "behind"
// case), without tiers that cannot do the operation.
func chainFor(c *mcase) []string {
	order := []string{tMCP, tBulk, tREST}
	if c.behind != "" {
		t := tiersOfSurface[c.sf][0]
		order = []string{c.behind, t}
		for _, x := range []string{tMCP, tBulk, tREST} {
			if !slices.Contains(order, x) {
				order = append(order, x)
			}
		}
	}
	first := tMCP
	if c.fam.bulk {
		first = tBulk
	}
	chain := []string{first}
	for _, x := range order {
		if x == first || (c.fam.bulk && x == tMCP) {
			continue
		}
		chain = append(chain, x)
	}
	return chain
}

// priorities sets the tiers' priorities so chainFor's order holds.
func priorities(c *mcase) func(*config.Config) {
	return func(cfg *config.Config) {
		if c.behind == "" {
			return
		}
		order := chainFor(c)
		if c.fam.bulk { // MCP is not in a bulk chain; give it the last place
			order = append(order, tMCP)
		}
		set := map[string]*config.TierSettings{tMCP: &cfg.Tiers.MCP.TierSettings, tBulk: &cfg.Tiers.Bulk.TierSettings, tREST: &cfg.Tiers.REST.TierSettings}
		for i, t := range order {
			set[t].Priority = i + 1
		}
	}
}

// parallelism is how many matrix cases run at once (FAULTS_PARALLEL).
func parallelism() int {
	if n, err := strconv.Atoi(os.Getenv("FAULTS_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return 4
}

// group is the cases sharing one emulator and one proxy: the same surface,
// fault and routing (behind a down tier or not). Its cases run one after the
// other, each after reset_circuit_breakers, so every route and breaker check
// sees that call alone.
type group struct {
	name  string
	cases []*mcase
}

func buildGroups(cases []*mcase) []*group {
	var out []*group
	idx := map[string]*group{}
	for _, c := range cases {
		key := fmt.Sprintf("%s/%s", c.sf, c.fc.name)
		if c.behind != "" {
			key += "/behind_" + strings.ToLower(c.behind) + "_down"
		}
		g, ok := idx[key]
		if !ok {
			g = &group{name: key}
			idx[key] = g
			out = append(out, g)
		}
		g.cases = append(g.cases, c)
	}
	return out
}

// TestFaultMatrix drives every cell of surface × fault × tool family through
// a real MCP client against the real server on a fresh emulator, and checks
// the answer, the deadline, the route and the breakers.
func TestFaultMatrix(t *testing.T) {
	cases := buildCases(tierTimeout())
	if f := os.Getenv("FAULTS_ONLY"); f != "" {
		cases = slices.DeleteFunc(cases, func(c *mcase) bool { return !strings.Contains(c.name, f) })
	}
	groups := buildGroups(cases)
	nf := len(faultCases(tierTimeout()))
	t.Logf("fault matrix: %d cases in %d emulator+proxy groups (%d surfaces × %d faults × %d tool families = %d, plus %d behind-a-down-tier variants); tier timeout %v",
		len(cases), len(groups), len(zohosim.Surfaces), nf, len(families()), len(zohosim.Surfaces)*nf*len(families()),
		len(cases)-len(zohosim.Surfaces)*nf*len(families()), tierTimeout())
	sem := make(chan struct{}, parallelism())
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(g.name, func(t *testing.T) { runGroup(t, g) })
		}()
	}
	wg.Wait()
}

func runGroup(t *testing.T, g *group) {
	c0 := g.cases[0]
	h := start(t, opts{Tune: priorities(c0)})
	// Warm up: an MCP session and a token for every tier, so a fault strikes
	// a proxy in service.
	h.warmUp()
	if c0.behind != "" {
		h.sim.SetFault(surfaceOfTier[c0.behind], zohosim.Fault{Mode: zohosim.FaultDown})
	}
	h.sim.SetFault(c0.sf, c0.fc.f)
	for _, c := range g.cases {
		c.h = h
		t.Run(c.fam.tool, func(t *testing.T) { runCase(t, c) })
	}
}

func runCase(t *testing.T, c *mcase) {
	h := c.h
	c.ids = h.ids(0, bulkReadN+bulkWriteN)
	c.value = "matrix " + c.name
	c.chain = chainFor(c)
	var breaks bool
	breaks, c.known = breaking(c.sf, c.fc)
	c.broken = map[string]bool{}
	if breaks {
		for _, tr := range tiersOfSurface[c.sf] {
			c.broken[tr] = true
		}
	}
	if c.behind != "" {
		c.broken[c.behind] = true
	}
	if r := h.call(profOps, "reset_circuit_breakers", map[string]any{}); r.err != nil || r.isErr {
		t.Fatalf("reset_circuit_breakers: %s", r.dump)
	}
	if c.sf == zohosim.SurfaceOAuth {
		// A refresh the previous case started may still be running in the
		// background (slow accounts server); let it land first.
		h.waitIdle(zohosim.SurfaceOAuth, 2*c.fc.f.Latency)
		// Expire every token the tiers hold (a token refreshed in the
		// background during the previous case included), so this call has
		// to refresh through the faulted accounts server.
		h.sim.Advance(2 * time.Hour)
	}
	h.sim.ResetLog()

	r := h.call(profOps, c.fam.tool, c.fam.args(c))
	if r.err != nil {
		t.Fatalf("JSON-RPC error instead of a tool result: %v", r.err)
	}
	t.Logf("%s", r.dump)

	// Always inside the call's deadline (plus scheduling slack).
	if limit := h.o.CallTimeout + h.o.TierTimeout/2; r.dur > limit {
		t.Errorf("the call took %v, over its %v deadline", r.dur, h.o.CallTimeout)
	}
	if !r.hasRt || len(r.route.Attempts) == 0 {
		t.Fatalf("no _meta route: %s", r.dump)
	}
	checkRoute(t, c, r)

	if c.fam.write || !r.isErr {
		c.fam.check(t, c, r)
	}
	if c.fam.write {
		checkUnknownWasSent(t, c, r)
	}
	if r.isErr {
		checkCause(t, c, r)
	}
	checkBreakers(t, c, r)
}

// healthy reports whether some tier of the chain can serve the case.
func (c *mcase) healthy() bool {
	for _, tr := range c.chain {
		if !c.broken[tr] {
			return true
		}
	}
	return false
}

func checkRoute(t *testing.T, c *mcase, r result) {
	t.Helper()
	rt := r.route
	if got := rt.Attempts[0].Tier; got != c.chain[0] {
		t.Errorf("first attempt on %s, want %s (chain %v): %s", got, c.chain[0], c.chain, r.dump)
	}
	pos := 0
	for _, a := range rt.Attempts {
		i := slices.Index(c.chain, a.Tier)
		if i < 0 {
			t.Errorf("attempt on %s, which is not in the chain %v", a.Tier, c.chain)
			continue
		}
		if i < pos {
			t.Errorf("attempts go back from %s to %s: %s", c.chain[pos], a.Tier, r.dump)
		}
		pos = i
		if c.known && c.broken[a.Tier] && (a.Outcome == "success" || a.Outcome == "reconciled" || a.Outcome == "verdict") {
			t.Errorf("attempt on the broken tier %s has outcome %s: %s", a.Tier, a.Outcome, r.dump)
		}
	}
	last := rt.Attempts[len(rt.Attempts)-1]
	if !r.isErr {
		if rt.Tier == "" || last.Tier != rt.Tier || (last.Outcome != "success" && last.Outcome != "reconciled") {
			t.Errorf("success, but the route does not end with the serving tier's success: %s", r.dump)
		}
		if c.known && c.broken[rt.Tier] {
			t.Errorf("served by %s, a tier that cannot serve under this fault: %s", rt.Tier, r.dump)
		}
	}
	if !c.known {
		return
	}
	if r.isErr && c.healthy() {
		t.Errorf("failover failed: a healthy tier was in the chain %v (broken: %v), yet: %s", c.chain, c.broken, r.dump)
	}
	if !r.isErr && !c.healthy() {
		t.Errorf("success although every tier of %v is broken: %s", c.chain, r.dump)
	}
	if !c.broken[c.chain[0]] && !c.fam.write && (len(rt.Attempts) != 1 || last.Outcome != "success") {
		t.Errorf("the first tier %s was healthy, yet the route is %s", c.chain[0], r.dump)
	}
}

// checkCause asserts that an error names the cause of the fault that broke
// the tiers (or of the tier taken down ahead of it).
func checkCause(t *testing.T, c *mcase, r result) {
	t.Helper()
	if !c.known || !c.broken[tiersOfSurface[c.sf][0]] {
		if !regexp.MustCompile(`(?i)refused|unreachable|unavailable|no tier`).MatchString(r.text) {
			t.Errorf("isError does not name a cause: %s", r.dump)
		}
		return
	}
	re := causeRE[c.fc.name]
	if re != nil && !re.MatchString(r.text) {
		t.Errorf("isError text does not name the cause (%s, want /%s/): %q", c.fc.name, re, r.text)
	}
	if !strings.Contains(r.text, "get_tier_health") && !regexp.MustCompile(`(?i)retry|read .*back|re-send`).MatchString(r.text) {
		t.Errorf("isError text does not say what to do next: %q", r.text)
	}
}

// checkBreakers compares get_tier_health with the route: a tier whose last
// attempt failed has counted a failure; one that served has none; one not
// tried is untouched. With the matrix's high threshold every breaker stays
// closed.
func checkBreakers(t *testing.T, c *mcase, r result) {
	t.Helper()
	hs := c.h.health()
	for _, tr := range []string{tMCP, tBulk, tREST} {
		b, ok := hs[tr]
		if !ok {
			t.Errorf("get_tier_health has no %s", tr)
			continue
		}
		if b.State != "closed" {
			t.Errorf("%s breaker %s below its threshold", tr, b.State)
		}
		outs := r.route.outcomesOn(tr)
		switch {
		case len(outs) == 0:
			if b.FailureCount != 0 {
				t.Errorf("%s was not tried, yet its breaker counts %d failures", tr, b.FailureCount)
			}
		case slices.Contains(countable, outs[len(outs)-1]):
			if b.FailureCount < 1 {
				t.Errorf("%s failed (%v), yet its breaker counts no failure", tr, outs)
			}
		case outs[len(outs)-1] == "success" || outs[len(outs)-1] == "reconciled":
			if b.FailureCount != 0 {
				t.Errorf("%s served (%v), yet its breaker counts %d consecutive failures", tr, outs, b.FailureCount)
			}
		}
	}
}

// writeRequest reports whether a logged request could have written a record,
// as its client saw it: a write that got no answer, a success or a 5xx (a
// 401, 429 or other 4xx tells the client it was not applied).
func writeRequest(lr zohosim.LoggedRequest) bool {
	if lr.Status >= 300 && lr.Status < 500 {
		return false
	}
	switch lr.Surface {
	case zohosim.SurfaceMCP: // a fault may answer before the body is read
		return lr.Method == "POST" && (len(lr.Body) == 0 || strings.Contains(string(lr.Body), "tools/call"))
	case zohosim.SurfaceBulk, zohosim.SurfaceREST:
		return lr.Method == "PUT" || lr.Method == "POST" && !strings.Contains(lr.Path, "/coql") && !strings.Contains(lr.Path, "/read")
	}
	return false
}

// checkUnknownWasSent asserts that a tier reporting a write's outcome as
// unknown did send a write: otherwise the honest outcome is "not sent".
func checkUnknownWasSent(t *testing.T, c *mcase, r result) {
	t.Helper()
	sent := map[string]bool{}
	for _, lr := range c.h.sim.Requests() {
		if writeRequest(lr) {
			for tr, sf := range surfaceOfTier {
				if sf == lr.Surface {
					sent[tr] = true
				}
			}
		}
	}
	for _, a := range r.route.Attempts {
		if a.Outcome == "outcome_unknown" && !sent[a.Tier] {
			t.Errorf("%s reported the write's outcome unknown, but no write request reached the emulator's %s surface: %s", a.Tier, surfaceOfTier[a.Tier], r.dump)
		}
	}
}
