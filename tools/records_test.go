package tools

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/metadata"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// testOrg is the org the record tools' tests see.
func testOrg() tierstest.OrgMeta {
	pick := func(vs ...string) []tiers.PicklistValue {
		out := make([]tiers.PicklistValue, len(vs))
		for i, v := range vs {
			out[i] = tiers.PicklistValue{Display: v, Actual: v}
		}
		return out
	}
	sys := []tiers.FieldMeta{
		{APIName: "Created_Time", Label: "Created Time", DataType: "datetime", ReadOnly: true},
		{APIName: "Modified_Time", Label: "Modified Time", DataType: "datetime", ReadOnly: true},
	}
	return tierstest.OrgMeta{
		Modules: []tiers.ModuleMeta{
			{APIName: "Accounts", SingularLabel: "Account", PluralLabel: "Accounts", APISupported: true, Creatable: true, Editable: true},
			{APIName: "Contacts", SingularLabel: "Contact", PluralLabel: "Contacts", APISupported: true, Creatable: true, Editable: true},
			{APIName: "Deals", SingularLabel: "Deal", PluralLabel: "Deals", APISupported: true, Creatable: true, Editable: true},
			{APIName: "Projects", SingularLabel: "Project", PluralLabel: "Projects", APISupported: true, Creatable: true, Editable: true, Custom: true},
			{APIName: "Calls_Log", SingularLabel: "Call", PluralLabel: "Calls", APISupported: true},
		},
		Fields: map[string][]tiers.FieldMeta{
			"Accounts": append([]tiers.FieldMeta{
				{APIName: "Account_Name", Label: "Account Name", DataType: "text", Required: true, Unique: true},
				{APIName: "Phone", Label: "Phone", DataType: "phone"},
				{APIName: "Annual_Revenue", Label: "Annual Revenue", DataType: "currency"},
				{APIName: "Industry", Label: "Industry", DataType: "picklist", Picklist: pick("-None-", "Retail", "Banking")},
				{APIName: "Owner", Label: "Account Owner", DataType: "ownerlookup"},
			}, sys...),
			"Contacts": append([]tiers.FieldMeta{
				{APIName: "Last_Name", Label: "Last Name", DataType: "text", Length: 80, Required: true},
				{APIName: "First_Name", Label: "First Name", DataType: "text", Length: 40},
				{APIName: "Full_Name", Label: "Contact Name", DataType: "text", ReadOnly: true},
				{APIName: "Email", Label: "Email", DataType: "email", Unique: true},
				{APIName: "Mobile", Label: "Mobile", DataType: "phone"},
				{APIName: "Lead_Source", Label: "Lead Source", DataType: "picklist", Picklist: pick("-None-", "Web", "Cold Call")},
				{APIName: "Account_Name", Label: "Account Name", DataType: "lookup", Lookup: "Accounts"},
			}, sys...),
			"Deals": append([]tiers.FieldMeta{
				{APIName: "Deal_Name", Label: "Deal Name", DataType: "text", Required: true},
				{APIName: "Stage", Label: "Stage", DataType: "picklist", Required: true, Picklist: pick("Qualification", "Closed Won", "Closed Lost")},
				{APIName: "Amount", Label: "Amount", DataType: "currency"},
				{APIName: "Account_Name", Label: "Account Name", DataType: "lookup", Lookup: "Accounts"},
			}, sys...),
			"Projects":  {{APIName: "Name", Label: "Project Name", DataType: "text", Required: true}, {APIName: "Budget", Label: "Budget", DataType: "currency"}},
			"Calls_Log": {{APIName: "Subject", Label: "Subject", DataType: "text"}},
		},
		RelatedLists: map[string][]tiers.RelatedListMeta{
			"Accounts": {{APIName: "Contacts", Label: "Contacts", Module: "Contacts"}, {APIName: "Deals", Label: "Deals", Module: "Deals"},
				{APIName: "Projects", Label: "Projects", Module: "Projects"}},
		},
	}
}

// withMeta gives the tools the test org's metadata, read through the
// router from the env's first tier, whose Meta it sets.
func withMeta(first *tierstest.Tier) envOpt {
	first.Meta = testOrg()
	return func(d *Deps) {
		r := d.Router
		d.Metadata = metadata.New(metadata.Config{Fetch: func(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
			md, _, err := r.Metadata(ctx, router.RoutingContext{AgentContext: true, Tools: []string{"read"}}, req)
			return md, err
		}})
	}
}

// newRecordsEnv is an env with the test org's metadata over one fake tier
// (MCP) holding n accounts.
func newRecordsEnv(t *testing.T, n int) *env {
	t.Helper()
	ft := newFakeTier(tiers.MCP, n)
	return newEnvWith(t, []*tierstest.Tier{ft}, withMeta(ft))
}

// callsOf returns the env tier's calls of op.
func (e *env) callsOf(op tiers.OpKind) []tierstest.Call { return e.tier.CallsOf(op) }

var (
	profContactsOnly = &permissions.Profile{Name: "support", Scopes: permissions.AllScopes(), Modules: []string{"Accounts", "Contacts"},
		DenyIn: map[string][]string{"Contacts": {"Mobile"}}}
	profNoEmail = &permissions.Profile{Name: "noemail", Scopes: permissions.AllScopes(), DenyIn: map[string][]string{"Contacts": {"Email"}}}
)

func TestDescribeModule(t *testing.T) {
	t.Parallel()
	e := newRecordsEnv(t, 2)
	res := e.call(t, profAll, "describe_module", `{}`)
	var list describeOutput
	mustDecode(t, res, &list)
	var names []string
	for _, m := range list.Modules {
		names = append(names, m.APIName)
	}
	if res.IsError || !slices.Equal(names, []string{"Accounts", "Contacts", "Deals", "Projects", "Calls_Log"}) || !list.Modules[3].Custom {
		t.Fatalf("describe_module {} = %v %s", names, text(res))
	}
	// A profile's modules and deny lists shape what it is shown.
	res = e.call(t, profContactsOnly, "describe_module", `{}`)
	mustDecode(t, res, &list)
	if len(list.Modules) != 2 || list.Modules[1].APIName != "Contacts" {
		t.Errorf("modules for a profile limited to Accounts and Contacts: %+v", list.Modules)
	}
	res = e.call(t, profContactsOnly, "describe_module", `{"module":"accounts"}`)
	var one describeOutput
	mustDecode(t, res, &one)
	var rl []string
	for _, r := range one.RelatedLists {
		rl = append(rl, r.APIName)
	}
	if res.IsError || one.Module.APIName != "Accounts" || !slices.Equal(rl, []string{"Contacts"}) {
		t.Errorf("describe Accounts for a limited profile: %+v, lists %v: %s", one.Module, rl, text(res))
	}
	res = e.call(t, profContactsOnly, "describe_module", `{"module":"Contacts"}`)
	mustDecode(t, res, &one)
	byName := map[string]fieldInfo{}
	for _, f := range one.Fields {
		byName[f.APIName] = f
	}
	if _, shown := byName["Mobile"]; shown {
		t.Error("a field denied in Contacts is described")
	}
	if f := byName["Lead_Source"]; !slices.Equal(f.PicklistValues, []string{"-None-", "Web", "Cold Call"}) || f.Type != "picklist" {
		t.Errorf("Lead_Source = %+v", f)
	}
	if f := byName["Last_Name"]; !f.Required || f.MaxLength != 80 || byName["Full_Name"].ReadOnly != true || !byName["Email"].Unique || byName["Account_Name"].Lookup != "Accounts" {
		t.Errorf("field facts wrong: %+v", one.Fields)
	}
	if !strings.Contains(text(res), "a new record needs Last_Name") {
		t.Errorf("summary does not name the required fields: %s", text(res))
	}
	for _, tc := range []struct {
		prof *permissions.Profile
		args string
		want string
	}{
		{profContactsOnly, `{"module":"Deals"}`, `module Deals is outside the modules profile "support" may touch (Accounts, Contacts)`},
		{profAll, `{"module":"Invoices"}`, `module "Invoices" is not a module of this Zoho org that you may use; use one of Accounts, Contacts, Deals, Projects, Calls_Log`},
		{profContactsOnly, `{"module":"Invoices"}`, `module Invoices is outside the modules profile "support" may touch (Accounts, Contacts)`},
	} {
		res := e.call(t, tc.prof, "describe_module", tc.args)
		if !res.IsError || !strings.Contains(text(res), tc.want) {
			t.Errorf("describe_module %s: %s, want %q", tc.args, text(res), tc.want)
		}
	}
}

// mustDecode decodes res's structured content into v, which it zeroes
// first (json.Unmarshal would merge into what v holds).
func mustDecode[T any](t *testing.T, res *mcp.CallToolResult, v *T) {
	t.Helper()
	*v = *new(T)
	b, _ := json.Marshal(res)
	var w struct {
		SC json.RawMessage `json:"structuredContent"`
	}
	if err := json.Unmarshal(b, &w); err != nil || json.Unmarshal(w.SC, v) != nil {
		t.Fatalf("structured content: %s", b)
	}
}

// TestRecordToolsValidate: every argument is checked against the module's
// metadata before anything reaches a tier, with a message that says what to
// send.
func TestRecordToolsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tool, args string
		prof             *permissions.Profile
		want             string
	}{
		{"unknown field in fields", "get_record", `{"module":"Contacts","record_id":"1","fields":["Emial"]}`, nil,
			`fields[0]: module Contacts has no field "Emial"; describe_module {"module": "Contacts"} lists its fields`},
		{"field in another case", "get_records", `{"module":"Contacts","fields":["last_name"]}`, nil, `did you mean Last_Name?`},
		{"picklist filter", "get_records", `{"module":"Deals","filters":{"Stage":"Won"}}`, nil,
			`"Won" is not a value of picklist Stage; allowed values: "Qualification", "Closed Won", "Closed Lost"`},
		{"operator for the type", "search_records", `{"module":"Contacts","where":[{"field":"Last_Name","op":"greater_than","value":"a"}]}`, nil,
			`where[0].op: field Last_Name (text) takes the operators equals, not_equal, starts_with, in, not greater_than`},
		{"value type in a condition", "search_records", `{"module":"Deals","where":[{"field":"Amount","op":"less_than","value":"cheap"}]}`, nil,
			`where[0].value: field Amount (currency) is compared with numbers, got the string "cheap"`},
		{"email search over a denied email field", "search_records", `{"module":"Contacts","email":"a@b.c"}`, profNoEmail,
			`a email search matches every email field of Contacts, and field Email is denied for profile "noemail"`},
		{"sort on a denied field", "get_records", `{"module":"Contacts","sort_by":"Created_Time"}`,
			&permissions.Profile{Name: "p", Scopes: permissions.AllScopes(), DenyFields: []string{"Created_Time"}}, `sort_by: field Created_Time is denied for profile "p"`},
		{"module outside the profile", "get_records", `{"module":"Deals"}`, profContactsOnly,
			`module Deals is outside the modules profile "support" may touch (Accounts, Contacts); use one of those`},
		{"denied field in the module", "get_record", `{"module":"Contacts","record_id":"1","fields":["Mobile"]}`, profContactsOnly,
			`fields[0]: field Mobile is denied for profile "support"; remove it`},
		{"unknown module", "get_record", `{"module":"Invoices","record_id":"1"}`, nil, `module "Invoices" is not a module of this Zoho org`},

		{"create: unknown field", "create_records", `{"module":"Contacts","records":[{"Last_Name":"A","Nick":"x"}]}`, nil,
			`records[0]: module Contacts has no field "Nick"`},
		{"create: wrong type", "create_records", `{"module":"Deals","records":[{"Deal_Name":"D","Stage":"Qualification","Amount":"lots"}]}`, nil,
			`records[0].Amount: field Amount (currency) takes a number, got the string "lots"`},
		{"create: picklist value", "create_records", `{"module":"Contacts","records":[{"Last_Name":"A","Lead_Source":"Twitter"}]}`, nil,
			`records[0].Lead_Source: "Twitter" is not a value of picklist Lead_Source; allowed values: "-None-", "Web", "Cold Call"`},
		{"create: read-only field", "create_records", `{"module":"Contacts","records":[{"Last_Name":"A","Full_Name":"A B"}]}`, nil,
			`records[0].Full_Name: field Full_Name of Contacts is read-only (Zoho sets it); leave it out`},
		{"create: missing required", "create_records", `{"module":"Deals","records":[{"Deal_Name":"D"},{"Amount":5}]}`, nil,
			`records[0]: a new Deal record needs the required field Stage; add Stage`},
		{"create: missing two required", "create_records", `{"module":"Deals","records":[{"Amount":5}]}`, nil,
			`needs the required fields Deal_Name, Stage; add Deal_Name and Stage`},
		{"create: id", "create_records", `{"module":"Contacts","records":[{"id":"1","Last_Name":"A"}]}`, nil,
			`records[0] must not contain id: Zoho assigns a new record its id`},
		{"create: lookup as a name", "create_records", `{"module":"Contacts","records":[{"Last_Name":"A","Account_Name":"Acme"}]}`, nil,
			`field Account_Name is a lookup to Accounts: give {"id": "<record id>"}`},
		{"create: module without creates", "create_records", `{"module":"Calls_Log","records":[{"Subject":"x"}]}`, nil,
			`module Calls_Log does not take new records through Zoho's API`},
		{"create: denied field", "create_records", `{"module":"Contacts","records":[{"Last_Name":"A","Mobile":"1"}]}`, profContactsOnly,
			`records[0]: field Mobile is denied for profile "support"`},
		{"update: read-only", "update_records", `{"module":"Contacts","updates":[{"id":"1","data":{"Full_Name":"x"}}]}`, nil,
			`updates[0].data.Full_Name: field Full_Name of Contacts is read-only`},
		{"update: picklist", "update_records", `{"module":"Deals","updates":[{"id":"1","data":{"Stage":"Won"}},{"id":"2","data":{"Stage":"Closed Won"}}]}`, nil,
			`updates[0].data.Stage: "Won" is not a value of picklist Stage`},
		{"bulk read: unknown field", "bulk_read_records", `{"module":"Contacts","fields":["Last_Name","Nick"]}`, nil,
			`fields[1]: module Contacts has no field "Nick"`},
		{"bulk read: picklist condition", "bulk_read_records", `{"module":"Deals","where":[{"field":"Stage","op":"equals","value":"Won"}]}`, nil,
			`where[0].value: "Won" is not a value of picklist Stage; allowed values: "Qualification", "Closed Won", "Closed Lost"`},
		{"bulk read: value type", "bulk_read_records", `{"module":"Deals","where":[{"field":"Amount","op":"greater_than","value":"lots"}]}`, nil,
			`where[0].value: field Amount (currency) is compared with numbers, got the string "lots"`},
		{"bulk read: denied field in where", "bulk_read_records", `{"module":"Contacts","where":[{"field":"Mobile","op":"equals","value":"1"}]}`, profContactsOnly,
			`field Mobile is denied for profile "support"`},
		{"bulk read: module outside the profile", "bulk_read_records", `{"module":"Deals"}`, profContactsOnly,
			`module Deals is outside the modules profile "support" may touch (Accounts, Contacts)`},
		{"bulk read: ids and where", "bulk_read_records", `{"module":"Deals","ids":["1"],"where":[{"field":"Stage","op":"equals","value":"Closed Won"}]}`, nil,
			`give ids or where, not both`},
		{"bulk read: unknown module", "bulk_read_records", `{"module":"Invoices"}`, nil, `module "Invoices" is not a module of this Zoho org`},
		{"bulk update: unknown field", "bulk_update_records", `{"module":"Contacts","updates":[{"id":"1","data":{"Title":"x"}}]}`, nil,
			`updates[0].data: module Contacts has no field "Title"`},
		{"bulk update: wrong type", "bulk_update_records", `{"module":"Deals","updates":[{"id":"1","data":{"Amount":5}},{"id":"2","data":{"Amount":"lots"}}]}`, nil,
			`updates[1].data.Amount: field Amount (currency) takes a number, got the string "lots"`},
		{"bulk update: picklist", "bulk_update_records", `{"module":"Deals","updates":[{"id":"1","data":{"Stage":"Won"}}]}`, nil,
			`updates[0].data.Stage: "Won" is not a value of picklist Stage; allowed values: "Qualification", "Closed Won", "Closed Lost"`},
		{"bulk update: read-only", "bulk_update_records", `{"module":"Contacts","updates":[{"id":"1","data":{"Full_Name":"x"}}]}`, nil,
			`updates[0].data.Full_Name: field Full_Name of Contacts is read-only (Zoho sets it); leave it out`},
		{"bulk update: denied field", "bulk_update_records", `{"module":"Contacts","updates":[{"id":"1","data":{"Mobile":"1"}}]}`, profContactsOnly,
			`updates[0].data: field Mobile is denied for profile "support"`},
		{"bulk update: module without updates", "bulk_update_records", `{"module":"Calls_Log","updates":[{"id":"1","data":{"Subject":"x"}}]}`, nil,
			`module Calls_Log does not take updates through Zoho's API`},
		{"bulk update: duplicate id", "bulk_update_records", `{"module":"Deals","updates":[{"id":"1","data":{"Amount":1}},{"id":"1","data":{"Amount":2}}]}`, nil,
			`updates[1].id repeats 1 (already in updates[0])`},
		{"related: unknown list", "get_related_records", `{"module":"Accounts","record_id":"1","related_list":"Invoices"}`, nil,
			`related_list: module Accounts has no related list "Invoices"; its related lists are Contacts, Deals, Projects`},
		{"related: list of a module outside the profile", "get_related_records", `{"module":"Accounts","record_id":"1","related_list":"Deals"}`, profContactsOnly,
			`related_list Deals holds Deals records, outside the modules profile "support" may touch`},
		{"related: denied field of the related module", "get_related_records", `{"module":"Accounts","record_id":"1","related_list":"Contacts","fields":["Mobile"]}`, profContactsOnly,
			`fields[0]: field Mobile is denied for profile "support"`},
		{"related: unknown field of the related module", "get_related_records", `{"module":"Accounts","record_id":"1","related_list":"Contacts","fields":["Stage"]}`, nil,
			`module Contacts has no field "Stage"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newRecordsEnv(t, 2)
			prof := tt.prof
			if prof == nil {
				prof = profAll
			}
			res := e.call(t, prof, tt.tool, tt.args)
			if !res.IsError || !strings.Contains(text(res), tt.want) {
				t.Fatalf("%s %s:\n got %s\nwant %q", tt.tool, tt.args, text(res), tt.want)
			}
			for _, c := range e.tier.Calls() {
				if c.Op != tiers.OpMetadata {
					t.Errorf("a %s call reached the tier: %+v", c.Op, c.Req)
				}
			}
		})
	}
}

func TestRecordReads(t *testing.T) {
	t.Parallel()
	e := newRecordsEnv(t, 3)
	id := "3652397000000000001"
	res := e.call(t, profAll, "get_record", `{"module":"accounts","record_id":"`+id+`"}`)
	var got struct {
		Module string       `json:"module"`
		Record tiers.Record `json:"record"`
	}
	mustDecode(t, res, &got)
	if res.IsError || got.Module != "Accounts" || got.Record["id"] != id {
		t.Fatalf("get_record = %s", text(res))
	}
	req := e.callsOf(tiers.OpGet)[0].Req.(tiers.GetRequest)
	if req.Module != "Accounts" || req.Fields != nil {
		t.Errorf("the tier got %+v; want the org's spelling Accounts and every field", req)
	}
	// A profile with denied fields asks Zoho only for the fields it may see.
	sales := &permissions.Profile{Name: "sales", Scopes: permissions.AllScopes(), DenyIn: map[string][]string{"Accounts": {"Annual_Revenue"}}}
	res = e.call(t, sales, "get_record", `{"module":"Accounts","record_id":"`+id+`"}`)
	mustDecode(t, res, &got)
	req = e.callsOf(tiers.OpGet)[1].Req.(tiers.GetRequest)
	if slices.Contains(req.Fields, "Annual_Revenue") || !slices.Contains(req.Fields, "Account_Name") || got.Record["Annual_Revenue"] != nil {
		t.Errorf("denied field asked for or returned: fields %v, record %v", req.Fields, got.Record)
	}
	res = e.call(t, profAll, "get_record", `{"module":"Contacts","record_id":"5725767000000000999"}`)
	if !res.IsError || !strings.Contains(text(res), "no Contacts record with id 5725767000000000999; check the id (search_records") {
		t.Errorf("not found: %s", text(res))
	}

	res = e.call(t, profAll, "get_records", `{"module":"Accounts","filters":{"Industry":"Retail"},"limit":2}`)
	var page recordsOutput
	mustDecode(t, res, &page)
	if res.IsError || page.Module != "Accounts" || page.Count != 2 || !page.MoreRecords {
		t.Errorf("get_records = %s", text(res))
	}
	lreq := e.callsOf(tiers.OpList)[0].Req.(tiers.ListRequest)
	if len(lreq.Fields) == 0 || lreq.Fields[0] != "Account_Name" || slices.Contains(lreq.Fields, "id") {
		t.Errorf("get_records without fields asked for %v; want the module's fields", lreq.Fields)
	}

	e.tier.OnRelated = func(_ context.Context, req tiers.RelatedRequest) (tiers.Page, error) {
		return tiers.Page{Records: []tiers.Record{{"id": "7", "Last_Name": "Lovelace", "Mobile": "1"}}}, nil
	}
	res = e.call(t, profContactsOnly, "get_related_records", `{"module":"Accounts","record_id":"`+id+`","related_list":"Contacts"}`)
	mustDecode(t, res, &page)
	rreq := e.callsOf(tiers.OpRelated)[0].Req.(tiers.RelatedRequest)
	if res.IsError || page.Module != "Contacts" || page.Records[0]["Mobile"] != nil || page.Records[0]["Last_Name"] != "Lovelace" {
		t.Errorf("related = %s", text(res))
	}
	if rreq.Module != "Accounts" || rreq.List != "Contacts" || slices.Contains(rreq.Fields, "Mobile") || !slices.Contains(rreq.Fields, "Last_Name") {
		t.Errorf("the tier got %+v", rreq)
	}
}

func TestCreateAndUpdateRecords(t *testing.T) {
	t.Parallel()
	e := newRecordsEnv(t, 1)
	res := e.call(t, profAll, "create_records", `{"module":"Contacts","records":[{"Last_Name":"Lovelace","Email":"ada@example.com","Lead_Source":"Web"},{"Last_Name":"Hopper"}],"trigger":[]}`)
	var out createOutput
	mustDecode(t, res, &out)
	if res.IsError || out.Succeeded != 2 || out.Results[0].ID == "" || out.Results[1].Index != 1 {
		t.Fatalf("create_records = %s", text(res))
	}
	creq := e.callsOf(tiers.OpCreate)[0].Req.(tiers.CreateRequest)
	if creq.Module != "Contacts" || !slices.Equal(creq.Unique, []string{"Email"}) || creq.Trigger == nil || len(creq.Trigger) != 0 {
		t.Errorf("the tier got %+v; want the module's unique fields and triggers off", creq)
	}
	if r, ok := e.tier.Store.Get(out.Results[0].ID, nil); !ok || r["Last_Name"] != "Lovelace" {
		t.Errorf("created record not in the store: %v", r)
	}

	// A per-record verdict: the call is an error, the other record's id kept.
	e.tier.OnCreate = func(_ context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
		return tiers.CreateResult{Calls: 1, Outcomes: []tiers.CreateOutcome{
			{Outcome: tiers.Outcome{ID: "5725767000000000777", Status: tiers.StatusSuccess}},
			{Outcome: tiers.Outcome{Status: tiers.StatusError, Code: "DUPLICATE_DATA", Message: "duplicate data (field Email)"},
				Details: map[string]any{"api_name": "Email", "duplicate_record": map[string]any{"id": "5725767000000000001"}, "secret": "x"}},
		}}, nil
	}
	res = e.call(t, profAll, "create_records", `{"module":"Contacts","records":[{"Last_Name":"A"},{"Last_Name":"B","Email":"ada@example.com"}]}`)
	mustDecode(t, res, &out)
	if !res.IsError || out.Succeeded != 1 || out.Failed != 1 || out.Results[0].ID != "5725767000000000777" || out.Results[1].ID != "" ||
		out.Results[1].Code != "DUPLICATE_DATA" || out.Results[1].Details["api_name"] != "Email" || out.Results[1].Details["secret"] != nil {
		t.Errorf("partial create = %+v: %s", out, text(res))
	}
	if !strings.Contains(text(res), "Created 1 of 2 Contacts records, 1 failed (records[1]: DUPLICATE_DATA") {
		t.Errorf("partial create text: %s", text(res))
	}

	// One update goes as a single-record update (tier 1 serves those), more
	// as a bulk update.
	id := "3652397000000000000"
	res = e.call(t, profAll, "update_records", `{"module":"Accounts","updates":[{"id":"`+id+`","data":{"Industry":"Banking"}}]}`)
	if res.IsError || len(e.callsOf(tiers.OpUpdate)) != 1 {
		t.Fatalf("update_records one = %s", text(res))
	}
	if r, _ := e.tier.Store.Get(id, nil); r["Industry"] != "Banking" {
		t.Errorf("update not applied: %v", r)
	}
	res = e.call(t, profAll, "update_records", `{"module":"Accounts","updates":[{"id":"`+id+`","data":{"Phone":"1"}},{"id":"5725767000000000999","data":{"Phone":"2"}}]}`)
	var w struct {
		Module string `json:"module"`
		writeOutput
	}
	mustDecode(t, res, &w)
	if len(e.callsOf(tiers.OpBulkUpdate)) != 1 || !res.IsError || w.Succeeded != 1 || w.Results[1].Code != "INVALID_DATA" || w.Module != "Accounts" {
		t.Errorf("update_records two = %+v: %s", w, text(res))
	}
}

// TestStaleMetadataIsReadAgain: a field added in Zoho after the metadata
// was read is accepted once the cache reads it again (a field the cache
// does not know triggers that, at most once per MinRefresh), and Zoho's own
// "invalid field" verdict does too.
func TestStaleMetadataIsReadAgain(t *testing.T) {
	t.Parallel()
	clock := newClock()
	ft := newFakeTier(tiers.MCP, 1)
	e := newEnvWith(t, []*tierstest.Tier{ft}, withMeta(ft), func(d *Deps) {
		r := d.Router
		d.Metadata = metadata.New(metadata.Config{Now: clock.Now, MinRefresh: time.Minute, Fetch: func(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
			md, _, err := r.Metadata(ctx, router.RoutingContext{AgentContext: true}, req)
			return md, err
		}})
	})
	fieldReads := func() int {
		n := 0
		for _, c := range ft.CallsOf(tiers.OpMetadata) {
			if c.Req.(tiers.MetadataRequest).Kind == tiers.MetaFields {
				n++
			}
		}
		return n
	}
	if res := e.call(t, profAll, "get_records", `{"module":"Projects"}`); res.IsError {
		t.Fatal(text(res))
	}
	ft.Meta.Fields["Projects"] = append(ft.Meta.Fields["Projects"], tiers.FieldMeta{APIName: "Go_Live", DataType: "date"})
	res := e.call(t, profAll, "get_records", `{"module":"Projects","fields":["Go_Live"]}`)
	if !res.IsError || fieldReads() != 1 {
		t.Errorf("within MinRefresh: %s (%d field reads), want a refusal without reading again", text(res), fieldReads())
	}
	clock.Advance(2 * time.Minute)
	res = e.call(t, profAll, "get_records", `{"module":"Projects","fields":["Go_Live"]}`)
	if res.IsError || fieldReads() != 2 {
		t.Errorf("after MinRefresh: %s (%d field reads), want the new field accepted", text(res), fieldReads())
	}
	// Zoho's verdict on a field marks the metadata stale.
	clock.Advance(2 * time.Minute)
	ft.OnUpdate = func(context.Context, tiers.UpdateRequest) (tiers.Outcome, error) {
		return tiers.Outcome{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "INVALID_DATA",
			Message: "the field api name given seems to be invalid", Details: map[string]any{"api_name": "Budget"}}
	}
	res = e.call(t, profAll, "update_records", `{"module":"Projects","updates":[{"id":"1","data":{"Budget":5}}]}`)
	if !res.IsError || !strings.Contains(text(res), "INVALID_DATA") {
		t.Fatalf("verdict: %s", text(res))
	}
	e.call(t, profAll, "get_records", `{"module":"Projects"}`)
	if fieldReads() != 3 {
		t.Errorf("%d field reads after Zoho's field verdict, want 3", fieldReads())
	}
}

func TestSelection(t *testing.T) {
	t.Parallel()
	all := All(Deps{})
	enabled := func(off map[string]string) []string {
		var out []string
		for _, tl := range all {
			if _, ok := off[tl.Def.Name]; !ok {
				out = append(out, tl.Def.Name)
			}
		}
		return out
	}
	var allNames []string
	for _, tl := range all {
		allNames = append(allNames, tl.Def.Name)
	}
	tests := []struct {
		name    string
		sel     Selection
		want    []string
		wantErr string
	}{
		{name: "default: every toolset", sel: Selection{}, want: allNames},
		{name: "all", sel: Selection{Toolsets: []string{"all"}}, want: allNames},
		{name: "monitor only", sel: Selection{Toolsets: []string{"monitor"}}, want: []string{"get_tier_health", "get_tier_metrics", "reset_circuit_breakers"}},
		{name: "tools only", sel: Selection{Tools: []string{"get_record", "describe_module"}}, want: []string{"describe_module", "get_record"}},
		{name: "toolset plus a tool", sel: Selection{Toolsets: []string{"monitor"}, Tools: []string{"get_account"}},
			want: []string{"get_account", "get_tier_health", "get_tier_metrics", "reset_circuit_breakers"}},
		{name: "read-only", sel: Selection{ReadOnly: true}, want: []string{"get_account", "get_accounts", "search_accounts", "bulk_read_accounts",
			"get_tier_health", "get_tier_metrics", "reset_circuit_breakers", "describe_module", "get_record", "get_records", "search_records", "get_related_records",
			"bulk_read_records", "read_bulk_result", "get_bulk_job"}},
		// The bulk tools' results and jobs come with either toolset that
		// has bulk tools.
		{name: "records only", sel: Selection{Toolsets: []string{"records"}}, want: []string{"describe_module", "get_record", "get_records",
			"search_records", "get_related_records", "create_records", "update_records", "bulk_read_records", "bulk_update_records",
			"read_bulk_result", "get_bulk_job"}},
		{name: "read-only wins over --tools", sel: Selection{Tools: []string{"update_records", "get_record"}, ReadOnly: true}, want: []string{"get_record"}},
		{name: "unknown names", sel: Selection{Toolsets: []string{"records", "crm"}, Tools: []string{"get_recrod"}},
			wantErr: `unknown toolset "crm" (valid: accounts, records, monitor, all); unknown tool "get_recrod" (valid: get_account, get_accounts`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			off, err := tt.sel.Disabled(all)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := enabled(off)
			want := slices.Clone(tt.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("enabled %v, want %v", got, want)
			}
		})
	}
	off, _ := Selection{Toolsets: []string{"accounts"}, ReadOnly: true}.Disabled(all)
	if why := off["update_account"]; !strings.Contains(why, "--read-only") {
		t.Errorf("read-only reason: %q", why)
	}
	if why := off["get_record"]; !strings.Contains(why, "toolset records and the enabled toolsets are accounts") {
		t.Errorf("toolset reason: %q", why)
	}
}

// TestAccountToolsLearnPicklistValues: update_account does not check values
// before sending (its behaviour is a contract), but Zoho's verdict on a
// picklist value comes back with the values the field allows.
func TestAccountToolsLearnPicklistValues(t *testing.T) {
	t.Parallel()
	e := newRecordsEnv(t, 1)
	e.tier.OnUpdate = func(context.Context, tiers.UpdateRequest) (tiers.Outcome, error) {
		return tiers.Outcome{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "invalid data",
			Details: map[string]any{"api_name": "Industry"}}
	}
	res := e.call(t, profAll, "update_account", `{"account_id":"3652397000000000000","data":{"Industry":"Hot"}}`)
	if !res.IsError || !strings.Contains(text(res), `INVALID_DATA: invalid data (api_name="Industry")`) ||
		!strings.Contains(text(res), `; Industry allows "-None-", "Retail", "Banking"`) {
		t.Errorf("update_account verdict: %s", text(res))
	}
	if len(e.callsOf(tiers.OpUpdate)) != 1 {
		t.Error("update_account must send the value as before (no pre-check)")
	}
}
