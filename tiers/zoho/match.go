package zoho

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The meaning of a search condition, the same on every tier. Zoho's APIs
// disagree: the search API's equals on text is a case-insensitive
// "contains" (reference §5), COQL's = is an exact comparison (§6), and a
// Bulk Read job's criteria test empty fields their own way. The tools define
// one meaning, enforced by Match on whatever Zoho answers (tiers 1 and 3
// filter search-API results; tier 2 filters a Bulk Read job's rows; its
// COQL compiles to the same meaning):
//
//   - An empty field (null, "", no values) matches no operator, not_equal
//     included: "not_equal x" is "has a value, and it is not x".
//   - equals: the same value. Text compares case-insensitively and exactly
//     (not "contains"); numbers by value (1250000 = 1250000.0); datetimes
//     by instant; booleans as booleans; a lookup (Owner, Parent_Account)
//     by its id; a multi-select when one of its values is equal.
//   - not_equal: has a value and equals is false.
//   - in: equals one of the values.
//   - starts_with: text that begins with the value, case-insensitively.
//   - greater_than, greater_equal, less_than, less_equal, between
//     (inclusive [low, high]): numbers by value, dates and datetimes
//     chronologically; anything else does not match (Zoho refuses such a
//     condition anyway).
//
// Each tier asks Zoho with Zoho's own operators, whose answers contain
// these matches (the search API's equals and starts_with match more, never
// less: reference §5), and keeps only the records Match accepts.

// Match reports whether rec satisfies conds: all of them, or any of them
// when matchAny. No conditions match every record.
func Match(conds []tiers.Condition, matchAny bool, rec tiers.Record) bool {
	if len(conds) == 0 {
		return true
	}
	for _, c := range conds {
		ok := MatchCondition(c, rec[c.Field])
		if ok && matchAny {
			return true
		}
		if !ok && !matchAny {
			return false
		}
	}
	return !matchAny
}

// MatchCondition reports whether a field holding v satisfies c (see Match).
func MatchCondition(c tiers.Condition, v any) bool {
	if isEmpty(v) || len(c.Values) == 0 {
		return false
	}
	if vs, ok := v.([]any); ok && !isLookup(v) { // a multi-select: any of its values
		for _, x := range vs {
			if !isEmpty(x) && matchOne(c, x) {
				return c.Op != tiers.OpNotEqual
			}
		}
		return c.Op == tiers.OpNotEqual
	}
	return matchOne(c, v)
}

func matchOne(c tiers.Condition, v any) bool {
	switch c.Op {
	case tiers.OpEquals:
		return equal(v, c.Values[0])
	case tiers.OpNotEqual:
		return !equal(v, c.Values[0])
	case tiers.OpIn:
		for _, w := range c.Values {
			if equal(v, w) {
				return true
			}
		}
		return false
	case tiers.OpStartsWith:
		s, ok := v.(string)
		p, pok := c.Values[0].(string)
		return ok && pok && strings.HasPrefix(strings.ToLower(s), strings.ToLower(p))
	case tiers.OpGreaterThan, tiers.OpGreaterEqual, tiers.OpLessThan, tiers.OpLessEqual:
		n, ok := compare(v, c.Values[0])
		if !ok {
			return false
		}
		switch c.Op {
		case tiers.OpGreaterThan:
			return n > 0
		case tiers.OpGreaterEqual:
			return n >= 0
		case tiers.OpLessThan:
			return n < 0
		}
		return n <= 0
	case tiers.OpBetween:
		if len(c.Values) != 2 {
			return false
		}
		lo, ok1 := compare(v, c.Values[0])
		hi, ok2 := compare(v, c.Values[1])
		return ok1 && ok2 && lo >= 0 && hi <= 0
	}
	return false
}

// isEmpty reports a field without a value: null, "", an empty list or a
// lookup without an id.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		id, _ := x["id"].(string)
		return id == ""
	}
	return false
}

func isLookup(v any) bool { _, ok := v.(map[string]any); return ok }

// equal compares a record value with a condition value (see Match).
func equal(v, want any) bool {
	if m, ok := v.(map[string]any); ok { // a lookup: by id
		id, _ := m["id"].(string)
		w, ok := text(want)
		return ok && id != "" && id == w
	}
	if b, ok := v.(bool); ok {
		switch w := want.(type) {
		case bool:
			return b == w
		case string:
			return strings.EqualFold(w, strconv.FormatBool(b))
		}
		return false
	}
	if n, ok := compare(v, want); ok {
		return n == 0
	}
	s, ok1 := text(v)
	w, ok2 := text(want)
	return ok1 && ok2 && strings.EqualFold(s, w)
}

// compare orders a record value against a condition value: both numbers,
// both dates or both datetimes. ok is false for anything else.
func compare(v, want any) (int, bool) {
	if a, ok := numeric(v); ok {
		if b, ok := numeric(want); ok {
			return a.Cmp(b), true
		}
		return 0, false
	}
	s, ok1 := v.(string)
	w, ok2 := want.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		a, err1 := time.Parse(layout, s)
		b, err2 := time.Parse(layout, w)
		if err1 == nil && err2 == nil {
			return a.Compare(b), true
		}
	}
	return 0, false
}

// numeric reads a JSON number (json.Number, float, int) as an exact
// rational; text is not a number here (a phone "5550100" stays text).
func numeric(v any) (*big.Rat, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(x), 'g', -1, 32)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// text renders a scalar as text, for comparisons of text with text.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", false
	}
	if n, ok := numeric(v); ok {
		return n.RatString(), true
	}
	return fmt.Sprint(v), false
}

// ConditionFields returns the fields conds test, in order, once each: a read
// that must filter its records asks for them too.
func ConditionFields(conds []tiers.Condition) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range conds {
		if !seen[c.Field] {
			seen[c.Field] = true
			out = append(out, c.Field)
		}
	}
	return out
}

// Project keeps only fields (and id) of r; empty fields keeps everything.
func Project(r tiers.Record, fields []string) tiers.Record {
	if len(fields) == 0 {
		return r
	}
	out := make(tiers.Record, len(fields)+1)
	if id, ok := r["id"]; ok {
		out["id"] = id
	}
	for _, f := range fields {
		if v, ok := r[f]; ok {
			out[f] = v
		}
	}
	return out
}
