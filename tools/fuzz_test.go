package tools

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// parsers are the argument parsers of every tool, by name: each comes with
// its tool, from the tool's one declaration of its arguments.
var parsers = func() map[string]func([]byte, *permissions.Profile) (any, error) {
	m := map[string]func([]byte, *permissions.Profile) (any, error){}
	for _, tl := range All(Deps{}) {
		m[tl.Def.Name] = tl.parse
	}
	return m
}()

func TestEveryToolHasAParser(t *testing.T) {
	t.Parallel()
	for name, p := range parsers {
		if p == nil {
			t.Errorf("no parser for %s", name)
		}
	}
}

// checkParsed asserts the invariants of anything a parser accepted.
func checkParsed(t *testing.T, v any, p *permissions.Profile) {
	fieldOK := func(f string) {
		if !tiers.IsAPIName(f) || p.Denied(f) {
			t.Fatalf("accepted field %q", f)
		}
	}
	idOK := func(id string) {
		if !tiers.IsRecordID(id) {
			t.Fatalf("accepted id %q", id)
		}
	}
	condOK := func(cs []tiers.Condition) {
		for _, c := range cs {
			fieldOK(c.Field)
			if !slices.Contains(operators, c.Op) {
				t.Fatalf("accepted op %q", c.Op)
			}
			switch {
			case c.Op == tiers.OpBetween && len(c.Values) != 2,
				c.Op == tiers.OpIn && (len(c.Values) < 1 || len(c.Values) > tiers.MaxInValues),
				c.Op != tiers.OpIn && c.Op != tiers.OpBetween && len(c.Values) != 1:
				t.Fatalf("accepted %d values for %s", len(c.Values), c.Op)
			}
		}
	}
	uniqueIDs := func(ids []string) {
		seen := map[string]bool{}
		for _, id := range ids {
			idOK(id)
			if seen[id] {
				t.Fatalf("accepted duplicate id %s", id)
			}
			seen[id] = true
		}
	}
	dataOK := func(d tiers.Record) {
		if len(d) == 0 {
			t.Fatal("accepted empty data")
		}
		for k := range d {
			if k == "id" {
				t.Fatal("accepted id in data")
			}
			if k != seModule {
				fieldOK(k)
			}
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("accepted data that does not marshal: %v", err)
		}
	}
	switch x := v.(type) {
	case getAccountParams:
		idOK(x.ID)
		for _, f := range x.Fields {
			fieldOK(f)
		}
	case getAccountsParams:
		uniqueIDs(x.IDs)
		condOK(x.Filters)
		if x.Limit < 1 || x.Limit > tiers.MaxPageSize || len(x.IDs) > tiers.MaxListIDs || len(x.Fields) > tiers.MaxFields {
			t.Fatalf("accepted out-of-range params %+v", x)
		}
	case searchAccountsParams:
		condOK(x.Where)
		n := 0
		for _, s := range []bool{x.Where != nil, x.Word != "", x.Email != "", x.Phone != ""} {
			if s {
				n++
			}
		}
		if n != 1 || x.Limit < 1 || x.Limit > tiers.MaxPageSize || (x.Match != "all" && x.Match != "any") {
			t.Fatalf("accepted bad search %+v", x)
		}
	case updateAccountParams:
		idOK(x.ID)
		dataOK(x.Data)
	case bulkReadParams:
		uniqueIDs(x.IDs)
		condOK(x.Where)
	case bulkUpdateParams:
		ids := make([]string, len(x.Updates))
		for i, u := range x.Updates {
			ids[i] = u.ID
			dataOK(u.Data)
		}
		uniqueIDs(ids)
	case getRecordParams:
		moduleOK(t, x.Module, p)
		idOK(x.ID)
		for _, f := range x.Fields {
			fieldOK(f)
		}
	case getRecordsParams:
		moduleOK(t, x.Module, p)
		uniqueIDs(x.IDs)
		condOK(x.Filters)
	case searchRecordsParams:
		moduleOK(t, x.Module, p)
		condOK(x.Where)
	case relatedParams:
		moduleOK(t, x.Module, p)
		idOK(x.ID)
		if !tiers.IsAPIName(x.List) {
			t.Fatalf("accepted related list %q", x.List)
		}
	case createParams:
		moduleOK(t, x.Module, p)
		if len(x.Records) == 0 || len(x.Records) > tiers.MaxRecordsPerWrite {
			t.Fatalf("accepted %d records", len(x.Records))
		}
		for _, r := range x.Records {
			dataOK(r)
		}
	case updateRecordsParams:
		moduleOK(t, x.Module, p)
		ids := make([]string, len(x.Updates))
		for i, u := range x.Updates {
			ids[i] = u.ID
			dataOK(u.Data)
			if u.Module != x.Module {
				t.Fatalf("update of module %q in a call on %q", u.Module, x.Module)
			}
		}
		if len(ids) == 0 || len(ids) > tiers.MaxRecordsPerWrite {
			t.Fatalf("accepted %d updates", len(ids))
		}
		uniqueIDs(ids)
	case describeParams:
		if x.Module != "" {
			moduleOK(t, x.Module, p)
		}
	}
}

// moduleOK asserts that an accepted module is a module name p may touch.
func moduleOK(t *testing.T, m string, p *permissions.Profile) {
	if !tiers.IsModuleName(m) || !p.AllowsModule(m) {
		t.Fatalf("accepted module %q", m)
	}
}

// FuzzValidateArgs feeds arbitrary bytes to every tool's argument parser:
// it must never panic, and whatever it accepts must satisfy the rules.
func FuzzValidateArgs(f *testing.F) {
	seeds := []string{
		`{}`, `null`, `[]`, `"x"`, `{"account_id":"1"}`, `{"account_id":1}`,
		`{"account_id":"3652397000000000001","fields":["Phone","Annual_Revenue"]}`,
		`{"ids":["1","2"],"limit":5,"sort_by":"id","sort_order":"desc","page_token":"x"}`,
		`{"filters":{"Industry":"Retail","Rating":1e3}}`,
		`{"where":[{"field":"A","op":"in","value":["a",1,true]}],"match":"any"}`,
		`{"where":[{"field":"A","op":"between","value":[1,2]}]}`,
		`{"word":"acme","limit":200}`, `{"email":"a@b.c"}`, `{"phone":"1"}`,
		`{"account_id":"1","data":{"A":{"id":"1"},"B":[1,2],"C":null},"trigger":["workflow"]}`,
		`{"account_ids":["1","1"]}`,
		`{"updates":[{"id":"1","data":{"A":1}},{"id":"2","data":{"B":2}}],"trigger":[]}`,
		`{"limit":1e400}`, `{"limit":-0}`, `{"data":{"\u0000":1}}`, "{\"word\":\"\xff\"}",
		`{"module":"Contacts","record_id":"1","fields":["Email"]}`, `{"module":"Leads","ids":["1"]}`,
		`{"module":"Contacts","where":[{"field":"Email","op":"equals","value":"a@b"}]}`,
		`{"module":"Accounts","record_id":"1","related_list":"Contacts","fields":["Last_Name"]}`,
		`{"module":"Contacts","records":[{"Last_Name":"x","$se_module":"Accounts"},{"id":"1"}]}`,
		`{"module":"Deals","updates":[{"id":"1","data":{"Stage":"x"}}],"trigger":[]}`, `{"module":"1x"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	names := make([]string, 0, len(parsers))
	for n := range parsers {
		names = append(names, n)
	}
	slices.Sort(names)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, n := range names {
			for _, p := range []*permissions.Profile{profAll, profSales} {
				v, err := parsers[n](data, p)
				if err != nil {
					if !isArgError(err) {
						t.Fatalf("%s: error of type %T: %v", n, err, err)
					}
					continue
				}
				checkParsed(t, v, p)
			}
		}
	})
}
