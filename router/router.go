// Package router sends each operation to a tier chosen by the routing rules,
// behind one circuit breaker per tier, failing over inside one deadline and
// reconciling writes whose outcome is unknown.
package router

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// RoutingContext describes a call for the routing rules. Its fields keep the
// names of the system this replaces (operation_type, record_count …).
type RoutingContext struct {
	// OperationType is the operation (operation_type). The router's methods
	// set it from the method called; it matters only for Plan.
	OperationType tiers.OpKind
	// RecordCount is how many records the call touches (record_count); 10 or
	// more routes to BULK unless an earlier rule applies. Zero means unknown.
	RecordCount int
	// AgentContext marks a call made by an agent (agent_context): every MCP
	// tool call sets it, and it routes to MCP.
	AgentContext bool
	// RequiresRealtime asks for the freshest answer (requires_realtime).
	RequiresRealtime bool
	// PreferredTier is the tier the caller asks for (preferred_tier); empty
	// means none. It is used only when that tier is enabled.
	PreferredTier tiers.Name
	// Tools are the caller's scopes, passed to every attempt with
	// tiers.WithScopes (tier 1 sends them upstream). Nil means none.
	Tools []string
}

// TierConfig is one tier's routing settings.
type TierConfig struct {
	// Name is the tier's name; it matches tiers.Tier.Name of an implementation
	// passed to New.
	Name tiers.Name
	// Enabled false keeps the tier out of every chain.
	Enabled bool
	// Priority orders the failover chain, lowest first; ties keep the order
	// of Config.Tiers.
	Priority int
	// Timeout bounds one attempt on the tier. Inside the call's deadline an
	// attempt also gets at most an equal share of the time left among the
	// tiers still to try (see Config.CallTimeout). Zero means the tier's
	// default (tiers.DefaultsOf).
	Timeout time.Duration
	// MaxRetries is the tier's own retry count, given to it when it is the
	// last tier that could serve a call. Zero means no retries.
	MaxRetries int
}

// DefaultTierConfigs returns MCP, BULK and REST enabled, each with its
// defaults (tiers.DefaultsOf).
func DefaultTierConfigs() []TierConfig {
	out := make([]TierConfig, 0, 3)
	for _, n := range [...]tiers.Name{tiers.MCP, tiers.Bulk, tiers.REST} {
		d := tiers.DefaultsOf(n)
		out = append(out, TierConfig{Name: n, Enabled: true, Priority: d.Priority, Timeout: d.Timeout, MaxRetries: d.MaxRetries})
	}
	return out
}

// Config configures a Router. The zero value works: the default tiers,
// failover off (set Failover true for the SPEC default), breakers at 5
// failures and 60s, a 30s call deadline.
type Config struct {
	// Tiers lists the tiers' settings. Nil means DefaultTierConfigs.
	Tiers []TierConfig
	// Failover lets a call move to the next tier in the chain when the
	// chosen one fails (ENABLE_FAILOVER). False means only the first usable
	// tier of the chain is tried.
	Failover bool
	// BreakerThreshold is how many consecutive failures open a tier's
	// breaker (CIRCUIT_BREAKER_THRESHOLD). Zero means 5.
	BreakerThreshold uint32
	// BreakerTimeout is how long a breaker stays open before it lets trial
	// calls through (CIRCUIT_BREAKER_TIMEOUT). Zero means 60s.
	BreakerTimeout time.Duration
	// CallTimeout is the deadline of one call, shared by its retries and
	// failovers; an earlier deadline on the caller's context wins. Each
	// attempt gets the smaller of its tier's Timeout and an equal share of
	// the time left among the tiers still to try (those whose breakers are
	// not open), so a hung tier leaves time for the next: with 30s and three
	// tiers, a hang on tier 1 ends after 10s. A tier that uses up its time
	// counts as a breaker failure, unless the caller's own earlier deadline
	// cut it short. Zero means 30s.
	CallTimeout time.Duration
	// BulkTimeout is the deadline of a bulk call (BulkRead, BulkUpdate,
	// AwaitBulkJob) instead of CallTimeout: a bulk job runs at Zoho's pace.
	// Inside it, an attempt of a bulk operation is given up when its tier
	// shows no progress (tiers.ReportProgress, or a record read) for the
	// attempt's budget (its tier's Timeout, at most an equal share of the
	// time left among the tiers still to try): a hung tier still leaves
	// time for the next, but a job whose status polls answer, or a batch
	// whose writes keep answering, is not cut while it progresses. Zero
	// means 10 minutes.
	BulkTimeout time.Duration
	// MinAttemptTime is the least time left in the call's deadline for which
	// the router still starts an attempt; below it the call stops with an
	// UnavailableError. Zero means 50ms.
	MinAttemptTime time.Duration
	// CreateWindow is how long before a call began a record found by its
	// fields may have been created and still settle a create whose outcome
	// was unknown (see Router.Create). Zero means DefaultCreateWindow.
	CreateWindow time.Duration
	// Now is the clock for durations and the call deadline. It must move
	// with the wall clock, since contexts' deadlines do. Nil means time.Now.
	// (The breakers' cooldowns use gobreaker's own clock.)
	Now func() time.Time
	// NewBreaker makes a tier's circuit breaker from the settings the router
	// chose (name, thresholds, policies, OnStateChange). Nil means a
	// gobreaker breaker of this process; app passes one whose state replicas
	// share when Redis is configured.
	NewBreaker func(gobreaker.Settings) Breaker
	// Logger receives breaker state changes and failovers. Nil means none.
	Logger *slog.Logger
	// Registerer receives the router's Prometheus collectors. Nil means they
	// are not registered.
	Registerer prometheus.Registerer
}

// Router routes operations over tiers. It is safe for concurrent use.
type Router struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	tiers   []*tierState // priority order
	prom    *promMetrics
	floor   time.Duration
	callTTL time.Duration
	bulkTTL time.Duration
	changes changeLog // recent breaker changes, for BreakerChanges

	createWindow time.Duration
}

// tierState is everything the router holds for one tier.
type tierState struct {
	name    tiers.Name
	idx     int // position in Router.tiers
	cfg     TierConfig
	impl    tiers.Tier // nil: no implementation (not configured)
	timeout time.Duration
	br      breakerBox
	stats   tierStats
	prom    tierProm

	openErr  *tiers.Error // the error of a call its open breaker refused; shared, never changed
	openText string       // openErr.Error()
	// fullBudget carries the retry budget of the tier when it is the last
	// one that could serve a call (its whole policy), made once: see
	// budgetCtx.
	fullBudget context.Context
}

// New builds a Router over the tier implementations ts. Every implementation
// needs a TierConfig with its name (unless Config.Tiers is nil, which gives
// each the defaults); a TierConfig without an implementation is a tier that
// is not configured.
func New(cfg Config, ts ...tiers.Tier) (*Router, error) {
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerTimeout == 0 {
		cfg.BreakerTimeout = 60 * time.Second
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.BulkTimeout == 0 {
		cfg.BulkTimeout = DefaultBulkTimeout
	}
	if cfg.MinAttemptTime == 0 {
		cfg.MinAttemptTime = 50 * time.Millisecond
	}
	switch {
	case cfg.BreakerTimeout < 0:
		return nil, fmt.Errorf("router: BreakerTimeout is %v; it must be positive", cfg.BreakerTimeout)
	case cfg.CallTimeout < 0:
		return nil, fmt.Errorf("router: CallTimeout is %v; it must be positive", cfg.CallTimeout)
	case cfg.BulkTimeout < 0:
		return nil, fmt.Errorf("router: BulkTimeout is %v; it must be positive", cfg.BulkTimeout)
	case cfg.MinAttemptTime < 0:
		return nil, fmt.Errorf("router: MinAttemptTime is %v; it must be positive", cfg.MinAttemptTime)
	}
	impls := make(map[tiers.Name]tiers.Tier, len(ts))
	for _, t := range ts {
		if t == nil {
			return nil, fmt.Errorf("router: a nil tier was passed to New")
		}
		if _, dup := impls[t.Name()]; dup {
			return nil, fmt.Errorf("router: two tiers are named %q", t.Name())
		}
		impls[t.Name()] = t
	}
	tcs := cfg.Tiers
	if tcs == nil {
		tcs = DefaultTierConfigs()
	}
	r := &Router{
		now:     cfg.Now,
		log:     cfg.Logger,
		floor:   cfg.MinAttemptTime,
		callTTL: cfg.CallTimeout,
		bulkTTL: cfg.BulkTimeout,

		createWindow: cfg.CreateWindow,
	}
	if r.createWindow <= 0 {
		r.createWindow = DefaultCreateWindow
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if len(tcs) > maxTiers {
		return nil, fmt.Errorf("router: %d tiers configured; at most %d are supported", len(tcs), maxTiers)
	}
	seen := make(map[tiers.Name]bool, len(tcs))
	for _, tc := range tcs {
		if tc.Name == "" {
			return nil, fmt.Errorf("router: a tier config has no name")
		}
		if seen[tc.Name] {
			return nil, fmt.Errorf("router: tier %q is configured twice", tc.Name)
		}
		if tc.Timeout < 0 {
			return nil, fmt.Errorf("router: tier %s timeout is %v; it must be positive", tc.Name, tc.Timeout)
		}
		if tc.MaxRetries < 0 {
			return nil, fmt.Errorf("router: tier %s max_retries is %d; it must be 0 or more", tc.Name, tc.MaxRetries)
		}
		seen[tc.Name] = true
		ts := &tierState{name: tc.Name, cfg: tc, impl: impls[tc.Name], timeout: tc.Timeout,
			openErr: &tiers.Error{Tier: tc.Name, Class: tiers.ClassUnavailable, Message: "circuit breaker open", Err: gobreaker.ErrOpenState}}
		ts.openText = ts.openErr.Error()
		ts.fullBudget = tiers.WithRetryBudget(context.Background(), tiers.RetryBudget{MaxRetries: tc.MaxRetries, MaxBackoff: fullBudgetBackoff})
		if ts.timeout == 0 {
			ts.timeout = tiers.DefaultsOf(tc.Name).Timeout
		}
		r.tiers = append(r.tiers, ts)
	}
	for name := range impls {
		if !seen[name] {
			return nil, fmt.Errorf("router: tier %q was passed to New but has no entry in Config.Tiers", name)
		}
	}
	slices.SortStableFunc(r.tiers, func(a, b *tierState) int { return cmp.Compare(a.cfg.Priority, b.cfg.Priority) })
	cfg.Tiers = tcs
	r.cfg = cfg

	prom, err := newPromMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r.prom = prom
	for i, ts := range r.tiers {
		ts.idx = i
		ts.prom.init(prom, ts.name)
		ts.stats.init()
		r.newBreaker(ts)
	}
	return r, nil
}

// usable reports whether ts can be put in a chain for op at all. The
// operations of tiers.ModuleTier need a tier that implements it.
func (ts *tierState) usable(op tiers.OpKind) bool {
	return ts.cfg.Enabled && ts.impl != nil && ts.impl.Configured() && ts.impl.Supports(op) &&
		(!isModuleOp(op) || ts.module() != nil)
}

func (r *Router) tier(n tiers.Name) *tierState {
	for _, ts := range r.tiers {
		if ts.name == n {
			return ts
		}
	}
	return nil
}

// choose applies the five routing rules of SPEC §5 in order.
func (r *Router) choose(rc RoutingContext, op tiers.OpKind) tiers.Name {
	if rc.PreferredTier != "" {
		if ts := r.tier(rc.PreferredTier); ts != nil && ts.cfg.Enabled {
			return rc.PreferredTier // rule 1
		}
	}
	if rc.AgentContext {
		return tiers.MCP // rule 2
	}
	if op == tiers.OpBulkRead || op == tiers.OpBulkUpdate || rc.RecordCount >= 10 {
		return tiers.Bulk // rule 3
	}
	if rc.RequiresRealtime {
		return tiers.MCP // rule 4
	}
	for _, n := range [...]tiers.Name{tiers.MCP, tiers.Bulk} { // rule 5
		if ts := r.tier(n); ts != nil && ts.usable(op) && !ts.br.open() {
			return n
		}
	}
	return tiers.REST
}

// DefaultBulkTimeout is Config.BulkTimeout when zero (SPEC §11).
const DefaultBulkTimeout = 10 * time.Minute

// isBulk reports whether op is a bulk operation, whose call gets the bulk
// deadline and whose attempts are bounded by their progress.
func isBulk(op tiers.OpKind) bool { return op == tiers.OpBulkRead || op == tiers.OpBulkUpdate }

// maxTiers is the most tiers a Router takes.
const maxTiers = 8

// chain returns the chosen tier followed by the other usable tiers in
// priority order, leaving out tiers that are disabled, not configured or
// cannot do op. Without failover only the first of them remains. Open
// breakers are not left out here: the call skips them at once and says so in
// its route.
func (r *Router) chain(dst *[maxTiers]*tierState, rc RoutingContext, op tiers.OpKind) int {
	chosen := r.choose(rc, op)
	n := 0
	if ts := r.tier(chosen); ts != nil && ts.usable(op) {
		dst[n] = ts
		n++
	}
	for _, ts := range r.tiers {
		if ts.name != chosen && ts.usable(op) {
			dst[n] = ts
			n++
		}
	}
	if !r.cfg.Failover && n > 1 {
		n = 1
	}
	return n
}

// Plan returns the failover chain a call with rc would try now, by tier name:
// the routing rules' choice first. It uses rc.OperationType.
func (r *Router) Plan(rc RoutingContext) []tiers.Name {
	var buf [maxTiers]*tierState
	n := r.chain(&buf, rc, rc.OperationType)
	out := make([]tiers.Name, n)
	for i, ts := range buf[:n] {
		out[i] = ts.name
	}
	return out
}

// Get reads one record.
func (r *Router) Get(ctx context.Context, rc RoutingContext, req tiers.GetRequest) (tiers.Record, tiers.Route, error) {
	return runOp(r, ctx, rc, tiers.OpGet, func(ctx context.Context, t tiers.Tier) (tiers.Record, error) {
		return t.Get(ctx, req)
	})
}

// GetRaw reads one record like Get and returns it as the JSON object the
// tier read (tiers.RawGetter), undecoded; a tier without GetRaw serves it
// through Get and the record is encoded here.
func (r *Router) GetRaw(ctx context.Context, rc RoutingContext, req tiers.GetRequest) (json.RawMessage, tiers.Route, error) {
	return runOp(r, ctx, rc, tiers.OpGet, func(ctx context.Context, t tiers.Tier) (json.RawMessage, error) {
		if rg, ok := t.(tiers.RawGetter); ok {
			return rg.GetRaw(ctx, req)
		}
		rec, err := t.Get(ctx, req)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			rec = tiers.Record{}
		}
		return json.Marshal(rec)
	})
}

// List reads a page of records by IDs or filters.
func (r *Router) List(ctx context.Context, rc RoutingContext, req tiers.ListRequest) (tiers.Page, tiers.Route, error) {
	return runOp(r, ctx, rc, tiers.OpList, func(ctx context.Context, t tiers.Tier) (tiers.Page, error) {
		return t.List(ctx, req)
	})
}

// Search reads a page of records matching a structured search.
func (r *Router) Search(ctx context.Context, rc RoutingContext, req tiers.SearchRequest) (tiers.Page, tiers.Route, error) {
	return runOp(r, ctx, rc, tiers.OpSearch, func(ctx context.Context, t tiers.Tier) (tiers.Page, error) {
		return t.Search(ctx, req)
	})
}

// liveSink is the sink a tier's bulk read writes to: every record is a
// sign of progress (tiers.ReportProgress), every 100th is reported.
type liveSink struct {
	tiers.RecordSink
	ctx context.Context
	n   int
}

func (s *liveSink) Write(r tiers.Record) error {
	if err := s.RecordSink.Write(r); err != nil {
		return err
	}
	if s.n++; s.n == 1 || s.n%100 == 0 {
		tiers.ReportProgress(s.ctx, tiers.Progress{Done: s.n, Message: fmt.Sprintf("%d records read", s.n)})
	}
	return nil
}

// runOp runs one operation op over the failover chain of rc: do is called
// with each tier in turn until one serves or the chain is exhausted, and the
// value of the last call is returned with the call's route.
func runOp[T any](r *Router, ctx context.Context, rc RoutingContext, op tiers.OpKind, do func(context.Context, tiers.Tier) (T, error)) (T, tiers.Route, error) {
	var c call
	r.start(&c, ctx, rc, op)
	var v T
	err := c.run(func(ctx context.Context, t tiers.Tier) (err error) {
		v, err = do(ctx, t)
		return err
	})
	return v, c.finish(), err
}

// BulkRead streams many records into sink. Before the read moves to another
// tier after one that was called, sink.Reset discards what that tier wrote.
func (r *Router) BulkRead(ctx context.Context, rc RoutingContext, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, tiers.Route, error) {
	var c call
	r.start(&c, ctx, rc, tiers.OpBulkRead)
	var res tiers.BulkReadResult
	dirty := false
	for i := range c.n {
		if dirty {
			if err := sink.Reset(); err != nil {
				e := &tiers.Error{Tier: c.chain[i-1].name, Class: tiers.ClassUnavailable,
					Message: "could not discard the partial result before retrying on another tier: " + err.Error(), Err: err}
				return tiers.BulkReadResult{}, c.finish(), c.exhausted(e)
			}
			dirty = false
		}
		st, err := c.attempt(i, tiers.OpBulkRead, func(ctx context.Context, t tiers.Tier) (err error) {
			dirty = true
			res, err = t.BulkRead(ctx, req, &liveSink{RecordSink: sink, ctx: ctx})
			return err
		})
		if st != stepNext {
			return res, c.finish(), err
		}
	}
	return tiers.BulkReadResult{}, c.finish(), c.exhausted(nil)
}
