package mcp

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzUnquote holds unquote to json.Unmarshal into a string, and keyIs to
// how json.Unmarshal matches a key to a struct field, on valid JSON: the
// readers of this tier use both only on bytes already validated (like
// encoding/json's own unquoteBytes, unescape accepts a \' that the scanner
// refuses), and depend on both (a tool result's text is JSON inside a
// string, so it always has escapes and always takes unescape's slow path).
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
		// keyIs(k, name) must say what decoding {k: 1} into a struct
		// with the field name does.
		if ok && len(lit) >= 2 {
			key := lit[1 : len(lit)-1]
			for _, name := range []string{"data", "K", "status"} {
				doc := append(append([]byte("{"), lit...), ":1}"...)
				var v struct {
					Data   *int `json:"data"`
					K      *int `json:"K"`
					Status *int `json:"status"`
				}
				if json.Unmarshal(doc, &v) != nil {
					continue
				}
				set := map[string]bool{"data": v.Data != nil, "K": v.K != nil, "status": v.Status != nil}[name]
				if keyIs(key, name) != set {
					t.Fatalf("keyIs(%q, %q) = %v; json.Unmarshal sets the field: %v", key, name, !set, set)
				}
			}
		}
	})
}
