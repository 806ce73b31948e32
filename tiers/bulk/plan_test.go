package bulk

import "testing"

func TestPlanCrossover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    Kind
		n       int
		want    string
		calls   int
		credits int
	}{
		{name: "nothing", kind: KindUpdate, n: 0, want: ""},
		{name: "one update", kind: KindUpdate, n: 1, want: StrategyBatchedPut, calls: 1, credits: 1},
		{name: "partial put", kind: KindUpdate, n: 105, want: StrategyBatchedPut, calls: 2, credits: 11},
		{name: "1000 updates", kind: KindUpdate, n: 1000, want: StrategyBatchedPut, calls: 10, credits: 100},
		{name: "at the update crossover", kind: KindUpdate, n: UpdateCrossover, want: StrategyBatchedPut, calls: 50, credits: 500},
		{name: "just past it", kind: KindUpdate, n: UpdateCrossover + 1, want: StrategyBulkWriteJob, calls: 8, credits: 506},
		{name: "10k updates", kind: KindUpdate, n: 10_000, want: StrategyBulkWriteJob, calls: 8, credits: 506},
		{name: "two write jobs", kind: KindUpdate, n: 25_001, want: StrategyBulkWriteJob, calls: 16, credits: 1012},
		{name: "small read", kind: KindReadQuery, n: 150, want: StrategyCOQL, calls: 1, credits: 1},
		{name: "one full COQL page", kind: KindReadQuery, n: 2000, want: StrategyCOQL, calls: 1, credits: 3},
		{name: "at the read crossover", kind: KindReadQuery, n: ReadCrossover, want: StrategyCOQL, calls: 18, credits: 54},
		{name: "past the read crossover", kind: KindReadQuery, n: ReadCrossover + 1, want: StrategyBulkReadJob, calls: 7, credits: 56},
		{name: "200k read", kind: KindReadQuery, n: 200_000, want: StrategyBulkReadJob, calls: 7, credits: 56},
		{name: "ids", kind: KindReadIDs, n: 250, want: StrategyBatchedIDs, calls: 3, credits: 3},
		{name: "many ids stay batched", kind: KindReadIDs, n: 50_000, want: StrategyBatchedIDs, calls: 500, credits: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Plan(tt.kind, tt.n)
			if got.Name != tt.want || got.Calls != tt.calls || got.Credits != tt.credits {
				t.Fatalf("Plan(%d, %d) = %v, want %s (%d calls, %d credits)", tt.kind, tt.n, got, tt.want, tt.calls, tt.credits)
			}
		})
	}
}

// TestPlanIsCheapest checks the crossovers against the cost model: below a
// crossover the batched plan costs no more credits than a job, above it more.
func TestPlanIsCheapest(t *testing.T) {
	t.Parallel()
	job := CreditsBulkWrite + JobOverheadCalls
	for n := 1; n <= 25_000; n += 37 {
		put := putCredits(n)
		got := Plan(KindUpdate, n).Name
		if n <= UpdateCrossover && put > job {
			t.Fatalf("n=%d: PUTs cost %d > job %d but Plan says %s", n, put, job, got)
		}
		if n > UpdateCrossover+100 && got != StrategyBulkWriteJob {
			t.Fatalf("n=%d: Plan says %s though a job (%d) is cheaper than PUTs (%d)", n, got, job, put)
		}
	}
	rjob := CreditsBulkRead + JobOverheadCalls
	for n := 1; n <= 200_000; n += 101 {
		c := coqlCredits(n)
		got := Plan(KindReadQuery, n).Name
		if got == StrategyCOQL && c > rjob {
			t.Fatalf("n=%d: COQL costs %d > job %d but Plan says coql", n, c, rjob)
		}
		if got == StrategyBulkReadJob && c < rjob-CreditsPerCOQL {
			t.Fatalf("n=%d: Plan says job though COQL costs only %d", n, c)
		}
	}
}
