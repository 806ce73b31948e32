package mcp

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzUnquote holds unquote to json.Unmarshal into a string, on valid JSON:
// the readers of this tier use it only on bytes already validated (like
// encoding/json's own unquoteBytes, unescape accepts a \' that the scanner
// refuses), and depend on it (a tool result's text is JSON inside a string,
// so it always has escapes and always takes unescape's slow path).
// tiers.FuzzFieldIs holds the key matching.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{
		`"plain"`, `"{\"data\":[{\"id\":\"1\"}]}"`, `"\u00e9\u0041"`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`,
		`"\udc00\ud800"`, "\"\xff\xfe\"", `"\/\b\f\n\r\t\\"`, `"\'"`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"a\x01b\"",
		`"a"b"`, `""`, `"`, `x`, `"\`, `"DATA"`, `"d\u0061ta"`, `"\u017F"`, `"K"`, "\"\u212a\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		if !json.Valid(lit) {
			return
		}
		var want string
		wantErr := json.Unmarshal(lit, &want)
		got, ok := unquote(lit)
		if isStr := len(bytes.TrimSpace(lit)) == len(lit); isStr && ok != (wantErr == nil) {
			t.Fatalf("unquote(%q) ok = %v; json.Unmarshal error %v", lit, ok, wantErr)
		}
		if ok && wantErr == nil && string(got) != want {
			t.Fatalf("unquote(%q) = %q; json.Unmarshal %q", lit, got, want)
		}
	})
}
