package zoho

import (
	"context"
	"strconv"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// searchPerPage is the page size of every search-API request a SearchPager
// makes: the largest, so that a raw position maps to a page.
const searchPerPage = tiers.MaxPageSize

// SearchFetch reads page (1-based) of perPage records of a search-API query
// sorted as the pager's owner asked, and whether Zoho says more follow. A
// 204 is no records and no more.
type SearchFetch func(ctx context.Context, page, perPage int) (recs []tiers.Record, more bool, err error)

// SearchPager serves the pages of a query made with Zoho's search API
// (tiers 1 and 3; tier 2 for word, email and phone), keeping only the
// records Match accepts, so that a search means the same on every tier.
//
// Its page tokens are every tier's tiers.Cursor: Offset counts the records
// returned so far, LastID is the last one's id (the search is sorted by id,
// so any tier continues after it: COQL with id > LastID), and Raw is how far
// into Zoho's search answer (before the filter) the pager got, so that the
// next page starts there. A token without Raw (made by another tier) is
// continued by reading from the start and skipping what it already returned.
//
// A filtered page may be shorter than the limit (never longer); it says
// more_records while Zoho has rows left to look at. Zoho's search answers at
// most 2,000 rows: when a page needs rows past them, the pager cannot tell
// whether more matches exist, and — rather than drop them silently —
// returns what it has and then a ClassUnsupported SEARCH_CAP error, on which
// the router continues the same page token on a tier that can (COQL).
type SearchPager struct {
	// Tier labels errors.
	Tier tiers.Name
	// Where and MatchAny filter the records (see Match); no Where keeps
	// every record (word, email and phone searches: Zoho's own meaning).
	Where    []tiers.Condition
	MatchAny bool
	// Fields are the caller's fields: records are projected to them (and
	// id). Empty keeps every field.
	Fields []string
	// Desc says the search is sorted by id descending; false, ascending.
	// Keyset says it is sorted by id at all (LastID can skip what was
	// returned); false means another order, continued by counting matches.
	Desc, Keyset bool
	// Cap is the most records the query returns in all (tiers.MaxSearchRecords
	// for a search; 0, none); a page token past it is the LIMIT_REACHED
	// verdict.
	Cap int
	// Fetch reads one page of the search API.
	Fetch SearchFetch
}

// SearchFields returns the fields a search-API request must ask for so that
// its records can be filtered by where and projected to fields: fields, the
// condition fields and id, or nil (every field) when fields is empty.
func SearchFields(fields []string, where []tiers.Condition) []string {
	if len(fields) == 0 {
		return nil
	}
	out := append([]string{"id"}, fields...)
	for _, f := range ConditionFields(where) {
		dup := false
		for _, g := range out {
			dup = dup || g == f
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// Page serves the page of limit records after cur.
func (p SearchPager) Page(ctx context.Context, limit int, cur tiers.Cursor) (tiers.Page, error) {
	if p.Cap > 0 && cur.Offset >= p.Cap {
		return tiers.Page{}, p.limitReached()
	}
	want := limit
	if p.Cap > 0 {
		want = min(want, p.Cap-cur.Offset)
	}
	keyset := p.Keyset && cur.LastID != ""
	raw, skipMatches := cur.Raw, 0
	if cur.Offset > 0 && cur.Raw == 0 {
		// A token from a tier that does not read the search API: start
		// over and skip what was already returned.
		if !keyset {
			skipMatches = cur.Offset
		}
	}
	last, _ := strconv.ParseUint(cur.LastID, 10, 64)
	out := tiers.Page{Records: []tiers.Record{}}
	page, skip := raw/searchPerPage+1, raw%searchPerPage
	more := false
	for {
		if page*searchPerPage > tiers.MaxSearchRecords {
			// Zoho's search cap: rows from here on cannot be read.
			if len(out.Records) == 0 {
				return tiers.Page{}, p.searchCap()
			}
			more = true
			break
		}
		recs, zmore, err := p.Fetch(ctx, page, searchPerPage)
		if err != nil {
			return tiers.Page{}, err
		}
		full := false
		for i := skip; i < len(recs); i++ {
			r := recs[i]
			if keyset && !p.after(r, last) {
				continue
			}
			if !Match(p.Where, p.MatchAny, r) {
				continue
			}
			if skipMatches > 0 {
				skipMatches--
				continue
			}
			if len(out.Records) == want {
				full = true // one more match: there is a next page, from here
				raw = (page-1)*searchPerPage + i
				break
			}
			out.Records = append(out.Records, Project(r, p.Fields))
		}
		if full {
			more = true
			break
		}
		raw = (page-1)*searchPerPage + len(recs)
		if !zmore || len(recs) == 0 {
			break
		}
		page, skip = page+1, 0
		if len(out.Records) == want {
			more = true // Zoho has rows left; whether they match is for the next page
			break
		}
	}
	if !more {
		return out, nil
	}
	next := tiers.Cursor{Offset: cur.Offset + len(out.Records), Raw: raw, LastID: cur.LastID, Query: cur.Query}
	if n := len(out.Records); n > 0 {
		next.LastID, _ = out.Records[n-1]["id"].(string)
	}
	out.MoreRecords, out.NextPageToken = true, next.Encode()
	return out, nil
}

// after reports whether r comes after the record with id last in the
// search's id order.
func (p SearchPager) after(r tiers.Record, last uint64) bool {
	s, _ := r["id"].(string)
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return false
	}
	if p.Desc {
		return id < last
	}
	return id > last
}

func (p SearchPager) limitReached() *tiers.Error {
	return &tiers.Error{Tier: p.Tier, Class: tiers.ClassVerdict, Code: "LIMIT_REACHED",
		Details: map[string]any{"limit": strconv.Itoa(tiers.MaxSearchRecords)},
		Message: "a search returns at most 2,000 records: narrow the conditions, or use bulk_read_accounts for larger sets"}
}

func (p SearchPager) searchCap() *tiers.Error {
	return &tiers.Error{Tier: p.Tier, Class: tiers.ClassUnsupported, Code: "SEARCH_CAP",
		Message: "Zoho's search API answers at most 2,000 rows, and this search goes past them before exact matching " +
			"(its equals is a \"contains\"): another tier (COQL) continues it; or narrow the conditions"}
}
