package router

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// SuccessThreshold is how many successful trial calls close a half-open
// breaker (and how many it lets through at once).
const SuccessThreshold = 2

// Breaker is a tier's circuit breaker whose state is kept outside this
// process, e.g. cluster.SharedBreaker, whose state all replicas share
// through Redis (app supplies it as Config.NewBreaker). It follows
// gobreaker's state machine and Settings.
type Breaker interface {
	// Allow admits a call, or refuses it with gobreaker.ErrOpenState or
	// gobreaker.ErrTooManyRequests; the router then makes the call and
	// passes its outcome to done, exactly once.
	Allow() (done func(err error), err error)
	// State is the breaker's state now (Health, reset).
	State() gobreaker.State
	// Seen is the state for routing, asked several times per routed call:
	// it must be cheap, and may lag a little behind State, but must come
	// to see an open breaker's timeout pass without calls through it.
	Seen() gobreaker.State
	// Counts are the counts of the breaker's current generation.
	Counts() gobreaker.Counts
}

// Resetter is a Breaker that ResetBreakers closes in place (for every
// replica sharing it) instead of replacing it.
type Resetter interface {
	Reset(ctx context.Context) error
}

// breaker is one tier's breaker: the default gobreaker one of this process
// (local), called directly so that the hot path stays free of allocations,
// or a Breaker from Config.NewBreaker (ext).
type breaker struct {
	local *gobreaker.CircuitBreaker[struct{}]
	ext   Breaker
}

func (b *breaker) State() gobreaker.State {
	if b.ext != nil {
		return b.ext.State()
	}
	return b.local.State()
}

// seen is the state for routing.
func (b *breaker) seen() gobreaker.State {
	if b.ext != nil {
		return b.ext.Seen()
	}
	return b.local.State()
}

func (b *breaker) Counts() gobreaker.Counts {
	if b.ext != nil {
		return b.ext.Counts()
	}
	return b.local.Counts()
}

// breakerBox holds a tier's current breaker; ResetBreakers swaps in a new one.
// tripped is the run of consecutive failures that opened it (gobreaker
// clears its own counts on every state change).
type breakerBox struct {
	p       atomic.Pointer[breaker]
	tripped atomic.Uint32
	// resetting is set while ResetBreakers closes a Resetter, so that the
	// change it causes is reported with its reason.
	resetting atomic.Bool
}

func (b *breakerBox) get() *breaker { return b.p.Load() }

// open reports whether the breaker is open, for routing.
func (b *breakerBox) open() bool { return b.get().seen() == gobreaker.StateOpen }

// IsExcluded is the breakers' exclusion policy: the caller's own
// cancellation, an operation the tier cannot do, and an attempt cut short by
// the caller's own deadline (earlier than the router's call deadline) say
// nothing about the tier's health. A tier that does not answer within its
// timeout or its share of the router's call deadline is not excluded: that
// is a failure.
func IsExcluded(err error) bool {
	if err == nil {
		return false
	}
	var ex excluded
	if errors.As(err, &ex) {
		return true
	}
	switch tiers.Classify(err) {
	case tiers.ClassCanceled, tiers.ClassUnsupported:
		return true
	}
	return false
}

// IsSuccessful is the breakers' success policy: Zoho's verdict on the
// caller's request means the tier works.
func IsSuccessful(err error) bool {
	return err == nil || tiers.Classify(err) == tiers.ClassVerdict
}

// newBreaker gives ts a fresh breaker: closed, unless it is an external one
// that another replica has opened.
func (r *Router) newBreaker(ts *tierState) *breaker {
	cb := &breaker{}
	threshold := r.cfg.BreakerThreshold
	st := gobreaker.Settings{
		Name:        string(ts.name),
		MaxRequests: SuccessThreshold,
		Timeout:     r.cfg.BreakerTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures < threshold {
				return false
			}
			// gobreaker clears its counts when the state changes: keep the
			// count that opened the breaker for Health.
			if ts.br.get() == cb {
				ts.br.tripped.Store(c.ConsecutiveFailures)
			}
			return true
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Called under cb's lock. A replaced breaker's late transitions
			// (from calls in flight at a reset) are ignored.
			if ts.br.get() != cb {
				return
			}
			if from == gobreaker.StateHalfOpen && to == gobreaker.StateOpen {
				ts.br.tripped.Add(1) // the failed trial call extends the run of failures
			}
			reason := r.changeReason(from, to)
			if to == gobreaker.StateClosed && ts.br.resetting.Load() {
				reason = reasonReset
			}
			r.breakerChanged(ts, from, to, reason)
		},
		IsSuccessful: IsSuccessful,
		IsExcluded:   IsExcluded,
	}
	if r.cfg.NewBreaker != nil {
		cb.ext = r.cfg.NewBreaker(st)
	} else {
		cb.local = gobreaker.NewCircuitBreaker[struct{}](st)
	}
	ts.br.p.Store(cb)
	ts.br.tripped.Store(0)
	ts.prom.state.Set(0)
	return cb
}

func (r *Router) breakerChanged(ts *tierState, from, to gobreaker.State, reason string) {
	ts.prom.transition(from, to)
	r.changes.add(BreakerChange{Tier: ts.name, At: r.now(), From: stateName(from), To: stateName(to), Reason: reason})
	lvl := r.log.Warn
	if to == gobreaker.StateClosed {
		lvl = r.log.Info
	}
	lvl("circuit breaker state changed", "tier", string(ts.name),
		"from", stateName(from), "to", stateName(to), "timeout", r.cfg.BreakerTimeout)
}

func stateName(s gobreaker.State) string {
	switch s {
	case gobreaker.StateClosed:
		return "closed"
	case gobreaker.StateHalfOpen:
		return "half_open"
	case gobreaker.StateOpen:
		return "open"
	}
	return s.String()
}

// reasonReset is the reason of a change made by reset_circuit_breakers.
const reasonReset = "reset by reset_circuit_breakers"

// ResetBreakers closes every tier's breaker (reset_circuit_breakers): each
// gets a new one with empty counts. Calls in flight finish against the old
// breaker, which no longer matters. A Resetter (a breaker replicas share)
// is closed in place, for every replica; when that fails, it is replaced
// like a local one, and the shared state stays as it was.
func (r *Router) ResetBreakers() {
	for _, ts := range r.tiers {
		cb := ts.br.get()
		if rs, ok := cb.ext.(Resetter); ok {
			ts.br.resetting.Store(true)
			err := rs.Reset(context.Background())
			ts.br.resetting.Store(false)
			if err == nil {
				ts.br.tripped.Store(0)
				continue
			}
			r.log.Warn("cannot reset the circuit breaker shared by replicas; resetting this replica's view only",
				"tier", string(ts.name), "error", err.Error())
		}
		from := cb.State()
		r.newBreaker(ts)
		if from != gobreaker.StateClosed {
			r.breakerChanged(ts, from, gobreaker.StateClosed, reasonReset)
		}
	}
	r.log.Info("circuit breakers reset")
}

// BreakerHealth is a breaker's state as get_tier_health shows it (SPEC §4).
// FailureCount and SuccessCount are the current consecutive counts; while the
// breaker is open, FailureCount is the run of consecutive failures that
// opened it (gobreaker itself resets its counts when it opens).
type BreakerHealth struct {
	Name             string `json:"name"`
	State            string `json:"state"` // closed, open or half_open
	FailureCount     uint32 `json:"failure_count"`
	SuccessCount     uint32 `json:"success_count"`
	FailureThreshold uint32 `json:"failure_threshold"`
	SuccessThreshold uint32 `json:"success_threshold"`
	Timeout          string `json:"timeout"`
}

// TierHealth is one tier's health (SPEC §4).
type TierHealth struct {
	Tier       tiers.Name `json:"tier"`
	Enabled    bool       `json:"enabled"`
	Configured bool       `json:"configured"`
	// Detail says what the tier needs before it can serve (tiers.Detailer),
	// e.g. "tier 1 needs `zoho-mcp-proxy login`: …"; empty when nothing.
	Detail         string        `json:"detail,omitempty"`
	CircuitBreaker BreakerHealth `json:"circuit_breaker"`
}

// Health returns every configured tier's health in priority order.
func (r *Router) Health() []TierHealth {
	out := make([]TierHealth, 0, len(r.tiers))
	for _, ts := range r.tiers {
		cb := ts.br.get()
		st := cb.State()
		counts := cb.Counts()
		if st == gobreaker.StateOpen {
			counts.ConsecutiveFailures = max(counts.ConsecutiveFailures, ts.br.tripped.Load())
		}
		detail := ""
		if d, ok := ts.impl.(tiers.Detailer); ok && ts.cfg.Enabled {
			detail = d.Detail()
		}
		out = append(out, TierHealth{
			Tier:       ts.name,
			Enabled:    ts.cfg.Enabled,
			Configured: ts.impl != nil && ts.impl.Configured(),
			Detail:     detail,
			CircuitBreaker: BreakerHealth{
				Name:             string(ts.name),
				State:            stateName(st),
				FailureCount:     counts.ConsecutiveFailures,
				SuccessCount:     counts.ConsecutiveSuccesses,
				FailureThreshold: r.cfg.BreakerThreshold,
				SuccessThreshold: SuccessThreshold,
				Timeout:          r.cfg.BreakerTimeout.String(),
			},
		})
	}
	return out
}

// Ready reports whether at least one enabled and configured tier has a
// breaker that is not open.
func (r *Router) Ready() bool {
	for _, ts := range r.tiers {
		if ts.cfg.Enabled && ts.impl != nil && ts.impl.Configured() && !ts.br.open() {
			return true
		}
	}
	return false
}
