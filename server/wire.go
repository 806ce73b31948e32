package server

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
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
//
// The answers the tools give (text items, a route in _meta, the record's
// JSON as structuredContent) are written without wireResult, by
// appendAnswer: reflection over the struct, the escaping of the record's
// text and the scan of its raw JSON were still the largest cost left.

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
// chunked on what the handler has written). The common answer is written
// by appendAnswer; any other is encoded as wireResult. A result json cannot
// encode (a NaN, a channel, invalid raw JSON, a Marshaler's error) fails in
// MarshalJSON's map exactly as in wireResult, for it is the same value:
// the encoder then writes no body, and neither does mcp-go (it logs the
// error).
func writeResult(w http.ResponseWriter, id any, res *mcp.CallToolResult) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bp := answerBufs.Get().(*[]byte)
	defer answerBufs.Put(bp)
	if b, ok := appendAnswer((*bp)[:0], id, res); ok {
		_, _ = w.Write(b)
		if cap(b) <= maxPooledAnswer {
			*bp = b
		}
		return
	}
	_ = json.NewEncoder(w).Encode(wireResponse{mcp.JSONRPC_VERSION, mcp.NewRequestId(id), wireOf(res)})
}

// answerBufs holds the buffers appendAnswer writes into: the answer is
// copied out by Write before the buffer goes back. One larger than
// maxPooledAnswer (a big bulk answer) is left to the collector rather than
// kept for the ≈ 4 KB a record answer needs.
var answerBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledAnswer = 64 << 10

// appendAnswer appends to dst the bytes the encoder writes for the
// JSON-RPC response of id and res (see writeResult), with append instead of
// reflection, when res has the shape of the tools' answers: text content
// items without annotations or _meta, _meta absent, empty, or one key
// holding a tiers.Route (withRoute's), isError, and structuredContent as
// JSON bytes, no multi-round-trip fields. ok is false for any other result
// and any other id (the caller then encodes wireResult); the bytes are the
// same either way (TestWriteResultMatchesMCPGo, FuzzWriteResult).
func appendAnswer(dst []byte, id any, res *mcp.CallToolResult) (_ []byte, ok bool) {
	if len(res.InputRequests) > 0 || res.RequestState != "" || res.ResultType != "" {
		return dst, false
	}
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	if dst, ok = appendID(dst, id); !ok {
		return dst, false
	}
	dst = append(dst, `,"result":{`...)
	if res.Meta != nil {
		if dst, ok = appendMeta(append(dst, `"_meta":`...), res.Meta); !ok {
			return dst, false
		}
		dst = append(dst, ',')
	}
	dst = append(dst, `"content":[`...)
	for i, c := range res.Content {
		t, isText := c.(mcp.TextContent)
		if !isText || t.Annotations != nil || t.Meta != nil {
			return dst, false
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = tiers.AppendQuoted(append(dst, `{"type":`...), t.Type)
		dst = tiers.AppendQuoted(append(dst, `,"text":`...), t.Text)
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if res.IsError {
		dst = append(dst, `,"isError":true`...)
	}
	raw := res.RawStructuredContent
	if len(raw) == 0 {
		switch s := res.StructuredContent.(type) {
		case nil:
		case json.RawMessage:
			raw = s
			if len(raw) == 0 {
				return dst, false // "null", or an encoding error for empty bytes
			}
		default:
			return dst, false
		}
	}
	if raw != nil {
		if dst, ok = appendRaw(append(dst, `,"structuredContent":`...), raw); !ok {
			return dst, false
		}
	}
	return append(dst, "}}\n"...), true
}

// appendID appends a request id as RequestId.MarshalJSON writes it (json's
// encoding of the value) for the values it can hold that appendID knows;
// ok is false for any other, and for a number JSON cannot carry.
func appendID(dst []byte, id any) ([]byte, bool) {
	switch v := id.(type) {
	case string:
		return tiers.AppendQuoted(dst, v), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return dst, false
		}
		// encoding/json's float format: the shortest decimal, with an
		// exponent (two digits at least, no leading zero) only outside
		// [1e-6, 1e21).
		format := byte('f')
		if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			format = 'e'
		}
		dst = strconv.AppendFloat(dst, v, format, -1, 64)
		if n := len(dst); format == 'e' && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1] // e-07 → e-7
			dst = dst[:n-1]
		}
		return dst, true
	case int:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int64:
		return strconv.AppendInt(dst, v, 10), true
	case nil:
		return append(dst, "null"...), true
	}
	return dst, false
}

// appendMeta appends m as its MarshalJSON writes it, when it holds no
// progress token and either nothing or one route.
func appendMeta(dst []byte, m *mcp.Meta) ([]byte, bool) {
	if m.ProgressToken != nil || len(m.AdditionalFields) > 1 {
		return dst, false
	}
	dst = append(dst, '{')
	for k, v := range m.AdditionalFields {
		r, ok := v.(tiers.Route)
		if !ok {
			return dst, false
		}
		var err error
		if dst, err = r.AppendJSON(append(tiers.AppendQuoted(dst, k), ':')); err != nil {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// appendRaw appends the JSON value raw as the encoder writes a
// json.RawMessage: compacted, with <, >, &, U+2028 and U+2029 escaped; ok
// is false when raw is not valid JSON. Raw JSON that is compact already and
// holds none of those (a record as Zoho writes it, mostly) is copied after
// tiers.Valid; any other goes through json.Marshal, whose RawMessage
// encoding is the encoder's.
func appendRaw(dst, raw []byte) ([]byte, bool) {
	if plainJSON(raw) && tiers.Valid(raw) {
		return append(dst, raw...), true
	}
	b, err := json.Marshal(json.RawMessage(raw))
	if err != nil {
		return dst, false
	}
	return append(dst, b...), true
}

// plainJSON reports whether the encoder would copy raw unchanged, were it
// valid JSON: no whitespace outside strings, no byte it escapes, and
// nesting well within the depth its scanner accepts.
func plainJSON(raw []byte) bool {
	inString, depth := false, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '<' || c == '>' || c == '&' ||
			c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8: // U+2028, U+2029
			return false
		case inString:
			if c == '\\' {
				i++ // the escaped byte is ASCII, and no quote
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c <= ' ': // whitespace (valid JSON has no other such byte here)
			return false
		case c == '{' || c == '[':
			if depth++; depth > 1000 {
				return false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return true
}
