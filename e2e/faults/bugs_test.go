package faults

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// knownBug is a product bug this package found. Each has a test below that
// reproduces it and is skipped until the fix lands (FAULTS_BUGS=1 runs
// them, and makes the matrix fail on them too). In the matrix, the one
// assertion a bug breaks is logged instead of failing the cell, so every
// other assertion of the cell still holds.
type knownBug struct {
	id      string
	where   string // file and function at fault
	symptom string
	applies func(c *mcase) bool
}

var (
	bugOAuth429 = knownBug{
		id:    "oauth-429-not-named",
		where: "tiers/zoho/token.go (*TokenSource) refresh",
		symptom: "an HTTP 429 from the accounts server is decoded as a token response without a token and reported as " +
			"NO_ACCESS_TOKEN \"answered without an access token\" (ClassUnavailable): the agent is never told Zoho rate-limited " +
			"the refresh; a 5xx is named (\"answered HTTP 500\") but a 429 is not. Fix: before decoding, treat StatusTooManyRequests " +
			"as ClassRateLimited with a message naming HTTP 429 (and its Retry-After)",
		applies: func(c *mcase) bool { return c.sf == zohosim.SurfaceOAuth && c.fc.f.Mode == zohosim.Fault429 },
	}
	bugUnknownNotSent = knownBug{
		id:    "write-unknown-though-not-sent",
		where: "router/call.go (*call).reclassify and tiers/zoho/client.go (*Client).send",
		symptom: "a write attempt that times out while the tier waits for an access token is reported OUTCOME_UNKNOWN " +
			"(\"may or may not have been applied\") although no write was applied or left unanswered: (1) reclassify turns " +
			"every ClassCanceled error of a write op into ClassOutcomeUnknown, ignoring that tiers/zoho marks a possibly-sent " +
			"write with Code OUTCOME_UNKNOWN and leaves it empty when nothing was sent (cold start: no request made at all); " +
			"(2) send's httptrace WroteHeaders flag stays set across the 401 INVALID_TOKEN → refresh → resend round trip, so " +
			"a PUT refused with 401 (proof it was not applied) still counts as sent when the refresh then hangs " +
			"(bulk: \"1 of 1 records were sent without an answer\"). The agent is told to read back a write that never " +
			"happened; the router does a needless read-back. Fix: in reclassify keep ClassUnavailable when the tier's error " +
			"is ClassCanceled without Code OUTCOME_UNKNOWN; in send, reset the sent flag when a round trip is answered 401 " +
			"and retried after a refresh",
		applies: func(c *mcase) bool { return c.sf == zohosim.SurfaceOAuth },
	}

	bugHungRefreshStalls = knownBug{
		id:    "hung-refresh-stalls-tiers",
		where: "tiers/zoho/token.go (*TokenSource) single-flight refresh (DefaultRefreshTimeout 15s; server/app.go NewTiers sets no RefreshTimeout)",
		symptom: "one refresh grant whose answer never comes holds the credential's single flight for the full 15s " +
			"RefreshTimeout, far beyond the tier timeout: every call on BULK and REST joins it and times out \"waiting for a Zoho " +
			"access token\", and keeps doing so after the accounts server has recovered and the breakers were reset, " +
			"until the 15s pass. Fix: bound a refresh by the tier timeout (or a configured refresh timeout no longer than it) " +
			"so a caller after a hung refresh starts a new one (the cap of 10 per 10 minutes still holds)",
	}
)

var bugJobLandsAfterResend = knownBug{
	id:    "bulk-write-job-lands-after-resend",
	where: "router/writes.go (*Router).BulkUpdate with tiers/bulk/write.go (job path)",
	symptom: "when BULK times out after creating a Bulk Write job, it reports every record OUTCOME_UNKNOWN and the router " +
		"reads them back through REST and re-sends the unapplied ones; but the job exists and Zoho runs it anyway, so " +
		"each record is written twice (workflows twice; a change made in between is overwritten by the job's stale row). " +
		"Fix: once a job id is known, treat the records as pending on that job (poll it to a terminal state within the " +
		"call's deadline, or report OUTCOME_UNKNOWN with the job id) instead of re-sending them through another tier",
}

var bugKeysetBlamedOnZoho = knownBug{
	id:    "forged-keyset-blamed-on-zoho",
	where: "tiers/cursor.go DecodeCursor (LastID not checked) → tiers/bulk/read.go, tiers/mcp/ops.go → tiers/zoho/criteria.go keyset verdict",
	symptom: "a page token whose keyset id (Cursor.LastID) is not digits passes DecodeCursor and fails later in the COQL " +
		"compiler as INVALID_QUERY, which the agent reads as \"Zoho rejected the account list: INVALID_QUERY: keyset id \"abc\" " +
		"is not a record id; check the operators and values of the conditions\": the proxy's own check blamed on Zoho " +
		"and on the conditions. (No injection: the compiler does refuse it.) Fix: validate LastID in DecodeCursor and answer " +
		"INVALID_PAGE_TOKEN (\"start again without page_token\")",
}

// bugsOn reports whether known bugs must fail tests (FAULTS_BUGS=1).
func bugsOn() bool { return os.Getenv("FAULTS_BUGS") != "" }

// bugf fails the test, unless bug explains the failure in this cell: then
// it only logs it.
func bugf(t *testing.T, c *mcase, bug knownBug, format string, args ...any) {
	t.Helper()
	if !bugsOn() && c != nil && bug.applies(c) {
		t.Logf("KNOWN BUG %s (%s): "+format, append([]any{bug.id, bug.where}, args...)...)
		return
	}
	t.Errorf(format, args...)
}

// skipBug skips a test reproducing bug unless FAULTS_BUGS is set.
func skipBug(t *testing.T, bug knownBug) {
	t.Helper()
	if !bugsOn() {
		t.Skipf("BUG: %s: %s", bug.where, bug.symptom)
	}
}

// TestBugOAuth429NotNamed: the accounts server answers 429 while every
// token must be refreshed; the agent must be told it was rate-limited.
func TestBugOAuth429NotNamed(t *testing.T) {
	skipBug(t, bugOAuth429)
	t.Parallel()
	h := start(t, opts{})
	h.warmUp()
	h.sim.Advance(2 * time.Hour)
	h.sim.SetFault(zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.Fault429})
	r := h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": h.ids(0, 3)})
	if !r.isErr {
		t.Fatalf("served although no token could be had: %s", r.dump)
	}
	if !causeRE[string(zohosim.Fault429)].MatchString(r.text) {
		t.Errorf("the error does not say Zoho rate-limited the token refresh: %q", r.text)
	}
	for _, a := range r.route.Attempts {
		if a.Outcome != "rate_limited" {
			t.Errorf("attempt on %s: outcome %s, want rate_limited", a.Tier, a.Outcome)
		}
	}
}

// TestBugWriteUnknownThoughNotSent: with tier 1 down and the accounts server
// hung, update_account cannot get a write applied anywhere; the outcome must
// be "not sent", not "may or may not have been applied". Cold: no tier holds
// a token, so no write request is ever made. Expired: the tiers' cached
// tokens were expired by Zoho, so each PUT is answered 401 INVALID_TOKEN
// (proof it was not applied) before the refresh hangs.
func TestBugWriteUnknownThoughNotSent(t *testing.T) {
	skipBug(t, bugUnknownNotSent)
	t.Parallel()
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "expired_token"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, opts{})
			if warm {
				h.warmUp()
				h.sim.Advance(2 * time.Hour)
			}
			h.sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
			h.sim.SetFault(zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.FaultHang})
			h.sim.ResetLog()
			id := h.ids(1, 1)[0]
			r := h.call(profOps, "update_account", map[string]any{"account_id": id, "data": map[string]any{"Description": "never sent"}})
			for _, lr := range h.sim.Requests() {
				if writeRequest(lr) {
					t.Fatalf("a write reached the emulator (%s %s %s → %d): the premise does not hold", lr.Surface, lr.Method, lr.Path, lr.Status)
				}
			}
			var out writeOut
			mustDecode(t, r, &out)
			if len(out.Results) != 1 || out.Results[0].Code != "NOT_SENT" {
				t.Errorf("nothing was applied or left unanswered, yet the outcome is %+v: %s", out.Results, r.dump)
			}
			for _, a := range r.route.Attempts {
				if a.Outcome == "outcome_unknown" {
					t.Errorf("attempt on %s says outcome_unknown for a write that was never sent or was refused with 401: %s", a.Tier, a.Error)
				}
			}
		})
	}
}

// TestBugHungRefreshStallsTiers: the accounts server hangs once while every
// token must be refreshed, then recovers; after reset_circuit_breakers the
// next bulk read must be served by BULK or REST, not wait for the hung
// refresh.
func TestBugHungRefreshStallsTiers(t *testing.T) {
	skipBug(t, bugHungRefreshStalls)
	t.Parallel()
	h := start(t, opts{})
	h.warmUp()
	h.sim.Advance(2 * time.Hour)
	h.sim.SetFault(zohosim.SurfaceOAuth, zohosim.Fault{Mode: zohosim.FaultHang})
	ids := h.ids(0, 3)
	if r := h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": ids}); !r.isErr {
		t.Fatalf("served with the accounts server hung and every token expired: %s", r.dump)
	}
	h.sim.ClearFaults()
	if r := h.call(profOps, "reset_circuit_breakers", map[string]any{}); r.isErr {
		t.Fatal(r.dump)
	}
	r := h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": ids})
	if r.isErr {
		t.Errorf("the accounts server is back, yet: %s", r.dump)
	}
}

// TestLogKeysOnce: every log line of a proxy that served a call on each
// tier names each key once (found here as a bug; fixed in 40d8fab).
func TestLogKeysOnce(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.warmUp()
	h.call(profOps, "get_account", map[string]any{"account_id": h.ids(0, 1)[0]})
	h.call(profOps, "bulk_read_accounts", map[string]any{"account_ids": h.ids(0, 12)})
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		keys, err := topKeys(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("key %q repeated: %s", k, clip(line, 200))
			}
			seen[k] = true
		}
	}
}
