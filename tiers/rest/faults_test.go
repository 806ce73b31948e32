package rest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestFaultModes drives every fault mode of SPEC §9 through a read and a
// write and asserts the error class and what reached the emulator.
func TestFaultModes(t *testing.T) {
	t.Parallel()
	// Cases that expect a timeout use a short one; the others a long one, so
	// that a loaded machine cannot turn a success into a timeout.
	const short, long = 300 * time.Millisecond, 20 * time.Second
	tests := []struct {
		name     string
		surface  zohosim.Surface
		fault    zohosim.Fault
		write    bool
		class    tiers.Class // -1 = success
		want     string      // substring of the error
		attempts int         // requests that reached the REST surface (-1: don't check)
		writes   int         // times the record was written
	}{
		{"down: read", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultDown}, false, tiers.ClassUnavailable, "connection refused", 0, 0},
		{"down: write never sent", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultDown}, true, tiers.ClassUnavailable, "connection refused", 0, 0},
		{"5xx: read retried then unavailable", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault5xx}, false, tiers.ClassUnavailable, "INTERNAL_ERROR", 3, 0},
		{"5xx once: read recovers on retry", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault5xx, Times: 1}, false, -1, "", 2, 0},
		{"5xx: write not resent, outcome unknown", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault5xx}, true, tiers.ClassOutcomeUnknown, "may or may not", 1, 0},
		{"429: read rate limited after retries", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault429}, false, tiers.ClassRateLimited, "TOO_MANY_REQUESTS", 3, 0},
		{"429 once: write resent (refused unapplied)", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault429, Times: 1}, true, -1, "", 2, 1},
		{"latency under the timeout", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultLatency, Latency: 20 * time.Millisecond}, false, -1, "", 1, 0},
		{"latency over the timeout: read", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultLatency, Latency: 5 * time.Second}, false, tiers.ClassUnavailable, "timed out", 1, 0},
		{"hang: read unavailable", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultHang}, false, tiers.ClassUnavailable, "timed out", 1, 0},
		{"hang: write sent once, outcome unknown", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultHang}, true, tiers.ClassOutcomeUnknown, "may or may not", 1, 0},
		{"hang after apply: write applied once, outcome unknown", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultHangAfterApply}, true, tiers.ClassOutcomeUnknown, "may or may not", 1, 1},
		{"malformed: read unavailable", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultMalformed}, false, tiers.ClassUnavailable, "not valid JSON", 1, 0},
		{"malformed: write applied, outcome unknown", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultMalformed}, true, tiers.ClassOutcomeUnknown, "may or may not", 1, 1},
		{"expired token once: one refresh, one retry", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultExpiredTokens, Times: 1}, true, -1, "", 2, 1},
		{"expired tokens throughout: auth failed", zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.FaultExpiredTokens}, false, tiers.ClassAuth, "INVALID_TOKEN", 2, 0},
		{"refresh cap at the accounts server", zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.FaultRefreshCap}, false, tiers.ClassRateLimited, "refresh cap reached (10 per 10 minutes)", 0, 0},
		{"accounts server down", zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.FaultDown}, false, tiers.ClassUnavailable, "accounts server", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, zohosim.Options{Accounts: 10})
			timeout := long
			switch tt.fault.Mode {
			case zohosim.FaultHang, zohosim.FaultHangAfterApply:
				timeout = short
			case zohosim.FaultLatency:
				if tt.fault.Latency > short {
					timeout = short
				}
			}
			tier := newTier(t, sim, func(c *Config) { c.Timeout = timeout })
			id := sim.Store().IDs()[3]
			if tt.surface != zohosim.SurfaceOAuth {
				// Hold a token first so that the fault meets the API call.
				if _, err := tier.Client().Tokens().Token(ctx()); err != nil {
					t.Fatal(err)
				}
			}
			sim.ResetLog() // also zeroes the refresh counter
			sim.SetFault(tt.surface, tt.fault)
			var err error
			if tt.write {
				var out tiers.Outcome
				out, err = tier.Update(ctx(), tiers.UpdateRequest{Module: "Accounts", ID: id, Data: tiers.Record{"Phone": "555-0199"}})
				if tt.class == tiers.ClassOutcomeUnknown && out.Status != tiers.StatusUnknown {
					t.Fatalf("outcome %+v, want unknown", out)
				}
			} else {
				_, err = tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: id})
			}
			if tt.class == -1 {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
			} else {
				te := tierErr(t, err)
				if te.Class != tt.class || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v (class %v), want class %v saying %q", err, te.Class, tt.class, tt.want)
				}
				c := sim.RESTCredential()
				for _, secret := range []string{c.ClientSecret, c.RefreshToken, "Zoho-oauthtoken", "1000."} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error leaks %q: %v", secret, err)
					}
				}
			}
			if tt.attempts >= 0 {
				if n := len(restRequests(sim, "", "/crm/")); n != tt.attempts {
					t.Fatalf("%d requests reached Zoho, want %d", n, tt.attempts)
				}
			}
			if w := sim.RecordWrites(id); w != tt.writes {
				t.Fatalf("record written %d times, want %d", w, tt.writes)
			}
			if tt.fault.Mode == zohosim.FaultExpiredTokens {
				if n := sim.RefreshCount(); n != 1 {
					t.Fatalf("%d refreshes after a 401, want exactly 1", n)
				}
			}
		})
	}
}

func TestTwentyConcurrentCallersOneRefresh(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 30})
	tier := newTier(t, sim)
	ids := sim.Store().IDs()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			if _, err := tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: ids[i]}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := sim.RefreshCount(); n != 1 {
		t.Fatalf("emulator saw %d refreshes for 20 concurrent callers, want exactly 1", n)
	}
}

func TestDiskCacheAcrossRestarts(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 5})
	dir := t.TempDir()
	id := sim.Store().IDs()[0]
	for i := range 3 { // three "process starts"
		tier := newTier(t, sim, func(c *Config) { c.CacheDir = dir })
		if _, err := tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: id}); err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	if n := sim.RefreshCount(); n != 1 {
		t.Fatalf("%d refreshes across three starts sharing a cache, want 1", n)
	}
}

func TestExpiredTokenAtEmulatorClock(t *testing.T) {
	t.Parallel()
	// The emulator and the tier share a fake clock: an hour later the token
	// is refreshed before use (expiry minus margin), not after a 401.
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sim := startSim(t, zohosim.Options{Accounts: 5, Now: clock})
	tier := newTier(t, sim, func(c *Config) { c.Now = clock })
	id := sim.Store().IDs()[0]
	if _, err := tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: id}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	sim.ResetLog()
	if _, err := tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: id}); err != nil {
		t.Fatal(err)
	}
	for _, r := range sim.Requests() {
		if r.Status == 401 {
			t.Fatalf("the expired token was sent: %+v", r)
		}
	}
	if n := sim.RefreshCount(); n != 1 { // since ResetLog
		t.Fatalf("%d refreshes after the hour, want 1", n)
	}
}

func TestRetryBudgetFromRouter(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 5})
	tier := newTier(t, sim, func(c *Config) { c.MaxRetries = 5 })
	if _, err := tier.Client().Tokens().Token(ctx()); err != nil {
		t.Fatal(err)
	}
	sim.ResetLog()
	sim.SetFault(zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault5xx})
	_, err := tier.Get(tiers.WithRetryBudget(ctx(), tiers.QuickRetry), tiers.GetRequest{Module: "Accounts", ID: sim.Store().IDs()[0]})
	if te := tierErr(t, err); te.Class != tiers.ClassUnavailable {
		t.Fatalf("class %v", te.Class)
	}
	if n := len(restRequests(sim, "", "/crm/")); n != 2 {
		t.Fatalf("%d attempts under the quick-retry budget, want 2", n)
	}
}

// BenchmarkRESTGet compares a get-one through the tier client (token cache,
// auth, retry and logging RoundTrippers, classification, JSON decoding) with
// a bare http.Client GET of the same URL and token against the same emulator
// in the same run. The "ratio" sub-benchmark reports tier/bare time.
func BenchmarkRESTGet(b *testing.B) {
	sim := startSim(b, zohosim.Options{Accounts: 50, Credits: 100_000_000})
	tier := newTier(b, sim)
	id := sim.Store().IDs()[7]
	tok, err := tier.Client().Tokens().Token(ctx())
	if err != nil {
		b.Fatal(err)
	}
	target := sim.RESTURL() + "/crm/v8/Accounts/" + id
	bare := &http.Client{Transport: zoho.DefaultTransport()}
	b.Cleanup(bare.CloseIdleConnections)
	viaTier := func(b *testing.B) {
		if _, err := tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: id}); err != nil {
			b.Fatal(err)
		}
	}
	viaBare := func(b *testing.B) {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
		resp, err := bare.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("tier", func(b *testing.B) {
		for b.Loop() {
			viaTier(b)
		}
	})
	// raw is GetRaw, the read get_account passes through undecoded.
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			if _, err := tier.GetRaw(ctx(), tiers.GetRequest{Module: "Accounts", ID: id}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			viaBare(b)
		}
	})
	// bare+decode adds the JSON decoding the tier must do to return a
	// Record, to show how much of the difference is decoding.
	b.Run("bare+decode", func(b *testing.B) {
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
			resp, err := bare.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var body struct{ Data []tiers.Record }
			d := json.NewDecoder(resp.Body)
			d.UseNumber()
			if err := d.Decode(&body); err != nil || len(body.Data) != 1 {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var tierDur, bareDur time.Duration
		for b.Loop() {
			s := time.Now()
			viaTier(b)
			tierDur += time.Since(s)
			s = time.Now()
			viaBare(b)
			bareDur += time.Since(s)
		}
		b.ReportMetric(float64(tierDur)/float64(bareDur), "tier/bare")
	})
}

func TestBadCredentialsAtTheEmulator(t *testing.T) {
	t.Parallel()
	sim := startSim(t, zohosim.Options{Accounts: 5})
	good := sim.RESTCredential()
	tests := []struct {
		name string
		cred zoho.Credential
		want string
	}{
		{"revoked or unknown refresh token", zoho.Credential{ClientID: good.ClientID, ClientSecret: good.ClientSecret, RefreshToken: "1000.nope.nope"},
			"refresh token revoked or wrong data centre — generate a new one in the API console for the DC of your org"},
		{"client of another DC", zoho.Credential{ClientID: "1000.OTHERDC", ClientSecret: good.ClientSecret, RefreshToken: good.RefreshToken},
			"wrong data centre"},
		{"wrong secret", zoho.Credential{ClientID: good.ClientID, ClientSecret: "wrong-secret", RefreshToken: good.RefreshToken},
			"client secret does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tier := newTier(t, sim, func(c *Config) { c.Credential = tt.cred })
			_, err := tier.Get(ctx(), tiers.GetRequest{Module: "Accounts", ID: sim.Store().IDs()[0]})
			te := tierErr(t, err)
			if te.Class != tiers.ClassAuth || !strings.Contains(te.Message, tt.want) {
				t.Fatalf("got %v (class %v), want auth failure saying %q", err, te.Class, tt.want)
			}
			for _, s := range []string{good.ClientSecret, good.RefreshToken, "wrong-secret", "1000.nope.nope"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error leaks %q", s)
				}
			}
		})
	}
}
