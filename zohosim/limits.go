package zohosim

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// subConcurrency is Zoho's fixed limit for heavy calls (COQL, writes of more
// than 10 records), reference §9.3.
const subConcurrency = 10

// creditWindow is the rolling window credits are counted over (§9.1).
const creditWindow = 24 * time.Hour

// limits holds the credit budget and the concurrency counters of one org.
type limits struct {
	mu      sync.Mutex
	now     func() time.Time
	budget  int
	buckets []creditBucket // credits spent per minute, oldest first
	used    int            // sum of buckets
	total   int            // credits spent since start (never released)

	inflight, maxInflight int
	sub, maxSub           int
}

type creditBucket struct {
	minute int64
	n      int
}

func newLimits(budget, concurrency, sub int, now func() time.Time) *limits {
	return &limits{now: now, budget: budget, maxInflight: concurrency, maxSub: sub}
}

// pruneLocked releases credits spent more than 24 hours ago.
func (l *limits) pruneLocked(now time.Time) {
	cut := now.Add(-creditWindow).Unix() / 60
	i := 0
	for i < len(l.buckets) && l.buckets[i].minute <= cut {
		l.used -= l.buckets[i].n
		i++
	}
	l.buckets = l.buckets[i:]
}

// charge spends n credits; false (and nothing spent) when the budget would be
// exceeded. remaining is what is left afterwards; half reports whether at
// least 50 % of the budget is used (when Zoho sends X-API-CREDITS-REMAINING).
func (l *limits) charge(n int) (ok bool, remaining int, half bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.pruneLocked(now)
	if l.used+n > l.budget {
		return false, l.budget - l.used, true
	}
	m := now.Unix() / 60
	if k := len(l.buckets); k > 0 && l.buckets[k-1].minute >= m {
		l.buckets[k-1].n += n
	} else {
		l.buckets = append(l.buckets, creditBucket{minute: m, n: n})
	}
	l.used += n
	l.total += n
	return true, l.budget - l.used, 2*l.used >= l.budget
}

func (l *limits) usage() (used, total, budget int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(l.now())
	return l.used, l.total, l.budget
}

// acquire takes one concurrency slot (sub: a sub-concurrency slot).
func (l *limits) acquire(sub bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sub {
		if l.sub >= l.maxSub {
			return false
		}
		l.sub++
		return true
	}
	if l.inflight >= l.maxInflight {
		return false
	}
	l.inflight++
	return true
}

func (l *limits) release(sub bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sub {
		l.sub--
	} else {
		l.inflight--
	}
}

// spend charges n credits for the request being answered on w: it sets
// X-API-CREDITS-REMAINING once half the budget is used, and answers 429
// TOO_MANY_REQUESTS (returning false) when the budget is exhausted.
func (s *Sim) spend(w http.ResponseWriter, n int) bool {
	ok, remaining, half := s.limits.charge(n)
	if half {
		w.Header().Set("X-API-CREDITS-REMAINING", strconv.Itoa(max(remaining, 0)))
	}
	if !ok {
		writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS",
			"the API credits for the 24 hour period are exhausted", nil)
	}
	return ok
}

// acquireSub takes a sub-concurrency slot (COQL, writes of more than 10
// records), answering 429 TOO_MANY_REQUESTS and returning false when all 10
// are busy. Call the returned release when done.
func (s *Sim) acquireSub(w http.ResponseWriter) (release func(), ok bool) {
	if !s.limits.acquire(true) {
		writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS",
			"the sub-concurrency limit of the user for the app is exceeded", nil)
		return func() {}, false
	}
	return func() { s.limits.release(true) }, true
}

// CreditsUsed returns the credits spent in the rolling 24-hour window.
func (s *Sim) CreditsUsed() int {
	used, _, _ := s.limits.usage()
	return used
}

// inFlight returns the API calls in flight (for tests and stats).
func (l *limits) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}
