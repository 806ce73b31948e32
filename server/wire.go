package server

import (
	"encoding/json"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
)

// The bytes of a fast call's answer.
//
// mcp-go answers a tools/call with json.NewEncoder(w).Encode of its JSON-RPC
// response, whose result is the *mcp.CallToolResult. CallToolResult's
// MarshalJSON copies the result's fields into a map[string]any and
// json.Marshals it, and the encoder then scans that output once more (as it
// does every Marshaler's); for a record answer (the record's JSON escaped in
// the text rendering plus the same JSON as structuredContent) that is the
// largest single cost of the fast path. wireResult is the same result laid
// out as a struct: the same keys, present under the same conditions, in the
// order the map's keys are sorted in. Its fields hold the result's own
// values (content items, _meta, structured content), so encoding/json
// writes each of them as it does inside the map, and the answer comes out
// the same, byte for byte, for every content type (text, image, audio,
// resource links, embedded resources, tool use and results, annotations,
// _meta on items) and for structuredContent as a value or as raw JSON: the
// second scan of MarshalJSON's output changes nothing (it is compact and
// HTML-escaped already), and raw JSON is compacted and escaped once either
// way (TestWriteResultMatchesMCPGo, FuzzWriteResult). So no shape needs a
// fallback to MarshalJSON at run time; what could make one differ is an
// mcp-go upgrade, and TestWireResultCoversCallToolResult fails when
// CallToolResult gains a field wireResult does not carry (a changed
// MarshalJSON fails the byte comparisons).

// wireResult is an mcp.CallToolResult laid out as its MarshalJSON writes it.
type wireResult struct {
	Meta          *mcp.Meta         `json:"_meta,omitempty"`
	Content       []mcp.Content     `json:"content"`
	InputRequests mcp.InputRequests `json:"inputRequests,omitempty"`
	IsError       bool              `json:"isError,omitempty"`
	RequestState  string            `json:"requestState,omitempty"`
	ResultType    mcp.ResultType    `json:"resultType,omitempty"`
	Structured    any               `json:"structuredContent,omitempty"`
}

// wireResponse is mcp-go's JSON-RPC response carrying a wireResult.
type wireResponse struct {
	JSONRPC string        `json:"jsonrpc"`
	ID      mcp.RequestId `json:"id"`
	Result  wireResult    `json:"result"`
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

// writeResult writes the answer of a call whose handler returned res (id is
// the request's id as decoded from JSON: a string or a float64), as mcp-go
// does: status 200, application/json, and the bytes of
// json.NewEncoder(w).Encode of its JSON-RPC response, trailing newline
// included, in one Write (net/http decides between Content-Length and
// chunked on what the handler has written). A result json cannot encode (a
// NaN, a channel, invalid raw JSON, a Marshaler's error) fails in
// MarshalJSON's map exactly as in wireResult, for it is the same value:
// the encoder then writes no body, and neither does mcp-go (it logs the
// error).
func writeResult(w http.ResponseWriter, id any, res *mcp.CallToolResult) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(wireResponse{mcp.JSONRPC_VERSION, mcp.NewRequestId(id), wireOf(res)})
}
