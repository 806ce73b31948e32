package zohosim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// FaultMode is a kind of injected failure.
type FaultMode string

// The fault modes. Each applies to the requests of the surface it is set on.
const (
	// FaultDown closes the surface's listener: connection refused until the
	// fault is cleared, when the surface listens again on the same port.
	// Times does not apply (nothing arrives to count).
	FaultDown FaultMode = "down"
	// Fault5xx answers 500 INTERNAL_ERROR without processing the request.
	Fault5xx FaultMode = "5xx"
	// Fault429 answers 429 TOO_MANY_REQUESTS without processing the request.
	Fault429 FaultMode = "429"
	// FaultLatency delays the request by Fault.Latency, then serves it.
	FaultLatency FaultMode = "latency"
	// FaultHang never answers: the request waits until the client goes
	// away, the surface goes down or the emulator closes.
	FaultHang FaultMode = "hang"
	// FaultHangAfterApply processes the request (a write is applied and
	// counted) and then hangs like FaultHang instead of answering; GET
	// requests just hang.
	FaultHangAfterApply FaultMode = "hang_after_apply"
	// FaultMalformed processes the request and answers HTTP 200 with a
	// truncated JSON body.
	FaultMalformed FaultMode = "malformed"
	// FaultExpiredTokens makes every access token answer 401 INVALID_TOKEN
	// on an API surface (refreshing still works; new tokens fail too). Set on
	// SurfaceOAuth it applies to every API surface until cleared. Set on
	// SurfaceMCP the look-alike answers HTTP 401 invalid_token (in on-demand
	// mode with its WWW-Authenticate challenge).
	FaultExpiredTokens FaultMode = "expired_tokens"
	// FaultRefreshCap makes the token endpoint answer the "Access Denied"
	// throttle JSON (HTTP 200), as after 10 refreshes in 10 minutes.
	FaultRefreshCap FaultMode = "refresh_cap"
)

// FaultModes lists every fault mode.
var FaultModes = []FaultMode{FaultDown, Fault5xx, Fault429, FaultLatency, FaultHang,
	FaultHangAfterApply, FaultMalformed, FaultExpiredTokens, FaultRefreshCap}

func validFaultMode(m FaultMode) bool {
	for _, v := range FaultModes {
		if v == m {
			return true
		}
	}
	return false
}

// validSurface reports whether sf takes faults: the surfaces of Surfaces
// and ExtraSurfaces.
func validSurface(sf Surface) bool {
	return slices.Contains(Surfaces, sf) || slices.Contains(ExtraSurfaces, sf)
}

// faultSurfaces lists every fault-injectable surface, Surfaces first.
func faultSurfaces() []Surface { return append(slices.Clone(Surfaces), ExtraSurfaces...) }

// Fault is an injected failure. Latency is used by FaultLatency only. Times
// limits the fault to the next Times requests on the surface; 0 means until
// cleared.
type Fault struct {
	Mode    FaultMode
	Latency time.Duration
	Times   int
}

type faultState struct {
	f    Fault
	left int // requests left when f.Times > 0
}

// SetFault sets the fault of one surface, replacing the one it had. A zero
// Mode clears the surface's fault. Unknown surfaces and modes are ignored
// (the admin API reports them).
func (s *Sim) SetFault(surface Surface, f Fault) {
	if !validSurface(surface) || (f.Mode != "" && !validFaultMode(f.Mode)) {
		return
	}
	s.faultMu.Lock()
	if f.Mode == "" {
		delete(s.faults, surface)
	} else {
		s.faults[surface] = &faultState{f: f, left: f.Times}
	}
	s.faultMu.Unlock()
	s.syncListener(surface, f.Mode == FaultDown)
}

// ClearFaults removes every fault and brings every surface back up.
func (s *Sim) ClearFaults() {
	s.faultMu.Lock()
	clear(s.faults)
	s.faultMu.Unlock()
	for _, sf := range faultSurfaces() {
		s.syncListener(sf, false)
	}
}

// syncListener takes a surface's listener down or brings it back up.
func (s *Sim) syncListener(sf Surface, down bool) {
	l := s.lns[sf]
	if l == nil {
		return
	}
	// Hold closeMu so Close cannot slip in between the check and a re-listen
	// (which would leave a listener serving after Close).
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	if down {
		l.down()
		return
	}
	_ = l.up() // the port was ours; failing to rebind leaves the surface down
}

// faultFor returns the surface's current fault without consuming it.
func (s *Sim) faultFor(surface Surface) (Fault, bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	st, ok := s.faults[surface]
	if !ok {
		return Fault{}, false
	}
	return st.f, true
}

// takeFault returns the fault for one request on the surface, counting the
// request against Fault.Times.
func (s *Sim) takeFault(surface Surface) (Fault, bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	st, ok := s.faults[surface]
	if !ok || st.f.Mode == FaultDown {
		return Fault{}, false
	}
	if st.f.Times > 0 {
		st.left--
		if st.left <= 0 {
			delete(s.faults, surface)
		}
	}
	return st.f, true
}

// faultFromContext returns the fault the surface middleware took for this
// request (what handlers consult for expired_tokens and refresh_cap).
func faultFromContext(ctx context.Context) (Fault, bool) {
	f, ok := ctx.Value(keyFault).(Fault)
	return f, ok
}

// tokensExpired reports whether access tokens must fail for this request:
// expired_tokens taken for it, or set on the OAuth surface.
func (s *Sim) tokensExpired(ctx context.Context) bool {
	if f, ok := faultFromContext(ctx); ok && f.Mode == FaultExpiredTokens {
		return true
	}
	f, ok := s.faultFor(SurfaceOAuth)
	return ok && f.Mode == FaultExpiredTokens
}

// applyFault runs the request under fault f. It returns true when the fault
// answered (or swallowed) the request, false when next should serve it.
func (s *Sim) applyFault(f Fault, w *statusWriter, r *http.Request, next http.Handler) bool {
	switch f.Mode {
	case Fault5xx:
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR",
			"Internal Server Error", nil)
		return true
	case Fault429:
		writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS",
			"too many requests: the number of API requests or the concurrency limit is exceeded", nil)
		return true
	case FaultLatency:
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
		case <-s.closing:
		}
		panic(http.ErrAbortHandler) // the client left; nothing to answer
	case FaultHang:
		s.hang(r)
	case FaultHangAfterApply:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(newBufferWriter(), r) // apply, then never answer
		}
		s.hang(r)
	case FaultMalformed:
		bw := newBufferWriter()
		next.ServeHTTP(bw, r)
		body := bw.body.Bytes()
		if len(body) > 8 {
			body = body[:len(body)/2]
		} else {
			body = []byte(`{"data":[{"id":"`)
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return true
	case FaultExpiredTokens:
		if surfaceOf(r.Context()) == SurfaceMCP && !strings.HasPrefix(r.URL.Path, "/.well-known/") {
			if s.mcpAuth != nil {
				s.mcpAuth.challenge(w, "invalid_token", "the access token has expired")
				return true
			}
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"error": "invalid_token", "error_description": "the access token has expired"})
			return true
		}
	}
	return false
}

// hang waits until the client goes away or the emulator closes, then aborts
// the connection without an answer. It reads the request body first:
// net/http notices a client going away (and ends r's context) only once the
// handler has read the body, so a hung POST would otherwise hold its
// goroutine and connection until the emulator closed.
func (s *Sim) hang(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
	panic(http.ErrAbortHandler)
}

// String renders a fault for messages and the admin API.
func (f Fault) String() string {
	out := string(f.Mode)
	if f.Mode == FaultLatency {
		out += fmt.Sprintf(" %s", f.Latency)
	}
	if f.Times > 0 {
		out += fmt.Sprintf(" x%d", f.Times)
	}
	return out
}
