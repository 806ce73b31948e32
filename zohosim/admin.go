package zohosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// adminFault is the admin API's fault body.
type adminFault struct {
	Surface   Surface   `json:"surface"`
	Mode      FaultMode `json:"mode"`
	LatencyMS int64     `json:"latency_ms,omitempty"`
	Times     int       `json:"times,omitempty"`
}

// adminRequest is a logged request as the admin API shows it (body as text).
type adminRequest struct {
	Surface Surface   `json:"surface"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Query   string    `json:"query"`
	Body    string    `json:"body"`
	Status  int       `json:"status"`
	Time    time.Time `json:"time"`
}

func adminError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// adminHandler serves the admin HTTP API:
//
//	POST   /admin/faults          {"surface","mode","latency_ms","times"}
//	GET    /admin/faults          the faults in force
//	DELETE /admin/faults          clear every fault
//	GET    /admin/requests        the request log
//	DELETE /admin/requests        reset the log and counters
//	GET    /admin/stats           requests per surface, refreshes, credits
//	POST   /admin/expire-tokens   invalidate every access token
//	POST   /admin/clock           {"advance_ms": n}: move the clock forward
func (s *Sim) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var f adminFault
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			adminError(w, http.StatusBadRequest, "body must be JSON {\"surface\",\"mode\",\"latency_ms\",\"times\"}: %v", err)
			return
		}
		if !validSurface(f.Surface) {
			adminError(w, http.StatusBadRequest, "unknown surface %q; use one of %v", f.Surface, Surfaces)
			return
		}
		if !validFaultMode(f.Mode) {
			adminError(w, http.StatusBadRequest, "unknown mode %q; use one of %v", f.Mode, FaultModes)
			return
		}
		if f.LatencyMS < 0 || f.Times < 0 {
			adminError(w, http.StatusBadRequest, "latency_ms and times must not be negative")
			return
		}
		s.SetFault(f.Surface, Fault{Mode: f.Mode, Latency: time.Duration(f.LatencyMS) * time.Millisecond, Times: f.Times})
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("GET /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		out := []adminFault{}
		for _, sf := range Surfaces {
			if f, ok := s.faultFor(sf); ok {
				out = append(out, adminFault{Surface: sf, Mode: f.Mode, LatencyMS: f.Latency.Milliseconds(), Times: f.Times})
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /admin/requests", func(w http.ResponseWriter, _ *http.Request) {
		reqs := s.Requests()
		out := make([]adminRequest, len(reqs))
		for i, q := range reqs {
			out[i] = adminRequest{Surface: q.Surface, Method: q.Method, Path: q.Path, Query: q.Query,
				Body: string(q.Body), Status: q.Status, Time: q.Time}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /admin/requests", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetLog()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, _ *http.Request) {
		per := map[Surface]int{}
		for _, sf := range Surfaces {
			per[sf] = s.RequestCount(sf)
		}
		used, total, budget := s.limits.usage()
		writeJSON(w, http.StatusOK, map[string]any{
			"requests":          per,
			"refreshes":         s.RefreshCount(),
			"credits_used":      used,
			"credits_total":     total,
			"credits_budget":    budget,
			"credits_remaining": max(budget-used, 0),
		})
	})
	mux.HandleFunc("POST /admin/expire-tokens", func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /admin/clock", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			AdvanceMS int64 `json:"advance_ms"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.AdvanceMS < 0 {
			adminError(w, http.StatusBadRequest, "body must be JSON {\"advance_ms\": n} with n >= 0")
			return
		}
		s.Advance(time.Duration(body.AdvanceMS) * time.Millisecond)
		writeJSON(w, http.StatusOK, map[string]any{"now": s.now().Format(time.RFC3339)})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		adminError(w, http.StatusNotFound, "unknown admin endpoint; see /admin/faults, /admin/requests, /admin/stats, /admin/expire-tokens, /admin/clock")
	})
	return s.adminWrap(mux)
}

// adminWrap tracks admin requests for Close.
func (s *Sim) adminWrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			panic(http.ErrAbortHandler)
		}
		defer s.handlers.Done()
		h.ServeHTTP(w, r)
	})
}
