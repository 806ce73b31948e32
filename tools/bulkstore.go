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
	"io"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// BulkPageSize is how many records one resources/read page of a bulk
// result holds.
const BulkPageSize = 500

// BulkURIPrefix starts the URI of every bulk result resource:
// zoho-mcp-proxy://bulk/{id}, with ?page=N for pages after the first.
const BulkURIPrefix = "zoho-mcp-proxy://bulk/"

// DefaultBulkTTL is how long a bulk result stays readable when
// NewBulkResults is given a zero ttl.
const DefaultBulkTTL = time.Hour

// maxBulkEntries bounds how many results are kept at once; the oldest goes
// first when a new one would exceed it.
const maxBulkEntries = 64

// ErrBulkNotFound is returned (wrapped) for a bulk result that does not
// exist, has expired, or belongs to another profile; the three are not told
// apart so that ids cannot be probed. It matches server.ErrResourceNotFound
// (errors.Is), so that resources/read answers "resource not found".
var ErrBulkNotFound error = bulkNotFound{}

type bulkNotFound struct{}

func (bulkNotFound) Error() string        { return "bulk result not found" }
func (bulkNotFound) Is(target error) bool { return target == server.ErrResourceNotFound }

// BulkResults keeps large bulk_read_accounts results as JSON-lines temp
// files, each readable by the profile that made it for a limited time, in
// pages of BulkPageSize records. Memory use is one small page index per
// result. It is safe for concurrent use; it starts no goroutines: expired
// results are removed by Sweep, which every new result and every read also
// runs.
type BulkResults struct {
	parent string
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	dir     string // created on first use, inside parent
	entries map[string]*bulkEntry
	closed  bool
}

type bulkEntry struct {
	id, profile string
	path        string
	count       int
	offsets     []int64 // byte offset of every BulkPageSize-th record
	expires     time.Time
	created     time.Time
}

// NewBulkResults returns a store keeping files in a new directory inside dir
// ("" means os.TempDir()) for ttl (zero means DefaultBulkTTL), using now as
// its clock (nil means time.Now). Close removes the directory.
func NewBulkResults(dir string, ttl time.Duration, now func() time.Time) *BulkResults {
	if ttl <= 0 {
		ttl = DefaultBulkTTL
	}
	if now == nil {
		now = time.Now
	}
	return &BulkResults{parent: dir, ttl: ttl, now: now, entries: make(map[string]*bulkEntry)}
}

// TTL returns how long a result stays readable.
func (b *BulkResults) TTL() time.Duration { return b.ttl }

func (b *BulkResults) ensureDir() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", errors.New("bulk result store is closed")
	}
	if b.dir == "" {
		parent := b.parent
		if parent == "" {
			parent = os.TempDir()
		}
		d, err := os.MkdirTemp(parent, "zoho-mcp-proxy-bulk-")
		if err != nil {
			return "", err
		}
		b.dir = d
	}
	return b.dir, nil
}

// bulkSink is the tiers.RecordSink of one bulk read. It keeps up to limit
// records in memory; past that it spills them to a temp file (when it has a
// store) and keeps streaming there. Denied fields are removed before a
// record is kept anywhere.
type bulkSink struct {
	store *BulkResults // nil: no spilling, records past limit are only counted
	prof  *permissions.Profile
	limit int

	mu      sync.Mutex
	inline  []tiers.Record
	count   int
	f       *os.File
	w       *bufio.Writer
	pos     int64
	offsets []int64
}

var _ tiers.RecordSink = (*bulkSink)(nil)

func newBulkSink(store *BulkResults, prof *permissions.Profile, limit int) *bulkSink {
	return &bulkSink{store: store, prof: prof, limit: limit}
}

// Write keeps one record.
func (s *bulkSink) Write(rec tiers.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec = redact(rec, s.prof)
	s.count++
	if s.f == nil && s.count <= s.limit {
		s.inline = append(s.inline, rec)
		return nil
	}
	if s.store == nil {
		s.inline = nil // too many to inline and nowhere to keep them: count only
		return nil
	}
	if s.f == nil {
		if err := s.spill(); err != nil {
			return err
		}
	}
	return s.append(rec)
}

// spillLocked spills an empty sink (for Put of no records).
func (s *bulkSink) spillLocked() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spill()
}

// spill opens the temp file and moves the in-memory records into it.
func (s *bulkSink) spill() error {
	dir, err := s.store.ensureDir()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "result-*.jsonl")
	if err != nil {
		return err
	}
	s.f, s.w, s.pos, s.offsets = f, bufio.NewWriterSize(f, 64<<10), 0, nil
	held := s.inline
	s.inline = nil
	for i, r := range held {
		if err := s.appendAt(i, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *bulkSink) append(rec tiers.Record) error { return s.appendAt(s.count-1, rec) }

func (s *bulkSink) appendAt(i int, rec tiers.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("bulk result: record cannot be encoded: %w", err)
	}
	if i%BulkPageSize == 0 {
		s.offsets = append(s.offsets, s.pos)
	}
	b = append(b, '\n')
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.pos += int64(len(b))
	return nil
}

// Reset discards everything written: the router calls it before retrying
// the read on another tier. A spilled file is removed, so the retry starts
// in memory again and a small second answer is still returned inline.
func (s *bulkSink) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inline, s.count, s.pos, s.offsets = nil, 0, 0, nil
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	cerr := s.f.Close()
	s.f, s.w = nil, nil
	if err := os.Remove(name); err != nil {
		return err
	}
	return cerr
}

// spilled reports whether the records went to a file.
func (s *bulkSink) spilled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f != nil
}

// discard removes the sink's file, if any.
func (s *bulkSink) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		os.Remove(name)
		s.f = nil
	}
	s.inline = nil
}

// commit closes the sink's file and registers it as a result readable by
// profile; it returns the new result's id and expiry.
func (s *bulkSink) commit() (id string, expires time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return "", time.Time{}, errors.New("bulk result: nothing to commit")
	}
	name := s.f.Name()
	if err := s.w.Flush(); err != nil {
		s.f.Close()
		os.Remove(name)
		return "", time.Time{}, err
	}
	if err := s.f.Close(); err != nil {
		os.Remove(name)
		return "", time.Time{}, err
	}
	s.f = nil
	e := &bulkEntry{profile: s.prof.Name, path: name, count: s.count, offsets: s.offsets}
	if err := s.store.put(e); err != nil {
		os.Remove(name)
		return "", time.Time{}, err
	}
	return e.id, e.expires, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// put registers e under a new random id.
func (b *BulkResults) put(e *bulkEntry) error {
	b.Sweep()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("bulk result store is closed")
	}
	now := b.now()
	e.id, e.created, e.expires = newID(), now, now.Add(b.ttl)
	for len(b.entries) >= maxBulkEntries {
		var oldest *bulkEntry
		for _, x := range b.entries {
			if oldest == nil || x.created.Before(oldest.created) {
				oldest = x
			}
		}
		delete(b.entries, oldest.id)
		os.Remove(oldest.path)
	}
	b.entries[e.id] = e
	return nil
}

// Put stores recs as a new result readable by profile and returns its id
// and expiry. Bulk reads stream into the store instead; Put is for callers
// that already hold the records.
func (b *BulkResults) Put(profile string, recs []tiers.Record) (id string, expires time.Time, err error) {
	s := newBulkSink(b, &permissions.Profile{Name: profile}, 0)
	for _, r := range recs {
		if err := s.Write(r); err != nil {
			s.discard()
			return "", time.Time{}, err
		}
	}
	if len(recs) == 0 {
		if err := s.spillLocked(); err != nil {
			return "", time.Time{}, err
		}
	}
	return s.commit()
}

// BulkPage is one page of a bulk result.
type BulkPage struct {
	ID        string            `json:"id"`
	Page      int               `json:"page"`  // 1-based
	Pages     int               `json:"pages"` // at least 1
	Total     int               `json:"total"` // records in the whole result
	Records   []json.RawMessage `json:"records"`
	NextURI   string            `json:"next_page_uri,omitempty"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// Read returns page (1-based) of result id for profile. A result that does
// not exist, has expired or belongs to another profile is ErrBulkNotFound.
func (b *BulkResults) Read(profile, id string, page int) (BulkPage, error) {
	b.Sweep()
	b.mu.Lock()
	e, ok := b.entries[id]
	if ok && e.profile != profile {
		ok = false
	}
	var path string
	var off int64
	var count int
	var pages int
	var expires time.Time
	if ok {
		path, count, expires = e.path, e.count, e.expires
		pages = max(1, (count+BulkPageSize-1)/BulkPageSize)
		if page >= 1 && page <= len(e.offsets) {
			off = e.offsets[page-1]
		}
	}
	b.mu.Unlock()
	if !ok {
		return BulkPage{}, fmt.Errorf("%w: %s does not exist, has expired or belongs to another caller; run bulk_read_accounts again", ErrBulkNotFound, BulkURIPrefix+clip(id))
	}
	if page < 1 || page > pages {
		return BulkPage{}, fmt.Errorf("page %d does not exist: %s has pages 1–%d", page, BulkURIPrefix+id, pages)
	}
	out := BulkPage{ID: id, Page: page, Pages: pages, Total: count, Records: []json.RawMessage{}, ExpiresAt: expires.UTC()}
	if page < pages {
		out.NextURI = fmt.Sprintf("%s%s?page=%d", BulkURIPrefix, id, page+1)
	}
	f, err := os.Open(path)
	if err != nil {
		return BulkPage{}, fmt.Errorf("%w: %s is no longer available; run bulk_read_accounts again", ErrBulkNotFound, BulkURIPrefix+id)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return BulkPage{}, err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	want := min(BulkPageSize, count-(page-1)*BulkPageSize)
	for len(out.Records) < want {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			out.Records = append(out.Records, json.RawMessage(bytes.TrimSpace(line)))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return BulkPage{}, err
		}
	}
	return out, nil
}

// Sweep removes expired results and returns how many it removed.
func (b *BulkResults) Sweep() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	n := 0
	for id, e := range b.entries {
		if !now.Before(e.expires) {
			delete(b.entries, id)
			os.Remove(e.path)
			n++
		}
	}
	return n
}

// Len returns how many results are held (expired ones included until the
// next Sweep).
func (b *BulkResults) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}

// Close removes every result and the store's directory. Results cannot be
// added afterwards.
func (b *BulkResults) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.entries = map[string]*bulkEntry{}
	if b.dir == "" {
		return nil
	}
	err := os.RemoveAll(b.dir)
	b.dir = ""
	return err
}

// BulkURITemplate is the URI template of bulk result resources.
const BulkURITemplate = "zoho-mcp-proxy://bulk/{id}{?page}"

// ResourceTemplate returns the resource template of bulk results and the
// handler serving resources/read for it, for MCPServer.AddResourceTemplate.
// Each read returns one page (BulkPageSize records) as application/json:
// {id, page, pages, total, records, next_page_uri?, expires_at}; the caller
// must have the profile that made the result (permissions.ProfileFrom).
func (b *BulkResults) ResourceTemplate() (mcp.ResourceTemplate, server.ResourceTemplateHandlerFunc) {
	t := mcp.NewResourceTemplate(BulkURITemplate, "bulk_read_result",
		mcp.WithTemplateTitle("Bulk read result"),
		mcp.WithTemplateDescription(fmt.Sprintf("A large bulk_read_accounts result, %d records per page: read zoho-mcp-proxy://bulk/{id} for page 1, then follow next_page_uri (…?page=N). Results expire after %s and are readable only by the caller that made them.", BulkPageSize, b.ttl)),
		mcp.WithTemplateMIMEType("application/json"),
	)
	return t, func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		id, page, err := parseBulkURI(req.Params.URI)
		if err != nil {
			return nil, err
		}
		prof := permissions.ProfileFrom(ctx)
		if prof == nil || !prof.Allows(permissions.ScopeBulk, permissions.ScopeRead) {
			return nil, fmt.Errorf("%w: reading bulk results needs the bulk and read scopes", ErrBulkNotFound)
		}
		pg, err := b.Read(prof.Name, id, page)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(pg)
		if err != nil {
			return nil, err
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: string(body)}}, nil
	}
}

// parseBulkURI splits zoho-mcp-proxy://bulk/{id}[?page=N].
func parseBulkURI(uri string) (id string, page int, err error) {
	bad := fmt.Errorf("%q is not a bulk result URI; expected %s{id} or %s{id}?page=N", clip(uri), BulkURIPrefix, BulkURIPrefix)
	u, perr := url.Parse(uri)
	if perr != nil || u.Scheme != "zoho-mcp-proxy" || u.Host != "bulk" || len(u.Path) < 2 {
		return "", 0, bad
	}
	id = u.Path[1:]
	if _, herr := hex.DecodeString(id); herr != nil || len(id) != 32 {
		return "", 0, fmt.Errorf("%w: %q is not a bulk result id", ErrBulkNotFound, clip(id))
	}
	page = 1
	q := u.Query()
	for k := range q {
		if k != "page" {
			return "", 0, bad
		}
	}
	if p := q.Get("page"); p != "" {
		page, err = strconv.Atoi(p)
		if err != nil || page < 1 {
			return "", 0, fmt.Errorf("page must be a whole number from 1 (got %q)", clip(p))
		}
	}
	return id, page, nil
}

// resultsDir is exposed for tests.
func (b *BulkResults) resultsDir() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dir
}
