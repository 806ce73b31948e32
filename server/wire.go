package server

import (
	"encoding/json"
	"io"

	"github.com/mark3labs/mcp-go/mcp"
)

// wireResult is an mcp.CallToolResult laid out as its MarshalJSON writes it:
// the same keys, present under the same conditions, in the same (sorted)
// order. encoding/json then writes the same bytes as for the result itself,
// without MarshalJSON's intermediate map and without re-compacting its
// output (each Marshaler's output is scanned again by the encoder that
// called it: the record JSON escaped in the text rendering is by far the
// largest part of an answer).
type wireResult struct {
	Meta          *mcp.Meta         `json:"_meta,omitempty"`
	Content       []mcp.Content     `json:"content"`
	InputRequests mcp.InputRequests `json:"inputRequests,omitempty"`
	IsError       bool              `json:"isError,omitempty"`
	RequestState  string            `json:"requestState,omitempty"`
	ResultType    mcp.ResultType    `json:"resultType,omitempty"`
	Structured    any               `json:"structuredContent,omitempty"`
}

// wireOf returns res as wireResult.
func wireOf(res *mcp.CallToolResult) wireResult {
	w := wireResult{
		Meta:          res.Meta,
		Content:       res.Content,
		InputRequests: res.InputRequests,
		IsError:       res.IsError,
		RequestState:  res.RequestState,
		ResultType:    res.ResultType,
	}
	if w.Content == nil {
		w.Content = []mcp.Content{} // MarshalJSON writes "content":[] for none
	}
	if len(res.RawStructuredContent) > 0 {
		w.Structured = json.RawMessage(res.RawStructuredContent)
	} else if res.StructuredContent != nil {
		w.Structured = res.StructuredContent
	}
	return w
}

// writeResponse writes the JSON-RPC response carrying res to w, byte for
// byte as mcp-go's Streamable HTTP server writes it
// (json.NewEncoder(w).Encode(mcp.JSONRPCResponse{…})), trailing newline
// included.
func writeResponse(w io.Writer, id mcp.RequestId, res *mcp.CallToolResult) error {
	return json.NewEncoder(w).Encode(struct {
		JSONRPC string        `json:"jsonrpc"`
		ID      mcp.RequestId `json:"id"`
		Result  wireResult    `json:"result"`
	}{mcp.JSONRPC_VERSION, id, wireOf(res)})
}
