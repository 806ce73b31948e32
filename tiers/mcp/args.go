package mcp

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// A call's arguments are described once, by tool.build, as a toolArgs, and
// rendered in one of two ways: object, the map[string]any mcp-go's
// Client.CallTool marshals (the 2026-07-28 era), and appendParams, the
// tools/call params as JSON bytes for the raw path (the 2025 era), without
// the maps: no map per section, no reflection and no key sorting at send
// time. appendParams writes exactly the bytes json.Marshal writes for
// mcp.CallToolParams{Name, Arguments: object()} (keys sorted, HTML
// characters escaped, numbers in its format), so an upstream cannot tell
// the two apart; args_test.go holds it to that.

// placed is one argument where the tool wants it.
type placed struct {
	section string // an envelope section; "" for a top-level (flat) argument
	key     string // the name the tool's schema gives it
	value   any
}

// top is the name of the top-level member placed p is in or is.
func (p placed) top() string {
	if p.section == "" {
		return p.key
	}
	return p.section
}

// comparePlaced orders arguments as encoding/json orders the keys of the
// object form: by top-level name, then (within a section) by key.
func comparePlaced(a, b placed) int {
	if c := strings.Compare(a.top(), b.top()); c != 0 {
		return c
	}
	if a.section == "" || b.section == "" { // a flat argument and a section never share a name (newTool)
		return strings.Compare(a.section, b.section)
	}
	return strings.Compare(a.key, b.key)
}

// toolArgs is the argument object of one call: each argument once, in the
// order of comparePlaced. A section name is never a flat argument's name:
// newTool sorts each property of a schema into one or the other.
type toolArgs []placed

// put adds p; an argument already at p's place takes p's value, as a
// second assignment to the same map key would.
func (as toolArgs) put(p placed) toolArgs {
	i, found := slices.BinarySearchFunc(as, p, comparePlaced)
	if found {
		as[i].value = p.value
		return as
	}
	return slices.Insert(as, i, p)
}

// object renders as as the argument map: section objects holding their
// arguments, flat arguments at the top. It is never nil.
func (as toolArgs) object() map[string]any {
	out := map[string]any{}
	for _, p := range as {
		if p.section == "" {
			out[p.key] = p.value
			continue
		}
		m, _ := out[p.section].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[p.section] = m
		}
		m[p.key] = p.value
	}
	return out
}

// appendParams appends the tools/call params of tool name with args as
// json.Marshal(mcp.CallToolParams{Name: name, Arguments: args.object()})
// writes them, errors included (an argument value it cannot encode).
func appendParams(dst []byte, name string, args toolArgs) ([]byte, error) {
	dst = append(dst, `{"name":`...)
	dst = appendString(dst, name)
	dst = append(dst, `,"arguments":`...)
	dst, err := args.appendJSON(dst)
	if err != nil {
		// What json.Marshal makes of an error in CallToolParams.MarshalJSON.
		return nil, &json.MarshalerError{Type: reflect.TypeFor[mcpgo.CallToolParams](), Err: err}
	}
	return append(dst, '}'), nil
}

// paramsSize is a guess at the length of appendParams' output, to size its
// buffer once in the usual case (string and small number arguments).
func paramsSize(name string, args toolArgs) int {
	n := len(name) + 32
	for _, p := range args {
		n += len(p.section) + len(p.key) + 8
		switch v := p.value.(type) {
		case string:
			n += len(v)
		default:
			n += 24
		}
	}
	return n
}

// appendJSON appends as's object form as json.Marshal writes it. as is in
// key order already, and a section's arguments are next to each other.
func (as toolArgs) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	open := false // the previous argument's section object is open
	for i, p := range as {
		if open && p.section == as[i-1].section {
			dst = append(dst, ',')
		} else {
			if open {
				dst = append(dst, '}')
				open = false
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			if p.section != "" {
				dst = appendString(dst, p.section)
				dst = append(dst, ':', '{')
				open = true
			}
		}
		dst = appendString(dst, p.key)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, p.value); err != nil {
			return nil, err
		}
	}
	if open {
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// appendValue appends v as json.Marshal writes it: the types arguments
// usually have directly, any other through json.Marshal itself.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendString appends s as a JSON string as json.Marshal writes it. A
// string of printable ASCII that needs no escape (ids, module and field
// names, the usual query) is copied between quotes; any other goes through
// json.Marshal, whose escaping (of <, > and &, of U+2028 and U+2029, of
// invalid UTF-8 as U+FFFD) is then the one used.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
