package bulk

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestFaults drives every fault mode of SPEC §9 through tier 2: a read (a
// COQL list) and a batched update of 100 records (one PUT, so the outcome
// does not depend on how far a second batch got; see
// TestBulkUpdateStopsAfterFailure), asserting the class, the per-record
// outcomes and what the emulator's store saw.
func TestFaults(t *testing.T) {
	t.Parallel()
	type want struct {
		read, write string
		status      tiers.OutcomeStatus
		writes      int // store writes per record
	}
	tests := []struct {
		name    string
		surface zohosim.Surface
		fault   zohosim.Fault
		want    want
	}{
		{"down", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultDown}, want{"unavailable", "unavailable", tiers.StatusNotSent, 0}},
		{"5xx", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.Fault5xx}, want{"unavailable", "outcome_unknown", tiers.StatusUnknown, 0}},
		{"429", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.Fault429}, want{"rate_limited", "rate_limited", tiers.StatusNotSent, 0}},
		{"latency", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultLatency, Latency: 50 * time.Millisecond}, want{"ok", "ok", tiers.StatusSuccess, 1}},
		{"hang", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultHang}, want{"unavailable", "outcome_unknown", tiers.StatusUnknown, 0}},
		{"hang after apply", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultHangAfterApply}, want{"unavailable", "outcome_unknown", tiers.StatusUnknown, 1}},
		{"malformed", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultMalformed}, want{"unavailable", "outcome_unknown", tiers.StatusUnknown, 1}},
		{"expired tokens", zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.FaultExpiredTokens}, want{"auth_failed", "auth_failed", tiers.StatusNotSent, 0}},
		{"refresh cap", zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.FaultRefreshCap}, want{"auth_failed", "auth_failed", tiers.StatusNotSent, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{accounts: 200, timeout: 3 * time.Second})
			ctx := context.Background()
			cred := e.sim.BulkCredential()
			if tt.surface != zohosim.SurfaceOAuth {
				// Hold a token first, so the fault meets the API calls.
				if err := e.tier.Probe(ctx); err != nil {
					t.Fatal(err)
				}
			}
			e.sim.SetFault(tt.surface, tt.fault)
			_, rerr := e.tier.List(ctx, tiers.ListRequest{Module: "Accounts", Fields: []string{"Phone"}, Limit: 10})
			if got := classOf(rerr); got != tt.want.read && !(tt.name == "refresh cap" && got == "rate_limited") {
				t.Errorf("read: class %s (%v), want %s", got, rerr, tt.want.read)
			}
			ups := updates(100, 0, "f")
			res, werr := e.tier.BulkUpdate(ctx, tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
			if got := classOf(werr); got != tt.want.write && !(tt.name == "refresh cap" && got == "rate_limited") {
				t.Errorf("write: class %s (%v), want %s", got, werr, tt.want.write)
			}
			if len(res.Outcomes) != len(ups) {
				t.Fatalf("%d outcomes for %d records", len(res.Outcomes), len(ups))
			}
			e.sim.ClearFaults()
			for i, o := range res.Outcomes {
				if o.ID != ups[i].ID || o.Status != tt.want.status {
					t.Fatalf("outcome %d = %+v, want %s for %s", i, o, tt.want.status, ups[i].ID)
				}
				if w := e.sim.RecordWrites(o.ID); w != tt.want.writes {
					t.Fatalf("record %s written %d times, want %d", o.ID, w, tt.want.writes)
				}
			}
			for _, err := range []error{rerr, werr} {
				if err == nil {
					continue
				}
				for _, secret := range []string{cred.ClientSecret, cred.RefreshToken} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error text holds a secret: %v", err)
					}
				}
			}
		})
	}
}

// TestDownloadWaitsOut429 serves a result zip that is refused twice with 429
// (Zoho's 10 downloads a minute) and checks that the tier waits and then
// reads it.
func TestDownloadWaitsOut429(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("123.csv")
	_, _ = w.Write([]byte("id,Account_Name\n1,A\n2,\"B, \"\"quoted\"\"\"\n3,\n"))
	_ = zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 5 { // the transport retries 429 itself 3 times first
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code":"TOO_MANY_REQUESTS","details":{},"message":"download limit","status":"error"}`))
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write(zbuf.Bytes())
	}))
	t.Cleanup(srv.Close)
	zc, err := zoho.New(zoho.Config{Tier: tiers.Bulk, Credential: zoho.Credential{AccessToken: "1000.static"}, APIDomain: srv.URL,
		MaxRetries: tiers.DefaultsOf(tiers.Bulk).MaxRetries, CacheDir: "-", Backoff: func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }, Transport: testTransport(t)})
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	tr := New(Config{Client: zc, Sleep: clock.Sleep, Now: clock.Now, TempDir: t.TempDir()})
	var s tierstest.Sink
	var calls, credits int
	n, err := tr.download(context.Background(), "/crm/bulk/v8/read/123/result", &calls, &credits, func(r io.ReaderAt, size int64) (int, error) {
		return streamCSV(r, size, &s)
	})
	if err != nil || n != 3 {
		t.Fatalf("download = %d, %v", n, err)
	}
	if s.Records()[1]["Account_Name"] != `B, "quoted"` || s.Records()[2]["Account_Name"] != nil {
		t.Errorf("rows = %v", s.Records())
	}
	if slept, _ := clock.Slept(); slept < DefaultDownloadWait {
		t.Errorf("waited %s after 429, want at least %s", slept, DefaultDownloadWait)
	}
}

// TestBulkUpdateStopsAfterFailure: with one batch in flight at a time, a 500
// to the first PUT leaves its 100 records unknown (Zoho may have applied
// them) and the other 200 not sent — no record dropped, none sent twice.
func TestBulkUpdateStopsAfterFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 310, tier: func(c *Config) { c.Concurrency = 1 }})
	ctx := context.Background()
	if err := e.tier.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFault(zohosim.SurfaceBulk, zohosim.Fault{Mode: zohosim.Fault5xx, Times: 1})
	ups := updates(300, 0, "s")
	res, err := e.tier.BulkUpdate(ctx, tiers.BulkUpdateRequest{Module: "Accounts", Updates: ups})
	if classOf(err) != "outcome_unknown" || !strings.Contains(err.Error(), "200 were not sent") {
		t.Fatalf("err = %v", err)
	}
	for i, o := range res.Outcomes {
		want := tiers.StatusNotSent
		if i < 100 {
			want = tiers.StatusUnknown
		}
		if o.Status != want || o.ID != ups[i].ID {
			t.Fatalf("outcome %d = %+v, want %s", i, o, want)
		}
	}
	if n := len(requests(e.sim, "PUT", "/crm/v8/Accounts")); n != 1 {
		t.Fatalf("%d PUTs after the failure, want 1", n)
	}
}

// TestReadJobPages follows a Bulk Read export over two job pages: the second
// job is created with the first one's next_page_token, and both pages'
// rows reach the sink.
func TestReadJobPages(t *testing.T) {
	t.Parallel()
	zipOf := func(csvText string) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create("job.csv")
		_, _ = w.Write([]byte(csvText))
		_ = zw.Close()
		return b.Bytes()
	}
	var creates []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/crm/bulk/v8/read":
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			creates = append(creates, string(body))
			n := len(creates)
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"data":[{"status":"success","code":"ADDED_SUCCESSFULLY","details":{"id":"%d","state":"ADDED"}}],"info":{}}`, 900+n)
		case r.URL.Path == "/crm/bulk/v8/read/901":
			_, _ = w.Write([]byte(`{"data":[{"id":"901","state":"COMPLETED","result":{"page":1,"count":2,"more_records":true,"next_page_token":"tok-2","download_url":"/crm/bulk/v8/read/901/result"}}]}`))
		case r.URL.Path == "/crm/bulk/v8/read/902":
			_, _ = w.Write([]byte(`{"data":[{"id":"902","state":"COMPLETED","result":{"page":2,"count":1,"more_records":false,"download_url":"/crm/bulk/v8/read/902/result"}}]}`))
		case r.URL.Path == "/crm/bulk/v8/read/901/result":
			w.Header().Set("Content-Type", "application/zip")
			_, _ = w.Write(zipOf("id,Phone\n1,a\n2,b\n"))
		case r.URL.Path == "/crm/bulk/v8/read/902/result":
			w.Header().Set("Content-Type", "application/zip")
			_, _ = w.Write(zipOf("id,Phone\n3,c\n"))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"code":"INVALID_URL_PATTERN","details":{},"message":"no","status":"error"}`))
		}
	}))
	t.Cleanup(srv.Close)
	zc, err := zoho.New(zoho.Config{Tier: tiers.Bulk, Credential: zoho.Credential{AccessToken: "1000.static"}, APIDomain: srv.URL,
		MaxRetries: tiers.DefaultsOf(tiers.Bulk).MaxRetries, CacheDir: "-", Transport: testTransport(t)})
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	tr := New(Config{Client: zc, Sleep: clock.Sleep, Now: clock.Now, TempDir: t.TempDir()})
	var s tierstest.Sink
	res, err := tr.readJob(context.Background(), tiers.BulkReadRequest{Module: "Accounts", Fields: []string{"Phone"},
		Where: []tiers.Condition{{Field: "Phone", Op: tiers.OpStartsWith, Values: []any{"5"}}}}, []string{"Phone"}, "", &s, tiers.BulkReadResult{})
	if err != nil || res.Count != 3 || len(s.Records()) != 3 || s.Records()[2]["Phone"] != "c" {
		t.Fatalf("readJob = %+v, %v (%v)", res, err, s.Records())
	}
	if res.Credits < 2*CreditsBulkRead || len(creates) != 2 {
		t.Fatalf("credits %d, %d jobs", res.Credits, len(creates))
	}
	if !strings.Contains(creates[0], `"comparator":"starts_with"`) || !strings.Contains(creates[1], `"page_token":"tok-2"`) || strings.Contains(creates[1], "criteria") {
		t.Fatalf("job bodies = %s / %s", creates[0], creates[1])
	}
}
