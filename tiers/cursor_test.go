package tiers

import (
	"errors"
	"strings"
	"testing"
)

func TestCursorRoundTripAndRefusals(t *testing.T) {
	t.Parallel()
	q := QueryKey("Accounts", "Industry=Retail")
	good := Cursor{Offset: 400, LastID: "5725767000001000399", Zoho: "abc", Query: q}
	got, err := DecodeCursor(good.Encode(), q)
	if err != nil || got != good {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if c, err := DecodeCursor("", q); err != nil || c.Offset != 0 || c.Query != q {
		t.Errorf("empty token = %+v, %v; want the first page", c, err)
	}
	tests := []struct{ name, token, why string }{
		{"other query", Cursor{Offset: 1, Query: QueryKey("Accounts")}.Encode(), "different query"},
		{"not base64", "%%%", "not a token"},
		{"not json", "bm90IGpzb24", "not a token"},
		{"negative offset", Cursor{Offset: -1, Query: q}.Encode(), "not a token"},
		{"forged keyset id", Cursor{Offset: 1, LastID: "1 or 1=1", Query: q}.Encode(), "not a token"},
		{"keyset id too long", Cursor{Offset: 1, LastID: strings.Repeat("9", 20), Query: q}.Encode(), "not a token"},
		{"too long", strings.Repeat("A", 2000), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeCursor(tt.token, q)
			var te *Error
			if !errors.As(err, &te) || te.Class != ClassVerdict || te.Code != "INVALID_PAGE_TOKEN" || !strings.Contains(te.Message, tt.why) {
				t.Errorf("DecodeCursor(%s) = %v; want an INVALID_PAGE_TOKEN verdict saying %q", tt.name, err, tt.why)
			}
		})
	}
}

func TestIsRecordID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{"digits", "3652397000000624001", true},
		{"one digit", "7", true},
		{"empty", "", false},
		{"twenty digits", "12345678901234567890", false},
		{"sign", "+1", false},
		{"letter", "12a", false},
		{"underscore", "1_000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsRecordID(tt.s); got != tt.want {
				t.Errorf("IsRecordID(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}
