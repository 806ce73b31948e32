package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Progress notifications.
//
// A tool call whose request carries _meta.progressToken gets a reporter in
// its context (tiers.WithProgress): whatever reports progress below it (the
// tools, the router, the tiers) becomes notifications/progress for the
// client. mcp-go v1.2.1's own path (SendNotificationToClient, through each
// session's notification channel) was measured under -race on every
// transport (TestMeasureProgressDelivery; docs/BENCHMARKS.md): no data race,
// but on stdio and legacy SSE most notifications arrive after the call's
// answer or are dropped (the channel and the answer are written by
// different goroutines), on a legacy Streamable HTTP session they land on
// other concurrent calls' streams (one channel per session, read by every
// POST in flight) or are lost, and on every Streamable HTTP request the last
// ones can be lost when the answer is written (the forwarder drops what it
// took once the request is done). So the proxy delivers them itself, on the
// path the call's answer takes, before it:
//
//   - stdio: written to the output under the same lock as mcp-go's lines;
//   - legacy SSE: queued on the session's event queue, the answer's queue;
//   - Streamable HTTP (both eras): written as SSE events on the call's own
//     POST response (progressStream), mcp-go's answer then framed as the
//     last event.
//
// Without any of these (a server used in-process) mcp-go's path is the
// fallback.

// notifySender delivers one notification to the client on the stream of
// the call in flight, before the call's answer.
type notifySender func(ctx context.Context, n mcp.JSONRPCNotification) error

type senderKey struct{}

func withSender(ctx context.Context, s notifySender) context.Context {
	return context.WithValue(ctx, senderKey{}, s)
}

// senderFrom returns the transport's sender in ctx, or mcp-go's own path.
func senderFrom(ctx context.Context) notifySender {
	if s, ok := ctx.Value(senderKey{}).(notifySender); ok {
		return s
	}
	return func(ctx context.Context, n mcp.JSONRPCNotification) error {
		s := mcpserver.ServerFromContext(ctx)
		if s == nil {
			return errors.New("no MCP server in the context")
		}
		return s.SendNotificationToClient(ctx, n.Method, n.Params.AdditionalFields)
	}
}

// DefaultProgressInterval is the least time between two progress
// notifications of one call when Options.ProgressInterval is zero.
const DefaultProgressInterval = 250 * time.Millisecond

// maxCreep bounds the notifications sent while no further record is done:
// each one creeps closer to the next whole record (see notifier.value).
const maxCreep = 30

// notifier turns the progress reports of one call into
// notifications/progress: at most one per interval (the latest report
// wins; the last one is always sent before the answer), with a progress
// value that increases with every notification, as MCP requires.
type notifier struct {
	ctx      context.Context
	token    mcp.ProgressToken
	send     notifySender
	now      func() time.Time
	interval time.Duration

	mu      sync.Mutex
	closed  bool
	last    float64 // the last progress value sent
	creep   int     // notifications sent since Done last moved
	sentAt  time.Time
	pending *tiers.Progress // a report held back by the interval
}

func newNotifier(ctx context.Context, token mcp.ProgressToken, now func() time.Time, interval time.Duration) *notifier {
	return &notifier{ctx: ctx, token: token, send: senderFrom(ctx), now: now, interval: interval, last: -1}
}

// report takes one progress report.
func (n *notifier) report(p tiers.Progress) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if n.interval > 0 && !n.sentAt.IsZero() && n.now().Sub(n.sentAt) < n.interval {
		n.pending = &p
		return
	}
	n.sendLocked(p)
}

// close sends the report the interval held back, if any; nothing is sent
// afterwards (the call's answer follows).
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending != nil {
		n.sendLocked(*n.pending)
	}
	n.closed = true
}

func (n *notifier) sendLocked(p tiers.Progress) {
	n.pending = nil
	v, ok := n.value(p.Done)
	if !ok {
		return
	}
	params := map[string]any{"progressToken": n.token, "progress": v}
	if p.Total > 0 && float64(p.Total) >= v {
		params["total"] = p.Total
	}
	if p.Message != "" {
		params["message"] = p.Message
	}
	nt := mcp.JSONRPCNotification{JSONRPC: mcp.JSONRPC_VERSION,
		Notification: mcp.Notification{Method: string(mcp.MethodNotificationProgress), Params: mcp.NotificationParams{AdditionalFields: params}}}
	if err := n.send(n.ctx, nt); err != nil {
		return // advisory: a notification that cannot be delivered is dropped
	}
	n.last, n.sentAt = v, n.now()
}

// value returns the progress value of a report of done records: done when
// it is more than the last value sent; otherwise (a sign of life with no
// further record, or fewer after a retry on another tier) a value between
// the last one and the next whole record, 1/2, 3/4, 7/8 … of the way, so
// that every notification's value increases. ok is false after maxCreep
// such values, until done moves on.
func (n *notifier) value(done int) (float64, bool) {
	if v := float64(done); v > n.last {
		n.creep = 0
		return v, true
	}
	if n.creep >= maxCreep {
		return 0, false
	}
	n.creep++
	base := math.Floor(max(n.last, 0))
	return base + 1 - math.Ldexp(1, -n.creep), true
}

// progress is the tool-handler middleware that gives a call with a
// progressToken its reporter.
func (m *MCP) progress(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
			return next(ctx, req)
		}
		n := newNotifier(ctx, req.Params.Meta.ProgressToken, m.now, m.progressInterval)
		defer n.close()
		return next(tiers.WithProgress(ctx, n.report), req)
	}
}

// lineWriter serialises whole-line writes to the stdio output: mcp-go's
// (one Write per message) and the progress notifications'.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// send writes n as one line.
func (l *lineWriter) send(_ context.Context, n mcp.JSONRPCNotification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = l.Write(append(b, '\n'))
	return err
}

// sseSender returns the sender of a legacy SSE session: the session's event
// queue, which the call's answer joins after the handler returns. A full
// queue is waited on for a while (the stream writes it out), not dropped.
func sseSender(s *mcpserver.SSEServer, sessionID string) notifySender {
	return func(ctx context.Context, n mcp.JSONRPCNotification) error {
		wait := time.Millisecond
		var timeout <-chan time.Time
		for {
			err := s.SendEventToSession(sessionID, n)
			if err == nil || !strings.Contains(err.Error(), "queue full") {
				return err
			}
			if timeout == nil {
				timer := time.NewTimer(2 * time.Second)
				defer timer.Stop()
				timeout = timer.C
			}
			retry := time.NewTimer(wait)
			select {
			case <-retry.C:
			case <-timeout:
				retry.Stop()
				return err
			case <-ctx.Done():
				retry.Stop()
				return ctx.Err()
			}
			wait = min(2*wait, 50*time.Millisecond)
		}
	}
}

// progressStream is the response writer of a Streamable HTTP POST whose
// call asked for progress: send writes notifications as SSE events on this
// response (upgrading it to an event stream on the first), and mcp-go's
// answer, if it is then written as plain JSON, becomes the stream's last
// event. Every write goes through one lock.
type progressStream struct {
	w       http.ResponseWriter
	flusher http.Flusher

	mu        sync.Mutex
	upgraded  bool // we sent the SSE response header
	started   bool // a response header was sent (by us or mcp-go)
	frameJSON bool // mcp-go answers in JSON after our upgrade: frame it
	done      bool // the response is over: send nothing
}

func newProgressStream(w http.ResponseWriter) *progressStream {
	f, _ := w.(http.Flusher)
	return &progressStream{w: w, flusher: f}
}

func (p *progressStream) Header() http.Header { return p.w.Header() }

func (p *progressStream) WriteHeader(code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.upgraded {
		// The header is out: mcp-go's answer follows as one JSON body,
		// unless it writes an event stream itself.
		p.frameJSON = !strings.HasPrefix(p.w.Header().Get("Content-Type"), "text/event-stream")
		p.w.Header().Set("Content-Type", "text/event-stream")
		return
	}
	p.started = true
	p.w.WriteHeader(code)
}

func (p *progressStream) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = true
	if !p.frameJSON {
		return p.w.Write(b)
	}
	if _, err := fmt.Fprintf(p.w, "event: message\ndata: %s\n\n", bytes.TrimRight(b, "\r\n")); err != nil {
		return 0, err
	}
	p.done = true
	return len(b), nil
}

func (p *progressStream) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flusher != nil {
		p.flusher.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (p *progressStream) Unwrap() http.ResponseWriter { return p.w }

// send writes n as an SSE event on the response.
func (p *progressStream) send(_ context.Context, n mcp.JSONRPCNotification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.done || p.flusher == nil:
		return errors.New("the call's response cannot carry events")
	case !p.upgraded && p.started:
		// mcp-go already answered in a form of its own; only an event
		// stream it started takes more events.
		if !strings.HasPrefix(p.w.Header().Get("Content-Type"), "text/event-stream") {
			return errors.New("the call's response is already written")
		}
	case !p.upgraded:
		h := p.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		p.w.WriteHeader(http.StatusOK)
		p.upgraded, p.started = true, true
	}
	if _, err := fmt.Fprintf(p.w, "event: message\ndata: %s\n\n", b); err != nil {
		return err
	}
	p.flusher.Flush()
	return nil
}

// withProgressStreams gives each Streamable HTTP POST that carries a
// progressToken a progressStream, and the call's context its sender.
func withProgressStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if m := peek(r).Params.Meta; m == nil || m.ProgressToken == nil {
			next.ServeHTTP(w, r)
			return
		}
		ps := newProgressStream(w)
		next.ServeHTTP(ps, r.WithContext(withSender(r.Context(), ps.send)))
	})
}
