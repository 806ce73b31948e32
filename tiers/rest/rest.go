// Package rest is tier 3: plain Zoho CRM REST API v8 calls, one per
// operation (the emergency fallback and simplest path).
package rest

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// DefaultProbeTimeout bounds Probe when Config.ProbeTimeout is zero.
const DefaultProbeTimeout = 5 * time.Second

// Config configures the REST tier: the configuration of its Zoho client
// (whose Tier it sets to REST) and what is the tier's own. Without
// Credential the tier is not configured.
type Config struct {
	// Config is the tier's Zoho client. A zero Timeout means the tier's
	// default (tiers.DefaultsOf); MaxRetries counts retries when the context
	// carries no tiers.RetryBudget, zero meaning none.
	zoho.Config
	// ProbeTimeout bounds Probe. Zero: DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// DefaultFields returns the fields to request when a list asks for "all
	// fields" (Zoho's list API requires a field list). nil means
	// zoho.DefaultFields, the list every tier uses.
	DefaultFields func(module string) []string
}

// Tier is the REST tier. It is safe for concurrent use.
type Tier struct {
	cfg     Config
	zc      *zoho.Client
	initErr error
}

var _ tiers.Tier = (*Tier)(nil)

// New returns the REST tier for cfg. A configuration error (an unknown data
// centre, a malformed override URL) makes the tier report itself as not
// configured, and every call returns that error.
func New(cfg Config) *Tier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = tiers.DefaultsOf(tiers.REST).Timeout
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultFields == nil {
		cfg.DefaultFields = zoho.DefaultFields
	}
	cfg.Tier = tiers.REST
	zc, err := zoho.New(cfg.Config)
	return &Tier{cfg: cfg, zc: zc, initErr: err}
}

// Client returns the underlying Zoho client (nil if the configuration was
// invalid); tests use it to read call counts.
func (t *Tier) Client() *zoho.Client { return t.zc }

// Name returns tiers.REST.
func (t *Tier) Name() tiers.Name { return tiers.REST }

// Configured reports whether credentials are present and the configuration
// is valid.
func (t *Tier) Configured() bool { return t.initErr == nil && t.cfg.Credential.Configured() }

// Supports reports true for every operation: REST can do them all, slowly.
func (t *Tier) Supports(op tiers.OpKind) bool {
	switch op {
	case tiers.OpGet, tiers.OpList, tiers.OpSearch, tiers.OpUpdate, tiers.OpBulkRead, tiers.OpBulkUpdate,
		tiers.OpCreate, tiers.OpRelated, tiers.OpMetadata:
		return true
	}
	return false
}

// ready returns the error every call returns when the tier cannot work.
func (t *Tier) ready() error {
	if t.initErr != nil {
		return &tiers.Error{Tier: tiers.REST, Class: tiers.ClassUnavailable, Code: "NOT_CONFIGURED", Message: t.initErr.Error()}
	}
	if !t.cfg.Credential.Configured() {
		return &tiers.Error{Tier: tiers.REST, Class: tiers.ClassAuth, Code: "NOT_CONFIGURED",
			Message: "REST tier has no Zoho credentials: set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN (or the ZOHO_REST_* overrides)"}
	}
	return nil
}

// Probe checks that Zoho answers this tier's credentials: GET /crm/v8/org
// within ProbeTimeout.
func (t *Tier) Probe(ctx context.Context) error {
	if err := t.ready(); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, t.cfg.ProbeTimeout)
	defer cancel()
	_, err := t.zc.Do(tiers.WithRetryBudget(pctx, tiers.RetryBudget{}), zoho.Request{Path: "/crm/v8/org"})
	if err != nil && ctx.Err() == nil && pctx.Err() != nil {
		// The probe's own deadline, not the caller's: Zoho is not answering.
		return &tiers.Error{Tier: tiers.REST, Class: tiers.ClassUnavailable, Code: "PROBE_TIMEOUT",
			Message: "Zoho did not answer GET /crm/v8/org within " + t.cfg.ProbeTimeout.String(), Err: err}
	}
	return err
}

// badInput is the verdict for a request Zoho would refuse, caught before
// anything is sent.
func badInput(code, msg string) *tiers.Error {
	return &tiers.Error{Tier: tiers.REST, Class: tiers.ClassVerdict, Code: code, Message: msg}
}

func checkModule(m string) error { return zoho.CheckModule(tiers.REST, m) }

func checkID(id string) error { return zoho.CheckID(tiers.REST, id) }

func checkFields(fields []string) error { return zoho.CheckFields(tiers.REST, fields) }

func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return "\"" + strings.ReplaceAll(s, "\"", "\\\"") + "\""
}
