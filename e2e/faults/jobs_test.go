package faults

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
)

// jobCreated finds the id of the bulk write job the proxy logged.
var jobCreated = regexp.MustCompile(`"msg":"bulk write job created"[^\n]*"job":"([0-9]+)"`)

// zohoToken returns an access token of the emulator's bulk credential, got
// by the test itself (as Zoho's console would).
func (h *harness) zohoAccessToken(t *testing.T) string {
	t.Helper()
	crd := h.sim.BulkCredential()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {crd.ClientID},
		"client_secret": {crd.ClientSecret}, "refresh_token": {crd.RefreshToken}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.sim.AccountsURL()+"/oauth/v2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	tb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(tb, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("refresh: %d %.200s", resp.StatusCode, tb)
	}
	return tok.AccessToken
}

// zohoGet makes one GET on the emulator's bulk surface with token and
// decodes the JSON answer.
func (h *harness) zohoGet(t *testing.T, token, path string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.sim.BulkURL()+path, nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// TestBulkWriteJobLandsAfterFailover: a bulk update above the batched-PUT
// crossover runs as a Zoho Bulk Write job. BULK gives up (its timeout) before
// the job's first status poll, so every record's outcome is unknown; the
// router reads the records back through REST — the job has not run yet — and
// re-sends them. Then the job, which Zoho runs whether or not anyone polls,
// completes: every record must still have been written once, and hold the
// value asked for. (Found here; fixed in 595a414 and 00d58cb: the router now
// waits for the pending job instead of re-sending.)
func TestBulkWriteJobLandsAfterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("5,001-record job")
	}
	t.Parallel()
	const n = 5001 // tiers/bulk.UpdateCrossover + 1
	h := start(t, opts{Accounts: n + 10, CallTimeout: 30 * tierTimeout(), Tune: func(c *config.Config) {
		c.Tiers.REST.Timeout = 20 * tierTimeout() // room to read 5,001 records back
	}})
	h.warmUp()
	ids := h.ids(0, n)
	want := func(id string) string { return "job " + id }
	ups := make([]map[string]any, n)
	for i, id := range ids {
		ups[i] = map[string]any{"id": id, "data": map[string]any{"Description": want(id)}}
	}
	h.sim.ResetLog()
	r := h.call(profOps, "bulk_update_accounts", map[string]any{"updates": ups, "trigger": []string{}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	var out writeOut
	mustDecode(t, r, &out)
	verifyWriteOutcomes(t, h.sim, out, ids, want, r, resent(r.route))
	if a := r.route.Attempts; len(a) == 0 || a[0].Tier != tBulk || a[0].Outcome != "outcome_unknown" {
		t.Fatalf("the job's outcome was not unknown on BULK, so this test proves nothing: %s", r.route)
	}
	m := jobCreated.FindStringSubmatch(h.logs.String())
	if m == nil {
		t.Fatal("no 'bulk write job created' log line with the job id")
	}
	// Zoho runs the job: observe it until it completes. This polls, as an
	// agent would: the emulator runs jobs on its own clock and says when
	// one is done only through the job's status.
	var st struct {
		Status string `json:"status"`
	}
	tok := h.zohoAccessToken(t)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.zohoGet(t, tok, "/crm/bulk/v8/write/"+m[1], &st)
		if st.Status == "COMPLETED" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Status != "COMPLETED" {
		t.Fatalf("the job did not complete: %q", st.Status)
	}
	twice := 0
	for _, id := range ids {
		if h.sim.RecordWrites(id) > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d of %d records were written twice: once re-sent through REST after the read-back, once by the job BULK had created (route %s)", twice, n, r.route)
	}
}
