package zoho

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Limits of the compilers (reference §5, §6), besides the condition and
// value counts of tiers (MaxSearchConditions, tiers.MaxCOQLConditions,
// tiers.MaxInValues).
const (
	MaxCriteriaLength = 3000 // search API: criteria max length
	MaxCOQLLimit      = 2000 // COQL: rows per call
	MaxCOQLOffset     = 100000
)

var plainNumRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// verdict is the error for a condition or query Zoho would never accept:
// the caller's mistake, reported before anything is sent.
func verdict(format string, args ...any) *tiers.Error {
	return &tiers.Error{Class: tiers.ClassVerdict, Code: "INVALID_QUERY", Message: fmt.Sprintf(format, args...)}
}

// checkArity validates the number of values for c.Op.
func checkArity(c tiers.Condition, maxIn int) error {
	n := len(c.Values)
	switch c.Op {
	case tiers.OpIn:
		if n < 1 || n > maxIn {
			return verdict("%s: operator in takes 1 to %d values, got %d", c.Field, maxIn, n)
		}
	case tiers.OpBetween:
		if n != 2 {
			return verdict("%s: operator between takes exactly 2 values, got %d", c.Field, n)
		}
	case tiers.OpEquals, tiers.OpNotEqual, tiers.OpStartsWith, tiers.OpGreaterThan,
		tiers.OpGreaterEqual, tiers.OpLessThan, tiers.OpLessEqual:
		if n != 1 {
			return verdict("%s: operator %s takes exactly 1 value, got %d", c.Field, c.Op, n)
		}
	default:
		return verdict("%s: unknown operator %q (use equals, not_equal, starts_with, in, greater_than, greater_equal, less_than, less_equal or between)", c.Field, c.Op)
	}
	return nil
}

// scalar is a validated condition value: its text and whether it is a
// number or boolean (unquoted in COQL) rather than a string.
type scalar struct {
	text    string
	literal bool
}

// toScalar validates v (string, json.Number, float64, float32, ints, bool).
func toScalar(field string, v any) (scalar, error) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return scalar{}, verdict("%s: empty value; Zoho cannot search for an empty value", field)
		}
		if len(x) > 1000 {
			return scalar{}, verdict("%s: value longer than 1000 characters", field)
		}
		return scalar{text: x}, nil
	case json.Number:
		return number(field, string(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return scalar{}, verdict("%s: value is not a finite number", field)
		}
		return scalar{text: strconv.FormatFloat(x, 'f', -1, 64), literal: true}, nil
	case float32:
		return toScalar(field, float64(x))
	case int:
		return scalar{text: strconv.Itoa(x), literal: true}, nil
	case int64:
		return scalar{text: strconv.FormatInt(x, 10), literal: true}, nil
	case int32:
		return scalar{text: strconv.FormatInt(int64(x), 10), literal: true}, nil
	case uint64:
		return scalar{text: strconv.FormatUint(x, 10), literal: true}, nil
	case bool:
		return scalar{text: strconv.FormatBool(x), literal: true}, nil
	case nil:
		return scalar{}, verdict("%s: null value is not searchable", field)
	}
	return scalar{}, verdict("%s: value of type %T is not a string, number or boolean", field, v)
}

// number validates a numeric literal and renders it without exponent.
func number(field, s string) (scalar, error) {
	if plainNumRE.MatchString(s) && len(s) <= 40 {
		return scalar{text: s, literal: true}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return scalar{}, verdict("%s: %q is not a number", field, s)
	}
	return scalar{text: strconv.FormatFloat(f, 'f', -1, 64), literal: true}, nil
}

// escapeCriteriaValue backslash-escapes the characters that structure a
// criteria expression — ( ) , and \ itself — so that a value can never
// close its condition or add another (reference §5).
func escapeCriteriaValue(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	for _, r := range s {
		switch r {
		case '\\', '(', ')', ',':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Criteria compiles structured conditions into a search API criteria
// expression: "(Field:op:value)" or, for several, nested pairwise
// "((A:op:v)and(B:op:v))" joined by "and" (any=false) or "or" (any=true).
// Every value is escaped with escapeCriteriaValue; the caller URL-encodes the
// whole expression by putting it in url.Values. Field names must be API
// names; invalid input is a ClassVerdict *tiers.Error and nothing is built.
func Criteria(conds []tiers.Condition, any bool) (string, error) {
	if len(conds) == 0 {
		return "", verdict("no search conditions")
	}
	if len(conds) > tiers.MaxSearchConditions {
		return "", verdict("%d conditions given; Zoho search accepts at most %d", len(conds), tiers.MaxSearchConditions)
	}
	join := "and"
	if any {
		join = "or"
	}
	var out string
	for i, c := range conds {
		one, err := criterion(c)
		if err != nil {
			return "", err
		}
		if i == 0 {
			out = one
		} else {
			out = "(" + out + join + one + ")"
		}
	}
	if len(out) > MaxCriteriaLength {
		return "", verdict("search criteria too long (%d characters; Zoho accepts %d): use fewer or shorter values", len(out), MaxCriteriaLength)
	}
	return out, nil
}

func criterion(c tiers.Condition) (string, error) {
	if !tiers.IsAPIName(c.Field) {
		return "", verdict("%q is not a field API name (letters, digits and underscores, starting with a letter)", c.Field)
	}
	if err := checkArity(c, tiers.MaxInValues); err != nil {
		return "", err
	}
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		s, err := toScalar(c.Field, v)
		if err != nil {
			return "", err
		}
		vals[i] = escapeCriteriaValue(s.text)
	}
	return "(" + c.Field + ":" + string(c.Op) + ":" + strings.Join(vals, ",") + ")", nil
}

// Order is one ORDER BY item of a COQL query.
type Order struct {
	Field string
	Desc  bool
}

// COQLQuery is a structured COQL select. The compiler builds the text; no
// part of it is taken from the caller verbatim.
type COQLQuery struct {
	Module   string            // FROM; an API name
	Select   []string          // columns; empty means just id
	Where    []tiers.Condition // combined by MatchAny (false = and)
	MatchAny bool
	// AfterID adds "id > AfterID" (ANDed with Where) for keyset paging past
	// COQL's offset cap; empty means none. It must be a record id (digits).
	AfterID string
	OrderBy []Order
	Limit   int // 1–2000; zero means 200
	Offset  int // 0–100000
}

// COQL compiles q into a COQL select statement (reference §6):
//
//	select id, Account_Name from Accounts where ((A = 'x' and B > 3) and id > 5) order by id asc limit 200 offset 400
//
// Strings are single-quoted with ' and \ backslash-escaped; numbers and
// booleans are validated and unquoted; ids must be digits; field and module
// names must be API names (or one lookup level, Owner.id). A WHERE is always
// sent ("id is not null" when there are no conditions), since older API
// versions require one. Invalid input is a ClassVerdict *tiers.Error.
func COQL(q COQLQuery) (string, error) {
	if !tiers.IsModuleName(q.Module) {
		return "", verdict("%q is not a module API name", q.Module)
	}
	cols := q.Select
	if len(cols) == 0 {
		cols = []string{"id"}
	}
	if len(cols) > 500 {
		return "", verdict("%d fields selected; COQL accepts at most 500", len(cols))
	}
	for _, f := range cols {
		if !validCOQLField(f) {
			return "", verdict("%q is not a field API name", f)
		}
	}
	limit := q.Limit
	if limit == 0 {
		limit = 200
	}
	if limit < 1 || limit > MaxCOQLLimit {
		return "", verdict("limit %d out of range 1–%d", q.Limit, MaxCOQLLimit)
	}
	if q.Offset < 0 || q.Offset+limit > MaxCOQLOffset {
		return "", verdict("offset %d out of range: COQL reaches at most %d rows by offset; page by id instead", q.Offset, MaxCOQLOffset)
	}
	n := len(q.Where)
	if q.AfterID != "" {
		n++
	}
	if n > tiers.MaxCOQLConditions {
		return "", verdict("%d conditions given; COQL accepts at most %d", n, tiers.MaxCOQLConditions)
	}
	join := " and "
	if q.MatchAny {
		join = " or "
	}
	var where string
	for i, c := range q.Where {
		one, err := coqlCondition(c)
		if err != nil {
			return "", err
		}
		if i == 0 {
			where = one
		} else {
			where = "(" + where + join + one + ")"
		}
	}
	if q.AfterID != "" {
		if !tiers.IsRecordID(q.AfterID) {
			return "", verdict("keyset id %q is not a record id", q.AfterID)
		}
		keyset := "id > " + q.AfterID
		if where == "" {
			where = keyset
		} else {
			where = "(" + where + " and " + keyset + ")"
		}
	}
	if where == "" {
		where = "id is not null"
	}
	var b strings.Builder
	b.WriteString("select ")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(" from ")
	b.WriteString(q.Module)
	b.WriteString(" where ")
	b.WriteString(where)
	if len(q.OrderBy) > 10 {
		return "", verdict("%d order-by fields; COQL accepts at most 10", len(q.OrderBy))
	}
	for i, o := range q.OrderBy {
		if !validCOQLField(o.Field) {
			return "", verdict("%q is not a field API name", o.Field)
		}
		if i == 0 {
			b.WriteString(" order by ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(o.Field)
		if o.Desc {
			b.WriteString(" desc")
		} else {
			b.WriteString(" asc")
		}
	}
	fmt.Fprintf(&b, " limit %d", limit)
	if q.Offset > 0 {
		fmt.Fprintf(&b, " offset %d", q.Offset)
	}
	return b.String(), nil
}

// validCOQLField reports whether f is a field COQL may name: an API name,
// or a lookup's field written lookup.field.
func validCOQLField(f string) bool {
	if len(f) > tiers.MaxAPINameLen {
		return false
	}
	if lookup, field, ok := strings.Cut(f, "."); ok {
		return tiers.IsAPIName(lookup) && tiers.IsAPIName(field)
	}
	return tiers.IsAPIName(f)
}

// quoteCOQL renders s as a COQL string literal: single quotes, with \ and '
// backslash-escaped (reference §6).
func quoteCOQL(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		if r == '\\' || r == '\'' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

var coqlOps = map[tiers.Operator]string{
	tiers.OpEquals: "=", tiers.OpNotEqual: "!=", tiers.OpGreaterThan: ">", tiers.OpGreaterEqual: ">=",
	tiers.OpLessThan: "<", tiers.OpLessEqual: "<=",
}

func coqlCondition(c tiers.Condition) (string, error) {
	if !validCOQLField(c.Field) {
		return "", verdict("%q is not a field API name", c.Field)
	}
	if err := checkArity(c, tiers.MaxInValues); err != nil {
		return "", err
	}
	isID := c.Field == "id" || strings.HasSuffix(c.Field, ".id")
	lits := make([]string, len(c.Values))
	for i, v := range c.Values {
		s, err := toScalar(c.Field, v)
		if err != nil {
			return "", err
		}
		switch {
		case isID:
			if !tiers.IsRecordID(s.text) {
				return "", verdict("%s: %q is not a record id (1–19 digits)", c.Field, s.text)
			}
			lits[i] = s.text
		case c.Op == tiers.OpStartsWith:
			if s.literal {
				return "", verdict("%s: starts_with needs a text value", c.Field)
			}
			if strings.Contains(s.text, "%") {
				return "", verdict("%s: starts_with value may not contain %% (the COQL wildcard)", c.Field)
			}
			lits[i] = quoteCOQL(s.text + "%")
		case s.literal:
			lits[i] = s.text
		default:
			lits[i] = quoteCOQL(s.text)
		}
	}
	switch c.Op {
	case tiers.OpStartsWith:
		return c.Field + " like " + lits[0], nil
	case tiers.OpIn:
		return c.Field + " in (" + strings.Join(lits, ", ") + ")", nil
	case tiers.OpBetween:
		return c.Field + " between " + lits[0] + " and " + lits[1], nil
	}
	return c.Field + " " + coqlOps[c.Op] + " " + lits[0], nil
}
