package tools

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// Defaults of FileResultsConfig (SPEC §11: a bulk-result byte cap of 256 MiB).
const (
	DefaultBulkTTL        = time.Hour
	DefaultResultMaxBytes = 256 << 20
	DefaultOwnerResults   = 16
)

// BulkPageSize is how many records one page of a result holds, through
// resources/read and read_bulk_result alike.
const BulkPageSize = 500

// spillPrefix starts the name of every process's result directory, inside
// the parent directory; lockName is the lock file each holds while its
// process lives.
const (
	spillPrefix = "zoho-mcp-proxy-bulk-"
	lockName    = ".lock"
)

// FileResultsConfig configures NewFileResults. The zero value takes every
// default.
type FileResultsConfig struct {
	// Dir is the parent of the store's directory. Empty means os.TempDir().
	Dir string
	// TTL is how long a result or job handle stays readable. Zero means
	// DefaultBulkTTL.
	TTL time.Duration
	// MaxBytes caps the bytes of every result on disk, written or being
	// written. Zero means DefaultResultMaxBytes.
	MaxBytes int64
	// OwnerBytes caps one owner's share of MaxBytes. Zero means a quarter of
	// MaxBytes.
	OwnerBytes int64
	// OwnerResults caps one owner's results (and, separately, its job
	// handles). Zero means DefaultOwnerResults.
	OwnerResults int
	// Now is the store's clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives the directories of dead processes it removes. Nil
	// discards.
	Logger *slog.Logger
}

// FileResults is the ResultStore of one process: every result is a
// JSON-lines file in a directory of its own, which the process holds a
// lock on (a flock, released by the kernel when the process dies, however
// it dies). At start it removes the directories whose lock no live process
// holds, so that a crash leaves nothing behind for longer than the next
// start, and two proxies on one machine never remove each other's live
// results. One owner may not evict another's results: when an owner's
// share (OwnerResults results, OwnerBytes bytes) is used up its own oldest
// results make room, and when the whole store (MaxBytes) is full new
// results are refused. Memory use is a small page index per result; it
// starts no goroutines: expired results are removed by every call.
type FileResults struct {
	cfg  FileResultsConfig
	dir  string
	lock *flock.Flock

	mu      sync.Mutex
	entries map[string]*fileEntry // committed results
	jobs    map[string]*jobEntry
	used    map[permissions.Caller]int64 // bytes per owner, writers included
	writing map[permissions.Caller]int   // open writers per owner
	total   int64
	closed  bool
}

var _ ResultStore = (*FileResults)(nil)

type fileEntry struct {
	ResultInfo
	owner   permissions.Caller
	path    string
	offsets []int64 // byte offset of every page's first record
	created time.Time
}

type jobEntry struct {
	owner   permissions.Caller
	data    []byte
	expires time.Time
	created time.Time
}

// NewFileResults makes the store's directory (spillPrefix + random, in
// cfg.Dir) and locks it, after removing the directories of processes that
// are gone. It fails when the directory cannot be made or locked.
func NewFileResults(cfg FileResultsConfig) (*FileResults, error) {
	if cfg.Dir == "" {
		cfg.Dir = os.TempDir()
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultBulkTTL
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultResultMaxBytes
	}
	if cfg.OwnerBytes <= 0 || cfg.OwnerBytes > cfg.MaxBytes {
		cfg.OwnerBytes = max(cfg.MaxBytes/4, 1)
	}
	if cfg.OwnerResults <= 0 {
		cfg.OwnerResults = DefaultOwnerResults
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &FileResults{cfg: cfg, entries: map[string]*fileEntry{}, jobs: map[string]*jobEntry{},
		used: map[permissions.Caller]int64{}, writing: map[permissions.Caller]int{}}
	if n := RemoveStaleResults(cfg.Dir, cfg.TTL, cfg.Now); n > 0 {
		cfg.Logger.Info("removed the bulk results of proxies that are gone", "directories", n, "parent", cfg.Dir)
	}
	if err := b.makeDir(); err != nil {
		return nil, fmt.Errorf("bulk result store: %w", err)
	}
	return b, nil
}

// makeDir makes and locks the store's directory. It is made under a name
// RemoveStaleResults ignores and renamed once locked, so that no other
// process ever sees it unlocked.
func (b *FileResults) makeDir() error {
	tmp, err := os.MkdirTemp(b.cfg.Dir, ".making-"+spillPrefix)
	if err != nil {
		return err
	}
	lock := flock.New(filepath.Join(tmp, lockName))
	ok, err := lock.TryLock()
	if err != nil || !ok {
		os.RemoveAll(tmp)
		return fmt.Errorf("cannot lock %s: %v", tmp, err)
	}
	final := filepath.Join(b.cfg.Dir, spillPrefix+newID())
	if err := os.Rename(tmp, final); err != nil {
		lock.Close()
		os.RemoveAll(tmp)
		return err
	}
	// The lock holds the open file, not its name: it survives the rename.
	b.dir, b.lock = final, lock
	return nil
}

// RemoveStaleResults removes, from parent, the result directories of
// proxies that are gone: those whose lock file no process holds. A
// directory without a lock file (made by a proxy older than the lock) is
// removed once it has not changed for ttl, when every result in it has
// expired. It returns how many it removed. A directory another live process
// holds is never touched.
func RemoveStaleResults(parent string, ttl time.Duration, now func() time.Time) int {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), spillPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		lockPath := filepath.Join(dir, lockName)
		if _, err := os.Stat(lockPath); errors.Is(err, os.ErrNotExist) {
			if info, err := e.Info(); err == nil && now().Sub(info.ModTime()) > ttl {
				if os.RemoveAll(dir) == nil {
					n++
				}
			}
			continue
		}
		lock := flock.New(lockPath)
		ok, err := lock.TryLock()
		if err != nil || !ok {
			continue // a live process holds it
		}
		if os.RemoveAll(dir) == nil {
			n++
		}
		lock.Close()
	}
	return n
}

// Dir returns the store's directory.
func (b *FileResults) Dir() string { return b.dir }

// PageSize returns BulkPageSize.
func (b *FileResults) PageSize() int { return BulkPageSize }

// TTL returns how long a result stays readable.
func (b *FileResults) TTL() time.Duration { return b.cfg.TTL }

// MaxBytes returns the cap on the bytes of all results.
func (b *FileResults) MaxBytes() int64 { return b.cfg.MaxBytes }

// OwnerBytes returns one owner's share of MaxBytes.
func (b *FileResults) OwnerBytes() int64 { return b.cfg.OwnerBytes }

// sweepLocked removes expired results and job handles.
func (b *FileResults) sweepLocked() int {
	now := b.cfg.Now()
	n := 0
	for id, e := range b.entries {
		if !now.Before(e.Expires) {
			b.dropLocked(id, e)
			n++
		}
	}
	for id, j := range b.jobs {
		if !now.Before(j.expires) {
			delete(b.jobs, id)
		}
	}
	return n
}

func (b *FileResults) dropLocked(id string, e *fileEntry) {
	delete(b.entries, id)
	os.Remove(e.path)
	b.releaseLocked(e.owner, e.Bytes)
}

func (b *FileResults) releaseLocked(owner permissions.Caller, n int64) {
	b.total -= n
	if b.used[owner] -= n; b.used[owner] <= 0 {
		delete(b.used, owner)
	}
}

// Sweep removes expired results and job handles and returns how many
// results it removed.
func (b *FileResults) Sweep() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sweepLocked()
}

// Len returns how many results are held.
func (b *FileResults) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}

// Bytes returns the bytes of all results, being written ones included.
func (b *FileResults) Bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// oldestLocked returns owner's oldest committed result, or nil.
func (b *FileResults) oldestLocked(owner permissions.Caller) (string, *fileEntry) {
	var id string
	var old *fileEntry
	for k, e := range b.entries {
		if e.owner == owner && (old == nil || e.created.Before(old.created)) {
			id, old = k, e
		}
	}
	return id, old
}

// Create starts a new result of owner. When owner already holds
// OwnerResults results, its oldest makes room; when all of them are still
// being written, ErrOwnerQuota.
func (b *FileResults) Create(_ context.Context, owner permissions.Caller) (ResultWriter, error) {
	if owner == "" {
		return nil, errors.New("bulk result store: the call has no caller identity to bind a result to")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("bulk result store is closed")
	}
	b.sweepLocked()
	for b.countLocked(owner)+b.writing[owner] >= b.cfg.OwnerResults {
		id, old := b.oldestLocked(owner)
		if old == nil {
			return nil, fmt.Errorf("%w (%d results at most)", ErrOwnerQuota, b.cfg.OwnerResults)
		}
		b.dropLocked(id, old)
	}
	id := newID()
	f, err := os.OpenFile(filepath.Join(b.dir, id+".jsonl"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	b.writing[owner]++
	return &fileWriter{b: b, owner: owner, id: id, f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (b *FileResults) countLocked(owner permissions.Caller) int {
	n := 0
	for _, e := range b.entries {
		if e.owner == owner {
			n++
		}
	}
	return n
}

// reserve takes n bytes for owner: its own oldest results make room in its
// share; the whole store's cap is never exceeded.
func (b *FileResults) reserve(owner permissions.Caller, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.cfg.OwnerBytes {
		return fmt.Errorf("%w (%d MiB per caller)", ErrOwnerQuota, b.cfg.OwnerBytes>>20)
	}
	for b.used[owner]+n > b.cfg.OwnerBytes {
		id, old := b.oldestLocked(owner)
		if old == nil {
			return fmt.Errorf("%w (%d MiB per caller)", ErrOwnerQuota, b.cfg.OwnerBytes>>20)
		}
		b.dropLocked(id, old)
	}
	if b.total+n > b.cfg.MaxBytes {
		b.sweepLocked()
		if b.total+n > b.cfg.MaxBytes {
			return fmt.Errorf("%w (%d MiB in all)", ErrStoreFull, b.cfg.MaxBytes>>20)
		}
	}
	b.used[owner] += n
	b.total += n
	return nil
}

// fileWriter writes one result's file.
type fileWriter struct {
	b       *FileResults
	owner   permissions.Caller
	id      string
	f       *os.File
	w       *bufio.Writer
	pos     int64
	held    int64 // bytes reserved in the store
	count   int
	offsets []int64
	done    bool
}

func (w *fileWriter) ID() string { return w.id }

func (w *fileWriter) Append(_ context.Context, rec json.RawMessage) error {
	if w.done {
		return errors.New("bulk result: append to a finished result")
	}
	rec = bytes.TrimSpace(rec)
	if len(rec) == 0 || bytes.IndexByte(rec, '\n') >= 0 {
		return errors.New("bulk result: a record must be one line of JSON")
	}
	n := int64(len(rec) + 1)
	if err := w.b.reserve(w.owner, n); err != nil {
		return err
	}
	w.held += n
	if w.count%BulkPageSize == 0 {
		w.offsets = append(w.offsets, w.pos)
	}
	if _, err := w.w.Write(rec); err != nil {
		return err
	}
	if err := w.w.WriteByte('\n'); err != nil {
		return err
	}
	w.pos += n
	w.count++
	return nil
}

func (w *fileWriter) Commit(ctx context.Context) (ResultInfo, error) {
	if w.done {
		return ResultInfo{}, errors.New("bulk result: commit of a finished result")
	}
	if err := w.w.Flush(); err != nil {
		w.Abort(ctx)
		return ResultInfo{}, err
	}
	if err := w.f.Close(); err != nil {
		w.Abort(ctx)
		return ResultInfo{}, err
	}
	w.done = true
	b := w.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writing[w.owner]--
	if b.writing[w.owner] <= 0 {
		delete(b.writing, w.owner)
	}
	if b.closed {
		os.Remove(w.f.Name())
		return ResultInfo{}, errors.New("bulk result store is closed")
	}
	if w.held != w.pos { // a write failed after its reservation
		b.releaseLocked(w.owner, w.held-w.pos)
	}
	now := b.cfg.Now()
	offsets := w.offsets
	if len(offsets) == 0 {
		offsets = []int64{0}
	}
	e := &fileEntry{ResultInfo: ResultInfo{ID: w.id, Total: w.count, Pages: len(offsets), Bytes: w.pos, Expires: now.Add(b.cfg.TTL)},
		owner: w.owner, path: w.f.Name(), offsets: offsets, created: now}
	b.entries[w.id] = e
	return e.ResultInfo, nil
}

func (w *fileWriter) Abort(context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	err := os.Remove(w.f.Name())
	b := w.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releaseLocked(w.owner, w.held)
	if b.writing[w.owner]--; b.writing[w.owner] <= 0 {
		delete(b.writing, w.owner)
	}
	return err
}

// entry returns owner's live result id.
func (b *FileResults) entry(owner permissions.Caller, id string) (*fileEntry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweepLocked()
	e, ok := b.entries[id]
	if !ok || owner == "" || e.owner != owner {
		return nil, false
	}
	return e, true
}

// Page returns page (1-based) of owner's result id.
func (b *FileResults) Page(_ context.Context, owner permissions.Caller, id string, page int) (ResultPage, error) {
	e, ok := b.entry(owner, id)
	if !ok {
		return ResultPage{}, fmt.Errorf("result %s: %w", tiers.Clip(id, 60), ErrResultNotFound)
	}
	if page < 1 || page > e.Pages {
		return ResultPage{}, fmt.Errorf("page %d does not exist: result %s has pages 1–%d", page, id, e.Pages)
	}
	out := ResultPage{ResultInfo: e.ResultInfo, Page: page, Records: []json.RawMessage{}}
	f, err := os.Open(e.path)
	if err != nil {
		return ResultPage{}, fmt.Errorf("result %s is no longer available: %w", id, ErrResultNotFound)
	}
	defer f.Close()
	if _, err := f.Seek(e.offsets[page-1], io.SeekStart); err != nil {
		return ResultPage{}, err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	want := min(BulkPageSize, e.Total-(page-1)*BulkPageSize)
	for len(out.Records) < want {
		line, err := r.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out.Records = append(out.Records, json.RawMessage(line))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return ResultPage{}, err
		}
	}
	return out, nil
}

// List returns owner's results, oldest first.
func (b *FileResults) List(_ context.Context, owner permissions.Caller) ([]ResultInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweepLocked()
	var mine []*fileEntry
	for _, e := range b.entries {
		if owner != "" && e.owner == owner {
			mine = append(mine, e)
		}
	}
	slices.SortFunc(mine, func(x, y *fileEntry) int { return x.created.Compare(y.created) })
	out := make([]ResultInfo, len(mine))
	for i, e := range mine {
		out[i] = e.ResultInfo
	}
	return out, nil
}

// Delete removes owner's result id.
func (b *FileResults) Delete(_ context.Context, owner permissions.Caller, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[id]; ok && e.owner == owner {
		b.dropLocked(id, e)
	}
	return nil
}

// PutJob keeps a job handle for owner. When owner holds OwnerResults
// handles, its oldest goes.
func (b *FileResults) PutJob(_ context.Context, owner permissions.Caller, id string, data []byte) error {
	if owner == "" {
		return errors.New("bulk result store: the call has no caller identity to bind a job to")
	}
	if len(data) > MaxJobHandle {
		return fmt.Errorf("a job handle of %d bytes is over %d", len(data), MaxJobHandle)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("bulk result store is closed")
	}
	b.sweepLocked()
	for {
		n := 0
		var oldID string
		var old *jobEntry
		for k, j := range b.jobs {
			if j.owner == owner && k != id {
				n++
				if old == nil || j.created.Before(old.created) {
					oldID, old = k, j
				}
			}
		}
		if n < b.cfg.OwnerResults {
			break
		}
		delete(b.jobs, oldID)
	}
	now := b.cfg.Now()
	b.jobs[id] = &jobEntry{owner: owner, data: slices.Clone(data), expires: now.Add(b.cfg.TTL), created: now}
	return nil
}

// Job returns owner's job handle id.
func (b *FileResults) Job(_ context.Context, owner permissions.Caller, id string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweepLocked()
	j, ok := b.jobs[id]
	if !ok || owner == "" || j.owner != owner {
		return nil, fmt.Errorf("job %s: %w", tiers.Clip(id, 60), ErrResultNotFound)
	}
	return slices.Clone(j.data), nil
}

// Close removes every result and the store's directory and releases its
// lock. Results cannot be added afterwards.
func (b *FileResults) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.entries, b.jobs = map[string]*fileEntry{}, map[string]*jobEntry{}
	b.used, b.total = map[permissions.Caller]int64{}, 0
	err := os.RemoveAll(b.dir)
	if b.lock != nil {
		b.lock.Close()
	}
	return err
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
