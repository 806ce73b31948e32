package demo

import (
	"bytes"
	"context"
	"encoding/json"
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
		{"open breaker skipped", ""}, {"recovery", "MCP"},
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

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
