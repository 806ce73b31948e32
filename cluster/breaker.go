package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// breakerTTL is how long a breaker's shared state outlives its last use.
const breakerTTL = 24 * time.Hour

// SharedBreaker is a circuit breaker whose state all replicas share: one
// replica's failures open it for all, and a half-open breaker lets
// MaxRequests trial calls through across all replicas together. It follows
// gobreaker's state machine and Settings, but keeps the state in Redis and
// changes it with one atomic script before and one after each call, so the
// call itself holds no lock (gobreaker's DistributedCircuitBreaker holds its
// shared lock for the whole call; see BreakerStore).
//
// OnStateChange runs on every replica for every change that replica sees,
// whether its own call caused it or another replica's did (seen at its next
// call or State), so each replica logs and counts the changes; Opens tells
// how many times the shared breaker opened. Settings.Interval and
// BucketPeriod are not supported: counts are cleared on state changes only.
//
// When Redis cannot be used, a local gobreaker.CircuitBreaker with the same
// Settings decides, and the shared state takes over again when Redis is
// back. It is safe for concurrent use and starts no goroutines.
type SharedBreaker[T any] struct {
	c     *Client
	key   string
	st    gobreaker.Settings
	local *gobreaker.TwoStepCircuitBreaker[T]

	mu     sync.Mutex
	last   gobreaker.State
	lastAt time.Time // when Redis last told this replica the state
	gen    int64     // the generation it last saw
	counts gobreaker.Counts
}

// NewSharedBreaker returns the breaker named st.Name (unique per protected
// service, e.g. the tier name) on c. nil policies get gobreaker's defaults.
func NewSharedBreaker[T any](c *Client, st gobreaker.Settings) *SharedBreaker[T] {
	if st.MaxRequests == 0 {
		st.MaxRequests = 1
	}
	if st.Timeout <= 0 {
		st.Timeout = 60 * time.Second
	}
	if st.ReadyToTrip == nil {
		st.ReadyToTrip = func(c gobreaker.Counts) bool { return c.ConsecutiveFailures > 5 }
	}
	if st.IsSuccessful == nil {
		st.IsSuccessful = func(err error) bool { return err == nil }
	}
	if st.IsExcluded == nil {
		st.IsExcluded = func(error) bool { return false }
	}
	b := &SharedBreaker[T]{c: c, key: c.key("brk", "{"+st.Name+"}"), st: st}
	local := st
	local.Interval, local.BucketPeriod = 0, 0
	local.OnStateChange = func(_ string, _, to gobreaker.State) {
		// Called under the local breaker's lock; b.mu is never held
		// while calling into the local breaker.
		b.mu.Lock()
		defer b.mu.Unlock()
		b.moveLocked(to)
	}
	b.local = gobreaker.NewTwoStepCircuitBreaker[T](local)
	return b
}

// Name returns the breaker's name.
func (b *SharedBreaker[T]) Name() string { return b.st.Name }

// breakerLib is the state machine shared by the breaker scripts. State
// numbers are gobreaker's (0 closed, 1 half-open, 2 open); times are unix
// ms from the caller's clock. Every script replies
// {code, from, state, generation, requests, total successes, total
// failures, total exclusions, consecutive successes, consecutive failures,
// opens}.
const breakerLib = `
local k = KEYS[1]
local now, timeout, maxreq, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local f = {'st','gen','exp','req','ts','tf','te','cs','cf','opens'}
local v = redis.call('HMGET', k, unpack(f))
local s = {}
for i, name in ipairs(f) do s[name] = tonumber(v[i] or '0') end
if v[2] == false then s.gen = 1 end
local from = s.st
local function newgen(st)
  s.st = st; s.gen = s.gen + 1
  s.req, s.ts, s.tf, s.te, s.cs, s.cf = 0, 0, 0, 0, 0, 0
  if st == 2 then s.exp = now + timeout; s.opens = s.opens + 1 else s.exp = 0 end
end
local function current()
  if s.st == 2 and s.exp < now then newgen(1) end
end
local function done(code)
  local args = {}
  for _, name in ipairs(f) do table.insert(args, name); table.insert(args, s[name]) end
  redis.call('HSET', k, unpack(args))
  redis.call('PEXPIRE', k, ttl)
  return {code, from, s.st, s.gen, s.req, s.ts, s.tf, s.te, s.cs, s.cf, s.opens}
end
current()
`

// breakerAllow admits a call (code 1, requests counted), or refuses it:
// -1 open, -2 half-open with its trial calls in use.
var breakerAllow = redis.NewScript(breakerLib + `
if s.st == 2 then return done(-1) end
if s.st == 1 and (s.req - s.te) >= maxreq then return done(-2) end
s.req = s.req + 1
return done(1)
`)

// breakerRecord records the outcome ARGV[6] ("s", "f" or "e") of a call
// admitted in generation ARGV[5]; an outcome from an older generation is
// ignored (code 0), as gobreaker does.
var breakerRecord = redis.NewScript(breakerLib + `
if s.gen ~= tonumber(ARGV[5]) then return done(0) end
local o = ARGV[6]
if o == 'e' then
  s.te = s.te + 1
elseif o == 's' then
  s.ts = s.ts + 1; s.cs = s.cs + 1; s.cf = 0
  if s.st == 1 and s.cs >= maxreq then newgen(0) end
else
  if s.st == 0 then
    s.tf = s.tf + 1; s.cf = s.cf + 1; s.cs = 0
  elseif s.st == 1 then
    newgen(2)
  end
end
return done(1)
`)

// breakerTrip opens a closed breaker still in generation ARGV[5] (after
// ReadyToTrip said so in Go).
var breakerTrip = redis.NewScript(breakerLib + `
if s.st == 0 and s.gen == tonumber(ARGV[5]) then newgen(2) end
return done(1)
`)

// breakerPeek applies the open → half-open timeout and reports the state.
var breakerPeek = redis.NewScript(breakerLib + `return done(1)`)

// breakerReset closes the breaker in a new generation.
var breakerReset = redis.NewScript(breakerLib + `newgen(0)
return done(1)`)

type breakerReply struct {
	code   int64
	from   gobreaker.State
	state  gobreaker.State
	gen    int64
	counts gobreaker.Counts
	opens  int64
}

func (b *SharedBreaker[T]) run(ctx context.Context, s *redis.Script, extra ...any) (breakerReply, error) {
	args := append([]any{b.c.now().UnixMilli(), b.st.Timeout.Milliseconds(), b.st.MaxRequests, breakerTTL.Milliseconds()}, extra...)
	var vals []int64
	err := b.c.do(ctx, "breaker "+b.st.Name, func(ctx context.Context) error {
		var err error
		vals, err = s.Run(ctx, b.c.rdb, []string{b.key}, args...).Int64Slice()
		return err
	})
	if err != nil {
		return breakerReply{}, err
	}
	if len(vals) != 11 {
		return breakerReply{}, fmt.Errorf("cluster: breaker script replied %d values", len(vals))
	}
	u := func(i int) uint32 { return uint32(vals[i]) }
	r := breakerReply{
		code: vals[0], from: gobreaker.State(vals[1]), state: gobreaker.State(vals[2]), gen: vals[3],
		counts: gobreaker.Counts{Requests: u(4), TotalSuccesses: u(5), TotalFailures: u(6), TotalExclusions: u(7),
			ConsecutiveSuccesses: u(8), ConsecutiveFailures: u(9)},
		opens: vals[10],
	}
	b.mu.Lock()
	b.counts, b.gen, b.lastAt = r.counts, r.gen, b.c.now()
	b.moveLocked(r.state)
	b.mu.Unlock()
	return r, nil
}

// moveLocked records that this replica now sees state to, and tells
// OnStateChange if it differs from what the replica saw last.
func (b *SharedBreaker[T]) moveLocked(to gobreaker.State) {
	if to == b.last {
		return
	}
	from := b.last
	b.last = to
	if b.st.OnStateChange != nil {
		b.st.OnStateChange(b.st.Name, from, to)
	}
}

// Execute runs req if the shared breaker admits it and records its outcome
// for all replicas. A refused call returns gobreaker.ErrOpenState or
// gobreaker.ErrTooManyRequests without running req. A panic in req counts
// as a failure and is re-raised.
func (b *SharedBreaker[T]) Execute(req func() (T, error)) (T, error) {
	var zero T
	done, err := b.Allow()
	if err != nil {
		return zero, err
	}
	defer func() {
		if e := recover(); e != nil {
			done(fmt.Errorf("%v", e))
			panic(e)
		}
	}()
	res, err := req()
	done(err)
	return res, err
}

// Allow is the two-step form of Execute (gobreaker.TwoStepCircuitBreaker's):
// it admits a call, or refuses it with gobreaker.ErrOpenState or
// gobreaker.ErrTooManyRequests; the caller makes the call and passes its
// outcome to done, exactly once.
func (b *SharedBreaker[T]) Allow() (done func(err error), err error) {
	ctx := context.Background()
	r, err := b.run(ctx, breakerAllow)
	if err != nil {
		return b.local.Allow()
	}
	switch r.code {
	case -1:
		return nil, gobreaker.ErrOpenState
	case -2:
		return nil, gobreaker.ErrTooManyRequests
	}
	return func(err error) { b.record(ctx, r.gen, err) }, nil
}

// record stores the outcome of a call admitted in generation gen, and trips
// the breaker when ReadyToTrip says so. A Redis failure here loses the
// outcome (the call has been made either way).
func (b *SharedBreaker[T]) record(ctx context.Context, gen int64, err error) {
	o := "f"
	switch {
	case b.st.IsExcluded(err):
		o = "e"
	case b.st.IsSuccessful(err):
		o = "s"
	}
	r, rerr := b.run(ctx, breakerRecord, gen, o)
	if rerr != nil || o != "f" || r.code != 1 || r.state != gobreaker.StateClosed {
		return
	}
	if b.st.ReadyToTrip(r.counts) {
		_, _ = b.run(ctx, breakerTrip, r.gen)
	}
}

// State returns the shared state (one Redis round trip), or the local
// breaker's when Redis cannot be used.
func (b *SharedBreaker[T]) State() gobreaker.State {
	if _, err := b.run(context.Background(), breakerPeek); err != nil {
		return b.local.State()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// AllowFast is Allow without its round trip to Redis when this replica
// learnt within maxAge that the breaker is closed: a closed breaker admits
// every call, so only the outcome goes to Redis (one round trip instead of
// two), and its reply refreshes the replica's view. The price: for up to
// maxAge after another replica opened the breaker, this replica may still
// send calls through (their outcomes are then ignored, as gobreaker ignores
// outcomes of an older generation), and closed-state calls are not counted
// in Counts.Requests. Half-open and open breakers, and an older view, take
// the full Allow.
func (b *SharedBreaker[T]) AllowFast(maxAge time.Duration) (done func(err error), err error) {
	b.mu.Lock()
	fast := b.last == gobreaker.StateClosed && !b.lastAt.IsZero() && b.c.now().Sub(b.lastAt) < maxAge
	gen := b.gen
	b.mu.Unlock()
	if !fast || !b.c.Usable() {
		return b.Allow()
	}
	return func(err error) { b.record(context.Background(), gen, err) }, nil
}

// Seen returns the state this replica saw last (at its last call, State or
// Reset), without asking Redis: cheap enough for every routed call. It may
// lag behind a change another replica made; the next call or State sees it.
func (b *SharedBreaker[T]) Seen() gobreaker.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Counts returns the counts of the current generation as this replica last
// saw them (from its last call or State).
func (b *SharedBreaker[T]) Counts() gobreaker.Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts
}

// Reset closes the breaker for all replicas (reset_circuit_breakers);
// outcomes of calls in flight are ignored.
func (b *SharedBreaker[T]) Reset(ctx context.Context) error {
	_, err := b.run(ctx, breakerReset)
	return err
}

// Opens returns how many times the shared breaker has opened since it was
// created (or expired after a day unused).
func (b *SharedBreaker[T]) Opens(ctx context.Context) (int64, error) {
	r, err := b.run(ctx, breakerPeek)
	return r.opens, err
}
