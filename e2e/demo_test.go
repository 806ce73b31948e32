package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
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
		{"open breaker skipped", "BULK"}, {"BULK down too → REST", "REST"}, {"recovery", "MCP"},
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
	if rest := rep.Steps[8]; len(rest.Attempts) != 3 || rest.Attempts[0]["outcome"] != "breaker_open" ||
		rest.Attempts[1]["tier"] != "BULK" || rest.Attempts[1]["outcome"] != "unavailable" ||
		rest.Attempts[2]["tier"] != "REST" || rest.Attempts[2]["outcome"] != "success" ||
		!strings.Contains(rest.Detail, "MCP:breaker_open → BULK:unavailable → REST:success") {
		t.Errorf("REST step: attempts %v, detail %q; want MCP skipped, BULK unavailable, REST serving, and the route printed", rest.Attempts, rest.Detail)
	}
	served := map[string]bool{}
	for _, s := range rep.Steps {
		served[s.Tier] = true
	}
	if !served["MCP"] || !served["BULK"] || !served["REST"] {
		t.Errorf("serving tiers %v; want MCP, BULK and REST", served)
	}
	if !rep.OK || rep.TotalMS > 30000 {
		t.Errorf("demo ok=%v in %.0f ms (goal: ok, under 30 s)", rep.OK, rep.TotalMS)
	}
}

// TestDemoServe runs `demo --serve`: after the tour it prints the status
// page's URL, which answers with the page showing the tour (the failover to
// REST included), and SIGINT ends it cleanly.
func TestDemoServe(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "demo", "--serve")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	urls := make(chan string, 1)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			out.WriteString(line + "\n")
			if u, ok := strings.CutPrefix(line, "status page:"); ok {
				urls <- strings.TrimSpace(u)
			}
		}
		close(urls)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var url string
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("demo --serve ended without a status page URL: %v\n%s", <-exited, stderr.String())
		}
		url = u
	case <-time.After(2 * time.Minute):
		t.Fatalf("no status page URL after two minutes\n%s", stderr.String())
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("status page URL %q; want one on loopback", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page), `data-failover-from="BULK" data-failover-to="REST"`) {
		t.Errorf("GET %s = %d %s; want the page with the tour's failover to REST:\n%.500s", url, resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("demo --serve after SIGINT: %v (want exit 0)\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("demo --serve still running a minute after SIGINT\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("stderr = %q; want it to say the demo stopped", stderr.String())
	}
	if !strings.Contains(out.String(), "REST") || !strings.Contains(out.String(), "every step behaved as described") {
		t.Errorf("stdout:\n%s", out.String())
	}
}
