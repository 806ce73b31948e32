package tiers

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// RouteMetaKey is the _meta key under which every tool result carries its
// Route (SPEC §4). The tools set it; the server's call log reads it back.
const RouteMetaKey = "zoho-mcp-proxy/route"

// Route is the provenance of a call: the tier that served it (empty if none
// did), every attempt in order, and the call's wall time. The router makes
// it; a tool result carries it, as is, in _meta[RouteMetaKey].
type Route struct {
	Tier       Name      `json:"tier"`
	Attempts   []Attempt `json:"attempts"`
	DurationMS int64     `json:"duration_ms"`
}

// MarshalJSON writes the route with attempts always an array, never null.
func (r Route) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, 64+48*len(r.Attempts)))
}

// AppendJSON appends the route's JSON (MarshalJSON's bytes) to dst: the
// bytes json.Marshal writes for its fields, with append instead of
// reflection, for a route goes into every tool result (TestRouteJSON,
// FuzzRouteJSON hold it to json.Marshal). An attempt with an outcome out of
// range fails with json.Marshal's error, and dst unchanged.
func (r Route) AppendJSON(dst []byte) ([]byte, error) {
	n := len(dst)
	dst = AppendQuoted(append(dst, `{"tier":`...), string(r.Tier))
	dst = append(dst, `,"attempts":[`...)
	for i, a := range r.Attempts {
		if int(a.Outcome) >= len(outcomeNames) {
			type plain Route
			_, err := json.Marshal(plain(r)) // json's own error
			return dst[:n], err
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendQuoted(append(dst, `{"tier":`...), string(a.Tier))
		dst = AppendQuoted(append(dst, `,"outcome":`...), outcomeNames[a.Outcome])
		if a.Error != "" {
			dst = AppendQuoted(append(dst, `,"error":`...), a.Error)
		}
		dst = append(dst, '}')
	}
	dst = strconv.AppendInt(append(dst, `],"duration_ms":`...), r.DurationMS, 10)
	return append(dst, '}'), nil
}

// Attempt is one tier's part in a call: what became of it and the tier's
// error text, if any.
type Attempt struct {
	Tier    Name           `json:"tier"`
	Outcome AttemptOutcome `json:"outcome"`
	Error   string         `json:"error,omitempty"`
}

// AttemptOutcome is what became of one attempt on a tier. It is the
// "outcome" of a route's attempts and the label of the tier metrics. The
// outcome of a failed call is its error's Class (see Class.Outcome); the
// router adds the outcomes of attempts it did not make or that it settled
// itself.
type AttemptOutcome uint8

// The attempt outcomes.
const (
	AttemptSuccess         AttemptOutcome = iota // the tier served the call
	AttemptVerdict                               // Zoho answered with a verdict on the request, returned to the caller
	AttemptUnavailable                           // connection refused, 5xx, timeout, malformed answer
	AttemptRateLimited                           // 429 after the tier's retries
	AttemptAuthFailed                            // the tier's own credentials failed
	AttemptOutcomeUnknown                        // a write was sent and no answer came
	AttemptUnsupported                           // the tier cannot do the operation
	AttemptCanceled                              // the caller canceled the call during this attempt
	AttemptBreakerOpen                           // skipped at once: the tier's breaker is open
	AttemptSkippedDeadline                       // not tried: too little of the call's deadline was left
	AttemptReconciled                            // read back after an unknown write outcome

	// NumAttemptOutcomes is how many outcomes there are, for tables indexed
	// by outcome.
	NumAttemptOutcomes = iota
)

var outcomeNames = [NumAttemptOutcomes]string{
	AttemptSuccess:         "success",
	AttemptVerdict:         "verdict",
	AttemptUnavailable:     "unavailable",
	AttemptRateLimited:     "rate_limited",
	AttemptAuthFailed:      "auth_failed",
	AttemptOutcomeUnknown:  "outcome_unknown",
	AttemptUnsupported:     "unsupported",
	AttemptCanceled:        "canceled",
	AttemptBreakerOpen:     "breaker_open",
	AttemptSkippedDeadline: "skipped_deadline",
	AttemptReconciled:      "reconciled",
}

// String returns the outcome's name, e.g. "rate_limited".
func (o AttemptOutcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText writes the outcome's name.
func (o AttemptOutcome) MarshalText() ([]byte, error) {
	if int(o) >= len(outcomeNames) {
		return nil, fmt.Errorf("tiers: no attempt outcome %d", int(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText reads an outcome's name.
func (o *AttemptOutcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = AttemptOutcome(i)
			return nil
		}
	}
	return fmt.Errorf("tiers: unknown attempt outcome %q", b)
}

// OutcomeOf returns the outcome of an attempt that returned err: success for
// nil, else the outcome of err's Class.
func OutcomeOf(err error) AttemptOutcome {
	if err == nil {
		return AttemptSuccess
	}
	return Classify(err).Outcome()
}
