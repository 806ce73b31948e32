package tiers

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzValid holds Valid to json.Valid.
func FuzzValid(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"id":"1","Account_Name":"A \u00e9","Annual_Revenue":1.5e6,"Tag":[]}],"info":{"more_records":false}}`,
		`{"data":{"data":[{"id":"1"}],"status":"success"}}`, `{"code":"INVALID_DATA","details":{"api_name":"id"},"message":"x","status":"error"}`,
		`"\ud800"`, "\"\xff\"", `{"a":1,"a":2}`, ` [1, 2.5e-3, true, false, null] `, `{"a":}`, `01`, `-`, `1.`, `[1,]`,
		`"\u00"`, "\"\x01\"", `{} {}`, `"\/\b"`, ``, ` `, `nul`, `1e`, `-0`, `[[[]]]`, "{\"a\":1}\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// TestValidDepth: both refuse the same nesting.
func TestValidDepth(t *testing.T) {
	t.Parallel()
	for _, n := range []int{9999, 10000, 10001} {
		for _, open := range []string{"[", `{"a":`} {
			closing := map[string]string{"[": "]", `{"a":`: "}"}[open]
			b := []byte(strings.Repeat(open, n) + "1" + strings.Repeat(closing, n))
			if got, want := Valid(b), json.Valid(b); got != want {
				t.Errorf("depth %d of %s: Valid %v, json.Valid %v", n, open, got, want)
			}
		}
	}
}
