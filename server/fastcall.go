package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// The fast path of plain tool calls.
//
// For every POST, mcp-go v1.2.1's Streamable HTTP server makes an ephemeral
// session (four buffered channels), starts a notification-forwarder
// goroutine, and parses the body about five times (envelope, era, protocol
// information, _meta, the request) before the tool's handler runs. For the
// call most clients make most of the time (a legacy-era tools/call on an
// initialized session, with no _meta) none of that changes the answer: the
// proxy's tools send no notifications and no server-initiated requests on
// such a call, and the server registers no hooks, filters, middleware or
// validators that would see it. fastCalls answers those calls itself, with
// the handler mcp-go would call (MCP.wrap's: logs, metrics, scope refusals,
// drain, panics) and the bytes mcp-go would write; every other request, and
// every call where a condition below does not hold, goes to mcp-go as
// before, so the edge cases keep mcp-go's exact behaviour.
//
// The conditions, each for a reason:
//   - POST with Content-Type application/json (mcp-go refuses others);
//   - the body Wrap read, valid JSON, "jsonrpc":"2.0", "method":"tools/call",
//     an id that is a string or a number, and no "result" (mcp-go takes a
//     message with a result for a response and answers 202);
//   - an Mcp-Protocol-Version header naming a version mcp-go implements that
//     is older than 2026-07-28 (a missing or unknown one is left to mcp-go's
//     own checks);
//   - no params._meta at all (no progress token, no protocol version, no
//     trace context) and no params.task (task-augmented execution);
//   - a well-formed Mcp-Session-Id (mcp-go answers 404 to others);
//   - mcp-go's DNS-rebinding check would pass;
//   - a tool registered with the MCP that declares no execution options,
//     on a server without input schema validation.
//
// The handler's context carries what mcp-go's carries that a tool can
// read: the request's values and what profileContext adds (profile, caller,
// browser origin). It carries no mcp-go session and no server
// (mcpserver.ServerFromContext is nil): no tool reads them, and their one
// reader, progress.go's fallback sender, needs a progressToken, which a
// fast call never has. A session's queued notifications are not flushed
// into a fast call's answer as mcp-go's forwarder would (the proxy sends
// none on legacy Streamable HTTP sessions; progress has its own path).
//
// mcp-go can cancel a call in flight when the client posts
// notifications/cancelled on the same session; fastCalls keeps its own
// calls' cancel functions under mcp-go's key ("sessionID:requestID") and
// cancels them on such a notification before passing it on to mcp-go.

// fastCalls answers plain legacy tools/call POSTs on PathMCP (see above) and
// passes everything else to next (mcp-go).
type fastCalls struct {
	tools map[string]mcpserver.ToolHandlerFunc // MCP.fast
	next  http.Handler
	// inflight holds the cancel function of each fast call, keyed as mcp-go
	// keys its own in-flight calls (callKey); mu guards it. A map under a
	// lock, not a sync.Map: its entries are added and removed once each,
	// which a sync.Map pays for with an allocation per entry and a boxed
	// key.
	mu       sync.Mutex
	inflight map[string]context.CancelFunc
	// served counts the calls answered here (for tests).
	served atomic.Int64
}

// withFastCalls returns next behind the fast path, or next itself when m
// has no tool the fast path may serve (input schema validation on).
func withFastCalls(m *MCP, next http.Handler) http.Handler {
	if len(m.fast) == 0 {
		return next
	}
	return &fastCalls{tools: m.fast, next: next, inflight: map[string]context.CancelFunc{}}
}

// fastMessage is a tools/call as mcp-go's HandleMessage reads it: its
// envelope (the same field types, so that the same bodies decode) and the
// request it hands the handler.
type fastMessage struct {
	JSONRPC string `json:"jsonrpc"`
	ID      any    `json:"id"`
	Result  any    `json:"result"`
	mcp.CallToolRequest
}

func (f *fastCalls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !f.serve(w, r) {
		f.next.ServeHTTP(w, r)
	}
}

// serve answers r when it is a plain legacy tools/call, and reports whether
// it did.
func (f *fastCalls) serve(w http.ResponseWriter, r *http.Request) bool {
	pb, _ := r.Context().Value(bodyKey).(*postBody)
	if pb == nil {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	if rebinding(r) {
		return false
	}
	sid := r.Header.Get(mcpserver.HeaderKeySessionID)
	if sid == "" {
		return false
	}
	if terminated, err := sessionIDs.Validate(sid); err != nil || terminated {
		return false
	}
	pv := r.Header.Get(mcp.HeaderProtocolVersion)
	msg := peek(r)
	switch msg.Method {
	case string(mcp.MethodToolsCall):
	case string(mcp.MethodNotificationCancelled):
		f.cancel(pb.b, sid, pv, msg)
		return false
	default:
		return false
	}
	// peek reads _meta the way mcp-go's era checks do (a plain struct: of
	// duplicate params, each one's _meta counts).
	if msg.Params.Meta != nil || pv == "" || !mcp.IsValidProtocolVersion(pv) || mcp.IsModernProtocol(pv) {
		return false
	}
	var fm fastMessage
	if err := json.Unmarshal(pb.b, &fm); err != nil {
		return false
	}
	if fm.JSONRPC != mcp.JSONRPC_VERSION || fm.Result != nil || fm.Method != string(mcp.MethodToolsCall) ||
		fm.Params.Meta != nil || fm.Params.Task != nil {
		return false
	}
	switch fm.ID.(type) {
	case string, float64:
	default:
		return false
	}
	handler := f.tools[fm.Params.Name]
	if handler == nil {
		return false
	}

	// From here on the call is ours: the handler runs exactly once.
	f.served.Add(1)
	req := fm.CallToolRequest
	req.Header = r.Header
	// r's context already carries what profileContext adds for mcp-go
	// (Wrap put the profile, caller and browser origin there).
	ctx, cancel := context.WithCancel(r.Context())
	key := callKey(sid, fm.ID)
	f.mu.Lock()
	f.inflight[key] = cancel
	f.mu.Unlock()
	res, err := handler(ctx, req)
	f.mu.Lock()
	delete(f.inflight, key)
	f.mu.Unlock()
	cancel()

	if r.Context().Err() != nil {
		return true // the client is gone: mcp-go writes nothing either
	}
	id := mcp.NewRequestId(fm.ID)
	var fail mcp.JSONRPCError
	switch {
	case err != nil:
		fail = handlerErrorResponse(id, err)
	case res == nil:
		// mcp-go's noResultError.
		fail = mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: mcp.NewJSONRPCErrorDetails(mcp.INTERNAL_ERROR,
			fmt.Sprintf("tool '%s' handler returned no result", req.Params.Name), nil)}
	case res.NeedsInput():
		// mcp-go would ask the client over the session (elicitation,
		// sampling, roots) and call the handler again; no tool of the
		// proxy asks for input, and a handler is never called twice here.
		fail = mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: mcp.NewJSONRPCErrorDetails(mcp.INTERNAL_ERROR,
			fmt.Sprintf("tool '%s' asked for client input, which the proxy does not support", req.Params.Name), nil)}
	default:
		writeResult(w, fm.ID, res)
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(fail)
	return true
}

// handlerErrorResponse is the JSON-RPC error mcp-go answers a handler error
// with on a legacy request (its handlerError): a URL elicitation the
// handler requires becomes -32042 with the elicitations, anything else an
// internal error with the error's text.
func handlerErrorResponse(id mcp.RequestId, err error) mcp.JSONRPCError {
	code, data := mcp.INTERNAL_ERROR, any(nil)
	var required mcp.URLElicitationRequiredError
	var pointer *mcp.URLElicitationRequiredError
	switch {
	case errors.As(err, &required):
	case errors.As(err, &pointer) && pointer != nil:
		required = *pointer
	default:
		return mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: mcp.NewJSONRPCErrorDetails(code, err.Error(), data)}
	}
	d := required.JSONRPCError().Error
	return mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: mcp.NewJSONRPCErrorDetails(d.Code, err.Error(), d.Data)}
}

// cancel cancels the fast call a notifications/cancelled names, when mcp-go
// would take the notification for a legacy one of session sid (the request
// then goes on to mcp-go, for its own calls).
func (f *fastCalls) cancel(body []byte, sid, pv string, msg message) {
	if mcp.IsModernProtocol(pv) || mcp.IsModernProtocol(msg.Params.Meta.ProtocolVersion()) ||
		(pv != "" && !mcp.IsValidProtocolVersion(pv)) {
		return
	}
	var n struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		mcp.JSONRPCNotification
	}
	if json.Unmarshal(body, &n) != nil || n.JSONRPC != mcp.JSONRPC_VERSION || n.ID != nil {
		return
	}
	reqID, ok := n.Params.AdditionalFields["requestId"]
	if !ok {
		return
	}
	key := callKey(sid, reqID)
	f.mu.Lock()
	c, ok := f.inflight[key]
	delete(f.inflight, key)
	f.mu.Unlock()
	if ok {
		c()
	}
}

// callKey is mcp-go's key of the call id of session sid,
// fmt.Sprintf("%s:%v", sid, id), built without fmt for the ids clients
// send (strings, and numbers that are whole).
func callKey(sid string, id any) string {
	var room [96]byte
	b := append(append(room[:0], sid...), ':')
	switch v := id.(type) {
	case string:
		return string(append(b, v...))
	case float64:
		// %v prints a whole number below 1e6 as its digits (from 1e6 on,
		// with an exponent); -0 keeps its sign.
		if v == math.Trunc(v) && math.Abs(v) < 1e6 && (v != 0 || !math.Signbit(v)) {
			return string(strconv.AppendInt(b, int64(v), 10))
		}
	}
	return fmt.Sprintf("%s:%v", sid, id)
}

// rebinding reports whether mcp-go's DNS-rebinding protection would refuse
// r: it came in on a loopback address but names a Host that is not.
func rebinding(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil {
		return false
	}
	return isLoopbackHost(local.String()) && !isLoopbackHost(r.Host)
}
