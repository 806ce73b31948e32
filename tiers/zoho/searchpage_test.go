package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	c := func(field string, op tiers.Operator, vals ...any) tiers.Condition {
		return tiers.Condition{Field: field, Op: op, Values: vals}
	}
	rec := tiers.Record{
		"id": "5725767000001000007", "Account_Name": "Acme Corp", "Industry": "Retail", "Description": nil, "Fax": "",
		"Annual_Revenue": json.Number("1250000.0"), "Employees": json.Number("240"), "Locked__s": false,
		"Created_Time": "2024-01-09T11:02:31-06:00", "Closing_Date": "2025-01-31",
		"Owner":    map[string]any{"id": "5725767000000411001", "name": "Patricia Boyle"},
		"Tags_Sel": []any{"Gold", "Partner"},
	}
	tests := []struct {
		name string
		c    tiers.Condition
		want bool
	}{
		{"equals exact, any case", c("Account_Name", tiers.OpEquals, "ACME CORP"), true},
		{"equals is not contains", c("Account_Name", tiers.OpEquals, "Acme"), false},
		{"equals a number by value", c("Annual_Revenue", tiers.OpEquals, json.Number("1250000")), true},
		{"equals a float", c("Annual_Revenue", tiers.OpEquals, 1250000.0), true},
		{"equals an int", c("Employees", tiers.OpEquals, 240), true},
		{"equals a datetime at the same instant", c("Created_Time", tiers.OpEquals, "2024-01-09T17:02:31+00:00"), true},
		{"equals a boolean", c("Locked__s", tiers.OpEquals, false), true},
		{"equals a boolean as text", c("Locked__s", tiers.OpEquals, "FALSE"), true},
		{"equals a lookup by id", c("Owner", tiers.OpEquals, "5725767000000411001"), true},
		{"a lookup is not equal to its name", c("Owner", tiers.OpEquals, "Patricia Boyle"), false},
		{"equals one of a multi-select", c("Tags_Sel", tiers.OpEquals, "partner"), true},
		{"null equals nothing", c("Description", tiers.OpEquals, "x"), false},
		{"not_equal leaves null out", c("Description", tiers.OpNotEqual, "x"), false},
		{"not_equal leaves empty text out", c("Fax", tiers.OpNotEqual, "x"), false},
		{"not_equal a missing field", c("No_Such", tiers.OpNotEqual, "x"), false},
		{"not_equal", c("Industry", tiers.OpNotEqual, "Banking"), true},
		{"not_equal, same but for case", c("Industry", tiers.OpNotEqual, "retail"), false},
		{"not_equal a multi-select holding it", c("Tags_Sel", tiers.OpNotEqual, "Gold"), false},
		{"in", c("Industry", tiers.OpIn, "Banking", "RETAIL"), true},
		{"in, none", c("Industry", tiers.OpIn, "Banking", "Retai"), false},
		{"starts_with", c("Account_Name", tiers.OpStartsWith, "acme c"), true},
		{"starts_with is not contains", c("Account_Name", tiers.OpStartsWith, "Corp"), false},
		{"starts_with a number", c("Employees", tiers.OpStartsWith, "24"), false},
		{"greater_than", c("Employees", tiers.OpGreaterThan, 239), true},
		{"greater_than, equal", c("Employees", tiers.OpGreaterThan, 240), false},
		{"greater_equal", c("Employees", tiers.OpGreaterEqual, json.Number("240")), true},
		{"less_than a decimal", c("Annual_Revenue", tiers.OpLessThan, json.Number("1250000.01")), true},
		{"less_equal a datetime", c("Created_Time", tiers.OpLessEqual, "2024-01-09T17:02:31Z"), true},
		{"less_than a date", c("Closing_Date", tiers.OpLessThan, "2025-02-01"), true},
		{"between, inclusive", c("Employees", tiers.OpBetween, 240, 300), true},
		{"between, outside", c("Employees", tiers.OpBetween, 241, 300), false},
		{"text has no order", c("Account_Name", tiers.OpGreaterThan, "A"), false},
		{"a number against text", c("Employees", tiers.OpGreaterThan, "abc"), false},
	}
	for _, tt := range tests {
		if got := Match([]tiers.Condition{tt.c}, false, rec); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
	two := []tiers.Condition{c("Industry", tiers.OpEquals, "Retail"), c("Employees", tiers.OpGreaterThan, 1000)}
	if Match(two, false, rec) || !Match(two, true, rec) || !Match(nil, false, rec) {
		t.Error("all / any / none combine wrongly")
	}
}

// rawSearch is a fake search API: rows sorted by id, paged, at most 2,000
// reachable, counting its calls.
type rawSearch struct {
	rows  []tiers.Record
	calls int
}

func (s *rawSearch) fetch(_ context.Context, page, perPage int) ([]tiers.Record, bool, error) {
	s.calls++
	if page*perPage > tiers.MaxSearchRecords {
		return nil, false, &tiers.Error{Class: tiers.ClassVerdict, Code: "LIMIT_REACHED", Message: "asked past 2,000"}
	}
	lo := min(len(s.rows), (page-1)*perPage)
	hi := min(len(s.rows), lo+perPage)
	return s.rows[lo:hi], hi < len(s.rows), nil
}

// rawRows makes n rows, ids ascending; every k-th is named "Hit" (the rest
// "Hit or miss": a search-API "contains" would take them all).
func rawRows(n, k int) []tiers.Record {
	out := make([]tiers.Record, n)
	for i := range out {
		name := "Hit or miss"
		if i%k == 0 {
			name = "hit"
		}
		out[i] = tiers.Record{"id": strconv.Itoa(1_000_000 + i), "Account_Name": name, "Other": "x"}
	}
	return out
}

var hitWhere = []tiers.Condition{{Field: "Account_Name", Op: tiers.OpEquals, Values: []any{"HIT"}}}

// pageAll follows page tokens from cur to the end (or an error).
func pageAll(t *testing.T, p SearchPager, limit int, cur tiers.Cursor) ([]string, error) {
	t.Helper()
	var ids []string
	for range 1000 {
		pg, err := p.Page(context.Background(), limit, cur)
		if err != nil {
			return ids, err
		}
		if len(pg.Records) > limit {
			t.Fatalf("a page of %d records for limit %d", len(pg.Records), limit)
		}
		for _, r := range pg.Records {
			ids = append(ids, r["id"].(string))
			if _, ok := r["Other"]; ok {
				t.Fatalf("record %v not projected to the caller's fields", r)
			}
		}
		if !pg.MoreRecords {
			return ids, nil
		}
		if cur, err = tiers.DecodeCursor(pg.NextPageToken, "q"); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no end")
	return nil, nil
}

func hitIDs(rows []tiers.Record, upTo int) []string {
	var out []string
	for _, r := range rows[:min(upTo, len(rows))] {
		if r["Account_Name"] == "hit" {
			out = append(out, r["id"].(string))
		}
	}
	return out
}

func TestSearchPager(t *testing.T) {
	t.Parallel()
	newPager := func(s *rawSearch) SearchPager {
		return SearchPager{Tier: tiers.REST, Where: hitWhere, Fields: []string{"Account_Name"}, Keyset: true,
			Cap: tiers.MaxSearchRecords, Fetch: s.fetch}
	}
	t.Run("filtered pages, every match once", func(t *testing.T) {
		t.Parallel()
		s := &rawSearch{rows: rawRows(950, 7)}
		got, err := pageAll(t, newPager(s), 20, tiers.Cursor{Query: "q"})
		if err != nil || !slices.Equal(got, hitIDs(s.rows, 950)) {
			t.Fatalf("%d ids, %v; want the %d hits", len(got), err, len(hitIDs(s.rows, 950)))
		}
		// Each page resumes where the last stopped: at most one call per
		// page plus one per 200 rows, never a read from the start.
		if max := (len(got)+19)/20 + 5; s.calls > max {
			t.Errorf("%d search calls for 950 rows in %d pages, want at most %d", s.calls, (len(got)+19)/20, max)
		}
	})
	t.Run("a token from another tier", func(t *testing.T) {
		t.Parallel()
		s := &rawSearch{rows: rawRows(700, 5)}
		hits := hitIDs(s.rows, 700)
		// COQL returned the first 30 matches: Offset and LastID, no Raw.
		got, err := pageAll(t, newPager(s), 25, tiers.Cursor{Offset: 30, LastID: hits[29], Query: "q"})
		if err != nil || !slices.Equal(got, hits[30:]) {
			t.Fatalf("continued with %d ids (%v), want the %d after the 30th", len(got), err, len(hits)-30)
		}
		unsorted := newPager(s)
		unsorted.Keyset = false // another order: continued by counting
		got, err = pageAll(t, unsorted, 25, tiers.Cursor{Offset: 30, Query: "q"})
		if err != nil || !slices.Equal(got, hits[30:]) {
			t.Fatalf("counted on with %d ids (%v)", len(got), err)
		}
	})
	t.Run("past Zoho's 2,000 rows: what it has, then SEARCH_CAP", func(t *testing.T) {
		t.Parallel()
		s := &rawSearch{rows: rawRows(3000, 150)}
		got, err := pageAll(t, newPager(s), 5, tiers.Cursor{Query: "q"})
		var te *tiers.Error
		if !errors.As(err, &te) || te.Class != tiers.ClassUnsupported || te.Code != "SEARCH_CAP" {
			t.Fatalf("err %v, want SEARCH_CAP (unsupported: another tier continues)", err)
		}
		if want := hitIDs(s.rows, 2000); !slices.Equal(got, want) {
			t.Fatalf("before the cap: %v, want every match of the first 2,000 rows %v", got, want)
		}
	})
	t.Run("2,000 matches in all, then LIMIT_REACHED", func(t *testing.T) {
		t.Parallel()
		s := &rawSearch{rows: rawRows(2000, 1)}
		s.rows = append(s.rows, tiers.Record{"id": "9999999", "Account_Name": "hit"})
		got, err := pageAll(t, newPager(s), 200, tiers.Cursor{Query: "q"})
		var te *tiers.Error
		if len(got) != 2000 || !errors.As(err, &te) || te.Class != tiers.ClassVerdict || te.Code != "LIMIT_REACHED" {
			t.Fatalf("%d ids, err %v; want 2,000 then LIMIT_REACHED", len(got), err)
		}
	})
	t.Run("no match", func(t *testing.T) {
		t.Parallel()
		s := &rawSearch{rows: rawRows(50, 1000)[1:]}
		pg, err := newPager(s).Page(context.Background(), 10, tiers.Cursor{Query: "q"})
		if err != nil || len(pg.Records) != 0 || pg.MoreRecords || pg.Records == nil {
			t.Fatalf("page %+v, %v; want an empty last page", pg, err)
		}
	})
}

func TestSearchFields(t *testing.T) {
	t.Parallel()
	if got := SearchFields(nil, hitWhere); got != nil {
		t.Errorf("no fields: %v, want nil (every field)", got)
	}
	got := SearchFields([]string{"Phone", "Account_Name"}, append(hitWhere, tiers.Condition{Field: "Industry"}))
	if want := []string{"id", "Phone", "Account_Name", "Industry"}; !slices.Equal(got, want) {
		t.Errorf("SearchFields = %v, want %v", got, want)
	}
}

// FuzzMatch: Match never panics on any record value and condition.
func FuzzMatch(f *testing.F) {
	f.Add(`{"v":"Acme"}`, "equals", `["acme"]`)
	f.Add(`{"v":1250000.0}`, "between", `[1, 2e6]`)
	f.Add(`{"v":{"id":"1","name":"x"}}`, "in", `["1","2"]`)
	f.Add(`{"v":["a","b"]}`, "starts_with", `["A"]`)
	f.Add(`{"v":"2024-01-09T11:02:31-06:00"}`, "less_than", `["2025-01-01"]`)
	f.Fuzz(func(t *testing.T, rec, op, vals string) {
		var r tiers.Record
		d := json.NewDecoder(strings.NewReader(rec))
		d.UseNumber()
		if d.Decode(&r) != nil {
			return
		}
		var vs []any
		d = json.NewDecoder(strings.NewReader(vals))
		d.UseNumber()
		if d.Decode(&vs) != nil {
			return
		}
		_ = Match([]tiers.Condition{{Field: "v", Op: tiers.Operator(op), Values: vs}}, false, r)
	})
}
