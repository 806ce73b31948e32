package zohosim

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// subConcurrency is Zoho's fixed limit for heavy calls (COQL, writes of more
// than 10 records, bulk job creation), reference §9.3.
const subConcurrency = 10

// Edition is a Zoho CRM edition; it sets the org's concurrency limit.
type Edition string

// The editions of reference §9.3 (Standard includes Starter, Enterprise Zoho
// One, Ultimate CRM Plus).
const (
	EditionFree         Edition = "free"
	EditionStandard     Edition = "standard"
	EditionProfessional Edition = "professional"
	EditionEnterprise   Edition = "enterprise"
	EditionUltimate     Edition = "ultimate"
)

// Editions lists the editions from the smallest limit to the largest.
var Editions = []Edition{EditionFree, EditionStandard, EditionProfessional, EditionEnterprise, EditionUltimate}

// editionConcurrency is each edition's limit of API calls in flight at once
// ("" is the default edition, Enterprise). Zoho counts it per org and
// connected app; the emulator counts every call of the org together, which
// is never more lenient (UNCONFIRMED: whether Zoho's hosted MCP calls share
// the org's count; its calls do spend the org's API limits).
var editionConcurrency = map[Edition]int{
	"": 20, EditionFree: 5, EditionStandard: 10, EditionProfessional: 15, EditionEnterprise: 20, EditionUltimate: 25,
}

// EditionConcurrency returns the concurrency limit of edition e ("" is
// Enterprise) and whether e is known.
func EditionConcurrency(e Edition) (int, bool) {
	n, ok := editionConcurrency[e]
	return n, ok
}

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
	// peak and peakSub are the most calls in flight at once, counting the
	// call being refused: above the limit means a client sent more than the
	// limit allows (and got 429).
	peak, peakSub int
	// refused counts the calls answered 429 for (sub-)concurrency.
	refused int
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

// acquire takes one concurrency slot (sub: a sub-concurrency slot), noting
// the demand in the peak even when it refuses.
func (l *limits) acquire(sub bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sub {
		l.peakSub = max(l.peakSub, l.sub+1)
		if l.sub >= l.maxSub {
			l.refused++
			return false
		}
		l.sub++
		return true
	}
	l.peak = max(l.peak, l.inflight+1)
	if l.inflight >= l.maxInflight {
		l.refused++
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

// ConcurrencyStats is the org's concurrency as the emulator counted it.
type ConcurrencyStats struct {
	// Limit and SubLimit are the limits in force (Options.Concurrency or the
	// edition's; 10 for the sub-concurrency group).
	Limit    int `json:"limit"`
	SubLimit int `json:"sub_limit"`
	// InFlight and SubInFlight are the API calls in flight now.
	InFlight    int `json:"in_flight"`
	SubInFlight int `json:"sub_in_flight"`
	// Peak and SubPeak are the most calls that were in flight at once since
	// Start or the last ResetConcurrencyPeak, counting a call that arrived
	// over the limit: Peak > Limit means a client sent more calls at once
	// than Zoho allows, and the extra ones were answered 429.
	Peak    int `json:"peak"`
	SubPeak int `json:"sub_peak"`
	// Refused counts the calls answered 429 TOO_MANY_REQUESTS for
	// (sub-)concurrency (not for credits).
	Refused int `json:"refused"`
}

// Concurrency returns the org's concurrency counters: a test asserts "never
// more than N in flight at Zoho" with Concurrency().Peak <= N.
func (s *Sim) Concurrency() ConcurrencyStats {
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	return ConcurrencyStats{Limit: l.maxInflight, SubLimit: l.maxSub, InFlight: l.inflight, SubInFlight: l.sub,
		Peak: l.peak, SubPeak: l.peakSub, Refused: l.refused}
}

// ResetConcurrencyPeak sets the peaks to the calls in flight now and the
// refusal count to zero (ResetLog does it too).
func (s *Sim) ResetConcurrencyPeak() {
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	l.peak, l.peakSub, l.refused = l.inflight, l.sub, 0
}
