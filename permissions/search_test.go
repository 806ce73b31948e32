package permissions

import (
	"slices"
	"strings"
	"testing"
)

// TestDeniedSearch: an email, phone or word search is refused exactly when
// the profile denies a field that search matches, from the one table of
// standard field types; a field whose type is not known fails closed.
func TestDeniedSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		module string
		deny   []string
		typeOf func(string) string
		want   map[SearchKind]string // kind → the field named; absent: allowed
	}{
		{name: "nothing denied", module: "Accounts"},
		{name: "a number field blocks nothing", module: "Accounts", deny: []string{"Annual_Revenue", "Created_Time"}},
		{name: "phone blocks phone and word", module: "Accounts", deny: []string{"Phone"},
			want: map[SearchKind]string{SearchPhone: "Phone", SearchWord: "Phone"}},
		{name: "text area blocks word only", module: "Accounts", deny: []string{"Description"},
			want: map[SearchKind]string{SearchWord: "Description"}},
		{name: "website blocks word", module: "Accounts", deny: []string{"Annual_Revenue", "Website"},
			want: map[SearchKind]string{SearchWord: "Website"}},
		{name: "case-insensitive like Denied", module: "Accounts", deny: []string{"phone"},
			want: map[SearchKind]string{SearchPhone: "phone", SearchWord: "phone"}},
		{name: "email field of Contacts", module: "Contacts", deny: []string{"Secondary_Email"},
			want: map[SearchKind]string{SearchEmail: "Secondary_Email", SearchWord: "Secondary_Email"}},
		{name: "a field of unknown type fails closed", module: "Accounts", deny: []string{"Region"},
			want: map[SearchKind]string{SearchEmail: "Region", SearchPhone: "Region", SearchWord: "Region"}},
		{name: "unknown module fails closed", module: "Projects", deny: []string{"Budget"},
			want: map[SearchKind]string{SearchEmail: "Budget", SearchPhone: "Budget", SearchWord: "Budget"}},
		{name: "metadata types win", module: "Projects", deny: []string{"Budget"},
			typeOf: func(f string) string { return map[string]string{"Budget": "currency"}[f] }},
		{name: "the first matching field of the deny list is named", module: "Accounts", deny: []string{"Annual_Revenue", "Fax", "Phone"},
			want: map[SearchKind]string{SearchPhone: "Fax", SearchWord: "Fax"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &Profile{Name: "p", DenyFields: tc.deny}
			for _, k := range SearchKinds() {
				f, denied := p.DeniedSearch(tc.module, k, tc.typeOf)
				want, wantDenied := tc.want[k]
				if denied != wantDenied || f != want {
					t.Errorf("%s search: denied=%v field=%q, want denied=%v field=%q", k, denied, f, wantDenied, want)
				}
			}
		})
	}
	var nilProf *Profile
	if _, denied := nilProf.DeniedSearch("Accounts", SearchWord, nil); denied {
		t.Error("a nil profile denies nothing")
	}
}

// TestSearchesByType: every implicit search matches a field of unknown
// type; word matches text-like types and not numbers or dates.
func TestSearchesByType(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string][]SearchKind{
		"":            SearchKinds(),
		"email":       {SearchEmail, SearchWord},
		"phone":       {SearchPhone, SearchWord},
		"text":        {SearchWord},
		"picklist":    {SearchWord},
		"ownerlookup": {SearchWord},
		"currency":    nil,
		"datetime":    nil,
		"boolean":     nil,
	} {
		if got := Searches(typ); !slices.Equal(got, want) {
			t.Errorf("Searches(%q) = %v, want %v", typ, got, want)
		}
	}
	if typ := StandardType("Accounts", "Phone"); typ != "phone" {
		t.Errorf("Accounts.Phone is %q", typ)
	}
	if typ := StandardType("Accounts", "id"); typ != "bigint" {
		t.Errorf("Accounts.id is %q", typ)
	}
	msg := SearchRefusal(SearchPhone, "Accounts", "Phone", "sales")
	for _, s := range []string{"phone field", "Phone is denied", `"sales"`, "where"} {
		if !strings.Contains(msg, s) {
			t.Errorf("refusal %q lacks %q", msg, s)
		}
	}
}
