package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Governor bounds how many calls are in flight at once. Acquire blocks
// until a slot is free or ctx ends (then it returns ctx's error); release
// frees the slot and may be called more than once.
type Governor interface {
	Acquire(ctx context.Context) (release func(), err error)
}

// LocalGovernor is an in-process Governor: a semaphore whose waiters are
// served first come, first served.
//
// Its slots are numbered: a free slot's number waits in a channel, and each
// slot counts how often it was released. A release function holds the slot
// number and the count it was taken at, so only its first call frees the
// slot (a compare-and-swap on the count), and a late second call cannot
// free the slot of the caller who took it next. That is one allocation per
// Acquire (the release function), where a sync.Once and two closures were
// three.
type LocalGovernor struct {
	free  chan int        // numbers of the free slots
	taken []atomic.Uint64 // per slot: how many times it was released
}

var _ Governor = (*LocalGovernor)(nil)

// NewLocalGovernor returns a Governor of limit slots (at least 1).
func NewLocalGovernor(limit int) *LocalGovernor {
	n := max(limit, 1)
	g := &LocalGovernor{free: make(chan int, n), taken: make([]atomic.Uint64, n)}
	for i := range n {
		g.free <- i
	}
	return g
}

// Acquire takes a slot. Goroutines blocked on a channel are woken in the
// order they blocked, so waiters are served in order of arrival.
func (g *LocalGovernor) Acquire(ctx context.Context) (func(), error) {
	select {
	case i := <-g.free:
		return g.release(i, g.taken[i].Load()), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release returns the release function of slot i taken when its count was
// n: the first call frees the slot, later ones do nothing.
func (g *LocalGovernor) release(i int, n uint64) func() {
	return func() {
		if g.taken[i].CompareAndSwap(n, n+1) {
			g.free <- i
		}
	}
}

// InFlight returns how many slots are taken.
func (g *LocalGovernor) InFlight() int { return len(g.taken) - len(g.free) }

// Defaults of GovernorConfig.
const (
	// DefaultLease is how long a slot outlives a replica that died holding
	// it; holders renew their leases every third of it.
	DefaultLease = 15 * time.Second
	// DefaultGovernorPoll is the longest pause between two looks of a
	// waiting caller (it starts at 1 ms and doubles).
	DefaultGovernorPoll = 50 * time.Millisecond
)

// GovernorConfig configures a SharedGovernor. Name and Limit are required.
type GovernorConfig struct {
	// Name identifies what is governed across replicas, e.g. a
	// CredentialID or the org id. It appears in keys: never a secret.
	Name string
	// Limit is how many calls may be in flight across all replicas.
	Limit int
	// Lease is how long a slot stays taken without renewal. Zero means
	// DefaultLease.
	Lease time.Duration
	// MaxPoll is the longest pause of a waiting caller. Zero means
	// DefaultGovernorPoll. Waiters that stop looking for 20 pauses (their
	// replica died) leave the queue.
	MaxPoll time.Duration
	// ReleaseInBackground makes release return at once and free the slot
	// in Redis from a goroutine of its own, taking a round trip off every
	// call's path; the slot is free for others one round trip later. false
	// frees it before release returns.
	ReleaseInBackground bool
	// Fallback admits calls while Redis cannot be used. nil means a
	// LocalGovernor of Limit: with Redis down each replica allows Limit on
	// its own (the proxy keeps serving; Zoho may answer 429 beyond its
	// limit, which the retry policy handles).
	Fallback Governor
}

// SharedGovernor is a Governor whose slots are shared by all replicas: a
// Redis semaphore of leases (a sorted set of holder → lease expiry) that
// expire when a replica dies, renewed while held, and a queue (by ticket)
// so that waiters from all replicas are served roughly in order of arrival.
// It is safe for concurrent use; a held slot is renewed by a timer until it
// is released.
type SharedGovernor struct {
	c        *Client
	cfg      GovernorConfig
	keys     []string // holders, queue, queue expiry, ticket
	lostOnce atomic.Bool
}

var _ Governor = (*SharedGovernor)(nil)

// NewSharedGovernor returns the shared governor cfg.Name on c.
func NewSharedGovernor(c *Client, cfg GovernorConfig) (*SharedGovernor, error) {
	if cfg.Name == "" || cfg.Limit <= 0 {
		return nil, errors.New("cluster: a shared governor needs a name and a limit above 0")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.MaxPoll <= 0 {
		cfg.MaxPoll = DefaultGovernorPoll
	}
	if cfg.Fallback == nil {
		cfg.Fallback = NewLocalGovernor(cfg.Limit)
	}
	b := "sem:{" + cfg.Name + "}"
	return &SharedGovernor{c: c, cfg: cfg,
		keys: []string{c.key(b, "holders"), c.key(b, "queue"), c.key(b, "qexp"), c.key(b, "ticket")}}, nil
}

// semAcquire drops expired leases and departed waiters, queues the caller
// (once, by ticket) and gives it a slot if its place in the queue is within
// the free slots. It returns {1, 0} when the caller holds a slot, {0, place}
// otherwise.
var semAcquire = redis.NewScript(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  -- Nobody waits and a slot is free: take it.
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  return {1, 0}
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, w in ipairs(gone) do redis.call('ZREM', KEYS[2], w) end
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[3])
end
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local place = redis.call('ZRANK', KEYS[2], ARGV[3])
if place < free then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  return {1, 0}
end
return {0, place}
`)

// semLeave takes the caller out of the queue (it gave up).
var semLeave = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 0`)

// Acquire takes a slot shared by all replicas, waiting (in queue order)
// until one is free or ctx ends. When Redis cannot be used it takes a
// slot of the Fallback instead.
func (g *SharedGovernor) Acquire(ctx context.Context) (func(), error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	queueTTL := 20 * g.cfg.MaxPoll
	keyTTL := 4 * max(g.cfg.Lease, queueTTL, time.Minute)
	pause := time.Millisecond
	for {
		now := g.c.now()
		var res []int64
		err := g.c.do(ctx, "governor acquire", func(ctx context.Context) error {
			var err error
			res, err = semAcquire.Run(ctx, g.c.rdb, g.keys, now.UnixMilli(), g.cfg.Limit, id,
				now.Add(g.cfg.Lease).UnixMilli(), now.Add(queueTTL).UnixMilli(), keyTTL.Milliseconds()).Int64Slice()
			return err
		})
		if errors.Is(err, ErrUnavailable) {
			return g.cfg.Fallback.Acquire(ctx)
		}
		if err != nil {
			g.leave(id)
			return nil, err
		}
		if res[0] == 1 {
			return g.hold(id), nil
		}
		select {
		case <-ctx.Done():
			g.leave(id)
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, g.cfg.MaxPoll)
	}
}

// leave removes id from the queue, best effort (it drops out by itself
// when it stops polling).
func (g *SharedGovernor) leave(id string) {
	_ = g.c.do(context.Background(), "governor leave", func(ctx context.Context) error {
		return semLeave.Run(ctx, g.c.rdb, g.keys, id).Err()
	})
}

// hold renews id's lease every third of it until the returned release is
// called. The renewal is a timer, not a goroutine, between renewals.
func (g *SharedGovernor) hold(id string) func() {
	l := &lease{}
	renew := func() {
		g.renew(id, l)
		l.mu.Lock()
		if !l.stopped {
			l.t.Reset(g.cfg.Lease / 3)
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.t = time.AfterFunc(g.cfg.Lease/3, renew)
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.stopped = true
			l.t.Stop()
			l.mu.Unlock()
			// A renewal running now cannot bring the lease back: it only
			// updates a lease that exists (ZADD XX).
			free := func() {
				_ = g.c.do(context.Background(), "governor release", func(ctx context.Context) error {
					return g.c.rdb.ZRem(ctx, g.keys[0], id).Err()
				})
			}
			if g.cfg.ReleaseInBackground {
				go free() // bounded by the client's Timeout
				return
			}
			free()
		})
	}
}

// lease is the renewal state of one held slot.
type lease struct {
	mu      sync.Mutex
	stopped bool
	t       *time.Timer
}

func (g *SharedGovernor) renew(id string, l *lease) {
	exp := g.c.now().Add(g.cfg.Lease).UnixMilli()
	var n int64
	err := g.c.do(context.Background(), "governor renew", func(ctx context.Context) error {
		var err error
		n, err = g.c.rdb.ZAddArgs(ctx, g.keys[0], redis.ZAddArgs{XX: true, Ch: true,
			Members: []redis.Z{{Score: float64(exp), Member: id}}}).Result()
		return err
	})
	l.mu.Lock()
	released := l.stopped
	l.mu.Unlock()
	if err == nil && n == 0 && !released && g.lostOnce.CompareAndSwap(false, true) {
		g.c.log.Warn("a concurrency slot's lease expired before it was renewed; raise the lease if this replica is often this slow",
			"governor", g.cfg.Name, "lease", g.cfg.Lease)
	}
}

// InFlight returns how many slots are held across all replicas (leases
// not yet expired).
func (g *SharedGovernor) InFlight(ctx context.Context) (int, error) {
	var n int64
	err := g.c.do(ctx, "governor count", func(ctx context.Context) error {
		var err error
		n, err = g.c.rdb.ZCount(ctx, g.keys[0], "("+strconv.FormatInt(g.c.now().UnixMilli(), 10), "+inf").Result()
		return err
	})
	return int(n), err
}

// Credits shares the last X-API-CREDITS-REMAINING each replica saw, per
// org, so that every replica knows how much of the day's budget is left.
type Credits struct{ c *Client }

// NewCredits returns the credit accounting on c.
func NewCredits(c *Client) *Credits { return &Credits{c: c} }

// creditsObserve keeps the observation with the latest time.
var creditsObserve = redis.NewScript(`
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
if tonumber(ARGV[2]) >= at then
  redis.call('HSET', KEYS[1], 'r', ARGV[1], 'at', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0`)

// creditsTTL is how long an observation is kept: Zoho's credits are daily.
const creditsTTL = 48 * time.Hour

func (k *Credits) key(org string) string { return k.c.key("credits:{" + org + "}") }

// Observe records that Zoho said remaining credits were left for org at
// time at. An observation older than the stored one is ignored, so a slow
// response cannot overwrite a newer figure.
func (k *Credits) Observe(ctx context.Context, org string, remaining int64, at time.Time) error {
	return k.c.do(ctx, "credits observe", func(ctx context.Context) error {
		return creditsObserve.Run(ctx, k.c.rdb, []string{k.key(org)}, remaining, at.UnixMilli(), creditsTTL.Milliseconds()).Err()
	})
}

// Last returns the latest observation for org; ok is false when there is
// none.
func (k *Credits) Last(ctx context.Context, org string) (remaining int64, at time.Time, ok bool, err error) {
	var vals []any
	err = k.c.do(ctx, "credits read", func(ctx context.Context) error {
		var err error
		vals, err = k.c.rdb.HMGet(ctx, k.key(org), "r", "at").Result()
		return err
	})
	if err != nil {
		return 0, time.Time{}, false, err
	}
	rs, _ := vals[0].(string)
	as, _ := vals[1].(string)
	if rs == "" || as == "" {
		return 0, time.Time{}, false, nil
	}
	r, err1 := strconv.ParseInt(rs, 10, 64)
	a, err2 := strconv.ParseInt(as, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, false, nil
	}
	return r, time.UnixMilli(a), true, nil
}
