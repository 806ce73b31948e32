package zohosim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// writeResults decodes a write response's data array.
func writeResults(t testing.TB, r reply) []map[string]any {
	t.Helper()
	var body struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("write answer %d is not {data:[…]}: %s", r.status, r.body)
	}
	return body.Data
}

func (e env) post(t testing.TB, path, body string) reply {
	t.Helper()
	return call(t, http.MethodPost, e.s.RESTURL()+path, e.tok, body)
}

// contactID, dealID, … are the ids of seeded records of other modules.
func modID(module string, i int) string { return strconv.FormatInt(moduleBase(module)+int64(i), 10) }

func TestInsertStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	before := e.s.Records(ModuleContacts).Len()
	r := e.post(t, "/crm/v8/Contacts", `{"data":[{"Last_Name":"Doe","First_Name":"Jane","Email":"jane.doe@new.example",
		"Account_Name":{"id":"`+id(3)+`"},"Date_of_Birth":"1990-02-03","Lead_Source":"Chat"}]}`)
	res := writeResults(t, r)
	if r.status != http.StatusCreated || len(res) != 1 || res[0]["code"] != "SUCCESS" || res[0]["message"] != "record added" {
		t.Fatalf("insert: %d %s", r.status, r.body)
	}
	d := res[0]["details"].(map[string]any)
	newID, _ := d["id"].(string)
	if _, ok := ParseID(newID); !ok || d["Created_Time"] != formatTime(e.clock.Now()) || d["$approval_state"] != "approved" ||
		d["Created_By"].(map[string]any)["id"] != owners[0]["id"] {
		t.Fatalf("success details %v", d)
	}
	rec, ok := e.s.Records(ModuleContacts).Get(newID)
	if !ok || rec["Full_Name"] != "Jane Doe" || rec["Email_Opt_Out"] != false || rec["Owner"].(Record)["id"] != owners[0]["id"] ||
		rec["Account_Name"].(Record)["name"] != seedName(3) || rec["Mailing_City"] != nil {
		t.Fatalf("stored %v", rec)
	}
	if got := e.s.Records(ModuleContacts).Len(); got != before+1 {
		t.Fatalf("%d contacts, want %d", got, before+1)
	}
	if e.s.RecordWrites(newID) != 1 {
		t.Fatalf("writes of %s: %d, want 1", newID, e.s.RecordWrites(newID))
	}
	got := e.get(t, "/crm/v8/Contacts/"+newID+"?fields=Full_Name,Account_Name")
	assertReply(t, got, 200, `{"data":[{"id":"`+newID+`","Full_Name":"Jane Doe","Account_Name":{"id":"`+id(3)+`","name":"`+seedName(3)+`"}}]}`)

	r = e.post(t, "/crm/v8/Contacts", `{"data":[{"Last_Name":"Roe"},{"First_Name":"No last name"}]}`)
	if res := writeResults(t, r); r.status != http.StatusMultiStatus || res[0]["status"] != "success" || res[1]["code"] != "MANDATORY_NOT_FOUND" {
		t.Fatalf("mixed: %d %s", r.status, r.body)
	}
	r = e.post(t, "/crm/v8/Contacts", `{"data":[{"First_Name":"A"},{"Nope":"B","Last_Name":"C"}]}`)
	if r.status != http.StatusBadRequest || len(writeResults(t, r)) != 2 {
		t.Fatalf("all failed: %d %s", r.status, r.body)
	}
	assertReply(t, e.post(t, "/crm/v8/Contacts", `{"data":[]}`), 400,
		`{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"data","json_path":"$.data"},"message":"required field not found","status":"error"}`)
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"Last_Name":"X"},`, 101), ",") + "]"
	assertReply(t, e.post(t, "/crm/v8/Contacts", `{"data":`+many+`}`), 400,
		`{"code":"LIMIT_EXCEEDED","details":{"api_name":"data","json_path":"$.data","limit":100},"message":"the number of records exceeds the limit of 100","status":"error"}`)
}

func TestInsertCredits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 5})
	for _, n := range []int{1, 10, 11, 100} {
		items := make([]string, n)
		for i := range items {
			items[i] = `{"Subject":"Call ` + strconv.Itoa(i) + `"}`
		}
		before := e.s.CreditsUsed()
		r := e.post(t, "/crm/v8/Tasks", `{"data":[`+strings.Join(items, ",")+`]}`)
		if r.status != http.StatusCreated {
			t.Fatalf("%d tasks: %d %s", n, r.status, r.body)
		}
		if got, want := e.s.CreditsUsed()-before, (n+9)/10; got != want {
			t.Errorf("inserting %d records cost %d credits, want %d (1 per 10)", n, got, want)
		}
	}
}

// TestInsertValidation covers every validation rule of a write, each on the
// module whose metadata makes it apply.
func TestInsertValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	tests := []struct {
		name, module, record string
		code                 string
		details              map[string]any
	}{
		{"unknown field", "Deals", `{"Deal_Name":"D","Stage":"Qualification","Nope":1}`, "INVALID_DATA",
			map[string]any{"api_name": "Nope", "json_path": "$.data[0].Nope"}},
		{"another module's field", "Contacts", `{"Last_Name":"L","Account_Number":5}`, "INVALID_DATA",
			map[string]any{"api_name": "Account_Number", "json_path": "$.data[0].Account_Number"}},
		{"read-only field", "Contacts", `{"Last_Name":"L","Full_Name":"X Y"}`, "INVALID_DATA",
			map[string]any{"api_name": "Full_Name", "json_path": "$.data[0].Full_Name"}},
		{"read-only computed field", "Deals", `{"Deal_Name":"D","Stage":"Qualification","Expected_Revenue":5}`, "INVALID_DATA",
			map[string]any{"api_name": "Expected_Revenue", "json_path": "$.data[0].Expected_Revenue"}},
		{"id on insert", "Leads", `{"Last_Name":"L","id":"` + id(1) + `"}`, "INVALID_DATA",
			map[string]any{"api_name": "id", "json_path": "$.data[0].id"}},
		{"mandatory missing", "Deals", `{"Deal_Name":"D"}`, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Stage", "json_path": "$.data[0].Stage"}},
		{"mandatory null", "Tasks", `{"Subject":null}`, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Subject", "json_path": "$.data[0].Subject"}},
		{"mandatory blank", "Projects", `{"Name":"  "}`, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Name", "json_path": "$.data[0].Name"}},
		{"mandatory lookup", "Notes", `{"Note_Content":"hi"}`, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Parent_Id", "json_path": "$.data[0].Parent_Id"}},
		{"text as number", "Leads", `{"Last_Name":5}`, "INVALID_DATA",
			map[string]any{"api_name": "Last_Name", "json_path": "$.data[0].Last_Name", "expected_data_type": "text"}},
		{"too long for the field", "Contacts", `{"Last_Name":"` + strings.Repeat("é", 81) + `"}`, "INVALID_DATA",
			map[string]any{"api_name": "Last_Name", "json_path": "$.data[0].Last_Name", "maximum_length": 80.0}},
		{"custom field length", "Projects", `{"Name":"P","Project_Code":"` + strings.Repeat("x", 21) + `"}`, "INVALID_DATA",
			map[string]any{"api_name": "Project_Code", "json_path": "$.data[0].Project_Code", "maximum_length": 20.0}},
		{"picklist value", "Deals", `{"Deal_Name":"D","Stage":"Won"}`, "INVALID_DATA",
			map[string]any{"api_name": "Stage", "json_path": "$.data[0].Stage", "supported_values": anyList(dealStages)}},
		{"multi-select value", "Projects", `{"Name":"P","Tech_Stack":["Go","COBOL"]}`, "INVALID_DATA",
			map[string]any{"api_name": "Tech_Stack", "json_path": "$.data[0].Tech_Stack", "supported_values": anyList(techStack)}},
		{"multi-select as string", "Projects", `{"Name":"P","Tech_Stack":"Go"}`, "INVALID_DATA",
			map[string]any{"api_name": "Tech_Stack", "json_path": "$.data[0].Tech_Stack", "expected_data_type": "multiselectpicklist"}},
		{"date", "Contacts", `{"Last_Name":"L","Date_of_Birth":"03/02/1990"}`, "INVALID_DATA",
			map[string]any{"api_name": "Date_of_Birth", "json_path": "$.data[0].Date_of_Birth", "expected_data_type": "date"}},
		{"datetime without offset", "Projects", `{"Name":"P","Go_Live":"2026-05-01T10:00:00"}`, "INVALID_DATA",
			map[string]any{"api_name": "Go_Live", "json_path": "$.data[0].Go_Live", "expected_data_type": "datetime"}},
		{"integer", "Projects", `{"Name":"P","Team_Size":2.5}`, "INVALID_DATA",
			map[string]any{"api_name": "Team_Size", "json_path": "$.data[0].Team_Size", "expected_data_type": "integer"}},
		{"percent as string", "Projects", `{"Name":"P","Progress":"50%"}`, "INVALID_DATA",
			map[string]any{"api_name": "Progress", "json_path": "$.data[0].Progress", "expected_data_type": "percent"}},
		{"boolean", "Projects", `{"Name":"P","Billable":"yes"}`, "INVALID_DATA",
			map[string]any{"api_name": "Billable", "json_path": "$.data[0].Billable", "expected_data_type": "boolean"}},
		{"email", "Leads", `{"Last_Name":"L","Email":"nope"}`, "INVALID_DATA",
			map[string]any{"api_name": "Email", "json_path": "$.data[0].Email", "expected_data_type": "email"}},
		{"lookup to the wrong module", "Contacts", `{"Last_Name":"L","Account_Name":{"id":"` + modID(ModuleDeals, 1) + `"}}`, "INVALID_DATA",
			map[string]any{"api_name": "Account_Name", "json_path": "$.data[0].Account_Name", "expected_data_type": "lookup", "id": modID(ModuleDeals, 1)}},
		{"lookup as string", "Deals", `{"Deal_Name":"D","Stage":"Qualification","Account_Name":"` + id(1) + `"}`, "INVALID_DATA",
			map[string]any{"api_name": "Account_Name", "json_path": "$.data[0].Account_Name", "expected_data_type": "lookup"}},
		{"owner unknown", "Leads", `{"Last_Name":"L","Owner":{"id":"1"}}`, "INVALID_DATA",
			map[string]any{"api_name": "Owner", "json_path": "$.data[0].Owner", "expected_data_type": "ownerlookup", "id": "1"}},
		{"What_Id without $se_module", "Tasks", `{"Subject":"S","What_Id":{"id":"` + id(1) + `"}}`, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "$se_module", "json_path": "$.data[0].$se_module"}},
		{"What_Id with another module", "Tasks", `{"Subject":"S","What_Id":{"id":"` + id(1) + `"},"$se_module":"Contacts"}`, "INVALID_DATA",
			map[string]any{"api_name": "$se_module", "json_path": "$.data[0].$se_module", "supported_values": []any{"Accounts", "Deals", "Leads", "Projects"}}},
		{"What_Id not in its module", "Tasks", `{"Subject":"S","What_Id":{"id":"` + id(1) + `"},"$se_module":"Deals"}`, "INVALID_DATA",
			map[string]any{"api_name": "What_Id", "json_path": "$.data[0].What_Id", "expected_data_type": "lookup", "id": id(1)}},
		{"Parent_Id without module", "Notes", `{"Note_Content":"c","Parent_Id":{"id":"` + id(1) + `"}}`, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "module", "json_path": "$.data[0].Parent_Id.module"}},
		{"Parent_Id of a module notes cannot have", "Notes", `{"Note_Content":"c","Parent_Id":{"id":"` + modID(ModuleTasks, 1) + `","module":{"api_name":"Tasks"}}}`, "INVALID_DATA",
			map[string]any{"api_name": "module", "json_path": "$.data[0].Parent_Id.module", "supported_values": []any{"Accounts", "Contacts", "Deals", "Leads", "Projects"}}},
		{"duplicate of a seeded unique value", "Contacts", `{"Last_Name":"L","Email":"` + strings.ToUpper(seedContactEmail(e, 4)) + `"}`, "DUPLICATE_DATA",
			map[string]any{"api_name": "Email", "json_path": "$.data[0].Email", "id": modID(ModuleContacts, 4), "more_records": false,
				"duplicate_record": map[string]any{"id": modID(ModuleContacts, 4), "Owner": seedOwner(e, ModuleContacts, 4)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := e.s.Records(tc.module)
			before := st.Len()
			r := e.post(t, "/crm/v8/"+tc.module, `{"data":[`+tc.record+`]}`)
			res := writeResults(t, r)
			if r.status != http.StatusBadRequest || len(res) != 1 || res[0]["code"] != tc.code || res[0]["status"] != "error" {
				t.Fatalf("got %d %s, want 400 %s", r.status, r.body, tc.code)
			}
			gj, _ := json.Marshal(res[0]["details"])
			wj, _ := json.Marshal(tc.details)
			if string(gj) != string(wj) {
				t.Fatalf("details %s, want %s", gj, wj)
			}
			if st.Len() != before {
				t.Fatalf("a refused record was stored")
			}
		})
	}
}

func anyList(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func seedContactEmail(e env, i int) string {
	r, _ := e.s.Records(ModuleContacts).Get(modID(ModuleContacts, i))
	return r["Email"].(string)
}

func seedOwner(e env, module string, i int) map[string]any {
	r, _ := e.s.Records(module).Get(modID(module, i))
	o := r["Owner"].(Record)
	return map[string]any{"name": o["name"], "id": o["id"], "zuid": ownerZUID[o["id"].(string)]}
}

func TestInsertDerivedAndLinkedValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	r := e.post(t, "/crm/v8/Deals", `{"data":[{"Deal_Name":"Big one","Stage":"Negotiation/Review","Amount":1000}]}`)
	if r.status != 201 {
		t.Fatalf("deal: %d %s", r.status, r.body)
	}
	deal, _ := e.s.Records(ModuleDeals).Get(writeResults(t, r)[0]["details"].(map[string]any)["id"].(string))
	if deal["Probability"] != 90.0 || deal["Expected_Revenue"] != 900.0 {
		t.Fatalf("deal probability %v, expected revenue %v; want 90 and 900", deal["Probability"], deal["Expected_Revenue"])
	}
	r = e.post(t, "/crm/v8/Tasks", `{"data":[{"Subject":"Call","What_Id":{"id":"`+modID(ModuleDeals, 2)+`"},"$se_module":"Deals","Status":"Completed"}]}`)
	task, _ := e.s.Records(ModuleTasks).Get(writeResults(t, r)[0]["details"].(map[string]any)["id"].(string))
	if task["$se_module"] != "Deals" || task["What_Id"].(Record)["id"] != modID(ModuleDeals, 2) || task["Closed_Time"] != formatTime(e.clock.Now()) ||
		task["Priority"] != "Normal" {
		t.Fatalf("task %v", task)
	}
	r = e.post(t, "/crm/v8/Notes", `{"data":[{"Note_Content":"c","Parent_Id":{"id":"`+modID(ModuleContacts, 3)+`","module":{"api_name":"Contacts"}}}]}`)
	note, _ := e.s.Records(ModuleNotes).Get(writeResults(t, r)[0]["details"].(map[string]any)["id"].(string))
	p := note["Parent_Id"].(Record)
	if p["id"] != modID(ModuleContacts, 3) || p["module"].(Record)["api_name"] != "Contacts" || p["module"].(Record)["id"] != "5725767000000002177" || p["name"] == nil {
		t.Fatalf("note parent %v", p)
	}
	r = e.post(t, "/crm/v8/Projects", `{"data":[{"Name":"P","Tech_Stack":["Go","Go","SQL"],"Go_Live":"2026-05-01T10:00:00Z","Start_Date":"2026-04-01"}]}`)
	proj, _ := e.s.Records(ModuleProjects).Get(writeResults(t, r)[0]["details"].(map[string]any)["id"].(string))
	if s, _ := proj["Tech_Stack"].([]string); strings.Join(s, ",") != "Go,SQL" || proj["Go_Live"] != "2026-05-01T04:00:00-06:00" || proj["Status"] != "Planned" {
		t.Fatalf("project %v", proj)
	}
}

func TestUniqueFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	r := e.post(t, "/crm/v8/Projects", `{"data":[{"Name":"A","Project_Code":"NEW-1"},{"Name":"B","Project_Code":"new-1"},{"Name":"C","Project_Code":"NEW-2"}]}`)
	res := writeResults(t, r)
	if r.status != http.StatusMultiStatus || res[0]["status"] != "success" || res[1]["code"] != "DUPLICATE_DATA" || res[2]["status"] != "success" {
		t.Fatalf("same request: %d %s", r.status, r.body)
	}
	first := res[0]["details"].(map[string]any)["id"].(string)
	if res[1]["details"].(map[string]any)["id"] != first {
		t.Fatalf("duplicate points at %v, want %s", res[1]["details"], first)
	}
	second := res[2]["details"].(map[string]any)["id"].(string)
	// An update may not take another record's value, but may keep its own.
	r = e.put(t, "/crm/v8/Projects", `{"data":[{"id":"`+second+`","Project_Code":"NEW-1"},{"id":"`+first+`","Project_Code":"NEW-1","Name":"A2"}]}`)
	res = writeResults(t, r)
	if r.status != http.StatusMultiStatus || res[0]["code"] != "DUPLICATE_DATA" || res[1]["status"] != "success" {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	// Freeing a value lets another record take it.
	if r := e.put(t, "/crm/v8/Projects/"+first, `{"data":[{"Project_Code":"NEW-9"}]}`); r.status != 200 {
		t.Fatalf("free NEW-1: %d %s", r.status, r.body)
	}
	if r := e.put(t, "/crm/v8/Projects/"+second, `{"data":[{"Project_Code":"NEW-1"}]}`); r.status != 200 {
		t.Fatalf("take NEW-1: %d %s", r.status, r.body)
	}
	if r := e.post(t, "/crm/v8/Projects", `{"data":[{"Name":"D","Project_Code":"PRJ-00003"}]}`); writeResults(t, r)[0]["code"] != "DUPLICATE_DATA" {
		t.Fatalf("seeded code: %s", r.body)
	}
	// Null and empty values never clash.
	if r := e.post(t, "/crm/v8/Projects", `{"data":[{"Name":"E"},{"Name":"F","Project_Code":null}]}`); r.status != 201 {
		t.Fatalf("no codes: %d %s", r.status, r.body)
	}
}

func TestUpdateOtherModules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	c3 := modID(ModuleContacts, 3)
	r := e.put(t, "/crm/v8/Contacts", `{"data":[{"id":"`+c3+`","First_Name":"Renée","Account_Name":{"id":"`+id(7)+`"}}]}`)
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	rec, _ := e.s.Records(ModuleContacts).Get(c3)
	if rec["Full_Name"] != "Renée "+rec["Last_Name"].(string) || rec["Account_Name"].(Record)["id"] != id(7) {
		t.Fatalf("contact %v", rec)
	}
	tests := []struct {
		name, module, record, code, apiName string
	}{
		{"clear a mandatory field", "Deals", `{"id":"` + modID(ModuleDeals, 1) + `","Stage":null}`, "MANDATORY_NOT_FOUND", "Stage"},
		{"read-only field", "Tasks", `{"id":"` + modID(ModuleTasks, 1) + `","Closed_Time":"2026-01-01T00:00:00Z"}`, "INVALID_DATA", "Closed_Time"},
		{"picklist of another module", "Tasks", `{"id":"` + modID(ModuleTasks, 1) + `","Status":"Active"}`, "INVALID_DATA", "Status"},
		{"id of another module", "Leads", `{"id":"` + id(1) + `","Company":"X"}`, "INVALID_DATA", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.put(t, "/crm/v8/"+tc.module, `{"data":[`+tc.record+`]}`)
			res := writeResults(t, r)
			if r.status != 400 || res[0]["code"] != tc.code || (tc.apiName != "" && res[0]["details"].(map[string]any)["api_name"] != tc.apiName) {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
	d := modID(ModuleDeals, 4)
	r = e.put(t, "/crm/v8/Deals/"+d, `{"data":[{"Stage":"Closed Won","Amount":2000}]}`)
	deal, _ := e.s.Records(ModuleDeals).Get(d)
	if r.status != 200 || deal["Probability"] != 100.0 || deal["Expected_Revenue"] != 2000.0 {
		t.Fatalf("deal %d %v", r.status, deal)
	}
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 10})
	existing := seedContactEmail(e, 5)
	r := e.post(t, "/crm/v8/Contacts/upsert", `{"data":[
		{"Last_Name":"Updated","Email":"`+strings.ToUpper(existing)+`"},
		{"Last_Name":"Inserted","Email":"brand.new@example.com"},
		{"id":"`+modID(ModuleContacts, 6)+`","Title":"CFO"},
		{"First_Name":"No last name","Email":"other@example.com"}]}`)
	res := writeResults(t, r)
	if r.status != http.StatusMultiStatus || len(res) != 4 {
		t.Fatalf("upsert: %d %s", r.status, r.body)
	}
	want := []struct{ action, field, message any }{
		{"update", "Email", "record updated"}, {"insert", nil, "record added"}, {"update", nil, "record updated"}, {nil, nil, nil}}
	for i, w := range want {
		if i == 3 {
			if res[i]["code"] != "MANDATORY_NOT_FOUND" || res[i]["action"] != nil {
				t.Errorf("element 3 %v", res[i])
			}
			continue
		}
		if res[i]["action"] != w.action || res[i]["duplicate_field"] != w.field || res[i]["message"] != w.message {
			t.Errorf("element %d %v, want %v", i, res[i], w)
		}
		if _, has := res[i]["duplicate_field"]; !has {
			t.Errorf("element %d lacks duplicate_field", i)
		}
	}
	c5, _ := e.s.Records(ModuleContacts).Get(modID(ModuleContacts, 5))
	if c5["Last_Name"] != "Updated" {
		t.Errorf("matched contact %v", c5)
	}
	assertReply(t, e.post(t, "/crm/v8/Contacts/upsert", `{"data":[{"Last_Name":"X"}],"duplicate_check_fields":["Phone"]}`), 400,
		`{"code":"INVALID_DATA","details":{"api_name":"duplicate_check_fields","json_path":"$.duplicate_check_fields[0]","supported_values":["Email"]},"message":"the field given is not a unique or duplicate-check field of Contacts","status":"error"}`)
	// Accounts match on Account_Name, the oldest record first.
	r = e.post(t, "/crm/v8/Accounts/upsert", `{"data":[{"Account_Name":"`+seedName(2)+`","Phone":"+1 555 9999"}]}`)
	if res := writeResults(t, r); r.status != 200 || res[0]["details"].(map[string]any)["id"] != id(2) || res[0]["duplicate_field"] != "Account_Name" {
		t.Fatalf("accounts upsert: %d %s", r.status, r.body)
	}
	if r := call(t, http.MethodGet, e.s.RESTURL()+"/crm/v8/Contacts/upsert", e.tok, ""); r.status != 400 {
		t.Fatalf("GET upsert: %d %s", r.status, r.body)
	}
}

func TestWriteScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Accounts: 5})
	tests := []struct {
		name, method, path, body string
		scopes                   []string
		status                   int
	}{
		{"create needs CREATE", "POST", "/crm/v8/Contacts", `{"data":[{"Last_Name":"L"}]}`, []string{"ZohoCRM.modules.contacts.READ"}, 401},
		{"module CREATE scope", "POST", "/crm/v8/Contacts", `{"data":[{"Last_Name":"L"}]}`, []string{"ZohoCRM.modules.contacts.CREATE"}, 201},
		{"another module's scope", "POST", "/crm/v8/Contacts", `{"data":[{"Last_Name":"L"}]}`, []string{"ZohoCRM.modules.leads.ALL"}, 401},
		{"custom module by name is not its scope", "GET", "/crm/v8/Projects?fields=Name", "", []string{"ZohoCRM.modules.projects.READ"}, 401},
		{"custom module scope", "GET", "/crm/v8/Projects?fields=Name", "", []string{"ZohoCRM.modules.custom.READ"}, 200},
		{"custom ALL", "POST", "/crm/v8/Projects", `{"data":[{"Name":"N"}]}`, []string{"ZohoCRM.modules.custom.ALL"}, 201},
		{"custom scope is not every module", "GET", "/crm/v8/Deals?fields=Deal_Name", "", []string{"ZohoCRM.modules.custom.ALL"}, 401},
		{"modules.ALL covers custom", "GET", "/crm/v8/Projects?fields=Name", "", []string{"ZohoCRM.modules.ALL"}, 200},
		{"modules.READ covers custom reads", "GET", "/crm/v8/Projects?fields=Name", "", []string{"ZohoCRM.modules.READ"}, 200},
		{"upsert needs CREATE", "POST", "/crm/v8/Deals/upsert", `{"data":[{"Deal_Name":"D","Stage":"Qualification"}]}`, []string{"ZohoCRM.modules.deals.UPDATE"}, 401},
		{"scopes compare case-insensitively", "GET", "/crm/v8/Notes?fields=Note_Title", "", []string{"ZohoCRM.modules.Notes.READ"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, tc.method, e.s.RESTURL()+tc.path, tokenWith(t, e.s, tc.scopes...), tc.body)
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status == 401 && decodeMap(t, r.body)["code"] != "OAUTH_SCOPE_MISMATCH" {
				t.Fatalf("got %s", r.body)
			}
		})
	}
}
