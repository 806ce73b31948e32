package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of TokensConfig.
const (
	DefaultRefreshCap    = 10               // refresh grants per credential …
	DefaultRefreshWindow = 10 * time.Minute // … per this sliding window (Zoho's cap)
	// DefaultLockTTL is how long a refresh lock outlives a replica that
	// died holding it. The grant itself is cut at two thirds of it.
	DefaultLockTTL = 30 * time.Second
	// DefaultMaxPoll is the longest pause of a replica waiting for another
	// one's refresh; it starts at 5 ms and doubles up to this.
	DefaultMaxPoll = 100 * time.Millisecond
	// peerErrorTTL is how long the failure of a refresh is shown to the
	// replicas that waited for it.
	peerErrorTTL = 5 * time.Second
)

// CredentialID names one Zoho credential in Redis keys without revealing it.
type CredentialID string

// NewCredentialID returns the id of the refresh credential (accounts server,
// client id, refresh token): 32 hex digits of a SHA-256 over all three.
func NewCredentialID(accountsURL, clientID, refreshToken string) CredentialID {
	sum := sha256.Sum256([]byte("zoho-mcp-proxy credential\x00" + strings.TrimRight(accountsURL, "/") + "\x00" + clientID + "\x00" + refreshToken))
	return CredentialID(hex.EncodeToString(sum[:16]))
}

// Token is an access token shared by the replicas.
type Token struct {
	AccessToken string
	APIDomain   string
	// Expiry is when replicas stop using it (the caller's refresh margin
	// already taken off). Zero means one hour from when it is stored.
	Expiry time.Time
}

// String renders t with the token redacted.
func (t Token) String() string {
	return fmt.Sprintf("cluster.Token{api_domain:%q, expiry:%s, token redacted}", t.APIDomain, t.Expiry.UTC().Format(time.RFC3339))
}

// TokensConfig configures Tokens. Only Key is required.
type TokensConfig struct {
	// Key encrypts tokens at rest (KeySize bytes; see ParseKey). Every
	// replica needs the same key.
	Key []byte
	// RefreshCap grants per RefreshWindow per credential, counted across
	// all replicas. Zero means DefaultRefreshCap and DefaultRefreshWindow.
	RefreshCap    int
	RefreshWindow time.Duration
	// HoldOff is how long every replica refuses to refresh a credential
	// after Zoho refused a grant for too many refreshes (see Refused). Zero
	// means RefreshWindow: the rest of Zoho's window.
	HoldOff time.Duration
	// LockTTL bounds how long one replica holds a credential's refresh
	// lock. Zero means DefaultLockTTL.
	LockTTL time.Duration
	// MaxPoll is the longest pause between two looks of a waiting replica.
	// Zero means DefaultMaxPoll.
	MaxPoll time.Duration
	// Counted reports whether a failed grant may have reached Zoho and so
	// counts against the cap. nil means every failed grant counts.
	Counted func(err error) bool
	// Refused reports whether a failed grant is Zoho refusing for too many
	// refreshes ("Access Denied"), which starts the shared hold-off. nil
	// means none is.
	Refused func(err error) bool
}

// Tokens shares access tokens among replicas: one token per credential, at
// most one replica refreshing it at a time (the others wait and read its
// result), the refresh cap counted for all replicas together, and a
// hold-off shared by all after Zoho refuses. Tokens are encrypted in Redis.
// It is safe for concurrent use; it starts no goroutines.
//
// Keys, per credential id: tok:{id}:tok (hash: v = fencing token of the
// refresh that wrote it, c = sealed token), :lock (the refresh lock, its
// value the fencing token), :fence (counter), :grants (sorted set of grant
// times), :hold (refresh refused until, unix ms), :err (last failure).
type Tokens struct {
	c    *Client
	seal *sealer
	cfg  TokensConfig
}

// NewTokens returns the shared token store on c.
func NewTokens(c *Client, cfg TokensConfig) (*Tokens, error) {
	s, err := newSealer(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.RefreshCap <= 0 || cfg.RefreshWindow <= 0 {
		cfg.RefreshCap, cfg.RefreshWindow = DefaultRefreshCap, DefaultRefreshWindow
	}
	if cfg.HoldOff <= 0 {
		cfg.HoldOff = cfg.RefreshWindow
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	if cfg.MaxPoll <= 0 {
		cfg.MaxPoll = DefaultMaxPoll
	}
	if cfg.Counted == nil {
		cfg.Counted = func(error) bool { return true }
	}
	if cfg.Refused == nil {
		cfg.Refused = func(error) bool { return false }
	}
	return &Tokens{c: c, seal: s, cfg: cfg}, nil
}

// RefusedError is returned when the shared accounting refuses a refresh
// grant: the cap is used up, or Zoho refused a recent grant and every
// replica holds off.
type RefusedError struct {
	Until time.Time // when a grant may be sent again
	// ZohoRefused is true for the hold-off after Zoho's "Access Denied",
	// false when the shared count reached the cap.
	ZohoRefused bool
}

func (e *RefusedError) Error() string {
	why := "the refresh cap shared by all replicas is used up"
	if e.ZohoRefused {
		why = "Zoho refused a recent refresh for too many refreshes"
	}
	return "access-token refresh refused until " + e.Until.UTC().Format("15:04:05 UTC") + ": " + why
}

// PeerError is returned to replicas that waited for another replica's
// refresh when that refresh failed. Message is the failure's text (which
// carries no secret: it is the product's own error message).
type PeerError struct{ Message string }

func (e *PeerError) Error() string { return "another replica's token refresh failed: " + e.Message }

func (t *Tokens) keys(id CredentialID) (tok, lock, fence, hold, grants, errk string) {
	b := "tok:{" + string(id) + "}"
	return t.c.key(b, "tok"), t.c.key(b, "lock"), t.c.key(b, "fence"), t.c.key(b, "hold"), t.c.key(b, "grants"), t.c.key(b, "err")
}

// sealedToken is a token's plain form inside the sealed value.
type sealedToken struct {
	A string `json:"a"`
	D string `json:"d,omitempty"`
	E int64  `json:"e"` // unix ms
}

// stored is what one read of the token hash found.
type stored struct {
	version string // "0": none
	tok     Token
}

func (t *Tokens) read(ctx context.Context, id CredentialID) (stored, error) {
	tokKey, _, _, _, _, _ := t.keys(id)
	var vals []any
	err := t.c.do(ctx, "read token", func(ctx context.Context) error {
		var err error
		vals, err = t.c.rdb.HMGet(ctx, tokKey, "v", "c").Result()
		return err
	})
	if err != nil {
		return stored{}, err
	}
	v, _ := vals[0].(string)
	c, _ := vals[1].(string)
	if v == "" || c == "" {
		return stored{version: "0"}, nil
	}
	plain, err := t.seal.open([]byte(c), tokKey)
	if err != nil {
		if errors.Is(err, ErrWrongKey) {
			t.c.log.Error("cannot decrypt the shared access token: every replica needs the same ZOHO_MCP_PROXY_REDIS_KEY; using local tokens")
			return stored{}, err
		}
		// Damaged: treat as absent, so that the next refresh replaces it.
		return stored{version: v}, nil
	}
	var st sealedToken
	if err := json.Unmarshal(plain, &st); err != nil {
		return stored{version: v}, nil
	}
	return stored{version: v, tok: Token{AccessToken: st.A, APIDomain: st.D, Expiry: time.UnixMilli(st.E)}}, nil
}

// usable reports whether tok can be handed out: present, not the one the
// caller found stale, not expired.
func (t *Tokens) usable(tok Token, stale string) bool {
	return tok.AccessToken != "" && tok.AccessToken != stale && t.c.now().Before(tok.Expiry)
}

// Get returns the shared token of id if one is stored and not expired.
func (t *Tokens) Get(ctx context.Context, id CredentialID) (Token, bool, error) {
	s, err := t.read(ctx, id)
	if err != nil {
		return Token{}, false, err
	}
	if !t.usable(s.tok, "") {
		return Token{}, false, nil
	}
	return s.tok, true, nil
}

// tokenBegin decides, atomically, what a replica that needs a new token
// does. It returns {code, value}:
//
//	 2, v      the token changed since the caller read it: read again
//	 3, msg    the refresh the caller waited for failed with msg
//	 0, fence  another replica is refreshing (its fencing token): wait
//	-1, until  held off after Zoho refused (unix ms)
//	-2, until  the shared cap is used up until then (unix ms)
//	 1, fence  the caller holds the lock with this fencing token and its
//	           grant is counted: refresh now
var tokenBegin = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[2] then return {2, v} end
local holder = redis.call('GET', KEYS[2])
if holder then return {0, holder} end
local waited = tonumber(ARGV[6])
if waited > 0 then
  local e = redis.call('GET', KEYS[6])
  if e then
    local sep = string.find(e, ':', 1, true)
    if tonumber(string.sub(e, 1, sep - 1)) >= waited then return {3, string.sub(e, sep + 1)} end
  end
end
local now = tonumber(ARGV[1])
local hold = tonumber(redis.call('GET', KEYS[4]) or '0')
if hold > now then return {-1, tostring(hold)} end
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - window)
if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[4]) then
  local first = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
  return {-2, tostring(tonumber(first[2]) + window)}
end
local f = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], f, 'PX', ARGV[5])
redis.call('ZADD', KEYS[5], now, f)
redis.call('PEXPIRE', KEYS[5], window)
return {1, tostring(f)}
`)

// tokenCommit ends a refresh with fencing token ARGV[1]: it releases the
// lock if still held with that token, uncounts a grant that never reached
// Zoho, and either stores the new token — only if no refresh with a newer
// fencing token has stored one (compare-and-set) — or records the failure
// (and the hold-off). It returns 1 when the token was stored.
var tokenCommit = redis.NewScript(`
local wrote = 0
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if ARGV[5] == '1' then redis.call('ZREM', KEYS[3], ARGV[1]) end
if ARGV[2] == 'ok' then
  local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
  if v < tonumber(ARGV[1]) then
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'v', ARGV[1], 'c', ARGV[3])
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    wrote = 1
  end
  redis.call('DEL', KEYS[5])
else
  if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[7]) end
  redis.call('SET', KEYS[5], ARGV[1] .. ':' .. ARGV[8], 'PX', ARGV[9])
end
return wrote
`)

// Refresh returns a token for id that is not stale (the access token the
// caller holds and found rejected or expiring; "" for none). If the stored
// token is such a token, it is returned at once. Otherwise exactly one
// replica runs grant (Zoho's refresh grant) under the credential's lock —
// after checking the shared hold-off and cap — and stores the result; the
// others wait, respecting ctx, and return that result (or a *PeerError when
// it failed). Refusals are *RefusedError. When Redis cannot be used the
// error wraps ErrUnavailable and the caller refreshes locally; a token
// obtained before Redis failed is still returned.
func (t *Tokens) Refresh(ctx context.Context, id CredentialID, stale string, grant func(ctx context.Context) (Token, error)) (Token, error) {
	tokKey, lockKey, fenceKey, holdKey, grantsKey, errKey := t.keys(id)
	pause := 5 * time.Millisecond
	var waited string // fencing token of the refresh this replica waits for
	for {
		s, err := t.read(ctx, id)
		if err != nil {
			return Token{}, err
		}
		if t.usable(s.tok, stale) {
			return s.tok, nil
		}
		var res []any
		now := t.c.now()
		err = t.c.do(ctx, "begin token refresh", func(ctx context.Context) error {
			var err error
			res, err = tokenBegin.Run(ctx, t.c.rdb, []string{tokKey, lockKey, fenceKey, holdKey, grantsKey, errKey},
				now.UnixMilli(), s.version, t.cfg.RefreshWindow.Milliseconds(), t.cfg.RefreshCap, t.cfg.LockTTL.Milliseconds(), orZero(waited)).Slice()
			return err
		})
		if err != nil {
			return Token{}, err
		}
		code, _ := res[0].(int64)
		val, _ := res[1].(string)
		switch code {
		case 2:
			continue
		case 3:
			return Token{}, &PeerError{Message: val}
		case -1, -2:
			ms, _ := strconv.ParseInt(val, 10, 64)
			return Token{}, &RefusedError{Until: time.UnixMilli(ms), ZohoRefused: code == -1}
		case 1:
			return t.grantAndCommit(ctx, id, val, now, grant)
		}
		waited = val
		select {
		case <-ctx.Done():
			return Token{}, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, t.cfg.MaxPoll)
	}
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// grantAndCommit runs grant as the lock holder with fencing token fence and
// stores its outcome.
func (t *Tokens) grantAndCommit(ctx context.Context, id CredentialID, fence string, now time.Time, grant func(ctx context.Context) (Token, error)) (Token, error) {
	tokKey, lockKey, _, holdKey, grantsKey, errKey := t.keys(id)
	gctx, cancel := context.WithTimeout(ctx, t.cfg.LockTTL*2/3)
	tok, gerr := grant(gctx)
	cancel()
	args := []any{fence, "ok", "", 0, 0, 0, 0, "", peerErrorTTL.Milliseconds()}
	if gerr == nil {
		if tok.Expiry.IsZero() {
			tok.Expiry = now.Add(time.Hour)
		}
		plain, _ := json.Marshal(sealedToken{A: tok.AccessToken, D: tok.APIDomain, E: tok.Expiry.UnixMilli()})
		args[2] = t.seal.seal(plain, tokKey)
		args[3] = max(tok.Expiry.Sub(t.c.now()).Milliseconds(), 1)
	} else {
		args[1] = "fail"
		if !t.cfg.Counted(gerr) {
			args[4] = "1"
		}
		if t.cfg.Refused(gerr) {
			until := t.c.now().Add(t.cfg.HoldOff)
			args[5], args[6] = until.UnixMilli(), t.cfg.HoldOff.Milliseconds()
		}
		args[7] = gerr.Error()
	}
	// Commit even when the caller's ctx has ended: the lock must go and the
	// outcome be shared.
	cctx := context.WithoutCancel(ctx)
	err := t.c.do(cctx, "store refreshed token", func(ctx context.Context) error {
		return tokenCommit.Run(ctx, t.c.rdb, []string{tokKey, lockKey, grantsKey, holdKey, errKey}, args...).Err()
	})
	if gerr != nil {
		return Token{}, gerr
	}
	_ = err // the token is good even if it could not be shared; do logged the failure
	return tok, nil
}
