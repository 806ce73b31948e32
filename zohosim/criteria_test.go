package zohosim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// roundTripJSON returns v as the JSON object a client would decode.
func roundTripJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// escapeCriteriaValue escapes a value for use inside a criteria condition as
// reference §5 says: a backslash before `(`, `)`, `,` and `\`. It is written
// here from the reference, independently of any client code.
func escapeCriteriaValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`, `,`, `\,`)
	return r.Replace(s)
}

// criteriaRecords is a small, hand-made data set for matching tests.
var criteriaRecords = []Record{
	{"id": "5725767000001000000", "Account_Name": "Acme Corp 0", "Industry": "Retail", "Employees": int64(10),
		"Annual_Revenue": 1250000.5, "Created_Time": "2024-01-09T11:02:31-06:00", "Locked__s": false,
		"Owner":          map[string]any{"id": "5725767000000411001", "name": "Patricia Boyle", "email": "p.boyle@example.com"},
		"Parent_Account": nil, "Description": nil, "Email": "contact@acme.example.com", "Phone": "+1 555 0000",
		"Account_Number": int64(100000)},
	{"id": "5725767000001000001", "Account_Name": "Smith (UK), Ltd", "Industry": "Banking", "Employees": int64(250),
		"Annual_Revenue": 0.0, "Created_Time": "2024-01-10T00:00:00+00:00", "Locked__s": true,
		"Owner":          Record{"id": "5725767000000411002", "name": "Ravi Kumar"},
		"Parent_Account": Record{"id": "5725767000001000000", "name": "Acme Corp 0"}, "Description": "Key account",
		"Email": "sales@smith.example.com", "Phone": "+44 20 7946 0001", "Account_Number": int64(100001)},
	{"id": "5725767000001000002", "Account_Name": `Back\Slash Labs`, "Industry": "Retail", "Employees": int64(5000),
		"Annual_Revenue": 99.0, "Created_Time": "2025-06-01T12:00:00+05:30", "Locked__s": false,
		"Owner":          Record{"id": "5725767000000411003", "name": "Jana Nováková"},
		"Parent_Account": nil, "Description": "retail partner", "Email": nil, "Phone": "+1 555 0002",
		"Account_Number": int64(100002)},
	{"id": "5725767000001000003", "Account_Name": "Müller & Söhne GmbH", "Industry": "Manufacturing", "Employees": int64(42),
		"Annual_Revenue": 12.25, "Created_Time": "2023-12-31T23:59:59-06:00", "Locked__s": false,
		"Owner":          Record{"id": "5725767000000411001", "name": "Patricia Boyle"},
		"Parent_Account": nil, "Description": nil, "Email": "info@mueller.example.de", "Phone": "+49 30 1234",
		"Account_Number": int64(100003)},
	{"id": "5725767000001000004", "Account_Name": "O'Brien Partners, Alpha", "Industry": "Consulting", "Employees": int64(11),
		"Annual_Revenue": 1e6, "Created_Time": "2024-01-09T17:02:31+00:00", "Locked__s": false,
		"Owner":          Record{"id": "5725767000000411002", "name": "Ravi Kumar"},
		"Parent_Account": Record{"id": "5725767000001000001", "name": "Smith (UK), Ltd"}, "Description": nil,
		"Email": "ob@obrien.example.com", "Phone": "+353 1 555", "Account_Number": int64(100004)},
}

// matchIndexes returns the indexes of criteriaRecords the expression matches.
func matchIndexes(e criteriaExpr) []int {
	out := []int{}
	for i, r := range criteriaRecords {
		if e.match(r) {
			out = append(out, i)
		}
	}
	return out
}

func TestParseCriteriaMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		criteria string
		want     []int
	}{
		{name: "equals on text is contains", criteria: "(Account_Name:equals:acme)", want: []int{0}},
		{name: "equals contains mid-word", criteria: "(Account_Name:equals:lash)", want: []int{2}},
		{name: "equals on picklist is exact", criteria: "(Industry:equals:retail)", want: []int{0, 2}},
		{name: "equals on picklist no partial", criteria: "(Industry:equals:Ret)", want: []int{}},
		{name: "escaped comma and parens", criteria: `(Account_Name:equals:Smith \(UK\)\, Ltd)`, want: []int{1}},
		{name: "escaped backslash", criteria: `(Account_Name:equals:Back\\Slash)`, want: []int{2}},
		{name: "lone backslash is literal", criteria: `(Account_Name:equals:Back\Slash)`, want: []int{2}},
		{name: "apostrophe needs no escape", criteria: "(Account_Name:starts_with:O'Brien)", want: []int{4}},
		{name: "non-ascii case folding", criteria: "(Account_Name:equals:MÜLLER & SÖHNE)", want: []int{3}},
		{name: "unescaped comma means any of", criteria: "(Account_Name:equals:acme,müller)", want: []int{0, 3}},
		{name: "starts_with", criteria: "(Account_Name:starts_with:smith)", want: []int{1}},
		{name: "starts_with not contains", criteria: "(Account_Name:starts_with:Corp)", want: []int{}},
		{name: "not_equal exact", criteria: "(Industry:not_equal:Retail)", want: []int{1, 3, 4}},
		{name: "not_equal on null matches", criteria: "(Email:not_equal:info@mueller.example.de)", want: []int{0, 1, 2, 4}},
		{name: "in picklist", criteria: "(Industry:in:Banking,Consulting)", want: []int{1, 4}},
		{name: "in text exact", criteria: `(Account_Name:in:Acme Corp 0,O'Brien Partners\, Alpha)`, want: []int{0, 4}},
		{name: "textarea equals skips null", criteria: "(Description:equals:account)", want: []int{1}},
		{name: "email equals contains", criteria: "(Email:equals:example.com)", want: []int{0, 1, 4}},
		{name: "phone starts_with", criteria: "(Phone:starts_with:+1 555)", want: []int{0, 2}},
		{name: "integer greater_than", criteria: "(Employees:greater_than:42)", want: []int{1, 2}},
		{name: "integer greater_equal", criteria: "(Employees:greater_equal:42)", want: []int{1, 2, 3}},
		{name: "integer less_than", criteria: "(Employees:less_than:11)", want: []int{0}},
		{name: "integer less_equal", criteria: "(Employees:less_equal:11)", want: []int{0, 4}},
		{name: "integer between inclusive", criteria: "(Employees:between:11,250)", want: []int{1, 3, 4}},
		{name: "integer in", criteria: "(Employees:in:10,5000)", want: []int{0, 2}},
		{name: "integer equals numeric", criteria: "(Employees:equals:42)", want: []int{3}},
		{name: "bigint equals", criteria: "(Account_Number:equals:100004)", want: []int{4}},
		{name: "currency decimal compare", criteria: "(Annual_Revenue:greater_than:1000000)", want: []int{0}},
		{name: "currency equals float", criteria: "(Annual_Revenue:equals:12.25)", want: []int{3}},
		{name: "currency between", criteria: "(Annual_Revenue:between:0,100)", want: []int{1, 2, 3}},
		{name: "datetime compares instants across offsets", criteria: "(Created_Time:equals:2024-01-09T17:02:31+00:00)", want: []int{0, 4}},
		{name: "datetime greater_than", criteria: "(Created_Time:greater_than:2024-01-09T17:02:31Z)", want: []int{1, 2}},
		{name: "datetime between", criteria: "(Created_Time:between:2024-01-01T00:00:00+00:00,2024-12-31T23:59:59+00:00)", want: []int{0, 1, 3, 4}},
		{name: "boolean equals", criteria: "(Locked__s:equals:true)", want: []int{1}},
		{name: "boolean not_equal", criteria: "(Locked__s:not_equal:true)", want: []int{0, 2, 3, 4}},
		{name: "owner by id", criteria: "(Owner:equals:5725767000000411001)", want: []int{0, 3}},
		{name: "owner by name", criteria: "(Owner:equals:ravi kumar)", want: []int{1, 4}},
		{name: "owner in", criteria: "(Owner:in:5725767000000411003,Patricia Boyle)", want: []int{0, 2, 3}},
		{name: "owner not_equal", criteria: "(Owner:not_equal:Patricia Boyle)", want: []int{1, 2, 4}},
		{name: "nil lookup equals", criteria: "(Parent_Account:equals:5725767000001000000)", want: []int{1}},
		{name: "lookup name with escapes", criteria: `(Parent_Account:equals:Smith \(UK\)\, Ltd)`, want: []int{4}},
		{name: "nil lookup not_equal", criteria: "(Parent_Account:not_equal:5725767000001000000)", want: []int{0, 2, 3, 4}},
		{name: "id equals", criteria: "(id:equals:5725767000001000003)", want: []int{3}},
		{name: "id 19 digits compare exactly", criteria: "(id:greater_than:5725767000001000003)", want: []int{4}},
		{name: "id between", criteria: "(id:between:5725767000001000001,5725767000001000002)", want: []int{1, 2}},
		{name: "and group", criteria: "((Industry:equals:Retail) and (Employees:greater_than:100))", want: []int{2}},
		{name: "or group", criteria: "((Industry:equals:Banking) or (Employees:equals:42))", want: []int{1, 3}},
		{name: "keywords case-insensitive, no spaces", criteria: "((Industry:equals:Banking)OR(Employees:equals:42))", want: []int{1, 3}},
		{name: "top-level chain without outer parens", criteria: "(Industry:equals:Retail)AND(Employees:less_than:100)", want: []int{0}},
		{name: "and binds tighter than or", criteria: "((Industry:equals:Banking) or (Industry:equals:Retail) and (Employees:greater_than:100))", want: []int{1, 2}},
		{name: "nested groups", criteria: "(((Industry:equals:Retail) or (Industry:equals:Banking)) and ((Owner:equals:Ravi Kumar) or (Employees:equals:10)))", want: []int{0, 1}},
		{name: "spaces around groups", criteria: "  ( (Industry:equals:Retail)  and  (Employees:equals:10) ) ", want: []int{0}},
		{name: "space inside condition is part of the value", criteria: "(Industry:equals:Retail )", want: []int{}},
		{name: "value with colon", criteria: "(Email:equals:sales@smith)", want: []int{1}},
		{name: "value keeps leading space", criteria: "(Account_Name:equals: Ltd)", want: []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, zerr := parseCriteria(accounts, tc.criteria)
			if zerr != nil {
				t.Fatalf("parseCriteria(accounts, %q): %+v", tc.criteria, zerr)
			}
			if got := matchIndexes(e); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseCriteria(accounts, %q) matched %v, want %v", tc.criteria, got, tc.want)
			}
		})
	}
}

func TestParseCriteriaErrors(t *testing.T) {
	t.Parallel()
	inValues := func(n int) string {
		v := make([]string, n)
		for i := range v {
			v[i] = fmt.Sprint(i)
		}
		return strings.Join(v, ",")
	}
	conds := func(n int) string {
		c := make([]string, n)
		for i := range c {
			c[i] = "(Employees:equals:1)"
		}
		return "(" + strings.Join(c, "or") + ")"
	}
	tests := []struct {
		name     string
		criteria string
		code     string
		details  map[string]any
		message  string
	}{
		{name: "unknown field", criteria: "(Nope:equals:x)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid field api name", "api_name": "Nope"}},
		{name: "field names are case-sensitive", criteria: "(account_name:equals:x)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid field api name", "api_name": "account_name"}},
		{name: "unknown operator", criteria: "(Account_Name:contains:x)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid operator found", "api_name": "Account_Name", "operator": "contains"}},
		{name: "greater_than on text", criteria: "(Account_Name:greater_than:x)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid operator found", "api_name": "Account_Name", "operator": "greater_than"}},
		{name: "in on textarea", criteria: "(Description:in:a,b)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid operator found", "api_name": "Description", "operator": "in"}},
		{name: "starts_with on picklist", criteria: "(Industry:starts_with:Ret)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid operator found", "api_name": "Industry", "operator": "starts_with"}},
		{name: "between on owner", criteria: "(Owner:between:a,b)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid operator found", "api_name": "Owner", "operator": "between"}},
		{name: "in on boolean", criteria: "(Locked__s:in:true,false)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid operator found", "api_name": "Locked__s", "operator": "in"}},
		{name: "starts_with on integer", criteria: "(Employees:starts_with:1)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "invalid operator found", "api_name": "Employees", "operator": "starts_with"}},
		{name: "text in integer", criteria: "(Employees:equals:ten)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "the given value seems to be invalid for the field", "api_name": "Employees", "operator": "equals", "expected_data_type": "integer"}},
		{name: "decimal in integer", criteria: "(Employees:greater_than:1.5)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "the given value seems to be invalid for the field", "api_name": "Employees", "operator": "greater_than", "expected_data_type": "integer"}},
		{name: "bad currency", criteria: "(Annual_Revenue:less_than:lots)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "the given value seems to be invalid for the field", "api_name": "Annual_Revenue", "operator": "less_than", "expected_data_type": "currency"}},
		{name: "date only for datetime", criteria: "(Created_Time:greater_than:2024-01-01)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "the given value seems to be invalid for the field", "api_name": "Created_Time", "operator": "greater_than", "expected_data_type": "datetime"}},
		{name: "plus decoded to space", criteria: "(Created_Time:greater_than:2024-01-01T00:00:00 05:30)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "the given value seems to be invalid for the field", "api_name": "Created_Time", "operator": "greater_than", "expected_data_type": "datetime"}},
		{name: "bad boolean", criteria: "(Locked__s:equals:yes)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "the given value seems to be invalid for the field", "api_name": "Locked__s", "operator": "equals", "expected_data_type": "boolean"}},
		{name: "bad id", criteria: "(id:equals:12a)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "the given value seems to be invalid for the field", "api_name": "id", "operator": "equals", "expected_data_type": "bigint_id"}},
		{name: "between one value", criteria: "(Employees:between:5)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "between needs exactly two values: from,to", "api_name": "Employees", "operator": "between"}},
		{name: "between three values", criteria: "(Employees:between:1,2,3)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "between needs exactly two values: from,to", "api_name": "Employees", "operator": "between"}},
		{name: "greater_than list", criteria: "(Employees:greater_than:1,2)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "only one value is allowed for this operator", "api_name": "Employees", "operator": "greater_than"}},
		{name: "empty value", criteria: "(Account_Name:equals:)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "value missing", "api_name": "Account_Name", "operator": "equals"}},
		{name: "empty in element", criteria: "(Industry:in:Retail,)", code: "INVALID_QUERY",
			details: map[string]any{"reason": "value missing", "api_name": "Industry", "operator": "in"}},
		{name: "101 in values", criteria: "(Employees:in:" + inValues(101) + ")", code: "INVALID_QUERY",
			message: `Only 100 values are allowed in "IN" criteria`,
			details: map[string]any{"api_name": "Employees", "operator": "in", "limit": float64(100)}},
		{name: "16 conditions", criteria: conds(16), code: "CRITERIA_LIMIT_EXCEEDED",
			message: "no of criterium that can be given exceed the limit 15", details: map[string]any{"limit": float64(15)}},
		{name: "too long", criteria: "(Account_Name:equals:" + strings.Repeat("x", 3000) + ")", code: "LIMIT_EXCEEDED",
			details: map[string]any{"param_name": "criteria", "maximum_length": float64(3000)}},
		{name: "empty", criteria: "", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(0)}},
		{name: "no parens", criteria: "Account_Name:equals:x", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(0)}},
		{name: "unclosed", criteria: "(Account_Name:equals:x", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(22)}},
		{name: "escaped close leaves it open", criteria: `(Account_Name:equals:K\)`, code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(24)}},
		{name: "unescaped open paren in value", criteria: "(Account_Name:equals:(Bracketed) Co)", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(21)}},
		{name: "unescaped close paren in value", criteria: "(Account_Name:equals:Smith (UK\\))", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(27)}},
		{name: "missing operator", criteria: "(Account_Name)", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(1)}},
		{name: "missing value separator", criteria: "(Account_Name:equals)", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(14)}},
		{name: "juxtaposed groups", criteria: "(Employees:equals:1)(Employees:equals:2)", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(20)}},
		{name: "dangling and", criteria: "((Employees:equals:1) and)", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(22)}},
		{name: "unknown joiner", criteria: "((Employees:equals:1) xor (Employees:equals:2))", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(22)}},
		{name: "glued keyword", criteria: "((Employees:equals:1) andx(Employees:equals:2))", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(22)}},
		{name: "trailing garbage", criteria: "(Employees:equals:1) x", code: "INVALID_QUERY", details: map[string]any{"reason": "invalid criteria syntax", "position": float64(21)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, zerr := parseCriteria(accounts, tc.criteria)
			if zerr == nil {
				t.Fatalf("parseCriteria(accounts, %q) = %v, want error %s", tc.criteria, e, tc.code)
			}
			got := roundTripJSON(t, zerr)
			if got["code"] != tc.code || got["status"] != "error" {
				t.Errorf("code = %v status = %v, want %s error", got["code"], got["status"], tc.code)
			}
			if !reflect.DeepEqual(got["details"], tc.details) {
				t.Errorf("details = %v, want %v", got["details"], tc.details)
			}
			want := tc.message
			if want == "" && tc.code == "INVALID_QUERY" {
				want = "Invalid query formed"
			}
			if want != "" && got["message"] != want {
				t.Errorf("message = %q, want %q", got["message"], want)
			}
		})
	}
}

func TestParseCriteriaLimitsAtTheEdge(t *testing.T) {
	t.Parallel()
	// 15 conditions, 100 in-values and 3000 characters are all allowed.
	c := make([]string, 15)
	for i := range c {
		c[i] = "(Employees:equals:1)"
	}
	if _, zerr := parseCriteria(accounts, "("+strings.Join(c, "and")+")"); zerr != nil {
		t.Errorf("15 conditions: %+v", zerr)
	}
	v := make([]string, 100)
	for i := range v {
		v[i] = fmt.Sprint(i)
	}
	if _, zerr := parseCriteria(accounts, "(Employees:in:"+strings.Join(v, ",")+")"); zerr != nil {
		t.Errorf("100 in values: %+v", zerr)
	}
	s := "(Account_Name:equals:" + strings.Repeat("x", 3000-22) + ")"
	if len(s) != 3000 {
		t.Fatalf("setup: len %d", len(s))
	}
	if _, zerr := parseCriteria(accounts, s); zerr != nil {
		t.Errorf("3000 characters: %+v", zerr)
	}
	// The limit counts characters: 2978 two-byte letters still fit.
	s = "(Account_Name:equals:" + strings.Repeat("ü", 3000-22) + ")"
	if _, zerr := parseCriteria(accounts, s); zerr != nil {
		t.Errorf("3000 non-ASCII characters (%d bytes): %+v", len(s), zerr)
	}
}

func TestCriteriaEscapeRoundTripOnSeededNames(t *testing.T) {
	t.Parallel()
	st := NewStore(len(nameStems), 1, nil)
	st.Each(func(r Record) bool {
		name := r["Account_Name"].(string)
		e, zerr := parseCriteria(accounts, "(Account_Name:equals:"+escapeCriteriaValue(name)+")")
		if zerr != nil {
			t.Errorf("%q: %+v", name, zerr)
			return true
		}
		if !e.match(r) {
			t.Errorf("%q does not match its own record", name)
		}
		return true
	})
}

// singleValue returns the one value of e if e is one condition with one value.
func singleValue(e criteriaExpr) (string, bool) {
	c, ok := e.(*criteriaCond)
	if !ok || len(c.values) != 1 {
		return "", false
	}
	return c.values[0], true
}

func FuzzParseCriteria(f *testing.F) {
	seeds := []string{
		"(Account_Name:equals:Acme)",
		`(Account_Name:equals:Smith \(UK\)\, Ltd)`,
		`(Account_Name:equals:K\\)`,
		"((Industry:equals:Retail) and (Employees:between:1,100))",
		"((Owner:in:a,b) OR (Created_Time:greater_than:2024-01-01T00:00:00+00:00))",
		"(Email:starts_with:x@y)and(Phone:equals:+1)",
		"(((a",
		"(id:in:1,2,3)",
		"Müller & Söhne",
		"O'Brien",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Any input: no panic, and either an expression or a Zoho envelope.
		e, zerr := parseCriteria(accounts, s)
		if (e == nil) == (zerr == nil) {
			t.Fatalf("parseCriteria(accounts, %q) = %v, %v: want exactly one of expression and error", s, e, zerr)
		}
		if zerr != nil && (zerr.Code == "" || zerr.Status != "error" || zerr.Message == "") {
			t.Fatalf("parseCriteria(accounts, %q): incomplete envelope %+v", s, zerr)
		}
		if e != nil {
			e.match(criteriaRecords[1])
		}
		// Round trip: the input as a value, escaped per §5, parses back to
		// exactly one condition with exactly that value.
		if s == "" || len(escapeCriteriaValue(s)) > criteriaMaxLen-22 {
			return
		}
		q := "(Account_Name:equals:" + escapeCriteriaValue(s) + ")"
		e, zerr = parseCriteria(accounts, q)
		if zerr != nil {
			t.Fatalf("parseCriteria(accounts, %q): %+v", q, zerr)
		}
		got, ok := singleValue(e)
		if !ok || got != s {
			t.Fatalf("parseCriteria(accounts, %q) = %#v, want one condition with value %q", q, e, s)
		}
	})
}
