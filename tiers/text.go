package tiers

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Clip shortens s to at most n bytes for a message, never splitting a
// character (agents and logs get valid UTF-8), and marks the cut with "…".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// IDString returns a record id that Zoho (or a caller) wrote as a string or
// a number; ok is false for anything else and for "".
func IDString(v any) (id string, ok bool) {
	switch v := v.(type) {
	case string:
		return v, v != ""
	case json.Number:
		return string(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}
