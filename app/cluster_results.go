package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
)

// resultStore makes the store of the bulk tools' results and job handles:
// the files of this process (tools.FileResults in o.TempDir) and, when
// cfg.Redis is set, the shared store in Redis in front of them, so that a
// result made through one replica is served by every other. What it opens
// is closed by a.Close.
func (a *App) resultStore(cfg *config.Config, o Options) (tools.ResultStore, error) {
	var local tools.ResultStore
	files, ferr := tools.NewFileResults(tools.FileResultsConfig{Dir: o.TempDir, MaxBytes: cfg.BulkResultMaxBytes, Now: o.Now, Logger: o.Logger})
	if ferr == nil {
		local = files
		a.closers = append(a.closers, files.Close)
	}
	if !cfg.Redis.Enabled() {
		return local, ferr
	}
	if ferr != nil {
		o.Logger.Warn("bulk results cannot be kept on this replica's disk while Redis is unusable", "error", ferr.Error())
	}
	// The replica's one Redis client (app/cluster.go), already pinged and
	// closed by a.Close.
	c := a.Cluster
	if c == nil {
		return local, ferr
	}
	return newSharedResults(c, cfg.BulkResultMaxBytes, local), nil
}

// newSharedResults returns the ResultStore of replicas on c: results and
// job handles in Redis with the same page size, expiry and per-caller
// quotas as tools.FileResults, maxBytes in all (shared by every replica).
// While Redis is unusable, results and job handles go to local (nil:
// refused), where only this replica can serve them.
func newSharedResults(c *cluster.Client, maxBytes int64, local tools.ResultStore) *sharedResults {
	return &sharedResults{r: cluster.NewResults(c, cluster.ResultsConfig{TTL: tools.DefaultBulkTTL, PageSize: tools.BulkPageSize,
		OwnerResults: tools.DefaultOwnerResults, MaxBytes: maxBytes}), local: local}
}

// sharedResults is tools.ResultStore over cluster.Results. A caller
// (permissions.Caller, the identity FileResults binds results to) becomes
// a cluster.OwnerID, a hash that names it in Redis without revealing it.
type sharedResults struct {
	r     *cluster.Results
	local tools.ResultStore // nil: no fallback
}

var (
	_ tools.ResultStore  = (*sharedResults)(nil)
	_ tools.ResultWriter = (*sharedWriter)(nil)
)

// owner returns the OwnerID of c; false for no caller, who owns nothing.
func owner(c permissions.Caller) (cluster.OwnerID, bool) {
	if c == "" {
		return "", false
	}
	return cluster.NewOwnerID(string(c)), true
}

// storeError keeps cluster's message and matches the tools error of its
// kind (errors.Is), which the bulk tools and resources/read act on.
type storeError struct{ err, kind error }

func (e storeError) Error() string   { return e.err.Error() }
func (e storeError) Unwrap() []error { return []error{e.err, e.kind} }

// mapError gives cluster's errors their tools meaning.
func mapError(err error) error {
	for _, m := range []struct{ from, to error }{
		{cluster.ErrNotFound, tools.ErrResultNotFound},
		{cluster.ErrOwnerQuota, tools.ErrOwnerQuota},
		{cluster.ErrStoreFull, tools.ErrStoreFull},
	} {
		if errors.Is(err, m.from) {
			return storeError{err, m.to}
		}
	}
	return err
}

// fallback reports whether err is Redis being unusable and there is a
// local store to use instead.
func (s *sharedResults) fallback(err error) bool {
	return s.local != nil && errors.Is(err, cluster.ErrUnavailable)
}

func (s *sharedResults) Create(ctx context.Context, c permissions.Caller) (tools.ResultWriter, error) {
	o, ok := owner(c)
	if !ok {
		return nil, errors.New("bulk result store: the call has no caller identity to bind a result to")
	}
	w, err := s.r.Create(ctx, o)
	if s.fallback(err) {
		return s.local.Create(ctx, c)
	}
	if err != nil {
		return nil, mapError(err)
	}
	return &sharedWriter{w: w}, nil
}

func (s *sharedResults) Page(ctx context.Context, c permissions.Caller, id string, page int) (tools.ResultPage, error) {
	o, ok := owner(c)
	if !ok {
		return tools.ResultPage{}, fmt.Errorf("result %s: %w", id, tools.ErrResultNotFound)
	}
	p, err := s.r.Page(ctx, o, id, page)
	if err == nil {
		return tools.ResultPage{ResultInfo: tools.ResultInfo(p.ResultInfo), Page: p.Page, Records: p.Records}, nil
	}
	if s.local != nil && (errors.Is(err, cluster.ErrNotFound) || errors.Is(err, cluster.ErrUnavailable)) {
		// Made here while Redis was unusable?
		lp, lerr := s.local.Page(ctx, c, id, page)
		if lerr == nil || !errors.Is(lerr, tools.ErrResultNotFound) {
			return lp, lerr
		}
	}
	return tools.ResultPage{}, mapError(err)
}

func (s *sharedResults) List(ctx context.Context, c permissions.Caller) ([]tools.ResultInfo, error) {
	o, ok := owner(c)
	if !ok {
		return nil, nil
	}
	infos, err := s.r.List(ctx, o)
	if err != nil && !s.fallback(err) {
		return nil, err
	}
	out := make([]tools.ResultInfo, 0, len(infos))
	for _, in := range infos {
		out = append(out, tools.ResultInfo(in))
	}
	if s.local != nil {
		mine, lerr := s.local.List(ctx, c)
		if lerr != nil && err != nil {
			return nil, errors.Join(err, lerr)
		}
		out = append(out, mine...)
	}
	return out, nil
}

func (s *sharedResults) Delete(ctx context.Context, c permissions.Caller, id string) error {
	o, ok := owner(c)
	if !ok {
		return nil
	}
	err := s.r.Delete(ctx, o, id)
	if s.local != nil {
		return errors.Join(s.local.Delete(ctx, c, id), err)
	}
	return err
}

func (s *sharedResults) PutJob(ctx context.Context, c permissions.Caller, id string, data []byte) error {
	o, ok := owner(c)
	if !ok {
		return errors.New("bulk result store: the call has no caller identity to bind a job to")
	}
	err := s.r.PutJob(ctx, o, id, data)
	if s.fallback(err) {
		return s.local.PutJob(ctx, c, id, data)
	}
	return mapError(err)
}

func (s *sharedResults) Job(ctx context.Context, c permissions.Caller, id string) ([]byte, error) {
	o, ok := owner(c)
	if !ok {
		return nil, fmt.Errorf("job %s: %w", id, tools.ErrResultNotFound)
	}
	d, err := s.r.Job(ctx, o, id)
	if err == nil {
		return d, nil
	}
	if s.local != nil && (errors.Is(err, cluster.ErrNotFound) || errors.Is(err, cluster.ErrUnavailable)) {
		ld, lerr := s.local.Job(ctx, c, id)
		if lerr == nil || !errors.Is(lerr, tools.ErrResultNotFound) {
			return ld, lerr
		}
	}
	return nil, mapError(err)
}

func (s *sharedResults) PageSize() int      { return s.r.PageSize() }
func (s *sharedResults) TTL() time.Duration { return s.r.TTL() }

// sharedWriter is tools.ResultWriter over cluster.ResultWriter.
type sharedWriter struct{ w *cluster.ResultWriter }

func (w *sharedWriter) ID() string { return w.w.ID() }

func (w *sharedWriter) Append(ctx context.Context, rec json.RawMessage) error {
	return mapError(w.w.Append(ctx, rec))
}

func (w *sharedWriter) Commit(ctx context.Context) (tools.ResultInfo, error) {
	info, err := w.w.Commit(ctx)
	return tools.ResultInfo(info), mapError(err)
}

func (w *sharedWriter) Abort(ctx context.Context) error { return w.w.Abort(ctx) }
