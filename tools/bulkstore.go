package tools

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// BulkURIPrefix starts the URI of every bulk result resource:
// zoho-mcp-proxy://bulk/{id}, with ?page=N for pages after the first.
const BulkURIPrefix = "zoho-mcp-proxy://bulk/"

// BulkURITemplate is the URI template of bulk result resources.
const BulkURITemplate = "zoho-mcp-proxy://bulk/{id}{?page}"

// whoReads says, in the tools' descriptions, exactly who can read a
// result.
const whoReads = "Only the caller that made it can read it: the same bearer token over HTTP (any of its sessions; without tokens, any local client of the proxy), or the same stdio process"

// bulkSink is the tiers.RecordSink of one bulk read. It keeps up to limit
// records in memory; past that it streams them into a new result of the
// caller in the store (when there is one). Denied fields are removed before
// a record is kept anywhere.
type bulkSink struct {
	ctx   context.Context
	store ResultStore // nil: no spilling, records past limit are only counted
	owner permissions.Caller
	prof  *permissions.Profile
	// module is the records' module, whose deny lists apply.
	module string
	limit  int

	mu     sync.Mutex
	inline []tiers.Record
	count  int
	w      ResultWriter
	err    error // the store's refusal, if any
}

var _ tiers.RecordSink = (*bulkSink)(nil)

func newBulkSink(ctx context.Context, store ResultStore, prof *permissions.Profile, module string, limit int) *bulkSink {
	return &bulkSink{ctx: ctx, store: store, owner: permissions.CallerFrom(ctx), prof: prof, module: module, limit: limit}
}

// Write keeps one record.
func (s *bulkSink) Write(rec tiers.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec = redactIn(s.module, rec, s.prof)
	s.count++
	if s.w == nil && s.count <= s.limit {
		s.inline = append(s.inline, rec)
		return nil
	}
	if s.store == nil {
		s.inline = nil // too many to inline and nowhere to keep them: count only
		return nil
	}
	if s.w == nil {
		if err := s.spill(); err != nil {
			s.err = err
			return err
		}
	}
	if err := s.append(rec); err != nil {
		s.err = err
		return err
	}
	return nil
}

// spill starts the result and moves the in-memory records into it.
func (s *bulkSink) spill() error {
	w, err := s.store.Create(s.ctx, s.owner)
	if err != nil {
		return err
	}
	s.w = w
	held := s.inline
	s.inline = nil
	for _, r := range held {
		if err := s.append(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *bulkSink) append(rec tiers.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("bulk result: record cannot be encoded: %w", err)
	}
	return s.w.Append(s.ctx, b)
}

// Reset discards everything written: the router calls it before retrying
// the read on another tier. A started result is aborted, so the retry
// starts in memory again and a small second answer is still inline.
func (s *bulkSink) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inline, s.count, s.err = nil, 0, nil
	if s.w == nil {
		return nil
	}
	err := s.w.Abort(s.ctx)
	s.w = nil
	return err
}

// spilled reports whether the records went to the store.
func (s *bulkSink) spilled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w != nil
}

// refusal returns the store's refusal of a record, if any.
func (s *bulkSink) refusal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// discard removes what the sink started in the store, if anything.
func (s *bulkSink) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		_ = s.w.Abort(s.ctx)
		s.w = nil
	}
	s.inline = nil
}

// commit makes the sink's result readable by its caller.
func (s *bulkSink) commit() (ResultInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return ResultInfo{}, errors.New("bulk result: nothing to commit")
	}
	info, err := s.w.Commit(s.ctx)
	s.w = nil
	return info, err
}

// putRecords stores recs (JSON values) as a new result of the caller in ctx.
func putRecords[T any](ctx context.Context, store ResultStore, recs []T) (ResultInfo, error) {
	w, err := store.Create(ctx, permissions.CallerFrom(ctx))
	if err != nil {
		return ResultInfo{}, err
	}
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err == nil {
			err = w.Append(ctx, b)
		}
		if err != nil {
			_ = w.Abort(ctx)
			return ResultInfo{}, err
		}
	}
	return w.Commit(ctx)
}

// BulkPage is one page of a bulk result as resources/read and
// read_bulk_result return it.
type BulkPage struct {
	ID        string            `json:"id"`
	Page      int               `json:"page"`  // 1-based
	Pages     int               `json:"pages"` // at least 1
	Total     int               `json:"total"` // records in the whole result
	Records   []json.RawMessage `json:"records"`
	NextURI   string            `json:"next_page_uri,omitempty"`
	NextPage  int               `json:"next_page,omitempty"`
	ExpiresAt time.Time         `json:"expires_at"`
}

func bulkPage(p ResultPage) BulkPage {
	out := BulkPage{ID: p.ID, Page: p.Page, Pages: p.Pages, Total: p.Total, Records: p.Records, ExpiresAt: p.Expires.UTC()}
	if out.Records == nil {
		out.Records = []json.RawMessage{}
	}
	if p.Page < p.Pages {
		out.NextPage = p.Page + 1
		out.NextURI = fmt.Sprintf("%s%s?page=%d", BulkURIPrefix, p.ID, out.NextPage)
	}
	return out
}

// readPage reads page of the caller's result id, with messages for the
// agent.
func readPage(ctx context.Context, store ResultStore, id string, page int) (BulkPage, error) {
	p, err := store.Page(ctx, permissions.CallerFrom(ctx), id, page)
	if errors.Is(err, ErrResultNotFound) {
		return BulkPage{}, fmt.Errorf("%w: %s does not exist, has expired or belongs to another caller; run bulk_read_accounts (or the bulk tool that made it) again", ErrResultNotFound, BulkURIPrefix+tiers.Clip(id, 60))
	}
	if err != nil {
		return BulkPage{}, err
	}
	return bulkPage(p), nil
}

// ResourceTemplate returns the resource template of bulk results and the
// handler serving resources/read for it, for MCPServer.AddResourceTemplate.
// Each read returns one page (the store's page size) as application/json:
// {id, page, pages, total, records, next_page_uri?, expires_at}; only the
// caller that made the result can read it (permissions.CallerFrom).
func ResourceTemplate(store ResultStore) (mcp.ResourceTemplate, server.ResourceTemplateHandlerFunc) {
	t := mcp.NewResourceTemplate(BulkURITemplate, "bulk_result",
		mcp.WithTemplateTitle("Bulk result"),
		mcp.WithTemplateDescription(fmt.Sprintf("A large bulk tool result (the records of bulk_read_accounts and bulk_read_records, the per-record outcomes of bulk_update_accounts and bulk_update_records), %d records per page: read zoho-mcp-proxy://bulk/{id} for page 1, then follow next_page_uri (…?page=N), or page it with the read_bulk_result tool. Results expire after %s. %s.", store.PageSize(), store.TTL(), whoReads)),
		mcp.WithTemplateMIMEType("application/json"),
	)
	return t, func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		id, page, err := parseBulkURI(req.Params.URI)
		if err != nil {
			return nil, err
		}
		prof := permissions.ProfileFrom(ctx)
		if prof == nil || !prof.Allows(permissions.ScopeBulk) {
			return nil, fmt.Errorf("%w: reading bulk results needs the bulk scope", ErrResultNotFound)
		}
		pg, err := readPage(ctx, store, id, page)
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

// ListResources returns the caller's live results as resources, for
// resources/list: only the caller's own, never another's.
func ListResources(store ResultStore) func(ctx context.Context) []mcp.Resource {
	return func(ctx context.Context) []mcp.Resource {
		prof := permissions.ProfileFrom(ctx)
		owner := permissions.CallerFrom(ctx)
		if prof == nil || !prof.Allows(permissions.ScopeBulk) || owner == "" {
			return nil
		}
		infos, err := store.List(ctx, owner)
		if err != nil {
			return nil
		}
		out := make([]mcp.Resource, 0, len(infos))
		for _, in := range infos {
			out = append(out, mcp.NewResource(BulkURIPrefix+in.ID, "bulk_result_"+in.ID[:8],
				mcp.WithResourceDescription(fmt.Sprintf("%d records in %d page%s of up to %d; expires %s", in.Total, in.Pages, plural(in.Pages), store.PageSize(), in.Expires.UTC().Format(time.RFC3339))),
				mcp.WithMIMEType("application/json")))
		}
		return out
	}
}

// parseBulkURI splits zoho-mcp-proxy://bulk/{id}[?page=N].
func parseBulkURI(uri string) (id string, page int, err error) {
	bad := fmt.Errorf("%q is not a bulk result URI; expected %s{id} or %s{id}?page=N", tiers.Clip(uri, 60), BulkURIPrefix, BulkURIPrefix)
	u, perr := url.Parse(uri)
	if perr != nil || u.Scheme != "zoho-mcp-proxy" || u.Host != "bulk" || len(u.Path) < 2 {
		return "", 0, bad
	}
	id = u.Path[1:]
	if !isResultID(id) {
		return "", 0, fmt.Errorf("%w: %q is not a bulk result id", ErrResultNotFound, tiers.Clip(id, 60))
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
			return "", 0, fmt.Errorf("page must be a whole number from 1 (got %q)", tiers.Clip(p, 60))
		}
	}
	return id, page, nil
}

// isResultID reports whether id has the shape of a result id: 32 hex
// digits.
func isResultID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}
