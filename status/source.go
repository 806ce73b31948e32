// Package status is the operator status page: a recorder that samples the
// proxy's health on a clock into bounded ring buffers, and an http.Handler
// that renders the last half hour as server-rendered HTML with inline SVG
// charts, kept live over server-sent events and readable without JavaScript.
//
// The page shows only aggregates: tier states, request counts, latency
// percentiles, failovers, Zoho credits, calls per tool and the number of
// sessions. It never holds record data, argument values, secrets or anything
// per caller.
package status

import "time"

// Source is what the recorder samples. An adapter over the router's health,
// the metrics registry and the session count implements it.
type Source interface {
	// Snapshot returns the proxy's current states and cumulative counters.
	// It is called once per sampling interval, from one goroutine.
	Snapshot() Snapshot
}

// SourceFunc adapts a function to Source.
type SourceFunc func() Snapshot

// Snapshot implements Source.
func (f SourceFunc) Snapshot() Snapshot { return f() }

var _ Source = SourceFunc(nil)

// Snapshot is the proxy at one instant. Counters are cumulative since the
// proxy started (like Prometheus counters): the recorder keeps the
// differences between samples, and reads a counter that went down as a
// restart from zero.
type Snapshot struct {
	// Tiers are the tiers in priority order.
	Tiers []TierSnapshot
	// Transitions are the source's most recent breaker state changes, oldest
	// first, each with a Seq that increases by one per change. The recorder
	// keeps those with a Seq above the highest it has seen, so a source may
	// return the same ones again. Nil is fine: the recorder then notes a
	// change it sees between two samples itself, at the second, without a
	// reason.
	Transitions []Transition
	// Failovers count calls moved from one tier to the next, by reason.
	Failovers []FailoverCount
	// Tools count tool calls by tool and outcome.
	Tools []ToolCount
	// Credits are the Zoho API credits remaining as Zoho last reported them
	// (X-API-CREDITS-REMAINING), by the tier that saw the header. A tier
	// that never saw it is absent.
	Credits []Credits
	// Sessions is the number of open MCP sessions (Streamable HTTP and
	// legacy SSE). Negative means the source does not know.
	Sessions int
}

// BreakerState is a circuit breaker's state, as get_tier_health names it.
type BreakerState string

// The breaker states.
const (
	Closed   BreakerState = "closed"    // calls flow
	HalfOpen BreakerState = "half_open" // trial calls are let through
	Open     BreakerState = "open"      // calls skip the tier
)

// TierSnapshot is one tier at one instant.
type TierSnapshot struct {
	// Name is the tier's name (MCP, BULK, REST).
	Name string
	// Enabled is false when the configuration turned the tier off.
	Enabled bool
	// Configured is false when the tier lacks its credentials or endpoint.
	Configured bool
	// Breaker is the breaker's state; empty means closed.
	Breaker BreakerState
	// Requests counts calls of the tier (a call the breaker refused is not
	// one); Failures counts those it did not serve. Zoho's verdicts on a
	// caller's request are served calls, as in get_tier_metrics.
	Requests, Failures uint64
	// Latency is the cumulative histogram of the tier's call durations.
	Latency Histogram
}

// Histogram is a cumulative histogram in Prometheus's shape: Counts[i]
// observations were at most Bounds[i] seconds, and Count is all of them
// (the +Inf bucket). Bounds ascend and must not change between samples; a
// histogram whose bounds changed restarts the tier's latency history.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
}

// Transition is one change of a tier's breaker state.
type Transition struct {
	// Seq orders the source's transitions across tiers; see
	// Snapshot.Transitions. The recorder's own (seen between samples) have
	// Seq 0.
	Seq uint64 `json:"-"`
	// Tier is the tier's name.
	Tier string `json:"tier"`
	// At is when the state changed.
	At time.Time `json:"at"`
	// From and To are the states before and after.
	From BreakerState `json:"from"`
	To   BreakerState `json:"to"`
	// Reason says why in a few words, e.g. "5 consecutive failures (last:
	// unavailable)". It must hold no secret, record data or argument value.
	// Empty means unknown.
	Reason string `json:"reason,omitempty"`
}

// FailoverCount is how many calls moved From one tier To the next because
// the first could not serve them, for one Reason (an attempt outcome such as
// unavailable or breaker_open).
type FailoverCount struct {
	From, To, Reason string
	Count            uint64
}

// ToolCount is how many calls of Tool ended with Outcome (ok, tool_error,
// error, denied, panic, canceled, shutting_down).
type ToolCount struct {
	Tool, Outcome string
	Count         uint64
}

// Credits is the Zoho API credit balance last reported to Tier.
type Credits struct {
	Tier      string
	Remaining int64
}
