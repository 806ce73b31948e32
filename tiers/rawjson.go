package tiers

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// The functions here read a record's JSON object (RawGetter) without decoding it into a
// tiers.Record: a read the proxy passes through needs only a few top-level
// fields (id, a name for the summary), and redaction or projection only
// drops some of them. Each takes a valid JSON value (one that decoded as a
// json.RawMessage, or passed json.Valid) and walks its top level once.

// EachField calls fn with every top-level key of the JSON object obj (its
// bytes between the quotes, escapes as written) and the bytes of its value,
// in order, until fn returns false. It reports false when obj is not an
// object. obj must be valid JSON.
func EachField(obj []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return true
		}
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		kEnd := skipString(obj, i)
		key := obj[i+1 : kEnd-1]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		vEnd := skipValue(obj, i)
		if !fn(key, obj[i:vEnd]) {
			return true
		}
		i = vEnd
	}
}

// EachElement calls fn with the bytes of every element of the JSON array
// arr, in order, until fn returns false. It reports false when arr is not
// an array. arr must be valid JSON.
func EachElement(arr []byte, fn func(elem []byte) bool) bool {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i++
	for {
		i = skipSpace(arr, i)
		if i >= len(arr) || arr[i] == ']' {
			return true
		}
		if arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
		end := skipValue(arr, i)
		if !fn(arr[i:end]) {
			return true
		}
		i = end
	}
}

// FirstObject returns the JSON object b starts with (after JSON
// whitespace), as a json.Decoder reading b would take it: whatever follows
// the object is left alone. ok is false when b does not start with an
// object or that object is not valid JSON. Unlike the other functions
// here, it takes any bytes.
func FirstObject(b []byte) (obj []byte, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	// On valid JSON skipValue ends where the decoder's scanner does; on
	// anything else, what it spans is not valid either.
	obj = b[i:skipValue(b, i)]
	return obj, Valid(obj)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string that opens at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t' {
		i++
	}
	return i
}

// KeyIs reports whether a key as EachField gives it is name, once
// unescaped: the exact match a map key needs (FieldIs is a struct field's).
func KeyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == name
	}
	return KeyString(key) == name
}

// FieldIs reports whether a key as EachField gives it names the struct
// field name for encoding/json: equal under Unicode case folding once
// unescaped, as json.Unmarshal matches keys to fields (KeyIs is the exact
// match a map key needs).
func FieldIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		// Invalid UTF-8 decodes to U+FFFD on both sides of EqualFold,
		// which never folds to a letter of name.
		return bytes.EqualFold(key, []byte(name))
	}
	return strings.EqualFold(KeyString(key), name)
}

// KeyString is a key as EachField gives it, unescaped (and invalid UTF-8
// replaced, as encoding/json does).
func KeyString(key []byte) string {
	if bytes.IndexByte(key, '\\') < 0 && utf8.Valid(key) {
		return string(key)
	}
	q := make([]byte, 0, len(key)+2)
	q = append(append(append(q, '"'), key...), '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(key)
	}
	return s
}

// RawStrings returns top-level string fields of the object obj, in the
// order of names: "" for one that is absent or not a string (as a Record's
// r[name].(string) would be). The last of duplicate keys wins, as when
// decoding. It walks obj once.
func RawStrings(obj []byte, names ...string) []string {
	vals := make([][]byte, len(names))
	EachField(obj, func(k, v []byte) bool {
		for i, n := range names {
			if KeyIs(k, n) {
				vals[i] = v
			}
		}
		return true
	})
	out := make([]string, len(names))
	for i, v := range vals {
		out[i] = rawString(v)
	}
	return out
}

// rawString is the JSON string val decoded, or "" when val is no string.
func rawString(val []byte) string {
	if len(val) < 2 || val[0] != '"' {
		return ""
	}
	if inner := val[1 : len(val)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	if json.Unmarshal(val, &s) != nil {
		return ""
	}
	return s
}

// RawID returns the id of a record's JSON object ("" when it has none, or
// it is not a string). ok is false when rec is neither an object nor null:
// not a record at all.
func RawID(rec []byte) (id string, ok bool) {
	b := bytes.TrimSpace(rec)
	if string(b) == "null" {
		return "", true
	}
	if len(b) == 0 || b[0] != '{' {
		return "", false
	}
	return RawStrings(b, "id")[0], true
}

// FilterFields returns the object obj with only the top-level fields keep
// accepts, in their order; obj itself when keep accepts them all.
func FilterFields(obj json.RawMessage, keep func(key []byte) bool) json.RawMessage {
	all := true
	EachField(obj, func(k, _ []byte) bool {
		all = keep(k)
		return all
	})
	if all {
		return obj
	}
	out := make([]byte, 1, len(obj))
	out[0] = '{'
	EachField(obj, func(k, v []byte) bool {
		if keep(k) {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(append(append(append(out, '"'), k...), '"', ':'), v...)
		}
		return true
	})
	return append(out, '}')
}

// ProjectRaw keeps only id and fields of the record obj, as a tier that
// ignored a fields parameter must; no fields keeps everything.
func ProjectRaw(obj json.RawMessage, fields []string) json.RawMessage {
	if len(fields) == 0 {
		return obj
	}
	return FilterFields(obj, func(k []byte) bool {
		key := KeyString(k)
		return key == "id" || slices.Contains(fields, key)
	})
}
