package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of ResultsConfig.
const (
	DefaultResultTTL      = time.Hour
	DefaultResultPageSize = 500
	DefaultOwnerResults   = 16
	DefaultMaxBytes       = 256 << 20
	// maxJobHandle bounds one job handle's data.
	maxJobHandle = 64 << 10
	// sweepBatchLua bounds how many expired results one call reclaims.
	sweepBatchLua = "100"
)

// Errors of Results. A result or job that does not exist, has expired or
// belongs to another owner is ErrNotFound: the three are not told apart, so
// that ids cannot be probed.
var (
	ErrNotFound   = errors.New("not found, expired or made by another caller")
	ErrOwnerQuota = errors.New("this caller's share of the shared result store is used up: read or let older results expire, or ask for fewer records")
	ErrStoreFull  = errors.New("the shared result store is full: try again later or ask for fewer records")
)

// OwnerID names one caller (a bearer token, a stdio process) in Redis
// without revealing its identity.
type OwnerID string

// NewOwnerID returns the owner id of a caller identity: 32 hex digits of a
// SHA-256.
func NewOwnerID(identity string) OwnerID {
	sum := sha256.Sum256([]byte("zoho-mcp-proxy owner\x00" + identity))
	return OwnerID(hex.EncodeToString(sum[:16]))
}

// ResultsConfig configures Results. The zero value takes every default.
type ResultsConfig struct {
	// TTL is how long a result or job handle stays readable. Zero means
	// DefaultResultTTL.
	TTL time.Duration
	// PageSize is how many records a page holds. Zero means
	// DefaultResultPageSize.
	PageSize int
	// OwnerResults bounds the live results of one owner, and separately
	// its job handles. Zero means DefaultOwnerResults.
	OwnerResults int
	// OwnerBytes bounds the bytes of one owner's live results. Zero (or
	// more than MaxBytes) means a quarter of MaxBytes.
	OwnerBytes int64
	// MaxBytes bounds the bytes of all live results. Zero means
	// DefaultMaxBytes.
	MaxBytes int64
}

// Results keeps large bulk-read results and bulk job handles in Redis, so
// that any replica serves any page: each result belongs to one owner, is
// stored in pages (a page read costs O(page), not O(result)), counts
// against its owner's quota and the store's byte cap, and expires after
// TTL (its bytes are reclaimed by the next write, even if its writer died).
// As in the one-process store (tools.FileResults), one owner never evicts
// another's results: when an owner's share (OwnerResults results,
// OwnerBytes bytes) is used up, its own oldest readable results make room;
// when the whole store (MaxBytes) is full, new results are refused. Job
// handles are capped per owner the same way (its oldest goes).
// It is safe for concurrent use and starts no goroutines.
//
// All keys share the hash tag {res}, so the accounting scripts work on a
// Redis Cluster too (in one slot).
type Results struct {
	c   *Client
	cfg ResultsConfig
}

// NewResults returns the result store on c.
func NewResults(c *Client, cfg ResultsConfig) *Results {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultResultTTL
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultResultPageSize
	}
	if cfg.OwnerResults <= 0 {
		cfg.OwnerResults = DefaultOwnerResults
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.OwnerBytes <= 0 || cfg.OwnerBytes > cfg.MaxBytes {
		cfg.OwnerBytes = max(cfg.MaxBytes/4, 1)
	}
	return &Results{c: c, cfg: cfg}
}

// PageSize returns how many records a page holds.
func (r *Results) PageSize() int { return r.cfg.PageSize }

// TTL returns how long a result or job handle stays readable.
func (r *Results) TTL() time.Duration { return r.cfg.TTL }

// MaxBytes returns the cap on the bytes of all live results.
func (r *Results) MaxBytes() int64 { return r.cfg.MaxBytes }

// OwnerBytes returns one owner's share of MaxBytes.
func (r *Results) OwnerBytes() int64 { return r.cfg.OwnerBytes }

func (r *Results) k(parts ...string) string {
	return r.c.key(append([]string{"res:{res}"}, parts...)...)
}

// acct are the accounting keys every script gets first: index (id →
// expiry), sizes (id → bytes), owners (id → owner), total bytes, bytes per
// owner.
func (r *Results) acct() []string {
	return []string{r.k("index"), r.k("sizes"), r.k("owners"), r.k("total"), r.k("ownerbytes")}
}

// resultsLib reclaims the bytes of expired results (their keys expire by
// themselves) and defines forget(id), which drops one result's accounting.
const resultsLib = `
local now = tonumber(ARGV[1])
local function forget(id)
  local b = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  local o = redis.call('HGET', KEYS[3], id)
  redis.call('DECRBY', KEYS[4], b)
  if o then
    redis.call('HINCRBY', KEYS[5], o, 0 - b) -- not -b: Lua renders -0 as "-0", which HINCRBY refuses
    redis.call('ZREM', KEYS[6] .. o, id)
  end
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ` + sweepBatchLua + `)) do forget(id) end
`

// resultsCreate registers result ARGV[2] of owner ARGV[3] expiring at
// ARGV[4]: -1 when the owner has ARGV[5] live results already.
var resultsCreate = redis.NewScript(resultsLib + `
local own = KEYS[6] .. ARGV[3]
redis.call('ZREMRANGEBYSCORE', own, '-inf', now)
if redis.call('ZCARD', own) >= tonumber(ARGV[5]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('ZADD', own, ARGV[4], ARGV[2])
redis.call('PEXPIRE', own, ARGV[6])
redis.call('HSET', KEYS[2], ARGV[2], 0)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[7], 'owner', ARGV[3], 'state', 'w', 'exp', ARGV[4])
redis.call('PEXPIRE', KEYS[7], ARGV[6])
return 1
`)

// resultsPage stores page KEYS[8] (ARGV[7]) of result ARGV[2] of owner
// ARGV[3] if the quotas allow ARGV[5] more bytes: -1 owner quota, -2 store
// full, -3 the result is gone.
var resultsPage = redis.NewScript(resultsLib + `
if redis.call('HGET', KEYS[7], 'owner') ~= ARGV[3] or redis.call('HGET', KEYS[7], 'state') ~= 'w' then return -3 end
local n = tonumber(ARGV[5])
if tonumber(redis.call('HGET', KEYS[5], ARGV[3]) or '0') + n > tonumber(ARGV[8]) then return -1 end
if tonumber(redis.call('GET', KEYS[4]) or '0') + n > tonumber(ARGV[9]) then return -2 end
redis.call('SET', KEYS[8], ARGV[7], 'PX', ARGV[6])
redis.call('HINCRBY', KEYS[2], ARGV[2], n)
redis.call('INCRBY', KEYS[4], n)
redis.call('HINCRBY', KEYS[5], ARGV[3], n)
return 1
`)

// resultsCommit makes result ARGV[2] readable with ARGV[4] records in
// ARGV[5] pages.
var resultsCommit = redis.NewScript(resultsLib + `
if redis.call('HGET', KEYS[7], 'owner') ~= ARGV[3] or redis.call('HGET', KEYS[7], 'state') ~= 'w' then return -3 end
redis.call('HSET', KEYS[7], 'state', 'r', 'total', ARGV[4], 'pages', ARGV[5], 'bytes', redis.call('HGET', KEYS[2], ARGV[2]) or '0')
return 1
`)

// resultsDelete removes result ARGV[2] of owner ARGV[3] (pages KEYS[8…]).
var resultsDelete = redis.NewScript(resultsLib + `
if redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[3] then return 0 end
forget(ARGV[2])
for i = 7, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
`)

// ResultInfo describes a stored result.
type ResultInfo struct {
	ID      string
	Total   int   // records
	Pages   int   // at least 1
	Bytes   int64 // stored bytes
	Expires time.Time
}

// ResultPage is one page of a result.
type ResultPage struct {
	ResultInfo
	Page    int // 1-based
	Records []json.RawMessage
}

func newResultID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Results) scriptKeys(id string, extra ...string) []string {
	return append(append(r.acct(), r.k("own")+":", r.k(id, "meta")), extra...)
}

func (r *Results) pageKey(id string, page int) string { return r.k(id, "p", strconv.Itoa(page)) }

// ResultWriter streams the records of one new result into Redis, one page
// at a time. It is not safe for concurrent use.
type ResultWriter struct {
	r       *Results
	owner   OwnerID
	id      string
	expires time.Time
	buf     []byte // the current page: '[' rec ',' rec …
	inPage  int
	total   int
	pages   int
	bytes   int64
	done    bool
}

// Create starts a new result of owner. When owner already has
// OwnerResults live results (being written ones included), its oldest
// readable ones make room; when all of them are still being written, it
// fails with ErrOwnerQuota.
func (r *Results) Create(ctx context.Context, owner OwnerID) (*ResultWriter, error) {
	if owner == "" {
		return nil, errors.New("cluster: a result needs an owner")
	}
	now := r.c.now()
	w := &ResultWriter{r: r, owner: owner, id: newResultID(), expires: now.Add(r.cfg.TTL)}
	// Each round evicts one result; other replicas may be adding results of
	// the same owner meanwhile, so the rounds are bounded.
	for range r.cfg.OwnerResults + 1 {
		var code int64
		err := r.c.do(ctx, "result create", func(ctx context.Context) error {
			var err error
			code, err = resultsCreate.Run(ctx, r.c.rdb, r.scriptKeys(w.id), now.UnixMilli(), w.id, string(owner),
				w.expires.UnixMilli(), r.cfg.OwnerResults, r.cfg.TTL.Milliseconds()).Int64()
			return err
		})
		if err != nil {
			return nil, err
		}
		if code != -1 {
			return w, nil
		}
		if ok, err := r.evictOldest(ctx, owner, ""); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("%w (%d results at most)", ErrOwnerQuota, r.cfg.OwnerResults)
			}
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w (%d results at most)", ErrOwnerQuota, r.cfg.OwnerResults)
}

// evictOldest removes owner's oldest readable result other than keep, to
// make room in its share; false when it holds no such result.
func (r *Results) evictOldest(ctx context.Context, owner OwnerID, keep string) (bool, error) {
	infos, err := r.List(ctx, owner)
	if err != nil {
		return false, err
	}
	for _, in := range infos {
		if in.ID != keep {
			return true, r.remove(ctx, owner, in.ID, in.Pages)
		}
	}
	return false, nil
}

// ID returns the new result's id.
func (w *ResultWriter) ID() string { return w.id }

// Append adds one record (a JSON value). When a page fills up it is stored;
// the quotas are checked then (ErrOwnerQuota, ErrStoreFull), and the writer
// must be aborted after an error.
func (w *ResultWriter) Append(ctx context.Context, rec json.RawMessage) error {
	if w.done {
		return errors.New("cluster: append to a finished result")
	}
	if !json.Valid(rec) {
		return errors.New("cluster: a result record is not valid JSON")
	}
	if w.inPage == 0 {
		w.buf = append(w.buf[:0], '[')
	} else {
		w.buf = append(w.buf, ',')
	}
	w.buf = append(w.buf, rec...)
	w.inPage++
	w.total++
	if w.inPage == w.r.cfg.PageSize {
		return w.flush(ctx)
	}
	return nil
}

func (w *ResultWriter) flush(ctx context.Context) error {
	if w.inPage == 0 && w.pages > 0 {
		return nil
	}
	if w.inPage == 0 {
		w.buf = append(w.buf[:0], '[')
	}
	w.buf = append(w.buf, ']')
	page := w.pages + 1
	r := w.r
	var code int64
	for range r.cfg.OwnerResults + 1 {
		err := r.c.do(ctx, "result page", func(ctx context.Context) error {
			var err error
			code, err = resultsPage.Run(ctx, r.c.rdb, r.scriptKeys(w.id, r.pageKey(w.id, page)),
				r.c.now().UnixMilli(), w.id, string(w.owner), 0, len(w.buf), r.cfg.TTL.Milliseconds(), w.buf,
				r.cfg.OwnerBytes, r.cfg.MaxBytes).Int64()
			return err
		})
		if err != nil {
			return err
		}
		if code != -1 || int64(len(w.buf))+w.bytes > r.cfg.OwnerBytes {
			break
		}
		// The owner's share is used up: its own oldest results make room.
		if ok, err := r.evictOldest(ctx, w.owner, w.id); err != nil {
			return err
		} else if !ok {
			break
		}
	}
	switch code {
	case -1:
		return fmt.Errorf("%w (%d MiB per caller)", ErrOwnerQuota, r.cfg.OwnerBytes>>20)
	case -2:
		return fmt.Errorf("%w (%d MiB in all)", ErrStoreFull, r.cfg.MaxBytes>>20)
	case -3:
		return fmt.Errorf("result %s: %w", w.id, ErrNotFound)
	}
	w.pages, w.inPage = page, 0
	w.bytes += int64(len(w.buf))
	return nil
}

// Commit stores the last page and makes the result readable.
func (w *ResultWriter) Commit(ctx context.Context) (ResultInfo, error) {
	if w.done {
		return ResultInfo{}, errors.New("cluster: commit of a finished result")
	}
	if err := w.flush(ctx); err != nil {
		return ResultInfo{}, err
	}
	r := w.r
	var code int64
	err := r.c.do(ctx, "result commit", func(ctx context.Context) error {
		var err error
		code, err = resultsCommit.Run(ctx, r.c.rdb, r.scriptKeys(w.id), r.c.now().UnixMilli(), w.id,
			string(w.owner), w.total, w.pages).Int64()
		return err
	})
	if err != nil {
		return ResultInfo{}, err
	}
	if code != 1 {
		return ResultInfo{}, fmt.Errorf("result %s: %w", w.id, ErrNotFound)
	}
	w.done = true
	return ResultInfo{ID: w.id, Total: w.total, Pages: w.pages, Bytes: w.bytes, Expires: w.expires}, nil
}

// Abort removes everything written so far.
func (w *ResultWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	return w.r.remove(ctx, w.owner, w.id, w.pages)
}

func (r *Results) remove(ctx context.Context, owner OwnerID, id string, pages int) error {
	keys := r.scriptKeys(id)
	for p := 1; p <= pages; p++ {
		keys = append(keys, r.pageKey(id, p))
	}
	return r.c.do(ctx, "result delete", func(ctx context.Context) error {
		return resultsDelete.Run(ctx, r.c.rdb, keys, r.c.now().UnixMilli(), id, string(owner)).Err()
	})
}

// info reads a result's metadata; ok is false unless it is committed,
// owned by owner and not expired.
func (r *Results) info(vals []any, owner OwnerID, id string) (ResultInfo, bool) {
	str := func(i int) string { s, _ := vals[i].(string); return s }
	num := func(i int) int64 { n, _ := strconv.ParseInt(str(i), 10, 64); return n }
	exp := time.UnixMilli(num(2))
	if str(0) != string(owner) || str(1) != "r" || !r.c.now().Before(exp) {
		return ResultInfo{}, false
	}
	return ResultInfo{ID: id, Total: int(num(3)), Pages: int(num(4)), Bytes: num(5), Expires: exp}, true
}

var metaFields = []string{"owner", "state", "exp", "total", "pages", "bytes"}

// Page returns page (1-based) of result id for owner with one round trip.
func (r *Results) Page(ctx context.Context, owner OwnerID, id string, page int) (ResultPage, error) {
	if page < 1 {
		return ResultPage{}, fmt.Errorf("page %d does not exist: pages start at 1", page)
	}
	var meta *redis.SliceCmd
	var body *redis.StringCmd
	err := r.c.do(ctx, "result read", func(ctx context.Context) error {
		_, err := r.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			meta = p.HMGet(ctx, r.k(id, "meta"), metaFields...)
			body = p.Get(ctx, r.pageKey(id, page))
			return nil
		})
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return err
	})
	if err != nil {
		return ResultPage{}, err
	}
	info, ok := r.info(meta.Val(), owner, id)
	if !ok {
		return ResultPage{}, fmt.Errorf("result %s: %w", id, ErrNotFound)
	}
	if page > info.Pages {
		return ResultPage{}, fmt.Errorf("page %d does not exist: result %s has pages 1–%d", page, id, info.Pages)
	}
	b, err := body.Bytes()
	if err != nil {
		return ResultPage{}, fmt.Errorf("result %s: %w", id, ErrNotFound)
	}
	out := ResultPage{ResultInfo: info, Page: page}
	if err := json.Unmarshal(b, &out.Records); err != nil {
		return ResultPage{}, fmt.Errorf("result %s page %d is damaged: %w", id, page, err)
	}
	if out.Records == nil {
		out.Records = []json.RawMessage{}
	}
	return out, nil
}

// List returns owner's readable results, oldest first.
func (r *Results) List(ctx context.Context, owner OwnerID) ([]ResultInfo, error) {
	var out []ResultInfo
	err := r.c.do(ctx, "result list", func(ctx context.Context) error {
		ids, err := r.c.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: r.k("own") + ":" + string(owner), ByScore: true,
			Start: "(" + strconv.FormatInt(r.c.now().UnixMilli(), 10), Stop: "+inf"}).Result()
		if err != nil || len(ids) == 0 {
			return err
		}
		cmds := make([]*redis.SliceCmd, len(ids))
		if _, err := r.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HMGet(ctx, r.k(id, "meta"), metaFields...)
			}
			return nil
		}); err != nil {
			return err
		}
		for i, id := range ids {
			if info, ok := r.info(cmds[i].Val(), owner, id); ok {
				out = append(out, info)
			}
		}
		return nil
	})
	return out, err
}

// Delete removes result id of owner (nothing if it is not owner's).
func (r *Results) Delete(ctx context.Context, owner OwnerID, id string) error {
	var vals []any
	err := r.c.do(ctx, "result read", func(ctx context.Context) error {
		var err error
		vals, err = r.c.rdb.HMGet(ctx, r.k(id, "meta"), metaFields...).Result()
		return err
	})
	if err != nil {
		return err
	}
	pages, _ := strconv.Atoi(fmt.Sprint(vals[4]))
	return r.remove(ctx, owner, id, max(pages, 0))
}

// jobsPut keeps job handle ARGV[2] (data ARGV[3], expiring at ARGV[4]) in
// its owner's hash KEYS[2], indexed by expiry in KEYS[1]; expired handles go,
// and the owner's oldest when it holds ARGV[6] already.
var jobsPut = redis.NewScript(`
local now = tonumber(ARGV[1])
local function drop(ids) for _, id in ipairs(ids) do redis.call('ZREM', KEYS[1], id); redis.call('HDEL', KEYS[2], id) end end
drop(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now))
redis.call('ZREM', KEYS[1], ARGV[2])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[6]) + 1
if over > 0 then drop(redis.call('ZRANGE', KEYS[1], 0, over - 1)) end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
`)

// jobKeys are owner's job index (id → expiry) and job hash (id → data).
func (r *Results) jobKeys(owner OwnerID) []string {
	return []string{r.k("jobz", string(owner)), r.k("jobs", string(owner))}
}

// PutJob stores a job handle (small opaque data, e.g. a pending bulk job's
// ids) for owner under id, readable for TTL. When owner holds OwnerResults
// handles already, its oldest goes.
func (r *Results) PutJob(ctx context.Context, owner OwnerID, id string, data []byte) error {
	if owner == "" {
		return errors.New("cluster: a job handle needs an owner")
	}
	if len(data) > maxJobHandle {
		return fmt.Errorf("cluster: a job handle of %d bytes is over %d", len(data), maxJobHandle)
	}
	now := r.c.now()
	return r.c.do(ctx, "job put", func(ctx context.Context) error {
		return jobsPut.Run(ctx, r.c.rdb, r.jobKeys(owner), now.UnixMilli(), id, data,
			now.Add(r.cfg.TTL).UnixMilli(), r.cfg.TTL.Milliseconds(), r.cfg.OwnerResults).Err()
	})
}

// Job returns owner's job handle id. Handles live in their owner's keys,
// so another owner's id is simply not there.
func (r *Results) Job(ctx context.Context, owner OwnerID, id string) ([]byte, error) {
	var exp *redis.FloatCmd
	var data *redis.StringCmd
	err := r.c.do(ctx, "job get", func(ctx context.Context) error {
		keys := r.jobKeys(owner)
		_, err := r.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			exp = p.ZScore(ctx, keys[0], id)
			data = p.HGet(ctx, keys[1], id)
			return nil
		})
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	d, derr := data.Bytes()
	if owner == "" || exp.Err() != nil || derr != nil || !r.c.now().Before(time.UnixMilli(int64(exp.Val()))) {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return d, nil
}
