package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// fullBudgetBackoff is the MaxBackoff of the last tier in a chain: no cap
// beyond the tier's own policy and the call's deadline.
const fullBudgetBackoff = time.Hour

// call is the state of one routed call. It lives on the caller's stack.
type call struct {
	r        *Router
	op       tiers.OpKind
	parent   context.Context // the caller's context
	base     context.Context // parent plus scopes
	start    time.Time
	deadline time.Time
	// callerBound is true when the caller's own deadline is earlier than
	// the router's call deadline: attempts it cuts short say nothing about
	// the tiers (only a tier's own timeout then counts against its breaker).
	callerBound bool
	chain       [maxTiers]*tierState // the failover chain, chain[:n]
	n           int
	attempts    []tiers.Attempt
	served      tiers.Name
	budgets     *[roomTiers]budgetCtx // the first attempts' contexts (withBudget)
	tried       int                   // attempts made under a breaker

	prev        *tierState // tier whose failure moved the call on
	prevOutcome tiers.AttemptOutcome
	lastErr     error
}

// step is what a call does after an attempt.
type step int

const (
	stepServed step = iota // the tier answered: success, or a verdict in err
	stepNext               // fail over to the next tier
	stepStop               // stop with err: the caller's cancellation or the deadline
)

type attemptFunc func(ctx context.Context, t tiers.Tier) error

func (r *Router) start(c *call, ctx context.Context, rc RoutingContext, op tiers.OpKind) {
	c.r = r
	c.op = op
	c.parent = ctx
	c.base = tiers.WithScopes(ctx, rc.Tools)
	c.start = r.now()
	ttl := r.callTTL
	if isBulk(op) {
		ttl = r.bulkTTL
	}
	c.deadline = c.start.Add(ttl)
	if d, ok := ctx.Deadline(); ok && d.Before(c.deadline) {
		c.deadline, c.callerBound = d, true
	}
	c.n = r.chain(&c.chain, rc, op)
	c.attempts = make([]tiers.Attempt, 0, c.n)
}

// roomTiers is how many attempts' contexts a call makes in one
// allocation: a chain of the three tiers, each tried once.
const roomTiers = 3

// quickBudget carries tiers.QuickRetry (see budgetCtx).
var quickBudget = tiers.WithRetryBudget(context.Background(), tiers.QuickRetry)

// budgetCtx is the call's base context with an attempt's retry budget, as
// tiers.WithRetryBudget(base, b) is, without making a context value and
// boxing the budget on every attempt: budget is a context made once that
// carries only b (quickBudget or a tier's fullBudget).
type budgetCtx struct {
	context.Context                 // the call's base
	budget          context.Context // carries the budget, over context.Background()
}

// Value answers the budget's key from budget and every other key from the
// call's base.
func (c *budgetCtx) Value(key any) any {
	if v := c.budget.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// withBudget returns the call's base context with the retry budget budget
// carries, for the call's next attempt under a breaker. Each attempt gets
// a context of its own: one a tier may still hold is never changed.
func (c *call) withBudget(budget context.Context) context.Context {
	var b *budgetCtx
	switch {
	case c.tried >= roomTiers:
		b = new(budgetCtx)
	case c.budgets == nil:
		c.budgets = new([roomTiers]budgetCtx)
		fallthrough
	default:
		b = &c.budgets[c.tried]
	}
	c.tried++
	*b = budgetCtx{Context: c.base, budget: budget}
	return b
}

// finish returns the call's route.
func (c *call) finish() tiers.Route {
	return tiers.Route{Tier: c.served, Attempts: c.attempts, DurationMS: c.r.now().Sub(c.start).Milliseconds()}
}

func (c *call) add(ts *tierState, outcome tiers.AttemptOutcome, err error) int {
	a := tiers.Attempt{Tier: ts.name, Outcome: outcome}
	if err != nil {
		a.Error = err.Error()
	}
	c.attempts = append(c.attempts, a)
	return len(c.attempts) - 1
}

// run tries fn on the chain until a tier answers or the call must stop.
func (c *call) run(fn attemptFunc) error {
	for i := range c.n {
		if st, err := c.attempt(i, c.op, fn); st != stepNext {
			return err
		}
	}
	return c.exhausted(nil)
}

// exhausted builds the error of a call that no tier could serve. last, if
// not nil, replaces the last attempt's error as the cause.
func (c *call) exhausted(last error) error {
	if last == nil {
		last = c.lastErr
	}
	return &UnavailableError{
		Op:         c.op,
		Attempts:   slicesClone(c.attempts),
		Last:       last,
		Elapsed:    c.r.now().Sub(c.start),
		RetryAfter: c.r.cfg.BreakerTimeout,
	}
}

func slicesClone(a []tiers.Attempt) []tiers.Attempt { return append([]tiers.Attempt(nil), a...) }

// isLast reports whether no tier after i in the chain could still serve the
// call (all the later ones have open breakers).
func (c *call) isLast(i int) bool {
	for _, ts := range c.chain[i+1 : c.n] {
		if !ts.br.open() {
			return false
		}
	}
	return true
}

// excluded marks an error the breaker must not count: the caller's own
// deadline cut the attempt short, which says nothing about the tier.
type excluded struct{ error }

func (e excluded) Unwrap() error { return e.error }

// attempt runs fn on chain[i] (as operation op) under the tier's breaker,
// with the attempt's deadline, scopes and retry budget in its context, and
// records the attempt in the route, the statistics and the metrics.
func (c *call) attempt(i int, op tiers.OpKind, fn attemptFunc) (step, error) {
	ts := c.chain[i]
	if err := c.parent.Err(); err != nil {
		c.add(ts, tiers.AttemptCanceled, err)
		return stepStop, err
	}
	r := c.r
	now := r.now()
	if left := c.deadline.Sub(now); left < r.floor {
		for _, s := range c.chain[i:c.n] {
			c.add(s, tiers.AttemptSkippedDeadline, nil)
			s.prom.count(op, tiers.AttemptSkippedDeadline)
		}
		e := &tiers.Error{Tier: ts.name, Class: tiers.ClassUnavailable,
			Message: fmt.Sprintf("deadline exhausted after %s (%s left, at least %s needed for an attempt)",
				now.Sub(c.start).Round(time.Millisecond), max(left, 0).Round(time.Millisecond), r.floor)}
		if c.lastErr == nil {
			c.lastErr = e
		}
		u := c.exhausted(nil).(*UnavailableError)
		u.Deadline = true
		return stepStop, u
	}
	if c.prev != nil {
		r.noteFailover(c.op, c.prev, ts, c.prevOutcome)
	}

	called := false
	var err error
	var t0 time.Time
	body := func() (struct{}, error) {
		// Admitted by the breaker: build the attempt's context.
		called = true
		budget := quickBudget
		if c.isLast(i) {
			budget = ts.fullBudget
		}
		end, b := c.attemptEnd(i, now)
		var actx context.Context
		var cancel context.CancelFunc
		if isBulk(op) {
			// The budget bounds the attempt's silence, not its length: it
			// may run to the call's deadline while it progresses.
			actx, cancel = c.whileProgressing(c.withBudget(budget), end.Sub(now))
			b = boundCall // unless it falls silent (reclassify)
		} else {
			actx, cancel = context.WithDeadline(c.withBudget(budget), end)
		}
		defer cancel()
		t0 = r.now()
		err = fn(actx, ts.impl)
		if err == nil {
			return struct{}{}, nil
		}
		var forBreaker error
		err, forBreaker = c.reclassify(ts, op, err, actx, b, end.Sub(now))
		return struct{}{}, forBreaker
	}
	var berr error
	if cb := ts.br.get(); cb.local != nil {
		_, berr = cb.local.Execute(body)
	} else {
		berr = allowed(cb.ext, body)
	}

	if !called {
		// gobreaker refused: open, or half-open with its trial calls in use.
		e := ts.openErr
		if !errors.Is(berr, gobreaker.ErrOpenState) && !errors.Is(berr, gobreaker.ErrTooManyRequests) {
			e = &tiers.Error{Tier: ts.name, Class: tiers.ClassUnavailable, Message: "circuit breaker refused the call: " + berr.Error(), Err: berr}
		}
		c.attempts = append(c.attempts, tiers.Attempt{Tier: ts.name, Outcome: tiers.AttemptBreakerOpen, Error: ts.openText})
		ts.prom.count(op, tiers.AttemptBreakerOpen)
		c.prev, c.prevOutcome, c.lastErr = ts, tiers.AttemptBreakerOpen, e
		return stepNext, e
	}
	dur := r.now().Sub(t0)
	o := tiers.OutcomeOf(err)
	ts.stats.record(o, dur, err)
	ts.prom.observe(op, o, dur)
	if err == nil {
		c.add(ts, tiers.AttemptSuccess, nil)
		c.served = ts.name
		return stepServed, nil
	}
	c.add(ts, o, err)
	switch tiers.Classify(err) {
	case tiers.ClassVerdict:
		c.served = ts.name
		return stepServed, err
	case tiers.ClassCanceled:
		if perr := c.parent.Err(); perr != nil {
			return stepStop, perr
		}
		return stepStop, err
	}
	c.prev, c.prevOutcome, c.lastErr = ts, o, err
	return stepNext, err
}

// allowed runs body under the two-step breaker b; a panic in body counts as
// a failure and is re-raised, as gobreaker's Execute does.
func allowed(b Breaker, body func() (struct{}, error)) error {
	done, err := b.Allow()
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished {
			e := recover() // nil for runtime.Goexit, which goes on
			done(fmt.Errorf("%v", e))
			if e != nil {
				panic(e)
			}
		}
	}()
	_, err = body()
	finished = true
	done(err)
	return nil
}

// errSilent is the cause of a bulk attempt ended for showing no progress
// for its budget.
var errSilent = errors.New("no progress")

// whileProgressing returns the context of a bulk attempt: it ends at the
// call's deadline, or once the tier has shown no progress (a
// tiers.ReportProgress through the context) for idle, plus the wait the
// last report announced (Progress.Wait: a job's pause between polls). Every report is also
// passed on to the call's own reporter (the tool's, for the client).
func (c *call) whileProgressing(ctx context.Context, idle time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancelDeadline := context.WithDeadline(ctx, c.deadline)
	ctx, cancel := context.WithCancelCause(ctx)
	watchdog := time.AfterFunc(idle, func() { cancel(errSilent) })
	outer := c.base
	ctx = tiers.WithProgress(ctx, func(p tiers.Progress) {
		watchdog.Reset(idle + max(p.Wait, 0))
		tiers.ReportProgress(outer, p)
	})
	return ctx, func() {
		watchdog.Stop()
		cancel(nil)
		cancelDeadline()
	}
}

// bound is what ends an attempt: the tier's own timeout, its share of the
// call's deadline, or the call's deadline itself.
type bound uint8

const (
	boundTier  bound = iota // the tier's timeout (TierConfig.Timeout)
	boundShare              // an equal share of the time left among the tiers still to try
	boundCall               // the call's deadline
)

// attemptEnd returns when attempt i, starting at now, must end and what
// sets that time. An attempt gets its tier's timeout, but never more than an
// equal share of the time left in the call's deadline among the tiers still
// to try (this one and the later ones whose breakers are not open), so that
// a tier that hangs leaves time for the tiers after it; and never less than
// MinAttemptTime while that much is left. With the defaults (a 30s call
// deadline, three tiers) a hung tier 1 is given up after 10s, tier 2 then
// gets up to 10s and tier 3 the rest.
func (c *call) attemptEnd(i int, now time.Time) (time.Time, bound) {
	r, ts := c.r, c.chain[i]
	k := 1
	for _, s := range c.chain[i+1 : c.n] {
		if !s.br.open() {
			k++
		}
	}
	end, b := c.deadline, boundCall
	if k > 1 {
		left := c.deadline.Sub(now)
		share := max(left/time.Duration(k), min(r.floor, left))
		if s := now.Add(share); s.Before(end) {
			end, b = s, boundShare
		}
	}
	if t := now.Add(ts.timeout); !t.After(end) {
		end, b = t, boundTier
	}
	return end, b
}

// reclassify decides what an attempt's error means. The caller's
// cancellation wins over anything the tier said (except a verdict). A context
// error that is not the caller's is a timeout: the tier's own timeout, its
// share of the call's deadline or the call's deadline (b says which, took how
// long the attempt had). Each counts as a breaker failure (the tier did not
// answer in the time the router gives it), except when the caller's own
// deadline, earlier than the router's, was what cut the attempt short. A
// timed-out write may have been applied: outcome unknown, unless the tier
// said it was not sent (see maybeSent).
// It returns the error for the caller and the one for the breaker.
func (c *call) reclassify(ts *tierState, op tiers.OpKind, err error, actx context.Context, b bound, took time.Duration) (error, error) {
	cls := tiers.Classify(err)
	if cls == tiers.ClassVerdict {
		return err, err
	}
	if perr := c.parent.Err(); perr != nil {
		return perr, perr
	}
	silent := errors.Is(context.Cause(actx), errSilent)
	if tiers.PendingJobOf(err) != "" && actx.Err() != nil && !silent {
		// The tier was waiting for a job whose polls answered when the
		// call's time ran out: waiting is not a hung tier. The router
		// waits on (awaitJob) or hands the job back.
		return err, excluded{err}
	}
	if cls != tiers.ClassCanceled {
		return err, err
	}
	write := (op == tiers.OpUpdate || op == tiers.OpBulkUpdate || op == tiers.OpCreate) && maybeSent(err)
	class := tiers.ClassUnavailable
	if write {
		class = tiers.ClassOutcomeUnknown
	}
	var msg string
	switch {
	case silent:
		budget := "its timeout"
		if took < ts.timeout {
			budget = "its share of the call's deadline"
		}
		msg = fmt.Sprintf("no answer or progress for %s, %s", took.Round(time.Millisecond), budget)
		b = boundTier
	case actx.Err() == nil: // the tier's own context ended
		msg = "timed out: " + err.Error()
	case b == boundTier:
		msg = fmt.Sprintf("timed out after %s", ts.timeout)
	case b == boundShare:
		msg = fmt.Sprintf("timed out after %s, its share of the call's deadline, leaving the rest to the next tiers", took.Round(time.Millisecond))
	default:
		msg = "the call's deadline ran out before the tier answered"
	}
	if write {
		msg += "; the write may or may not have been applied"
	}
	e := &tiers.Error{Tier: ts.name, Class: class, Message: msg, Err: err}
	if actx.Err() != nil && b != boundTier && (c.callerBound || isBulk(op)) {
		// The caller's own deadline, or the end of a bulk call that was
		// still progressing: nothing against the tier.
		return e, excluded{e}
	}
	return e, e
}

// maybeSent reports whether a canceled write attempt may have reached Zoho.
// The tiers mark a write canceled after it was sent with the code
// OUTCOME_UNKNOWN (tiers/zoho) or report it as ClassOutcomeUnknown (tiers
// 1 and 2), so a *tiers.Error of ClassCanceled without that code is a write
// that was never sent or that Zoho refused unapplied (e.g. canceled while
// waiting for an access token, or after a 401): reading it back would be
// needless, and telling the agent it may have been applied, false. An
// error the tier did not classify (a bare context error) proves nothing:
// it may have been sent.
func maybeSent(err error) bool {
	var te *tiers.Error
	if !errors.As(err, &te) || te.Class != tiers.ClassCanceled {
		return true
	}
	return te.Code == "OUTCOME_UNKNOWN"
}

// reconciled marks the call's last attempt as a read-back of a write whose
// outcome was unknown.
func (c *call) reconciled() {
	c.attempts[len(c.attempts)-1].Outcome = tiers.AttemptReconciled
}

// overrule records that ts, whose answer was the last attempt, still failed
// the call with e (say, it left records without an outcome): the attempt
// takes e's outcome, and e is why the call moves on.
func (c *call) overrule(ts *tierState, e *tiers.Error) {
	o := e.Class.Outcome()
	c.attempts[len(c.attempts)-1] = tiers.Attempt{Tier: ts.name, Outcome: o, Error: e.Error()}
	c.prev, c.prevOutcome, c.lastErr = ts, o, e
}

// servedBy sets the tier the route names as the one that served the call.
func (c *call) servedBy(n tiers.Name) { c.served = n }

// record counts an attempt the router made outside attempt (without the
// tier's breaker, such as waiting for a job): in the route, the tier's
// statistics and its metrics.
func (c *call) record(ts *tierState, op tiers.OpKind, err error, dur time.Duration) {
	o := tiers.OutcomeOf(err)
	ts.stats.record(o, dur, err)
	ts.prom.observe(op, o, dur)
	c.add(ts, o, err)
}
