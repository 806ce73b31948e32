package zoho

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func cond(field string, op tiers.Operator, vals ...any) tiers.Condition {
	return tiers.Condition{Field: field, Op: op, Values: vals}
}

func TestCriteria(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		conds []tiers.Condition
		any   bool
		want  string
		query string // url.Values encoding of criteria, when set
	}{
		{"one", []tiers.Condition{cond("Account_Name", tiers.OpEquals, "Acme")}, false, "(Account_Name:equals:Acme)", ""},
		{"comma escaped", []tiers.Condition{cond("Last_Name", tiers.OpEquals, "Burns,B")}, false, `(Last_Name:equals:Burns\,B)`, "criteria=%28Last_Name%3Aequals%3ABurns%5C%2CB%29"},
		{"trailing backslash", []tiers.Condition{cond("Last_Name", tiers.OpEquals, `K\`)}, false, `(Last_Name:equals:K\\)`, "criteria=%28Last_Name%3Aequals%3AK%5C%5C%29"},
		{"parens, comma, backslash, quote", []tiers.Condition{cond("Account_Name", tiers.OpStartsWith, `a(b)c,d\e'f`)}, false, `(Account_Name:starts_with:a\(b\)c\,d\\e'f)`, ""},
		{"injection attempt stays a value", []tiers.Condition{cond("Account_Name", tiers.OpEquals, "x)or(Account_Name:starts_with:")}, false, `(Account_Name:equals:x\)or\(Account_Name:starts_with:)`, ""},
		{"two with and", []tiers.Condition{cond("A", tiers.OpEquals, "1"), cond("B", tiers.OpGreaterThan, json.Number("5"))}, false, "((A:equals:1)and(B:greater_than:5))", ""},
		{"three with or, nested pairwise", []tiers.Condition{cond("A", tiers.OpEquals, "1"), cond("B", tiers.OpEquals, "2"), cond("C", tiers.OpEquals, true)}, true, "(((A:equals:1)or(B:equals:2))or(C:equals:true))", ""},
		{"in", []tiers.Condition{cond("Industry", tiers.OpIn, "Retail", "Tech,Co")}, false, `(Industry:in:Retail,Tech\,Co)`, ""},
		{"between numbers", []tiers.Condition{cond("Employees", tiers.OpBetween, 10, 20.5)}, false, "(Employees:between:10,20.5)", ""},
		{"exponent normalised", []tiers.Condition{cond("Annual_Revenue", tiers.OpLessThan, json.Number("1e3"))}, false, "(Annual_Revenue:less_than:1000)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Criteria(tt.conds, tt.any)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Criteria = %s, want %s", got, tt.want)
			}
			if tt.query != "" {
				if q := (url.Values{"criteria": {got}}).Encode(); q != tt.query {
					t.Fatalf("encoded %s, want %s", q, tt.query)
				}
			}
		})
	}
}

func TestCriteriaRejects(t *testing.T) {
	t.Parallel()
	many := make([]tiers.Condition, 11)
	for i := range many {
		many[i] = cond("A", tiers.OpEquals, "x")
	}
	hundredOne := make([]any, 101)
	for i := range hundredOne {
		hundredOne[i] = "v"
	}
	tests := []struct {
		name  string
		conds []tiers.Condition
		want  string
	}{
		{"none", nil, "no search conditions"},
		{"field with colon", []tiers.Condition{cond("A:equals:x)or(B", tiers.OpEquals, "x")}, "not a field API name"},
		{"field with space", []tiers.Condition{cond("Account Name", tiers.OpEquals, "x")}, "not a field API name"},
		{"field starting with digit", []tiers.Condition{cond("1A", tiers.OpEquals, "x")}, "not a field API name"},
		{"unknown operator", []tiers.Condition{cond("A", "contains", "x")}, "unknown operator"},
		{"equals with two values", []tiers.Condition{cond("A", tiers.OpEquals, "x", "y")}, "exactly 1 value"},
		{"between with one", []tiers.Condition{cond("A", tiers.OpBetween, 1)}, "exactly 2 values"},
		{"in with 101", []tiers.Condition{cond("A", tiers.OpIn, hundredOne...)}, "1 to 100 values"},
		{"empty string", []tiers.Condition{cond("A", tiers.OpEquals, "")}, "empty value"},
		{"not a number", []tiers.Condition{cond("A", tiers.OpEquals, json.Number("1)or(x"))}, "is not a number"},
		{"object value", []tiers.Condition{cond("A", tiers.OpEquals, map[string]any{"x": 1})}, "not a string, number or boolean"},
		{"11 conditions", many, "at most 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Criteria(tt.conds, false)
			var te *tiers.Error
			if !errors.As(err, &te) || te.Class != tiers.ClassVerdict || !strings.Contains(te.Message, tt.want) {
				t.Fatalf("Criteria = %q, %v; want verdict saying %q", got, err, tt.want)
			}
		})
	}
}

func TestCOQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    COQLQuery
		want string
	}{
		{"minimal", COQLQuery{Module: "Accounts"}, "select id from Accounts where id is not null limit 200"},
		{"strings quoted and escaped", COQLQuery{Module: "Accounts", Select: []string{"id", "Account_Name"},
			Where: []tiers.Condition{cond("Account_Name", tiers.OpEquals, `O'Brien\ (x), y`)}},
			`select id, Account_Name from Accounts where Account_Name = 'O\'Brien\\ (x), y' limit 200`},
		{"numbers and booleans bare", COQLQuery{Module: "Accounts", Where: []tiers.Condition{
			cond("Employees", tiers.OpGreaterEqual, json.Number("100")), cond("Locked__s", tiers.OpEquals, false)}},
			"select id from Accounts where (Employees >= 100 and Locked__s = false) limit 200"},
		{"three pairwise with or", COQLQuery{Module: "Accounts", MatchAny: true, Where: []tiers.Condition{
			cond("A", tiers.OpEquals, "1"), cond("B", tiers.OpNotEqual, "2"), cond("C", tiers.OpLessThan, 3)}},
			"select id from Accounts where ((A = '1' or B != '2') or C < 3) limit 200"},
		{"in, between, starts_with", COQLQuery{Module: "Accounts", Where: []tiers.Condition{
			cond("Industry", tiers.OpIn, "Retail", "Tech"), cond("Employees", tiers.OpBetween, 1, 9), cond("Account_Name", tiers.OpStartsWith, "Ac'me")}},
			`select id from Accounts where ((Industry in ('Retail', 'Tech') and Employees between 1 and 9) and Account_Name like 'Ac\'me%') limit 200`},
		{"keyset and order", COQLQuery{Module: "Accounts", Select: []string{"id", "Owner.id"}, AfterID: "5725767000001000099",
			Where:   []tiers.Condition{cond("Industry", tiers.OpEquals, "Retail")},
			OrderBy: []Order{{Field: "id"}}, Limit: 2000},
			"select id, Owner.id from Accounts where (Industry = 'Retail' and id > 5725767000001000099) order by id asc limit 2000"},
		{"id values unquoted digits", COQLQuery{Module: "Accounts", Where: []tiers.Condition{cond("id", tiers.OpIn, "1", json.Number("2"))}, Offset: 400, Limit: 200,
			OrderBy: []Order{{Field: "Modified_Time", Desc: true}}},
			"select id from Accounts where id in (1, 2) order by Modified_Time desc limit 200 offset 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := COQL(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("COQL =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestCOQLRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    COQLQuery
		want string
	}{
		{"bad module", COQLQuery{Module: "Accounts where 1=1"}, "module API name"},
		{"bad column", COQLQuery{Module: "Accounts", Select: []string{"id, Owner"}}, "field API name"},
		{"bad where field", COQLQuery{Module: "Accounts", Where: []tiers.Condition{cond("A = 'x' or B", tiers.OpEquals, "y")}}, "field API name"},
		{"id not digits", COQLQuery{Module: "Accounts", Where: []tiers.Condition{cond("id", tiers.OpEquals, "1 or 1=1")}}, "not a record id"},
		{"keyset not digits", COQLQuery{Module: "Accounts", AfterID: "0 or id > 0"}, "not a record id"},
		{"limit too big", COQLQuery{Module: "Accounts", Limit: 2001}, "limit"},
		{"offset past cap", COQLQuery{Module: "Accounts", Offset: 99900, Limit: 200}, "page by id"},
		{"wildcard in starts_with", COQLQuery{Module: "Accounts", Where: []tiers.Condition{cond("Account_Name", tiers.OpStartsWith, "%x")}}, "wildcard"},
		{"NaN", COQLQuery{Module: "Accounts", Where: []tiers.Condition{cond("A", tiers.OpEquals, jsonNaN())}}, "finite"},
		{"bad order field", COQLQuery{Module: "Accounts", OrderBy: []Order{{Field: "id; drop"}}}, "field API name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := COQL(tt.q)
			var te *tiers.Error
			if !errors.As(err, &te) || te.Class != tiers.ClassVerdict || !strings.Contains(te.Message, tt.want) {
				t.Fatalf("COQL = %q, %v; want verdict saying %q", got, err, tt.want)
			}
		})
	}
}

func jsonNaN() float64 {
	var z float64
	return z / z
}

// ---- test-only parsers used to prove no value escapes its position ----

// parsedCond is one condition read back from a criteria expression.
type parsedCond struct {
	field, op string
	values    []string
}

// parseCriteria is an independent reader of the criteria grammar the
// compiler emits: group := "(" group ("and"|"or") group ")" | cond;
// cond := "(" field ":" op ":" value ("," value)* ")" with \-escapes.
func parseCriteria(s string) ([]parsedCond, error) {
	p := &critParser{s: s}
	out, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i != len(s) {
		return nil, fmt.Errorf("trailing input at %d: %q", p.i, s[p.i:])
	}
	return out, nil
}

type critParser struct {
	s string
	i int
}

func (p *critParser) expr() ([]parsedCond, error) {
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, fmt.Errorf("want ( at %d", p.i)
	}
	if p.i+1 < len(p.s) && p.s[p.i+1] == '(' {
		p.i++
		left, err := p.expr()
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(p.s[p.i:], "and"):
			p.i += 3
		case strings.HasPrefix(p.s[p.i:], "or"):
			p.i += 2
		default:
			return nil, fmt.Errorf("want and/or at %d", p.i)
		}
		right, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("want ) at %d", p.i)
		}
		p.i++
		return append(left, right...), nil
	}
	p.i++
	var c parsedCond
	j := strings.IndexByte(p.s[p.i:], ':')
	if j < 0 {
		return nil, fmt.Errorf("no field")
	}
	c.field = p.s[p.i : p.i+j]
	p.i += j + 1
	j = strings.IndexByte(p.s[p.i:], ':')
	if j < 0 {
		return nil, fmt.Errorf("no op")
	}
	c.op = p.s[p.i : p.i+j]
	p.i += j + 1
	var cur strings.Builder
	for {
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("unterminated value")
		}
		ch := p.s[p.i]
		switch ch {
		case '\\':
			if p.i+1 >= len(p.s) {
				return nil, fmt.Errorf("dangling escape")
			}
			cur.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		case ',':
			c.values = append(c.values, cur.String())
			cur.Reset()
		case ')':
			c.values = append(c.values, cur.String())
			p.i++
			return []parsedCond{c}, nil
		case '(':
			return nil, fmt.Errorf("unescaped ( in value at %d", p.i)
		default:
			cur.WriteByte(ch)
		}
		p.i++
	}
}

func FuzzCriteria(f *testing.F) {
	f.Add("Account_Name", "equals", "Acme", "x", false)
	f.Add("Last_Name", "in", "Burns,B", `K\`, true)
	f.Add("A", "between", "x)or(B:equals:y", "((", false)
	f.Add("Phone", "starts_with", `\\\(`, "'\"", true)
	f.Add("Employees", "greater_than", ")", ",", false)
	f.Fuzz(func(t *testing.T, field, op, v1, v2 string, any bool) {
		if !utf8.ValidString(v1) || !utf8.ValidString(v2) {
			return
		}
		var conds []tiers.Condition
		switch tiers.Operator(op) {
		case tiers.OpIn, tiers.OpBetween:
			conds = []tiers.Condition{cond(field, tiers.Operator(op), v1, v2), cond("Account_Name", tiers.OpEquals, v2)}
		default:
			conds = []tiers.Condition{cond(field, tiers.Operator(op), v1), cond("Account_Name", tiers.OpEquals, v2)}
		}
		got, err := Criteria(conds, any)
		if err != nil {
			var te *tiers.Error
			if !errors.As(err, &te) || te.Class != tiers.ClassVerdict {
				t.Fatalf("error is not a verdict: %v", err)
			}
			return
		}
		parsed, perr := parseCriteria(got)
		if perr != nil {
			t.Fatalf("compiled %q does not parse: %v", got, perr)
		}
		if len(parsed) != len(conds) {
			t.Fatalf("compiled %q has %d conditions, want %d", got, len(parsed), len(conds))
		}
		for i, c := range conds {
			pc := parsed[i]
			if pc.field != c.Field || pc.op != string(c.Op) || len(pc.values) != len(c.Values) {
				t.Fatalf("condition %d read back as %+v from %q", i, pc, got)
			}
			for j, v := range c.Values {
				if pc.values[j] != v.(string) {
					t.Fatalf("value %q read back as %q from %q", v, pc.values[j], got)
				}
			}
		}
		// url.Values round-trips the whole expression.
		back, _ := url.ParseQuery(url.Values{"criteria": {got}}.Encode())
		if back.Get("criteria") != got {
			t.Fatalf("URL encoding does not round-trip %q", got)
		}
	})
}

// coqlToken is one token of a COQL statement.
type coqlToken struct {
	kind string // "ident", "string", "number", "punct", "op"
	text string // decoded for strings
}

// tokenizeCOQL is an independent COQL lexer: identifiers (with dots),
// numbers, single-quoted strings with backslash escapes, punctuation and
// comparison operators.
func tokenizeCOQL(s string) ([]coqlToken, error) {
	var out []coqlToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string")
				}
				if s[i] == '\\' {
					if i+1 >= len(s) {
						return nil, fmt.Errorf("dangling escape")
					}
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '\'' {
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, coqlToken{"string", b.String()})
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z') {
				j++
			}
			out = append(out, coqlToken{"ident", s[i:j]})
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && (s[j] == '.' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			out = append(out, coqlToken{"number", s[i:j]})
			i = j
		case c == '(' || c == ')' || c == ',':
			out = append(out, coqlToken{"punct", string(c)})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			out = append(out, coqlToken{"op", s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return out, nil
}

var coqlKeywords = map[string]bool{"select": true, "from": true, "where": true, "and": true, "or": true, "like": true,
	"in": true, "between": true, "order": true, "by": true, "asc": true, "desc": true, "limit": true, "offset": true,
	"is": true, "not": true, "null": true, "true": true, "false": true}

func FuzzCOQL(f *testing.F) {
	f.Add("Account_Name", "equals", "O'Brien", `\' or id > 0 --`, "5725767000001000001", false)
	f.Add("Industry", "in", "a','b", "c", "", true)
	f.Add("Employees", "between", "1", "2", "9", false)
	f.Add("Account_Name", "starts_with", `x\`, `'`, "", false)
	f.Fuzz(func(t *testing.T, field, op, v1, v2, after string, any bool) {
		if !utf8.ValidString(v1) || !utf8.ValidString(v2) {
			return
		}
		var c1 tiers.Condition
		switch tiers.Operator(op) {
		case tiers.OpIn, tiers.OpBetween:
			c1 = cond(field, tiers.Operator(op), v1, v2)
		default:
			c1 = cond(field, tiers.Operator(op), v1)
		}
		q := COQLQuery{Module: "Accounts", Select: []string{"id", "Account_Name"}, MatchAny: any, AfterID: after,
			Where: []tiers.Condition{c1, cond("Billing_City", tiers.OpEquals, v2)}}
		got, err := COQL(q)
		if err != nil {
			var te *tiers.Error
			if !errors.As(err, &te) || te.Class != tiers.ClassVerdict {
				t.Fatalf("error is not a verdict: %v", err)
			}
			return
		}
		toks, terr := tokenizeCOQL(got)
		if terr != nil {
			t.Fatalf("compiled %q does not tokenize: %v", got, terr)
		}
		// Every string value comes back, in order, as exactly one string token.
		var wantStrings []string
		for _, c := range q.Where {
			for _, v := range c.Values {
				s := v.(string)
				if c.Field == "id" {
					continue
				}
				if c.Op == tiers.OpStartsWith {
					s += "%"
				}
				wantStrings = append(wantStrings, s)
			}
		}
		var gotStrings []string
		depth, conds := 0, 0
		for _, tk := range toks {
			switch tk.kind {
			case "string":
				gotStrings = append(gotStrings, tk.text)
			case "ident":
				if !coqlKeywords[tk.text] && tk.text != field && tk.text != "Billing_City" && tk.text != "id" &&
					tk.text != "Account_Name" && tk.text != "Accounts" {
					t.Fatalf("stray identifier %q in %q", tk.text, got)
				}
				if tk.text == field || tk.text == "Billing_City" || (tk.text == "id" && after != "") {
					conds++
				}
			case "punct":
				if tk.text == "(" {
					depth++
				} else if tk.text == ")" {
					depth--
				}
				if depth < 0 {
					t.Fatalf("unbalanced parentheses in %q", got)
				}
			}
		}
		if depth != 0 {
			t.Fatalf("unbalanced parentheses in %q", got)
		}
		if strings.Join(gotStrings, "\x00") != strings.Join(wantStrings, "\x00") || len(gotStrings) != len(wantStrings) {
			t.Fatalf("string values %q read back as %q from %q", wantStrings, gotStrings, got)
		}
		if conds < 2 {
			t.Fatalf("conditions missing in %q", got)
		}
	})
}
