package tiers

import (
	"context"
	"errors"
	"fmt"
)

// Class says what a failure means for routing.
type Class int

// The error classes. The zero value is ClassUnavailable so that an
// unclassified error is treated as the tier being down (fail over), never as a
// verdict silently returned to the caller.
const (
	// ClassUnavailable: connection refused, 5xx, timeout before the request
	// was sent, malformed answer. Fail over; counts against the breaker.
	ClassUnavailable Class = iota
	// ClassVerdict: Zoho's answer about the caller's request (INVALID_DATA,
	// MANDATORY_NOT_FOUND, DUPLICATE_DATA, NO_PERMISSION, not found,
	// validation). Return to the caller untouched; success for the breaker.
	ClassVerdict
	// ClassRateLimited: 429 once the tier's retries are spent. Fail over.
	ClassRateLimited
	// ClassAuth: this tier's own credentials failed after one refresh. Fail over.
	ClassAuth
	// ClassOutcomeUnknown: a write was sent and no answer came. Reconcile
	// before anything is sent again.
	ClassOutcomeUnknown
	// ClassUnsupported: this tier cannot do the operation (e.g. the upstream
	// MCP server lacks the tool). Fail over; not a breaker failure.
	ClassUnsupported
	// ClassCanceled: the caller's own cancellation or deadline. Stop; not a
	// breaker failure.
	ClassCanceled
)

// classOutcomes gives each class the outcome of an attempt that failed with
// it; its name is the class's name.
var classOutcomes = [...]AttemptOutcome{
	ClassUnavailable:    AttemptUnavailable,
	ClassVerdict:        AttemptVerdict,
	ClassRateLimited:    AttemptRateLimited,
	ClassAuth:           AttemptAuthFailed,
	ClassOutcomeUnknown: AttemptOutcomeUnknown,
	ClassUnsupported:    AttemptUnsupported,
	ClassCanceled:       AttemptCanceled,
}

// Outcome returns the outcome of an attempt that failed with class c; an
// unknown class is AttemptUnavailable, like an unclassified error.
func (c Class) Outcome() AttemptOutcome {
	if c >= 0 && int(c) < len(classOutcomes) {
		return classOutcomes[c]
	}
	return AttemptUnavailable
}

// String returns the class's metric/log label, e.g. "rate_limited": the name
// of its outcome.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classOutcomes) {
		return classOutcomes[c].String()
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified tier failure. Message and Code are Zoho's own when
// Zoho answered; they never hold tokens, secrets or the MCP endpoint key.
type Error struct {
	Tier       Name
	Class      Class
	Code       string         // Zoho's code, e.g. "INVALID_DATA"; empty if Zoho did not answer
	Message    string         // Zoho's message, or a description of the failure
	HTTPStatus int            // 0 if no HTTP answer
	Details    map[string]any // Zoho's details object, if any
	Err        error          // the cause, already free of secrets; may be nil

	// PendingJob names a job (a Zoho Bulk Write job) that had not finished
	// when the tier stopped waiting for it: every record of the result whose
	// outcome is unknown is pending on that job. Zoho runs such a job
	// whether or not anyone waits for it, so those records must not be read
	// back and sent again through another tier (the job would write them a
	// second time, over any change made in between): wait for the job
	// through the tier's JobAwaiter, or report them unknown naming the job.
	// Empty means no job is pending.
	PendingJob string
}

// Error renders the failure for logs and the agent: "REST: INVALID_DATA: the
// field api name given seems to be invalid".
func (e *Error) Error() string {
	s := string(e.Tier)
	if s != "" {
		s += ": "
	}
	if e.Code != "" {
		s += e.Code + ": "
	}
	if e.Message != "" {
		s += e.Message
	} else if e.Err != nil {
		s += e.Err.Error()
	} else {
		s += e.Class.String()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Classify returns the class of err: the Class of the first *Error in its
// chain, ClassCanceled for context cancellation and deadline errors, and
// ClassUnavailable for anything else.
func Classify(err error) Class {
	var te *Error
	if errors.As(err, &te) {
		return te.Class
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ClassCanceled
	}
	return ClassUnavailable
}

// PendingJobOf returns the job the first *Error in err's chain that names
// one says its unknown records are pending on (see Error.PendingJob), or "".
func PendingJobOf(err error) string {
	for err != nil {
		if te, ok := err.(*Error); ok && te.PendingJob != "" {
			return te.PendingJob
		}
		err = errors.Unwrap(err)
	}
	return ""
}

// Errorf builds a classified error for tier t with a formatted message.
func Errorf(t Name, c Class, format string, args ...any) *Error {
	return &Error{Tier: t, Class: c, Message: fmt.Sprintf(format, args...)}
}

// NotFound builds the verdict for a record that does not exist.
func NotFound(t Name, module, id string) *Error {
	return &Error{Tier: t, Class: ClassVerdict, Code: "NOT_FOUND", HTTPStatus: 204,
		Message: fmt.Sprintf("no %s record with id %s", module, id)}
}
