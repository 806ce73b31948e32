package faults

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// searchFixture gives the same records, in every emulator, values that tell
// the search meanings apart: names equal but for case, names that contain
// or start with another, and notes where most records have none.
func searchFixture(t *testing.T, h *harness) []string {
	t.Helper()
	ids := h.ids(0, 12)
	set := map[int]map[string]any{
		1: {"Account_Name": "Exact Match Co"},
		2: {"Account_Name": "exact match co"},
		3: {"Account_Name": "Exact Match Co Ltd"},
		4: {"Account_Name": "The Exact Match Co"},
		5: {"Account_Name": "Exact Matcher"},
		6: {"Description": "Other note"},
		7: {"Description": "other NOTE"},
		8: {"Description": "Key account; renewal due next quarter. Other note"},
	}
	for i, d := range set {
		if _, ok := h.sim.Store().Update(ids[i], d); !ok {
			t.Fatalf("fixture record %s missing", ids[i])
		}
	}
	return ids
}

// searchTiers starts one harness per tier, each with the two others
// disabled, over emulators with the same seeded data and fixture: a search
// there can only be served by that tier. The shipped defaults are kept
// otherwise.
func searchTiers(t *testing.T) map[string]*harness {
	t.Helper()
	out := map[string]*harness{}
	for _, tier := range []string{tMCP, tBulk, tREST} {
		h := start(t, opts{Accounts: 400, Defaults: true, Tune: func(c *config.Config) {
			c.Tiers.MCP.Enabled, c.Tiers.Bulk.Enabled, c.Tiers.REST.Enabled = tier == tMCP, tier == tBulk, tier == tREST
		}})
		searchFixture(t, h)
		out[tier] = h
	}
	return out
}

// searchAll pages search_accounts to the end as ops on h (page_token
// taken from tok first, when set) and returns the ids in order, failing on
// a repeated id or a route through another tier.
func searchAll(t *testing.T, h *harness, tier string, args map[string]any) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	for range 200 {
		r := h.call(profOps, "search_accounts", args)
		if r.err != nil || r.isErr {
			t.Fatalf("%s: search_accounts %v: %s", tier, args, r.dump)
		}
		if r.route.Tier != tier {
			t.Fatalf("%s: served by %s", tier, r.route)
		}
		var out struct {
			Accounts []map[string]any `json:"accounts"`
			More     bool             `json:"more_records"`
			Next     string           `json:"next_page_token"`
		}
		mustDecode(t, r, &out)
		lim, _ := args["limit"].(int)
		if lim > 0 && len(out.Accounts) > lim {
			t.Fatalf("%s: a page of %d accounts for limit %d", tier, len(out.Accounts), lim)
		}
		for _, a := range out.Accounts {
			id, _ := a["id"].(string)
			if seen[id] {
				t.Fatalf("%s: account %s returned twice", tier, id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		if !out.More {
			return ids
		}
		next := map[string]any{}
		for k, v := range args {
			next[k] = v
		}
		next["page_token"] = out.Next
		args = next
	}
	t.Fatalf("%s: more than 200 pages", tier)
	return nil
}

type cond = map[string]any

// TestSearchMeansTheSameOnEveryTier runs each search operator (and word,
// email and phone) on each tier alone — tier 1 over the hosted MCP's search
// tool, BULK over COQL, REST over the search API — against the same data,
// and asserts the same ids: equals is exact (case-insensitive), not the
// search API's "contains"; not_equal leaves empty fields out; starts_with
// is a prefix.
func TestSearchMeansTheSameOnEveryTier(t *testing.T) {
	if testing.Short() {
		t.Skip("three proxies")
	}
	t.Parallel()
	hs := searchTiers(t)
	ids := h0ids(hs)
	tests := []struct {
		name string
		args map[string]any
		want []string // nil: only the same on every tier (and not empty)
	}{
		{"equals is exact, not contains", map[string]any{"where": []cond{{"field": "Account_Name", "op": "equals", "value": "EXACT MATCH CO"}}}, []string{ids[1], ids[2]}},
		{"starts_with is a prefix", map[string]any{"where": []cond{{"field": "Account_Name", "op": "starts_with", "value": "exact match"}}}, []string{ids[1], ids[2], ids[3], ids[5]}},
		{"not_equal leaves empty fields out", map[string]any{"where": []cond{{"field": "Description", "op": "not_equal", "value": "Key account; renewal due next quarter."}}}, []string{ids[6], ids[7], ids[8]}},
		{"in", map[string]any{"where": []cond{{"field": "Industry", "op": "in", "value": []any{"retail", "Banking"}}}}, nil},
		{"equals on a picklist", map[string]any{"where": []cond{{"field": "Industry", "op": "equals", "value": "Healthcare"}}}, nil},
		{"greater_than", map[string]any{"where": []cond{{"field": "Employees", "op": "greater_than", "value": 4500}}}, nil},
		{"greater_equal", map[string]any{"where": []cond{{"field": "Annual_Revenue", "op": "greater_equal", "value": 11000000}}}, nil},
		{"less_than", map[string]any{"where": []cond{{"field": "SIC_Code", "op": "less_than", "value": 1800}}}, nil},
		{"less_equal", map[string]any{"where": []cond{{"field": "Employees", "op": "less_equal", "value": 400}}}, nil},
		{"between", map[string]any{"where": []cond{{"field": "Annual_Revenue", "op": "between", "value": []any{1000000, 2000000}}}}, nil},
		{"datetime", map[string]any{"where": []cond{{"field": "Created_Time", "op": "greater_equal", "value": "2024-01-15T00:00:00+00:00"},
			{"field": "Created_Time", "op": "less_than", "value": "2024-01-17T00:00:00+00:00"}}}, nil},
		{"lookup by id", map[string]any{"where": []cond{{"field": "Owner", "op": "equals", "value": "5725767000000411002"}, {"field": "Employees", "op": "less_than", "value": 1500}}}, nil},
		{"match any", map[string]any{"match": "any", "where": []cond{{"field": "Account_Name", "op": "equals", "value": "exact match co"},
			{"field": "Description", "op": "equals", "value": "other note"}}}, []string{ids[1], ids[2], ids[6], ids[7]}},
		{"word", map[string]any{"word": "Zylker"}, nil},
		{"email", map[string]any{"email": "contact@acct12.example.com"}, nil},
		{"phone", map[string]any{"phone": "+1 555 0012"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string][]string{}
			for tier, h := range hs {
				args := map[string]any{"limit": 7, "fields": []string{"Account_Name"}}
				for k, v := range tt.args {
					args[k] = v
				}
				got[tier] = sorted(searchAll(t, h, tier, args))
			}
			if !slices.Equal(got[tMCP], got[tBulk]) || !slices.Equal(got[tBulk], got[tREST]) {
				t.Fatalf("different ids per tier:\nMCP  %v\nBULK %v\nREST %v", got[tMCP], got[tBulk], got[tREST])
			}
			if tt.want != nil && !slices.Equal(got[tBulk], sorted(tt.want)) {
				t.Fatalf("ids %v, want %v", got[tBulk], sorted(tt.want))
			}
			if len(got[tBulk]) == 0 || len(got[tBulk]) == 400 {
				t.Fatalf("%d ids: the case tells nothing apart", len(got[tBulk]))
			}
		})
	}
	// A page token is every tier's: page through one search switching tier
	// at every page.
	t.Run("page tokens cross tiers", func(t *testing.T) {
		args := map[string]any{"limit": 2, "fields": []string{"Account_Name"},
			"where": []cond{{"field": "Account_Name", "op": "starts_with", "value": "exact match"}}}
		var all []string
		order := []string{tREST, tBulk, tMCP, tREST, tMCP, tBulk}
		for i := 0; ; i++ {
			tier := order[i%len(order)]
			r := hs[tier].call(profOps, "search_accounts", args)
			if r.err != nil || r.isErr || r.route.Tier != tier {
				t.Fatalf("page %d on %s: %s", i, tier, r.dump)
			}
			var out struct {
				Accounts []map[string]any `json:"accounts"`
				More     bool             `json:"more_records"`
				Next     string           `json:"next_page_token"`
			}
			mustDecode(t, r, &out)
			for _, a := range out.Accounts {
				all = append(all, a["id"].(string))
			}
			if !out.More {
				break
			}
			args["page_token"] = out.Next
		}
		if want := sorted([]string{ids[1], ids[2], ids[3], ids[5]}); !slices.Equal(all, want) {
			t.Fatalf("across tiers: %v, want %v in id order", all, want)
		}
	})
}

func h0ids(hs map[string]*harness) []string { return hs[tBulk].ids(0, 12) }

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

var _ = json.Marshal
var _ = zohosim.SurfaceREST
