package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The upstream tools/call. mcp-go's Client.CallTool turns a result into an
// *mcp.CallToolResult by reading it five or six times (a probe, the full
// decode, a probe and a decode per content item, structuredContent into a
// map), and this tier then reads the text again: on a ≈2 KB record that was
// half of the proxy's CPU per call. callTool instead sends the request
// itself (post.go; other answers than a JSON result go on to the client's
// transport) and reads the result once, into toolResult.
//
// On a connection in the 2025 era (protocol 2025-11-25 and before, which
// this tier offers by default and Zoho's hosted servers speak) the client's
// own sendRequest adds nothing to a tools/call: no _meta, no headers beyond
// the transport's, no tracing unless a tracer is configured (this tier
// configures none), and over HTTP no notifications/cancelled when the
// context ends (closing the POST is the cancellation). The raw path does the
// same. On a 2026-07-28 connection every request carries per-request _meta
// (protocol version, client info, capabilities, log level) and Mcp-Method,
// Mcp-Name and Mcp-Param-* headers built from the client's cached tool
// definitions by unexported code; copying that would drift from mcp-go
// silently, so that era keeps Client.CallTool. So does a result asking for
// input (SEP-2322 multi round-trip), which Zoho's tools never send.

// toolResult is what this tier reads of a tools/call result.
type toolResult struct {
	// IsError is the result's isError.
	IsError bool
	// Texts holds the text of the text content items, in order, decoded
	// (as bytes: the reader walks them, it never needs them as strings).
	Texts [][]byte
	// Structured is structuredContent as sent; nil when absent.
	Structured json.RawMessage

	one [1][]byte // backs Texts for the usual one text
}

// callTool sends one tools/call of name with args on s and returns its
// result. Its errors are those of Client.CallTool: a transport failure as a
// *transport.Error, a JSON-RPC error answer as mcp-go's sentinel errors, an
// unreadable result as a plain error.
//
// The raw path's params are the JSON bytes appendParams writes, the bytes
// the transport's json.Marshal writes for the map form (see args.go), which
// it copies through as a json.RawMessage.
func (t *Tier) callTool(ctx context.Context, s *session, name string, args toolArgs) (*toolResult, error) {
	if mcpgo.IsModernProtocol(s.c.ProtocolVersion()) {
		return clientCallTool(ctx, s, name, args)
	}
	if err := ctx.Err(); err != nil {
		return nil, transport.NewError(err) // not sent, as the client does
	}
	// One buffer: the request as the transport's json.Marshal writes it,
	// the params (already compact and HTML-escaped) copied through.
	n := t.callIDs.Add(1)
	body := append(make([]byte, 0, 64+paramsSize(name, args)), `{"jsonrpc":"2.0","id":"zmp-`...)
	body = strconv.AppendInt(body, n, 10)
	body = append(body, `","method":"tools/call","params":`...)
	start := len(body)
	body, err := appendParams(body, name, args)
	if err != nil {
		// As the transport's own json.Marshal of the map form fails.
		return nil, transport.NewError(fmt.Errorf("failed to marshal request: %w", err))
	}
	params := body[start:]
	body = append(body, '}')
	req := func() transport.JSONRPCRequest {
		return transport.JSONRPCRequest{
			JSONRPC: mcpgo.JSONRPC_VERSION,
			// A string id never equals one of the integer ids the client
			// numbers its own requests with on the same session.
			ID:     mcpgo.NewRequestId("zmp-" + strconv.FormatInt(n, 10)),
			Method: string(mcpgo.MethodToolsCall),
			Params: json.RawMessage(params),
		}
	}
	result, resp, err := t.post(ctx, s, body, req)
	if err != nil {
		return nil, transport.NewError(err)
	}
	if result == nil {
		if resp == nil {
			return nil, errors.New("no response received")
		}
		if resp.Error != nil {
			return nil, resp.Error.AsError()
		}
		result = resp.Result
	}
	res, needsInput, err := parseValidToolResult(result) // decoded or checked: valid
	if err != nil {
		return nil, err
	}
	if needsInput {
		// The server did not run the tool yet; mcp-go's loop answers
		// what it can (here nothing: no handlers) or retries.
		return clientCallTool(ctx, s, name, args)
	}
	return res, nil
}

// clientCallTool is callTool through mcp-go's Client.CallTool, which takes
// the arguments as a map.
func clientCallTool(ctx context.Context, s *session, name string, args toolArgs) (*toolResult, error) {
	req := mcpgo.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args.object()
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return nil, err
	}
	return fromMCP(res), nil
}

// fromMCP is the toolResult of an mcp-go result.
func fromMCP(res *mcpgo.CallToolResult) *toolResult {
	r := &toolResult{IsError: res.IsError, Structured: res.RawStructuredContent}
	for _, c := range res.Content {
		if tc, ok := mcpgo.AsTextContent(c); ok {
			r.Texts = append(r.Texts, []byte(tc.Text))
		}
	}
	if len(r.Structured) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			r.Structured = b
		}
	}
	return r
}

// parseToolResult reads a tools/call result as json.Unmarshal into
// {resultType, content [{type, text}], structuredContent, isError} would,
// and then checks it. It accepts every result mcp.ParseCallToolResult
// accepts, with the same reading, and refuses what it refuses about the
// fields this tier reads: a result that is not an object, no content
// (unless it asks for input), a content item without a string type or of
// an unknown type, a text that is not a string, an isError that is not a
// boolean. Decoration this tier never reads (annotations, _meta, the fields
// of non-text items) is not checked. needsInput reports a result asking for
// input (resultType "input_required"), which it does not read further.
func parseToolResult(raw json.RawMessage) (res *toolResult, needsInput bool, err error) {
	if !tiers.Valid(raw) {
		var v struct{}
		return nil, false, fmt.Errorf("failed to unmarshal tool result: %w", json.Unmarshal(raw, &v))
	}
	return parseValidToolResult(raw)
}

// parseValidToolResult is parseToolResult of raw known to be valid JSON, as
// a JSON-RPC response's result is once the transport decoded it. It walks
// raw's top level once (tiers.EachField) and decodes only the text items'
// strings; structuredContent and the texts stay in raw's and one decoded
// buffer's bytes. Like json.Unmarshal, the last of repeated keys wins, keys
// match their field in any case, null leaves a field as it was (and a
// pointer nil), and a value of the wrong type anywhere is an error.
func parseValidToolResult(raw []byte) (res *toolResult, needsInput bool, err error) {
	res = &toolResult{}
	var (
		content    = contentList{texts: res.one[:0]}
		resultType []byte
		structured []byte
		isError    bool
		fieldErr   error
	)
	isObj := tiers.EachField(raw, func(k, v []byte) bool {
		switch {
		case tiers.FieldIs(k, "content"):
			fieldErr = content.read(v)
		case tiers.FieldIs(k, "isError"):
			switch v[0] {
			case 't', 'f':
				isError = v[0] == 't'
			case 'n':
			default:
				fieldErr = errors.New("tool result: isError is not a boolean")
			}
		case tiers.FieldIs(k, "structuredContent"):
			structured = v
		case tiers.FieldIs(k, "resultType"):
			switch v[0] {
			case '"':
				resultType, _ = unquote(v)
			case 'n':
			default:
				fieldErr = errors.New("tool result: resultType is not a string")
			}
		}
		return fieldErr == nil
	})
	switch {
	case fieldErr != nil:
		return nil, false, fmt.Errorf("failed to unmarshal tool result: %w", fieldErr)
	case !isObj && !isNull(bytes.TrimSpace(raw)): // null decodes as an empty object
		return nil, false, errors.New("failed to unmarshal tool result: not an object")
	}
	if string(resultType) == string(mcpgo.ResultTypeInputRequired) {
		return nil, true, nil
	}
	if !content.present {
		return nil, false, errors.New("tool result: content is missing")
	}
	if content.err != nil {
		return nil, false, content.err
	}
	res.IsError, res.Texts, res.Structured = isError, content.texts, structured
	if len(res.Texts) == 0 {
		res.Texts = nil
	}
	return res, false, nil
}

// contentList is what parseValidToolResult reads of a content array: the
// texts of its text items, or the first item it cannot accept. present
// tells an explicit null (no content, which mcp-go accepts) from a missing
// key.
type contentList struct {
	present bool
	texts   [][]byte
	err     error
}

// read reads one content value v; a repeated key reads again (over the same
// backing array), and the last one counts. Its error is a value of the wrong type (which fails the
// decode wherever it is); an item that decodes but cannot be accepted
// (no type, an unknown type) is held in c.err, for the last content only.
func (c *contentList) read(v []byte) error {
	*c = contentList{present: true, texts: c.texts[:0]}
	if isNull(v) {
		return nil
	}
	var err error
	if !tiers.EachElement(v, func(item []byte) bool {
		var typ, text []byte // nil: absent or null
		switch item[0] {
		case '{':
			tiers.EachField(item, func(k, v []byte) bool {
				var p *[]byte
				switch {
				case tiers.FieldIs(k, "type"):
					p = &typ
				case tiers.FieldIs(k, "text"):
					p = &text
				default:
					return true
				}
				switch v[0] {
				case '"':
					s, ok := unquote(v)
					if !ok {
						err = errors.New("tool result: a content string is malformed")
					}
					*p = s
					if *p == nil {
						*p = []byte{} // present and empty
					}
				case 'n':
					*p = nil
				default:
					err = errors.New("tool result: a content item's type or text is not a string")
				}
				return err == nil
			})
		case 'n': // an item with no fields
		default:
			err = errors.New("tool result: a content item is not an object")
		}
		if err != nil || c.err != nil {
			return err == nil
		}
		switch {
		case typ == nil:
			c.err = errors.New("tool result: content item without a type")
		case string(typ) == mcpgo.ContentTypeText:
			c.texts = append(c.texts, text)
		case knownContentType(string(typ)):
		default:
			c.err = fmt.Errorf("tool result: unknown content type %q", typ)
		}
		return true
	}) {
		return errors.New("tool result: content is not a list")
	}
	return err
}

// knownContentType reports the content types mcp-go reads besides text.
func knownContentType(t string) bool {
	switch t {
	case mcpgo.ContentTypeImage, mcpgo.ContentTypeAudio, mcpgo.ContentTypeLink, mcpgo.ContentTypeResource,
		mcpgo.ContentTypeToolUse, mcpgo.ContentTypeToolResult:
		return true
	}
	return false
}
