package zohosim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Bulk read criteria (reference §7.1): a single condition
// {"field":{"api_name":…},"comparator":…,"value":…} or a group
// {"group_operator":"and"|"or","group":[…]}, nestable. Text comparisons are
// case-insensitive. The value "${EMPTY}" with equal / not_equal tests for an
// empty field. An empty field matches only the negative comparators
// (not_equal, not_in, not_contains, not_between).

// bulkCriteria is the wire form of a criteria node.
type bulkCriteria struct {
	GroupOperator *string         `json:"group_operator,omitempty"`
	Group         []bulkCriteria  `json:"group,omitempty"`
	Field         *bulkFieldRef   `json:"field,omitempty"`
	Comparator    *string         `json:"comparator,omitempty"`
	Value         json.RawMessage `json:"value,omitempty"`
	Type          string          `json:"type,omitempty"`
}

type bulkFieldRef struct {
	APIName string `json:"api_name"`
}

// bulkMatcher reports whether a record satisfies compiled criteria.
type bulkMatcher func(Record) bool

// bulkCriteriaError is a 400 verdict on criteria; it becomes Zoho's envelope.
type bulkCriteriaError struct {
	code, message string
	details       map[string]any
}

const bulkEmptyValue = "${EMPTY}"

// bulkKind is how a field's values compare.
type bulkKind int

const (
	bulkKindText bulkKind = iota
	bulkKindPicklist
	bulkKindInt
	bulkKindFloat
	bulkKindTime
	bulkKindDate
	bulkKindBool
	bulkKindLookup
)

func bulkKindOf(t FieldType) bulkKind {
	switch t {
	case TypePicklist:
		return bulkKindPicklist
	case TypeID, TypeBigint, TypeInteger:
		return bulkKindInt
	case TypeCurrency, TypeDecimal, TypeDouble, TypePercent:
		return bulkKindFloat
	case TypeDatetime:
		return bulkKindTime
	case TypeDate:
		return bulkKindDate
	case TypeBoolean:
		return bulkKindBool
	case TypeLookup, TypeOwnerLookup:
		return bulkKindLookup
	default:
		return bulkKindText
	}
}

var bulkKindNames = map[bulkKind]string{bulkKindText: "text", bulkKindPicklist: "picklist", bulkKindInt: "integer",
	bulkKindFloat: "double", bulkKindTime: "datetime", bulkKindDate: "date", bulkKindBool: "boolean", bulkKindLookup: "lookup"}

// bulkComparatorsFor lists the comparators a kind of field accepts.
func bulkComparatorsFor(k bulkKind) []string {
	switch k {
	case bulkKindText:
		return []string{"equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"}
	case bulkKindPicklist, bulkKindLookup:
		return []string{"equal", "not_equal", "in", "not_in"}
	case bulkKindBool:
		return []string{"equal", "not_equal"}
	default: // numbers, datetimes
		return []string{"equal", "not_equal", "in", "not_in", "less_than", "less_equal", "greater_than",
			"greater_equal", "between", "not_between"}
	}
}

var bulkAllComparators = map[string]bool{"equal": true, "not_equal": true, "in": true, "not_in": true,
	"less_than": true, "less_equal": true, "greater_than": true, "greater_equal": true, "contains": true,
	"not_contains": true, "starts_with": true, "ends_with": true, "between": true, "not_between": true}

// compileBulkCriteria validates c against the fields of module mod and
// turns it into a bulkMatcher.
func compileBulkCriteria(mod *Module, c *bulkCriteria) (bulkMatcher, *bulkCriteriaError) {
	var conds, values int
	m, err := compileBulkNode(mod, c, &conds, &values)
	if err != nil {
		return nil, err
	}
	if conds > bulkCriteriaMax {
		return nil, &bulkCriteriaError{"CRITERIA_LIMIT_EXCEEDED", "the number of criteria exceeds the maximum of 25",
			map[string]any{"max_limit": bulkCriteriaMax}}
	}
	if values > bulkCriteriaValuesMax {
		return nil, &bulkCriteriaError{"VALUE_LIMIT_EXCEEDED_IN_CRITERIA", "the number of values in the criteria exceeds the maximum of 200",
			map[string]any{"max_limit": bulkCriteriaValuesMax}}
	}
	return m, nil
}

func compileBulkNode(mod *Module, c *bulkCriteria, conds, values *int) (bulkMatcher, *bulkCriteriaError) {
	isGroup := c.GroupOperator != nil || c.Group != nil
	isLeaf := c.Field != nil || c.Comparator != nil || c.Value != nil
	switch {
	case isGroup && isLeaf:
		return nil, &bulkCriteriaError{"AMBIGUOUS_CRITERIA", "a criteria node has both group and field/comparator/value keys", map[string]any{}}
	case isGroup:
		op := ""
		if c.GroupOperator != nil {
			op = strings.ToLower(*c.GroupOperator)
		}
		if op != "and" && op != "or" {
			return nil, &bulkCriteriaError{"GROUP_OPERATOR_NOT_SUPPORTED", "the group_operator must be and or or",
				map[string]any{"supported": []string{"and", "or"}}}
		}
		if len(c.Group) == 0 {
			return nil, &bulkCriteriaError{"INVALID_CRITERIA", "a criteria group needs at least one condition in group", map[string]any{}}
		}
		ms := make([]bulkMatcher, len(c.Group))
		for i := range c.Group {
			m, err := compileBulkNode(mod, &c.Group[i], conds, values)
			if err != nil {
				return nil, err
			}
			ms[i] = m
		}
		if op == "and" {
			return func(r Record) bool {
				for _, m := range ms {
					if !m(r) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(r Record) bool {
			for _, m := range ms {
				if m(r) {
					return true
				}
			}
			return false
		}, nil
	case isLeaf:
		*conds++
		return compileBulkLeaf(mod, c, values)
	default:
		return nil, &bulkCriteriaError{"INVALID_CRITERIA", "a criteria node needs field, comparator and value, or group_operator and group", map[string]any{}}
	}
}

func compileBulkLeaf(mod *Module, c *bulkCriteria, values *int) (bulkMatcher, *bulkCriteriaError) {
	if c.Field == nil || c.Field.APIName == "" || c.Comparator == nil || c.Value == nil {
		return nil, &bulkCriteriaError{"INVALID_CRITERIA", "a criteria condition needs field.api_name, comparator and value", map[string]any{}}
	}
	f, ok := mod.Field(c.Field.APIName)
	if !ok {
		return nil, &bulkCriteriaError{"FIELD_NOT_AVAILABLE", "the field " + c.Field.APIName + " used in the criteria does not exist in " + mod.APIName,
			map[string]any{"api_name": c.Field.APIName}}
	}
	cmp := *c.Comparator
	kind := bulkKindOf(f.Type)
	supported := bulkComparatorsFor(kind)
	if !bulkAllComparators[cmp] || !bulkContains(supported, cmp) {
		return nil, &bulkCriteriaError{"FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED", "the comparator " + cmp + " is not supported for the field " + f.APIName,
			map[string]any{"api_name": f.APIName, "comparator": cmp, "supported": supported}}
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(c.Value))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, &bulkCriteriaError{"INVALID_CRITERIA", "the criteria value is not valid JSON", map[string]any{"api_name": f.APIName}}
	}
	notCompatible := func() *bulkCriteriaError {
		return &bulkCriteriaError{"COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
			"the value given for " + f.APIName + " does not fit the comparator " + cmp,
			map[string]any{"api_name": f.APIName, "comparator": cmp, "value": raw}}
	}
	list, isList := raw.([]any)
	switch cmp {
	case "in", "not_in":
		if !isList || len(list) == 0 {
			return nil, notCompatible()
		}
	case "between", "not_between":
		if !isList || len(list) != 2 {
			return nil, notCompatible()
		}
	default:
		if isList {
			return nil, notCompatible()
		}
		list = []any{raw}
	}
	*values += len(list)
	if s, ok := raw.(string); ok && s == bulkEmptyValue {
		if cmp != "equal" && cmp != "not_equal" {
			return nil, notCompatible()
		}
		want := cmp == "equal"
		name := f.APIName
		return func(r Record) bool { return bulkIsEmpty(r[name]) == want }, nil
	}
	vals := make([]any, len(list))
	for i, v := range list {
		pv, ok := bulkParseCriteriaValue(kind, v)
		if !ok {
			return nil, &bulkCriteriaError{"VALUE_TYPE_NOT_SUPPORTED", "a value given for " + f.APIName + " is not a valid " + bulkKindNames[kind],
				map[string]any{"api_name": f.APIName, "supported": []string{bulkKindNames[kind]}}}
		}
		vals[i] = pv
	}
	if cmp == "between" || cmp == "not_between" {
		if bulkCompare(kind, vals[0], vals[1]) > 0 {
			return nil, notCompatible()
		}
	}
	name := f.APIName
	return func(r Record) bool {
		v, ok := bulkRecordValue(kind, r[name])
		if !ok {
			return cmp == "not_equal" || cmp == "not_in" || cmp == "not_contains" || cmp == "not_between"
		}
		return bulkEvalLeaf(kind, cmp, v, vals)
	}, nil
}

func bulkContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func bulkIsEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	}
	return false
}

// bulkParseCriteriaValue converts one criteria value (decoded with UseNumber) to
// the comparable form of kind.
func bulkParseCriteriaValue(kind bulkKind, v any) (any, bool) {
	switch kind {
	case bulkKindInt:
		switch v := v.(type) {
		case json.Number:
			n, err := strconv.ParseInt(string(v), 10, 64)
			return n, err == nil
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	case bulkKindFloat:
		switch v := v.(type) {
		case json.Number:
			n, err := strconv.ParseFloat(string(v), 64)
			return n, err == nil
		case string:
			n, err := strconv.ParseFloat(v, 64)
			return n, err == nil
		}
	case bulkKindTime, bulkKindDate:
		if s, ok := v.(string); ok {
			t, err := time.Parse(bulkTimeLayout(kind), s)
			return t, err == nil
		}
	case bulkKindBool:
		switch v := v.(type) {
		case bool:
			return v, true
		case string:
			b, err := strconv.ParseBool(v)
			return b, err == nil && (v == "true" || v == "false")
		}
	case bulkKindLookup:
		switch v := v.(type) {
		case string:
			_, ok := ParseID(v)
			return v, ok
		case map[string]any:
			id, ok := v["id"].(string)
			if !ok {
				return nil, false
			}
			_, ok = ParseID(id)
			return id, ok
		}
	default:
		if s, ok := v.(string); ok {
			return strings.ToLower(s), true
		}
	}
	return nil, false
}

// bulkRecordValue converts a stored value to the comparable form of kind; ok is
// false for an empty value.
func bulkRecordValue(kind bulkKind, v any) (any, bool) {
	if bulkIsEmpty(v) {
		return nil, false
	}
	switch kind {
	case bulkKindInt:
		switch v := v.(type) {
		case int64:
			return v, true
		case int:
			return int64(v), true
		case float64:
			return int64(v), true
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	case bulkKindFloat:
		switch v := v.(type) {
		case float64:
			return v, true
		case int64:
			return float64(v), true
		case int:
			return float64(v), true
		}
	case bulkKindTime, bulkKindDate:
		if s, ok := v.(string); ok {
			t, err := time.Parse(bulkTimeLayout(kind), s)
			return t, err == nil
		}
	case bulkKindBool:
		b, ok := v.(bool)
		return b, ok
	case bulkKindLookup:
		id := bulkCSVValue(v)
		return id, id != ""
	default:
		switch v := v.(type) {
		case string:
			return strings.ToLower(v), true
		case []string: // a multi-select picklist compares as its CSV cell
			return strings.ToLower(strings.Join(v, ";")), true
		}
	}
	return nil, false
}

// bulkTimeLayout is the layout of datetime or date values.
func bulkTimeLayout(kind bulkKind) string {
	if kind == bulkKindDate {
		return time.DateOnly
	}
	return time.RFC3339
}

// bulkCompare orders two comparable values of kind: -1, 0 or 1.
func bulkCompare(kind bulkKind, a, b any) int {
	switch kind {
	case bulkKindInt:
		x, y := a.(int64), b.(int64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bulkKindFloat:
		x, y := a.(float64), b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bulkKindTime, bulkKindDate:
		return a.(time.Time).Compare(b.(time.Time))
	case bulkKindBool:
		if a.(bool) == b.(bool) {
			return 0
		}
		if !a.(bool) {
			return -1
		}
		return 1
	default:
		return strings.Compare(a.(string), b.(string))
	}
}

func bulkEvalLeaf(kind bulkKind, cmp string, v any, vals []any) bool {
	switch cmp {
	case "equal":
		return bulkCompare(kind, v, vals[0]) == 0
	case "not_equal":
		return bulkCompare(kind, v, vals[0]) != 0
	case "in", "not_in":
		found := false
		for _, x := range vals {
			if bulkCompare(kind, v, x) == 0 {
				found = true
				break
			}
		}
		return found == (cmp == "in")
	case "less_than":
		return bulkCompare(kind, v, vals[0]) < 0
	case "less_equal":
		return bulkCompare(kind, v, vals[0]) <= 0
	case "greater_than":
		return bulkCompare(kind, v, vals[0]) > 0
	case "greater_equal":
		return bulkCompare(kind, v, vals[0]) >= 0
	case "between", "not_between":
		in := bulkCompare(kind, v, vals[0]) >= 0 && bulkCompare(kind, v, vals[1]) <= 0
		return in == (cmp == "between")
	case "contains":
		return strings.Contains(v.(string), vals[0].(string))
	case "not_contains":
		return !strings.Contains(v.(string), vals[0].(string))
	case "starts_with":
		return strings.HasPrefix(v.(string), vals[0].(string))
	case "ends_with":
		return strings.HasSuffix(v.(string), vals[0].(string))
	}
	return false
}
