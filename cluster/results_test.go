package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
)

func rec(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":"%019d","Account_Name":"Acme %d"}`, i, i))
}

func writeResult(t *testing.T, rs *Results, owner OwnerID, n int) (ResultInfo, error) {
	t.Helper()
	ctx := ctxT(t)
	w, err := rs.Create(ctx, owner)
	if err != nil {
		return ResultInfo{}, err
	}
	for i := range n {
		if err := w.Append(ctx, rec(i)); err != nil {
			w.Abort(ctx)
			return ResultInfo{}, err
		}
	}
	return w.Commit(ctx)
}

var ownerA, ownerB = NewOwnerID("bearer:token-a"), NewOwnerID("bearer:token-b")

func TestResultsAnyReplicaServesAnyPage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	a := NewResults(newReplica(t, srv, clk).c, ResultsConfig{PageSize: 500})
	b := NewResults(newReplica(t, srv, clk).c, ResultsConfig{PageSize: 500})
	ctx := ctxT(t)
	info, err := writeResult(t, a, ownerA, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if info.Total != 1234 || info.Pages != 3 || len(info.ID) != 32 {
		t.Fatalf("info %+v", info)
	}
	next := 0
	for page := 1; page <= 3; page++ {
		pg, err := b.Page(ctx, ownerA, info.ID, page)
		if err != nil {
			t.Fatalf("page %d on replica B: %v", page, err)
		}
		if pg.Total != 1234 || pg.Pages != 3 || pg.Page != page || pg.Bytes == 0 {
			t.Fatalf("page %d header %+v", page, pg.ResultInfo)
		}
		for _, r := range pg.Records {
			if string(r) != string(rec(next)) {
				t.Fatalf("record %d = %s", next, r)
			}
			next++
		}
	}
	if next != 1234 {
		t.Fatalf("read %d records", next)
	}
	// Each page is its own key: a read touches one page, not the result.
	keys := rdb.Keys(ctx, "test:res:{res}:"+info.ID+":p:*").Val()
	if len(keys) != 3 {
		t.Fatalf("page keys %v", keys)
	}
	if _, err := b.Page(ctx, ownerA, info.ID, 4); err == nil || !strings.Contains(err.Error(), "pages 1–3") {
		t.Fatalf("page 4: %v", err)
	}
	if _, err := b.Page(ctx, ownerB, info.ID, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another caller read it: %v", err)
	}
	if l, err := b.List(ctx, ownerA); err != nil || len(l) != 1 || l[0].ID != info.ID || l[0].Total != 1234 {
		t.Fatalf("List(A) = %+v, %v", l, err)
	}
	if l, err := b.List(ctx, ownerB); err != nil || len(l) != 0 {
		t.Fatalf("List(B) = %+v, %v", l, err)
	}
	// An empty result has one empty page.
	empty, err := writeResult(t, a, ownerA, 0)
	if err != nil || empty.Pages != 1 {
		t.Fatal(empty, err)
	}
	if pg, err := b.Page(ctx, ownerA, empty.ID, 1); err != nil || len(pg.Records) != 0 || pg.Records == nil {
		t.Fatalf("empty page: %+v, %v", pg, err)
	}
}

func TestResultsExpireAndTheirBytesComeBack(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	rs := NewResults(newReplica(t, srv, clk).c, ResultsConfig{PageSize: 100, TTL: time.Hour})
	ctx := ctxT(t)
	info, err := writeResult(t, rs, ownerA, 250)
	if err != nil {
		t.Fatal(err)
	}
	// A writer that crashed mid-result: pages written, never committed.
	w, err := rs.Create(ctx, ownerB)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		if err := w.Append(ctx, rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rs.Page(ctx, ownerB, w.ID(), 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an uncommitted result is readable: %v", err)
	}
	if total, _ := rdb.Get(ctx, "test:res:{res}:total").Int64(); total == 0 {
		t.Fatal("no bytes accounted")
	}
	clk.Advance(time.Hour)
	if _, err := rs.Page(ctx, ownerA, info.ID, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired result: %v", err)
	}
	// The next write reclaims the expired bytes, the crashed writer's too.
	small, err := writeResult(t, rs, ownerA, 1)
	if err != nil {
		t.Fatal(err)
	}
	total, _ := rdb.Get(ctx, "test:res:{res}:total").Int64()
	if total != small.Bytes || total != int64(len(`[`)+len(rec(0))+len(`]`)) {
		t.Fatalf("total bytes %d after expiry, want only the new result's", total)
	}
	if n := rdb.HLen(ctx, "test:res:{res}:sizes").Val(); n != 1 {
		t.Fatalf("%d results accounted, want 1", n)
	}
}

func TestResultsQuotas(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	ctx := ctxT(t)
	t.Run("bytes per owner", func(t *testing.T) {
		rs := NewResults(newReplica(t, srv, clk, func(c *Config) { c.Prefix = "q1:" }).c,
			ResultsConfig{PageSize: 10, OwnerBytes: 2000, MaxBytes: 1 << 20})
		if _, err := writeResult(t, rs, ownerA, 100); !errors.Is(err, ErrOwnerQuota) {
			t.Fatalf("over the owner's bytes: %v", err)
		}
		// The aborted writer gave its bytes back, and others are not
		// affected.
		if _, err := writeResult(t, rs, ownerA, 10); err != nil {
			t.Fatalf("after abort: %v", err)
		}
		if _, err := writeResult(t, rs, ownerB, 20); err != nil {
			t.Fatalf("another owner: %v", err)
		}
	})
	t.Run("total bytes", func(t *testing.T) {
		rs := NewResults(newReplica(t, srv, clk, func(c *Config) { c.Prefix = "q2:" }).c,
			ResultsConfig{PageSize: 10, OwnerBytes: 3000, MaxBytes: 3000})
		if _, err := writeResult(t, rs, ownerA, 40); err != nil {
			t.Fatal(err)
		}
		if _, err := writeResult(t, rs, ownerB, 40); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("over the store's cap: %v", err)
		}
	})
	t.Run("own oldest make room", func(t *testing.T) {
		// Before, an owner at its quota was refused for an hour; now, as
		// in the one-process store, its own oldest results make room and
		// no other owner's result is touched.
		rs := NewResults(newReplica(t, srv, clk, func(c *Config) { c.Prefix = "q3:" }).c,
			ResultsConfig{PageSize: 10, OwnerResults: 2, OwnerBytes: 1100, MaxBytes: 1 << 20})
		other, err := writeResult(t, rs, ownerB, 1)
		if err != nil {
			t.Fatal(err)
		}
		var mine []ResultInfo
		for range 3 {
			clk.Advance(time.Second)
			info, err := writeResult(t, rs, ownerA, 1)
			if err != nil {
				t.Fatal(err)
			}
			mine = append(mine, info)
		}
		if _, err := rs.Page(ctx, ownerA, mine[0].ID, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("A's oldest result was not evicted: %v", err)
		}
		if l, _ := rs.List(ctx, ownerA); len(l) != 2 || l[0].ID != mine[1].ID || l[1].ID != mine[2].ID {
			t.Fatalf("List(A) = %+v", l)
		}
		// Bytes: a result that needs A's whole share evicts A's others.
		clk.Advance(time.Second)
		big, err := writeResult(t, rs, ownerA, 20) // two pages, 1,072 bytes
		if err != nil {
			t.Fatalf("a result within the share: %v", err)
		}
		if l, _ := rs.List(ctx, ownerA); len(l) != 1 || l[0].ID != big.ID {
			t.Fatalf("List(A) after a big result = %+v", l)
		}
		if _, err := rs.Page(ctx, ownerB, other.ID, 1); err != nil {
			t.Fatalf("A's results evicted B's: %v", err)
		}
		// A writer still open is not evicted: with both slots writing,
		// a third is refused.
		w1, _ := rs.Create(ctx, ownerA)
		w2, err := rs.Create(ctx, ownerA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Create(ctx, ownerA); !errors.Is(err, ErrOwnerQuota) {
			t.Fatalf("third result while two are written: %v", err)
		}
		w1.Abort(ctx)
		w2.Abort(ctx)
		l, _ := rs.List(ctx, ownerB)
		if err := rs.Delete(ctx, ownerA, l[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Page(ctx, ownerB, other.ID, 1); err != nil {
			t.Fatal("another owner deleted B's result")
		}
	})
}

// TestResultsAbortBeforeTheFirstPage: a writer aborted before it stored a
// page (a bulk read that failed over, a refused result) leaves no
// accounting behind. Before, forgetting its zero bytes ran HINCRBY with
// "-0", which Redis refuses: the abort failed, and the stale entry then
// failed every later sweep, so no result of anyone could be made again once
// it expired.
func TestResultsAbortBeforeTheFirstPage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	rs := NewResults(newReplica(t, srv, clk).c, ResultsConfig{PageSize: 10})
	ctx := ctxT(t)
	w, err := rs.Create(ctx, ownerA)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, rec(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatalf("abort before the first page: %v", err)
	}
	if n := rdb.HLen(ctx, "test:res:{res}:sizes").Val(); n != 0 {
		t.Fatalf("%d results accounted after the abort", n)
	}
	clk.Advance(2 * time.Hour)
	if _, err := writeResult(t, rs, ownerB, 1); err != nil {
		t.Fatalf("a result after the sweep: %v", err)
	}
}

func TestResultsJobHandles(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	a := NewResults(newReplica(t, srv, clk).c, ResultsConfig{TTL: time.Hour})
	b := NewResults(newReplica(t, srv, clk).c, ResultsConfig{TTL: time.Hour})
	ctx := ctxT(t)
	if err := a.PutJob(ctx, ownerA, "job1", []byte(`{"zoho_job":"123"}`)); err != nil {
		t.Fatal(err)
	}
	if d, err := b.Job(ctx, ownerA, "job1"); err != nil || string(d) != `{"zoho_job":"123"}` {
		t.Fatalf("Job on B = %s, %v", d, err)
	}
	if _, err := b.Job(ctx, ownerB, "job1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another caller: %v", err)
	}
	clk.Advance(time.Hour)
	if _, err := b.Job(ctx, ownerA, "job1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired: %v", err)
	}
	if err := a.PutJob(ctx, ownerA, "big", make([]byte, maxJobHandle+1)); err == nil {
		t.Fatal("oversized handle stored")
	}
}

// TestResultsJobHandlesCappedPerOwner: an owner holds OwnerResults job
// handles at most (its oldest goes), another owner's are untouched, and the
// handles of an owner sit in two keys that expire. Before, job handles were
// unbounded per owner.
func TestResultsJobHandlesCappedPerOwner(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := raw(t, srv)
	clk := newClock()
	rs := NewResults(newReplica(t, srv, clk).c, ResultsConfig{TTL: time.Hour, OwnerResults: 3})
	ctx := ctxT(t)
	if err := rs.PutJob(ctx, ownerB, "b", []byte("b")); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		clk.Advance(time.Second)
		if err := rs.PutJob(ctx, ownerA, fmt.Sprint("a", i), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		_, err := rs.Job(ctx, ownerA, fmt.Sprint("a", i))
		if kept := err == nil; kept != (i >= 7) {
			t.Errorf("handle a%d kept=%v: %v", i, kept, err)
		}
	}
	if d, err := rs.Job(ctx, ownerB, "b"); err != nil || string(d) != "b" {
		t.Errorf("B's handle: %s, %v", d, err)
	}
	// Putting an id again replaces it rather than taking another slot.
	if err := rs.PutJob(ctx, ownerA, "a9", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if d, _ := rs.Job(ctx, ownerA, "a9"); string(d) != "again" {
		t.Errorf("replaced handle = %s", d)
	}
	if _, err := rs.Job(ctx, ownerA, "a7"); err != nil {
		t.Errorf("replacing a9 evicted a7: %v", err)
	}
	keys := rdb.Keys(ctx, "test:res:{res}:job*").Val()
	if len(keys) != 4 {
		t.Fatalf("job keys %v, want a hash and an index per owner", keys)
	}
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("key %s has TTL %v", k, ttl)
		}
	}
	if n := rdb.HLen(ctx, "test:res:{res}:jobs:"+string(ownerA)).Val(); n != 3 {
		t.Errorf("A's hash holds %d handles", n)
	}
}

func TestResultsRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := newReplica(t, srv, newClock(), func(c *Config) { c.Timeout = time.Second })
	rs := NewResults(r.c, ResultsConfig{})
	srv.Stop()
	ctx := context.Background()
	if _, err := rs.Create(ctx, ownerA); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Create: %v", err)
	}
	if _, err := rs.Page(ctx, ownerA, "x", 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Page: %v", err)
	}
}

func TestNewOwnerID(t *testing.T) {
	t.Parallel()
	a := NewOwnerID("bearer:secret-token")
	if a == NewOwnerID("bearer:other") || len(a) != 32 || strings.Contains(string(a), "secret") {
		t.Fatalf("owner id %q", a)
	}
}
