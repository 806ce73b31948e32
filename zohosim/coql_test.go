package zohosim

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// eachOf iterates recs (already in ascending id order).
func eachOf(recs []Record) func(yield func(Record) bool) {
	return func(yield func(Record) bool) {
		for _, r := range recs {
			if !yield(r) {
				return
			}
		}
	}
}

// ids returns the id column of rows.
func idsOf(rows []Record) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r["id"].(string))
	}
	return out
}

// recID is the id of criteriaRecords[i].
func recID(i int) string { return criteriaRecords[i]["id"].(string) }

func TestParseCOQLRuns(t *testing.T) {
	t.Parallel()
	ids := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, recID(i))
		}
		return out
	}
	tests := []struct {
		name  string
		query string
		want  []string
		more  bool
	}{
		{name: "no where, default order id asc", query: "select Account_Name from Accounts", want: ids(0, 1, 2, 3, 4)},
		{name: "keywords any case", query: "SELECT Account_Name FROM Accounts WHERE Industry = 'Retail' ORDER BY id DESC LIMIT 5", want: ids(2, 0)},
		{name: "equals is case-insensitive exact", query: "select id from Accounts where Account_Name = 'acme corp 0'", want: ids(0)},
		{name: "equals is not contains", query: "select id from Accounts where Account_Name = 'acme'", want: ids()},
		{name: "not equal skips nulls", query: "select id from Accounts where Email != 'ob@obrien.example.com'", want: ids(0, 1, 3)},
		{name: "quote escaped by doubling", query: "select id from Accounts where Account_Name = 'O''Brien Partners, Alpha'", want: ids(4)},
		{name: "quote escaped by backslash", query: `select id from Accounts where Account_Name = 'O\'Brien Partners, Alpha'`, want: ids(4)},
		{name: "backslash escaped", query: `select id from Accounts where Account_Name = 'Back\\Slash Labs'`, want: ids(2)},
		{name: "parens and comma in literal", query: "select id from Accounts where Account_Name = 'Smith (UK), Ltd'", want: ids(1)},
		{name: "non-ascii literal", query: "select id from Accounts where Account_Name like 'müller%'", want: ids(3)},
		{name: "like prefix", query: "select id from Accounts where Account_Name like 'acme%'", want: ids(0)},
		{name: "like suffix", query: "select id from Accounts where Account_Name like '%gmbh'", want: ids(3)},
		{name: "like contains", query: "select id from Accounts where Account_Name like '%(uk)%'", want: ids(1)},
		{name: "like no wildcard is equality", query: "select id from Accounts where Account_Name like 'acme'", want: ids()},
		{name: "not like", query: "select id from Accounts where Account_Name not like '%a%'", want: ids(1, 3)},
		{name: "in", query: "select id from Accounts where Industry in ('Banking', 'consulting')", want: ids(1, 4)},
		{name: "not in", query: "select id from Accounts where Industry not in ('Retail')", want: ids(1, 3, 4)},
		{name: "is null", query: "select id from Accounts where Description is null", want: ids(0, 3, 4)},
		{name: "is not null", query: "select id from Accounts where Description is not null", want: ids(1, 2)},
		{name: "lookup is null", query: "select id from Accounts where Parent_Account is null", want: ids(0, 2, 3)},
		{name: "integer compare", query: "select id from Accounts where Employees >= 42", want: ids(1, 2, 3)},
		{name: "integer compare <>", query: "select id from Accounts where Employees <> 42 and Employees < 100", want: ids(0, 4)},
		{name: "between inclusive", query: "select id from Accounts where Employees between 11 and 250", want: ids(1, 3, 4)},
		{name: "currency", query: "select id from Accounts where Annual_Revenue > 999999.99", want: ids(0, 4)},
		{name: "negative number", query: "select id from Accounts where Annual_Revenue > -1 and Annual_Revenue < 1", want: ids(1)},
		{name: "datetime", query: "select id from Accounts where Created_Time >= '2024-01-09T17:02:31+00:00'", want: ids(0, 1, 2, 4)},
		{name: "boolean", query: "select id from Accounts where Locked__s = true", want: ids(1)},
		{name: "boolean false", query: "select id from Accounts where Locked__s = false and Employees > 40", want: ids(2, 3)},
		{name: "id quoted", query: "select id from Accounts where id = '5725767000001000003'", want: ids(3)},
		{name: "id 19 digits exact", query: "select id from Accounts where id > 5725767000001000003", want: ids(4)},
		{name: "owner by id", query: "select id from Accounts where Owner = '5725767000000411001'", want: ids(0, 3)},
		{name: "owner.id", query: "select id from Accounts where Owner.id in ('5725767000000411002')", want: ids(1, 4)},
		{name: "owner.name", query: "select id from Accounts where Owner.name = 'ravi kumar'", want: ids(1, 4)},
		{name: "parent account name", query: "select id from Accounts where Parent_Account.Account_Name like 'Smith%'", want: ids(4)},
		{name: "parent account id", query: "select id from Accounts where Parent_Account.id = 5725767000001000000", want: ids(1)},
		{name: "three conditions nested pairwise", query: "select id from Accounts where ((Industry = 'Banking' or Industry = 'Retail') and Employees > 100)", want: ids(1, 2)},
		{name: "nested the other way", query: "select id from Accounts where (Industry = 'Banking' or (Industry = 'Retail' and Employees > 100))", want: ids(1, 2)},
		{name: "keyset bound inside nested and", query: "select id from Accounts where ((Employees > 1 and Locked__s = false) and id >= 5725767000001000003)", want: ids(3, 4)},
		{name: "id bound in or branches", query: "select id from Accounts where (id = 5725767000001000004 or id in (5725767000001000001, 5725767000001000002))", want: ids(1, 2, 4)},
		{name: "parentheses", query: "select id from Accounts where (Industry = 'Banking' or Industry = 'Retail') and Employees > 100", want: ids(1, 2)},
		{name: "nested pairwise", query: "select id from Accounts where ((Industry = 'Retail' and Employees < 100) or (Owner.name = 'Jana Nováková'))", want: ids(0, 2)},
		{name: "order by text desc", query: "select Account_Name from Accounts order by Account_Name desc", want: ids(1, 4, 3, 2, 0)},
		{name: "order by two keys", query: "select id from Accounts order by Industry asc, Employees desc", want: ids(1, 4, 3, 2, 0)},
		{name: "order by nulls first", query: "select id from Accounts order by Description", want: ids(0, 3, 4, 1, 2)},
		{name: "order by datetime", query: "select id from Accounts order by Created_Time", want: ids(3, 0, 4, 1, 2)},
		{name: "limit n", query: "select id from Accounts limit 2", want: ids(0, 1), more: true},
		{name: "limit o, n", query: "select id from Accounts limit 1, 2", want: ids(1, 2), more: true},
		{name: "limit n offset m", query: "select id from Accounts limit 2 offset 3", want: ids(3, 4)},
		{name: "offset past the end", query: "select id from Accounts limit 2 offset 5", want: ids()},
		{name: "sorted page with more", query: "select id from Accounts order by Employees desc limit 1, 2", want: ids(1, 3), more: true},
		{name: "sorted last page", query: "select id from Accounts order by Employees desc limit 3, 2", want: ids(4, 0)},
		{name: "keyset page", query: "select id from Accounts where id > '5725767000001000001' order by id asc limit 2", want: ids(2, 3), more: true},
		{name: "trailing semicolon", query: "select id from Accounts limit 1;", want: ids(0), more: true},
		{name: "module name case-insensitive", query: "select id from accounts where Employees = 10", want: ids(0)},
		{name: "newlines and tabs", query: "select\n\tid\nfrom Accounts\nwhere Employees = 10", want: ids(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, zerr := parseCOQL(tc.query)
			if zerr != nil {
				t.Fatalf("parseCOQL(%q): %+v", tc.query, zerr)
			}
			rows, more, zerr := q.run(eachOf(criteriaRecords))
			if zerr != nil {
				t.Fatalf("run: %+v", zerr)
			}
			if got := idsOf(rows); !reflect.DeepEqual(got, tc.want) || more != tc.more {
				t.Errorf("%q = %v more=%v, want %v more=%v", tc.query, got, more, tc.want, tc.more)
			}
		})
	}
}

func TestCOQLProjection(t *testing.T) {
	t.Parallel()
	q, zerr := parseCOQL("select Account_Name, Owner, Parent_Account, Owner.email, Parent_Account.Account_Name, Employees, Description from Accounts where id in (5725767000001000001, 5725767000001000002)")
	if zerr != nil {
		t.Fatal(zerr)
	}
	rows, more, _ := q.run(eachOf(criteriaRecords))
	want := []Record{
		{"id": "5725767000001000001", "Account_Name": "Smith (UK), Ltd",
			"Owner": map[string]any{"id": "5725767000000411002", "name": "Ravi Kumar"}, "Owner.email": nil,
			"Parent_Account": map[string]any{"id": "5725767000001000000"}, "Parent_Account.Account_Name": "Acme Corp 0",
			"Employees": int64(250), "Description": "Key account"},
		{"id": "5725767000001000002", "Account_Name": `Back\Slash Labs`,
			"Owner": map[string]any{"id": "5725767000000411003", "name": "Jana Nováková"}, "Owner.email": nil,
			"Parent_Account": nil, "Parent_Account.Account_Name": nil, "Employees": int64(5000), "Description": "retail partner"},
	}
	if more || !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %#v more=%v\nwant %#v", rows, more, want)
	}
	// id is always present, and only the selected columns besides it.
	q, _ = parseCOQL("select Phone from Accounts limit 1")
	rows, _, _ = q.run(eachOf(criteriaRecords))
	if !reflect.DeepEqual(rows, []Record{{"id": recID(0), "Phone": "+1 555 0000"}}) {
		t.Errorf("rows = %v", rows)
	}
}

func TestCOQLLimitAccessor(t *testing.T) {
	t.Parallel()
	for query, want := range map[string]int{
		"select id from Accounts":                  200,
		"select id from Accounts limit 1000":       1000,
		"select id from Accounts limit 10, 2000":   2000,
		"select id from Accounts limit 5 offset 7": 5,
	} {
		q, zerr := parseCOQL(query)
		if zerr != nil {
			t.Fatalf("%q: %+v", query, zerr)
		}
		if q.limit() != want {
			t.Errorf("%q: limit() = %d, want %d", query, q.limit(), want)
		}
	}
}

func TestParseCOQLErrors(t *testing.T) {
	t.Parallel()
	values := func(n int) string {
		v := make([]string, n)
		for i := range v {
			v[i] = fmt.Sprint(i)
		}
		return strings.Join(v, ",")
	}
	syntax := func(col int, near string) map[string]any {
		return map[string]any{"line": float64(1), "column": float64(col), "near": near}
	}
	tests := []struct {
		name    string
		query   string
		code    string
		message string
		details map[string]any
	}{
		{name: "empty", query: "", code: "SYNTAX_ERROR", details: syntax(1, "<end of query>")},
		{name: "not a select", query: "delete from Accounts", code: "SYNTAX_ERROR", details: syntax(1, "delete")},
		{name: "star", query: "select * from Accounts", code: "SYNTAX_ERROR", details: syntax(8, "*")},
		{name: "missing from", query: "select id Accounts", code: "SYNTAX_ERROR", details: syntax(11, "Accounts")},
		{name: "missing module", query: "select id from", code: "SYNTAX_ERROR", details: syntax(15, "<end of query>")},
		{name: "trailing comma", query: "select id, from Accounts", code: "SYNTAX_ERROR", details: syntax(12, "from")},
		{name: "dangling where", query: "select id from Accounts where", code: "SYNTAX_ERROR", details: syntax(30, "<end of query>")},
		{name: "missing value", query: "select id from Accounts where Employees =", code: "SYNTAX_ERROR", details: syntax(42, "<end of query>")},
		{name: "unterminated string", query: "select id from Accounts where Account_Name = 'abc", code: "SYNTAX_ERROR",
			details: map[string]any{"line": float64(1), "column": float64(46), "near": "'abc", "reason": "unterminated string literal"}},
		{name: "double quotes", query: `select id from Accounts where Account_Name = "abc"`, code: "SYNTAX_ERROR", details: syntax(46, `"`)},
		{name: "unbalanced paren", query: "select id from Accounts where (Employees = 1", code: "SYNTAX_ERROR", details: syntax(45, "<end of query>")},
		{name: "null comparison", query: "select id from Accounts where Description = null", code: "SYNTAX_ERROR", details: syntax(45, "null")},
		{name: "is without null", query: "select id from Accounts where Description is empty", code: "SYNTAX_ERROR", details: syntax(46, "empty")},
		{name: "like needs string", query: "select id from Accounts where Account_Name like 5", code: "SYNTAX_ERROR", details: syntax(49, "5")},
		{name: "garbage after query", query: "select id from Accounts limit 5 foo", code: "SYNTAX_ERROR", details: syntax(33, "foo")},
		{name: "both offset forms", query: "select id from Accounts limit 1, 5 offset 3", code: "SYNTAX_ERROR", details: syntax(36, "offset")},
		{name: "unknown module", query: "select id from Widgets", code: "INVALID_MODULE",
			message: "the module name given seems to be invalid", details: map[string]any{"module": "Widgets"}},
		{name: "unknown column", query: "select Last_Name from Accounts", code: "INVALID_QUERY",
			message: "unsupported column", details: map[string]any{"column_name": "Last_Name"}},
		{name: "unknown where column", query: "select id from Accounts where Nope = 'x'", code: "INVALID_QUERY",
			message: "unsupported column", details: map[string]any{"column_name": "Nope"}},
		{name: "unknown lookup sub-field", query: "select Owner.last_name from Accounts", code: "INVALID_QUERY",
			message: "unsupported column", details: map[string]any{"column_name": "Owner.last_name"}},
		{name: "dot on non-lookup", query: "select Account_Name.id from Accounts", code: "INVALID_QUERY",
			message: "unsupported column", details: map[string]any{"column_name": "Account_Name.id"}},
		{name: "unknown order column", query: "select id from Accounts order by Rank", code: "INVALID_QUERY",
			message: "unsupported column", details: map[string]any{"column_name": "Rank"}},
		{name: "duplicate column", query: "select Phone, Phone from Accounts", code: "DUPLICATE_DATA",
			message: "duplicate column found", details: map[string]any{"column_name": "Phone"}},
		{name: "greater than on text", query: "select id from Accounts where Account_Name > 'x'", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "invalid operator found", "column_name": "Account_Name", "operator": ">"}},
		{name: "like on number", query: "select id from Accounts where Employees like '1%'", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "invalid operator found", "column_name": "Employees", "operator": "like"}},
		{name: "between on lookup", query: "select id from Accounts where Owner between 1 and 2", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "invalid operator found", "column_name": "Owner", "operator": "between"}},
		{name: "in on boolean", query: "select id from Accounts where Locked__s in (true)", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "invalid operator found", "column_name": "Locked__s", "operator": "in"}},
		{name: "text value for integer", query: "select id from Accounts where Employees = 'many'", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "the given value seems to be invalid for the column",
				"column_name": "Employees", "expected_data_type": "integer", "value": "many"}},
		{name: "unquoted text", query: "select id from Accounts where Account_Name = 12", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "the given value seems to be invalid for the column",
				"column_name": "Account_Name", "expected_data_type": "text", "value": "12"}},
		{name: "date only", query: "select id from Accounts where Created_Time > '2024-01-01'", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "the given value seems to be invalid for the column",
				"column_name": "Created_Time", "expected_data_type": "datetime", "value": "2024-01-01"}},
		{name: "bad owner id", query: "select id from Accounts where Owner = 'Patricia'", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "the given value seems to be invalid for the column",
				"column_name": "Owner", "expected_data_type": "bigint_id", "value": "Patricia"}},
		{name: "aggregate", query: "select count(id) from Accounts", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "aggregate functions are not supported by the emulator", "near": "count"}},
		{name: "limit zero", query: "select id from Accounts limit 0", code: "INVALID_DATA",
			message: "limit should be greater than 0", details: map[string]any{"limit": float64(0)}},
		{name: "limit negative", query: "select id from Accounts limit -5", code: "INVALID_DATA",
			message: "limit should be greater than 0", details: map[string]any{"limit": float64(-5)}},
		{name: "limit zero in pair", query: "select id from Accounts limit 10, 0", code: "INVALID_DATA",
			message: "limit should be greater than 0", details: map[string]any{"limit": float64(0)}},
		{name: "limit not numeric", query: "select id from Accounts limit s", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"limit": "s"}},
		{name: "offset not numeric", query: "select id from Accounts limit 5 offset 'x'", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"offset": "x"}},
		{name: "negative offset", query: "select id from Accounts limit 5 offset -1", code: "INVALID_QUERY",
			message: "offset should not be negative", details: map[string]any{"offset": float64(-1)}},
		{name: "limit over 2000", query: "select id from Accounts limit 2001", code: "LIMIT_EXCEEDED",
			message: "the limit should not exceed 2000", details: map[string]any{"limit": float64(2000), "clause": "limit"}},
		{name: "huge limit", query: "select id from Accounts limit 99999999999999999999999", code: "LIMIT_EXCEEDED",
			message: "the limit should not exceed 2000", details: map[string]any{"limit": float64(2000), "clause": "limit"}},
		{name: "offset+limit over 100000", query: "select id from Accounts limit 98001, 2000", code: "LIMIT_EXCEEDED",
			message: "offset and limit together should not exceed 100000; paginate with id > last id", details: map[string]any{"limit": float64(100000), "clause": "offset"}},
		{name: "offset form over 100000", query: "select id from Accounts limit 200 offset 99801", code: "LIMIT_EXCEEDED",
			message: "offset and limit together should not exceed 100000; paginate with id > last id", details: map[string]any{"limit": float64(100000), "clause": "offset"}},
		{name: "101 in values", query: "select id from Accounts where Employees in (" + values(101) + ")", code: "LIMIT_EXCEEDED",
			message: "maximum of 100 values allowed in the in clause", details: map[string]any{"limit": float64(100), "column_name": "Employees", "operator": "in"}},
		{name: "26 conditions", query: "select id from Accounts where " + nestedConds(26), code: "LIMIT_EXCEEDED",
			message: "maximum number of conditions in where clause exceeded", details: map[string]any{"limit": float64(25), "clause": "where"}},
		{name: "three conditions flat", query: "select id from Accounts where Employees = 1 and Employees = 2 or Employees = 3", code: "SYNTAX_ERROR",
			details: map[string]any{"line": float64(1), "column": float64(63), "near": "or",
				"reason": "more than two conditions must be parenthesised pairwise: ((A and B) and C)"}},
		{name: "three conditions flat in parens", query: "select id from Accounts where (Employees = 1 and Employees = 2 and Employees = 3)", code: "SYNTAX_ERROR",
			details: map[string]any{"line": float64(1), "column": float64(64), "near": "and",
				"reason": "more than two conditions must be parenthesised pairwise: ((A and B) and C)"}},
		{name: "group by", query: "select Industry from Accounts group by Industry", code: "INVALID_QUERY",
			message: "Invalid query formed", details: map[string]any{"reason": "group by is not supported by the emulator", "clause": "group by"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, zerr := parseCOQL(tc.query)
			if zerr == nil {
				t.Fatalf("parseCOQL(%q) = %+v, want %s", tc.query, q, tc.code)
			}
			got := roundTripJSON(t, zerr)
			if got["code"] != tc.code || got["status"] != "error" {
				t.Errorf("code = %v status = %v, want %s", got["code"], got["status"], tc.code)
			}
			msg := tc.message
			if msg == "" {
				msg = coqlSyntaxMsg
			}
			if got["message"] != msg {
				t.Errorf("message = %q, want %q", got["message"], msg)
			}
			if !reflect.DeepEqual(got["details"], tc.details) {
				t.Errorf("details = %v, want %v", got["details"], tc.details)
			}
		})
	}
}

// nestedConds returns n conditions joined pairwise: ((c or c) or c)….
func nestedConds(n int) string {
	e := "Employees = 1"
	for i := 1; i < n; i++ {
		e = "(" + e + " or Employees = 1)"
	}
	return e
}

func TestCOQLEdgesAllowed(t *testing.T) {
	t.Parallel()
	for _, query := range []string{
		"select id from Accounts limit 2000",
		"select id from Accounts limit 98000, 2000",
		"select id from Accounts where Employees in (" + strings.TrimSuffix(strings.Repeat("1,", 100), ",") + ")",
		"select id from Accounts where " + nestedConds(25),
	} {
		if _, zerr := parseCOQL(query); zerr != nil {
			t.Errorf("%.60q: %+v", query, zerr)
		}
	}
}

// TestCOQLOverStore pages a 20,000-record store by keyset and by offset and
// checks both see every record once, in order.
func TestCOQLOverStore(t *testing.T) {
	t.Parallel()
	st := NewStore(20_000, 7, nil)
	all := st.IDs()
	var got []string
	last := "0"
	for {
		q, zerr := parseCOQL("select Account_Name from Accounts where id > '" + last + "' order by id limit 2000")
		if zerr != nil {
			t.Fatal(zerr)
		}
		rows, more, _ := q.run(q.source(st))
		got = append(got, idsOf(rows)...)
		if !more {
			break
		}
		last = rows[len(rows)-1]["id"].(string)
	}
	if !reflect.DeepEqual(got, all) {
		t.Fatalf("keyset pages returned %d ids, want %d in order", len(got), len(all))
	}
	// Offset paging with Store.Each as the source agrees.
	q, _ := parseCOQL("select id from Accounts limit 19990, 20")
	rows, more, _ := q.run(st.Each)
	if more || !reflect.DeepEqual(idsOf(rows), all[19990:]) {
		t.Errorf("last offset page = %v more=%v", idsOf(rows), more)
	}
	// A bound beyond every id yields nothing.
	q, zerr := parseCOQL("select id from Accounts where id >= 9223372036854775807")
	if zerr != nil {
		t.Fatal(zerr)
	}
	if rows, more, _ := q.run(q.source(st)); len(rows) != 0 || more {
		t.Errorf("past the end: %v %v", rows, more)
	}
}

func BenchmarkCOQLKeysetPage200k(b *testing.B) {
	st := NewStore(200_000, 1, nil)
	ids := st.IDs()
	q, zerr := parseCOQL("select Account_Name, Phone from Accounts where id > " + ids[150_000] + " order by id limit 2000")
	if zerr != nil {
		b.Fatal(zerr)
	}
	b.ResetTimer()
	for b.Loop() {
		rows, more, _ := q.run(q.source(st))
		if len(rows) != 2000 || !more {
			b.Fatalf("rows %d more %v", len(rows), more)
		}
	}
}

func BenchmarkCOQLFullScanSorted200k(b *testing.B) {
	st := NewStore(200_000, 1, nil)
	q, zerr := parseCOQL("select Account_Name from Accounts where Industry = 'Retail' order by Annual_Revenue desc limit 200")
	if zerr != nil {
		b.Fatal(zerr)
	}
	b.ResetTimer()
	for b.Loop() {
		q.run(q.source(st))
	}
}

func FuzzParseCOQL(f *testing.F) {
	seeds := []string{
		"select id, Account_Name from Accounts where (Industry = 'Retail' and Annual_Revenue >= 100000) order by Modified_Time desc limit 0, 200",
		"select id from Accounts where Account_Name = 'O''Brien' or Account_Name like '%\\'s%'",
		"select Owner.id, Parent_Account.Account_Name from Accounts where Owner.name in ('a', 'b') limit 5 offset 10",
		"select id from Accounts where Created_Time between '2024-01-01T00:00:00+00:00' and '2024-12-31T00:00:00Z'",
		"select id from Accounts where Description is not null and Locked__s = false;",
		"select id from Accounts where id > -1 limit 2000",
		"SELECT Phone FROM accounts WHERE Employees NOT IN (1,2) ORDER BY Employees DESC, id",
		"select 'x",
		"select id from Accounts where (((",
		"select Full_Name, Account_Name.Industry from Contacts where Account_Name.id = 5725767000001000003 order by Account_Name.Industry",
		"select Subject from tasks where (What_Id.id in (1, 2) and Due_Date between '2024-01-01' and '2024-02-01')",
		"select Name, Tech_Stack, Account.Account_Name from Projects where Progress >= 50.5 and Start_Date is not null",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, zerr := parseCOQL(s)
		if (q == nil) == (zerr == nil) {
			t.Fatalf("parseCOQL(%q) = %v, %v: want exactly one of query and error", s, q, zerr)
		}
		if zerr != nil {
			if zerr.Code == "" || zerr.Status != "error" || zerr.Message == "" {
				t.Fatalf("parseCOQL(%q): incomplete envelope %+v", s, zerr)
			}
			return
		}
		if q.limit() < 1 || q.limit() > coqlMaxLimit || q.offset < 0 || q.offset+q.limit() > coqlMaxRows {
			t.Fatalf("parseCOQL(%q) accepted limit %d offset %d", s, q.limit(), q.offset)
		}
		rows, _, _ := q.run(eachOf(criteriaRecords))
		if len(rows) > q.limit() {
			t.Fatalf("%d rows for limit %d", len(rows), q.limit())
		}
		for _, r := range rows {
			if _, ok := r["id"]; !ok {
				t.Fatalf("row without id: %v", r)
			}
		}
		// Round trip: a string literal written with doubled quotes reads
		// back as itself (backslashes escape, so they are left out).
		if strings.Contains(s, `\`) {
			return
		}
		lit := "select id from Accounts where Account_Name = '" + strings.ReplaceAll(s, "'", "''") + "'"
		q, zerr = parseCOQL(lit)
		if zerr != nil {
			t.Fatalf("parseCOQL(%q): %+v", lit, zerr)
		}
		c, ok := q.where.(*coqlCond)
		if !ok || len(c.vals) != 1 || c.vals[0].s != strings.ToLower(s) {
			t.Fatalf("parseCOQL(%q) where = %#v, want one condition with %q", lit, q.where, s)
		}
	})
}
