package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// profRestricted is denied a field of every kind an argument can reach:
// a number, a phone, a text area, a website, a sortable time and a custom
// field of unknown type.
var profRestricted = &permissions.Profile{Name: "restricted", Scopes: permissions.AllScopes(),
	DenyFields: []string{"Annual_Revenue", "Phone", "Description", "Website", "Created_Time", "Secret_Email"}}

// TestEveryParamDeclaresItsFields: every argument of every tool says how it
// reaches fields or that it names none, so the deny-list probes cover it.
func TestEveryParamDeclaresItsFields(t *testing.T) {
	t.Parallel()
	if _, err := DenyProbes(All(Deps{}), profRestricted.DenyFields, []string{"3652397000000000000"}); err != nil {
		t.Fatal(err)
	}
	var bare param
	if _, err := DenyProbes([]Tool{{Def: GetAccount(Deps{}).Def, params: func() []param {
		bare = param{name: "x", schema: func() schema { return str("") }}
		return []param{bare}
	}}}, []string{"A"}, []string{"1"}); err == nil || !strings.Contains(err.Error(), "neither reach nor noField") {
		t.Fatalf("an undeclared argument was not reported: %v", err)
	}
}

// TestDenyProbesRefused: every probe of an argument that reaches fields is
// refused by the tool's parser because of the deny list (the message says
// so, and the same call passes for a profile denied nothing). Before, word,
// email and phone searches and sort_by were accepted for a profile denied
// the fields they reach. Probes that put a field's name in an argument
// that names none are the e2e suite's (a page_token is only refused when
// it is decoded).
func TestDenyProbesRefused(t *testing.T) {
	t.Parallel()
	all := All(Deps{})
	probes, err := DenyProbes(all, profRestricted.DenyFields, []string{"3652397000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	byTool := map[string]Tool{}
	for _, tl := range all {
		byTool[tl.Def.Name] = tl
	}
	reached := map[string]bool{}
	for _, p := range probes {
		if p.NoField {
			continue
		}
		t.Run(p.String(), func(t *testing.T) {
			raw, _ := json.Marshal(p.Args)
			_, err := byTool[p.Tool].parse(raw, profRestricted)
			if err == nil {
				t.Fatalf("accepted %s", raw)
			}
			if !isArgError(err) {
				t.Fatalf("not an argument error: %v", err)
			}
			if !strings.Contains(err.Error(), "denied for profile") {
				t.Errorf("refused for another reason than the deny list: %v (%s)", err, raw)
			}
			// The same call without the deny list is valid: the refusal
			// is the deny list's alone.
			if _, err := byTool[p.Tool].parse(raw, profAll); err != nil {
				t.Errorf("the probe is invalid even for a profile denied nothing: %v (%s)", err, raw)
			}
		})
		reached[p.Tool+"."+p.Param] = true
	}
	for _, want := range []string{"search_accounts.word", "search_accounts.phone", "search_accounts.email",
		"get_accounts.sort_by", "get_accounts.filters", "update_account.data", "bulk_update_accounts.updates",
		"bulk_read_accounts.where", "get_account.fields"} {
		if !reached[want] {
			t.Errorf("no probe reaches a field through %s", want)
		}
	}
}

// TestImplicitSearchesRespectDenyList: the case. A profile denied
// Phone, Description and Website is refused phone and word searches (and
// sort_by on a denied field) with nothing sent to Zoho; a profile denied
// only a number field still searches by word and phone.
func TestImplicitSearchesRespectDenyList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 5)
	denied := &permissions.Profile{Name: "nophone", Scopes: permissions.AllScopes(),
		DenyFields: []string{"Phone", "Description", "Website", "Modified_Time"}}
	for _, c := range []struct{ tool, args, want string }{
		{"search_accounts", `{"phone":"+1 555 0100"}`, "a phone search matches every phone field of Accounts, and field Phone is denied"},
		{"search_accounts", `{"word":"Acme"}`, "a word search matches every text field of Accounts, and field Phone is denied"},
		{"get_accounts", `{"sort_by":"Modified_Time"}`, "sort_by: field Modified_Time is denied"},
	} {
		before := len(e.tier.Calls())
		res := e.call(t, denied, c.tool, c.args)
		if !res.IsError || !strings.Contains(text(res), c.want) {
			t.Errorf("%s %s: %s", c.tool, c.args, text(res))
		}
		if n := len(e.tier.Calls()); n != before {
			t.Errorf("%s %s reached the tier", c.tool, c.args)
		}
	}
	numbersOnly := &permissions.Profile{Name: "sales", Scopes: permissions.AllScopes(), DenyFields: []string{"Annual_Revenue"}}
	for _, args := range []string{`{"phone":"+1 555 0100"}`, `{"word":"Acme"}`, `{"email":"ops@example.com"}`} {
		if res := e.call(t, numbersOnly, "search_accounts", args); res.IsError {
			t.Errorf("search %s refused for a profile denied only a number field: %s", args, text(res))
		}
	}
	if res := e.call(t, numbersOnly, "get_accounts", `{"sort_by":"Modified_Time"}`); res.IsError {
		t.Errorf("sort_by refused for a profile that may read it: %s", text(res))
	}
}
