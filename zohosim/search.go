package zohosim

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// searchCap is the most records one search can page through (reference §5).
const searchCap = 2000

// searchInfo is the search response's info object.
type searchInfo struct {
	PerPage     int    `json:"per_page"`
	Count       int    `json:"count"`
	Page        int    `json:"page"`
	SortBy      string `json:"sort_by"`
	SortOrder   string `json:"sort_order"`
	MoreRecords bool   `json:"more_records"`
}

// handleSearch serves GET /crm/v8/{module}/search (reference §5): one of
// criteria > email > phone > word drives it; 2,000 records at most; 204
// when nothing matches.
func (s *Sim) handleSearch(w http.ResponseWriter, r *http.Request, st *Store) {
	q := r.URL.Query()
	match, zerr := searchMatcher(st.mod, q.Get("criteria"), q.Get("email"), q.Get("phone"), q.Get("word"))
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	fields, zerr := parseFields(st.mod, q, false)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	perPage, zerr := intParam(q, "per_page", maxPerPage, 1, maxPerPage)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	page, zerr := intParam(q, "page", 1, 1, 1<<30)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	sortBy, desc, _, _, zerr := sortParams(q)
	if zerr != nil {
		writeZohoError(w, zerr)
		return
	}
	offset := (page - 1) * perPage
	if offset >= searchCap {
		writeZohoError(w, errPtr("LIMIT_REACHED", "maximum response iteration limit reached",
			map[string]any{"limit": strconv.Itoa(searchCap)}))
		return
	}
	if !s.spend(w, 1) {
		return
	}
	end := min(offset+perPage, searchCap)
	var data []Record
	matched := 0
	more := false
	for _, n := range st.order(sortBy, desc) {
		rec, ok := st.Get(strconv.FormatInt(n, 10))
		if !ok || !match(rec) {
			continue
		}
		if matched >= end {
			more = true
			break
		}
		if matched >= offset {
			data = append(data, project(rec, fields))
		}
		matched++
	}
	if len(data) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeRecords(w, http.StatusOK, data, searchInfo{PerPage: perPage, Count: len(data),
		Page: page, SortBy: sortBy, SortOrder: sortOrderName(desc), MoreRecords: more}, st.mod)
}

// searchMatcher builds the record filter from the search params, in Zoho's
// priority order criteria > email > phone > word: email searches m's email
// fields, phone its phone fields, word its text-like fields.
func searchMatcher(m *Module, criteria, email, phone, word string) (func(Record) bool, *zohoError) {
	switch {
	case criteria != "":
		expr, zerr := parseCriteria(m, criteria)
		if zerr != nil {
			return nil, zerr
		}
		return expr.match, nil
	case email != "":
		if !emailRE.MatchString(email) {
			return nil, errPtr("INVALID_DATA", "the email given seems to be invalid", map[string]any{"param_name": "email"})
		}
		return func(r Record) bool {
			for _, f := range m.Fields {
				if v, ok := r[f.APIName].(string); ok && f.Type == TypeEmail && strings.EqualFold(v, email) {
					return true
				}
			}
			return false
		}, nil
	case phone != "":
		digits := phoneDigits(phone)
		if len(phone) < 3 || digits == "" || strings.Trim(phone, "0123456789 -()+.") != "" {
			return nil, errPtr("INVALID_DATA",
				"the phone given seems to be invalid; send at least 3 characters of digits, spaces, -, (, ), + or .",
				map[string]any{"param_name": "phone"})
		}
		return func(r Record) bool {
			for _, f := range m.Fields {
				if v, ok := r[f.APIName].(string); ok && f.Type == TypePhone && strings.Contains(phoneDigits(v), digits) {
					return true
				}
			}
			return false
		}, nil
	case word != "":
		w := strings.ToLower(strings.TrimSpace(word))
		if utf8.RuneCountInString(w) < 2 {
			return nil, errPtr("INVALID_DATA", "the word given must have at least 2 characters",
				map[string]any{"param_name": "word"})
		}
		return func(r Record) bool {
			for _, f := range m.Fields {
				switch f.Type {
				case TypeText, TypeTextarea, TypeEmail, TypePhone, TypeWebsite:
					if v, ok := r[f.APIName].(string); ok && strings.Contains(strings.ToLower(v), w) {
						return true
					}
				}
			}
			return false
		}, nil
	}
	return nil, errPtr("EXPECTED_PARAM_MISSING", "One of the expected parameter is missing",
		map[string]any{"param_names": []string{"criteria", "email", "phone", "word"}})
}

func phoneDigits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}
