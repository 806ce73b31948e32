package tiers

import (
	"regexp"
	"strings"
	"testing"
)

var (
	recordIDRE = regexp.MustCompile(RecordIDPattern)
	apiNameRE  = regexp.MustCompile(APINamePattern)
)

// TestNamesMatchTheirPatterns: the hand-written checks accept exactly what
// the documented patterns (published in the tools' schemas) accept.
func TestNamesMatchTheirPatterns(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "0", "1234567890123456789", "12345678901234567890", "1a", " 1", "١", "a", "A_1", "_a",
		"a-b", "aé", "Z9_", "a b", strings.Repeat("a", MaxAPINameLen), strings.Repeat("a", MaxAPINameLen+1)} {
		if IsRecordID(s) != recordIDRE.MatchString(s) {
			t.Errorf("IsRecordID(%q) = %v", s, IsRecordID(s))
		}
		if IsAPIName(s) != (apiNameRE.MatchString(s) && len(s) <= MaxAPINameLen) {
			t.Errorf("IsAPIName(%q) = %v", s, IsAPIName(s))
		}
	}
}

// TestIsModuleName pins the module rule: an API name, so a leading digit,
// a path, a dot or a space is refused before anything is sent.
func TestIsModuleName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"standard module", "Accounts", true},
		{"custom module", "CustomModule1", true},
		{"underscore", "Sales_Orders", true},
		{"leading digit", "1Accounts", false},
		{"leading underscore", "_Accounts", false},
		{"path", "Accounts/../org", false},
		{"dot", "Accounts.id", false},
		{"space", "Acc ounts", false},
		{"empty", "", false},
		{"longest", strings.Repeat("M", MaxAPINameLen), true},
		{"too long", strings.Repeat("M", MaxAPINameLen+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsModuleName(tt.in); got != tt.want {
				t.Errorf("IsModuleName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"", "1", "a_B9", "é", "12345678901234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if IsRecordID(s) != recordIDRE.MatchString(s) || IsAPIName(s) != (apiNameRE.MatchString(s) && len(s) <= MaxAPINameLen) {
			t.Fatalf("checks disagree with the patterns on %q", s)
		}
	})
}
