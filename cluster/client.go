package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of Config.
const (
	// DefaultPrefix starts every key the proxy writes.
	DefaultPrefix = "zoho-mcp-proxy:"
	// DefaultTimeout bounds one Redis call. Redis answers in well under a
	// millisecond in the same data centre; a call that takes longer than
	// this is treated as "Redis is down".
	DefaultTimeout = 250 * time.Millisecond
	// DefaultRetryAfter is how long the primitives use their local
	// fallbacks after a failed Redis call before they try Redis again.
	DefaultRetryAfter = 2 * time.Second
)

// ErrUnavailable is returned (wrapped) by every operation that could not use
// Redis: it is down, slow, refused the call, or (for tokens) holds data this
// replica cannot decrypt. The caller uses its local fallback.
var ErrUnavailable = errors.New("shared state (Redis) unavailable")

// Config configures a Client. Only URL is required.
type Config struct {
	// URL locates Redis: redis://[user:password@]host:port[/db], rediss://
	// for TLS, or unix:///path/to/socket. It may hold a password, which no
	// error or log line ever shows.
	URL string
	// Prefix starts every key, so that several deployments can share one
	// Redis. "" means DefaultPrefix.
	Prefix string
	// Timeout bounds each Redis call. Zero means DefaultTimeout.
	Timeout time.Duration
	// RetryAfter is how long to skip Redis after a failed call. Zero means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Logger receives one line when Redis becomes unusable and one when it
	// is back. nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of every lease, window, expiry and cooldown. nil
	// means time.Now.
	Now func() time.Time
}

// Client is a connection pool to Redis shared by the primitives of one
// replica, with the replica's view of whether Redis is usable. It is safe
// for concurrent use.
type Client struct {
	rdb        *redis.Client
	prefix     string
	timeout    time.Duration
	retryAfter time.Duration
	log        *slog.Logger
	now        func() time.Time

	mu        sync.Mutex
	downUntil time.Time // zero: usable
	down      bool
}

// New returns a Client for cfg. It does not connect: the first operation
// does (Ping checks the connection at start-up).
//
// go-redis logs some failures itself (e.g. each failed dial) through a
// process-wide logger; New routes those lines to slog.Default() at Debug
// level, so that a dead Redis is reported once, by the Client, not per call.
func New(cfg Config) (*Client, error) {
	quietRedisOnce.Do(func() { redis.SetLogger(debugLogger{}) })
	if cfg.URL == "" {
		return nil, errors.New("no Redis URL: set ZOHO_MCP_PROXY_REDIS_URL (redis://host:6379/0)")
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("the Redis URL %s is not valid (%s): expected redis://[user:password@]host:port[/db], rediss://… for TLS or unix:///path",
			RedactURL(cfg.URL), strings.ReplaceAll(err.Error(), cfg.URL, RedactURL(cfg.URL)))
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// One attempt per call, bounded by Timeout: a retry inside go-redis
	// would multiply the time a dead Redis costs each call.
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	opt.DialTimeout = cfg.Timeout
	opt.ReadTimeout = cfg.Timeout
	opt.WriteTimeout = cfg.Timeout
	opt.PoolTimeout = cfg.Timeout
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return &Client{
		rdb:        redis.NewClient(opt),
		prefix:     cfg.Prefix,
		timeout:    cfg.Timeout,
		retryAfter: cfg.RetryAfter,
		log:        cfg.Logger,
		now:        cfg.Now,
	}, nil
}

var quietRedisOnce sync.Once

// debugLogger forwards go-redis's own log lines to slog at Debug level.
type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// RedactURL returns u with any password replaced by "xxxxx", for messages.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return p.Redacted()
}

// Close closes the connection pool.
func (c *Client) Close() error { return c.rdb.Close() }

// Ping checks that Redis answers. Use it at start-up to report a wrong URL
// or password clearly; at run time the primitives fall back on their own.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: PING: %s", ErrUnavailable, describe(err))
	}
	return nil
}

// Usable reports whether the primitives currently use Redis (false while
// they fall back after a failure).
func (c *Client) Usable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.downUntil.IsZero() || !c.now().Before(c.downUntil)
}

// key joins the prefix and parts with ':'.
func (c *Client) key(parts ...string) string {
	return c.prefix + strings.Join(parts, ":")
}

// do runs fn with a context bounded by the timeout, unless Redis is being
// skipped after a failure. A failure of Redis (not redis.Nil, not the
// caller's own cancellation) marks it down and is returned wrapping
// ErrUnavailable. what names the operation in the log line.
func (c *Client) do(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	if !c.Usable() {
		return fmt.Errorf("%w (skipped after a recent failure)", ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := fn(cctx)
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		c.up()
		return err
	case ctx.Err() != nil:
		// The caller gave up; that says nothing about Redis.
		return ctx.Err()
	case errors.Is(err, redis.ErrClosed):
		// This replica closed its client (shutting down; a background
		// release may still run): nothing to say about Redis.
		return fmt.Errorf("%w: %s: client closed", ErrUnavailable, what)
	case isScriptBug(err):
		// Redis answered: it is up, the request was wrong.
		c.up()
		return fmt.Errorf("cluster: %s: %w", what, err)
	}
	c.fail(what, err)
	return fmt.Errorf("%w: %s: %s", ErrUnavailable, what, describe(err))
}

// isScriptBug reports an error reply that means our request was wrong, not
// that Redis cannot serve (those are LOADING, READONLY, OOM, MASTERDOWN,
// BUSY, NOAUTH, … and network errors).
func isScriptBug(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	return strings.HasPrefix(msg, "ERR") || strings.HasPrefix(msg, "WRONGTYPE")
}

// describe renders err for a message. go-redis errors carry the address at
// most, never the password.
func describe(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	return err.Error()
}

// fail marks Redis down for retryAfter and logs the change once.
func (c *Client) fail(what string, err error) {
	c.mu.Lock()
	c.downUntil = c.now().Add(c.retryAfter)
	first := !c.down
	c.down = true
	c.mu.Unlock()
	if first {
		c.log.Warn("shared state (Redis) unusable; falling back to this replica's local state",
			"operation", what, "error", describe(err), "retry_after", c.retryAfter)
	}
}

// up marks Redis usable and logs the recovery once.
func (c *Client) up() {
	c.mu.Lock()
	was := c.down
	c.down, c.downUntil = false, time.Time{}
	c.mu.Unlock()
	if was {
		c.log.Info("shared state (Redis) usable again")
	}
}
