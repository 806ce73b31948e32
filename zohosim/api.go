package zohosim

import (
	"bytes"
	"context"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// newAPIHandler builds the CRM API served by the rest and bulk listeners and
// by in-process calls of the MCP look-alike.
func (s *Sim) newAPIHandler() http.Handler {
	mux := http.NewServeMux()
	s.registerBulkRoutes(mux)
	mux.HandleFunc("/", s.serveCRM)
	return s.apiEntry(cleanPaths(mux))
}

// cleanPaths answers a path with . or .. segments or an empty segment
// with Zoho's INVALID_URL_PATTERN, where http.ServeMux would redirect with
// an HTML body no Zoho API sends.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if c := path.Clean(p); c != p && c+"/" != p {
			invalidURL(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiEntry logs in-process calls (as SurfaceMCP) and enforces the
// concurrency limit on every API call.
func (s *Sim) apiEntry(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e, _ := r.Context().Value(keyEntry).(*logEntry); e == nil || e.req != r {
			// Not handed on by a surface listener: an in-process call of
			// the MCP look-alike. It takes no faults of its own (the MCP
			// listener applied them) but is logged, limited and charged.
			e := s.reqlog.begin(SurfaceMCP, r, s.now(), "")
			ctx := context.WithValue(r.Context(), keySurface, SurfaceMCP)
			ctx = context.WithValue(ctx, keyFault, Fault{})
			ctx = context.WithValue(ctx, keyEntry, e)
			r = r.WithContext(ctx)
			e.req = r
			sw := &statusWriter{ResponseWriter: w}
			w = sw
			defer func() { s.reqlog.finish(e, sw.status) }()
			defer recoverInternal(sw)
		}
		if !s.limits.acquire(false) {
			writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS",
				"the concurrency limit of the user for the app is exceeded", nil)
			return
		}
		defer s.limits.release(false)
		if d := s.opts.ServeTime; d > 0 {
			// Zoho's own time on the call, inside its concurrency slot.
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// callAPI performs one CRM API request in-process for the MCP look-alike,
// authorized with the internal token: it is logged with SurfaceMCP and
// counts against credits and concurrency like any call. target is a path
// with an optional query, e.g. "/crm/v8/Accounts/123?fields=Phone".
func (s *Sim) callAPI(ctx context.Context, method, target string, body []byte) (status int, header http.Header, respBody []byte) {
	req, err := http.NewRequestWithContext(ctx, method, "http://zohosim.internal"+target, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadRequest, http.Header{}, []byte(`{"code":"INVALID_URL_PATTERN","details":{},"message":"` +
			"Please check if the URL trying to access is a correct one" + `","status":"error"}`)
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+s.internalToken())
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	bw := newBufferWriter()
	s.api.ServeHTTP(bw, req)
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	return bw.status, bw.header, bw.body.Bytes()
}

// bulkShape matches bulk API paths (answered by the bulk routes; reaching
// serveCRM means the method is wrong).
var bulkShape = regexp.MustCompile(`^/crm/(bulk/v8/(read(/[0-9]+(/result)?)?|write(/[0-9]+)?)|v8/upload)$`)

func invalidURL(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "INVALID_URL_PATTERN",
		"Please check if the URL trying to access is a correct one", nil)
}

func invalidMethod(w http.ResponseWriter, index int) {
	writeError(w, http.StatusBadRequest, "INVALID_REQUEST_METHOD",
		"The http request method type is not a valid one", map[string]any{"resource_path_index": index})
}

// serveOne serves a path of one segment (org, coql) that takes one method
// with h: a longer path is an invalid URL, another method an invalid one.
func serveOne(w http.ResponseWriter, r *http.Request, segs []string, method string, h http.HandlerFunc) {
	switch {
	case len(segs) != 1:
		invalidURL(w)
	case r.Method != method:
		invalidMethod(w, 0)
	default:
		h(w, r)
	}
}

// serveCRM routes /crm/v8/... (everything the bulk routes do not serve).
func (s *Sim) serveCRM(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/crm/") {
		invalidURL(w)
		return
	}
	if !s.authorize(w, r) {
		return
	}
	if bulkShape.MatchString(p) {
		if s.bulkRoutes {
			invalidMethod(w, 0)
		} else {
			invalidURL(w)
		}
		return
	}
	rest, ok := strings.CutPrefix(p, "/crm/v8/")
	if !ok || rest == "" {
		invalidURL(w)
		return
	}
	segs := strings.Split(rest, "/")
	switch segs[0] {
	case "org":
		serveOne(w, r, segs, http.MethodGet, s.handleOrg)
		return
	case "coql":
		serveOne(w, r, segs, http.MethodPost, s.handleCOQL)
		return
	case "settings":
		s.serveSettings(w, r, segs)
		return
	}
	m, ok := registry[segs[0]]
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_MODULE", "the module name given seems to be invalid",
			map[string]any{"resource_path_index": 0})
		return
	}
	if !m.hasRecords() {
		writeError(w, http.StatusBadRequest, "NOT_SUPPORTED", "The given module is not supported in API",
			map[string]any{"resource_path_index": 0})
		return
	}
	st := s.stores[m.APIName]
	switch len(segs) {
	case 1:
		switch r.Method {
		case http.MethodGet:
			s.handleList(w, r, st)
		case http.MethodPut:
			s.handleUpdate(w, r, st, "")
		case http.MethodPost:
			s.handleInsert(w, r, st)
		default:
			invalidMethod(w, 0)
		}
	case 2:
		switch segs[1] {
		case "search":
			if r.Method != http.MethodGet {
				invalidMethod(w, 1)
				return
			}
			s.handleSearch(w, r, st)
			return
		case "upsert":
			if r.Method != http.MethodPost {
				invalidMethod(w, 1)
				return
			}
			s.handleUpsert(w, r, st)
			return
		}
		if _, ok := ParseID(segs[1]); !ok {
			writeError(w, http.StatusBadRequest, "INVALID_DATA", "the id given seems to be invalid",
				map[string]any{"resource_path_index": 1})
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.handleGetOne(w, r, st, segs[1])
		case http.MethodPut:
			s.handleUpdate(w, r, st, segs[1])
		default:
			invalidMethod(w, 1)
		}
	case 3:
		if r.Method != http.MethodGet {
			invalidMethod(w, 2)
			return
		}
		s.handleRelated(w, r, st, segs[1], segs[2])
	default:
		invalidURL(w)
	}
}

// handleOrg serves GET /crm/v8/org: the org's details, zgid included.
func (s *Sim) handleOrg(w http.ResponseWriter, _ *http.Request) {
	if !s.spend(w, 1) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": []any{map[string]any{
		"id":               s.orgID,
		"zgid":             s.orgID,
		"company_name":     "Zylker Sandbox",
		"domain_name":      "org" + s.orgID,
		"primary_email":    owners[0]["email"],
		"primary_zuid":     "7" + s.orgID,
		"country_code":     "US",
		"country":          "United States",
		"currency":         "US Dollar - USD",
		"iso_code":         "USD",
		"currency_symbol":  "$",
		"currency_locale":  "en_US",
		"time_zone":        "America/Chicago",
		"mc_status":        false,
		"gapps_enabled":    false,
		"privacy_settings": false,
		"type":             "production",
		"license_details":  map[string]any{"paid": true, "paid_type": "enterprise", "users_license_purchased": 10},
	}}})
}
