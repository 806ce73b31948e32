package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func manyIDs(n int, start int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%q", fmt.Sprint(start+i))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func manyFields(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"F_%d"`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func manyUpdates(n int, dupAt int) string {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		id := 100 + i
		if i == dupAt {
			id = 100
		}
		fmt.Fprintf(&sb, `{"id":"%d","data":{"Phone":"1"}}`, id)
	}
	sb.WriteString("]")
	return sb.String()
}

func inValues(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"v%d"`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

const acct = "3652397000000000001"

// TestValidation checks every argument rule: the call is an isError result
// whose text names the problem and how to fix it, and the tier receives
// nothing.
func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tool, args string
		prof             string // "" = ops (all scopes, no denied fields); "sales" denies Annual_Revenue and Owner
		want             []string
	}{
		// Arguments object.
		{name: "unknown key", tool: "get_account", args: `{"account_id":"` + acct + `","feilds":["Phone"]}`, want: []string{`unknown argument "feilds"`, "accepts: account_id, fields"}},
		{name: "several unknown keys", tool: "get_accounts", args: `{"x":1,"y":2}`, want: []string{`unknown arguments "x", "y"`}},
		{name: "unknown key on a no-argument tool", tool: "get_tier_health", args: `{"verbose":true}`, want: []string{`unknown argument "verbose"`, "accepts: no arguments"}},
		{name: "arguments not an object", tool: "get_account", args: `[1]`, want: []string{"arguments must be a JSON object"}},

		// Ids.
		{name: "id missing", tool: "get_account", args: `{}`, want: []string{"account_id is required", "1–19 digits"}},
		{name: "id as number", tool: "get_account", args: `{"account_id":3652397000000000001}`, want: []string{"must be a string of 1–19 digits, got a number", "quote it"}},
		{name: "id with letters", tool: "get_account", args: `{"account_id":"12ab"}`, want: []string{"account_id must be a Zoho record id", `"12ab"`}},
		{name: "id too long", tool: "get_account", args: `{"account_id":"12345678901234567890"}`, want: []string{"1–19 digits"}},
		{name: "id empty", tool: "update_account", args: `{"account_id":"","data":{"Phone":"1"}}`, want: []string{"account_id must be a Zoho record id"}},
		{name: "ids too many", tool: "get_accounts", args: `{"ids":` + manyIDs(101, 1) + `}`, want: []string{"ids has 101 items; at most 100"}},
		{name: "ids empty", tool: "get_accounts", args: `{"ids":[]}`, want: []string{"ids is empty"}},
		{name: "ids duplicate", tool: "get_accounts", args: `{"ids":["1","2","1"]}`, want: []string{"ids[2] repeats id 1", "list each id once"}},
		{name: "ids bad item", tool: "get_accounts", args: `{"ids":["1","x"]}`, want: []string{"ids[1] must be a Zoho record id"}},
		{name: "ids and filters", tool: "get_accounts", args: `{"ids":["1"],"filters":{"Industry":"Retail"}}`, want: []string{"give ids or filters, not both"}},
		{name: "bulk read ids duplicate", tool: "bulk_read_accounts", args: `{"account_ids":["5","5"]}`, want: []string{"account_ids[1] repeats id 5"}},
		{name: "bulk read ids and where", tool: "bulk_read_accounts", args: `{"account_ids":["5"],"where":[{"field":"Industry","op":"equals","value":"x"}]}`, want: []string{"give account_ids or where, not both"}},

		// Fields.
		{name: "field not an API name", tool: "get_account", args: `{"account_id":"` + acct + `","fields":["Account Name"]}`, want: []string{`fields[0]: "Account Name" is not a Zoho field API name`, "e.g. Account_Name"}},
		{name: "field starts with digit", tool: "get_account", args: `{"account_id":"` + acct + `","fields":["1x"]}`, want: []string{"is not a Zoho field API name"}},
		{name: "fields too many", tool: "get_accounts", args: `{"fields":` + manyFields(51) + `}`, want: []string{"fields has 51 items; at most 50"}},
		{name: "fields repeated", tool: "get_accounts", args: `{"fields":["Phone","Phone"]}`, want: []string{"repeats field Phone"}},
		{name: "fields not an array", tool: "get_accounts", args: `{"fields":"Phone"}`, want: []string{"fields must be an array of field API names, got a string"}},

		// Limit, page token, sort.
		{name: "limit zero", tool: "get_accounts", args: `{"limit":0}`, want: []string{"limit must be from 1 to 200 (got 0)"}},
		{name: "limit too big", tool: "search_accounts", args: `{"word":"x","limit":201}`, want: []string{"limit must be from 1 to 200 (got 201)"}},
		{name: "limit fraction", tool: "get_accounts", args: `{"limit":2.5}`, want: []string{"limit must be a whole number"}},
		{name: "limit string", tool: "get_accounts", args: `{"limit":"20"}`, want: []string{"limit must be an integer from 1 to 200, got a string"}},
		{name: "page token empty", tool: "get_accounts", args: `{"page_token":""}`, want: []string{"page_token is empty"}},
		{name: "page token too long", tool: "get_accounts", args: `{"page_token":"` + strings.Repeat("a", 1025) + `"}`, want: []string{"page_token is 1025 bytes long; at most 1024"}},
		{name: "sort_by bad", tool: "get_accounts", args: `{"sort_by":"Account_Name"}`, want: []string{"sort_by must be one of id, Created_Time, Modified_Time"}},
		{name: "sort_order bad", tool: "get_accounts", args: `{"sort_order":"ascending"}`, want: []string{"sort_order must be one of asc, desc"}},

		// Filters.
		{name: "filters not object", tool: "get_accounts", args: `{"filters":[{"Industry":"x"}]}`, want: []string{"filters must be an object of field API name → value"}},
		{name: "filters empty", tool: "get_accounts", args: `{"filters":{}}`, want: []string{"filters is empty"}},
		{name: "filters bad field", tool: "get_accounts", args: `{"filters":{"bad field":"x"}}`, want: []string{"is not a Zoho field API name"}},
		{name: "filters object value", tool: "get_accounts", args: `{"filters":{"Owner":{"id":"1"}}}`, want: []string{"filters.Owner must be a string, number or boolean, got an object"}},
		{name: "filters too many", tool: "get_accounts", args: `{"filters":{"A1":1,"A2":1,"A3":1,"A4":1,"A5":1,"A6":1,"A7":1,"A8":1,"A9":1,"A10":1,"A11":1}}`, want: []string{"filters has 11 fields; at most 10"}},

		// Search.
		{name: "search nothing", tool: "search_accounts", args: `{}`, want: []string{"give exactly one of where, word, email or phone (got 0)"}},
		{name: "search two modes", tool: "search_accounts", args: `{"word":"x","email":"a@b.c"}`, want: []string{"exactly one of where, word, email or phone (got 2)"}},
		{name: "search bad op", tool: "search_accounts", args: `{"where":[{"field":"Industry","op":"contains","value":"x"}]}`, want: []string{`where[0].op must be one of equals, not_equal, starts_with, in, greater_than, greater_equal, less_than, less_equal, between (got "contains")`}},
		{name: "search criteria string refused", tool: "search_accounts", args: `{"criteria":"(Industry:equals:x)"}`, want: []string{`unknown argument "criteria"`}},
		{name: "search where empty", tool: "search_accounts", args: `{"where":[]}`, want: []string{"where is empty"}},
		{name: "search too many conditions", tool: "search_accounts", args: `{"where":[` + strings.TrimSuffix(strings.Repeat(`{"field":"A","op":"equals","value":1},`, 11), ",") + `]}`, want: []string{"where has 11 items; at most 10"}},
		{name: "condition unknown key", tool: "search_accounts", args: `{"where":[{"field":"A","op":"equals","value":1,"and":2}]}`, want: []string{`where[0]: unknown key "and"; a condition has field, op and value`}},
		{name: "condition missing value", tool: "search_accounts", args: `{"where":[{"field":"A","op":"equals"}]}`, want: []string{"where[0].value is required"}},
		{name: "condition not object", tool: "search_accounts", args: `{"where":["Industry = x"]}`, want: []string{"where[0] must be an object {field, op, value}, got a string"}},
		{name: "in needs array", tool: "search_accounts", args: `{"where":[{"field":"A","op":"in","value":"x"}]}`, want: []string{`where[0].value must be an array of 1–100 values for op "in"`}},
		{name: "in empty", tool: "search_accounts", args: `{"where":[{"field":"A","op":"in","value":[]}]}`, want: []string{`where[0].value has 0 values; op "in" takes 1–100`}},
		{name: "in too many", tool: "search_accounts", args: `{"where":[{"field":"A","op":"in","value":` + inValues(101) + `}]}`, want: []string{`has 101 values; op "in" takes 1–100`}},
		{name: "between one value", tool: "search_accounts", args: `{"where":[{"field":"A","op":"between","value":[1]}]}`, want: []string{`has 1 values; op "between" takes exactly 2`}},
		{name: "between scalar", tool: "search_accounts", args: `{"where":[{"field":"A","op":"between","value":5}]}`, want: []string{`exactly 2 values [low, high] for op "between"`}},
		{name: "equals array", tool: "search_accounts", args: `{"where":[{"field":"A","op":"equals","value":[1,2]}]}`, want: []string{`must be a single value for op "equals"; use op "in"`}},
		{name: "value object", tool: "search_accounts", args: `{"where":[{"field":"A","op":"equals","value":{"x":1}}]}`, want: []string{"where[0].value must be a string, number or boolean, got an object"}},
		{name: "in value nested array", tool: "search_accounts", args: `{"where":[{"field":"A","op":"in","value":[[1]]}]}`, want: []string{"where[0].value[0] must be a string, number or boolean, got an array"}},
		{name: "starts_with number", tool: "search_accounts", args: `{"where":[{"field":"A","op":"starts_with","value":5}]}`, want: []string{`must be a non-empty string for op "starts_with"`}},
		{name: "match bad", tool: "search_accounts", args: `{"where":[{"field":"A","op":"equals","value":1}],"match":"or"}`, want: []string{"match must be one of all, any"}},
		{name: "match without where", tool: "search_accounts", args: `{"word":"x","match":"any"}`, want: []string{"match applies to where only"}},
		{name: "email not an address", tool: "search_accounts", args: `{"email":"nobody"}`, want: []string{"email must be an email address"}},
		{name: "word blank", tool: "search_accounts", args: `{"word":"  "}`, want: []string{"word is empty"}},
		{name: "bulk read too many conditions", tool: "bulk_read_accounts", args: `{"where":[` + strings.TrimSuffix(strings.Repeat(`{"field":"A","op":"equals","value":1},`, 26), ",") + `]}`, want: []string{"where has 26 items; at most 25"}},

		// Data.
		{name: "data missing", tool: "update_account", args: `{"account_id":"` + acct + `"}`, want: []string{"data is required", "Phone"}},
		{name: "data empty", tool: "update_account", args: `{"account_id":"` + acct + `","data":{}}`, want: []string{"data is empty; give at least one field"}},
		{name: "data not object", tool: "update_account", args: `{"account_id":"` + acct + `","data":"Phone=1"}`, want: []string{"data must be an object of field API name → value, got a string"}},
		{name: "data bad key", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"Account Name":"x"}}`, want: []string{`data: "Account Name" is not a Zoho field API name`}},
		{name: "data id key", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"id":"5"}}`, want: []string{"data must not contain id"}},
		{name: "data too deep", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"X":[[[[[[[1]]]]]]]}}`, want: []string{"nested more than 5 levels"}},
		{name: "trigger bad name", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"Phone":"1"},"trigger":["workflows"]}`, want: []string{"trigger[0] must be one of workflow, approval, blueprint, pathfinder, orchestration"}},
		{name: "trigger repeated", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"Phone":"1"},"trigger":["workflow","workflow"]}`, want: []string{`trigger[1] repeats "workflow"`}},
		{name: "trigger not array", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"Phone":"1"},"trigger":"workflow"}`, want: []string{"trigger must be an array of trigger names"}},

		// Bulk updates.
		{name: "updates missing", tool: "bulk_update_accounts", args: `{}`, want: []string{"updates is required"}},
		{name: "updates empty", tool: "bulk_update_accounts", args: `{"updates":[]}`, want: []string{"updates is empty"}},
		{name: "updates duplicate id", tool: "bulk_update_accounts", args: `{"updates":` + manyUpdates(5, 3) + `}`, want: []string{"updates[3].id repeats 100 (already in updates[0]); merge the two"}},
		{name: "updates too many", tool: "bulk_update_accounts", args: `{"updates":` + manyUpdates(25_001, -1) + `}`, want: []string{"updates has 25001 items; at most 25000"}},
		{name: "update unknown key", tool: "bulk_update_accounts", args: `{"updates":[{"id":"1","data":{"A":1},"trigger":[]}]}`, want: []string{`updates[0]: unknown key "trigger"; an update has id and data`}},
		{name: "update missing data", tool: "bulk_update_accounts", args: `{"updates":[{"id":"1"}]}`, want: []string{"updates[0].data is required"}},
		{name: "update bad id", tool: "bulk_update_accounts", args: `{"updates":[{"id":"1","data":{"A":1}},{"id":"-2","data":{"A":1}}]}`, want: []string{"updates[1].id must be a Zoho record id"}},
		{name: "update empty data", tool: "bulk_update_accounts", args: `{"updates":[{"id":"1","data":{"A":1}},{"id":"2","data":{}}]}`, want: []string{"updates[1].data is empty"}},

		// Denied fields (profile sales denies Annual_Revenue and Owner).
		{name: "denied in fields", prof: "sales", tool: "get_account", args: `{"account_id":"` + acct + `","fields":["Phone","Annual_Revenue"]}`, want: []string{`fields[1]: field Annual_Revenue is denied for profile "sales"; remove it`}},
		{name: "denied in filters", prof: "sales", tool: "get_accounts", args: `{"filters":{"Annual_Revenue":5}}`, want: []string{"field Annual_Revenue is denied"}},
		{name: "denied in where", prof: "sales", tool: "search_accounts", args: `{"where":[{"field":"Owner","op":"equals","value":"x"}]}`, want: []string{"where[0].field: field Owner is denied"}},
		{name: "denied in bulk where", prof: "sales", tool: "bulk_read_accounts", args: `{"where":[{"field":"Annual_Revenue","op":"greater_than","value":1}]}`, want: []string{"field Annual_Revenue is denied"}},
		{name: "denied in data", prof: "sales", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"Phone":"1","Annual_Revenue":2}}`, want: []string{"data: field Annual_Revenue is denied"}},
		{name: "denied in bulk data", prof: "sales", tool: "bulk_update_accounts", args: `{"updates":[{"id":"1","data":{"Phone":"1"}},{"id":"2","data":{"Owner":{"id":"5"}}}]}`, want: []string{"updates[1].data: field Owner is denied"}},
		{name: "a name with a space is not an API name", prof: "sales", tool: "get_account", args: `{"account_id":"` + acct + `","fields":["annual revenue"]}`, want: []string{"is not a Zoho field API name"}},
		{name: "deny list ignores case", prof: "sales", tool: "get_account", args: `{"account_id":"` + acct + `","fields":["annual_revenue"]}`, want: []string{"field annual_revenue is denied"}},
		{name: "deny list ignores case in data", prof: "sales", tool: "update_account", args: `{"account_id":"` + acct + `","data":{"OWNER":{"id":"5"}}}`, want: []string{"field OWNER is denied"}},
	}
	e := newEnv(t, 3)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prof := profAll
			if tc.prof == "sales" {
				prof = profSales
			}
			before := len(e.tier.Calls())
			res := e.call(t, prof, tc.tool, tc.args)
			if !res.IsError {
				t.Fatalf("call succeeded, want a validation error; text: %s", text(res))
			}
			got := text(res)
			if !strings.HasPrefix(got, "invalid arguments for "+tc.tool+": ") {
				t.Errorf("text does not start with the tool's name: %s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("text lacks %q:\n%s", w, got)
				}
			}
			if res.StructuredContent != nil {
				t.Errorf("validation error carries structured content")
			}
			if r := routeOf(t, res); r.Tier != "" || len(r.Attempts) != 0 {
				t.Errorf("validation error has a route with a tier: %+v", r)
			}
			if after := len(e.tier.Calls()); after != before {
				t.Errorf("the tier received %d calls for invalid input", after-before)
			}
		})
	}
}

// TestValidInputsPassSchemaAndHandler checks that inputs the handler accepts
// also pass the published input schema, so the schema and the code agree.
func TestValidInputsPassSchemaAndHandler(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, tool, args string }{
		{"get_account minimal", "get_account", `{"account_id":"` + acct + `"}`},
		{"get_account fields", "get_account", `{"account_id":"` + acct + `","fields":["Account_Name","Phone"]}`},
		{"get_accounts empty", "get_accounts", `{}`},
		{"get_accounts everything", "get_accounts", `{"filters":{"Industry":"Retail","Rating":5,"Active":true},"fields":["Phone"],"limit":200,"sort_by":"Modified_Time","sort_order":"desc"}`},
		{"get_accounts ids", "get_accounts", `{"ids":["1","22","3652397000000000001"],"limit":1}`},
		{"get_accounts limit 2.0", "get_accounts", `{"limit":2.0}`},
		{"search where all ops", "search_accounts", `{"where":[{"field":"A","op":"equals","value":"x"},{"field":"B","op":"not_equal","value":1},{"field":"C","op":"starts_with","value":"Ac"},{"field":"D","op":"in","value":["a",1,true]},{"field":"E","op":"greater_than","value":1},{"field":"F","op":"greater_equal","value":"2024-01-01"},{"field":"G","op":"less_than","value":1.5},{"field":"H","op":"less_equal","value":2},{"field":"I","op":"between","value":[1,2]}],"match":"any","limit":5}`},
		{"search word", "search_accounts", `{"word":"acme"}`},
		{"search email", "search_accounts", `{"email":"ops@example.com","fields":["Phone"]}`},
		{"search phone", "search_accounts", `{"phone":"+1 555 0100","page_token":"abc"}`},
		{"update", "update_account", `{"account_id":"` + acct + `","data":{"Phone":"1","Rating":5,"Clear_Me":null,"Owner":{"id":"77"},"Tags":["a","b"],"Big":12345678901234567890},"trigger":[]}`},
		{"update triggers", "update_account", `{"account_id":"` + acct + `","data":{"Phone":"1"},"trigger":["workflow","approval","blueprint","pathfinder","orchestration"]}`},
		{"bulk read everything", "bulk_read_accounts", `{}`},
		{"bulk read ids", "bulk_read_accounts", `{"account_ids":["1","2"],"fields":["Phone"]}`},
		{"bulk read where", "bulk_read_accounts", `{"where":[{"field":"Industry","op":"in","value":["Retail"]}]}`},
		{"bulk update", "bulk_update_accounts", `{"updates":[{"id":"1","data":{"A":1}},{"id":"2","data":{"B":"x"}}],"trigger":["workflow"]}`},
		{"health", "get_tier_health", `{}`},
		{"metrics", "get_tier_metrics", `{}`},
		{"reset", "reset_circuit_breakers", `{}`},
		{"describe list", "describe_module", `{}`},
		{"describe one", "describe_module", `{"module":"Contacts"}`},
		{"get_record", "get_record", `{"module":"Contacts","record_id":"` + acct + `","fields":["Last_Name"]}`},
		{"get_records", "get_records", `{"module":"Deals","filters":{"Stage":"Qualification"},"limit":5,"sort_by":"Created_Time","sort_order":"desc"}`},
		{"search_records", "search_records", `{"module":"Projects","where":[{"field":"Budget","op":"between","value":[1,2]}],"match":"all"}`},
		{"related", "get_related_records", `{"module":"Accounts","record_id":"` + acct + `","related_list":"Contacts","fields":["Last_Name"],"limit":2,"sort_by":"id"}`},
		{"create", "create_records", `{"module":"Tasks","records":[{"Subject":"Call","What_Id":{"id":"1"},"$se_module":"Accounts"},{"Subject":"Two"}],"trigger":[]}`},
		{"update_records", "update_records", `{"module":"Deals","updates":[{"id":"1","data":{"Stage":"Closed Won","Amount":null}}],"trigger":["workflow"]}`},
	}
	e := newEnv(t, 3)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := e.tools[tc.tool]
			if err := validateErr(t, tl.Def.RawInputSchema, []byte(tc.args)); err != nil {
				t.Errorf("input schema rejects valid input: %v", err)
			}
			p, ok := parsers[tc.tool]
			if !ok {
				t.Fatalf("no parser for %s", tc.tool)
			}
			if _, err := p([]byte(tc.args), profAll); err != nil {
				t.Errorf("handler rejects valid input: %v", err)
			}
		})
	}
}

// TestInvalidInputsFailSchemaToo checks a sample of the rules the schema can
// express, so that strict clients refuse them before calling.
func TestInvalidInputsFailSchemaToo(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, tool, args string }{
		{"unknown key", "get_account", `{"account_id":"1","x":1}`},
		{"bad id", "get_account", `{"account_id":"x1"}`},
		{"limit", "get_accounts", `{"limit":0}`},
		{"op", "search_accounts", `{"where":[{"field":"A","op":"like","value":1}]}`},
		{"condition extra key", "search_accounts", `{"where":[{"field":"A","op":"equals","value":1,"x":1}]}`},
		{"data empty", "update_account", `{"account_id":"1","data":{}}`},
		{"data key", "update_account", `{"account_id":"1","data":{"a b":1}}`},
		{"trigger", "update_account", `{"account_id":"1","data":{"A":1},"trigger":["x"]}`},
		{"update extra key", "bulk_update_accounts", `{"updates":[{"id":"1","data":{"A":1},"z":1}]}`},
		{"no-arg tool", "get_tier_metrics", `{"a":1}`},
		{"record tool without module", "get_record", `{"record_id":"1"}`},
		{"module not a name", "get_records", `{"module":"Sales Orders"}`},
		{"create without records", "create_records", `{"module":"Contacts","records":[]}`},
		{"create with too many records", "create_records", `{"module":"Contacts","records":` + strings.Repeat(`[{"A":1}`, 1) + strings.Repeat(`,{"A":1}`, 100) + `]}`},
		{"create record key", "create_records", `{"module":"Contacts","records":[{"a b":1}]}`},
		{"update_records too many", "update_records", `{"module":"Deals","updates":` + manyUpdates(101, -1) + `}`},
		{"related without list", "get_related_records", `{"module":"Accounts","record_id":"1"}`},
	}
	e := newEnv(t, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := validateErr(t, e.tools[tc.tool].Def.RawInputSchema, []byte(tc.args)); err == nil {
				t.Errorf("input schema accepts %s", tc.args)
			}
		})
	}
}

// TestNullMeansAbsent: agents often send null for an optional argument; the
// handler treats it as absent (the schema stays strict).
func TestNullMeansAbsent(t *testing.T) {
	t.Parallel()
	v, err := parse[getAccountsParams]([]byte(`{"limit":null,"page_token":null,"fields":null}`), profAll)
	if err != nil {
		t.Fatal(err)
	}
	if v.Limit != defaultLimit || v.PageToken != "" || v.Fields != nil {
		t.Errorf("null not treated as absent: %+v", v)
	}
}

// TestSchemaAndParserShareTheirKeys: the keys a tool's parser accepts are
// the properties of its input schema, in the order of its declaration, and
// the schema's required keys are the ones the parser demands.
func TestSchemaAndParserShareTheirKeys(t *testing.T) {
	t.Parallel()
	for _, tl := range All(Deps{}) {
		t.Run(tl.Def.Name, func(t *testing.T) {
			t.Parallel()
			var in struct {
				Properties map[string]any `json:"properties"`
				Required   []string       `json:"required"`
			}
			if err := json.Unmarshal(tl.Def.RawInputSchema, &in); err != nil {
				t.Fatal(err)
			}
			_, err := tl.parse([]byte(`{"zz_unknown":1}`), profAll)
			if err == nil {
				t.Fatal("an unknown key was accepted")
			}
			_, list, _ := strings.Cut(err.Error(), "this tool accepts: ")
			var accepted []string
			if list != "no arguments" {
				accepted = strings.Split(list, ", ")
			}
			if len(accepted) != len(in.Properties) {
				t.Errorf("parser accepts %v, schema has %d properties", accepted, len(in.Properties))
			}
			for _, k := range accepted {
				if _, ok := in.Properties[k]; !ok {
					t.Errorf("parser accepts %q, the schema does not describe it", k)
				}
			}
			for _, k := range in.Required {
				if _, err := tl.parse([]byte(`{}`), profAll); err == nil || !strings.Contains(err.Error(), "is required") {
					t.Errorf("required %q: an empty call = %v, want \"is required\"", k, err)
				}
			}
		})
	}
}
