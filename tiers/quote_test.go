package tiers

import (
	"encoding/json"
	"testing"
)

// TestAppendQuoted compares AppendQuoted with json.Marshal of a string for
// every escape class: quotes and backslashes, the short escapes, other
// control characters, the HTML characters, U+2028 and U+2029, DEL (not
// escaped), multi-byte text, and invalid UTF-8 (each bad byte \ufffd,
// including a truncated sequence and an encoded surrogate).
func TestAppendQuoted(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain", `"quoted" \ back\slash`, "\b\f\n\r\t", "\x00\x01\x1f", "<script>&amp;</script>",
		"line\u2028para\u2029", "\x7f", "é ☃ 𝄞", "a\xffb", "\xe2\x80", "\xed\xa0\x80", "\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa",
		`{"Account_Name":"Acme <&> Co","n":1}`,
	} {
		want, _ := json.Marshal(s)
		if got := AppendQuoted([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendQuoted(%q) = %s, want x%s", s, got, want)
		}
	}
}

// FuzzAppendQuoted holds AppendQuoted to json.Marshal of a string.
func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "a\"\\\n\x00<>&\u2028\u2029\x7f", "\xff\xe2\x80", "é☃𝄞"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendQuoted(nil, s); string(got) != string(want) {
			t.Fatalf("AppendQuoted(%q) = %s, want %s", s, got, want)
		}
	})
}
