// Package faults proves, from outside the proxy, that an agent keeps working
// while Zoho's surfaces fail and that no write is lost, duplicated or
// misreported. Every test wires the real proxy (app.Build, as demo does)
// to a fresh emulator (zohosim) with short tier timeouts, serves it over HTTP
// on 127.0.0.1 and drives it with mcp-go's Streamable HTTP client; the
// emulator's store, request log and write counter are the witness.
//
//   - TestFaultMatrix: surface (zohosim.Surfaces) × fault (zohosim.FaultModes,
//     latency split above and below the tier timeout) × tool family, plus a
//     "behind" variant wherever the faulted tier would not be reached (the
//     tier ahead of it is down). Each cell checks the answer against the
//     store or an honest isError naming the cause, the call's deadline, the
//     _meta route, the breakers (get_tier_health) and, for writes, the
//     per-record write invariant.
//   - TestRandomizedWriteSafety: 10,000 updates under faults switched on and
//     off at random; seeded (printed; FAULTS_SEED reproduces it).
//   - TestBreakersOpenSkipAndReset, TestCallDeadlineWhenEverythingHangs.
//   - Security: hidden tools, denied fields and Unicode look-alikes in every
//     parameter and in results, malformed and oversized arguments, the HTTP
//     front door, slow headers; every harness scrapes its logs, tool results
//     and HTTP answers for secrets (endpoint key, client secrets, refresh and
//     access tokens, bearer tokens) and checks its JSON log lines.
//   - regressions_test.go, TestForgedKeysetBlamesPageToken, TestLogKeysOnce:
//     product bugs found here, each reproduced before its fix.
//   - Long bulk jobs and bulk results (bulkjobs_test.go): a job that
//     outlasts the call deadline with the shipped defaults, with progress
//     notifications; a job that outlives the bulk deadline (JOB_PENDING, a
//     job handle, get_bulk_job; never written twice, superseding
//     TestBulkWriteJobLandsAfterFailover); results bound to their caller.
//
// Environment knobs: FAULTS_PARALLEL (matrix groups run at once, default 4),
// FAULTS_ONLY (run matrix cells whose name contains it), FAULTS_TIER_TIMEOUT
// (per-attempt tier timeout, default 1s, 2s under -race), FAULTS_SEED,
// FAULTS_DEBUG (log every randomized batch).
package faults

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
