package metadata

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The checks of an agent's arguments against a module's metadata. Each
// returns an error whose text is written for the agent: it names the
// argument (path), what is wrong and what to send instead. They are the
// proxy's own reading of Zoho's rules (reference §4, §5, §11): where the
// metadata does not say (an unknown data type), a value passes and Zoho
// decides.

// kind is how a field's values are checked.
type kind int

const (
	kindAny kind = iota // a data type the proxy does not check
	kindText
	kindEmail
	kindPicklist
	kindMultiPicklist
	kindInteger
	kindNumber
	kindBoolean
	kindDate
	kindDatetime
	kindLookup
)

// kinds maps Zoho's data_type to a kind.
var kinds = map[string]kind{
	"text": kindText, "textarea": kindText, "phone": kindText, "website": kindText, "autonumber": kindText,
	"email": kindEmail, "picklist": kindPicklist, "multiselectpicklist": kindMultiPicklist,
	"integer": kindInteger, "bigint": kindInteger, "long": kindInteger,
	"currency": kindNumber, "double": kindNumber, "decimal": kindNumber, "percent": kindNumber,
	"boolean": kindBoolean, "date": kindDate, "datetime": kindDatetime,
	"lookup": kindLookup, "ownerlookup": kindLookup, "userlookup": kindLookup,
}

// jsonKinds is the fallback for a data type kinds does not know.
var jsonKinds = map[string]kind{"integer": kindInteger, "double": kindNumber, "boolean": kindBoolean}

func kindOf(f tiers.FieldMeta) kind {
	if k, ok := kinds[f.DataType]; ok {
		return k
	}
	return jsonKinds[f.JSONType]
}

// typeName says what a field takes, for messages.
func typeName(f tiers.FieldMeta) string {
	switch kindOf(f) {
	case kindText, kindEmail:
		return "a string"
	case kindPicklist:
		return "one of its picklist values (a string)"
	case kindMultiPicklist:
		return "an array of its picklist values"
	case kindInteger:
		return "a whole number"
	case kindNumber:
		return "a number"
	case kindBoolean:
		return "true or false"
	case kindDate:
		return "a date \"YYYY-MM-DD\""
	case kindDatetime:
		return "a date-time with offset such as \"2026-03-05T09:12:44+05:30\""
	case kindLookup:
		return "a lookup {\"id\": \"<record id>\"}"
	}
	return "a value"
}

// UnknownFieldError is the answer for a name the module has no field for.
// The metadata may be stale (a field added in Zoho since it was read), so a
// caller may Refresh and check again before passing it on.
type UnknownFieldError struct {
	Module, Field string
	msg           string
}

// Error says which field is unknown and where to look.
func (e *UnknownFieldError) Error() string { return e.msg }

// unknownField is the error for a name the module has no field for: it
// suggests a field spelled the same way in another case, or one whose label
// is the name.
func (m *Module) unknownField(path, name string) error {
	e := &UnknownFieldError{Module: m.APIName, Field: name}
	e.msg = fmt.Sprintf("%s: module %s has no field %q; describe_module {\"module\": %q} lists its fields", path, m.APIName, tiers.Clip(name, 60), m.APIName)
	for _, f := range m.Fields {
		if strings.EqualFold(f.APIName, name) || strings.EqualFold(f.Label, strings.ReplaceAll(name, "_", " ")) {
			e.msg = fmt.Sprintf("%s: module %s has no field %q; did you mean %s? (API names are case-sensitive; describe_module lists them)", path, m.APIName, tiers.Clip(name, 60), f.APIName)
			break
		}
	}
	return e
}

// CheckFields checks that every name is a field of the module ("id"
// always is).
func (m *Module) CheckFields(path string, names []string) error {
	for i, n := range names {
		if n == "id" {
			continue
		}
		if _, ok := m.Field(n); !ok {
			return m.unknownField(fmt.Sprintf("%s[%d]", path, i), n)
		}
	}
	return nil
}

// ReadFields returns the fields a read of every field asks for (Zoho's list
// APIs need a list): the module's fields in Zoho's order that keep (nil
// keeps all) accepts, at most tiers.MaxFields.
func (m *Module) ReadFields(keep func(string) bool) []string {
	out := make([]string, 0, min(len(m.Fields), tiers.MaxFields))
	for _, f := range m.Fields {
		if len(out) == tiers.MaxFields {
			break
		}
		if f.APIName != "id" && (keep == nil || keep(f.APIName)) {
			out = append(out, f.APIName)
		}
	}
	return out
}

// CheckData checks a record's data: every key a field of the module that
// may be written, every value of the field's type (picklist values among
// the allowed ones, text within its length); on create, every required
// field present. Keys starting with $ (Zoho's system keys, e.g. $se_module)
// pass unchecked.
func (m *Module) CheckData(path string, data tiers.Record, create bool) error {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "$") {
			continue
		}
		f, ok := m.Field(k)
		if !ok {
			return m.unknownField(path, k)
		}
		if f.ReadOnly {
			return fmt.Errorf("%s.%s: field %s of %s is read-only (Zoho sets it); leave it out", path, k, k, m.APIName)
		}
		if err := checkValue(path+"."+k, f, data[k]); err != nil {
			return err
		}
	}
	if create {
		var missing []string
		for _, f := range m.Fields {
			if f.Required && !f.ReadOnly && f.APIName != "id" && isBlank(data[f.APIName]) {
				missing = append(missing, f.APIName)
			}
		}
		if len(missing) > 0 {
			noun := "field"
			if len(missing) > 1 {
				noun = "fields"
			}
			return fmt.Errorf("%s: a new %s record needs the required %s %s; add %s", path, m.singular(), noun, strings.Join(missing, ", "), strings.Join(missing, " and "))
		}
	}
	return nil
}

func (m *Module) singular() string {
	if m.SingularLabel != "" {
		return m.SingularLabel
	}
	return m.APIName
}

func isBlank(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []any:
		return len(v) == 0
	}
	return false
}

// checkValue checks one value of field f (null always passes: it clears
// the field; CheckData catches a required field left empty on create).
func checkValue(path string, f tiers.FieldMeta, v any) error {
	if v == nil {
		return nil
	}
	wrong := func() error {
		return fmt.Errorf("%s: field %s (%s) takes %s, got %s", path, f.APIName, f.DataType, typeName(f), describe(v))
	}
	switch kindOf(f) {
	case kindText, kindEmail:
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		if f.Length > 0 && utf8.RuneCountInString(s) > f.Length {
			return fmt.Errorf("%s: field %s takes at most %d characters, got %d", path, f.APIName, f.Length, utf8.RuneCountInString(s))
		}
		if kindOf(f) == kindEmail && s != "" && !looksLikeEmail(s) {
			return fmt.Errorf("%s: field %s takes an email address such as \"ada@example.com\", got %q", path, f.APIName, tiers.Clip(s, 60))
		}
	case kindPicklist:
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		return checkPick(path, f, s)
	case kindMultiPicklist:
		items, ok := v.([]any)
		if !ok {
			return wrong()
		}
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				return fmt.Errorf("%s[%d]: field %s takes picklist values (strings), got %s", path, i, f.APIName, describe(it))
			}
			if err := checkPick(fmt.Sprintf("%s[%d]", path, i), f, s); err != nil {
				return err
			}
		}
	case kindInteger:
		n, ok := v.(json.Number)
		if !ok {
			return wrong()
		}
		if _, err := n.Int64(); err != nil {
			return fmt.Errorf("%s: field %s takes a whole number, got %s", path, f.APIName, n)
		}
	case kindNumber:
		if _, ok := v.(json.Number); !ok {
			return wrong()
		}
	case kindBoolean:
		if _, ok := v.(bool); !ok {
			return wrong()
		}
	case kindDate:
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return fmt.Errorf("%s: field %s takes a date \"YYYY-MM-DD\" such as \"2026-03-31\", got %q", path, f.APIName, tiers.Clip(s, 60))
		}
	case kindDatetime:
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("%s: field %s takes a date-time with offset such as \"2026-03-05T09:12:44+05:30\", got %q", path, f.APIName, tiers.Clip(s, 60))
		}
	case kindLookup:
		switch x := v.(type) {
		case string:
			if !tiers.IsRecordID(x) {
				return fmt.Errorf("%s: field %s is a lookup%s: give {\"id\": \"<record id>\"}, got %q", path, f.APIName, lookupTarget(f), tiers.Clip(x, 60))
			}
		case map[string]any:
			id, _ := x["id"].(string)
			if !tiers.IsRecordID(id) {
				return fmt.Errorf("%s: field %s is a lookup%s: give {\"id\": \"<record id>\"} with the id as a string of digits", path, f.APIName, lookupTarget(f))
			}
		default:
			return wrong()
		}
	}
	return nil
}

func lookupTarget(f tiers.FieldMeta) string {
	switch {
	case f.Lookup != "":
		return " to " + f.Lookup
	case len(f.LookupModules) > 0:
		return " to " + strings.Join(f.LookupModules, ", ")
	}
	return ""
}

// checkPick checks a picklist value: one of the field's values (shown or
// stored). The message lists them all.
func checkPick(path string, f tiers.FieldMeta, s string) error {
	if len(f.Picklist) == 0 {
		return nil // no values known: Zoho decides
	}
	for _, p := range f.Picklist {
		if s == p.Display || s == p.Actual {
			return nil
		}
	}
	hint := ""
	for _, p := range f.Picklist {
		if strings.EqualFold(s, p.Display) {
			hint = fmt.Sprintf(" (did you mean %q?)", p.Display)
			break
		}
	}
	return fmt.Errorf("%s: %q is not a value of picklist %s%s; allowed values: %s", path, tiers.Clip(s, 60), f.APIName, hint, PicklistList(f))
}

// PicklistList renders a field's picklist values for a message: "Hot",
// "Warm", "Cold".
func PicklistList(f tiers.FieldMeta) string {
	parts := make([]string, len(f.Picklist))
	for i, p := range f.Picklist {
		parts[i] = fmt.Sprintf("%q", p.Display)
	}
	return strings.Join(parts, ", ")
}

// operators lists the search operators each kind of field takes (reference
// §5: operators by type).
var operators = map[kind][]tiers.Operator{
	kindText:          {tiers.OpEquals, tiers.OpNotEqual, tiers.OpStartsWith, tiers.OpIn},
	kindEmail:         {tiers.OpEquals, tiers.OpNotEqual, tiers.OpStartsWith, tiers.OpIn},
	kindPicklist:      {tiers.OpEquals, tiers.OpNotEqual, tiers.OpIn},
	kindMultiPicklist: {tiers.OpEquals, tiers.OpNotEqual, tiers.OpIn, tiers.OpStartsWith},
	kindBoolean:       {tiers.OpEquals, tiers.OpNotEqual},
	kindLookup:        {tiers.OpEquals, tiers.OpNotEqual, tiers.OpIn},
	kindInteger:       numericOps, kindNumber: numericOps, kindDate: numericOps, kindDatetime: numericOps,
}

var numericOps = []tiers.Operator{tiers.OpEquals, tiers.OpNotEqual, tiers.OpGreaterThan, tiers.OpGreaterEqual,
	tiers.OpLessThan, tiers.OpLessEqual, tiers.OpBetween, tiers.OpIn}

// CheckCondition checks a search condition: its field is one of the
// module's, its operator one the field's type takes, its values of the
// field's type (picklist values among the allowed ones).
func (m *Module) CheckCondition(path string, c tiers.Condition) error {
	if c.Field == "id" {
		return nil
	}
	f, ok := m.Field(c.Field)
	if !ok {
		return m.unknownField(path+".field", c.Field)
	}
	k := kindOf(f)
	if ops, known := operators[k]; known && !slices.Contains(ops, c.Op) {
		names := make([]string, len(ops))
		for i, o := range ops {
			names[i] = string(o)
		}
		return fmt.Errorf("%s.op: field %s (%s) takes the operators %s, not %s", path, f.APIName, f.DataType, strings.Join(names, ", "), c.Op)
	}
	for i, v := range c.Values {
		vp := path + ".value"
		if len(c.Values) > 1 || c.Op == tiers.OpIn || c.Op == tiers.OpBetween {
			vp = fmt.Sprintf("%s.value[%d]", path, i)
		}
		if err := checkConditionValue(vp, f, k, c.Op, v); err != nil {
			return err
		}
	}
	return nil
}

// checkConditionValue checks one value of a condition on f.
func checkConditionValue(path string, f tiers.FieldMeta, k kind, op tiers.Operator, v any) error {
	wrong := func(what string) error {
		return fmt.Errorf("%s: field %s (%s) is compared with %s, got %s", path, f.APIName, f.DataType, what, describe(v))
	}
	switch k {
	case kindInteger, kindNumber:
		if _, ok := v.(json.Number); !ok {
			return wrong("numbers")
		}
	case kindBoolean:
		if _, ok := v.(bool); !ok {
			return wrong("true or false")
		}
	case kindDate, kindDatetime:
		s, ok := v.(string)
		if !ok {
			return wrong("dates as strings")
		}
		layout := "2006-01-02"
		if k == kindDatetime {
			layout = time.RFC3339
		}
		if _, err := time.Parse(layout, s); err != nil {
			return fmt.Errorf("%s: field %s takes %s, got %q", path, f.APIName, typeName(f), tiers.Clip(s, 60))
		}
	case kindPicklist, kindMultiPicklist:
		s, ok := v.(string)
		if !ok {
			return wrong("picklist values (strings)")
		}
		if op != tiers.OpStartsWith {
			return checkPick(path, f, s)
		}
	case kindText, kindEmail:
		if _, ok := v.(string); !ok {
			return wrong("strings")
		}
	}
	return nil
}

func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n")
}

// describe names a JSON value's type for messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", tiers.Clip(x, 60))
	case json.Number:
		return "the number " + string(x)
	case bool:
		return fmt.Sprintf("%t", x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
