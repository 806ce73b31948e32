package router

import (
	"fmt"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// maxChanges is how many breaker changes BreakerChanges keeps.
const maxChanges = 64

// BreakerChange is one change of a tier's circuit breaker state, as the
// status page shows it.
type BreakerChange struct {
	// Seq numbers the router's changes from 1, across tiers.
	Seq uint64 `json:"seq"`
	// Tier is the tier whose breaker changed.
	Tier tiers.Name `json:"tier"`
	// At is when it changed, on the router's clock.
	At time.Time `json:"at"`
	// From and To are the states: closed, open or half_open.
	From string `json:"from"`
	To   string `json:"to"`
	// Reason says why in a few words; it holds no error text.
	Reason string `json:"reason"`
}

// changeLog keeps the last maxChanges breaker changes. Breakers add to it
// under their own lock, so it must stay quick.
type changeLog struct {
	mu   sync.Mutex
	seq  uint64
	ring [maxChanges]BreakerChange
}

func (l *changeLog) add(c BreakerChange) {
	l.mu.Lock()
	l.seq++
	c.Seq = l.seq
	l.ring[(l.seq-1)%maxChanges] = c
	l.mu.Unlock()
}

// BreakerChanges returns the most recent breaker changes of every tier (at
// most 64), oldest first. Seq lets a poller keep only the ones it has not
// seen.
func (r *Router) BreakerChanges() []BreakerChange {
	l := &r.changes
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(l.seq, maxChanges)
	out := make([]BreakerChange, 0, n)
	for s := l.seq - n + 1; s <= l.seq; s++ {
		out = append(out, l.ring[(s-1)%maxChanges])
	}
	return out
}

// changeReason explains a change made by the breaker itself.
func (r *Router) changeReason(from, to gobreaker.State) string {
	switch {
	case to == gobreaker.StateOpen && from == gobreaker.StateHalfOpen:
		return "a trial call failed"
	case to == gobreaker.StateOpen:
		return fmt.Sprintf("%d consecutive failures", r.cfg.BreakerThreshold)
	case to == gobreaker.StateHalfOpen:
		return fmt.Sprintf("cooldown of %s elapsed", r.cfg.BreakerTimeout)
	case to == gobreaker.StateClosed && from == gobreaker.StateHalfOpen:
		return fmt.Sprintf("%d trial calls succeeded", SuccessThreshold)
	case to == gobreaker.StateClosed:
		// Only a reset closes an open breaker: this replica's, or (for a
		// breaker replicas share) another replica's.
		return reasonReset
	}
	return ""
}
