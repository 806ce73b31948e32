package bulk

import (
	"fmt"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Zoho's credit costs (reference §9.2) and the limits the planner works
// with besides those of tiers (MaxRecordsPerWrite, MaxListIDs,
// MaxBulkWriteRecords).
const (
	// RecordsPerCreditPut: an update costs 1 credit per 10 records (10 for a
	// full 100-record PUT).
	RecordsPerCreditPut = 10
	// RowsPerCOQL is COQL's LIMIT cap; a 1,001–2,000-row page costs 3.
	RowsPerCOQL    = 2000
	CreditsPerCOQL = 3
	// CreditsBulkWrite and CreditsBulkRead are the job initialize costs.
	CreditsBulkWrite = 500
	CreditsBulkRead  = 50
	// JobOverheadCalls is what a job costs besides its create call, counted
	// at 1 credit each: about four status polls and one result download
	// (the upload and, for writes, the org lookup counted with them).
	JobOverheadCalls = 6
)

// Kind is what the planner plans for.
type Kind int

// The planned kinds of bulk work.
const (
	// KindUpdate updates n records.
	KindUpdate Kind = iota
	// KindReadQuery reads the n records matching a query (n estimated).
	KindReadQuery
	// KindReadIDs reads n records by id.
	KindReadIDs
)

// The strategy names reported in BulkUpdateResult/BulkReadResult.Strategy.
const (
	StrategyBatchedPut   = "batched-put"
	StrategyBulkWriteJob = "bulk-write-job"
	StrategyBatchedIDs   = "batched-ids"
	StrategyCOQL         = "coql"
	StrategyBulkReadJob  = "bulk-read-job"
)

// Strategy is the planner's choice with the Zoho calls and credits it
// expects to spend.
type Strategy struct {
	Name    string
	Calls   int
	Credits int
}

// String renders the strategy for logs.
func (s Strategy) String() string {
	return fmt.Sprintf("%s (%d calls, %d credits)", s.Name, s.Calls, s.Credits)
}

// Crossovers of Plan, derived from the costs above and exported for docs and
// tests.
const (
	// UpdateCrossover is the largest update Plan sends as batched PUTs:
	// n/10 credits ≤ 500 + JobOverheadCalls, i.e. n ≤ 5,060 — rounded down
	// to whole PUTs, 5,000. Above it one Bulk Write job (≈506 credits per
	// 25,000 records) is cheaper: 10,000 records cost 1,000 credits as PUTs
	// but ≈506 as a job.
	UpdateCrossover = 5000
	// ReadCrossover is the largest query read Plan pages through with COQL:
	// 3 credits per 2,000 rows ≤ 50 + JobOverheadCalls, i.e. ≤ 18 pages =
	// 36,000 rows. Above it a Bulk Read job (≈56 credits per 200,000 rows,
	// streamed from a zip, no 100,000-row offset cap) is cheaper.
	ReadCrossover = 36_000
)

// Plan chooses how tier 2 does n records of kind. It is a pure function of
// Zoho's credit table; latency enters as a tie-breaker, because a job always
// waits for Zoho to queue and run it (seconds to minutes of polling) while
// batched calls answer in one round trip each, eight at a time:
//
//   - KindUpdate: batched PUTs (100 records, 10 credits each) up to
//     UpdateCrossover records; above it, Bulk Write jobs (500 credits per
//     job of up to 25,000 records, plus upload, polls and download). At the
//     crossover both cost ≈500 credits and PUTs win on latency.
//   - KindReadQuery: COQL pages of 2,000 rows (3 credits each) up to
//     ReadCrossover rows; above it a Bulk Read job (50 credits plus polls
//     and download). The tier does not know n in advance: it pages with
//     COQL and moves the rest of the read to a job once it has read
//     ReadCrossover rows and more remain, so it never spends more than
//     about twice the cheaper plan's credits.
//   - KindReadIDs: batched GET ?ids= (100 ids, 1 credit each) at any n: a
//     Bulk Read job's criteria take at most 200 values, so a job cannot
//     address a list of ids.
//
// n ≤ 0 plans nothing.
func Plan(kind Kind, n int) Strategy {
	if n <= 0 {
		return Strategy{}
	}
	switch kind {
	case KindUpdate:
		if n <= UpdateCrossover {
			calls := ceil(n, tiers.MaxRecordsPerWrite)
			return Strategy{Name: StrategyBatchedPut, Calls: calls, Credits: putCredits(n)}
		}
		jobs := ceil(n, tiers.MaxBulkWriteRecords)
		return Strategy{Name: StrategyBulkWriteJob, Calls: jobs * (2 + JobOverheadCalls),
			Credits: jobs * (CreditsBulkWrite + JobOverheadCalls)}
	case KindReadQuery:
		if n <= ReadCrossover {
			pages := ceil(n, RowsPerCOQL)
			return Strategy{Name: StrategyCOQL, Calls: pages, Credits: coqlCredits(n)}
		}
		jobs := ceil(n, 200_000)
		return Strategy{Name: StrategyBulkReadJob, Calls: jobs * (1 + JobOverheadCalls),
			Credits: jobs * (CreditsBulkRead + JobOverheadCalls)}
	case KindReadIDs:
		calls := ceil(n, tiers.MaxListIDs)
		return Strategy{Name: StrategyBatchedIDs, Calls: calls, Credits: calls}
	}
	return Strategy{}
}

// putCredits is the cost of updating n records in full PUTs.
func putCredits(n int) int {
	full, rest := n/tiers.MaxRecordsPerWrite, n%tiers.MaxRecordsPerWrite
	return full*tiers.MaxRecordsPerWrite/RecordsPerCreditPut + ceil(rest, RecordsPerCreditPut)
}

// coqlCredits is the cost of reading n rows in 2,000-row COQL pages.
func coqlCredits(n int) int {
	full, rest := n/RowsPerCOQL, n%RowsPerCOQL
	return full*CreditsPerCOQL + coqlPageCredits(rest)
}

// coqlPageCredits is the cost of one COQL call with the given LIMIT.
func coqlPageCredits(limit int) int {
	switch {
	case limit <= 0:
		return 0
	case limit <= 200:
		return 1
	case limit <= 1000:
		return 2
	}
	return 3
}

func ceil(n, d int) int { return (n + d - 1) / d }
