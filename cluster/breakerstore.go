package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// Defaults of BreakerStore.
const (
	// DefaultStoreLockTTL bounds how long a replica that died holding a
	// breaker's lock keeps it.
	DefaultStoreLockTTL = 10 * time.Second
	// DefaultStoreLockWait is how long Lock waits for a held lock before
	// it fails (gobreaker then sleeps 500 ms and tries again, for 5 s).
	DefaultStoreLockWait = 2 * time.Second
)

// ErrLockBusy is returned by BreakerStore.Lock when the lock stayed held by
// another call for the whole wait.
var ErrLockBusy = errors.New("cluster: breaker lock held by another call")

// BreakerStore is a gobreaker.SharedDataStore over Redis, for
// gobreaker.NewDistributedCircuitBreaker: a lock with an expiry (so a dead
// replica cannot hold it for ever) and the breaker's state as data.
//
// Beware: DistributedCircuitBreaker.Execute holds this lock for the whole
// protected call, so every call through one breaker is serialized across
// all replicas, and a caller that cannot get the lock in about 5 s fails
// (TestDistributedBreakerHoldsTheLockDuringTheCall shows it). It suits
// short calls at a low rate; for tier calls use SharedBreaker, which keeps
// the same state machine without holding a lock during the call.
//
// Lock waits up to DefaultStoreLockWait itself, polling every few
// milliseconds, so gobreaker's own 500 ms retry sleep rarely happens. Calls
// within one replica queue on a local mutex first, so that Unlock, which
// gets only the name, always releases this caller's lock.
type BreakerStore struct {
	c        *Client
	lockTTL  time.Duration
	lockWait time.Duration

	mu    sync.Mutex
	slots map[string]chan struct{} // per-name local mutex
	held  map[string]string        // name → our lock token
}

var _ gobreaker.SharedDataStore = (*BreakerStore)(nil)

// NewBreakerStore returns a store on c with the default lock expiry and wait.
func NewBreakerStore(c *Client) *BreakerStore {
	return &BreakerStore{c: c, lockTTL: DefaultStoreLockTTL, lockWait: DefaultStoreLockWait,
		slots: map[string]chan struct{}{}, held: map[string]string{}}
}

func (s *BreakerStore) slot(name string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.slots[name]
	if !ok {
		ch = make(chan struct{}, 1)
		s.slots[name] = ch
	}
	return ch
}

// Lock takes the lock name (SET NX with an expiry and a random token).
func (s *BreakerStore) Lock(name string) error {
	deadline := time.Now().Add(s.lockWait)
	slot := s.slot(name)
	select {
	case slot <- struct{}{}:
	case <-time.After(s.lockWait):
		return ErrLockBusy
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	pause := time.Millisecond
	for {
		var ok bool
		err := s.c.do(context.Background(), "breaker lock", func(ctx context.Context) error {
			var err error
			ok, err = s.c.rdb.SetNX(ctx, s.c.key("gb", name), tok, s.lockTTL).Result()
			return err
		})
		if err != nil {
			<-slot
			return err
		}
		if ok {
			s.mu.Lock()
			s.held[name] = tok
			s.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			<-slot
			return ErrLockBusy
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// compareAndDelete deletes KEYS[1] only if it still holds ARGV[1].
var compareAndDelete = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Unlock releases the lock name if this store still holds it.
func (s *BreakerStore) Unlock(name string) error {
	s.mu.Lock()
	tok, ok := s.held[name]
	delete(s.held, name)
	slot := s.slots[name]
	s.mu.Unlock()
	if !ok {
		return errors.New("cluster: unlock of a breaker lock not held: " + name)
	}
	defer func() { <-slot }()
	return s.c.do(context.Background(), "breaker unlock", func(ctx context.Context) error {
		return compareAndDelete.Run(ctx, s.c.rdb, []string{s.c.key("gb", name)}, tok).Err()
	})
}

// GetData returns the data stored under name, or nil if there is none.
func (s *BreakerStore) GetData(name string) ([]byte, error) {
	var b []byte
	err := s.c.do(context.Background(), "breaker get", func(ctx context.Context) error {
		var err error
		b, err = s.c.rdb.Get(ctx, s.c.key("gb", name)).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// SetData stores data under name for a day after its last change.
func (s *BreakerStore) SetData(name string, data []byte) error {
	return s.c.do(context.Background(), "breaker set", func(ctx context.Context) error {
		return s.c.rdb.Set(ctx, s.c.key("gb", name), data, breakerTTL).Err()
	})
}
