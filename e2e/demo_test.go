package e2e

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// TestDemoJSON runs the binary's `demo --json`, as a newcomer would, and
// checks every step's outcome and the tier that served it.
func TestDemoJSON(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "demo", "--json").Output()
	if err != nil {
		t.Fatalf("demo --json: %v\n%s", err, out)
	}
	var rep struct {
		OK      bool    `json:"ok"`
		TotalMS float64 `json:"total_ms"`
		Steps   []struct {
			Name     string           `json:"step"`
			OK       bool             `json:"ok"`
			Tier     string           `json:"tier"`
			Detail   string           `json:"detail"`
			Attempts []map[string]any `json:"attempts"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("demo --json output: %v\n%s", err, out)
	}
	want := []struct{ name, tier string }{
		{"list tools", ""}, {"get_account", "MCP"}, {"search_accounts", "MCP"}, {"update_account", "MCP"},
		{"bulk_update_accounts", "BULK"}, {"MCP tier down → failover", "BULK"}, {"breaker opens", "MCP"},
		{"open breaker skipped", "BULK"}, {"recovery", "MCP"},
	}
	if len(rep.Steps) != len(want) {
		t.Fatalf("%d steps, want %d:\n%s", len(rep.Steps), len(want), out)
	}
	for i, w := range want {
		s := rep.Steps[i]
		if s.Name != w.name || !s.OK || (w.tier != "" && s.Tier != w.tier) {
			t.Errorf("step %d: %q ok=%v tier=%q (want %q on %q): %s", i+1, s.Name, s.OK, s.Tier, w.name, w.tier, s.Detail)
		}
	}
	if skip := rep.Steps[7]; len(skip.Attempts) < 2 || skip.Attempts[0]["outcome"] != "breaker_open" {
		t.Errorf("open-breaker step attempts = %v, want MCP skipped as breaker_open first", skip.Attempts)
	}
	if !rep.OK || rep.TotalMS > 30000 {
		t.Errorf("demo ok=%v in %.0f ms (goal: ok, under 30 s)", rep.OK, rep.TotalMS)
	}
}
