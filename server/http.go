package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// The HTTP paths the proxy serves on its one listener.
const (
	PathMCP     = "/mcp"     // Streamable HTTP, both protocol eras
	PathSSE     = "/sse"     // legacy HTTP+SSE stream
	PathMessage = "/message" // legacy HTTP+SSE posts
	PathHealthz = "/healthz" // 200 while the process runs
	PathReadyz  = "/readyz"  // 200 when a tier can serve, else 503
	PathMetrics = "/metrics" // Prometheus exposition
)

// HTTPOptions configures NewHTTP.
type HTTPOptions struct {
	// MCP is the server to expose. Required.
	MCP *MCP
	// Security is the front door of the MCP endpoints; its Loopback field is
	// set by Serve from the listener's address.
	Security Security
	// Ready reports whether at least one tier can serve. Nil means always.
	Ready func() bool
	// Health returns the per-tier health shown by /readyz. Nil means none.
	Health func() any
	// SharedState, when not nil, describes the state replicas share
	// (Redis), shown by /readyz's detail as "shared_state". It does not
	// change the status code.
	SharedState func(ctx context.Context) any
	// Gatherer is exposed at /metrics. Nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout are the http.Server's.
	// Zero means 10s, 60s and 120s.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// ShutdownGrace is how long in-flight calls get to finish once the
	// context given to Serve ends. Zero means 10s.
	ShutdownGrace time.Duration
	// SessionIdleTTL is how long a legacy Streamable HTTP session (made by
	// initialize) lives without requests and without an open stream; then
	// the proxy forgets it, as if the client had sent DELETE. Zero means
	// DefaultSessionIdleTTL (30m).
	SessionIdleTTL time.Duration
	// MaxSessions caps those sessions in total, MaxSessionsPerCaller per
	// caller (bearer token, or the one local caller without tokens); an
	// initialize beyond either gets 503 with a JSON-RPC error saying what to
	// do. Zero means DefaultMaxSessions (4096) and
	// DefaultMaxSessionsPerCaller (1024).
	MaxSessions, MaxSessionsPerCaller int
	// StreamIdleTimeout closes an SSE or Streamable HTTP GET stream after
	// that long without a request or notification on its session (the
	// heartbeats do not count): long-lived streams that are used stay open.
	// Zero means DefaultStreamIdleTimeout (30m).
	StreamIdleTimeout time.Duration
	// StreamHeartbeat is the interval of the ping sent on every open stream
	// so that proxies and load balancers do not cut it. Zero means
	// DefaultStreamHeartbeat (25s).
	StreamHeartbeat time.Duration
	// StatusPage is the operator status page (a status.Page), served at
	// PathStatus with PathStatusJSON and PathStatusEvents to callers whose
	// profile has the monitor scope (see statusGate). Nil means none: /
	// answers 404. Its event streams are bounded by the page itself (a cap,
	// a lifetime, heartbeats, a write deadline); they do not take the MCP
	// endpoints' in-flight slots, so that the page stays reachable when MCP
	// traffic fills them, and they end when the transport shuts down.
	StatusPage http.Handler
	// Now is the clock of the session and stream idle limits and of the
	// status page's sign-in cookies. Nil means time.Now.
	Now func() time.Time
	// Logger receives transport logs. Nil means slog.Default().
	Logger *slog.Logger
	// DisableFastToolCall sends every Streamable HTTP request through
	// mcp-go, including the plain legacy tools/call POSTs the proxy
	// otherwise answers itself with the same bytes (see fastcall.go).
	DisableFastToolCall bool
}

// HTTP serves the MCP server over Streamable HTTP and legacy SSE with the
// operations endpoints, on one listener.
type HTTP struct {
	o          HTTPOptions
	streamable *mcpserver.StreamableHTTPServer
	sse        *mcpserver.SSEServer
	sessions   *sessionBinder
	table      *sessionTable
	slots      *limiter     // the one in-flight cap of every MCP endpoint
	fast       http.Handler // mcp-go's Streamable HTTP handler behind the fast path
	// pageStreams ends when Serve closes the long-lived streams: the status
	// page's requests end with it.
	pageStreams    context.Context
	endPageStreams context.CancelFunc
}

// profileContext carries the caller's profile and identity (and the browser
// origin it was reduced for), put in the request context by Security, into the context
// mcp-go gives handlers (modern requests have no session to key on).
func profileContext(ctx context.Context, r *http.Request) context.Context {
	ctx = permissions.WithIdentity(ctx, permissions.ProfileFrom(r.Context()), permissions.CallerFrom(r.Context()))
	if o := browserOrigin(r.Context()); o != "" {
		ctx = context.WithValue(ctx, browserKey, o)
	}
	return ctx
}

// NewHTTP prepares the HTTP transport.
func NewHTTP(o HTTPOptions) *HTTP {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.DefaultGatherer
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, 10*time.Second)
	def(&o.ReadTimeout, 60*time.Second)
	def(&o.IdleTimeout, 120*time.Second)
	def(&o.ShutdownGrace, 10*time.Second)
	def(&o.SessionIdleTTL, DefaultSessionIdleTTL)
	def(&o.StreamIdleTimeout, DefaultStreamIdleTimeout)
	def(&o.StreamHeartbeat, DefaultStreamHeartbeat)
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxSessionsPerCaller <= 0 {
		o.MaxSessionsPerCaller = DefaultMaxSessionsPerCaller
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Security.Logger == nil {
		o.Security.Logger = o.Logger
	}
	if o.Security.OnRefuse == nil {
		refused := o.MCP.metrics.HTTPRefused
		o.Security.OnRefuse = func(reason string) { refused.WithLabelValues(reason).Inc() }
	}
	h := &HTTP{o: o}
	h.pageStreams, h.endPageStreams = context.WithCancel(context.Background())
	policy := o.Security.Policy
	if policy == nil {
		policy = permissions.Default()
	}
	h.slots = newLimiter(o.Security.MaxInFlight, o.Security.perCaller(policy))
	// The default session manager (stateless-generating) mints legacy
	// session ids without keeping state, so replicas behind a load balancer
	// serve each other's sessions; modern (2026-07-28) requests carry none.
	// mcp-go's own idle sweeper (WithSessionIdleTTL) is not used: the
	// session table does it with caps and an injectable clock.
	h.streamable = mcpserver.NewStreamableHTTPServer(o.MCP.Server,
		mcpserver.WithEndpointPath(PathMCP),
		mcpserver.WithHTTPContextFunc(profileContext),
		mcpserver.WithStreamableHTTPLogger(o.Logger),
		mcpserver.WithHeartbeatInterval(o.StreamHeartbeat),
	)
	h.fast = withProgressStreams(h.streamable)
	if !o.DisableFastToolCall {
		h.fast = withFastCalls(o.MCP, h.fast)
	}
	met := o.MCP.metrics
	h.table = &sessionTable{
		now: o.Now, ttl: o.SessionIdleTTL, streamIdle: o.StreamIdleTimeout,
		max: o.MaxSessions, perCaller: o.MaxSessionsPerCaller,
		evict: evictThrough(h.streamable),
		onCount: func(sessions, streams int) {
			met.Sessions.Set(float64(sessions))
			met.Streams.Set(float64(streams))
		},
		sessions: map[string]*sessionEntry{}, callers: map[string]int{}, streams: map[*stream]struct{}{},
	}
	h.table.onRefuse = func(r *http.Request, err error) {
		o.Security.OnRefuse("sessions")
		o.Logger.Warn("http request refused", "status", http.StatusServiceUnavailable, "reason", "sessions",
			"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "error", err.Error())
	}
	// No base URL: the endpoint event carries the relative path
	// /message?sessionId=…, which clients resolve against the /sse URL, so
	// it stays right behind proxies and on random ports.
	h.sessions = newSessionBinder()
	h.sessions.onMint = func(r *http.Request, id string) {
		if st, ok := r.Context().Value(streamKey{}).(*stream); ok {
			h.table.bind(st, id)
		}
	}
	h.sse = mcpserver.NewSSEServer(o.MCP.Server,
		mcpserver.WithSessionIDGenerator(h.sessions.mint),
		mcpserver.WithSSEEndpoint(PathSSE),
		mcpserver.WithMessageEndpoint(PathMessage),
		mcpserver.WithSSEContextFunc(profileContext),
		mcpserver.WithKeepAlive(true),
		mcpserver.WithKeepAliveInterval(o.StreamHeartbeat),
	)
	return h
}

// touchSSE marks the stream of a legacy SSE session active when a request or
// notification is posted to it (answers to its heartbeat pings do not count).
func (h *HTTP) touchSSE(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.URL.Query().Get("sessionId"); id != "" && peek(r).Method != "" {
			h.table.touchStreams(id)
		}
		next.ServeHTTP(w, r)
	})
}

// sseProgress gives the calls posted to a legacy SSE session the session's
// event queue as their progress sender (see progress.go).
func (h *HTTP) sseProgress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.URL.Query().Get("sessionId"); id != "" {
			r = r.WithContext(withSender(r.Context(), sseSender(h.sse, id)))
		}
		next.ServeHTTP(w, r)
	})
}

// Sweep frees the sessions and closes the streams that have been idle too
// long (by HTTPOptions.Now), and returns how many of each. Serve runs it
// periodically.
func (h *HTTP) Sweep() (sessions, streams int) { return h.table.sweep() }

// Sessions returns how many legacy Streamable HTTP sessions and open streams
// the transport holds.
func (h *HTTP) Sessions() (sessions, streams int) { return h.table.len() }

// ActiveSessions returns how many MCP sessions are open: legacy Streamable
// HTTP sessions and legacy SSE sessions (2026-07-28 requests have none).
func (h *HTTP) ActiveSessions() int { return h.table.active() }

// Handler returns the routes with their security. loopback says whether the
// listener is bound to loopback (see Security.Loopback).
func (h *HTTP) Handler(loopback bool) http.Handler {
	sec := h.o.Security
	sec.Loopback = loopback
	sec.slots = h.slots
	mux := http.NewServeMux()
	mux.Handle(PathMCP, sec.Wrap(h.table.gate(h.fast)))
	mux.Handle(PathSSE, sec.Wrap(h.table.streamGate(h.sse.SSEHandler())))
	mux.Handle(PathMessage, sec.Wrap(h.sessions.check(h.touchSSE(h.sseProgress(h.sse.MessageHandler())))))
	mux.Handle("GET "+PathHealthz, sec.WrapOps(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})))
	mux.Handle("GET "+PathReadyz, sec.WrapOps(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		detail, _ := sec.MonitorAllowed(r)
		h.readyz(w, r, detail)
	})))
	mux.Handle("GET "+PathMetrics, sec.WrapMonitor(promhttp.HandlerFor(h.o.Gatherer, promhttp.HandlerOpts{})))
	if h.o.StatusPage != nil {
		newStatusGate(sec, h.o.StatusPage, h.o.Now, h.pageStreams).mount(mux)
	}
	mux.Handle("/", sec.WrapOps(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "no such endpoint: MCP clients use "+PathMCP+" (Streamable HTTP) or "+PathSSE+" (legacy SSE)")
	})))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readyz answers /readyz: the status code for anyone (load balancers), the
// per-tier detail only when detail is allowed (see Security.MonitorAllowed).
func (h *HTTP) readyz(w http.ResponseWriter, r *http.Request, detail bool) {
	ready := h.o.Ready == nil || h.o.Ready()
	body := map[string]any{"ready": ready}
	if h.o.Health != nil && detail {
		body["tiers"] = h.o.Health()
	}
	if h.o.SharedState != nil && detail {
		body["shared_state"] = h.o.SharedState(r.Context())
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

// IsLoopbackAddr reports whether a listen address (host:port) binds only to
// loopback. An empty host (all interfaces) is not loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// CheckBind refuses a non-loopback listen address when the policy has no
// bearer tokens (SPEC §6, §7).
func CheckBind(addr string, policy *permissions.Policy) error {
	if IsLoopbackAddr(addr) {
		return nil
	}
	if policy != nil && policy.HasTokens() {
		return nil
	}
	return fmt.Errorf("refusing to listen on %q without bearer tokens: bind to 127.0.0.1 (--addr 127.0.0.1:8765), or add tokens to the permissions file (--permissions) so callers must authenticate", addr)
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight tool calls finish within ShutdownGrace (new ones
// get a "shutting down" tool error), closes the streams and returns, at the
// latest shortly after ShutdownGrace, whatever the calls still running do.
// Meanwhile it frees idle sessions and closes idle streams. It returns nil
// after a shutdown.
func (h *HTTP) Serve(ctx context.Context, ln net.Listener) error {
	loopback := IsLoopbackAddr(ln.Addr().String())
	srv := &http.Server{
		Handler:           h.Handler(loopback),
		ReadHeaderTimeout: h.o.ReadHeaderTimeout,
		ReadTimeout:       h.o.ReadTimeout,
		IdleTimeout:       h.o.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(h.o.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	h.o.Logger.Info("serving MCP over HTTP", "addr", ln.Addr().String(),
		"streamable_http", PathMCP, "sse", PathSSE, "loopback", loopback)
	hctx, stopHousekeeping := context.WithCancel(ctx)
	housekept := make(chan struct{})
	go func() { defer close(housekept); h.housekeep(hctx) }()
	defer func() { stopHousekeeping(); <-housekept }()

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	h.o.Logger.Info("shutting down: finishing in-flight calls", "in_flight", h.o.MCP.InFlight(), "grace", h.o.ShutdownGrace.String())
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.o.ShutdownGrace)
	defer cancel()

	// 1. Stop accepting: Shutdown closes the listener at once, then waits
	//    for active requests (POSTs carrying tool calls) to end.
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(gctx) }()
	// 2. Wait for every tool call, including SSE ones answered on streams.
	derr := h.o.MCP.Drain(gctx)
	if derr == nil {
		// Let the last SSE responses leave their queues before the streams
		// close (their handlers return before the response is written).
		select {
		case <-time.After(50 * time.Millisecond):
		case <-gctx.Done():
		}
	}
	// 3. Close the long-lived streams so Shutdown can finish.
	h.sse.CloseSessions()
	h.streamable.CloseSessions(gctx)
	h.endPageStreams()
	// 4. Shutdown returns once every connection is idle, or with an error
	//    when the grace period ends first; then close what is left (hung
	//    calls' connections). Shutdown's one value is taken exactly once.
	var serr error
	select {
	case serr = <-shut:
	case <-gctx.Done():
		serr = gctx.Err()
		_ = srv.Close()
		<-shut
	}
	if serr != nil {
		_ = srv.Close()
	}
	<-errc // Serve returns ErrServerClosed
	_ = h.streamable.Shutdown(gctx)
	if derr != nil {
		h.o.Logger.Warn("shutdown grace period ended with calls still running", "error", derr.Error())
		return nil
	}
	if serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
		return fmt.Errorf("http shutdown: %w", serr)
	}
	h.o.Logger.Info("http server stopped")
	return nil
}

// housekeep sweeps idle sessions and streams until ctx ends, a few times per
// idle limit (at least every minute, at most every second).
func (h *HTTP) housekeep(ctx context.Context) {
	every := min(h.o.SessionIdleTTL, h.o.StreamIdleTimeout) / 4
	every = min(max(every, time.Second), time.Minute)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if n, m := h.Sweep(); n+m > 0 {
				h.o.Logger.Debug("idle sessions freed, idle streams closed", "sessions", n, "streams", m)
			}
		}
	}
}
