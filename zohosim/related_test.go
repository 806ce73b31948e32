package zohosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

// relatedIDs returns the ids of a related records page, and its info.
func relatedIDs(t *testing.T, r reply) ([]string, map[string]any) {
	t.Helper()
	if r.status == http.StatusNoContent {
		return nil, nil
	}
	var body struct {
		Data []map[string]any `json:"data"`
		Info map[string]any   `json:"info"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &body) != nil {
		t.Fatalf("related: %d %s", r.status, r.body)
	}
	var ids []string
	for _, d := range body.Data {
		ids = append(ids, d["id"].(string))
	}
	return ids, body.Info
}

func TestRelatedRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 12})
	a := func(i int) string { return "/crm/v8/Accounts/" + id(i) }
	tests := []struct {
		name, path string
		want       []string
	}{
		{"an account's contacts", a(2) + "/Contacts?fields=Full_Name&sort_order=asc", []string{modID(ModuleContacts, 4), modID(ModuleContacts, 5)}},
		{"newest first by default", a(2) + "/Contacts?fields=Full_Name", []string{modID(ModuleContacts, 5), modID(ModuleContacts, 4)}},
		{"an account's deals", a(3) + "/Deals?fields=Deal_Name", []string{modID(ModuleDeals, 3)}},
		{"an account's tasks", a(6) + "/Tasks?fields=Subject", []string{modID(ModuleTasks, 6)}},
		{"an account without tasks", a(7) + "/Tasks?fields=Subject", nil},
		{"an account's notes", a(8) + "/Notes?fields=Note_Title", []string{modID(ModuleNotes, 8)}},
		{"an account's projects", a(4) + "/Projects?fields=Name", []string{modID(ModuleProjects, 2)}},
		{"a contact's deals", "/crm/v8/Contacts/" + modID(ModuleContacts, 6) + "/Deals?fields=Deal_Name", []string{modID(ModuleDeals, 3)}},
		{"a contact's tasks", "/crm/v8/Contacts/" + modID(ModuleContacts, 6) + "/Tasks?fields=Subject", []string{modID(ModuleTasks, 3)}},
		{"a lead's tasks", "/crm/v8/Leads/" + modID(ModuleLeads, 1) + "/Tasks?fields=Subject", []string{modID(ModuleTasks, 5)}},
		{"a deal's notes", "/crm/v8/Deals/" + modID(ModuleDeals, 6) + "/Notes?fields=Note_Title", []string{modID(ModuleNotes, 6)}},
		{"a project's notes", "/crm/v8/Projects/" + modID(ModuleProjects, 1) + "/Notes?fields=Note_Title", []string{modID(ModuleNotes, 7)}},
		{"ids narrow the list", a(2) + "/Contacts?fields=Full_Name&ids=" + modID(ModuleContacts, 5), []string{modID(ModuleContacts, 5)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := relatedIDs(t, e.get(t, tc.path))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ids %v, want %v", got, tc.want)
			}
		})
	}
	assertReply(t, e.get(t, a(2)+"/Contacts?fields=Full_Name,Account_Name&sort_order=asc&per_page=1"), 200, "")
	// A task's What_Id comes with the $se_module that names its module.
	assertReply(t, e.get(t, a(6)+"/Tasks?fields=What_Id"), 200,
		`{"data":[{"id":"`+modID(ModuleTasks, 6)+`","What_Id":{"id":"`+id(6)+`","name":"`+seedName(6)+`"},"$se_module":"Accounts"}],`+
			`"info":{"per_page":200,"count":1,"page":1,"more_records":false,"next_page_token":null,"previous_page_token":null,"page_token_expiry":null}}`)
	r := e.get(t, a(2)+"/Contacts?fields=Full_Name,Email&sort_order=asc&per_page=1")
	var page struct {
		Data []map[string]any `json:"data"`
		Info map[string]any   `json:"info"`
	}
	_ = json.Unmarshal(r.body, &page)
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if got := keys(page.Data[0]); !slices.Equal(got, []string{"Email", "Full_Name", "id"}) {
		t.Errorf("record keys %v: fields must narrow related records", got)
	}
	if got := keys(page.Info); !slices.Equal(got, []string{"count", "more_records", "next_page_token", "page", "page_token_expiry", "per_page", "previous_page_token"}) {
		t.Errorf("info keys %v", got)
	}
	tok, _ := page.Info["next_page_token"].(string)
	if page.Info["more_records"] != true || tok == "" {
		t.Fatalf("first page info %v", page.Info)
	}
	next, info := relatedIDs(t, e.get(t, a(2)+"/Contacts?fields=Full_Name&page_token="+url.QueryEscape(tok)))
	if !slices.Equal(next, []string{modID(ModuleContacts, 5)}) || info["more_records"] != false {
		t.Fatalf("second page %v %v", next, info)
	}
	// A token belongs to its parent record and related list.
	assertReply(t, e.get(t, a(3)+"/Contacts?fields=Full_Name&page_token="+url.QueryEscape(tok)), 400,
		`{"code":"TOKEN_BOUND_DATA_MISMATCH","details":{"param_name":"page_token"},"message":"the page_token was issued for another module or related list","status":"error"}`)
	assertReply(t, e.get(t, "/crm/v8/Contacts?fields=Full_Name&page_token="+url.QueryEscape(tok)), 400,
		`{"code":"TOKEN_BOUND_DATA_MISMATCH","details":{"param_name":"page_token"},"message":"the page_token was issued for another module or related list","status":"error"}`)
}

func TestRelatedRecordErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 5})
	tests := []struct {
		name, method, path string
		status             int
		want               string
	}{
		{"fields missing", "GET", "/crm/v8/Accounts/" + id(1) + "/Contacts", 400,
			`{"code":"REQUIRED_PARAM_MISSING","details":{"param_name":"fields"},"message":"One of the expected parameter is missing","status":"error"}`},
		{"field of the parent module", "GET", "/crm/v8/Accounts/" + id(1) + "/Contacts?fields=Account_Number", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"fields","api_name":"Account_Number"},"message":"the field api name given seems to be invalid","status":"error"}`},
		{"unknown related list", "GET", "/crm/v8/Accounts/" + id(1) + "/Widgets?fields=Name", 400,
			`{"code":"INVALID_DATA","details":{"resource_path_index":2},"message":"The related name given seems to be invalid","status":"error"}`},
		{"list of another module", "GET", "/crm/v8/Notes/" + modID(ModuleNotes, 1) + "/Contacts?fields=Full_Name", 400,
			`{"code":"INVALID_DATA","details":{"resource_path_index":2},"message":"The related name given seems to be invalid","status":"error"}`},
		{"malformed parent id", "GET", "/crm/v8/Accounts/abc/Contacts?fields=Full_Name", 400,
			`{"code":"INVALID_DATA","details":{"resource_path_index":1},"message":"The related id given seems to be invalid","status":"error"}`},
		{"parent that does not exist", "GET", "/crm/v8/Accounts/5725767000001999999/Contacts?fields=Full_Name", 404,
			`{"code":"INVALID_DATA","details":{},"message":"The record does not exist","status":"error"}`},
		{"another module's record as parent", "GET", "/crm/v8/Accounts/" + modID(ModuleContacts, 1) + "/Contacts?fields=Full_Name", 404,
			`{"code":"INVALID_DATA","details":{},"message":"The record does not exist","status":"error"}`},
		{"unknown module", "GET", "/crm/v8/Widgets/" + id(1) + "/Contacts?fields=Full_Name", 400,
			`{"code":"INVALID_MODULE","details":{"resource_path_index":0},"message":"the module name given seems to be invalid","status":"error"}`},
		{"write verb", "PUT", "/crm/v8/Accounts/" + id(1) + "/Contacts", 400,
			`{"code":"INVALID_REQUEST_METHOD","details":{"resource_path_index":2},"message":"The http request method type is not a valid one","status":"error"}`},
		{"past the discrete pages", "GET", "/crm/v8/Accounts/" + id(1) + "/Contacts?fields=Full_Name&page=11", 400,
			`{"code":"DISCRETE_PAGINATION_LIMIT_EXCEEDED","details":{"limit":2000},"message":"You can only get the first 2000 records without using page_token param","status":"error"}`},
		{"nothing related", "GET", "/crm/v8/Accounts/" + id(1) + "/Tasks?fields=Subject", 204, ""},
		{"too deep", "GET", "/crm/v8/Accounts/" + id(1) + "/Contacts/x", 404,
			`{"code":"INVALID_URL_PATTERN","details":{},"message":"Please check if the URL trying to access is a correct one","status":"error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertReply(t, call(t, tc.method, e.s.RESTURL()+tc.path, e.tok, "{}"), tc.status, tc.want)
		})
	}
	before := e.s.CreditsUsed()
	e.get(t, "/crm/v8/Accounts/"+id(1)+"/Contacts?fields=Full_Name")
	if got := e.s.CreditsUsed() - before; got != 1 {
		t.Errorf("related records cost %d credits, want 1", got)
	}
	// Reading an account's contacts needs READ on both modules.
	acctOnly := tokenWith(t, e.s, "ZohoCRM.modules.accounts.READ")
	both := tokenWith(t, e.s, "ZohoCRM.modules.accounts.READ", "ZohoCRM.modules.contacts.READ")
	if r := call(t, "GET", e.s.RESTURL()+"/crm/v8/Accounts/"+id(1)+"/Contacts?fields=Full_Name", acctOnly, ""); r.status != 401 {
		t.Errorf("accounts scope only: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", e.s.RESTURL()+"/crm/v8/Accounts/"+id(1)+"/Contacts?fields=Full_Name", both, ""); r.status != 200 {
		t.Errorf("both scopes: %d %s", r.status, r.body)
	}
}

// TestRelatedFollowsWrites checks that related lists reflect inserts and
// updates: a new contact joins its account's list, a moved one leaves the
// old list for the new one.
func TestRelatedFollowsWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	list := func(acct int) []string {
		ids, _ := relatedIDs(t, e.get(t, "/crm/v8/Accounts/"+id(acct)+"/Contacts?fields=Last_Name&sort_by=id&sort_order=asc"))
		return ids
	}
	r := e.post(t, "/crm/v8/Contacts", `{"data":[{"Last_Name":"New","Account_Name":{"id":"`+id(1)+`"}}]}`)
	newID := writeResults(t, r)[0]["details"].(map[string]any)["id"].(string)
	if got := list(1); !slices.Equal(got, []string{modID(ModuleContacts, 2), modID(ModuleContacts, 3), newID}) {
		t.Fatalf("after insert %v", got)
	}
	e.put(t, "/crm/v8/Contacts", `{"data":[{"id":"`+modID(ModuleContacts, 2)+`","Account_Name":{"id":"`+id(9)+`"}}]}`)
	if got := list(1); !slices.Equal(got, []string{modID(ModuleContacts, 3), newID}) {
		t.Fatalf("account 1 after the move %v", got)
	}
	if got := list(9); !slices.Equal(got, []string{modID(ModuleContacts, 2), modID(ModuleContacts, 18), modID(ModuleContacts, 19)}) {
		t.Fatalf("account 9 after the move %v", got)
	}
	e.put(t, "/crm/v8/Contacts", `{"data":[{"id":"`+newID+`","Account_Name":null}]}`)
	if got := list(1); !slices.Equal(got, []string{modID(ModuleContacts, 3)}) {
		t.Fatalf("after unlinking %v", got)
	}
	// A task on a new deal appears on the deal, not on the account with that index.
	r = e.post(t, "/crm/v8/Deals", `{"data":[{"Deal_Name":"D","Stage":"Qualification","Account_Name":{"id":"`+id(5)+`"}}]}`)
	dealID := writeResults(t, r)[0]["details"].(map[string]any)["id"].(string)
	r = e.post(t, "/crm/v8/Tasks", `{"data":[{"Subject":"T","What_Id":{"id":"`+dealID+`"},"$se_module":"Deals"}]}`)
	taskID := writeResults(t, r)[0]["details"].(map[string]any)["id"].(string)
	if got, _ := relatedIDs(t, e.get(t, "/crm/v8/Deals/"+dealID+"/Tasks?fields=Subject")); !slices.Equal(got, []string{taskID}) {
		t.Fatalf("new deal's tasks %v", got)
	}
	if got, _ := relatedIDs(t, e.get(t, "/crm/v8/Accounts/"+id(5)+"/Deals?fields=Deal_Name&sort_by=id&sort_order=asc")); !slices.Equal(got, []string{modID(ModuleDeals, 5), dealID}) {
		t.Fatalf("account 5's deals %v", got)
	}
	// Sorting by Modified_Time puts the record just changed last (ascending).
	e.clock.Advance(10 * time.Minute)
	e.put(t, "/crm/v8/Contacts", `{"data":[{"id":"`+modID(ModuleContacts, 18)+`","Title":"CEO"}]}`)
	got, _ := relatedIDs(t, e.get(t, "/crm/v8/Accounts/"+id(9)+"/Contacts?fields=Title&sort_by=Modified_Time&sort_order=asc"))
	if len(got) != 3 || got[2] != modID(ModuleContacts, 18) {
		t.Fatalf("by Modified_Time %v", got)
	}
}

func TestListOtherModules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	for _, m := range []string{ModuleContacts, ModuleLeads, ModuleDeals, ModuleTasks, ModuleNotes, ModuleProjects} {
		t.Run(m, func(t *testing.T) {
			t.Parallel()
			mod, _ := LookupModule(m)
			r := e.get(t, "/crm/v8/"+m+"?fields="+mod.NameField+"&per_page=2&sort_order=asc")
			var page struct {
				Data []map[string]any `json:"data"`
				Info map[string]any   `json:"info"`
			}
			if r.status != 200 || json.Unmarshal(r.body, &page) != nil || len(page.Data) != 2 {
				t.Fatalf("list: %d %s", r.status, r.body)
			}
			if page.Data[0]["id"] != modID(m, 0) || page.Data[0][mod.NameField] == nil || page.Info["more_records"] != true {
				t.Fatalf("first page %s", r.body)
			}
			one := e.get(t, "/crm/v8/"+m+"/"+modID(m, 1))
			rec := decodeMap(t, one.body)["data"].([]any)[0].(map[string]any)
			for _, f := range mod.Fields {
				if _, ok := rec[f.APIName]; !ok {
					t.Errorf("GET one lacks %s", f.APIName)
				}
			}
			// Records come back with the module's fields in layout order.
			b := one.body
			prev := -1
			for _, f := range mod.Fields {
				i := indexOf(b, `"`+f.APIName+`":`)
				if i < prev {
					t.Errorf("%s out of layout order", f.APIName)
				}
				prev = i
			}
			tok := page.Info["next_page_token"].(string)
			if m != ModuleContacts {
				assertReply(t, e.get(t, "/crm/v8/Contacts?fields=Full_Name&page_token="+url.QueryEscape(tok)), 400,
					`{"code":"TOKEN_BOUND_DATA_MISMATCH","details":{"param_name":"page_token"},"message":"the page_token was issued for another module or related list","status":"error"}`)
			}
			assertReply(t, e.get(t, "/crm/v8/"+m+"?fields=Account_Number"), 400,
				`{"code":"INVALID_DATA","details":{"param_name":"fields","api_name":"Account_Number"},"message":"the field api name given seems to be invalid","status":"error"}`)
		})
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

func TestSearchOtherModules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 40})
	c5, _ := e.s.Records(ModuleContacts).Get(modID(ModuleContacts, 5))
	deal3, _ := e.s.Records(ModuleDeals).Get(modID(ModuleDeals, 3))
	search := func(module, q string) ([]string, reply) {
		r := e.get(t, "/crm/v8/"+module+"/search?"+q)
		if r.status == 204 {
			return nil, r
		}
		var body struct {
			Data []map[string]any `json:"data"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &body) != nil {
			return nil, r
		}
		var ids []string
		for _, d := range body.Data {
			ids = append(ids, d["id"].(string))
		}
		return ids, r
	}
	tests := []struct {
		name, module, query string
		check               func(ids []string) bool
	}{
		{"email across the module's email fields", "Contacts", "email=" + url.QueryEscape(c5["Email"].(string)),
			func(ids []string) bool { return slices.Equal(ids, []string{modID(ModuleContacts, 5)}) }},
		{"lookup by id", "Contacts", "criteria=" + url.QueryEscape("(Account_Name:equals:"+id(2)+")"),
			func(ids []string) bool {
				return slices.Equal(ids, []string{modID(ModuleContacts, 5), modID(ModuleContacts, 4)})
			}},
		{"picklist", "Deals", "criteria=" + url.QueryEscape("(Stage:equals:"+deal3["Stage"].(string)+")"),
			func(ids []string) bool { return slices.Contains(ids, modID(ModuleDeals, 3)) }},
		{"date range", "Deals", "criteria=" + url.QueryEscape("(Closing_Date:between:"+deal3["Closing_Date"].(string)+","+deal3["Closing_Date"].(string)+")"),
			func(ids []string) bool { return slices.Contains(ids, modID(ModuleDeals, 3)) }},
		{"percent", "Deals", "criteria=" + url.QueryEscape("(Probability:greater_equal:100)"),
			func(ids []string) bool { return len(ids) > 0 }},
		{"multi-select", "Projects", "criteria=" + url.QueryEscape("(Tech_Stack:equals:go)"),
			func(ids []string) bool { return len(ids) > 0 }},
		{"custom unique text", "Projects", "criteria=" + url.QueryEscape("(Project_Code:equals:PRJ-00007)"),
			func(ids []string) bool { return slices.Equal(ids, []string{modID(ModuleProjects, 7)}) }},
		{"What_Id by id", "Tasks", "criteria=" + url.QueryEscape("(What_Id:equals:"+id(3)+")"),
			func(ids []string) bool { return slices.Equal(ids, []string{modID(ModuleTasks, 3)}) }},
		{"word in a custom module", "Projects", "word=Borealis",
			func(ids []string) bool { return len(ids) > 0 }},
		{"phone in leads", "Leads", "phone=" + url.QueryEscape("555 4012"),
			func(ids []string) bool { return slices.Contains(ids, modID(ModuleLeads, 12)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ids, r := search(tc.module, tc.query)
			if !tc.check(ids) {
				t.Fatalf("ids %v (%d %s)", ids, r.status, r.body)
			}
		})
	}
	errs := []struct{ name, module, criteria, want string }{
		{"operator not for dates", "Deals", "(Closing_Date:starts_with:2024)",
			`{"code":"INVALID_QUERY","details":{"api_name":"Closing_Date","operator":"starts_with","reason":"invalid operator found"},"message":"Invalid query formed","status":"error"}`},
		{"field of another module", "Contacts", "(Account_Number:equals:5)",
			`{"code":"INVALID_QUERY","details":{"api_name":"Account_Number","reason":"invalid field api name"},"message":"Invalid query formed","status":"error"}`},
		{"bad date", "Contacts", "(Date_of_Birth:equals:yesterday)",
			`{"code":"INVALID_QUERY","details":{"api_name":"Date_of_Birth","expected_data_type":"date","operator":"equals","reason":"the given value seems to be invalid for the field"},"message":"Invalid query formed","status":"error"}`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			assertReply(t, e.get(t, "/crm/v8/"+tc.module+"/search?criteria="+url.QueryEscape(tc.criteria)), 400, tc.want)
		})
	}
}

func TestCOQLOtherModules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	acct3, _ := e.s.Store().Get(id(3))
	coql := func(q string) reply {
		return e.post(t, "/crm/v8/coql", `{"select_query":`+strconv.Quote(q)+`}`)
	}
	tests := []struct {
		name, query, want string
	}{
		{"lookup id", "select Last_Name from Contacts where Account_Name.id = " + id(3) + " order by id limit 5",
			`{"data":[{"id":"` + modID(ModuleContacts, 6) + `","Last_Name":"Smith"},{"id":"` + modID(ModuleContacts, 7) + `","Last_Name":"Smith"}],"info":{"count":2,"more_records":false}}`},
		{"join through the lookup", "select Account_Name.Industry, Account_Name.Account_Name from Contacts where Account_Name = '" + id(3) + "' limit 1",
			`{"data":[{"id":"` + modID(ModuleContacts, 6) + `","Account_Name.Industry":"` + acct3["Industry"].(string) + `","Account_Name.Account_Name":"` + seedName(3) + `"}],"info":{"count":1,"more_records":true}}`},
		{"module names are case-insensitive", "select Deal_Name from deals where id = " + modID(ModuleDeals, 1),
			`{"data":[{"id":"` + modID(ModuleDeals, 1) + `","Deal_Name":"` + seedName(1) + ` Expansion"}],"info":{"count":1,"more_records":false}}`},
		{"custom module and a join condition", "select Name from Projects where Account.Account_Name like '" + nameStems[4] + "%' limit 5",
			`{"data":[{"id":"` + modID(ModuleProjects, 2) + `","Name":"Project Cobalt 2"}],"info":{"count":1,"more_records":false}}`},
		{"multi-module lookup by id", "select Subject from Tasks where What_Id.id = " + id(3),
			`{"data":[{"id":"` + modID(ModuleTasks, 3) + `","Subject":"Schedule demo for ` + seedName(3) + `"}],"info":{"count":1,"more_records":false}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertReply(t, coql(tc.query), 200, tc.want)
		})
	}
	bad := []struct{ name, query, want string }{
		{"field of another module", "select Account_Number from Contacts",
			`{"code":"INVALID_QUERY","details":{"column_name":"Account_Number"},"message":"unsupported column","status":"error"}`},
		{"join to a missing field", "select Account_Name.Nope from Contacts",
			`{"code":"INVALID_QUERY","details":{"column_name":"Account_Name.Nope"},"message":"unsupported column","status":"error"}`},
		{"join through a multi-module lookup", "select What_Id.Account_Name from Tasks",
			`{"code":"INVALID_QUERY","details":{"column_name":"What_Id.Account_Name"},"message":"unsupported column","status":"error"}`},
		{"joined column takes its own type", "select id from Contacts where Account_Name.Employees = 'many'",
			`{"code":"INVALID_QUERY","details":{"column_name":"Account_Name.Employees","expected_data_type":"integer","reason":"the given value seems to be invalid for the column","value":"many"},"message":"Invalid query formed","status":"error"}`},
		{"module without records API", "select id from Home",
			`{"code":"INVALID_MODULE","details":{"module":"Home"},"message":"the module name given seems to be invalid","status":"error"}`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertReply(t, coql(tc.query), 400, tc.want)
		})
	}
	// COQL needs the queried module's READ scope beside ZohoCRM.coql.READ.
	tok := tokenWith(t, e.s, "ZohoCRM.coql.READ", "ZohoCRM.modules.accounts.READ")
	body := `{"select_query":"select Last_Name from Contacts limit 1"}`
	if r := call(t, "POST", e.s.RESTURL()+"/crm/v8/coql", tok, body); r.status != 401 || decodeMap(t, r.body)["code"] != "OAUTH_SCOPE_MISMATCH" {
		t.Errorf("without the Contacts scope: %d %s", r.status, r.body)
	}
	tok = tokenWith(t, e.s, "ZohoCRM.coql.READ", "ZohoCRM.modules.contacts.READ")
	if r := call(t, "POST", e.s.RESTURL()+"/crm/v8/coql", tok, body); r.status != 200 {
		t.Errorf("with the Contacts scope: %d %s", r.status, r.body)
	}
	meta := `{"select_query":"select Last_Name from Contacts limit 1","include_meta":["fields"]}`
	if r := call(t, "POST", e.s.RESTURL()+"/crm/v8/coql", tok, meta); r.status != 401 {
		t.Errorf("include_meta without the fields scope: %d %s", r.status, r.body)
	}
	r := e.post(t, "/crm/v8/coql", meta)
	if m := decodeMap(t, r.body); r.status != 200 || m["fields"].(map[string]any)["Last_Name"].(map[string]any)["system_mandatory"] != true {
		t.Errorf("include_meta: %d %s", r.status, r.body)
	}
}
