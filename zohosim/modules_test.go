package zohosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tokenWith returns an access token of the REST client holding only scopes.
func tokenWith(t testing.TB, s *Sim, scopes ...string) string {
	t.Helper()
	rc := s.RESTCredential()
	code := "1000.code." + randomHex(4)
	s.AddGrantCode(rc.ClientID, code, scopes)
	v := url.Values{"grant_type": {"authorization_code"}, "client_id": {rc.ClientID},
		"client_secret": {rc.ClientSecret}, "code": {code}}
	r := call(t, http.MethodPost, s.AccountsURL()+"/oauth/v2/token?"+v.Encode(), "", "")
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	return tr.AccessToken
}

// decodeMap decodes a JSON object body.
func decodeMap(t testing.TB, b []byte) map[string]any {
	t.Helper()
	m, ok := decode(t, b).(map[string]any)
	if !ok {
		t.Fatalf("not a JSON object: %s", b)
	}
	return m
}

// TestRegistry checks invariants every module's metadata must keep: the
// properties the field validation, the metadata APIs and the related lists
// rely on.
func TestRegistry(t *testing.T) {
	t.Parallel()
	mandatory := map[string][]string{
		ModuleAccounts: {"Account_Name"}, ModuleContacts: {"Last_Name"}, ModuleLeads: {"Last_Name"},
		ModuleDeals: {"Deal_Name", "Stage"}, ModuleTasks: {"Subject"}, ModuleNotes: {"Note_Content", "Parent_Id"},
		ModuleProjects: {"Name"},
	}
	ids := map[string]string{}
	for _, m := range Modules() {
		if other, dup := ids[m.ID]; dup {
			t.Errorf("%s and %s share the module id %s", m.APIName, other, m.ID)
		}
		ids[m.ID] = m.APIName
		if !m.APISupported {
			continue
		}
		var got []string
		for i, f := range m.Fields {
			if i == 0 && f.APIName != "id" {
				t.Errorf("%s: first field %s, want id", m.APIName, f.APIName)
			}
			if f.Mandatory {
				got = append(got, f.APIName)
			}
			if (f.Type == TypePicklist || f.Type == TypeMultiSelect) && len(f.Values) == 0 {
				t.Errorf("%s.%s: a picklist without values", m.APIName, f.APIName)
			}
			if f.Type == TypeLookup && (f.Lookup == "") == (len(f.Modules) == 0) {
				t.Errorf("%s.%s: a lookup needs exactly one of Lookup and Modules", m.APIName, f.APIName)
			}
			if _, ok := jsonTypes[f.Type]; !ok {
				t.Errorf("%s.%s: no json_type for %s", m.APIName, f.APIName, f.Type)
			}
		}
		if !slices.Equal(got, mandatory[m.APIName]) {
			t.Errorf("%s: mandatory fields %v, want %v", m.APIName, got, mandatory[m.APIName])
		}
		if f, ok := m.Field(m.NameField); !ok || f.Type != TypeText {
			t.Errorf("%s: name field %q is not a text field", m.APIName, m.NameField)
		}
		for _, rl := range m.Related {
			child, ok := LookupModule(rl.Module)
			f, fok := child.Field(rl.Field)
			if !ok || !fok || !(f.Lookup == m.APIName || slices.Contains(f.Modules, m.APIName)) {
				t.Errorf("%s related list %s: %s.%s does not point at %s", m.APIName, rl.APIName, rl.Module, rl.Field, m.APIName)
			}
		}
	}
	if p, _ := LookupModule(ModuleProjects); !p.Custom {
		t.Error("Projects must be a custom module")
	}
	if n, _ := LookupModule(ModuleNotes); n.BulkRead {
		t.Error("Bulk Read must refuse Notes (§7.1)")
	}
}

// TestSeedLinks checks that every seeded link agrees in both directions:
// the child a parent's related list finds points back at that parent, and
// every seeded child is found from its parent.
func TestSeedLinks(t *testing.T) {
	t.Parallel()
	for _, accounts := range []int{1, 7, 500, 200_000} {
		counts := defaultCounts(accounts)
		sd := &seeder{seed: 3, counts: counts}
		for _, l := range seedLinks {
			n := counts[l.child]
			for _, i := range []int{0, 1, 2, 3, 4, 5, n / 2, n - 2, n - 1} {
				if i < 0 || i >= n {
					continue
				}
				mod, k, ok := sd.parentOf(l.child, l.field, i)
				if !ok || mod != l.parent {
					continue
				}
				if kids := seededChildren(counts, l.child, l.field, l.parent, k); !slices.Contains(kids, i) {
					t.Errorf("A=%d %s[%d].%s → %s[%d], whose children %v miss it", accounts, l.child, i, l.field, l.parent, k, kids)
				}
				for _, j := range seededChildren(counts, l.child, l.field, l.parent, k) {
					if pm, pk, _ := sd.parentOf(l.child, l.field, j); pm != l.parent || pk != k {
						t.Errorf("A=%d %s[%d] listed under %s[%d] but points at %s[%d]", accounts, l.child, j, l.parent, k, pm, pk)
					}
				}
			}
		}
	}
}

func TestModuleRecordsOption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		records map[string]int
		err     string
	}{
		{"unknown module", map[string]int{"Widgets": 3}, `ModuleRecords names "Widgets"`},
		{"Accounts has its own option", map[string]int{ModuleAccounts: 3}, `ModuleRecords names "Accounts"`},
		{"negative", map[string]int{ModuleContacts: -1}, `ModuleRecords["Contacts"] must be between 0 and`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Start(Options{Accounts: 3, ModuleRecords: tc.records})
			if err == nil {
				_ = s.Close()
				t.Fatal("Start accepted the options")
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %q, want it to contain %q", err, tc.err)
			}
		})
	}
	s := startSim(t, Options{Accounts: 4, ModuleRecords: map[string]int{ModuleContacts: 3, ModuleNotes: 0}})
	want := map[string]int{ModuleAccounts: 4, ModuleContacts: 3, ModuleNotes: 0, ModuleDeals: 4, ModuleLeads: 2,
		ModuleTasks: 4, ModuleProjects: 2}
	for mod, n := range want {
		if got := s.Records(mod).Len(); got != n {
			t.Errorf("%s: %d records, want %d", mod, got, n)
		}
	}
	if s.Records("Home") != nil {
		t.Error("Home has no records API, so no store")
	}
}

func TestSeededRecordsAreDeterministic(t *testing.T) {
	t.Parallel()
	a := startSim(t, Options{Accounts: 10, Seed: 5})
	b := startSim(t, Options{Accounts: 10, Seed: 5})
	c := startSim(t, Options{Accounts: 10, Seed: 6})
	differ := false
	for _, m := range []string{ModuleContacts, ModuleLeads, ModuleDeals, ModuleTasks, ModuleNotes, ModuleProjects} {
		ids := a.Records(m).IDs()
		if len(ids) == 0 {
			t.Fatalf("%s: no seeded records", m)
		}
		for _, id := range ids {
			ra, _ := a.Records(m).Get(id)
			rb, _ := b.Records(m).Get(id)
			rc, _ := c.Records(m).Get(id)
			ja, _ := json.Marshal(ra)
			jb, _ := json.Marshal(rb)
			jc, _ := json.Marshal(rc)
			if string(ja) != string(jb) {
				t.Fatalf("%s %s differs under the same seed:\n%s\n%s", m, id, ja, jb)
			}
			differ = differ || string(ja) != string(jc)
		}
	}
	if !differ {
		t.Error("another seed gave the same records")
	}
}

func TestSettingsModules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 5})
	var list struct {
		Modules []map[string]any `json:"modules"`
	}
	r := e.get(t, "/crm/v8/settings/modules")
	if r.status != 200 || json.Unmarshal(r.body, &list) != nil {
		t.Fatalf("modules: %d %s", r.status, r.body)
	}
	byName := map[string]map[string]any{}
	for _, m := range list.Modules {
		byName[m["api_name"].(string)] = m
	}
	for _, want := range []string{"Home", "Leads", "Accounts", "Contacts", "Deals", "Tasks", "Notes", "Projects"} {
		if byName[want] == nil {
			t.Fatalf("module %s missing from %v", want, byName)
		}
	}
	checks := []struct {
		module, key string
		want        any
	}{
		{"Home", "api_supported", false},
		{"Accounts", "api_supported", true},
		{"Accounts", "id", bulkAccountsModuleID},
		{"Accounts", "singular_label", "Account"},
		{"Accounts", "generated_type", "default"},
		{"Projects", "generated_type", "custom"},
		{"Projects", "module_name", "CustomModule1"},
		{"Projects", "plural_label", "Projects"},
		{"Projects", "singular_label", "Project"},
		{"Notes", "status", "system_hidden"},
		{"Deals", "module_name", "Potentials"},
	}
	for _, c := range checks {
		if got := byName[c.module][c.key]; got != c.want {
			t.Errorf("%s.%s = %v, want %v", c.module, c.key, got, c.want)
		}
	}

	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"status filter", "/crm/v8/settings/modules?status=system_hidden", 200, ""},
		{"bad status", "/crm/v8/settings/modules?status=visible,gone", 400,
			`{"code":"INVALID_DATA","details":{"index":1,"supported_values":["visible","user_hidden","system_hidden","scheduled_for_deletion"],"param_name":"status"},"message":"The status given is invalid.","status":"error"}`},
		{"nothing matches", "/crm/v8/settings/modules?status=scheduled_for_deletion", 204, ""},
		{"one by API name", "/crm/v8/settings/modules/Contacts", 200, ""},
		{"one by id", "/crm/v8/settings/modules/" + bulkAccountsModuleID, 200, ""},
		{"unknown module", "/crm/v8/settings/modules/Widgets", 400,
			`{"code":"INVALID_MODULE","details":{"resource_path_index":2},"message":"the module name given seems to be invalid","status":"error"}`},
		{"case-sensitive", "/crm/v8/settings/modules/contacts", 400,
			`{"code":"INVALID_MODULE","details":{"resource_path_index":2},"message":"the module name given seems to be invalid","status":"error"}`},
		{"not exposed", "/crm/v8/settings/modules/Home", 204, ""},
		{"unknown settings API", "/crm/v8/settings/layouts", 404,
			`{"code":"INVALID_URL_PATTERN","details":{},"message":"Please check if the URL trying to access is a correct one","status":"error"}`},
		{"too deep", "/crm/v8/settings/modules/Accounts/x", 404,
			`{"code":"INVALID_URL_PATTERN","details":{},"message":"Please check if the URL trying to access is a correct one","status":"error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertReply(t, e.get(t, tc.path), tc.status, tc.want)
		})
	}
	one := decodeMap(t, e.get(t, "/crm/v8/settings/modules/Accounts").body)["modules"].([]any)
	var rls []string
	for _, rl := range one[0].(map[string]any)["related_lists"].([]any) {
		rls = append(rls, rl.(map[string]any)["api_name"].(string))
	}
	if len(one) != 1 || !slices.Equal(rls, []string{"Contacts", "Deals", "Tasks", "Notes", "Projects"}) {
		t.Errorf("Accounts module: %d modules, related lists %v", len(one), rls)
	}
	hidden := decodeMap(t, e.get(t, "/crm/v8/settings/modules?status=system_hidden").body)["modules"].([]any)
	if len(hidden) != 1 || hidden[0].(map[string]any)["api_name"] != "Notes" {
		t.Errorf("system_hidden modules %v, want Notes only", hidden)
	}
	r = call(t, http.MethodPost, e.s.RESTURL()+"/crm/v8/settings/modules", e.tok, "{}")
	assertReply(t, r, 400, `{"code":"INVALID_REQUEST_METHOD","details":{"resource_path_index":1},"message":"The http request method type is not a valid one","status":"error"}`)
}

// fieldsOf returns a module's fields metadata by API name.
func fieldsOf(t *testing.T, e env, module string) map[string]map[string]any {
	t.Helper()
	r := e.get(t, "/crm/v8/settings/fields?module="+module)
	var body struct {
		Fields []map[string]any `json:"fields"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &body) != nil {
		t.Fatalf("fields of %s: %d %s", module, r.status, r.body)
	}
	out := map[string]map[string]any{}
	for _, f := range body.Fields {
		out[f["api_name"].(string)] = f
	}
	return out
}

func TestSettingsFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 5})
	acc := fieldsOf(t, e, "Accounts")
	if len(acc) != len(AccountFields)-1 || acc["id"] != nil {
		t.Fatalf("Accounts: %d fields (id listed: %v), want every field but id", len(acc), acc["id"] != nil)
	}
	con := fieldsOf(t, e, "Contacts")
	deals := fieldsOf(t, e, "Deals")
	tasks := fieldsOf(t, e, "Tasks")
	notes := fieldsOf(t, e, "Notes")
	proj := fieldsOf(t, e, "Projects")
	pickValues := func(f map[string]any) []string {
		var out []string
		for _, v := range f["pick_list_values"].([]any) {
			pv := v.(map[string]any)
			if pv["display_value"] != pv["actual_value"] || pv["reference_value"] != pv["actual_value"] || pv["id"] == "" {
				t.Errorf("picklist value %v", pv)
			}
			out = append(out, pv["actual_value"].(string))
		}
		return out
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"Account_Name mandatory", acc["Account_Name"]["system_mandatory"], true},
		{"Account_Name data_type", acc["Account_Name"]["data_type"], "text"},
		{"Account_Name json_type", acc["Account_Name"]["json_type"], "string"},
		{"Account_Name length", acc["Account_Name"]["length"], 255.0},
		{"Rating values", pickValues(acc["Rating"]), ratings},
		{"Created_Time read-only", acc["Created_Time"]["read_only"], true},
		{"Created_Time data_type", acc["Created_Time"]["data_type"], "datetime"},
		{"Email is a custom field", acc["Email"]["custom_field"], true},
		{"Phone json_type", acc["Phone"]["json_type"], "string"},
		{"Employees json_type", acc["Employees"]["json_type"], "integer"},
		{"Annual_Revenue currency", acc["Annual_Revenue"]["currency"], map[string]any{"rounding_option": "normal", "precision": 2.0}},
		{"Owner json_type", acc["Owner"]["json_type"], "jsonobject"},
		{"Owner label", acc["Owner"]["field_label"], "Account Owner"},
		{"Parent_Account lookup module", acc["Parent_Account"]["lookup"].(map[string]any)["module"].(map[string]any)["api_name"], "Accounts"},
		{"Contacts Last_Name mandatory", con["Last_Name"]["system_mandatory"], true},
		{"Contacts First_Name optional", con["First_Name"]["system_mandatory"], false},
		{"Contacts Last_Name length", con["Last_Name"]["length"], 80.0},
		{"Contacts Email unique", con["Email"]["unique"], map[string]any{"case_sensitive": false}},
		{"Contacts Phone not unique", con["Phone"]["unique"], map[string]any{}},
		{"Contacts Account_Name lookup", con["Account_Name"]["lookup"].(map[string]any)["module"].(map[string]any)["api_name"], "Accounts"},
		{"Contacts Account_Name lookup list", con["Account_Name"]["lookup"].(map[string]any)["api_name"], "Contacts"},
		{"Contacts Full_Name read-only", con["Full_Name"]["read_only"], true},
		{"Contacts Date_of_Birth", con["Date_of_Birth"]["data_type"], "date"},
		{"Deals Stage mandatory", deals["Stage"]["system_mandatory"], true},
		{"Deals Deal_Name mandatory", deals["Deal_Name"]["system_mandatory"], true},
		{"Deals Stage values", pickValues(deals["Stage"]), dealStages},
		{"Deals Probability", deals["Probability"]["data_type"], "percent"},
		{"Deals Expected_Revenue read-only", deals["Expected_Revenue"]["field_read_only"], true},
		{"Tasks Subject mandatory", tasks["Subject"]["system_mandatory"], true},
		{"Tasks What_Id multi-module", len(tasks["What_Id"]["multi_module_lookup"].(map[string]any)["modules"].([]any)), 4},
		{"Notes Note_Content mandatory", notes["Note_Content"]["system_mandatory"], true},
		{"Notes Parent_Id mandatory", notes["Parent_Id"]["system_mandatory"], true},
		{"Projects Name mandatory", proj["Name"]["system_mandatory"], true},
		{"Projects Project_Code custom and unique", []any{proj["Project_Code"]["custom_field"], proj["Project_Code"]["unique"]}, []any{true, map[string]any{"case_sensitive": false}}},
		{"Projects Tech_Stack", []any{proj["Tech_Stack"]["data_type"], proj["Tech_Stack"]["json_type"]}, []any{"multiselectpicklist", "jsonarray"}},
		{"Projects Hourly_Rate", proj["Hourly_Rate"]["data_type"], "double"},
		{"Projects Account lookup", proj["Account"]["lookup"].(map[string]any)["api_name"], "Projects"},
	}
	for _, c := range checks {
		gj, _ := json.Marshal(c.got)
		wj, _ := json.Marshal(c.want)
		if string(gj) != string(wj) {
			t.Errorf("%s = %s, want %s", c.name, gj, wj)
		}
	}
	field0 := acc["Account_Name"]["id"].(string)
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"module missing", "/crm/v8/settings/fields", 400,
			`{"code":"REQUIRED_PARAM_MISSING","details":{"param_name":"module"},"message":"One of the expected parameter is missing","status":"error"}`},
		{"unknown module", "/crm/v8/settings/fields?module=Widgets", 400,
			`{"code":"INVALID_MODULE","details":{"param_name":"module"},"message":"the module name given seems to be invalid","status":"error"}`},
		{"module the API does not serve", "/crm/v8/settings/fields?module=Home", 400,
			`{"code":"NOT_SUPPORTED","details":{"param_name":"module"},"message":"The given module is not supported in API","status":"error"}`},
		{"bad type", "/crm/v8/settings/fields?module=Deals&type=some", 400,
			`{"code":"INVALID_DATA","details":{"param_name":"type","supported_values":["all","used","unused"]},"message":"the type given seems to be invalid","status":"error"}`},
		{"no unused fields", "/crm/v8/settings/fields?module=Deals&type=unused", 204, ""},
		{"unknown field id", "/crm/v8/settings/fields/1234?module=Accounts", 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertReply(t, e.get(t, tc.path), tc.status, tc.want)
		})
	}
	one := decodeMap(t, e.get(t, "/crm/v8/settings/fields/"+field0+"?module=Accounts").body)["fields"].([]any)
	if len(one) != 1 || one[0].(map[string]any)["api_name"] != "Account_Name" {
		t.Errorf("field by id: %v", one)
	}
}

func TestSettingsRelatedLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 5})
	r := e.get(t, "/crm/v8/settings/related_lists?module=Contacts")
	var body struct {
		RelatedLists []map[string]any `json:"related_lists"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &body) != nil || len(body.RelatedLists) != 3 {
		t.Fatalf("Contacts related lists: %d %s", r.status, r.body)
	}
	deals := body.RelatedLists[0]
	if deals["api_name"] != "Deals" || deals["module"].(map[string]any)["api_name"] != "Deals" || deals["type"] != "default" ||
		deals["status"] != "visible" || deals["sequence_number"] != "1" {
		t.Errorf("first list %v", deals)
	}
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"module missing", "/crm/v8/settings/related_lists", 400,
			`{"code":"REQUIRED_PARAM_MISSING","details":{"param_name":"module"},"message":"One of the expected parameter is missing","status":"error"}`},
		{"unknown module", "/crm/v8/settings/related_lists?module=Widgets", 400,
			`{"code":"INVALID_MODULE","details":{"param_name":"module"},"message":"the module name given seems to be invalid","status":"error"}`},
		{"none", "/crm/v8/settings/related_lists?module=Notes", 204, ""},
		{"one by id", "/crm/v8/settings/related_lists/" + deals["id"].(string) + "?module=Contacts", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertReply(t, e.get(t, tc.path), tc.status, tc.want)
		})
	}
}

func TestSettingsScopesAndCredits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 5})
	fieldsOnly := tokenWith(t, e.s, "ZohoCRM.settings.fields.READ")
	all := tokenWith(t, e.s, "ZohoCRM.settings.ALL")
	modulesOnly := tokenWith(t, e.s, "ZohoCRM.settings.modules.READ")
	recordsOnly := tokenWith(t, e.s, "ZohoCRM.modules.ALL")
	tests := []struct {
		path, tok string
		status    int
	}{
		{"/crm/v8/settings/fields?module=Accounts", fieldsOnly, 200},
		{"/crm/v8/settings/modules", fieldsOnly, 401},
		{"/crm/v8/settings/related_lists?module=Accounts", fieldsOnly, 401},
		{"/crm/v8/settings/modules", modulesOnly, 200},
		{"/crm/v8/settings/fields?module=Accounts", modulesOnly, 401},
		{"/crm/v8/settings/modules", all, 200},
		{"/crm/v8/settings/fields?module=Accounts", all, 200},
		{"/crm/v8/settings/related_lists?module=Accounts", all, 200},
		{"/crm/v8/settings/modules", recordsOnly, 401},
	}
	for _, tc := range tests {
		r := call(t, http.MethodGet, e.s.RESTURL()+tc.path, tc.tok, "")
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.path, r.status, r.body, tc.status)
		}
		if r.status == 401 && decodeMap(t, r.body)["code"] != "OAUTH_SCOPE_MISMATCH" {
			t.Errorf("%s: %s, want OAUTH_SCOPE_MISMATCH", tc.path, r.body)
		}
	}
	before := e.s.CreditsUsed()
	e.get(t, "/crm/v8/settings/fields?module=Deals")
	if got := e.s.CreditsUsed() - before; got != 1 {
		t.Errorf("fields metadata cost %d credits, want 1", got)
	}
	// A refused call costs nothing.
	before = e.s.CreditsUsed()
	for _, p := range []string{"/crm/v8/settings/fields?module=Widgets", "/crm/v8/settings/fields",
		"/crm/v8/settings/modules?status=gone", "/crm/v8/settings/related_lists?module=Home", "/crm/v8/settings/fields?module=Deals&type=x"} {
		if r := e.get(t, p); r.status != 400 {
			t.Errorf("%s: %d, want 400", p, r.status)
		}
	}
	if got := e.s.CreditsUsed() - before; got != 0 {
		t.Errorf("refused metadata calls cost %d credits, want 0", got)
	}
	// The default credentials carry every metadata scope the proxy reads.
	for _, p := range []string{"/crm/v8/settings/modules", "/crm/v8/settings/fields?module=Projects",
		"/crm/v8/settings/related_lists?module=Accounts"} {
		if r := e.get(t, p); r.status != 200 {
			t.Errorf("default credential: %s → %d %s", p, r.status, r.body)
		}
	}
}

// TestManyAccountsStayCheap checks that a 200,000-account org with its other
// modules costs little memory until records are read: nothing is generated
// up front.
func TestManyAccountsStayCheap(t *testing.T) {
	t.Parallel()
	counts := defaultCounts(200_000)
	stores := newStores(1, counts, time.Now)
	for mod, st := range stores {
		if len(st.extra) != 0 || len(st.overrides) != 0 || st.orders != nil || st.uniq != nil {
			t.Errorf("%s: state allocated before any read", mod)
		}
		if want := counts[mod]; st.Len() != want {
			t.Errorf("%s: %d records, want %d", mod, st.Len(), want)
		}
	}
	if counts[ModuleContacts] != maxSeeded {
		t.Errorf("Contacts default %d, want the cap %d", counts[ModuleContacts], maxSeeded)
	}
	last, ok := stores[ModuleContacts].Get(strconv.FormatInt(moduleBase(ModuleContacts)+maxSeeded-1, 10))
	if !ok || last["Account_Name"] == nil {
		t.Errorf("last seeded contact %v", last)
	}
}
