// Package tierstest holds the test doubles the product's tests share: a
// Clock tests move by hand (its Sleep advances it at once), a RecordSink in
// memory, a record Store standing in for Zoho, and Tier, a fake tier over
// that store that records every call. Only tests import it. The Zoho
// emulator (zohosim) keeps its own: it imports nothing of the product.
package tierstest

import (
	"context"
	"sync"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Clock is a clock a test sets by hand. Sleep advances it instantly, so code
// that waits (backoff, job polls) runs in microseconds and a test can read
// how long it would have waited. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	slept  time.Duration
	sleeps int
	hook   func(time.Duration)
}

// NewClock returns a clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep is a wait of d that returns at once, the clock moved d forward; it
// returns ctx's error instead when ctx has ended. The function set with
// OnSleep, if any, runs after each wait.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	c.sleeps++
	hook := c.hook
	c.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	return nil
}

// Slept returns how long Sleep has waited in all and how many times.
func (c *Clock) Slept() (total time.Duration, sleeps int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept, c.sleeps
}

// OnSleep sets a function Sleep calls after each wait with its duration;
// nil removes it.
func (c *Clock) OnSleep(f func(d time.Duration)) {
	c.mu.Lock()
	c.hook = f
	c.mu.Unlock()
}

// Sink is a tiers.RecordSink in memory. It is safe for concurrent use.
type Sink struct {
	mu     sync.Mutex
	recs   []tiers.Record
	resets int
}

var _ tiers.RecordSink = (*Sink)(nil)

// Write keeps r.
func (s *Sink) Write(r tiers.Record) error {
	s.mu.Lock()
	s.recs = append(s.recs, r)
	s.mu.Unlock()
	return nil
}

// Reset discards what was written.
func (s *Sink) Reset() error {
	s.mu.Lock()
	s.recs = nil
	s.resets++
	s.mu.Unlock()
	return nil
}

// Records returns a copy of the records kept.
func (s *Sink) Records() []tiers.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tiers.Record(nil), s.recs...)
}

// Resets returns how many times Reset was called.
func (s *Sink) Resets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resets
}
