package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// The upstream tools/call. mcp-go's Client.CallTool turns a result into an
// *mcp.CallToolResult by reading it five or six times (a probe, the full
// decode, a probe and a decode per content item, structuredContent into a
// map), and this tier then reads the text again: on a ≈2 KB record that was
// half of the proxy's CPU per call. callTool instead sends the request
// through the client's transport and reads the result once, into toolResult.
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
	// Texts holds the text of the text content items, in order.
	Texts []string
	// Structured is structuredContent as sent; nil when absent.
	Structured json.RawMessage
}

// callTool sends one tools/call of name with args on s and returns its
// result. Its errors are those of Client.CallTool: a transport failure as a
// *transport.Error, a JSON-RPC error answer as mcp-go's sentinel errors, an
// unreadable result as a plain error.
func (t *Tier) callTool(ctx context.Context, s *session, name string, args map[string]any) (*toolResult, error) {
	if mcpgo.IsModernProtocol(s.c.ProtocolVersion()) {
		return clientCallTool(ctx, s, name, args)
	}
	req := transport.JSONRPCRequest{
		JSONRPC: mcpgo.JSONRPC_VERSION,
		// A string id never equals one of the integer ids the client
		// numbers its own requests with on the same session.
		ID:     mcpgo.NewRequestId("zmp-" + strconv.FormatInt(t.callIDs.Add(1), 10)),
		Method: string(mcpgo.MethodToolsCall),
		Params: mcpgo.CallToolParams{Name: name, Arguments: args},
	}
	if err := ctx.Err(); err != nil {
		return nil, transport.NewError(err) // not sent, as the client does
	}
	resp, err := s.c.GetTransport().SendRequest(ctx, req)
	if err != nil {
		return nil, transport.NewError(err)
	}
	if resp == nil {
		return nil, errors.New("no response received")
	}
	if resp.Error != nil {
		return nil, resp.Error.AsError()
	}
	res, needsInput, err := parseToolResult(resp.Result)
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

// clientCallTool is callTool through mcp-go's Client.CallTool.
func clientCallTool(ctx context.Context, s *session, name string, args map[string]any) (*toolResult, error) {
	req := mcpgo.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
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
			r.Texts = append(r.Texts, tc.Text)
		}
	}
	if len(r.Structured) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			r.Structured = b
		}
	}
	return r
}

// parseToolResult reads a tools/call result in one decode. It accepts every
// result mcp.ParseCallToolResult accepts, with the same reading, and refuses
// what it refuses about the fields this tier reads: a result that is not an
// object, no content (unless it asks for input), a content item without a
// string type or of an unknown type, a text that is not a string, an
// isError that is not a boolean. Decoration this tier never reads
// (annotations, _meta, the fields of non-text items) is not checked.
// needsInput reports a result asking for input (resultType
// "input_required"), which it does not read further.
func parseToolResult(raw json.RawMessage) (res *toolResult, needsInput bool, err error) {
	var w struct {
		ResultType        string          `json:"resultType"`
		Content           contentList     `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		IsError           bool            `json:"isError"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, false, fmt.Errorf("failed to unmarshal tool result: %w", err)
	}
	if w.ResultType == string(mcpgo.ResultTypeInputRequired) {
		return nil, true, nil
	}
	if !w.Content.present {
		return nil, false, errors.New("tool result: content is missing")
	}
	res = &toolResult{IsError: w.IsError}
	if len(w.StructuredContent) > 0 {
		res.Structured = w.StructuredContent
	}
	for _, c := range w.Content.items {
		if c.Type == nil {
			return nil, false, errors.New("tool result: content item without a type")
		}
		switch *c.Type {
		case mcpgo.ContentTypeText:
			if c.Text != nil {
				res.Texts = append(res.Texts, *c.Text)
			} else {
				res.Texts = append(res.Texts, "")
			}
		case mcpgo.ContentTypeImage, mcpgo.ContentTypeAudio, mcpgo.ContentTypeLink, mcpgo.ContentTypeResource,
			mcpgo.ContentTypeToolUse, mcpgo.ContentTypeToolResult:
		default:
			return nil, false, fmt.Errorf("tool result: unknown content type %q", *c.Type)
		}
	}
	return res, false, nil
}

// contentList is a result's content array; present tells an explicit null
// (no content, which mcp-go accepts) from a missing key.
type contentList struct {
	present bool
	items   []contentItem
}

// contentItem is the part of a content item parseToolResult reads.
type contentItem struct {
	Type *string `json:"type"`
	Text *string `json:"text"`
}

func (c *contentList) UnmarshalJSON(b []byte) error {
	c.present = true
	var items []contentItem // not c.items: a repeated key must not inherit
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	c.items = items
	return nil
}
