// Package bulk is tier 2: Zoho's multi-record REST calls (ids= reads,
// 100-record PUTs), COQL paging and the asynchronous Bulk Read and Bulk Write
// APIs, chosen per request by a credit-aware planner (see Plan).
package bulk

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

var (
	_ tiers.Tier       = (*Tier)(nil)
	_ tiers.JobAwaiter = (*Tier)(nil)
)

// Defaults of Config.
const (
	DefaultConcurrency  = 8 // below Zoho's sub-concurrency of 10 for writes of >10 records and COQL
	DefaultPollInterval = 2 * time.Second
	DefaultPollMax      = 30 * time.Second
	DefaultJobTimeout   = 30 * time.Minute
	DefaultDownloadWait = 10 * time.Second
)

// Config configures the tier. Client is required for Configured to be true.
type Config struct {
	// Client is the Zoho client of this tier (tiers/zoho, labelled BULK);
	// nil means the tier is not configured.
	Client *zoho.Client
	// Concurrency bounds the calls in flight for one batched operation; zero
	// means DefaultConcurrency. It is capped at 9 to stay below Zoho's
	// sub-concurrency of 10.
	Concurrency int
	// PollInterval is the first wait between job status polls, doubling up
	// to PollMax; zero means the defaults.
	PollInterval, PollMax time.Duration
	// JobTimeout bounds waiting for one job (by Now); zero means
	// DefaultJobTimeout.
	JobTimeout time.Duration
	// DownloadWait is the first wait after a download is refused with 429
	// (Zoho allows 10 bulk read downloads a minute); zero means
	// DefaultDownloadWait.
	DownloadWait time.Duration
	// Plan chooses the strategy; nil means Plan.
	Plan func(kind Kind, n int) Strategy
	// DefaultFields lists the fields to request when a read asks for all of
	// them and Zoho's API needs a list (ids= reads, COQL); nil means
	// zoho.DefaultFields.
	DefaultFields func(module string) []string
	// TempDir holds downloaded zips while they are read; "" means os.TempDir.
	TempDir string
	// Now is the clock of job timeouts; nil means time.Now.
	Now func() time.Time
	// Sleep waits between polls; nil means zoho.Sleep. Tests
	// pass one that advances a fake clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger; nil discards.
	Logger *slog.Logger
}

// Tier is tier 2. It is safe for concurrent use.
type Tier struct {
	cfg   Config
	zc    *zoho.Client
	log   *slog.Logger
	types fieldTypeCache // field json_types, for typing Bulk Read CSV cells
}

// New returns the tier for cfg.
func New(cfg Config) *Tier {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	cfg.Concurrency = min(cfg.Concurrency, 9)
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = DefaultPollMax
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.DownloadWait <= 0 {
		cfg.DownloadWait = DefaultDownloadWait
	}
	if cfg.Plan == nil {
		cfg.Plan = Plan
	}
	if cfg.DefaultFields == nil {
		cfg.DefaultFields = zoho.DefaultFields
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = zoho.Sleep
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tier{cfg: cfg, zc: cfg.Client, log: log.With("tier", string(tiers.Bulk))}
}

// Name returns tiers.Bulk.
func (t *Tier) Name() tiers.Name { return tiers.Bulk }

// Configured reports whether the tier has a Zoho client with credentials.
func (t *Tier) Configured() bool { return t.zc != nil && t.zc.Configured() }

// Supports reports every operation: tier 2 does single-record work with the
// same multi-record APIs.
func (t *Tier) Supports(op tiers.OpKind) bool {
	switch op {
	case tiers.OpGet, tiers.OpList, tiers.OpSearch, tiers.OpUpdate, tiers.OpBulkRead, tiers.OpBulkUpdate,
		tiers.OpCreate, tiers.OpRelated, tiers.OpMetadata:
		return true
	}
	return false
}

// Probe reads the org (GET /crm/v8/org, 1 credit).
func (t *Tier) Probe(ctx context.Context) error {
	if !t.Configured() {
		return notConfigured()
	}
	_, err := t.zc.Do(ctx, zoho.Request{Path: "/crm/v8/org"})
	return err
}

func notConfigured() error {
	return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable,
		Message: "not configured: set ZOHO_BULK_CLIENT_ID/_SECRET/_REFRESH_TOKEN (or ZOHO_CLIENT_ID/…)"}
}

// badInput is the verdict for a request Zoho would refuse; nothing is sent.
func badInput(format string, args ...any) *tiers.Error {
	return zoho.InvalidData(tiers.Bulk, format, args...)
}

// asRead turns the outcome-unknown class tiers/zoho gives any POST sent
// without an answer into unavailable when the POST only reads (COQL, a bulk
// read job): nothing was written, so the router may simply fail over.
func asRead(err error) error {
	var te *tiers.Error
	if errors.As(err, &te) && (te.Class == tiers.ClassOutcomeUnknown || te.Code == "OUTCOME_UNKNOWN") {
		c := *te
		if c.Class == tiers.ClassOutcomeUnknown {
			c.Class = tiers.ClassUnavailable
		}
		c.Code = ""
		c.Message = strings.Replace(c.Message, ": it may or may not have been applied", "", 1)
		return &c
	}
	return err
}

// backoff returns the wait before poll attempt i: PollInterval doubling to
// PollMax, with ±20% jitter so that many jobs do not poll in lockstep.
func (t *Tier) backoff(i int) time.Duration {
	d := t.cfg.PollInterval << min(i, 16)
	if d <= 0 || d > t.cfg.PollMax {
		d = t.cfg.PollMax
	}
	j := time.Duration(rand.Int64N(int64(d)/5 + 1))
	return d - d/10 + j
}

// wait sleeps d or returns the caller's cancellation as ClassCanceled.
func (t *Tier) wait(ctx context.Context, d time.Duration) error {
	if err := t.cfg.Sleep(ctx, d); err != nil {
		return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassCanceled, Message: "canceled while waiting for Zoho", Err: err}
	}
	return nil
}
