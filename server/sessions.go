package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// sessionBinder ties each legacy SSE session to the credential that opened
// it. mcp-go routes a POST to /message?sessionId=… to whichever stream owns
// that id, whoever sends it; with bearer tokens, a caller who learned
// another's session id could post into it and have the answers streamed to
// the other caller. The binder mints ids of the form nonce.tag, where tag is
// an HMAC of the nonce and a hash of the opener's Authorization header, and
// refuses a post whose credential does not produce the same tag. It keeps no
// state: nothing to clean up when sessions end.
type sessionBinder struct {
	key [32]byte
	// onMint, if set, is told every id minted and the request of the
	// stream it names.
	onMint func(r *http.Request, id string)
}

// newSessionBinder returns a binder with a fresh random key. SSE streams live
// in one process, so a per-process key is enough.
func newSessionBinder() *sessionBinder {
	b := &sessionBinder{}
	if _, err := rand.Read(b.key[:]); err != nil {
		panic("server: no randomness for session ids: " + err.Error())
	}
	return b
}

// tag is the HMAC of nonce and the request's credential.
func (b *sessionBinder) tag(nonce string, r *http.Request) string {
	cred := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	mac := hmac.New(sha256.New, b.key[:])
	mac.Write([]byte(nonce))
	mac.Write(cred[:])
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// mint is the SSE server's session id generator (mcpserver.SessionIDGenFunc).
func (b *sessionBinder) mint(_ context.Context, r *http.Request) (string, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return "", err
	}
	nonce := hex.EncodeToString(n[:])
	id := nonce + "." + b.tag(nonce, r)
	if b.onMint != nil {
		b.onMint(r, id)
	}
	return id, nil
}

// check refuses a /message post whose session id was not minted for the
// caller's credential. A post without a session id goes on to mcp-go, which
// answers it as a bad request.
func (b *sessionBinder) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("sessionId")
		if id != "" {
			nonce, tag, ok := strings.Cut(id, ".")
			if !ok || !hmac.Equal([]byte(tag), []byte(b.tag(nonce, r))) {
				httpError(w, http.StatusForbidden, "this SSE session was opened with another credential; open your own with GET "+PathSSE)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Defaults of the session and stream limits (HTTPOptions).
const (
	DefaultSessionIdleTTL       = 30 * time.Minute
	DefaultMaxSessions          = 4096
	DefaultMaxSessionsPerCaller = 1024
	DefaultStreamIdleTimeout    = 30 * time.Minute
	DefaultStreamHeartbeat      = 25 * time.Second
)

// sessionTable keeps the legacy (initialize-based) Streamable HTTP sessions
// and the long-lived GET streams of both transports, so that neither
// outlives its use. mcp-go keeps every initialized session (about 10 KB:
// channels and per-session maps) until a DELETE that many clients never
// send, and keeps the log level of any session id a logging/setLevel names.
// Its own WithSessionIdleTTL sweeper would free them, but on the wall clock
// (untestable without waiting) and without any cap, so the table does the
// bookkeeping with an injected clock and frees a session through mcp-go's
// own DELETE path, which drops every per-session store at once.
//
// A session is idle once no request or notification (answers to heartbeat
// pings do not count) has named it for ttl and no GET stream of it is open.
// A stream is idle once nothing has been sent on its session for streamIdle;
// it is then closed (clients reconnect it when they need it). Sessions are
// capped per caller (bearer token, or the one local caller) and in total.
type sessionTable struct {
	now             func() time.Time
	ttl, streamIdle time.Duration
	max, perCaller  int
	// evict frees mcp-go's state of a session; called outside the lock.
	evict func(id string)
	// onCount, if set, is told the numbers of sessions and streams after a
	// change (under the lock: it must not call back).
	onCount func(sessions, streams int)
	// onRefuse, if set, is told of every request refused over a cap.
	onRefuse func(r *http.Request, err error)

	mu       sync.Mutex
	sessions map[string]*sessionEntry
	callers  map[string]int // sessions (and reservations) per caller
	total    int            // sessions and reservations
	streams  map[*stream]struct{}
}

type sessionEntry struct {
	caller  string
	last    time.Time
	streams int // open GET streams: the session does not expire while > 0
}

// stream is one open SSE or Streamable HTTP GET stream.
type stream struct {
	id     string // the session it serves; "" while unknown
	last   time.Time
	cancel context.CancelFunc // ends the stream's request
}

// capError is a refused session: over the caller's share or the total.
type capError struct {
	perCaller bool
	limit     int
	ttl       time.Duration
}

func (e *capError) Error() string {
	if e.perCaller {
		return fmt.Sprintf("too many open MCP sessions for this credential (%d): end sessions you no longer use "+
			"(DELETE %s with their Mcp-Session-Id), reuse one session for many calls, or wait until idle sessions expire "+
			"(after %s without requests)", e.limit, PathMCP, e.ttl)
	}
	return fmt.Sprintf("the proxy holds its maximum of %d MCP sessions: retry in a minute, end sessions you no longer use "+
		"(DELETE %s with their Mcp-Session-Id), or ask the operator to raise http.max_sessions", e.limit, PathMCP)
}

func (t *sessionTable) counted() {
	if t.onCount != nil {
		t.onCount(len(t.sessions), len(t.streams))
	}
}

// reserveLocked takes room for a new session of caller.
func (t *sessionTable) reserveLocked(caller string) error {
	switch {
	case t.callers[caller] >= t.perCaller:
		return &capError{perCaller: true, limit: t.perCaller, ttl: t.ttl}
	case t.total >= t.max:
		return &capError{limit: t.max, ttl: t.ttl}
	}
	t.callers[caller]++
	t.total++
	return nil
}

func (t *sessionTable) unreserveLocked(caller string) {
	t.total--
	if t.callers[caller]--; t.callers[caller] <= 0 {
		delete(t.callers, caller)
	}
}

// reserve takes room for a session an initialize is about to create.
func (t *sessionTable) reserve(caller string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reserveLocked(caller)
}

// commit turns a reservation into session id (or gives it back when id is
// empty, or already known because a request named it first).
func (t *sessionTable) commit(id, caller string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.sessions[id]; ok || id == "" {
		t.unreserveLocked(caller)
		return
	}
	t.sessions[id] = &sessionEntry{caller: caller, last: t.now()}
	t.counted()
}

// use records a request naming session id: activity (a request or a
// notification, not a response) makes it fresh. A session the table does
// not know (one it freed, or one another replica made) is taken in under
// the caps, like a new one.
func (t *sessionTable) use(id, caller string, activity bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if e, ok := t.sessions[id]; ok {
		if activity {
			e.last = now
			for st := range t.streams {
				if st.id == id {
					st.last = now
				}
			}
		}
		return nil
	}
	if !activity {
		return nil // answers to pings keep no state in mcp-go
	}
	if err := t.reserveLocked(caller); err != nil {
		return err
	}
	t.sessions[id] = &sessionEntry{caller: caller, last: now}
	t.counted()
	return nil
}

// touchStreams marks the streams of session id active (a legacy SSE post).
func (t *sessionTable) touchStreams(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for st := range t.streams {
		if st.id == id {
			st.last = now
		}
	}
}

// forget drops session id after the client ended it (DELETE).
func (t *sessionTable) forget(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.sessions[id]; ok {
		delete(t.sessions, id)
		t.unreserveLocked(e.caller)
		t.counted()
	}
}

// open registers a stream of session id ("" if not known yet) that cancel
// ends; its session does not expire while it is open.
func (t *sessionTable) open(id string, cancel context.CancelFunc) *stream {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := &stream{id: id, last: t.now(), cancel: cancel}
	t.streams[st] = struct{}{}
	if e, ok := t.sessions[id]; ok && id != "" {
		e.streams++
	}
	t.counted()
	return st
}

// bind names the session of a stream opened before its id was known (SSE).
func (t *sessionTable) bind(st *stream, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st.id = id
}

// close unregisters a stream; its session's idle time starts again.
func (t *sessionTable) close(st *stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.streams[st]; !ok {
		return
	}
	delete(t.streams, st)
	if e, ok := t.sessions[st.id]; ok && st.id != "" {
		e.streams--
		e.last = t.now()
	}
	t.counted()
}

// sweep frees the sessions idle for ttl and closes the streams idle for
// streamIdle, and returns how many of each.
func (t *sessionTable) sweep() (sessions, streams int) {
	now := t.now()
	var ids []string
	var cancels []context.CancelFunc
	t.mu.Lock()
	for id, e := range t.sessions {
		if e.streams == 0 && now.Sub(e.last) >= t.ttl {
			delete(t.sessions, id)
			t.unreserveLocked(e.caller)
			ids = append(ids, id)
		}
	}
	for st := range t.streams {
		if now.Sub(st.last) >= t.streamIdle && st.cancel != nil {
			cancels = append(cancels, st.cancel)
			st.cancel = nil // closing: cancel once
		}
	}
	t.counted()
	t.mu.Unlock()
	for _, c := range cancels {
		c()
	}
	for _, id := range ids {
		t.evict(id)
	}
	return len(ids), len(cancels)
}

// len returns the numbers of sessions and open streams.
func (t *sessionTable) len() (sessions, streams int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions), len(t.streams)
}

// active returns the number of MCP sessions open: the legacy Streamable
// HTTP sessions kept, and the legacy SSE sessions, each of which lives as
// long as its /sse stream (a Streamable HTTP GET stream belongs to a session
// already counted, or to none).
func (t *sessionTable) active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.sessions)
	for st := range t.streams {
		if _, ok := t.sessions[st.id]; st.id != "" && !ok {
			n++
		}
	}
	return n
}

// message is what the session gate needs of a JSON-RPC message.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Meta *mcp.Meta `json:"_meta"`
	} `json:"params"`
}

// peek reads the message of a POST (Wrap kept its body), once per request.
func peek(r *http.Request) message {
	pb, _ := r.Context().Value(bodyKey).(*postBody)
	if pb == nil {
		return message{}
	}
	if !pb.peeked {
		_ = json.Unmarshal(pb.b, &pb.msg)
		pb.peeked = true
	}
	return pb.msg
}

// sessionIDs validates the format of Streamable HTTP session ids as mcp-go's
// (stateless-generating) manager does, so that garbage ids are left to
// mcp-go to refuse and never take room in the table.
var sessionIDs mcpserver.StatelessGeneratingSessionIdManager

// gate wraps the Streamable HTTP handler (behind Wrap): it applies the
// session caps, keeps the table in step with what mcp-go keeps, and bounds
// GET streams by the idle limit. Requests of the 2026-07-28 era carry no
// session and pass through.
func (t *sessionTable) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg := peek(r)
		if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) || mcp.IsModernProtocol(msg.Params.Meta.ProtocolVersion()) {
			next.ServeHTTP(w, r)
			return
		}
		caller := callerFrom(r.Context())
		id := r.Header.Get(mcpserver.HeaderKeySessionID)
		known := id != ""
		if known {
			_, err := sessionIDs.Validate(id)
			known = err == nil
		}
		switch r.Method {
		case http.MethodPost:
			if msg.Method == string(mcp.MethodInitialize) {
				// mcp-go mints a new session for every initialize.
				if err := t.reserve(caller); err != nil {
					t.refuse(w, r, msg.ID, err)
					return
				}
				// The reservation becomes the minted session, or is given
				// back (no session: refused by mcp-go, or a panic).
				defer func() { t.commit(w.Header().Get(mcpserver.HeaderKeySessionID), caller) }()
				next.ServeHTTP(w, r)
				return
			}
			if known {
				if err := t.use(id, caller, msg.Method != ""); err != nil {
					t.refuse(w, r, msg.ID, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		case http.MethodGet:
			if known {
				if err := t.use(id, caller, true); err != nil {
					t.refuse(w, r, nil, err)
					return
				}
			} else {
				id = ""
			}
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			st := t.open(id, cancel)
			defer t.close(st)
			next.ServeHTTP(w, r.WithContext(ctx))
		case http.MethodDelete:
			next.ServeHTTP(w, r)
			if known {
				t.forget(id)
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// streamGate wraps the legacy SSE stream handler: the stream is registered
// (the session id is bound when the binder mints it) and closed when idle.
func (t *sessionTable) streamGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		st := t.open("", cancel)
		defer t.close(st)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, streamKey{}, st)))
	})
}

type streamKey struct{}

// refuse answers an over-cap request: 503, Retry-After and a JSON-RPC error
// that says what to do.
func (t *sessionTable) refuse(w http.ResponseWriter, r *http.Request, id json.RawMessage, err error) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	if t.onRefuse != nil {
		t.onRefuse(r, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "60")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": ErrCodeOverCapacity, "message": err.Error()}})
}

// ErrCodeOverCapacity is the JSON-RPC error code of a request refused
// because a session cap is reached (in the implementation-defined range).
const ErrCodeOverCapacity = -32001

// discardWriter is the response writer of the DELETEs the table sends
// mcp-go to free a session.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// evictThrough returns an evict function that ends a session the way a
// client's DELETE does, through h (mcp-go's handler).
func evictThrough(h http.Handler) func(id string) {
	return func(id string) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, PathMCP, nil)
		if err != nil {
			return
		}
		req.Header.Set(mcpserver.HeaderKeySessionID, id)
		h.ServeHTTP(&discardWriter{}, req)
	}
}
