package zohosim

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Search criteria (reference §5): `(Field:operator:value)` conditions,
// combined with `and` / `or` (case-insensitive) and grouped with
// parentheses, e.g. `((Account_Name:starts_with:Acme) and (Employees:greater_than:100))`.
//
// Choices where the reference is silent (documented so tests can rely on them):
//   - `and` binds tighter than `or`; a top level may chain groups without
//     outer parentheses: `(A:equals:x)and(B:equals:y)`.
//   - Inside a value, `\(`, `\)`, `\,` and `\\` stand for the character; a
//     backslash before any other character is a literal backslash. An
//     unescaped `(` is a syntax error, an unescaped `)` ends the condition.
//   - An unescaped comma separates values. For `in` they are the list, for
//     `between` the two bounds; for equals/starts_with it means "any of", for
//     not_equal "none of" (this is why Zoho asks for commas to be escaped).
//   - The value is taken verbatim (no trimming); an empty value is an error.
//   - equals on text-like fields is a case-insensitive contains; on picklists
//     a case-insensitive exact match. not_equal and in compare exactly
//     (case-insensitive). A null field is never equal to anything, so it
//     matches not_equal and fails every other operator.
//   - Lookups (Owner, Parent_Account, Created_By, Modified_By) match by id or
//     by name (case-insensitive).
//   - A criteria longer than 3000 characters (not bytes) is 400 LIMIT_EXCEEDED.

const (
	criteriaMaxLen       = 3000
	criteriaMaxCond      = 15
	criteriaMaxInValues  = 100
	criteriaQueryMessage = "Invalid query formed"
)

// criteriaExpr is a parsed search criteria.
type criteriaExpr interface {
	match(r Record) bool
}

// criteriaAnd matches when every part matches.
type criteriaAnd []criteriaExpr

func (a criteriaAnd) match(r Record) bool {
	for _, e := range a {
		if !e.match(r) {
			return false
		}
	}
	return true
}

// criteriaOr matches when any part matches.
type criteriaOr []criteriaExpr

func (o criteriaOr) match(r Record) bool {
	for _, e := range o {
		if e.match(r) {
			return true
		}
	}
	return false
}

// criteriaCond is one `(Field:op:value)` condition.
type criteriaCond struct {
	field  string
	ftype  FieldType
	op     string
	values []string  // unescaped, in order
	lower  []string  // lower-cased values, for text comparisons
	ints   []int64   // id, integer, bigint
	nums   []float64 // currency, decimal
	times  []time.Time
	bools  []bool
}

// operatorsByType is the §5 table. The id field takes the number operators.
var operatorsByType = map[FieldType][]string{
	TypeText:        {"equals", "not_equal", "starts_with", "in"},
	TypeEmail:       {"equals", "not_equal", "starts_with", "in"},
	TypePhone:       {"equals", "not_equal", "starts_with", "in"},
	TypeWebsite:     {"equals", "not_equal", "starts_with", "in"},
	TypeTextarea:    {"equals", "not_equal", "starts_with"},
	TypePicklist:    {"equals", "not_equal", "in"},
	TypeMultiSelect: {"equals", "not_equal", "in", "starts_with"},
	TypeOwnerLookup: {"equals", "not_equal", "in"},
	TypeLookup:      {"equals", "not_equal", "in"},
	TypeID:          numberOperators,
	TypeInteger:     numberOperators,
	TypeBigint:      numberOperators,
	TypeCurrency:    numberOperators,
	TypeDecimal:     numberOperators,
	TypeDouble:      numberOperators,
	TypePercent:     numberOperators,
	TypeDate:        numberOperators,
	TypeDatetime:    numberOperators,
	TypeBoolean:     {"equals", "not_equal"},
}

var numberOperators = []string{"equals", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal", "between", "in"}

var knownOperators = map[string]bool{"equals": true, "not_equal": true, "starts_with": true, "in": true,
	"greater_than": true, "greater_equal": true, "less_than": true, "less_equal": true, "between": true}

func invalidCriteria(reason string, details map[string]any) *zohoError {
	if details == nil {
		details = map[string]any{}
	}
	details["reason"] = reason
	e := newError("INVALID_QUERY", criteriaQueryMessage, details)
	return &e
}

func criteriaSyntax(pos int) *zohoError {
	return invalidCriteria("invalid criteria syntax", map[string]any{"position": pos})
}

// parseCriteria parses a search criteria string (already URL-decoded) over
// the fields of m. Its errors are Zoho's HTTP 400 envelopes.
func parseCriteria(m *Module, s string) (criteriaExpr, *zohoError) {
	if utf8.RuneCountInString(s) > criteriaMaxLen {
		e := newError("LIMIT_EXCEEDED", "criteria exceeds the maximum length of 3000 characters",
			map[string]any{"param_name": "criteria", "maximum_length": criteriaMaxLen})
		return nil, &e
	}
	p := &criteriaParser{s: s, m: m}
	p.skipSpace()
	if p.pos >= len(s) {
		return nil, criteriaSyntax(p.pos)
	}
	e, zerr := p.parseOr()
	if zerr != nil {
		return nil, zerr
	}
	p.skipSpace()
	if p.pos != len(s) {
		return nil, criteriaSyntax(p.pos)
	}
	return e, nil
}

type criteriaParser struct {
	s     string
	m     *Module
	pos   int
	conds int
}

func (p *criteriaParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

// keyword consumes `and` / `or` (case-insensitive) when it is followed by a
// space or a parenthesis.
func (p *criteriaParser) keyword(kw string) bool {
	end := p.pos + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.pos:end], kw) {
		return false
	}
	if end < len(p.s) && p.s[end] != '(' && p.s[end] != ' ' && p.s[end] != '\t' && p.s[end] != '\n' && p.s[end] != '\r' {
		return false
	}
	p.pos = end
	return true
}

func (p *criteriaParser) parseOr() (criteriaExpr, *zohoError) {
	return parseChain[criteriaOr](p, "or", p.parseAnd)
}

func (p *criteriaParser) parseAnd() (criteriaExpr, *zohoError) {
	return parseChain[criteriaAnd](p, "and", p.parsePrimary)
}

// parseChain parses operands joined by keyword (and, or): one operand alone
// is returned as it is, two or more as a list L of them.
func parseChain[L interface {
	~[]criteriaExpr
	criteriaExpr
}](p *criteriaParser, keyword string, operand func() (criteriaExpr, *zohoError)) (criteriaExpr, *zohoError) {
	first, zerr := operand()
	if zerr != nil {
		return nil, zerr
	}
	parts := L{first}
	for {
		save := p.pos
		p.skipSpace()
		if !p.keyword(keyword) {
			p.pos = save
			break
		}
		next, zerr := operand()
		if zerr != nil {
			return nil, zerr
		}
		parts = append(parts, next)
	}
	if len(parts) == 1 {
		return first, nil
	}
	return parts, nil
}

func (p *criteriaParser) parsePrimary() (criteriaExpr, *zohoError) {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '(' {
		return nil, criteriaSyntax(p.pos)
	}
	p.pos++
	save := p.pos
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '(' {
		e, zerr := p.parseOr()
		if zerr != nil {
			return nil, zerr
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return nil, criteriaSyntax(p.pos)
		}
		p.pos++
		return e, nil
	}
	p.pos = save
	return p.parseCondition()
}

// parseCondition parses `Field:op:value)` (the opening parenthesis is
// already consumed).
func (p *criteriaParser) parseCondition() (criteriaExpr, *zohoError) {
	start := p.pos
	c1 := strings.IndexByte(p.s[start:], ':')
	if c1 < 0 {
		return nil, criteriaSyntax(start)
	}
	field := strings.TrimSpace(p.s[start : start+c1])
	opStart := start + c1 + 1
	c2 := strings.IndexByte(p.s[opStart:], ':')
	if c2 < 0 {
		return nil, criteriaSyntax(opStart)
	}
	op := strings.TrimSpace(p.s[opStart : opStart+c2])
	if field == "" || strings.ContainsAny(field, "()") || strings.ContainsAny(op, "()") {
		return nil, criteriaSyntax(start)
	}
	// The value runs to the first unescaped ')'.
	p.pos = opStart + c2 + 1
	var values []string
	var cur strings.Builder
	closed := false
	for p.pos < len(p.s) {
		ch := p.s[p.pos]
		if ch == '\\' && p.pos+1 < len(p.s) && strings.IndexByte(`(),\`, p.s[p.pos+1]) >= 0 {
			cur.WriteByte(p.s[p.pos+1])
			p.pos += 2
			continue
		}
		if ch == ')' {
			p.pos++
			closed = true
			break
		}
		if ch == '(' {
			return nil, criteriaSyntax(p.pos)
		}
		if ch == ',' {
			values = append(values, cur.String())
			cur.Reset()
			p.pos++
			continue
		}
		cur.WriteByte(ch)
		p.pos++
	}
	if !closed {
		return nil, criteriaSyntax(p.pos)
	}
	values = append(values, cur.String())
	p.conds++
	if p.conds > criteriaMaxCond {
		e := newError("CRITERIA_LIMIT_EXCEEDED", "no of criterium that can be given exceed the limit 15",
			map[string]any{"limit": criteriaMaxCond})
		return nil, &e
	}
	return newCriteriaCond(p.m, field, op, values)
}

func newCriteriaCond(m *Module, field, op string, values []string) (*criteriaCond, *zohoError) {
	f, ok := m.Field(field)
	if !ok {
		return nil, invalidCriteria("invalid field api name", map[string]any{"api_name": field})
	}
	if !knownOperators[op] {
		return nil, invalidCriteria("invalid operator found", map[string]any{"api_name": field, "operator": op})
	}
	allowed := false
	for _, o := range operatorsByType[f.Type] {
		if o == op {
			allowed = true
			break
		}
	}
	if !allowed {
		return nil, invalidCriteria("invalid operator found", map[string]any{"api_name": field, "operator": op})
	}
	for _, v := range values {
		if v == "" {
			return nil, invalidCriteria("value missing", map[string]any{"api_name": field, "operator": op})
		}
	}
	switch op {
	case "in":
		if len(values) > criteriaMaxInValues {
			e := newError("INVALID_QUERY", `Only 100 values are allowed in "IN" criteria`,
				map[string]any{"api_name": field, "operator": op, "limit": criteriaMaxInValues})
			return nil, &e
		}
	case "between":
		if len(values) != 2 {
			return nil, invalidCriteria("between needs exactly two values: from,to",
				map[string]any{"api_name": field, "operator": op})
		}
	case "greater_than", "greater_equal", "less_than", "less_equal":
		if len(values) != 1 {
			return nil, invalidCriteria("only one value is allowed for this operator",
				map[string]any{"api_name": field, "operator": op})
		}
	}
	c := &criteriaCond{field: field, ftype: f.Type, op: op, values: values}
	badValue := func() *zohoError {
		return invalidCriteria("the given value seems to be invalid for the field",
			map[string]any{"api_name": field, "operator": op, "expected_data_type": string(f.Type)})
	}
	for _, v := range values {
		switch f.Type {
		case TypeID:
			n, ok := ParseID(v)
			if !ok {
				return nil, badValue()
			}
			c.ints = append(c.ints, n)
		case TypeInteger, TypeBigint:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, badValue()
			}
			c.ints = append(c.ints, n)
		case TypeCurrency, TypeDecimal, TypeDouble, TypePercent:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || n != n { // reject NaN
				return nil, badValue()
			}
			c.nums = append(c.nums, n)
		case TypeDatetime:
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, badValue()
			}
			c.times = append(c.times, t)
		case TypeDate:
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return nil, badValue()
			}
			c.times = append(c.times, t)
		case TypeBoolean:
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return nil, badValue()
			}
			c.bools = append(c.bools, b)
		default:
			c.lower = append(c.lower, strings.ToLower(v))
		}
	}
	return c, nil
}

// match evaluates the condition against one record.
func (c *criteriaCond) match(r Record) bool {
	v := r[c.field]
	if v == nil {
		return c.op == "not_equal"
	}
	switch c.ftype {
	case TypeID, TypeInteger, TypeBigint:
		n, ok := toInt(v)
		if !ok {
			return c.op == "not_equal"
		}
		return compareOrdered(c.op, len(c.ints), func(i int) int { return compareNum(n, c.ints[i]) })
	case TypeCurrency, TypeDecimal, TypeDouble, TypePercent:
		n, ok := toFloat(v)
		if !ok {
			return c.op == "not_equal"
		}
		return compareOrdered(c.op, len(c.nums), func(i int) int { return compareNum(n, c.nums[i]) })
	case TypeDatetime, TypeDate:
		s, _ := v.(string)
		layout := time.RFC3339
		if c.ftype == TypeDate {
			layout = time.DateOnly
		}
		t, err := time.Parse(layout, s)
		if err != nil {
			return c.op == "not_equal"
		}
		return compareOrdered(c.op, len(c.times), func(i int) int { return t.Compare(c.times[i]) })
	case TypeMultiSelect:
		// equals and in: one of the selected values is one of the given;
		// starts_with: one starts with one; not_equal: none is.
		sel, _ := v.([]string)
		hit := false
		for _, x := range sel {
			lx := strings.ToLower(x)
			for _, want := range c.lower {
				if lx == want || (c.op == "starts_with" && strings.HasPrefix(lx, want)) {
					hit = true
				}
			}
		}
		return hit != (c.op == "not_equal")
	case TypeBoolean:
		b, _ := v.(bool)
		eq := b == c.bools[0]
		if c.op == "not_equal" {
			return !eq
		}
		return eq
	case TypeOwnerLookup, TypeLookup:
		m, _ := v.(map[string]any)
		if rm, ok := v.(Record); ok {
			m = rm
		}
		id, _ := m["id"].(string)
		name, _ := m["name"].(string)
		lname := strings.ToLower(name)
		hit := false
		for _, want := range c.lower {
			if id == want || lname == want {
				hit = true
				break
			}
		}
		if c.op == "not_equal" {
			return !hit
		}
		return hit
	default: // text-like and picklists
		s, ok := v.(string)
		if !ok {
			return c.op == "not_equal"
		}
		ls := strings.ToLower(s)
		contains := c.ftype != TypePicklist
		for _, want := range c.lower {
			var hit bool
			switch c.op {
			case "equals":
				if contains {
					hit = strings.Contains(ls, want)
				} else {
					hit = ls == want
				}
			case "starts_with":
				hit = strings.HasPrefix(ls, want)
			default: // in, not_equal
				hit = ls == want
			}
			if hit {
				return c.op != "not_equal"
			}
		}
		return c.op == "not_equal"
	}
}

// compareOrdered applies an ordered operator; cmp(i) compares the record's
// value with the condition's i-th value.
func compareOrdered(op string, n int, cmp func(i int) int) bool {
	switch op {
	case "equals", "in":
		for i := 0; i < n; i++ {
			if cmp(i) == 0 {
				return true
			}
		}
		return false
	case "not_equal":
		for i := 0; i < n; i++ {
			if cmp(i) == 0 {
				return false
			}
		}
		return true
	case "greater_than":
		return cmp(0) > 0
	case "greater_equal":
		return cmp(0) >= 0
	case "less_than":
		return cmp(0) < 0
	case "less_equal":
		return cmp(0) <= 0
	case "between":
		return cmp(0) >= 0 && cmp(1) <= 0
	}
	return false
}

// compareNum returns -1, 0 or +1 as a is less than, equal to or greater
// than b. Unlike cmp.Compare, a NaN compares equal to anything.
func compareNum[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// toInt converts a stored integer value (or id string) to int64.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x != float64(int64(x)) {
			return 0, false
		}
		return int64(x), true
	case interface{ Int64() (int64, error) }: // json.Number
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// toFloat converts a stored numeric value (or id string) to float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}
