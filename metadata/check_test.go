package metadata

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func module(name string) *Module {
	for _, m := range org.Modules {
		if m.APIName == name {
			return newModule(m, org.Fields[name])
		}
	}
	panic(name)
}

// rec decodes JSON as the tools do (numbers as json.Number).
func rec(t testing.TB, s string) tiers.Record {
	t.Helper()
	var r tiers.Record
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		module string
		data   string
		create bool
		want   string // "" = valid
	}{
		{"valid contact", "Contacts", `{"Last_Name":"Lovelace","Email":"ada@example.com","Lead_Source":"Web","Account_Name":{"id":"5725767000001000000"},"Date_of_Birth":"1815-12-10","Email_Opt_Out":false}`, true, ""},
		{"picklist by its stored value", "Contacts", `{"Lead_Source":"Trade_Show"}`, false, ""},
		{"lookup as a bare id", "Contacts", `{"Account_Name":"5725767000001000000"}`, false, ""},
		{"null clears", "Contacts", `{"First_Name":null}`, false, ""},
		{"system key passes", "Contacts", `{"$se_module":"Accounts","First_Name":"A"}`, false, ""},
		{"unknown type passes", "Projects", `{"Odd":{"anything":[1]}}`, false, ""},
		{"valid project", "Projects", `{"Name":"Apollo","Budget":1250.5,"Team_Size":4,"Go_Live":"2026-03-05T09:12:44+05:30","Tech_Stack":["Go","Rust"]}`, true, ""},

		{"unknown field", "Contacts", `{"Nick_Name":"x"}`, false, `data: module Contacts has no field "Nick_Name"; describe_module {"module": "Contacts"} lists its fields`},
		{"unknown field, other case", "Contacts", `{"last_name":"x"}`, false, `data: module Contacts has no field "last_name"; did you mean Last_Name?`},
		{"unknown field by its label", "Contacts", `{"Lead Source":"x"}`, false, `did you mean Lead_Source?`},
		{"read-only field", "Contacts", `{"Full_Name":"x"}`, false, `data.Full_Name: field Full_Name of Contacts is read-only (Zoho sets it); leave it out`},
		{"text as a number", "Contacts", `{"First_Name":5}`, false, `data.First_Name: field First_Name (text) takes a string, got the number 5`},
		{"text too long", "Contacts", `{"Last_Name":"abcdefghijklmnopqrstuvwxyz"}`, false, `data.Last_Name: field Last_Name takes at most 20 characters, got 26`},
		{"bad email", "Contacts", `{"Email":"ada at example"}`, false, `data.Email: field Email takes an email address`},
		{"picklist value not allowed", "Contacts", `{"Lead_Source":"Twitter"}`, false, `data.Lead_Source: "Twitter" is not a value of picklist Lead_Source; allowed values: "-None-", "Web", "Trade Show"`},
		{"picklist value in another case", "Contacts", `{"Lead_Source":"web"}`, false, `(did you mean "Web"?)`},
		{"picklist as a number", "Contacts", `{"Lead_Source":1}`, false, `takes one of its picklist values (a string), got the number 1`},
		{"date format", "Contacts", `{"Date_of_Birth":"10/12/1815"}`, false, `data.Date_of_Birth: field Date_of_Birth takes a date "YYYY-MM-DD" such as "2026-03-31", got "10/12/1815"`},
		{"boolean as a string", "Contacts", `{"Email_Opt_Out":"yes"}`, false, `field Email_Opt_Out (boolean) takes true or false, got the string "yes"`},
		{"lookup without an id", "Contacts", `{"Account_Name":{"name":"Acme"}}`, false, `field Account_Name is a lookup to Accounts: give {"id": "<record id>"}`},
		{"lookup as a name", "Contacts", `{"Account_Name":"Acme"}`, false, `field Account_Name is a lookup to Accounts: give {"id": "<record id>"}, got "Acme"`},
		{"missing required on create", "Contacts", `{"First_Name":"Ada"}`, true, `data: a new Contact record needs the required field Last_Name; add Last_Name`},
		{"blank required on create", "Contacts", `{"Last_Name":"  "}`, true, `needs the required field Last_Name`},
		{"required not needed on update", "Contacts", `{"First_Name":"Ada"}`, false, ""},
		{"integer with a fraction", "Projects", `{"Team_Size":4.5}`, false, `data.Team_Size: field Team_Size takes a whole number, got 4.5`},
		{"currency as a string", "Projects", `{"Budget":"1000"}`, false, `field Budget (currency) takes a number, got the string "1000"`},
		{"datetime without offset", "Projects", `{"Go_Live":"2026-03-05 09:12"}`, false, `takes a date-time with offset`},
		{"multi-select as a string", "Projects", `{"Tech_Stack":"Go"}`, false, `takes an array of its picklist values`},
		{"multi-select value not allowed", "Projects", `{"Tech_Stack":["Go","Cobol"]}`, false, `data.Tech_Stack[1]: "Cobol" is not a value of picklist Tech_Stack; allowed values: "Go", "Rust"`},
		{"formula is read-only", "Projects", `{"Formula_1":1}`, false, `is read-only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := module(tt.module).CheckData("data", rec(t, tt.data), tt.create)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("valid data refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckCondition(t *testing.T) {
	t.Parallel()
	c := module("Contacts")
	p := module("Projects")
	tests := []struct {
		name string
		m    *Module
		cond tiers.Condition
		want string
	}{
		{"text equals", c, tiers.Condition{Field: "Last_Name", Op: tiers.OpStartsWith, Values: []any{"Lo"}}, ""},
		{"id passes", c, tiers.Condition{Field: "id", Op: tiers.OpIn, Values: []any{"1"}}, ""},
		{"number between", p, tiers.Condition{Field: "Budget", Op: tiers.OpBetween, Values: []any{json.Number("1"), json.Number("5")}}, ""},
		{"unknown field", c, tiers.Condition{Field: "Nope", Op: tiers.OpEquals, Values: []any{"x"}}, `where[0].field: module Contacts has no field "Nope"`},
		{"operator not for text", c, tiers.Condition{Field: "Last_Name", Op: tiers.OpGreaterThan, Values: []any{"a"}}, `where[0].op: field Last_Name (text) takes the operators equals, not_equal, starts_with, in, not greater_than`},
		{"operator not for picklist", c, tiers.Condition{Field: "Lead_Source", Op: tiers.OpStartsWith, Values: []any{"W"}}, `takes the operators equals, not_equal, in`},
		{"picklist value", c, tiers.Condition{Field: "Lead_Source", Op: tiers.OpIn, Values: []any{"Web", "Fax"}}, `where[0].value[1]: "Fax" is not a value of picklist Lead_Source; allowed values:`},
		{"number as text", p, tiers.Condition{Field: "Budget", Op: tiers.OpGreaterThan, Values: []any{"1000"}}, `where[0].value: field Budget (currency) is compared with numbers, got the string "1000"`},
		{"boolean as text", c, tiers.Condition{Field: "Email_Opt_Out", Op: tiers.OpEquals, Values: []any{"true"}}, `compared with true or false`},
		{"bad date", c, tiers.Condition{Field: "Date_of_Birth", Op: tiers.OpLessThan, Values: []any{"yesterday"}}, `takes a date "YYYY-MM-DD"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.m.CheckCondition("where[0]", tt.cond)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("valid condition refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFieldsHelpers(t *testing.T) {
	t.Parallel()
	c := module("Contacts")
	if err := c.CheckFields("fields", []string{"id", "Last_Name", "Emial"}); err == nil || !strings.Contains(err.Error(), `fields[2]: module Contacts has no field "Emial"`) {
		t.Errorf("CheckFields = %v", err)
	}
	got := c.ReadFields(func(f string) bool { return f != "Email" })
	if len(got) != 8 || got[0] != "Last_Name" || strings.Contains(strings.Join(got, ","), "Email,") {
		t.Errorf("ReadFields = %v", got)
	}
	if u := c.Unique(); len(u) != 1 || u[0] != "Email" {
		t.Errorf("Unique = %v", u)
	}
}

// FuzzCheckData: whatever the data, CheckData never panics, and a record
// it accepts for a create holds every required field.
func FuzzCheckData(f *testing.F) {
	for _, s := range []string{`{"Last_Name":"x"}`, `{"Lead_Source":"Web","Email":"a@b"}`, `{"Account_Name":{"id":"1"}}`,
		`{"Tech_Stack":["Go",1]}`, `{"Name":"n","Team_Size":1e300}`, `{"$x":1}`, `{}`} {
		f.Add("Contacts", s, true)
		f.Add("Projects", s, false)
	}
	f.Fuzz(func(t *testing.T, mod, data string, create bool) {
		if mod != "Contacts" && mod != "Projects" {
			return
		}
		var r tiers.Record
		d := json.NewDecoder(strings.NewReader(data))
		d.UseNumber()
		if d.Decode(&r) != nil || r == nil {
			return
		}
		m := module(mod)
		if m.CheckData("data", r, create) == nil && create {
			for _, fm := range m.Fields {
				if fm.Required && isBlank(r[fm.APIName]) {
					t.Errorf("accepted a create without %s: %s", fm.APIName, data)
				}
			}
		}
	})
}
