package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools/resultstoretest"
)

// redisClient connects one "replica" to srv under prefix.
func redisClient(t *testing.T, srv *redistest.Server, prefix string, now func() time.Time) *cluster.Client {
	t.Helper()
	c, err := cluster.New(cluster.Config{URL: srv.URL(), Prefix: prefix, Now: now, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSharedResultsContract: the Redis store of replicas keeps the contract
// of every ResultStore, the one FileResults keeps (tools'
// TestFileResultsContract): the same binding to the caller, own-oldest
// eviction, byte cap, expiry and job handles. Each store is two replicas'
// views of one Redis: results are written through one and read through the
// other.
func TestSharedResultsContract(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var n atomic.Int64
	resultstoretest.Run(t, func(t *testing.T, cfg resultstoretest.Config) tools.ResultStore {
		prefix := fmt.Sprintf("contract%d:", n.Add(1))
		mk := func() *sharedResults {
			s := newSharedResults(redisClient(t, srv, prefix, cfg.Now), cfg.MaxBytes, nil)
			// The contract's quotas and TTL (app uses FileResults' defaults).
			s.r = cluster.NewResults(redisClient(t, srv, prefix, cfg.Now), cluster.ResultsConfig{TTL: cfg.TTL,
				PageSize: tools.BulkPageSize, OwnerResults: cfg.OwnerResults, MaxBytes: cfg.MaxBytes})
			return s
		}
		return twoReplicas{writer: mk(), reader: mk()}
	})
}

// twoReplicas writes through one store and reads through another on the
// same Redis.
type twoReplicas struct{ writer, reader tools.ResultStore }

func (r twoReplicas) Create(ctx context.Context, o permissions.Caller) (tools.ResultWriter, error) {
	return r.writer.Create(ctx, o)
}
func (r twoReplicas) Page(ctx context.Context, o permissions.Caller, id string, p int) (tools.ResultPage, error) {
	return r.reader.Page(ctx, o, id, p)
}
func (r twoReplicas) List(ctx context.Context, o permissions.Caller) ([]tools.ResultInfo, error) {
	return r.reader.List(ctx, o)
}
func (r twoReplicas) Delete(ctx context.Context, o permissions.Caller, id string) error {
	return r.reader.Delete(ctx, o, id)
}
func (r twoReplicas) PutJob(ctx context.Context, o permissions.Caller, id string, d []byte) error {
	return r.writer.PutJob(ctx, o, id, d)
}
func (r twoReplicas) Job(ctx context.Context, o permissions.Caller, id string) ([]byte, error) {
	return r.reader.Job(ctx, o, id)
}
func (r twoReplicas) PageSize() int      { return r.reader.PageSize() }
func (r twoReplicas) TTL() time.Duration { return r.reader.TTL() }

// TestSharedResultsDefaultsAreFileResults: with Redis the agent sees the
// same page size, expiry and byte cap as without.
func TestSharedResultsDefaultsAreFileResults(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newSharedResults(redisClient(t, srv, "defaults:", nil), 1<<20, nil)
	files, err := tools.NewFileResults(tools.FileResultsConfig{Dir: t.TempDir(), MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	if s.PageSize() != files.PageSize() || s.TTL() != files.TTL() || s.r.MaxBytes() != files.MaxBytes() || s.r.OwnerBytes() != files.OwnerBytes() {
		t.Errorf("shared: page %d, TTL %v, max %d, owner %d; files: page %d, TTL %v, max %d, owner %d",
			s.PageSize(), s.TTL(), s.r.MaxBytes(), s.r.OwnerBytes(), files.PageSize(), files.TTL(), files.MaxBytes(), files.OwnerBytes())
	}
}

// TestSharedResultsWhenRedisDies: while Redis is unusable a replica keeps
// new results and job handles on its own disk and serves them itself; a
// result that lives in Redis is then reported unavailable (not "not
// found", which would tell the agent it is gone for good).
func TestSharedResultsWhenRedisDies(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	files, err := tools.NewFileResults(tools.FileResultsConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	s := newSharedResults(redisClient(t, srv, "dies:", nil), 1<<20, files)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const me = permissions.Caller("token:a")
	inRedis, err := resultstoretest.Put(ctx, s, me, 3, 20)
	if err != nil {
		t.Fatal(err)
	}
	if files.Len() != 0 {
		t.Fatal("a result went to disk while Redis was up")
	}
	srv.Stop()
	local, err := resultstoretest.Put(ctx, s, me, 3, 20)
	if err != nil {
		t.Fatalf("with Redis down: %v", err)
	}
	if files.Len() != 1 {
		t.Fatalf("files hold %d results, want the one made while Redis is down", files.Len())
	}
	if pg, err := s.Page(ctx, me, local.ID, 1); err != nil || len(pg.Records) != 3 {
		t.Fatalf("the local result: %+v, %v", pg, err)
	}
	if _, err := s.Page(ctx, "token:b", local.ID, 1); !errors.Is(err, tools.ErrResultNotFound) && !errors.Is(err, cluster.ErrUnavailable) {
		t.Errorf("another caller read the local result: %v", err)
	}
	_, err = s.Page(ctx, me, inRedis.ID, 1)
	if err == nil || errors.Is(err, tools.ErrResultNotFound) || !strings.Contains(err.Error(), "Redis") {
		t.Errorf("a result in a dead Redis: %v", err)
	}
	if l, err := s.List(ctx, me); err != nil || len(l) != 1 || l[0].ID != local.ID {
		t.Errorf("List with Redis down = %+v, %v", l, err)
	}
	if err := s.PutJob(ctx, me, "j", []byte(`{}`)); err != nil {
		t.Fatalf("job handle with Redis down: %v", err)
	}
	if d, err := s.Job(ctx, me, "j"); err != nil || string(d) != `{}` {
		t.Errorf("job handle kept locally: %s, %v", d, err)
	}
	// Without a local store, Redis being down is a refusal that says so.
	bare := newSharedResults(redisClient(t, srv, "dies:", nil), 1<<20, nil)
	if _, err := bare.Create(ctx, me); !errors.Is(err, cluster.ErrUnavailable) {
		t.Errorf("no local store, Redis down: %v", err)
	}
}

// BenchmarkResultPage reads one full page (500 records of about 2 KB, an
// Accounts record with every field) from each store: the cost of serving a
// result through Redis rather than from this replica's disk.
func BenchmarkResultPage(b *testing.B) {
	srv := redistest.Start(b)
	files, err := tools.NewFileResults(tools.FileResultsConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer files.Close()
	c, err := cluster.New(cluster.Config{URL: srv.URL(), Prefix: "bench:", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for _, st := range []struct {
		name string
		s    tools.ResultStore
	}{{"files", files}, {"redis", newSharedResults(c, 1<<30, nil)}} {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			info, err := resultstoretest.Put(ctx, st.s, "token:a", tools.BulkPageSize, 2048)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(info.Bytes)
			b.ResetTimer()
			for b.Loop() {
				if _, err := st.s.Page(ctx, "token:a", info.ID, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
