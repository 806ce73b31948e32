package tiers

import (
	"context"
	"time"
)

type ctxKey int

const (
	scopesKey ctxKey = iota
	budgetKey
)

// WithScopes returns a context carrying the caller's permission scopes. Tier 1
// sends them upstream as the X-MCP-Tools header.
func WithScopes(ctx context.Context, scopes []string) context.Context {
	return context.WithValue(ctx, scopesKey, scopes)
}

// ScopesFrom returns the scopes set by WithScopes, or nil.
func ScopesFrom(ctx context.Context) []string {
	s, _ := ctx.Value(scopesKey).([]string)
	return s
}

// RetryBudget bounds a tier's own retries for one call. The router gives a
// tier that is not last in the failover chain a small budget (one quick
// retry) so an agent never waits seconds on a dead tier while another is
// healthy; the last tier gets its full policy.
type RetryBudget struct {
	MaxRetries int           // retries after the first attempt
	MaxBackoff time.Duration // cap on any single wait between attempts
}

// QuickRetry is the budget of a tier that another tier could still back up.
var QuickRetry = RetryBudget{MaxRetries: 1, MaxBackoff: 250 * time.Millisecond}

// WithRetryBudget returns a context carrying b.
func WithRetryBudget(ctx context.Context, b RetryBudget) context.Context {
	return context.WithValue(ctx, budgetKey, b)
}

// RetryBudgetFrom returns the budget set by WithRetryBudget; ok is false when
// none was set and the tier should use its own configured policy.
func RetryBudgetFrom(ctx context.Context) (b RetryBudget, ok bool) {
	b, ok = ctx.Value(budgetKey).(RetryBudget)
	return b, ok
}

// Progress is how far a long operation (a bulk read or update, a bulk job)
// has come, as a tier, the router or a tool reports it. A report is also a
// sign of life: the router does not give up on a bulk attempt that keeps
// reporting (see router.Config.BulkTimeout).
type Progress struct {
	// Done is how many records are settled (written, read or given an
	// outcome) so far; Total how many there are in all, 0 when not known.
	Done, Total int
	// Message says what is happening, e.g. "bulk write job 42: IN PROGRESS".
	Message string
	// Wait is how long the reporter will now be quiet on purpose (say, the
	// wait before a job's next status poll); the router adds it to the
	// silence it allows. Zero means none.
	Wait time.Duration
}

const progressKey ctxKey = budgetKey + 1

// WithProgress returns a context whose ReportProgress calls fn. fn must be
// safe for concurrent use and return quickly.
func WithProgress(ctx context.Context, fn func(Progress)) context.Context {
	return context.WithValue(ctx, progressKey, fn)
}

// ReportProgress tells the reporter WithProgress set in ctx, if any.
func ReportProgress(ctx context.Context, p Progress) {
	if fn, ok := ctx.Value(progressKey).(func(Progress)); ok && fn != nil {
		fn(p)
	}
}
