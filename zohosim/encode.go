package zohosim

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// A hand-written encoder for records: encoding/json reflects over every map
// value and sorts keys on each call, which was most of a GET's CPU. Records
// come out with the registry's field order (id first) and any other keys
// sorted after them; the bytes decode to exactly what encoding/json produces.

// writeRecords writes {"data":[records…]} plus "info" when info is not nil;
// m gives the key order.
func writeRecords(w http.ResponseWriter, status int, data []Record, info any, m *Module) {
	b := make([]byte, 0, 512*len(data)+256)
	b = append(b, `{"data":[`...)
	for i, r := range data {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, r, m)
	}
	b = append(b, ']')
	if info != nil {
		ib, err := json.Marshal(info)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Internal Server Error", nil)
			return
		}
		b = append(b, `,"info":`...)
		b = append(b, ib...)
	}
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// appendRecord appends r as a JSON object, m's fields first in their order.
func appendRecord(b []byte, r Record, m *Module) []byte {
	b = append(b, '{')
	first := true
	n := 0
	for i := range m.Fields {
		k := m.Fields[i].APIName
		v, ok := r[k]
		if !ok {
			continue
		}
		n++
		b = appendKey(b, k, &first)
		b = appendValue(b, v)
	}
	if n < len(r) {
		var rest []string
		for k := range r {
			if _, known := m.index[k]; !known {
				rest = append(rest, k)
			}
		}
		slices.Sort(rest)
		for _, k := range rest {
			b = appendKey(b, k, &first)
			b = appendValue(b, r[k])
		}
	}
	return append(b, '}')
}

func appendKey(b []byte, k string, first *bool) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = appendString(b, k)
	return append(b, ':')
}

// appendMap appends a small map (lookups) with sorted keys.
func appendMap(b []byte, m map[string]any) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	first := true
	for _, k := range keys {
		b = appendKey(b, k, &first)
		b = appendValue(b, m[k])
	}
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return appendFloat(b, x)
	case Record:
		return appendMap(b, x)
	case map[string]any:
		return appendMap(b, x)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// appendFloat formats like encoding/json.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping like encoding/json
// (including <, >, & and U+2028/U+2029; invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
