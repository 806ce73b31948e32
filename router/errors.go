package router

import (
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// UnavailableError is the error of a call that no tier could serve. Its
// Error text is written for an agent: what each tier did and what to do next.
type UnavailableError struct {
	// Op is the operation.
	Op tiers.OpKind
	// Attempts are the call's attempts in order; empty when no enabled,
	// configured tier can do Op at all.
	Attempts []tiers.Attempt
	// Last is the last tier failure; nil if no tier was called.
	Last error
	// Deadline is true when the call stopped because too little of its
	// deadline was left.
	Deadline bool
	// Elapsed is how long the call ran.
	Elapsed time.Duration
	// RetryAfter is the breakers' open period, a fair wait before retrying
	// when breakers are open; zero means unknown.
	RetryAfter time.Duration
}

// Error renders e for the agent, e.g. "no tier could serve get: MCP skipped
// (circuit breaker open), BULK rate limited, REST unavailable (timed out
// after 45s); Zoho's rate limit was reached: retry in about a minute".
func (e *UnavailableError) Error() string {
	var sb strings.Builder
	if len(e.Attempts) == 0 {
		sb.WriteString("no tier can serve ")
		sb.WriteString(string(e.Op))
		sb.WriteString(": no enabled and configured tier supports it; check the tier settings (get_tier_health shows each tier)")
		return sb.String()
	}
	sb.WriteString("no tier could serve ")
	sb.WriteString(string(e.Op))
	sb.WriteString(": ")
	var rate, auth, breaker bool
	for i, a := range e.Attempts {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(string(a.Tier))
		sb.WriteByte(' ')
		switch a.Outcome {
		case tiers.AttemptBreakerOpen:
			breaker = true
			sb.WriteString("skipped (circuit breaker open)")
		case tiers.AttemptSkippedDeadline:
			sb.WriteString("not tried (deadline exhausted)")
		case tiers.AttemptRateLimited:
			rate = true
			sb.WriteString("rate limited")
		case tiers.AttemptAuthFailed:
			auth = true
			sb.WriteString("refused its credentials")
		case tiers.AttemptUnsupported:
			sb.WriteString("cannot do this operation")
		case tiers.AttemptOutcomeUnknown:
			sb.WriteString("sent the write but no answer came")
		case tiers.AttemptCanceled:
			sb.WriteString("canceled")
		default:
			sb.WriteString(strings.ReplaceAll(a.Outcome.String(), "_", " "))
		}
		if a.Error != "" && a.Outcome != tiers.AttemptBreakerOpen {
			sb.WriteString(" (")
			sb.WriteString(shorten(strings.TrimPrefix(a.Error, string(a.Tier)+": "), 160))
			sb.WriteByte(')')
		}
	}
	sb.WriteString("; ")
	switch {
	case e.Deadline:
		sb.WriteString("the call's deadline ran out after ")
		sb.WriteString(e.Elapsed.Round(time.Millisecond).String())
		sb.WriteString(": retry, or ask for fewer records")
	case rate:
		sb.WriteString("Zoho's rate limit was reached: retry in about a minute or narrow the request")
	case auth:
		sb.WriteString("a tier's Zoho credentials were refused: check them (get_tier_health shows each tier)")
	case breaker && e.RetryAfter > 0:
		sb.WriteString("retry in about ")
		sb.WriteString(e.RetryAfter.String())
		sb.WriteString(" (get_tier_health shows each tier)")
	default:
		sb.WriteString("retry in a minute (get_tier_health shows each tier)")
	}
	return sb.String()
}

// Unwrap returns the last tier failure.
func (e *UnavailableError) Unwrap() error { return e.Last }

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}
