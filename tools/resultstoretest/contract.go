// Package resultstoretest is the contract every tools.ResultStore keeps:
// one set of tests that the one-process store (tools.FileResults) and the
// Redis-backed store of several replicas both pass, so that an agent sees
// the same results, quotas and expiry whichever store the proxy runs on.
// Only tests import it.
package resultstoretest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
)

// Config is what a contract test asks of a new store.
type Config struct {
	// Now is the store's clock; the tests move it.
	Now func() time.Time
	// TTL is how long results and job handles stay readable.
	TTL time.Duration
	// MaxBytes caps the bytes of all results.
	MaxBytes int64
	// OwnerResults caps one owner's results, and separately its job
	// handles. The store's OwnerBytes is left at its default, a quarter of
	// MaxBytes.
	OwnerResults int
}

// New returns a new, empty store for t (closed when t ends) configured by
// cfg.
type New func(t *testing.T, cfg Config) tools.ResultStore

// Clock is a settable clock for the stores under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Record returns record i of a test result: about size bytes of JSON.
func Record(i, size int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"id": fmt.Sprint(i), "pad": strings.Repeat("x", max(size-20, 0))})
	return b
}

// Put stores n records of about size bytes each as owner's new result, and
// aborts it when a record is refused.
func Put(ctx context.Context, s tools.ResultStore, owner permissions.Caller, n, size int) (tools.ResultInfo, error) {
	w, err := s.Create(ctx, owner)
	if err != nil {
		return tools.ResultInfo{}, err
	}
	for i := range n {
		if err := w.Append(ctx, Record(i, size)); err != nil {
			_ = w.Abort(ctx)
			return tools.ResultInfo{}, err
		}
	}
	return w.Commit(ctx)
}

// Run runs the contract against the stores newStore makes.
func Run(t *testing.T, newStore New) {
	t.Run("BoundToTheCaller", func(t *testing.T) { t.Parallel(); boundToTheCaller(t, newStore) })
	t.Run("Pages", func(t *testing.T) { t.Parallel(); pages(t, newStore) })
	t.Run("ByteCap", func(t *testing.T) { t.Parallel(); byteCap(t, newStore) })
	t.Run("Expiry", func(t *testing.T) { t.Parallel(); expiry(t, newStore) })
	t.Run("JobHandles", func(t *testing.T) { t.Parallel(); jobHandles(t, newStore) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); concurrent(t, newStore) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// boundToTheCaller: a caller that makes many results evicts only its own
// oldest, never another caller's; another caller (or none) can neither
// read, list nor delete them.
func boundToTheCaller(t *testing.T, newStore New) {
	clock := NewClock()
	const quota = 4
	s := newStore(t, Config{Now: clock.Now, TTL: time.Hour, MaxBytes: 1 << 20, OwnerResults: quota})
	ctx := ctxT(t)
	other, err := Put(ctx, s, "token:b", 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var made []tools.ResultInfo
	for i := range 3 * quota {
		clock.Advance(time.Second)
		info, err := Put(ctx, s, "token:a", 1, 50)
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		made = append(made, info)
	}
	if _, err := s.Page(ctx, "token:b", other.ID, 1); err != nil {
		t.Fatalf("another caller's flood evicted b's result: %v", err)
	}
	if _, err := s.Page(ctx, "token:a", made[0].ID, 1); !errors.Is(err, tools.ErrResultNotFound) {
		t.Errorf("a's oldest result was not evicted for its newest: %v", err)
	}
	mine, err := s.List(ctx, "token:a")
	if err != nil || len(mine) != quota {
		t.Fatalf("a lists %d results (%v), want its quota %d", len(mine), err, quota)
	}
	for i, in := range mine {
		if want := made[len(made)-quota+i].ID; in.ID != want {
			t.Errorf("List(a)[%d] = %s, want %s (its newest, oldest first)", i, in.ID, want)
		}
	}
	if got, _ := s.List(ctx, "token:b"); len(got) != 1 || got[0].ID != other.ID || got[0].Total != 1 {
		t.Errorf("b lists %+v", got)
	}
	for _, who := range []permissions.Caller{"token:a", "", permissions.LocalCaller} {
		if _, err := s.Page(ctx, who, other.ID, 1); !errors.Is(err, tools.ErrResultNotFound) {
			t.Errorf("%q read b's result: %v", who, err)
		}
	}
	if got, _ := s.List(ctx, ""); len(got) != 0 {
		t.Errorf("no caller lists %+v", got)
	}
	if err := s.Delete(ctx, "token:a", other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Page(ctx, "token:b", other.ID, 1); err != nil {
		t.Errorf("a deleted b's result: %v", err)
	}
	if err := s.Delete(ctx, "token:b", other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Page(ctx, "token:b", other.ID, 1); !errors.Is(err, tools.ErrResultNotFound) {
		t.Errorf("b's deleted result: %v", err)
	}
	if _, err := s.Create(ctx, ""); err == nil {
		t.Error("a result was made for no caller")
	}
}

// pages: pages of PageSize records in order, the last one short; an empty
// result has one empty page; pages outside the result are refused.
func pages(t *testing.T, newStore New) {
	s := newStore(t, Config{Now: time.Now, TTL: time.Hour, MaxBytes: 64 << 20, OwnerResults: 4})
	ctx := ctxT(t)
	size := s.PageSize()
	n := size + 1
	info, err := Put(ctx, s, permissions.LocalCaller, n, 10)
	if err != nil || info.Pages != 2 || info.Total != n || len(info.ID) != 32 || info.Bytes <= 0 {
		t.Fatalf("put = %+v, %v", info, err)
	}
	next := 0
	for page := 1; page <= 2; page++ {
		pg, err := s.Page(ctx, permissions.LocalCaller, info.ID, page)
		if err != nil || pg.Page != page || pg.Pages != 2 || pg.Total != n || pg.ID != info.ID {
			t.Fatalf("page %d = %+v, %v", page, pg.ResultInfo, err)
		}
		for _, r := range pg.Records {
			if string(r) != string(Record(next, 10)) {
				t.Fatalf("record %d = %s", next, r)
			}
			next++
		}
	}
	if next != n {
		t.Fatalf("read %d records of %d", next, n)
	}
	for _, page := range []int{0, 3} {
		_, err := s.Page(ctx, permissions.LocalCaller, info.ID, page)
		if err == nil || errors.Is(err, tools.ErrResultNotFound) {
			t.Errorf("page %d: %v", page, err)
		}
	}
	if _, err := s.Page(ctx, permissions.LocalCaller, info.ID, 3); err == nil || !strings.Contains(err.Error(), "has pages 1–2") {
		t.Errorf("page 3: %v", err)
	}
	empty, err := Put(ctx, s, permissions.LocalCaller, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := s.Page(ctx, permissions.LocalCaller, empty.ID, 1)
	if err != nil || pg.Total != 0 || pg.Pages != 1 || pg.Records == nil || len(pg.Records) != 0 {
		t.Fatalf("empty result page = %+v, %v", pg, err)
	}
	// An aborted result is not readable and not listed.
	w, err := s.Create(ctx, permissions.LocalCaller)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, Record(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Page(ctx, permissions.LocalCaller, w.ID(), 1); !errors.Is(err, tools.ErrResultNotFound) {
		t.Errorf("aborted result: %v", err)
	}
	if l, _ := s.List(ctx, permissions.LocalCaller); len(l) != 2 {
		t.Errorf("List = %+v, want the two committed results", l)
	}
}

// byteCap: the bytes held never exceed MaxBytes; a caller's share is a
// quarter of it, and its own oldest results make room in its share; when
// the whole store is full, new results are refused with ErrStoreFull and
// nothing of another caller is removed.
func byteCap(t *testing.T, newStore New) {
	clock := NewClock()
	const maxBytes = 64 << 10
	s := newStore(t, Config{Now: clock.Now, TTL: time.Hour, MaxBytes: maxBytes, OwnerResults: 16})
	ctx := ctxT(t)
	// One result larger than a caller's share is refused whole.
	if _, err := Put(ctx, s, "token:a", 200, 100); !errors.Is(err, tools.ErrOwnerQuota) {
		t.Fatalf("a result over the caller's share: %v", err)
	}
	if l, _ := s.List(ctx, "token:a"); len(l) != 0 {
		t.Fatalf("a refused result is listed: %+v", l)
	}
	// Results that fit one at a time: the caller's oldest make room.
	var infos []tools.ResultInfo
	for range 5 {
		clock.Advance(time.Second)
		info, err := Put(ctx, s, "token:a", 60, 100) // ≈6 KB each
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	if _, err := s.Page(ctx, "token:a", infos[0].ID, 1); !errors.Is(err, tools.ErrResultNotFound) {
		t.Errorf("a's oldest result should have made room: %v", err)
	}
	if _, err := s.Page(ctx, "token:a", infos[4].ID, 1); err != nil {
		t.Errorf("a's newest result: %v", err)
	}
	// More callers fill the store (each holds about two results, 12 KB of
	// its 16 KB share): the sixth is refused, and no one else's result goes.
	callers := []permissions.Caller{"token:a", "token:b", "token:c", "token:d", "token:e", "token:f", "token:g"}
	held := func() (n int64) {
		for _, who := range callers {
			l, _ := s.List(ctx, who)
			for _, in := range l {
				n += in.Bytes
			}
		}
		return n
	}
	var full error
	for i, who := range callers[1:] {
		for range 3 {
			clock.Advance(time.Second)
			if _, err := Put(ctx, s, who, 60, 100); err != nil {
				full = err
				if i < 4 {
					t.Fatalf("%s refused while the store had room: %v (%d bytes held)", who, err, held())
				}
			}
		}
		if n := held(); n > maxBytes {
			t.Fatalf("%d bytes held, over the cap %d", n, maxBytes)
		}
	}
	if !errors.Is(full, tools.ErrStoreFull) || !strings.Contains(full.Error(), "full") {
		t.Errorf("the store over its cap: %v", full)
	}
	if _, err := s.Page(ctx, "token:a", infos[4].ID, 1); err != nil {
		t.Errorf("a full store removed another caller's result: %v", err)
	}
	// Expiry frees everything: a new caller gets its whole share again.
	clock.Advance(time.Hour)
	for range 2 {
		if _, err := Put(ctx, s, "token:h", 60, 100); err != nil {
			t.Fatalf("after expiry: %v", err)
		}
	}
	if n := held(); n != 0 {
		t.Errorf("%d bytes of expired results still listed", n)
	}
}

// expiry: results and job handles are readable for TTL and no longer.
func expiry(t *testing.T, newStore New) {
	clock := NewClock()
	s := newStore(t, Config{Now: clock.Now, TTL: time.Minute, MaxBytes: 1 << 20, OwnerResults: 4})
	ctx := ctxT(t)
	if s.TTL() != time.Minute {
		t.Errorf("TTL() = %v", s.TTL())
	}
	info, err := Put(ctx, s, "token:a", 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Expires.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("expires %v, want a TTL from now (%v)", info.Expires, clock.Now().Add(time.Minute))
	}
	if err := s.PutJob(ctx, "token:a", "j1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute - time.Millisecond)
	if _, err := s.Page(ctx, "token:a", info.ID, 1); err != nil {
		t.Errorf("before its expiry: %v", err)
	}
	clock.Advance(time.Millisecond)
	if _, err := s.Page(ctx, "token:a", info.ID, 1); !errors.Is(err, tools.ErrResultNotFound) {
		t.Errorf("an expired result: %v", err)
	}
	if l, _ := s.List(ctx, "token:a"); len(l) != 0 {
		t.Errorf("expired results listed: %+v", l)
	}
	if _, err := s.Job(ctx, "token:a", "j1"); !errors.Is(err, tools.ErrResultNotFound) {
		t.Errorf("an expired job handle: %v", err)
	}
}

// jobHandles: a job handle is its caller's alone, bounded in size, and an
// owner keeps OwnerResults of them at most (its oldest goes).
func jobHandles(t *testing.T, newStore New) {
	clock := NewClock()
	s := newStore(t, Config{Now: clock.Now, TTL: time.Hour, MaxBytes: 1 << 20, OwnerResults: 3})
	ctx := ctxT(t)
	if err := s.PutJob(ctx, "token:b", "jb", []byte(`{"job":"b"}`)); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		clock.Advance(time.Second)
		if err := s.PutJob(ctx, "token:a", fmt.Sprint("j", i), []byte(fmt.Sprintf(`{"job":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		d, err := s.Job(ctx, "token:a", fmt.Sprint("j", i))
		if kept := err == nil; kept != (i >= 3) {
			t.Errorf("handle j%d kept=%v (%v), want only the 3 newest", i, kept, err)
		} else if kept && string(d) != fmt.Sprintf(`{"job":%d}`, i) {
			t.Errorf("handle j%d = %s", i, d)
		}
	}
	if d, err := s.Job(ctx, "token:b", "jb"); err != nil || string(d) != `{"job":"b"}` {
		t.Errorf("a's handles evicted b's: %s, %v", d, err)
	}
	for _, who := range []permissions.Caller{"token:b", "", permissions.LocalCaller} {
		if _, err := s.Job(ctx, who, "j5"); !errors.Is(err, tools.ErrResultNotFound) {
			t.Errorf("%q used a's job handle: %v", who, err)
		}
	}
	if err := s.PutJob(ctx, "token:a", "big", make([]byte, tools.MaxJobHandle+1)); err == nil {
		t.Error("an oversized job handle was kept")
	}
	if err := s.PutJob(ctx, "", "x", []byte(`{}`)); err == nil {
		t.Error("a job handle was kept for no caller")
	}
}

// concurrent: callers writing and reading at once each read back exactly
// their own records (run with -race).
func concurrent(t *testing.T, newStore New) {
	s := newStore(t, Config{Now: time.Now, TTL: time.Hour, MaxBytes: 64 << 20, OwnerResults: 4})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			owner := permissions.Caller(fmt.Sprint("token:", g))
			for range 3 {
				info, err := Put(ctx, s, owner, 20+g, 30)
				if err != nil {
					errs <- err
					return
				}
				pg, err := s.Page(ctx, owner, info.ID, 1)
				if err != nil || len(pg.Records) != 20+g {
					errs <- fmt.Errorf("%s read %d records of %d: %v", owner, len(pg.Records), 20+g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
