package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

func newStore(t *testing.T, cfg FileResultsConfig) *FileResults {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	b, err := NewFileResults(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// put stores n records of about size bytes each as owner's new result.
func put(t *testing.T, b *FileResults, owner permissions.Caller, n, size int) (ResultInfo, error) {
	t.Helper()
	ctx := context.Background()
	w, err := b.Create(ctx, owner)
	if err != nil {
		return ResultInfo{}, err
	}
	for i := range n {
		rec, _ := json.Marshal(map[string]any{"id": fmt.Sprint(i), "pad": strings.Repeat("x", max(size-20, 0))})
		if err := w.Append(ctx, rec); err != nil {
			w.Abort(ctx)
			return ResultInfo{}, err
		}
	}
	return w.Commit(ctx)
}

// TestResultsBoundToTheCaller: a caller that makes many results evicts only
// its own oldest, never another caller's; another caller (even with the same
// profile) cannot read, list or delete them. Before, one global pool of 64
// held every caller's results and a busy caller evicted everyone else's.
func TestResultsBoundToTheCaller(t *testing.T) {
	t.Parallel()
	clock := newClock()
	b := newStore(t, FileResultsConfig{Now: clock.Now})
	ctx := context.Background()
	other, err := put(t, b, "token:b", 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var first ResultInfo
	for i := range 100 {
		clock.Advance(time.Second)
		info, err := put(t, b, "token:a", 1, 50)
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if i == 0 {
			first = info
		}
	}
	if _, err := b.Page(ctx, "token:b", other.ID, 1); err != nil {
		t.Fatalf("another caller's flood evicted b's result: %v", err)
	}
	if _, err := b.Page(ctx, "token:a", first.ID, 1); !errors.Is(err, ErrResultNotFound) {
		t.Errorf("a's oldest result was not evicted for its newest: %v", err)
	}
	mine, _ := b.List(ctx, "token:a")
	if len(mine) != DefaultOwnerResults {
		t.Errorf("a holds %d results, want its quota %d", len(mine), DefaultOwnerResults)
	}
	for i := 1; i < len(mine); i++ {
		if mine[i].Expires.Before(mine[i-1].Expires) {
			t.Errorf("List is not oldest first")
		}
	}
	if got, _ := b.List(ctx, "token:b"); len(got) != 1 || got[0].ID != other.ID {
		t.Errorf("b lists %+v", got)
	}
	for _, who := range []permissions.Caller{"token:a", "", "local"} {
		if _, err := b.Page(ctx, who, other.ID, 1); !errors.Is(err, ErrResultNotFound) || !errors.Is(err, ErrBulkNotFound) {
			t.Errorf("%q read b's result: %v", who, err)
		}
	}
	if err := b.Delete(ctx, "token:a", other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Page(ctx, "token:b", other.ID, 1); err != nil {
		t.Errorf("a deleted b's result: %v", err)
	}
	if _, err := b.Create(ctx, ""); err == nil {
		t.Error("a result was made for no caller")
	}
}

// TestResultsByteCap: the bytes on disk never exceed MaxBytes; one caller's
// share is a quarter of it, and its own oldest results make room in its
// share; when the whole store is full, new results are refused with
// ErrStoreFull and nothing of another caller is removed. Before, nothing
// bounded the bytes on disk.
func TestResultsByteCap(t *testing.T) {
	t.Parallel()
	clock := newClock()
	const max = 64 << 10
	b := newStore(t, FileResultsConfig{Now: clock.Now, MaxBytes: max})
	if b.OwnerBytes() != max/4 {
		t.Fatalf("owner share %d", b.OwnerBytes())
	}
	// One result larger than a caller's share is refused whole.
	if _, err := put(t, b, "token:a", 200, 100); !errors.Is(err, ErrOwnerQuota) {
		t.Fatalf("a result over the caller's share: %v", err)
	}
	if b.Bytes() != 0 || b.Len() != 0 {
		t.Fatalf("an aborted result left %d bytes, %d results", b.Bytes(), b.Len())
	}
	// Results that fit one at a time: the caller's oldest make room.
	var infos []ResultInfo
	for range 5 {
		clock.Advance(time.Second)
		info, err := put(t, b, "token:a", 60, 100) // ≈6 KB each
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	if _, err := b.Page(context.Background(), "token:a", infos[0].ID, 1); !errors.Is(err, ErrResultNotFound) {
		t.Errorf("a's oldest result should have made room: %v", err)
	}
	if _, err := b.Page(context.Background(), "token:a", infos[4].ID, 1); err != nil {
		t.Errorf("a's newest result: %v", err)
	}
	// More callers fill the store (each holds about two results, 12 KB of
	// its 16 KB share): the sixth is refused, and no one else's result goes.
	var full error
	for i, who := range []permissions.Caller{"token:b", "token:c", "token:d", "token:e", "token:f", "token:g"} {
		for range 3 {
			if _, err := put(t, b, who, 60, 100); err != nil {
				full = err
				if i < 4 {
					t.Fatalf("%s refused while the store had room: %v (%d bytes)", who, err, b.Bytes())
				}
			}
		}
		if b.Bytes() > max {
			t.Fatalf("%d bytes on disk, over the cap %d", b.Bytes(), max)
		}
	}
	if !errors.Is(full, ErrStoreFull) || !strings.Contains(full.Error(), "full") {
		t.Errorf("the store over its cap: %v", full)
	}
	if _, err := b.Page(context.Background(), "token:a", infos[4].ID, 1); err != nil {
		t.Errorf("a full store removed another caller's result: %v", err)
	}
	var onDisk int64
	files, _ := filepath.Glob(filepath.Join(b.Dir(), "*.jsonl"))
	for _, f := range files {
		st, _ := os.Stat(f)
		onDisk += st.Size()
	}
	if onDisk != b.Bytes() || onDisk > max {
		t.Errorf("%d bytes on disk, the store counts %d (cap %d)", onDisk, b.Bytes(), max)
	}
	// Expiry frees everything.
	clock.Advance(time.Hour)
	b.Sweep()
	if b.Bytes() != 0 || b.Len() != 0 {
		t.Errorf("after expiry: %d bytes, %d results", b.Bytes(), b.Len())
	}
}

// TestResultPages: pages of BulkPageSize records, the last one short; an
// empty result has one empty page.
func TestResultPages(t *testing.T) {
	t.Parallel()
	b := newStore(t, FileResultsConfig{})
	ctx := context.Background()
	info, err := put(t, b, "local", BulkPageSize+1, 10)
	if err != nil || info.Pages != 2 || info.Total != BulkPageSize+1 {
		t.Fatalf("put = %+v, %v", info, err)
	}
	pg, err := b.Page(ctx, "local", info.ID, 2)
	if err != nil || len(pg.Records) != 1 || !strings.Contains(string(pg.Records[0]), `"id":"500"`) {
		t.Fatalf("page 2 = %+v, %v", pg, err)
	}
	if _, err := b.Page(ctx, "local", info.ID, 3); err == nil || !strings.Contains(err.Error(), "has pages 1–2") {
		t.Errorf("page 3: %v", err)
	}
	empty, err := put(t, b, "local", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pg, err = b.Page(ctx, "local", empty.ID, 1)
	if err != nil || pg.Total != 0 || pg.Pages != 1 || len(pg.Records) != 0 {
		t.Fatalf("empty result page = %+v, %v", pg, err)
	}
	w, _ := b.Create(ctx, "local")
	if err := w.Append(ctx, json.RawMessage("{\"a\":\n1}")); err == nil {
		t.Error("a record spanning lines was accepted")
	}
	w.Abort(ctx)
}

// TestJobHandles: a job handle is its caller's alone, expires, and is
// bounded in size.
func TestJobHandles(t *testing.T) {
	t.Parallel()
	clock := newClock()
	b := newStore(t, FileResultsConfig{Now: clock.Now, TTL: time.Minute})
	ctx := context.Background()
	if err := b.PutJob(ctx, "token:a", "j1", []byte(`{"job":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if d, err := b.Job(ctx, "token:a", "j1"); err != nil || string(d) != `{"job":"1"}` {
		t.Fatalf("Job = %s, %v", d, err)
	}
	if _, err := b.Job(ctx, "token:b", "j1"); !errors.Is(err, ErrResultNotFound) {
		t.Errorf("another caller read the job: %v", err)
	}
	if err := b.PutJob(ctx, "token:a", "big", make([]byte, MaxJobHandle+1)); err == nil {
		t.Error("an oversized job handle was kept")
	}
	clock.Advance(time.Minute)
	if _, err := b.Job(ctx, "token:a", "j1"); !errors.Is(err, ErrResultNotFound) {
		t.Errorf("an expired job handle: %v", err)
	}
}

// TestStaleResultsRemovedAtStart: a new store removes the directories of
// processes that are gone (their lock file held by no one) and, without a
// lock file, those untouched for longer than the TTL; it never touches a
// directory a live store holds, nor a recent one without a lock. Before, a
// crash left every result on disk for good.
func TestStaleResultsRemovedAtStart(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	clock := newClock()
	live := newStore(t, FileResultsConfig{Dir: parent, Now: clock.Now})
	info, err := put(t, live, "local", 10, 100)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, lock bool, age time.Duration) string {
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "result.jsonl"), []byte(strings.Repeat("{}\n", 100)), 0o600)
		if lock {
			os.WriteFile(filepath.Join(d, lockName), nil, 0o600)
		}
		ts := time.Now().Add(-age)
		os.Chtimes(d, ts, ts)
		return d
	}
	dead := mk(spillPrefix+"dead", true, 0)
	oldLegacy := mk(spillPrefix+"123456", false, 2*time.Hour)
	newLegacy := mk(spillPrefix+"654321", false, time.Minute)
	unrelated := mk("someone-else", true, 2*time.Hour)
	// A directory whose lock another process holds (held here through its
	// own file descriptor, as another process would).
	busy := mk(spillPrefix+"busy", true, 0)
	held := flock.New(filepath.Join(busy, lockName))
	if ok, err := held.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	defer held.Close()

	second := newStore(t, FileResultsConfig{Dir: parent, Now: time.Now})
	for _, c := range []struct {
		dir  string
		kept bool
	}{{dead, false}, {oldLegacy, false}, {newLegacy, true}, {unrelated, true}, {busy, true}, {live.Dir(), true}, {second.Dir(), true}} {
		_, err := os.Stat(c.dir)
		if kept := err == nil; kept != c.kept {
			t.Errorf("%s: kept=%v, want %v", filepath.Base(c.dir), kept, c.kept)
		}
	}
	if _, err := live.Page(context.Background(), "local", info.ID, 1); err != nil {
		t.Errorf("a second proxy removed the first one's live result: %v", err)
	}
	// Closing removes the store's own directory and releases its lock.
	dir := second.Dir()
	second.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s", dir)
	}
	if _, err := second.Create(context.Background(), "local"); err == nil {
		t.Error("a closed store accepted a result")
	}
}
