package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The 2025-era tools/call POST, sent by the tier itself. mcp-go's
// StreamableHTTP.SendRequest added ≈30 allocations and a goroutine to each
// call's http.Client.Do (the request marshalled again, a watcher goroutine
// per request, a decoder, the response struct and a copy of its result). post sends the same request
// bytes with the same headers through the same *http.Client, and reads the
// answer that every Zoho tools/call gets, 200 application/json, once: the
// result handed on is a slice of the body.
//
// Every other answer (SSE, 202, 401, 404, any other status or content type)
// is handed to SendRequest as it came, by replaying it (statusTransport
// gives the waiting response to the exchange's next request instead of
// sending it): SendRequest then reads it exactly as it would have, with the
// notifications, server requests and stream resumption of an SSE answer,
// and the transport's own state (a 404 ends its session) kept by mcp-go.
//
// What post reproduces of SendRequest, for the transport the tier builds
// (WithHTTPBasicClient, WithHTTPHeaderFunc, WithHTTPLogger; no static
// headers, Host, OAuth handler or GET listening):
//   - the session check before sending: once the transport's session has
//     ended (its ID is cleared), the call goes through SendRequest, which
//     refuses it without sending;
//   - the headers: Content-Type, Accept, Mcp-Session-Id,
//     Mcp-Protocol-Version (as the client passed it to SetProtocolVersion),
//     then the header func's;
//   - the context: the caller's, ended also when the session is closed
//     (mcp-go cancels its requests in flight when the transport closes);
//   - the errors: a failed send as sendHTTP's and SendRequest's wrapping,
//     a body that does not decode as its decoder's error, a response
//     without an id as its message.
//
// TestPostParity holds the two to the same results, errors, transport
// state and requests on the wire, answer by answer.

// post sends body, a tools/call request, on s. When the answer is a JSON-RPC
// result it returns the result's bytes; otherwise it returns what
// SendRequest returns for the answer (req is the request it is given then).
func (t *Tier) post(ctx context.Context, s *session, body []byte, req func() transport.JSONRPCRequest) (result []byte, resp *transport.JSONRPCResponse, err error) {
	tr, _ := s.c.GetTransport().(*transport.StreamableHTTP)
	ci, _ := ctx.(*callInfo)
	if tr == nil || ci == nil || tr.GetSessionId() != s.sessionID {
		// Not a transport this file reproduces, no exchange to replay
		// an answer on, or the session has ended.
		resp, err = s.c.GetTransport().SendRequest(ctx, req())
		return nil, resp, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.done, cancel)
	var hresp *http.Response
	defer func() {
		// Cancel before closing the body, as SendRequest does (an HTTP/2
		// Close may otherwise wait).
		stop()
		cancel()
		if hresp != nil {
			hresp.Body.Close()
		}
	}()

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to send request: %w", fmt.Errorf("failed to create request: %w", err))
	}
	h := hreq.Header
	v := [...]string{"application/json", "application/json, text/event-stream", s.sessionID, s.c.ProtocolVersion()}
	h["Content-Type"], h["Accept"] = v[0:1:1], v[1:2:2]
	if v[2] != "" {
		h[transport.HeaderKeySessionID] = v[2:3:3]
	}
	if v[3] != "" {
		h[transport.HeaderKeyProtocolVersion] = v[3:4:4]
	}
	for k, v := range headers(ctx) {
		h.Set(k, v)
	}
	hresp, err = t.http.Do(hreq)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to send request: %w", fmt.Errorf("failed to send request: %w", err))
	}
	if hresp.StatusCode != http.StatusOK || !isJSON(hresp.Header.Get("Content-Type")) {
		return replay(ci, s, hresp, req())
	}
	b, rerr := readJSON(hresp.Body, hresp.ContentLength)
	if rerr == nil {
		if result, ok := resultOf(b); ok {
			return result, nil, nil
		}
	}
	// Anything else reads as SendRequest's decoder reads it: the bytes
	// read, then the read error if there was one.
	var r io.Reader = bytes.NewReader(b)
	if rerr != nil {
		r = io.MultiReader(r, errReader{rerr})
	}
	var response transport.JSONRPCResponse
	if err := json.NewDecoder(r).Decode(&response); err != nil {
		return nil, nil, fmt.Errorf("failed to decode response: %w", err)
	}
	if response.ID.IsNil() {
		return nil, nil, fmt.Errorf("response should contain RPC id: %v", response)
	}
	return nil, &response, nil
}

// replay hands hresp to SendRequest as the answer to req and returns what
// SendRequest makes of it.
func replay(ci *callInfo, s *session, hresp *http.Response, req transport.JSONRPCRequest) ([]byte, *transport.JSONRPCResponse, error) {
	// Replayed, the answer meets Client.Do's redirect handling again: Do
	// returns a redirect only when the client's CheckRedirect declined to
	// follow it, and it declines again.
	ci.replay.Store(hresp)
	resp, err := s.c.GetTransport().SendRequest(ci, req)
	if ci.replay.Swap(nil) != nil {
		// SendRequest did not send: the session ended meanwhile (another
		// call's 404). The upstream has answered this call, so it must not
		// read as never sent (ErrSessionTerminated would be retried).
		return nil, nil, errReplayLost
	}
	return nil, resp, err
}

// errReplayLost is post's error for an answer SendRequest refused to read.
var errReplayLost = errors.New("the upstream session ended while its answer to this call was read")

// isJSON reports whether a Content-Type is application/json, as
// SendRequest's mime.ParseMediaType reads it.
func isJSON(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json"
}

// readJSON reads a JSON answer's body: to its end, or, as SendRequest's
// decoder does, until the bytes read are one complete JSON value (a server
// may leave the body open after it).
func readJSON(r io.Reader, size int64) ([]byte, error) {
	n := 512
	if size > 0 && size < 64<<20 {
		n = int(size)
	}
	b := make([]byte, 0, n)
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if m > 0 && endsObject(b) && tiers.Valid(b) {
			return b, nil
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// endsObject reports whether b's last byte other than JSON whitespace is '}'.
func endsObject(b []byte) bool {
	b = bytes.TrimRight(b, " \t\r\n")
	return len(b) > 0 && b[len(b)-1] == '}'
}

// resultOf returns the result of a JSON-RPC response b when reading it as
// SendRequest does (json.Decoder into a JSONRPCResponse) provably gives a
// non-nil id, no error and that result: b is one valid JSON object whose
// jsonrpc is a string, id a string, result an object, each once, and which
// has no error member. It reports false for anything else, which the
// decoder reads.
func resultOf(b []byte) ([]byte, bool) {
	if !tiers.Valid(b) {
		return nil, false
	}
	var result []byte
	var seen [3]bool // jsonrpc, id, result
	ok := true
	isObj := tiers.EachField(b, func(k, v []byte) bool {
		i, want := -1, byte(0)
		switch {
		case tiers.FieldIs(k, "jsonrpc"):
			i, want = 0, '"'
		case tiers.FieldIs(k, "id"):
			i, want = 1, '"'
		case tiers.FieldIs(k, "result"):
			i, want = 2, '{'
			result = v
		case tiers.FieldIs(k, "error"):
			ok = false
		default:
			return true
		}
		if ok && (seen[i] || v[0] != want) {
			ok = false
		}
		if ok {
			seen[i] = true
		}
		return ok
	})
	return result, isObj && ok && seen[1] && seen[2]
}

// errReader is a reader that fails with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// endpointURL is the URL the transport sends to for endpoint: the string of
// its url.Parse (connect has made a transport of it, so it parses).
func endpointURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	return u.String()
}
