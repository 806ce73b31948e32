package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// Replicas share state through Redis only when it is configured
// (ZOHO_MCP_PROXY_REDIS_URL or redis.url); without it nothing here runs and
// each process keeps its own state, as it always has.
//
// What is shared, and what each replica does when Redis cannot be used
// (the cluster package's fallbacks):
//
//	Zoho access tokens    one per credential; refreshed by one replica under
//	                      a lock, the others read it; the refresh cap counted
//	                      for all         → each refreshes on its own
//	circuit breakers      one per tier   → each replica's own breaker
//	concurrency governor  org-wide, with leases that expire when a replica
//	                      dies            → each replica admits the limit
//	credits remaining     the latest figure any replica saw → this replica's
//
// Redis unreachable at start: the replica starts anyway on its local
// fallbacks, logs an error saying so, reports it in `check` (an error
// finding, so check fails) and in /readyz's detail ("shared_state"), and
// uses Redis as soon as it answers. It does not refuse to start: a Redis
// outage must not turn a rolling restart into a proxy outage, and every
// fallback is the state a single replica has always run on. The readiness
// status code does not depend on Redis, for the same reason.

// orgGovernor and orgHeavyGovernor name the org-wide governors in Redis. One
// deployment (one key prefix) serves one org.
const (
	orgGovernor      = "org"
	orgHeavyGovernor = "org-heavy"
	// creditsOrg names the org's credit figure in Redis.
	creditsOrg = "org"
	// breakerLook is how often at most a replica asks Redis for a tier
	// breaker's state outside of calls: routing asks on every call, and
	// between looks the state the replica saw last is used (a call through
	// the breaker sees the shared state anyway).
	breakerLook = 100 * time.Millisecond
	// governorLease is how long a concurrency slot outlives a replica that
	// died holding it (holders renew it every third). Shorter than
	// cluster.DefaultLease: a crashed replica's slots are back in 5 s
	// instead of 15 s, for a renewal every 1.7 s per slot held longer.
	governorLease = 5 * time.Second
	// creditsEvery is how often at most a replica stores the credits Zoho
	// reports: Zoho sends the figure on every answer once half the day's
	// credits are spent, and a daily budget needs no fresher figure.
	creditsEvery = time.Second
)

// shared is the state replicas share through Redis. A nil *shared means
// Redis is not configured.
type shared struct {
	client  *cluster.Client
	tokens  *cluster.Tokens
	credits *cluster.Credits
	gov     *cluster.SharedGovernor
	heavy   *cluster.SharedGovernor
	now     func() time.Time
	log     *slog.Logger
	url     string // redacted, for messages

	creditsMu   sync.Mutex
	creditsLast time.Time
}

// newShared connects to the Redis of cfg (nil, nil when none is configured)
// and pings it once: when it does not answer, the replica logs an error and
// runs on its local fallbacks until it does (see above).
func newShared(cfg *config.Config, log *slog.Logger, now func() time.Time) (*shared, error) {
	if !cfg.Redis.Enabled() {
		return nil, nil
	}
	key, err := cfg.Redis.ResolveKey()
	if err != nil {
		return nil, err
	}
	c, err := cluster.New(cluster.Config{URL: cfg.Redis.URL.Reveal(), Prefix: cfg.Redis.Prefix, Logger: log, Now: now})
	if err != nil {
		return nil, err
	}
	s := &shared{client: c, credits: cluster.NewCredits(c), now: now, log: log, url: cluster.RedactURL(cfg.Redis.URL.Reveal())}
	s.tokens, err = cluster.NewTokens(c, cluster.TokensConfig{Key: key, Counted: grantCounted, Refused: grantRefused})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	limit := concurrencyLimit(cfg)
	if s.gov, err = cluster.NewSharedGovernor(c, cluster.GovernorConfig{Name: orgGovernor, Limit: limit, Lease: governorLease, ReleaseInBackground: true}); err != nil {
		_ = c.Close()
		return nil, err
	}
	if s.heavy, err = cluster.NewSharedGovernor(c, cluster.GovernorConfig{Name: orgHeavyGovernor, Limit: min(limit, tiers.SubConcurrencyLimit), Lease: governorLease, ReleaseInBackground: true}); err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := c.Ping(context.Background()); err != nil {
		log.Error("shared state (Redis) unreachable at start: this replica runs on its own tokens, breakers and limits until Redis answers",
			"redis", s.url, "error", err.Error())
	} else {
		log.Info("sharing tokens, breakers and limits with other replicas through Redis", "redis", s.url)
	}
	return s, nil
}

// concurrencyLimit is the org-wide bound on calls in flight at Zoho.
func concurrencyLimit(cfg *config.Config) int {
	if cfg.Zoho.ConcurrencyLimit > 0 {
		return cfg.Zoho.ConcurrencyLimit
	}
	return tiers.DefaultConcurrencyLimit
}

// close closes the connection pool; nil-safe.
func (s *shared) close() error {
	if s == nil {
		return nil
	}
	return s.client.Close()
}

// SharedState is what /readyz's detail and `check` say about the state
// replicas share.
type SharedState struct {
	// Backend is "redis".
	Backend string `json:"backend"`
	// Usable reports whether Redis answered just now.
	Usable bool `json:"usable"`
	// Detail says what this replica does about it.
	Detail string `json:"detail"`
}

// state pings Redis and describes the outcome.
func (s *shared) state(ctx context.Context) SharedState {
	if err := s.client.Ping(ctx); err != nil {
		return SharedState{Backend: "redis", Detail: "Redis " + s.url + " unreachable (" + err.Error() +
			"): this replica uses its own tokens, breakers and limits until it answers"}
	}
	return SharedState{Backend: "redis", Usable: true, Detail: "tokens, breakers and limits shared through Redis " + s.url}
}

// governors returns the org-wide governors: shared ones with Redis, else
// this process's.
func (s *shared) governors(cfg *config.Config) (gov, heavy tiers.Governor) {
	if s != nil {
		return s.gov, s.heavy
	}
	limit := concurrencyLimit(cfg)
	return cluster.NewLocalGovernor(limit), cluster.NewLocalGovernor(min(limit, tiers.SubConcurrencyLimit))
}

// tokensFor returns the shared token of cred on the accounts server
// accounts, for tier t; nil without Redis or a refresh credential.
func (s *shared) tokensFor(t tiers.Name, accounts string, cred zoho.Credential) zoho.SharedTokens {
	if s == nil || !cred.CanRefresh() {
		return nil
	}
	return &sharedTokens{t: s.tokens, id: cluster.NewCredentialID(accounts, cred.ClientID, cred.RefreshToken), tier: t}
}

// newBreaker is the router's Config.NewBreaker: nil without Redis (the
// router's own breakers).
func (s *shared) newBreaker() func(gobreaker.Settings) router.Breaker {
	if s == nil {
		return nil
	}
	return func(st gobreaker.Settings) router.Breaker {
		return &sharedBreaker{SharedBreaker: cluster.NewSharedBreaker[struct{}](s.client, st)}
	}
}

// onCredits wraps a tier's credits callback so that the figure is also
// stored for every replica (at most every creditsEvery).
func (s *shared) onCredits(next func(tiers.Name) func(int)) func(tiers.Name) func(int) {
	if s == nil {
		return next
	}
	return func(t tiers.Name) func(int) {
		local := next(t)
		return func(n int) {
			local(n)
			now := s.now()
			s.creditsMu.Lock()
			due := now.Sub(s.creditsLast) >= creditsEvery
			if due {
				s.creditsLast = now
			}
			s.creditsMu.Unlock()
			if due {
				_ = s.credits.Observe(context.Background(), creditsOrg, int64(n), now) // a failure is logged by the client
			}
		}
	}
}

// sharedBreaker is a tier's breaker shared by replicas. Its Seen, which
// the router asks several times per call, asks Redis at most every
// breakerLook and otherwise answers what this replica saw last.
type sharedBreaker struct {
	*cluster.SharedBreaker[struct{}]
	next atomic.Int64 // unix ns of the next look at Redis
}

var (
	_ router.Breaker  = (*sharedBreaker)(nil)
	_ router.Resetter = (*sharedBreaker)(nil)
)

// Allow admits a call without a round trip to Redis while this replica saw
// the breaker closed within breakerLook (cluster.SharedBreaker.AllowFast),
// and records the outcome from a goroutine of its own, off the call's
// path: a routed call through a closed breaker waits for no Redis round
// trip at all. The shared state learns the outcome one round trip later
// (each bounded by the client's timeout).
func (b *sharedBreaker) Allow() (func(error), error) {
	done, err := b.AllowFast(breakerLook)
	if err != nil {
		return nil, err
	}
	return func(err error) { go done(err) }, nil
}

// Seen returns the shared state, looked up at most every breakerLook.
func (b *sharedBreaker) Seen() gobreaker.State {
	now := time.Now().UnixNano()
	if next := b.next.Load(); now >= next && b.next.CompareAndSwap(next, now+int64(breakerLook)) {
		return b.SharedBreaker.State()
	}
	return b.SharedBreaker.Seen()
}

// sharedTokens adapts cluster.Tokens to one credential's zoho.SharedTokens.
type sharedTokens struct {
	t    *cluster.Tokens
	id   cluster.CredentialID
	tier tiers.Name
}

var _ zoho.SharedTokens = (*sharedTokens)(nil)

// uncounted marks a failed grant that never reached Zoho.
type uncounted struct{ error }

func (u uncounted) Unwrap() error { return u.error }

// grantCounted is cluster.TokensConfig.Counted.
func grantCounted(err error) bool {
	var u uncounted
	return !errors.As(err, &u)
}

// grantRefused is cluster.TokensConfig.Refused: Zoho refused the grant for
// too many refreshes (its "Access Denied", or HTTP 429).
func grantRefused(err error) bool {
	var te *tiers.Error
	return errors.As(err, &te) && (te.Code == "REFRESH_CAP" || te.Code == "TOO_MANY_REQUESTS")
}

// Refresh runs the shared refresh and turns its outcomes into the tier's
// errors.
func (s *sharedTokens) Refresh(ctx context.Context, stale string, grant func(context.Context) (zoho.Token, bool, error)) (zoho.Token, error) {
	tok, err := s.t.Refresh(ctx, s.id, stale, func(ctx context.Context) (cluster.Token, error) {
		t, counted, err := grant(ctx)
		if err != nil {
			if !counted {
				err = uncounted{err}
			}
			return cluster.Token{}, err
		}
		return cluster.Token{AccessToken: t.AccessToken, APIDomain: t.APIDomain, Expiry: t.Expiry}, nil
	})
	if err == nil {
		return zoho.Token{AccessToken: tok.AccessToken, APIDomain: tok.APIDomain, Expiry: tok.Expiry}, nil
	}
	var (
		u  uncounted
		re *cluster.RefusedError
		pe *cluster.PeerError
	)
	switch {
	case errors.Is(err, cluster.ErrUnavailable):
		return zoho.Token{}, fmt.Errorf("%w: %w", zoho.ErrNotShared, err)
	case errors.As(err, &u):
		return zoho.Token{}, u.error
	case errors.As(err, &re):
		return zoho.Token{}, &tiers.Error{Tier: s.tier, Class: tiers.ClassRateLimited, Code: "REFRESH_CAP",
			Message: "Zoho " + re.Error() + "; the proxy will retry after " + re.Until.UTC().Format("15:04:05 UTC")}
	case errors.As(err, &pe):
		return zoho.Token{}, &tiers.Error{Tier: s.tier, Class: tiers.ClassUnavailable, Code: "PEER_REFRESH_FAILED", Message: pe.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return zoho.Token{}, &tiers.Error{Tier: s.tier, Class: tiers.ClassUnavailable,
			Message: "no Zoho access token in time: another replica's refresh did not finish", Err: err}
	}
	return zoho.Token{}, err
}

// sharedCredits exports the latest credit figure any replica stored.
type sharedCredits struct {
	s    *shared
	desc *prometheus.Desc
}

func newSharedCredits(s *shared) *sharedCredits {
	return &sharedCredits{s: s, desc: prometheus.NewDesc("zoho_mcp_proxy_zoho_api_credits_remaining_shared",
		"Zoho API credits remaining for the org, the latest figure any replica sharing Redis saw (absent until one did).", nil, nil)}
}

func (c *sharedCredits) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sharedCredits) Collect(ch chan<- prometheus.Metric) {
	n, _, ok, err := c.s.credits.Last(context.Background(), creditsOrg)
	if err != nil || !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}
