package mcp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// This file compiles structured conditions to Zoho's search criteria and to
// COQL. Every value is escaped for the position it lands in; field names must
// be API names. (Local until tiers/zoho exports its compilers.)

func compileErr(format string, args ...any) *tiers.Error {
	return &tiers.Error{Class: tiers.ClassVerdict, Code: "INVALID_QUERY", Message: fmt.Sprintf(format, args...)}
}

func checkField(f string) error {
	if f == "" || len(f) > 100 {
		return compileErr("field name %q is not a Zoho field API name", f)
	}
	for _, c := range f {
		if !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '$') {
			return compileErr("field name %q is not a Zoho field API name", f)
		}
	}
	return nil
}

func valueString(v any) (string, bool, error) {
	switch x := v.(type) {
	case string:
		return x, true, nil
	case json.Number:
		return x.String(), false, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), false, nil
	case int:
		return strconv.Itoa(x), false, nil
	case int64:
		return strconv.FormatInt(x, 10), false, nil
	case bool:
		return strconv.FormatBool(x), false, nil
	}
	return "", false, compileErr("value %v has an unsupported type %T", v, v)
}

func arity(c tiers.Condition) error {
	switch c.Op {
	case tiers.OpIn:
		if len(c.Values) < 1 || len(c.Values) > 100 {
			return compileErr("%s in: 1–100 values (got %d)", c.Field, len(c.Values))
		}
	case tiers.OpBetween:
		if len(c.Values) != 2 {
			return compileErr("%s between: exactly 2 values (got %d)", c.Field, len(c.Values))
		}
	case tiers.OpEquals, tiers.OpNotEqual, tiers.OpStartsWith, tiers.OpGreaterThan, tiers.OpGreaterEqual, tiers.OpLessThan, tiers.OpLessEqual:
		if len(c.Values) != 1 {
			return compileErr("%s %s: exactly 1 value (got %d)", c.Field, c.Op, len(c.Values))
		}
	default:
		return compileErr("unknown operator %q", c.Op)
	}
	return nil
}

var criteriaEscaper = strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`, `,`, `\,`)

// criteria compiles conditions to Zoho search criteria (reference §5).
func criteria(conds []tiers.Condition, any bool) (string, error) {
	if len(conds) == 0 || len(conds) > 10 {
		return "", compileErr("search takes 1–10 conditions (got %d)", len(conds))
	}
	parts := make([]string, 0, len(conds))
	for _, c := range conds {
		if err := checkField(c.Field); err != nil {
			return "", err
		}
		if err := arity(c); err != nil {
			return "", err
		}
		vals := make([]string, len(c.Values))
		for i, v := range c.Values {
			s, _, err := valueString(v)
			if err != nil {
				return "", err
			}
			vals[i] = criteriaEscaper.Replace(s)
		}
		parts = append(parts, "("+c.Field+":"+string(c.Op)+":"+strings.Join(vals, ",")+")")
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	join := "and"
	if any {
		join = "or"
	}
	return "(" + strings.Join(parts, join) + ")", nil
}

var coqlEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func coqlValue(v any) (string, error) {
	s, quoted, err := valueString(v)
	if err != nil {
		return "", err
	}
	if quoted {
		return "'" + coqlEscaper.Replace(s) + "'", nil
	}
	return s, nil
}

var coqlOps = map[tiers.Operator]string{
	tiers.OpEquals: "=", tiers.OpNotEqual: "!=", tiers.OpGreaterThan: ">", tiers.OpGreaterEqual: ">=",
	tiers.OpLessThan: "<", tiers.OpLessEqual: "<=",
}

// coqlCond renders one condition.
func coqlCond(c tiers.Condition) (string, error) {
	if err := checkField(c.Field); err != nil {
		return "", err
	}
	if err := arity(c); err != nil {
		return "", err
	}
	switch c.Op {
	case tiers.OpIn:
		vs := make([]string, len(c.Values))
		for i, v := range c.Values {
			s, err := coqlValue(v)
			if err != nil {
				return "", err
			}
			vs[i] = s
		}
		return c.Field + " in (" + strings.Join(vs, ", ") + ")", nil
	case tiers.OpBetween:
		a, err := coqlValue(c.Values[0])
		if err != nil {
			return "", err
		}
		b, err := coqlValue(c.Values[1])
		if err != nil {
			return "", err
		}
		return c.Field + " between " + a + " and " + b, nil
	case tiers.OpStartsWith:
		s, _, err := valueString(c.Values[0])
		if err != nil {
			return "", err
		}
		return c.Field + " like '" + coqlEscaper.Replace(strings.NewReplacer("%", `\%`, "_", `\_`).Replace(s)) + "%'", nil
	}
	v, err := coqlValue(c.Values[0])
	if err != nil {
		return "", err
	}
	return c.Field + " " + coqlOps[c.Op] + " " + v, nil
}

// coqlWhere renders conditions joined pairwise, as COQL wants for more than
// two: ((A and B) and C). No conditions is "id is not null".
func coqlWhere(conds []tiers.Condition, any bool) (string, error) {
	if len(conds) == 0 {
		return "id is not null", nil
	}
	if len(conds) > 25 {
		return "", compileErr("COQL takes at most 25 conditions (got %d)", len(conds))
	}
	join := " and "
	if any {
		join = " or "
	}
	out := ""
	for i, c := range conds {
		s, err := coqlCond(c)
		if err != nil {
			return "", err
		}
		if i == 0 {
			out = s
		} else {
			out = "(" + out + join + s + ")"
		}
	}
	return out, nil
}

// coqlList builds the COQL query for a filtered list page.
func coqlList(req tiers.ListRequest, offset, n int) (string, error) {
	fields := req.Fields
	if len(fields) == 0 {
		fields = []string{"id"}
	}
	for _, f := range fields {
		if err := checkField(f); err != nil {
			return "", err
		}
	}
	where, err := coqlWhere(req.Filters, false)
	if err != nil {
		return "", err
	}
	sortBy := req.SortBy
	if sortBy == "" {
		sortBy = "id"
	}
	if err := checkField(sortBy); err != nil {
		return "", err
	}
	order := "asc"
	if strings.EqualFold(req.SortOrder, "desc") {
		order = "desc"
	}
	return fmt.Sprintf("select %s from %s where %s order by %s %s limit %d, %d",
		strings.Join(fields, ", "), req.Module, where, sortBy, order, offset, n), nil
}
