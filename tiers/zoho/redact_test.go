package zoho

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestDebugLogRedactsQueryValues: the debug lines of the Zoho HTTP client
// (one per call and one per retry) name the query parameters but never their
// values, which hold the caller's search terms. They used to log
// criteria=…, email=, phone= and word= in full.
func TestDebugLogRedactsQueryValues(t *testing.T) {
	t.Parallel()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusBadGateway) // one retry
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[]}`))
	}))
	defer srv.Close()
	logs := &lockedBuffer{}
	hc := NewHTTPClient(HTTPOptions{Backoff: zeroBackoff, MaxRetries: 1,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	values := []string{"jane@acme.example", "Confidential Merger", "5550100", "Account_Name", "starts_with"}
	u := srv.URL + "/crm/v8/Accounts/search?criteria=(Account_Name:starts_with:Confidential%20Merger)&email=jane@acme.example&phone=5550100&word=Confidential+Merger"
	ctx := tiers.WithRetryBudget(context.Background(), tiers.RetryBudget{MaxRetries: 1})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := logs.String()
	if !strings.Contains(out, "zoho http retry") || !strings.Contains(out, `"msg":"zoho http"`) {
		t.Fatalf("expected a call line and a retry line:\n%s", out)
	}
	for _, v := range values {
		if strings.Contains(out, v) || strings.Contains(out, strings.ReplaceAll(v, " ", "+")) || strings.Contains(out, strings.ReplaceAll(v, " ", "%20")) {
			t.Errorf("the debug log holds the query value %q:\n%s", v, out)
		}
	}
	for _, name := range []string{"criteria=REDACTED", "email=REDACTED", "phone=REDACTED", "word=REDACTED"} {
		if !strings.Contains(out, name) {
			t.Errorf("the debug log lacks %s:\n%s", name, out)
		}
	}
}
