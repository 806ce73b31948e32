package zohosim

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// countWriter counts what passes through it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// peakHeap samples runtime.MemStats.HeapInuse every few milliseconds until
// stop is called, and returns the highest value seen.
func peakHeap() (stop func() uint64) {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// BenchmarkBulkReadZip200k builds the result zip of a 200,000-row bulk read
// of every Accounts field. MB/s is uncompressed CSV throughput; peak-heap-MB
// is the highest in-use heap seen while building (the store is lazy, so this
// is what one export costs).
func BenchmarkBulkReadZip200k(b *testing.B) {
	store := NewStore(200_000, 1, nil)
	ids := store.IDs()
	cols := make([]string, len(AccountFields))
	for i, f := range AccountFields {
		cols[i] = f.APIName
	}
	// One build up front to learn the CSV size for SetBytes.
	var buf bytes.Buffer
	if _, err := bulkWriteReadZip(&buf, "job.csv", cols, slices.Values(ids), store.Get); err != nil {
		b.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		b.Fatal(err)
	}
	csvSize, zipSize := int64(zr.File[0].UncompressedSize64), int64(buf.Len())
	buf = bytes.Buffer{}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	b.SetBytes(csvSize)
	b.ReportAllocs()
	stop := peakHeap()
	for b.Loop() {
		var cw countWriter
		rows, err := bulkWriteReadZip(&cw, "job.csv", cols, slices.Values(ids), store.Get)
		if err != nil || rows != len(ids) || cw.n != zipSize {
			b.Fatalf("rows %d, %d bytes (want %d), err %v", rows, cw.n, zipSize, err)
		}
	}
	peak := stop()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak-min(peak, base.HeapInuse))/(1<<20), "peak-over-base-MB")
	b.ReportMetric(float64(zipSize)/(1<<20), "zip-MB")
}

// FuzzBulkCriteria feeds arbitrary criteria JSON to the compiler: it must
// either refuse with a code or produce a matcher that never panics.
func FuzzBulkCriteria(f *testing.F) {
	for _, seed := range []string{
		`{"field":{"api_name":"Industry"},"comparator":"equal","value":"Retail"}`,
		`{"field":{"api_name":"Employees"},"comparator":"between","value":[1,"10"]}`,
		`{"field":{"api_name":"Created_Time"},"comparator":"greater_equal","value":"2024-01-01T00:00:00+00:00"}`,
		`{"field":{"api_name":"Owner"},"comparator":"in","value":[{"id":"5725767000000411001"},"5725767000000411002"]}`,
		`{"field":{"api_name":"Parent_Account"},"comparator":"not_equal","value":"${EMPTY}"}`,
		`{"group_operator":"or","group":[{"group_operator":"and","group":[{"field":{"api_name":"Rating"},"comparator":"not_in","value":["Active"]}]}]}`,
		`{"group_operator":"and","group":[]}`,
		`{"field":{"api_name":"Locked__s"},"comparator":"equal","value":"true"}`,
		`{"field":{"api_name":"Annual_Revenue"},"comparator":"less_than","value":1e308}`,
		`{"field":{"api_name":"id"},"comparator":"greater_than","value":"99999999999999999999"}`,
		`{"group_operator":"and","field":{"api_name":"x"}}`,
		`null`, `[]`, `{}`,
	} {
		f.Add(seed)
	}
	store := NewStore(30, 1, nil)
	var recs []Record
	store.Each(func(r Record) bool { recs = append(recs, r); return true })
	recs = append(recs, Record{"id": "1"}, Record{"Owner": map[string]any{"id": 7}, "Employees": "x"})
	f.Fuzz(func(t *testing.T, in string) {
		var c bulkCriteria
		if json.Unmarshal([]byte(in), &c) != nil {
			return
		}
		m, cerr := compileBulkCriteria(accounts, &c)
		if cerr != nil {
			if cerr.code == "" || cerr.message == "" || cerr.details == nil {
				t.Fatalf("refusal without code, message or details: %+v", cerr)
			}
			if strings.ToUpper(cerr.code) != cerr.code {
				t.Fatalf("code %q is not upper snake case", cerr.code)
			}
			return
		}
		for _, r := range recs {
			m(r)
		}
	})
}

// FuzzBulkWriteCSV feeds arbitrary CSV text to the bulk write path (zip,
// delimiter detection, header mapping, row validation): it must refuse with
// a 400 verdict or apply without panicking, and every result row must carry
// a STATUS of ADDED, UPDATED or SKIPPED.
func FuzzBulkWriteCSV(f *testing.F) {
	f.Add("id,Phone\n5725767000001000001,+1 555\n", "update", "id")
	f.Add("Account_Name;Employees;Owner.id\nAcme;12;5725767000000411001\n;x;1\n", "insert", "")
	f.Add("Account_Name|Parent_Account.id\nA|5725767000001000002\nA|\n", "upsert", "Account_Name")
	f.Add("\"id\",\"Account_Name\"\n\"5725767000001000003\",\"Quote \"\"q\"\", comma\"\n", "upsert", "id")
	f.Add("id\n", "update", "id")
	f.Add("a,b\n1\n", "update", "id")
	f.Fuzz(func(t *testing.T, text, op, findBy string) {
		clock := newClock()
		store := NewStore(5, 1, clock.Now)
		b := newBulkService(map[string]*Store{ModuleAccounts: store}, clock.Now, time.Second)
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		w, _ := zw.Create("f.csv")
		_, _ = io.WriteString(w, text)
		_ = zw.Close()
		b.files["1"] = &bulkFile{id: "1", name: "f.zip", data: zbuf.Bytes()}
		body, _ := json.Marshal(map[string]any{"operation": op, "resource": []any{map[string]any{
			"module": map[string]any{"api_name": "Accounts"}, "file_id": "1", "find_by": findBy}}})
		var req bulkWriteRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatal(err)
		}
		job, aerr := b.newWriteJob(&req)
		if aerr != nil {
			if aerr.status != 400 || aerr.code == "" {
				t.Fatalf("refusal %+v", aerr)
			}
			return
		}
		b.applyWrite(job)
		if job.rows != nil || len(job.results) != job.total+1 || job.added+job.updated+job.skipped != job.total {
			t.Fatalf("%d results, %d+%d+%d counted, for %d rows", len(job.results), job.added, job.updated, job.skipped, job.total)
		}
		for _, row := range job.results[1:] {
			switch st := row[len(row)-2]; st {
			case "ADDED", "UPDATED", "SKIPPED":
			default:
				t.Fatalf("STATUS %q", st)
			}
		}
	})
}
