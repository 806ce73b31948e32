package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestTour runs the whole tour with a short breaker cooldown and checks each
// step's outcome, not only the overall verdict.
func TestTour(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Options{Accounts: 300, BulkUpdates: 250, BreakerTimeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, tier string }{
		{"list tools", ""}, {"get_account", "MCP"}, {"search_accounts", "MCP"}, {"update_account", "MCP"},
		{"bulk_update_accounts", "BULK"}, {"MCP tier down → failover", ""}, {"breaker opens", "MCP"},
		{"open breaker skipped", ""}, {"BULK down too → REST", "REST"}, {"recovery", "MCP"},
	}
	if len(rep.Steps) != len(want) {
		t.Fatalf("%d steps, want %d: %+v", len(rep.Steps), len(want), rep.Steps)
	}
	for i, w := range want {
		s := rep.Steps[i]
		if s.Name != w.name || !s.OK {
			t.Errorf("step %d %q ok=%v: %s", i+1, s.Name, s.OK, s.Detail)
		}
		if w.tier != "" && s.Tier != w.tier {
			t.Errorf("step %q served by %q, want %q", s.Name, s.Tier, w.tier)
		}
	}
	if fo := rep.Steps[5]; fo.Tier == "MCP" || len(fo.Attempts) < 2 {
		t.Errorf("failover step: tier %q attempts %v, want a non-MCP tier after a failed MCP attempt", fo.Tier, fo.Attempts)
	}
	if rest := rep.Steps[8]; len(rest.Attempts) != 3 ||
		!strings.Contains(rest.Detail, "route MCP:breaker_open → BULK:unavailable → REST:success") {
		t.Errorf("REST step: attempts %v, detail %q; want the whole route printed", rest.Attempts, rest.Detail)
	}
	if !rep.OK {
		t.Error("report not OK")
	}

	var buf bytes.Buffer
	if err := Write(&buf, rep, true); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Steps) != len(rep.Steps) || !back.OK {
		t.Errorf("JSON report does not round-trip: %v", err)
	}
	buf.Reset()
	if err := Write(&buf, rep, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "every step behaved as described") || strings.Contains(buf.String(), "FAILED") {
		t.Errorf("table output:\n%s", buf.String())
	}
}

// TestStartServesTheStatusPage: between Start and Close the proxy serves
// its status page (no token: loopback only); Close stops everything
// (goleak checks the goroutines).
func TestStartServesTheStatusPage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{Accounts: 20})
	if err != nil {
		t.Fatal(err)
	}
	url := d.StatusURL()
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Errorf("StatusURL = %q; want the page on loopback", url)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `data-tier="REST"`) {
		t.Errorf("GET %s = %d; want the status page:\n%.300s", url, resp.StatusCode, body)
	}
	tr.CloseIdleConnections()
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := hc.Get(url); err == nil {
		t.Error("the status page still answers after Close")
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
