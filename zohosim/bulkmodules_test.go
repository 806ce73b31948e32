package zohosim

import (
	"bytes"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// bulkReadRows creates a bulk read job with body, lets it complete and
// returns its CSV rows.
func bulkReadRows(t *testing.T, s *Sim, clock *fakeClock, tok, body string) [][]string {
	t.Helper()
	st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/read", authHeader(tok), strings.NewReader(body))
	if st != http.StatusCreated {
		t.Fatalf("create %s: %d %s", body, st, b)
	}
	id := bulkReadJobID(t, bulkDecode(t, b))
	clock.Advance(3 * time.Second)
	st, _, b = bulkDo(t, "GET", s.BulkURL()+"/crm/bulk/v8/read/"+id, authHeader(tok), nil)
	d := bulkDecode(t, b)["data"].([]any)[0].(map[string]any)
	if st != 200 || d["state"] != "COMPLETED" {
		t.Fatalf("status: %d %s", st, b)
	}
	st, _, b = bulkDo(t, "GET", s.BulkURL()+"/crm/bulk/v8/read/"+id+"/result", authHeader(tok), nil)
	if st != 200 {
		t.Fatalf("download: %d %s", st, b)
	}
	return bulkUnzipCSV(t, b, id+".csv")
}

func TestSimBulkReadOtherModules(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 6})
	rows := bulkReadRows(t, s, clock, tok, `{"query":{"module":{"api_name":"Contacts"},"fields":["Last_Name","Account_Name","Email"]}}`)
	if len(rows) != 13 || !slices.Equal(rows[0], []string{"id", "Last_Name", "Account_Name", "Email"}) {
		t.Fatalf("Contacts rows %q", rows)
	}
	c3, _ := s.Records(ModuleContacts).Get(modID(ModuleContacts, 3))
	if want := []string{modID(ModuleContacts, 3), c3["Last_Name"].(string), id(1), c3["Email"].(string)}; !slices.Equal(rows[4], want) {
		t.Fatalf("row of contact 3 %q, want %q (lookups as their id)", rows[4], want)
	}
	// Every field of the module when fields is left out; multi-select
	// values joined with semicolons; criteria on custom fields.
	rows = bulkReadRows(t, s, clock, tok, `{"query":{"module":{"api_name":"Projects"},"criteria":{"field":{"api_name":"Project_Code"},"comparator":"equal","value":"PRJ-00001"}}}`)
	proj, _ := LookupModule(ModuleProjects)
	var cols []string
	for _, f := range proj.Fields {
		cols = append(cols, f.APIName)
	}
	p1, _ := s.Records(ModuleProjects).Get(modID(ModuleProjects, 1))
	if len(rows) != 2 || !slices.Equal(rows[0], cols) {
		t.Fatalf("Projects rows %q", rows)
	}
	stack, _ := p1["Tech_Stack"].([]string)
	if got := rows[1][slices.Index(cols, "Tech_Stack")]; got != strings.Join(stack, ";") {
		t.Fatalf("Tech_Stack cell %q, want %q", got, strings.Join(stack, ";"))
	}
	rows = bulkReadRows(t, s, clock, tok, `{"query":{"module":{"api_name":"Deals"},"fields":["Deal_Name"],
		"criteria":{"field":{"api_name":"Closing_Date"},"comparator":"greater_equal","value":"2000-01-01"}}}`)
	if len(rows) != 7 {
		t.Fatalf("Deals by date: %d rows", len(rows))
	}
	tests := []struct {
		name, body string
		code       string
	}{
		{"Notes", `{"query":{"module":{"api_name":"Notes"}}}`, "MODULE_NOT_SUPPORTED"},
		{"Home", `{"query":{"module":{"api_name":"Home"}}}`, "MODULE_NOT_SUPPORTED"},
		{"unknown", `{"query":{"module":{"api_name":"Widgets"}}}`, "MODULE_NOT_AVAILABLE"},
		{"field of another module", `{"query":{"module":{"api_name":"Leads"},"fields":["Account_Name"]}}`, "FIELD_NOT_AVAILABLE"},
		{"date criteria value", `{"query":{"module":{"api_name":"Deals"},"criteria":{"field":{"api_name":"Closing_Date"},"comparator":"equal","value":"today"}}}`, "VALUE_TYPE_NOT_SUPPORTED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The verdict sits in data[], the shape of the 201 answer
			// (reference §7.1): {"data":[{"status":"error","code":…}]}.
			st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/read", authHeader(tok), strings.NewReader(tc.body))
			top := bulkDecode(t, b)
			data, _ := top["data"].([]any)
			if len(data) != 1 || len(top) != 1 {
				t.Fatalf("got %d %s, want {\"data\":[one error]}", st, b)
			}
			if m, _ := data[0].(map[string]any); st != 400 || m["code"] != tc.code || m["status"] != "error" {
				t.Fatalf("got %d %s, want %s", st, b, tc.code)
			}
		})
	}
	// Bulk read needs the module's READ scope beside the bulk scope.
	scoped := tokenWith(t, s, "ZohoCRM.bulk.READ", "ZohoCRM.modules.accounts.READ")
	st, _, b := bulkDo(t, "POST", s.RESTURL()+"/crm/bulk/v8/read", authHeader(scoped), strings.NewReader(`{"query":{"module":{"api_name":"Deals"}}}`))
	if m := bulkDecode(t, b); st != 401 || m["code"] != "OAUTH_SCOPE_MISMATCH" {
		t.Fatalf("without the Deals scope: %d %s", st, b)
	}
	st, _, _ = bulkDo(t, "POST", s.RESTURL()+"/crm/bulk/v8/read", authHeader(scoped), strings.NewReader(`{"query":{"module":{"api_name":"Accounts"}}}`))
	if st != http.StatusCreated {
		t.Fatalf("with the Accounts scope: %d", st)
	}
}

// bulkWriteRows uploads csv, runs a bulk write job over it and returns the
// result rows.
func bulkWriteRows(t *testing.T, s *Sim, clock *fakeClock, tok, module, op, findBy, csvText string) [][]string {
	t.Helper()
	ct, body := bulkMultipart(t, "file", "in.zip", bulkZipOf(t, "in.csv", csvText))
	h := bulkUploadHeaders(ct, "bulk-write", s.OrgID())
	h.Set("Authorization", "Zoho-oauthtoken "+tok)
	st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", h, bytes.NewReader(body))
	if st != 200 {
		t.Fatalf("upload: %d %s", st, b)
	}
	fileID := bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
	fb := ""
	if findBy != "" {
		fb = `,"find_by":"` + findBy + `"`
	}
	st, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/write", authHeader(tok), strings.NewReader(
		`{"operation":"`+op+`","resource":[{"type":"data","module":{"api_name":"`+module+`"},"file_id":"`+fileID+`"`+fb+`}]}`))
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, b)
	}
	jobID := bulkDecode(t, b)["details"].(map[string]any)["id"].(string)
	clock.Advance(2 * time.Second)
	st, _, b = bulkDo(t, "GET", s.BulkURL()+"/crm/bulk/v8/write/"+jobID, authHeader(tok), nil)
	m := bulkDecode(t, b)
	res := m["resource"].([]any)[0].(map[string]any)
	if st != 200 || m["status"] != "COMPLETED" || res["module"].(map[string]any)["api_name"] != module {
		t.Fatalf("status: %d %s", st, b)
	}
	// Every module's result is on the download host and needs the token.
	dl := m["result"].(map[string]any)["download_url"].(string)
	if want := s.DownloadURL() + "/v2/crm/" + s.OrgID() + "/bulk-write/" + jobID + "/" + jobID + ".zip"; dl != want {
		t.Fatalf("download_url %s, want %s", dl, want)
	}
	if st, _, b := bulkDo(t, "GET", dl, nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("result without a token: %d %s", st, b)
	}
	st, _, b = bulkDo(t, "GET", dl, authHeader(tok), nil)
	if st != 200 {
		t.Fatalf("result: %d %s", st, b)
	}
	return bulkUnzipCSV(t, b, module+"-in.csv")
}

func TestSimBulkWriteOtherModules(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 6})
	email4, _ := s.Records(ModuleContacts).Get(modID(ModuleContacts, 4))
	rows := bulkWriteRows(t, s, clock, tok, ModuleContacts, "insert", "",
		"Last_Name,First_Name,Email,Account_Name.id,Date_of_Birth\n"+
			"Okoro,Ada,ada@new.example,"+id(2)+",1980-05-06\n"+
			",Nobody,nobody@new.example,,\n"+
			"Twin,Bob,"+strings.ToUpper(email4["Email"].(string))+",,\n"+
			"Wrong,Acct,w@new.example,"+modID(ModuleDeals, 1)+",\n"+
			"Late,Date,late@new.example,,06/05/1980\n")
	want := [][]string{
		{"ADDED", ""}, {"SKIPPED", "MANDATORY_NOT_FOUND-Last_Name"}, {"SKIPPED", "DUPLICATE_DATA-Email"},
		{"SKIPPED", "INVALID_DATA-Account_Name"}, {"SKIPPED", "INVALID_DATA-Date_of_Birth"}}
	for i, w := range want {
		row := rows[i+1]
		if got := row[len(row)-2:]; !slices.Equal(got, w) {
			t.Fatalf("row %d %q, want %q", i, row, w)
		}
	}
	added, _ := s.Records(ModuleContacts).Get(rows[1][len(rows[1])-3])
	if added["Full_Name"] != "Ada Okoro" || added["Account_Name"].(Record)["id"] != id(2) {
		t.Fatalf("inserted contact %v", added)
	}
	// The new contact is one of the account's contacts.
	st, _, b := bulkDo(t, "GET", s.RESTURL()+"/crm/v8/Accounts/"+id(2)+"/Contacts?fields=Last_Name", authHeader(tok), nil)
	if st != 200 || !strings.Contains(string(b), added["id"].(string)) {
		t.Fatalf("related after bulk insert: %d %s", st, b)
	}

	rows = bulkWriteRows(t, s, clock, tok, ModuleDeals, "update", "id",
		"id,Stage,Amount\n"+modID(ModuleDeals, 2)+",Closed Won,5000\n"+modID(ModuleDeals, 3)+",Lost,1\n")
	if got := [][]string{rows[1][3:], rows[2][3:]}; !reflect.DeepEqual(got, [][]string{
		{modID(ModuleDeals, 2), "UPDATED", ""}, {modID(ModuleDeals, 3), "SKIPPED", "INVALID_DATA-Stage"}}) {
		t.Fatalf("deal rows %q", rows)
	}
	d2, _ := s.Records(ModuleDeals).Get(modID(ModuleDeals, 2))
	if d2["Expected_Revenue"] != 5000.0 || d2["Probability"] != 100.0 {
		t.Fatalf("updated deal %v", d2)
	}

	rows = bulkWriteRows(t, s, clock, tok, ModuleProjects, "upsert", "Project_Code",
		"Project_Code,Name,Tech_Stack\nPRJ-00001,Renamed,Go;Rust\nNEW-7,Fresh,SQL\nNEW-8,Bad,Go;COBOL\n")
	if rows[1][4] != "UPDATED" || rows[2][4] != "ADDED" || rows[3][4] != "SKIPPED" || rows[3][5] != "INVALID_DATA-Tech_Stack" {
		t.Fatalf("project rows %q", rows)
	}
	p1, _ := s.Records(ModuleProjects).Get(modID(ModuleProjects, 1))
	if p1["Name"] != "Renamed" || !slices.Equal(p1["Tech_Stack"].([]string), []string{"Go", "Rust"}) {
		t.Fatalf("upserted project %v", p1)
	}

	rows = bulkWriteRows(t, s, clock, tok, ModuleTasks, "insert", "",
		"Subject,What_Id\nCall back,"+modID(ModuleDeals, 1)+"\nVisit,"+modID(ModuleContacts, 1)+"\n")
	task, _ := s.Records(ModuleTasks).Get(rows[1][2])
	if rows[1][3] != "ADDED" || task["$se_module"] != "Deals" || rows[2][4] != "INVALID_DATA-What_Id" {
		t.Fatalf("task rows %q, task %v", rows, task)
	}

	errs := []struct {
		name, body, code string
	}{
		{"mandatory field of the module not mapped", `{"operation":"insert","resource":[{"module":{"api_name":"Deals"},"file_id":"%s"}]}`, "MANDATORY_FIELDS_NOT_MAPPED"},
		{"find_by not unique", `{"operation":"update","resource":[{"module":{"api_name":"Deals"},"file_id":"%s","find_by":"Amount"}]}`, "INVALID_DATA"},
		{"unknown module", `{"operation":"insert","resource":[{"module":{"api_name":"Widgets"},"file_id":"%s"}]}`, "MODULE_NOT_AVAILABLE"},
	}
	ct, body := bulkMultipart(t, "file", "d.zip", bulkZipOf(t, "d.csv", "Deal_Name,Amount\nD,1\n"))
	h := bulkUploadHeaders(ct, "bulk-write", s.OrgID())
	h.Set("Authorization", "Zoho-oauthtoken "+tok)
	_, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", h, bytes.NewReader(body))
	fileID := bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/write", authHeader(tok),
				strings.NewReader(strings.Replace(tc.body, "%s", fileID, 1)))
			if m := bulkDecode(t, b); st != 400 || m["code"] != tc.code {
				t.Fatalf("got %d %s, want %s", st, b, tc.code)
			}
		})
	}
	// A bulk write job needs the module's scope beside the bulk scope.
	ct, body = bulkMultipart(t, "file", "u.zip", bulkZipOf(t, "u.csv", "id,Amount\n"+modID(ModuleDeals, 1)+",1\n"))
	h = bulkUploadHeaders(ct, "bulk-write", s.OrgID())
	h.Set("Authorization", "Zoho-oauthtoken "+tok)
	_, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", h, bytes.NewReader(body))
	fileID = bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
	scoped := tokenWith(t, s, "ZohoCRM.bulk.ALL", "ZohoFiles.files.ALL", "ZohoCRM.modules.deals.CREATE")
	st, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/write", authHeader(scoped), strings.NewReader(
		`{"operation":"update","resource":[{"module":{"api_name":"Deals"},"file_id":"`+fileID+`","find_by":"id"}]}`))
	if m := bulkDecode(t, b); st != 401 || m["code"] != "OAUTH_SCOPE_MISMATCH" {
		t.Fatalf("update with CREATE only: %d %s", st, b)
	}
}
