package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Limits of the tool arguments that are the proxy's own (SPEC §4). Zoho's
// limits, which the arguments must also keep, are in tiers (tiers.MaxFields,
// tiers.MaxListIDs, MaxPageSize, tiers.MaxInValues, MaxSearchConditions,
// MaxBulkReadConditions, MaxBulkWriteRecords, MaxPageTokenLen).
const (
	defaultLimit  = 20     // records per page when the agent gives no limit
	maxBulkIDs    = 25_000 // bulk_read_accounts account_ids
	maxFilters    = 10     // get_accounts filters
	maxDataFields = 200    // fields of one record's data
	maxValueLen   = 1000   // bytes of a condition value
	maxDepth      = 5      // nesting of a data value
)

// argError is a validation failure; its text is shown to the agent.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func argErr(format string, a ...any) error { return &argError{fmt.Sprintf(format, a...)} }

// rawArguments returns the call's arguments as JSON; absent arguments are {}.
func rawArguments(req mcp.CallToolRequest) []byte {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments
	}
	switch a := req.Params.Arguments.(type) {
	case nil:
		return []byte("{}")
	case json.RawMessage:
		return a
	case []byte:
		return a
	default:
		b, err := json.Marshal(a)
		if err != nil {
			return []byte("null")
		}
		return b
	}
}

// args is a decoded arguments object checked against the tool's keys.
type args struct {
	m    map[string]json.RawMessage
	prof *permissions.Profile
	// module is the module the arguments are about: the module argument
	// of a generic tool once decoded, Accounts for the Account tools.
	module string
}

// mod returns the module the arguments are about (Module when none was
// named).
func (a *args) mod() string {
	if a.module == "" {
		return Module
	}
	return a.module
}

// parseArgs decodes raw as a JSON object whose keys are all in allowed. All
// unknown keys are named at once.
func parseArgs(raw []byte, prof *permissions.Profile, allowed ...string) (*args, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	m, ok := objectFields(raw)
	if !ok {
		return nil, argErr("arguments must be a JSON object")
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		accepted := "no arguments"
		if len(allowed) > 0 {
			accepted = strings.Join(allowed, ", ")
		}
		noun := "argument"
		if len(unknown) > 1 {
			noun = "arguments"
		}
		return nil, argErr("unknown %s %s; this tool accepts: %s", noun, strings.Join(unknown, ", "), accepted)
	}
	return &args{m: m, prof: prof}, nil
}

// objectFields is json.Unmarshal of raw into a map[string]json.RawMessage
// without decoding: the top-level fields of the JSON object raw, each
// value the bytes raw holds (not a copy), the last of duplicate keys
// winning. ok is false when raw is not a valid JSON object.
func objectFields(raw []byte) (m map[string]json.RawMessage, ok bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	m = map[string]json.RawMessage{}
	ok = tiers.EachField(raw, func(k, v []byte) bool {
		m[tiers.KeyString(k)] = v
		return true
	})
	return m, ok
}

// has reports whether key is present and not null. A null is treated as
// absent: agents often send null for an optional argument.
func (a *args) has(key string) bool {
	v, ok := a.m[key]
	return ok && !isNull(v)
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// kind names the JSON type of v for messages.
func kind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// unquote is json.Unmarshal of v into a string, without the decoder for
// a plain string (no escapes, no control characters, valid UTF-8): its
// bytes between the quotes.
func unquote(v json.RawMessage) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		inner := v[1 : len(v)-1]
		plain := utf8.Valid(inner)
		for _, c := range inner {
			if c < 0x20 || c == '"' || c == '\\' {
				plain = false
				break
			}
		}
		if plain {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

func decodeString(path string, v json.RawMessage, maxLen int) (string, error) {
	s, err := unquote(v)
	if err != nil {
		return "", argErr("%s must be a string, got %s", path, kind(v))
	}
	if !utf8.ValidString(s) {
		return "", argErr("%s must be valid UTF-8", path)
	}
	if len(s) > maxLen {
		return "", argErr("%s is %d bytes long; at most %d are allowed", path, len(s), maxLen)
	}
	return s, nil
}

// str returns the optional string argument key; "" when absent.
func (a *args) str(key string, maxLen int) (string, error) {
	if !a.has(key) {
		return "", nil
	}
	s, err := decodeString(key, a.m[key], maxLen)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", argErr("%s is empty; give a value or leave it out", key)
	}
	return s, nil
}

func checkID(path, id string) error {
	if !tiers.IsRecordID(id) {
		return argErr("%s must be a Zoho record id: a string of 1–19 digits such as \"3652397000000624001\" (got %q)", path, tiers.Clip(id, 60))
	}
	return nil
}

func decodeID(path string, v json.RawMessage) (string, error) {
	s, err := unquote(v)
	if err != nil {
		hint := ""
		if kind(v) == "a number" {
			hint = "; quote it, ids are strings"
		}
		return "", argErr("%s must be a string of 1–19 digits, got %s%s", path, kind(v), hint)
	}
	return s, checkID(path, s)
}

// id returns the id argument key; "" when absent.
func (a *args) id(key string) (string, error) {
	if !a.has(key) {
		return "", nil
	}
	return decodeID(key, a.m[key])
}

// array decodes the optional array argument key into raw items, checking its
// length is 1..max.
func decodeArray(path string, v json.RawMessage, max int, what string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, argErr("%s must be an array of %s, got %s", path, what, kind(v))
	}
	if len(items) == 0 {
		return nil, argErr("%s is empty; give at least one of %s or leave it out", path, what)
	}
	if len(items) > max {
		return nil, argErr("%s has %d items; at most %d are allowed", path, len(items), max)
	}
	return items, nil
}

// ids returns the optional list of unique record ids under key.
func (a *args) ids(key string, max int) ([]string, error) {
	if !a.has(key) {
		return nil, nil
	}
	items, err := decodeArray(key, a.m[key], max, "ids")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, it := range items {
		id, err := decodeID(fmt.Sprintf("%s[%d]", key, i), it)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[id]; dup {
			return nil, argErr("%s[%d] repeats id %s (already at %s[%d]); list each id once", key, i, id, key, j)
		}
		seen[id] = i
		out = append(out, id)
	}
	return out, nil
}

// seModule is Zoho's key for the module a multi-module lookup points to.
const seModule = "$se_module"

// checkField checks that name is a Zoho API name the caller may use.
func (a *args) checkField(path, name string) error {
	if !tiers.IsAPIName(name) {
		return argErr("%s: %q is not a Zoho field API name (letters, digits and _, starting with a letter, e.g. Account_Name)", path, tiers.Clip(name, 60))
	}
	if a.prof.DeniedIn(a.mod(), name) {
		return argErr("%s: field %s is denied for profile %q; remove it", path, name, a.prof.Name)
	}
	return nil
}

// fields returns the optional fields argument: unique API names the caller
// may read.
func (a *args) fields() ([]string, error) {
	const key = "fields"
	if !a.has(key) {
		return nil, nil
	}
	items, err := decodeArray(key, a.m[key], tiers.MaxFields, "field API names")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", key, i)
		s, err := decodeString(path, it, 100)
		if err != nil {
			return nil, err
		}
		if err := a.checkField(path, s); err != nil {
			return nil, err
		}
		if slices.Contains(out, s) {
			return nil, argErr("%s repeats field %s; list each field once", path, s)
		}
		out = append(out, s)
	}
	return out, nil
}

// integer returns the optional integer argument key in [min, max], def when
// absent.
func (a *args) integer(key string, min, max, def int) (int, error) {
	if !a.has(key) {
		return def, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(a.m[key]))
	dec.UseNumber()
	if kind(a.m[key]) != "a number" || dec.Decode(&n) != nil {
		return 0, argErr("%s must be an integer from %d to %d, got %s", key, min, max, kind(a.m[key]))
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) {
		return 0, argErr("%s must be a whole number from %d to %d (got %s)", key, min, max, n)
	}
	if f < float64(min) || f > float64(max) {
		return 0, argErr("%s must be from %d to %d (got %s)", key, min, max, n)
	}
	return int(f), nil
}

// enum returns the optional string argument key, one of values; def when
// absent.
func (a *args) enum(key string, def string, values ...string) (string, error) {
	if !a.has(key) {
		return def, nil
	}
	s, err := decodeString(key, a.m[key], 100)
	if err != nil {
		return "", err
	}
	if !slices.Contains(values, s) {
		return "", argErr("%s must be one of %s (got %q)", key, strings.Join(values, ", "), tiers.Clip(s, 60))
	}
	return s, nil
}

// Trigger names accepted by Zoho's trigger parameter.
var triggerNames = []string{"workflow", "approval", "blueprint", "pathfinder", "orchestration"}

// trigger returns the optional trigger list: nil when absent (Zoho's
// default), empty when the agent turned every trigger off.
func (a *args) trigger() ([]string, error) {
	const key = "trigger"
	if !a.has(key) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(a.m[key], &items); err != nil {
		return nil, argErr("trigger must be an array of trigger names (%s), got %s", strings.Join(triggerNames, ", "), kind(a.m[key]))
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		path := fmt.Sprintf("trigger[%d]", i)
		s, err := decodeString(path, it, 50)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(triggerNames, s) {
			return nil, argErr("%s must be one of %s (got %q)", path, strings.Join(triggerNames, ", "), tiers.Clip(s, 60))
		}
		if slices.Contains(out, s) {
			return nil, argErr("%s repeats %q; list each trigger once", path, s)
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeScalar decodes a condition value: a string, number or boolean.
func decodeScalar(path string, v json.RawMessage) (any, error) {
	switch kind(v) {
	case "a string":
		return decodeString(path, v, maxValueLen)
	case "a number":
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return nil, argErr("%s is not a valid number", path)
		}
		return n, nil
	case "a boolean":
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return nil, argErr("%s is not a valid boolean", path)
		}
		return b, nil
	default:
		return nil, argErr("%s must be a string, number or boolean, got %s", path, kind(v))
	}
}

// operators lists the search operators of SPEC §4 in documentation order.
var operators = []tiers.Operator{
	tiers.OpEquals, tiers.OpNotEqual, tiers.OpStartsWith, tiers.OpIn,
	tiers.OpGreaterThan, tiers.OpGreaterEqual, tiers.OpLessThan, tiers.OpLessEqual, tiers.OpBetween,
}

func operatorNames() []string {
	out := make([]string, len(operators))
	for i, o := range operators {
		out[i] = string(o)
	}
	return out
}

var conditionKeys = []string{"field", "op", "value"}

// conditions returns the optional where argument under key.
func (a *args) conditions(key string, max int) ([]tiers.Condition, error) {
	if !a.has(key) {
		return nil, nil
	}
	items, err := decodeArray(key, a.m[key], max, "conditions {field, op, value}")
	if err != nil {
		return nil, err
	}
	out := make([]tiers.Condition, 0, len(items))
	for i, it := range items {
		c, err := a.condition(fmt.Sprintf("%s[%d]", key, i), it)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (a *args) condition(path string, v json.RawMessage) (tiers.Condition, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		return tiers.Condition{}, argErr("%s must be an object {field, op, value}, got %s", path, kind(v))
	}
	for k := range m {
		if !slices.Contains(conditionKeys, k) {
			return tiers.Condition{}, argErr("%s: unknown key %q; a condition has field, op and value", path, tiers.Clip(k, 60))
		}
	}
	for _, k := range conditionKeys {
		if _, ok := m[k]; !ok || isNull(m[k]) {
			return tiers.Condition{}, argErr("%s.%s is required; a condition has field, op and value", path, k)
		}
	}
	field, err := decodeString(path+".field", m["field"], 100)
	if err != nil {
		return tiers.Condition{}, err
	}
	if err := a.checkField(path+".field", field); err != nil {
		return tiers.Condition{}, err
	}
	opName, err := decodeString(path+".op", m["op"], 50)
	if err != nil {
		return tiers.Condition{}, err
	}
	op := tiers.Operator(opName)
	if !slices.Contains(operators, op) {
		return tiers.Condition{}, argErr("%s.op must be one of %s (got %q)", path, strings.Join(operatorNames(), ", "), tiers.Clip(opName, 60))
	}
	c := tiers.Condition{Field: field, Op: op}
	vpath := path + ".value"
	switch op {
	case tiers.OpIn, tiers.OpBetween:
		var items []json.RawMessage
		if err := json.Unmarshal(m["value"], &items); err != nil {
			if op == tiers.OpIn {
				return c, argErr("%s must be an array of 1–%d values for op \"in\", got %s", vpath, tiers.MaxInValues, kind(m["value"]))
			}
			return c, argErr("%s must be an array of exactly 2 values [low, high] for op \"between\", got %s", vpath, kind(m["value"]))
		}
		if op == tiers.OpIn && (len(items) == 0 || len(items) > tiers.MaxInValues) {
			return c, argErr("%s has %d values; op \"in\" takes 1–%d", vpath, len(items), tiers.MaxInValues)
		}
		if op == tiers.OpBetween && len(items) != 2 {
			return c, argErr("%s has %d values; op \"between\" takes exactly 2 [low, high]", vpath, len(items))
		}
		for j, it := range items {
			s, err := decodeScalar(fmt.Sprintf("%s[%d]", vpath, j), it)
			if err != nil {
				return c, err
			}
			c.Values = append(c.Values, s)
		}
	default:
		if kind(m["value"]) == "an array" {
			return c, argErr("%s must be a single value for op %q; use op \"in\" for a list", vpath, op)
		}
		s, err := decodeScalar(vpath, m["value"])
		if err != nil {
			return c, err
		}
		if op == tiers.OpStartsWith {
			str, ok := s.(string)
			if !ok || str == "" {
				return c, argErr("%s must be a non-empty string for op \"starts_with\"", vpath)
			}
		}
		c.Values = []any{s}
	}
	return c, nil
}

// data returns the record data under path: a non-empty object whose keys are
// API names the caller may write and whose values are JSON values (scalars,
// lookup objects such as {"id": "..."}, or arrays for multi-select fields).
// Numbers stay json.Number so that large values keep their digits.
func (a *args) data(path string, v json.RawMessage) (tiers.Record, error) {
	if kind(v) != "an object" {
		return nil, argErr("%s must be an object of field API name → value, got %s", path, kind(v))
	}
	var rec map[string]any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil {
		return nil, argErr("%s is not a valid JSON object", path)
	}
	if len(rec) == 0 {
		return nil, argErr("%s is empty; give at least one field to change, e.g. {\"Phone\": \"+1 555 0100\"}", path)
	}
	if len(rec) > maxDataFields {
		return nil, argErr("%s has %d fields; at most %d are allowed", path, len(rec), maxDataFields)
	}
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "id" {
			return nil, argErr("%s must not contain id; the record is named by its id argument", path)
		}
		if k == seModule && a.module != "" {
			// A generic tool's record names the module of its multi-module
			// lookup (a task's What_Id) in Zoho's $se_module key.
			if m, ok := rec[k].(string); !ok || !tiers.IsModuleName(m) {
				return nil, argErr("%s.%s must be the module API name of the record the lookup points to, e.g. \"Accounts\"", path, seModule)
			}
			continue
		}
		if err := a.checkField(path, k); err != nil {
			return nil, err
		}
		if err := checkValue(path+"."+k, rec[k], 0); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func checkValue(path string, v any, depth int) error {
	if depth > maxDepth {
		return argErr("%s is nested more than %d levels deep", path, maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, json.Number:
		return nil
	case string:
		if len(x) > 32_000 {
			return argErr("%s is longer than 32,000 bytes", path)
		}
		return nil
	case []any:
		for i, e := range x {
			if err := checkValue(fmt.Sprintf("%s[%d]", path, i), e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for k, e := range x {
			if err := checkValue(path+"."+k, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	default:
		return argErr("%s has an unsupported value", path)
	}
}

// isArgError reports whether err is a validation failure.
func isArgError(err error) bool {
	var ae *argError
	return errors.As(err, &ae)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
