package zoho

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Secrets used by the fakes; tests assert none of them leaks.
const (
	testClientID     = "1000.CLIENTID"
	testClientSecret = "s3cr3t-client-secret"
	testRefreshToken = "1000.refresh.r3fr3sh-token"
)

func testCred() Credential {
	return Credential{ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefreshToken}
}

// newFakeClock is the zoho tests' clock.
func newFakeClock() *tierstest.Clock {
	return tierstest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// fakeAccounts is an httptest OAuth server following reference §2.3/§2.4:
// HTTP 200 always, errors as {"error":…}. body, when set, overrides the
// answer; status, when set, is its HTTP status (with a Retry-After header
// when retryAfter is set); gate, when set, holds every request until closed.
type fakeAccounts struct {
	srv       *httptest.Server
	refreshes atomic.Int64
	mu        sync.Mutex
	body      string // answer override
	status    int    // HTTP status of the answer; 0 means 200
	retry     string // Retry-After header; "" means none
	apiDomain string
	gate      chan struct{}
	entered   chan struct{}
	n         atomic.Int64 // token serial
}

func newFakeAccounts(t *testing.T) *fakeAccounts {
	t.Helper()
	fa := &fakeAccounts{}
	fa.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/v2/token" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		fa.refreshes.Add(1)
		fa.mu.Lock()
		body, gate, entered, apiDomain, status, retry := fa.body, fa.gate, fa.entered, fa.apiDomain, fa.status, fa.retry
		fa.mu.Unlock()
		if entered != nil {
			select {
			case entered <- struct{}{}:
			default:
			}
		}
		if gate != nil {
			<-gate
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		if status != 0 {
			w.WriteHeader(status)
		}
		if body != "" {
			_, _ = w.Write([]byte(body))
			return
		}
		if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("client_id") != testClientID ||
			r.Form.Get("client_secret") != testClientSecret || r.Form.Get("refresh_token") != testRefreshToken {
			_, _ = w.Write([]byte(`{"error":"invalid_code"}`))
			return
		}
		if apiDomain == "" {
			apiDomain = "https://www.zohoapis.com"
		}
		tok := "1000.access." + string(rune('a'+fa.n.Add(1)%26))
		_, _ = w.Write([]byte(`{"access_token":"` + tok + `","api_domain":"` + apiDomain + `","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(fa.srv.Close)
	return fa
}

func (fa *fakeAccounts) set(f func(fa *fakeAccounts)) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	f(fa)
}

// logBuffer captures slog output.
type logBuffer = tierstest.Buffer

func newLogger(level slog.Level) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: level})), lb
}

// class returns the class of err and fails the test if err is not a *tiers.Error.
func class(t *testing.T, err error) tiers.Class {
	t.Helper()
	var te *tiers.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *tiers.Error", err, err)
	}
	return te.Class
}

// assertNoSecrets fails if s contains any test secret or access token.
func assertNoSecrets(t *testing.T, s string, extra ...string) {
	t.Helper()
	for _, sec := range append([]string{testClientSecret, testRefreshToken, "1000.access."}, extra...) {
		if sec != "" && strings.Contains(s, sec) {
			t.Fatalf("secret %q leaked into %q", sec, s)
		}
	}
}

func zeroBackoff(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }
