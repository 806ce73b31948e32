package bulk

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newClock is the time of the emulator and the tier in a test: its Sleep
// advances it instantly, so a bulk job that takes Zoho minutes finishes in
// microseconds.
func newClock() *tierstest.Clock {
	return tierstest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
}

type env struct {
	sim   *zohosim.Sim
	clock *tierstest.Clock
	tier  *Tier
	zc    *zoho.Client
}

type envOpts struct {
	accounts int
	timeout  time.Duration
	realTime bool
	jobStep  time.Duration // 0: one second
	tier     func(*Config)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	clock := newClock()
	now := clock.Now
	if o.realTime {
		now = time.Now
	}
	if o.jobStep == 0 {
		o.jobStep = time.Second
	}
	sim, err := zohosim.Start(zohosim.Options{Accounts: o.accounts, Now: now, JobStep: o.jobStep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if o.timeout == 0 {
		o.timeout = 5 * time.Second
	}
	cred := sim.BulkCredential()
	zc, err := zoho.New(zoho.Config{
		Tier:        tiers.Bulk,
		Credential:  zoho.Credential{ClientID: cred.ClientID, ClientSecret: cred.ClientSecret, RefreshToken: cred.RefreshToken},
		AccountsURL: sim.AccountsURL(),
		ContentURL:  sim.BulkURL(),
		CacheDir:    "-",
		Timeout:     o.timeout,
		MaxRetries:  tiers.DefaultsOf(tiers.Bulk).MaxRetries,
		Backoff:     func(time.Duration, time.Duration, int, *http.Response) time.Duration { return time.Millisecond },
		Now:         now,
		Transport:   testTransport(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Client: zc, Now: now, Sleep: clock.Sleep, TempDir: t.TempDir()}
	if o.realTime {
		cfg.Sleep = nil
	}
	if o.tier != nil {
		o.tier(&cfg)
	}
	return &env{sim: sim, clock: clock, tier: New(cfg), zc: zc}
}

// testTransport is the zoho default transport, closed with the test so that
// no keep-alive goroutine outlives it.
func testTransport(t testing.TB) http.RoundTripper {
	tr := zoho.DefaultTransport()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// countSink counts records and keeps none (for the memory benchmark).
type countSink struct{ n int }

func (s *countSink) Write(tiers.Record) error { s.n++; return nil }
func (s *countSink) Reset() error             { s.n = 0; return nil }

// requests returns the emulator's logged requests on the bulk surface whose
// path starts with prefix.
func requests(s *zohosim.Sim, method, prefix string) []zohosim.LoggedRequest {
	var out []zohosim.LoggedRequest
	for _, r := range s.Requests() {
		if r.Surface == zohosim.SurfaceBulk && (method == "" || r.Method == method) && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func classOf(err error) string {
	if err == nil {
		return "ok"
	}
	return tiers.Classify(err).String()
}

// seededID returns the id of the i-th seeded account (1-based).
func seededID(i int) string {
	return strconv.FormatInt(5725767000001000000+int64(i-1), 10)
}
