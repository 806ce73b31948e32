package zoho

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

var _ tiers.Governor = (*cluster.LocalGovernor)(nil)

// inflight is a fake API handler that counts the requests it holds at once.
type inflight struct {
	mu       sync.Mutex
	now, max int
	heavyNow int
	heavyMax int
	gate     chan struct{} // each request waits for a token from it
}

func (f *inflight) handle(w http.ResponseWriter, r *http.Request) {
	heavy := r.URL.Path == "/crm/v8/coql"
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	if heavy {
		f.heavyNow++
		f.heavyMax = max(f.heavyMax, f.heavyNow)
	}
	f.mu.Unlock()
	<-f.gate
	f.mu.Lock()
	f.now--
	if heavy {
		f.heavyNow--
	}
	f.mu.Unlock()
	zohoJSON(w, 200, `{"data":[]}`)
}

// TestGovernorBoundsCallsInFlight: 24 concurrent calls through clients that
// share a governor of 4 (and a heavy governor of 2) never have more than 4
// (2 heavy) in flight at the API, and all are served, queued rather than
// refused.
func TestGovernorBoundsCallsInFlight(t *testing.T) {
	t.Parallel()
	f := &inflight{gate: make(chan struct{})}
	api := newFakeAPI(t, f.handle)
	gov, heavy := cluster.NewLocalGovernor(4), cluster.NewLocalGovernor(2)
	var clients []*Client
	for range 2 { // two tiers, one org
		c, _ := newTestClient(t, api, func(c *Config) { c.Governor, c.HeavyGovernor = gov, heavy })
		clients = append(clients, c)
	}
	for _, c := range clients { // tokens first, so every call below is an API call
		if _, err := c.Tokens().Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	go func() { // let the held requests go, one at a time
		for range 24 {
			f.gate <- struct{}{}
		}
	}()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 24 {
		wg.Go(func() {
			r := Request{Path: "/crm/v8/Accounts", Query: map[string][]string{"fields": {"id"}}}
			if i%3 == 0 {
				r = Request{Method: http.MethodPost, Path: "/crm/v8/coql", JSON: map[string]any{"select_query": "select id from Accounts where id is not null"}}
			}
			if _, err := clients[i%2].Do(context.Background(), r); err != nil {
				failed.Add(1)
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if f.max > 4 || f.heavyMax > 2 || failed.Load() != 0 {
		t.Fatalf("%d in flight at once (%d heavy), %d failed; want at most 4 (2), none failed", f.max, f.heavyMax, failed.Load())
	}
	if gov.InFlight() != 0 || heavy.InFlight() != 0 {
		t.Fatalf("slots still held: %d, %d heavy", gov.InFlight(), heavy.InFlight())
	}
}

// TestGovernorQueueRespectsDeadline: a call that gets no slot before its
// deadline is not sent (a write is not outcome-unknown), and a slot held by
// a streamed answer is freed when its body is closed.
func TestGovernorQueueRespectsDeadline(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		zohoJSON(w, 200, `{"data":[{"code":"SUCCESS","status":"success"}]}`)
	})
	gov := cluster.NewLocalGovernor(1)
	c, _ := newTestClient(t, api, func(c *Config) { c.Governor = gov; c.Timeout = 0 })
	if _, err := c.Tokens().Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	held, err := c.Send(context.Background(), Request{Path: "/crm/v8/org"}) // holds the only slot
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Do(ctx, Request{Method: http.MethodPut, Path: "/crm/v8/Accounts", JSON: map[string]any{"data": []any{map[string]any{"id": "1"}}}})
	if c := class(t, err); c != tiers.ClassCanceled || hits.Load() != 1 {
		t.Fatalf("queued past the deadline: %v (class %v), %d requests at the API; want canceled, not sent", err, c, hits.Load())
	}
	var te *tiers.Error
	if errors.As(err, &te) && te.Code == "OUTCOME_UNKNOWN" {
		t.Fatalf("a write never sent is reported outcome unknown: %v", err)
	}
	_, _ = io.Copy(io.Discard, held.Body)
	held.Body.Close()
	if _, err := c.Do(context.Background(), Request{Path: "/crm/v8/org"}); err != nil || gov.InFlight() != 0 {
		t.Fatalf("after the streamed answer was closed: %v, %d slots held", err, gov.InFlight())
	}
}

func TestHeavyCall(t *testing.T) {
	t.Parallel()
	rows := func(n int) map[string]any {
		d := make([]map[string]any, n)
		return map[string]any{"data": d}
	}
	tests := []struct {
		method, path string
		body         any
		want         bool
	}{
		{"POST", "/crm/v8/coql", map[string]any{"select_query": "x"}, true},
		{"POST", "/crm/bulk/v8/read", nil, true},
		{"POST", "/crm/bulk/v8/write", nil, true},
		{"GET", "/crm/bulk/v8/read/1", nil, false},
		{"PUT", "/crm/v8/Accounts", rows(11), true},
		{"PUT", "/crm/v8/Accounts", rows(10), false},
		{"POST", "/crm/v8/Accounts/upsert", rows(100), true},
		{"GET", "/crm/v8/Accounts", nil, false},
		{"POST", "/crm/v8/upload", nil, false},
	}
	for _, tt := range tests {
		if got := heavyCall(tt.method, tt.path, tt.body); got != tt.want {
			t.Errorf("%s %s (%v): heavy %v, want %v", tt.method, tt.path, fmt.Sprint(tt.body)[:min(20, len(fmt.Sprint(tt.body)))], got, tt.want)
		}
	}
}
