package status

import (
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds on what the recorder keeps, whatever a source reports: names beyond
// them are counted under "other", long texts are cut.
const (
	maxTiers        = 8   // tiers tracked
	maxToolKeys     = 64  // (tool, outcome) pairs tracked
	maxFailoverKeys = 64  // (from, to, reason) triples tracked
	maxCreditKeys   = 8   // tiers reporting credits
	maxNameLen      = 64  // bytes of a tier, tool, outcome or reason name
	maxReasonLen    = 160 // bytes of a transition's reason
	maxSlots        = 100_000
)

// other is the name under which the recorder counts what exceeds its bounds.
const other = "other"

// recorder samples a Source into a ring of fixed-interval slots.
type recorder struct {
	src      Source
	clock    Clock
	interval time.Duration
	slots    int // ring length: History / Interval
	winSlots int // slots in the latency window
	maxTrans int // transitions kept per tier

	mu        sync.Mutex
	ring      []slot // circular; ring[(next-1) mod slots] is the newest
	next, n   int
	samples   uint64
	tiers     []*tierTrack // in the order first seen
	order     []*tierTrack // in the latest snapshot's order
	tools     keyTable
	failovers keyTable
	credits   keyTable
	prevTool  []uint64 // cumulative counts at the last sample, by key
	prevFo    []uint64
	lastSeq   uint64
	sessions  int
}

// slot is one sampling interval: the differences of the counters since the
// previous sample and the states at its end.
type slot struct {
	at        time.Time
	tiers     []tierSlot // by tier index
	tools     []keyCount
	failovers []keyCount
	credits   []int64 // by credit key; -1: not reported
	sessions  int
}

type tierSlot struct {
	present   bool // the tier was in the snapshot
	state     BreakerState
	req, fail uint64
	gen       int      // the tier's histogram generation
	lat       []uint64 // per bucket (not cumulative), len(bounds)+1; nil: no calls
}

type keyCount struct {
	key   int
	count uint64
}

// tierTrack is what the recorder remembers of a tier between samples.
type tierTrack struct {
	name                string
	enabled, configured bool
	present             bool // in the latest snapshot
	state               BreakerState
	seen                bool // prev* hold a sample
	prevReq, prevFail   uint64
	bounds              []float64
	gen                 int
	prevLat             []uint64 // cumulative counts, then Count
	trans               []Transition
}

// keyTable interns up to max keys; later ones map to the key "other".
type keyTable struct {
	max  int
	idx  map[[3]string]int
	keys [][3]string
}

func (t *keyTable) id(k [3]string) int {
	if i, ok := t.idx[k]; ok {
		return i
	}
	if len(t.keys) >= t.max-1 {
		k = [3]string{other, other, other}
		if i, ok := t.idx[k]; ok {
			return i
		}
	}
	if t.idx == nil {
		t.idx = make(map[[3]string]int)
	}
	t.idx[k] = len(t.keys)
	t.keys = append(t.keys, k)
	return len(t.keys) - 1
}

func newRecorder(src Source, o Options) *recorder {
	slots := int(o.History / o.Interval)
	lat := max(int(o.Window/o.Interval), 1)
	return &recorder{
		src:       src,
		clock:     o.Clock,
		interval:  o.Interval,
		slots:     slots,
		winSlots:  min(lat, slots),
		maxTrans:  o.Transitions,
		ring:      make([]slot, slots),
		tools:     keyTable{max: maxToolKeys},
		failovers: keyTable{max: maxFailoverKeys},
		credits:   keyTable{max: maxCreditKeys},
		sessions:  -1,
	}
}

// clip cuts s to at most n bytes, on a rune boundary, replacing invalid
// UTF-8 with U+FFFD and control characters (line breaks included) with
// spaces.
func clip(s string, n int) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, strings.ToValidUTF8(s, "\uFFFD"))
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// delta is cur-prev for a cumulative counter; a counter that went down
// restarted from zero.
func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

func normState(s BreakerState) BreakerState {
	switch s {
	case Open, HalfOpen:
		return s
	}
	return Closed
}

// sample takes one snapshot from the source and records it as the newest
// slot, at the clock's time.
func (r *recorder) sample() {
	snap := r.src.Snapshot()
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples++
	s := slot{at: now, sessions: snap.Sessions}
	if s.sessions < 0 {
		s.sessions = -1
	}
	r.sessions = s.sessions

	reported := r.mergeTransitions(snap.Transitions)

	for _, tr := range r.tiers {
		tr.present = false
	}
	r.order = r.order[:0]
	for _, ts := range snap.Tiers {
		tr := r.tier(clip(ts.Name, maxNameLen))
		if tr == nil || tr.present { // over the bound, or a duplicate name
			continue
		}
		state := normState(ts.Breaker)
		if tr.seen && state != tr.state && !reported[tr.name] {
			tr.addTransition(Transition{Tier: tr.name, At: now, From: tr.state, To: state}, r.maxTrans)
		}
		tr.present, tr.enabled, tr.configured, tr.state = true, ts.Enabled, ts.Configured, state
		r.order = append(r.order, tr)
		sl := tr.ingest(ts)
		sl.state = state
		i := r.index(tr)
		for len(s.tiers) <= i {
			s.tiers = append(s.tiers, tierSlot{})
		}
		s.tiers[i] = sl
	}

	s.tools, r.prevTool = r.counts(&r.tools, r.prevTool, len(snap.Tools), func(i int) ([3]string, uint64) {
		c := snap.Tools[i]
		return [3]string{clip(c.Tool, maxNameLen), clip(c.Outcome, maxNameLen)}, c.Count
	})
	s.failovers, r.prevFo = r.counts(&r.failovers, r.prevFo, len(snap.Failovers), func(i int) ([3]string, uint64) {
		c := snap.Failovers[i]
		return [3]string{clip(c.From, maxNameLen), clip(c.To, maxNameLen), clip(c.Reason, maxNameLen)}, c.Count
	})
	for _, c := range snap.Credits {
		k := r.credits.id([3]string{clip(c.Tier, maxNameLen)})
		for len(s.credits) <= k {
			s.credits = append(s.credits, -1)
		}
		s.credits[k] = max(c.Remaining, 0)
	}

	r.ring[r.next] = s
	r.next = (r.next + 1) % r.slots
	r.n = min(r.n+1, r.slots)
}

// tier returns the track of the tier named name, adding it if there is
// room; nil if there is not.
func (r *recorder) tier(name string) *tierTrack {
	for _, tr := range r.tiers {
		if tr.name == name {
			return tr
		}
	}
	if len(r.tiers) >= maxTiers {
		return nil
	}
	tr := &tierTrack{name: name, state: Closed}
	r.tiers = append(r.tiers, tr)
	return tr
}

func (r *recorder) index(tr *tierTrack) int { return slices.Index(r.tiers, tr) }

// mergeTransitions keeps the source's transitions not seen before and
// reports the tiers that had one.
func (r *recorder) mergeTransitions(ts []Transition) map[string]bool {
	var reported map[string]bool
	maxSeq := r.lastSeq
	for _, t := range ts {
		if t.Seq <= r.lastSeq {
			continue
		}
		maxSeq = max(maxSeq, t.Seq)
		t.Tier = clip(t.Tier, maxNameLen)
		tr := r.tier(t.Tier)
		if tr == nil {
			continue
		}
		t.From, t.To = normState(t.From), normState(t.To)
		t.Reason = clip(t.Reason, maxReasonLen)
		tr.addTransition(t, r.maxTrans)
		if reported == nil {
			reported = make(map[string]bool)
		}
		reported[t.Tier] = true
	}
	r.lastSeq = maxSeq
	return reported
}

func (tr *tierTrack) addTransition(t Transition, keep int) {
	if len(tr.trans) >= keep {
		tr.trans = append(tr.trans[:0], tr.trans[len(tr.trans)-keep+1:]...)
	}
	tr.trans = append(tr.trans, t)
}

// ingest turns a tier's cumulative counters into the differences since the
// previous sample.
func (tr *tierTrack) ingest(ts TierSnapshot) tierSlot {
	h := ts.Latency
	valid := len(h.Bounds) > 0 && len(h.Counts) == len(h.Bounds)
	if valid && !slices.Equal(h.Bounds, tr.bounds) {
		tr.bounds = slices.Clone(h.Bounds)
		tr.gen++
		tr.prevLat = nil
	}
	out := tierSlot{present: true, gen: tr.gen}
	if tr.seen {
		out.req = delta(ts.Requests, tr.prevReq)
		out.fail = min(delta(ts.Failures, tr.prevFail), out.req)
	}
	tr.seen, tr.prevReq, tr.prevFail = true, ts.Requests, ts.Failures
	if !valid {
		return out
	}
	cum := append(slices.Clone(h.Counts), h.Count)
	if tr.prevLat != nil {
		// Per-bucket differences of the cumulative counts.
		var lat []uint64
		var below uint64
		for i, c := range cum {
			d := delta(c, tr.prevLat[i])
			b := d - min(below, d) // observations in bucket i alone
			below = d
			if b > 0 && lat == nil {
				lat = make([]uint64, len(cum))
			}
			if lat != nil {
				lat[i] = b
			}
		}
		out.lat = lat
	}
	tr.prevLat = cum
	return out
}

// counts interns the n cumulative counts get returns and gives the non-zero
// differences from prev, and the new cumulative counts by key.
func (r *recorder) counts(t *keyTable, prev []uint64, n int, get func(int) ([3]string, uint64)) ([]keyCount, []uint64) {
	cur := make([]uint64, len(t.keys))
	for i := range n {
		k, c := get(i)
		id := t.id(k)
		for len(cur) <= id {
			cur = append(cur, 0)
		}
		cur[id] += c
	}
	var out []keyCount
	for id, c := range cur {
		var p uint64
		if id < len(prev) {
			p = prev[id]
		}
		if d := delta(c, p); d > 0 && prev != nil {
			out = append(out, keyCount{id, d})
		}
	}
	return out, cur // never nil: the next call counts differences
}

// window returns the newest k slots, oldest first.
func (r *recorder) window(k int) []*slot {
	k = min(k, r.n)
	out := make([]*slot, k)
	for i := range k {
		out[i] = &r.ring[(r.next-k+i+r.slots)%r.slots]
	}
	return out
}
