package zoho

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func TestRequestChecks(t *testing.T) {
	t.Parallel()
	many := func(n int, s string) []string { return slices.Repeat([]string{s}, n) }
	tests := []struct {
		name string
		err  error
		want string // "" means no error
	}{
		{"fields nil", CheckFields(tiers.Bulk, nil), ""},
		{"fields 50", CheckFields(tiers.Bulk, many(50, "Phone")), ""},
		{"fields 51", CheckFields(tiers.Bulk, many(51, "Phone")), "LIMIT_EXCEEDED: at most 50 fields per read (got 51)"},
		{"field name", CheckFields(tiers.MCP, []string{"Phone", "a b"}), `field "a b" is not a Zoho field API name`},
		{"ids 100", CheckListIDs(tiers.Bulk, many(100, "1")), ""},
		{"ids 101", CheckListIDs(tiers.Bulk, many(101, "1")), "LIMIT_EXCEEDED: at most 100 ids per list (got 101)"},
		{"id 20 digits", CheckListIDs(tiers.MCP, []string{"12345678901234567890"}), `id "12345678901234567890" is not a Zoho record id (1–19 digits)`},
		{"filters equal", CheckListFilters(tiers.Bulk, []tiers.Condition{{Field: "Phone", Op: tiers.OpEquals}}), ""},
		{"filters other", CheckListFilters(tiers.Bulk, []tiers.Condition{{Field: "Phone", Op: tiers.OpStartsWith}}), "list filters are equalities (got starts_with on Phone); use search for other operators"},
		{"module", CheckModule(tiers.REST, "Accounts"), ""},
		{"custom module", CheckModule(tiers.MCP, "CustomModule1"), ""},
		{"module with a leading digit", CheckModule(tiers.MCP, "1Accounts"), `INVALID_MODULE: module "1Accounts" is not a Zoho module API name such as Accounts`},
		{"module path", CheckModule(tiers.Bulk, "Accounts/../org"), `INVALID_MODULE: module "Accounts/../org" is not a Zoho module API name such as Accounts`},
		{"id", CheckID(tiers.REST, "12ab"), `id "12ab" is not a Zoho record id (1–19 digits)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.want == "" {
				if tt.err != nil {
					t.Fatalf("err = %v, want nil", tt.err)
				}
				return
			}
			code, msg, ok := strings.Cut(tt.want, ": ")
			if !ok || strings.ToUpper(code) != code || strings.Contains(code, " ") {
				code, msg = "INVALID_DATA", tt.want
			}
			var te *tiers.Error
			if !errors.As(tt.err, &te) || te.Class != tiers.ClassVerdict || te.Code != code || te.Tier == "" {
				t.Fatalf("err = %#v, want a tier-labelled %s verdict", tt.err, code)
			}
			if te.Message != msg {
				t.Errorf("message = %q, want %q", te.Message, msg)
			}
		})
	}
}

func TestCheckLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int
		want int
		bad  bool
	}{
		{"zero is a full page", 0, tiers.MaxPageSize, false},
		{"one", 1, 1, false},
		{"max", 200, 200, false},
		{"over", 201, 0, true},
		{"negative", -1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CheckLimit(tiers.REST, tt.n)
			if got != tt.want || (err != nil) != tt.bad {
				t.Fatalf("CheckLimit(%d) = %d, %v; want %d, error %v", tt.n, got, err, tt.want, tt.bad)
			}
			if tt.bad && !strings.Contains(err.Error(), "limit must be 1–200") {
				t.Errorf("error %q does not say the bound", err)
			}
		})
	}
}

func TestDefaultFields(t *testing.T) {
	t.Parallel()
	a := DefaultFields("accounts")
	if len(a) != len(accountFields) || a[0] != "Account_Name" || !slices.Contains(a, "Phone") || slices.Contains(a, "Email") {
		t.Fatalf("DefaultFields(accounts) = %v", a)
	}
	a[0] = "changed"
	if accountFields[0] != "Account_Name" {
		t.Fatal("DefaultFields returned the shared slice")
	}
	if got := DefaultFields("Leads"); !slices.Equal(got, []string{"id", "Created_Time", "Modified_Time"}) {
		t.Errorf("DefaultFields(Leads) = %v", got)
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep(1ms) = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a canceled context = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("Sleep on a canceled context waited %v", d)
	}
}

func TestWithTier(t *testing.T) {
	t.Parallel()
	bare := &tiers.Error{Class: tiers.ClassVerdict, Code: "INVALID_QUERY", Message: "m"}
	tiered := &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassVerdict}
	plain := errors.New("plain")
	tests := []struct {
		name string
		err  error
		want tiers.Name // "" means err comes back as it is
	}{
		{"untiered is labelled", bare, tiers.REST},
		{"wrapped untiered is labelled", fmt.Errorf("ctx: %w", bare), tiers.REST},
		{"tiered is kept", tiered, ""},
		{"not a tiers.Error", plain, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := WithTier(tiers.REST, tt.err)
			if bare.Tier != "" {
				t.Fatal("WithTier changed the error it was given")
			}
			if tt.want == "" {
				if got != tt.err {
					t.Fatalf("WithTier changed %v into %v", tt.err, got)
				}
				return
			}
			te, ok := got.(*tiers.Error)
			if !ok || te.Tier != tt.want || te.Code != bare.Code || te.Message != bare.Message {
				t.Fatalf("WithTier = %#v, want a copy of %#v with Tier %s", got, bare, tt.want)
			}
		})
	}
}

func TestCheckSort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, by, order string
		field           string
		desc            bool
		bad             string // the verdict's message; "" means none
	}{
		{"defaults", "", "", "id", false, ""},
		{"modified desc", "Modified_Time", "desc", "Modified_Time", true, ""},
		{"created asc", "Created_Time", "asc", "Created_Time", false, ""},
		{"other field", "Phone", "", "", false, "sort_by must be id, Created_Time or Modified_Time"},
		{"case matters", "ID", "", "", false, "sort_by must be id, Created_Time or Modified_Time"},
		{"bad order", "id", "DESC", "", false, "sort_order must be asc or desc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			field, desc, err := CheckSort(tiers.MCP, tt.by, tt.order)
			if tt.bad != "" {
				var te *tiers.Error
				if !errors.As(err, &te) || te.Tier != tiers.MCP || te.Code != "INVALID_DATA" || te.Message != tt.bad {
					t.Fatalf("CheckSort(%q, %q) error = %#v, want MCP INVALID_DATA %q", tt.by, tt.order, err, tt.bad)
				}
				return
			}
			if err != nil || field != tt.field || desc != tt.desc {
				t.Fatalf("CheckSort(%q, %q) = %q, %v, %v; want %q, %v, nil", tt.by, tt.order, field, desc, err, tt.field, tt.desc)
			}
		})
	}
}

func TestInIDOrder(t *testing.T) {
	t.Parallel()
	rec := func(id string) tiers.Record { return tiers.Record{"id": id} }
	ids := func(rs []tiers.Record) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r["id"].(string))
		}
		return out
	}
	tests := []struct {
		name string
		recs []tiers.Record
		ids  []string
		want []string
	}{
		{"caller's order", []tiers.Record{rec("1"), rec("2"), rec("3")}, []string{"3", "1", "2"}, []string{"3", "1", "2"}},
		{"missing left out", []tiers.Record{rec("2")}, []string{"1", "2", "3"}, []string{"2"}},
		{"twice given twice", []tiers.Record{rec("1")}, []string{"1", "1"}, []string{"1", "1"}},
		{"none", nil, []string{"1"}, []string{}},
		{"record without id ignored", []tiers.Record{{"Phone": "1"}, rec("1")}, []string{"1"}, []string{"1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := InIDOrder(tt.recs, tt.ids)
			if got == nil || !slices.Equal(ids(got), tt.want) {
				t.Fatalf("InIDOrder = %v, want ids %v (never nil)", got, tt.want)
			}
		})
	}
}
