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
//	POST   /admin/concurrency/reset           reset the concurrency peaks
//	POST   /admin/mcp-tool-error  {"text","times"}: message-only isError tool results
//	DELETE /admin/mcp-tool-error  stop them
//	POST   /admin/mcp-oauth/deny-next         the next consent is refused (on-demand mode)
//	POST   /admin/mcp-oauth/expire-tokens     expire every MCP access token
//	POST   /admin/mcp-oauth/revoke            revoke every MCP grant
//	POST   /admin/mcp-oauth/rotation          {"rotate": bool}: refresh token rotation
func (s *Sim) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var f adminFault
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			adminError(w, http.StatusBadRequest, "body must be JSON {\"surface\",\"mode\",\"latency_ms\",\"times\"}: %v", err)
			return
		}
		if !validSurface(f.Surface) {
			adminError(w, http.StatusBadRequest, "unknown surface %q; use one of %v", f.Surface, faultSurfaces())
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
		for _, sf := range faultSurfaces() {
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
		for _, sf := range faultSurfaces() {
			per[sf] = s.RequestCount(sf)
		}
		used, total, budget := s.limits.usage()
		stats := map[string]any{
			"requests":          per,
			"refreshes":         s.RefreshCount(),
			"credits_used":      used,
			"credits_total":     total,
			"credits_budget":    budget,
			"credits_remaining": max(budget-used, 0),
			"concurrency":       s.Concurrency(),
		}
		if s.mcpAuth != nil {
			stats["mcp_oauth"] = s.MCPAuthStats()
		}
		writeJSON(w, http.StatusOK, stats)
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
	mux.HandleFunc("POST /admin/concurrency/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetConcurrencyPeak()
		writeJSON(w, http.StatusOK, s.Concurrency())
	})
	mux.HandleFunc("POST /admin/mcp-tool-error", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text  string `json:"text"`
			Times int    `json:"times"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.Times < 0 {
			adminError(w, http.StatusBadRequest, "body must be JSON {\"text\": \"…\", \"times\": n} with n >= 0")
			return
		}
		if body.Text == "" {
			body.Text = DefaultMCPToolErrorText
		}
		s.SetMCPToolError(body.Text, body.Times)
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("DELETE /admin/mcp-tool-error", func(w http.ResponseWriter, _ *http.Request) {
		s.SetMCPToolError("", 0)
		w.WriteHeader(http.StatusNoContent)
	})
	onDemand := func(f func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.mcpAuth == nil {
				adminError(w, http.StatusConflict, "the MCP look-alike is not in on-demand mode (Options.MCPAuth)")
				return
			}
			f(w, r)
		}
	}
	mux.HandleFunc("POST /admin/mcp-oauth/deny-next", onDemand(func(w http.ResponseWriter, _ *http.Request) {
		s.DenyNextMCPConsent()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /admin/mcp-oauth/expire-tokens", onDemand(func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireMCPAccessTokens()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /admin/mcp-oauth/revoke", onDemand(func(w http.ResponseWriter, _ *http.Request) {
		s.RevokeMCPGrants()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /admin/mcp-oauth/rotation", onDemand(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Rotate *bool `json:"rotate"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.Rotate == nil {
			adminError(w, http.StatusBadRequest, "body must be JSON {\"rotate\": true|false}")
			return
		}
		s.SetMCPRefreshRotation(*body.Rotate)
		writeJSON(w, http.StatusOK, body)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		adminError(w, http.StatusNotFound, "unknown admin endpoint; see /admin/faults, /admin/requests, /admin/stats, "+
			"/admin/expire-tokens, /admin/clock, /admin/concurrency/reset, /admin/mcp-tool-error, /admin/mcp-oauth/{deny-next,expire-tokens,revoke,rotation}")
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
