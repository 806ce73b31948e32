package server

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// mcpGoResponse is what mcp-go's Streamable HTTP server writes for a tool
// call's result.
func mcpGoResponse(id mcp.RequestId, res *mcp.CallToolResult) ([]byte, error) {
	var b bytes.Buffer
	err := json.NewEncoder(&b).Encode(mcp.JSONRPCResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Result: res})
	return b.Bytes(), err
}

// recordResult is a record answer as the record tools build it: the text is
// a summary and the record's JSON, the structured content the same JSON, and
// _meta the route.
func recordResult(record string) *mcp.CallToolResult {
	text := "Account Acme <&> Co (3652397000000624001) (served by MCP).\n\n" + record
	res := &mcp.CallToolResult{
		Content:           []mcp.Content{mcp.TextContent{Type: mcp.ContentTypeText, Text: text}},
		StructuredContent: json.RawMessage(record),
	}
	res.Meta = &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: tiers.Route{
		Tier: tiers.MCP, DurationMS: 3,
		Attempts: []tiers.Attempt{{Tier: tiers.MCP, Outcome: tiers.AttemptSuccess}},
	}}}
	return res
}

func TestWriteResponseMatchesMCPGo(t *testing.T) {
	record := `{"id":"3652397000000624001","Account_Name":"Acme <&> Co","Description":"line\nbreak \u2028 tab\t \"quoted\" é ☃","Annual_Revenue":1.5e6,"Owner":{"id":"1","name":"Ann"},"Tag":[],"Website":null}`
	typedNil := (*struct{ A int })(nil)
	cases := map[string]*mcp.CallToolResult{
		"record answer":            recordResult(record),
		"record with spaces":       recordResult(`{ "id" : "1",  "Account_Name" : "x" }`),
		"tool error":               mcp.NewToolResultError("account 1 not found: <script>&"),
		"no content":               {},
		"empty content":            {Content: []mcp.Content{}},
		"structured map":           mcp.NewToolResultStructured(map[string]any{"b": 1, "a": "<x>"}, "two"),
		"raw structured content":   {Content: []mcp.Content{mcp.NewTextContent("t")}, RawStructuredContent: json.RawMessage(`{"z":1,"a":[1,2]}`)},
		"typed nil structured":     {Content: []mcp.Content{mcp.NewTextContent("t")}, StructuredContent: typedNil},
		"nil raw message":          {StructuredContent: json.RawMessage(nil)},
		"error with structured":    {Content: []mcp.Content{mcp.NewTextContent("bad")}, StructuredContent: map[string]any{"error": "x"}, IsError: true},
		"progress token in meta":   {Result: mcp.Result{Meta: &mcp.Meta{ProgressToken: "p1", AdditionalFields: map[string]any{"k": []int{1}}}}},
		"other content types":      {Content: []mcp.Content{mcp.NewImageContent("aGk=", "image/png"), mcp.NewAudioContent("aGk=", "audio/wav"), mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: "zoho://x", Text: "r"})}},
		"annotated text":           {Content: []mcp.Content{mcp.TextContent{Annotated: mcp.Annotated{Annotations: &mcp.Annotations{Priority: ptr(0.5)}}, Type: "text", Text: "a"}}},
		"result type and state":    {Result: mcp.Result{ResultType: "complete"}, MultiRoundTripResult: mcp.MultiRoundTripResult{RequestState: "s"}},
		"input requests":           {MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{"q": {}}}},
		"text with invalid utf-8":  {Content: []mcp.Content{mcp.NewTextContent("a\xffb\x00c")}},
		"structured invalid bytes": {Content: []mcp.Content{mcp.NewTextContent("t")}, StructuredContent: json.RawMessage(`{"a":`)},
	}
	ids := []mcp.RequestId{mcp.NewRequestId(int64(7)), mcp.NewRequestId("zmp-<1>"), mcp.NewRequestId(1.5)}
	for name, res := range cases {
		t.Run(name, func(t *testing.T) {
			for _, id := range ids {
				want, werr := mcpGoResponse(id, res)
				var got bytes.Buffer
				gerr := writeResponse(&got, id, res)
				if (werr == nil) != (gerr == nil) {
					t.Fatalf("id %v: error %v, mcp-go's %v", id, gerr, werr)
				}
				if werr == nil && !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("id %v:\n got %s\nwant %s", id, got.Bytes(), want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzWriteResponse checks writeResponse against mcp-go's encoding for
// arbitrary text, structured content bytes, error flags and meta values.
func FuzzWriteResponse(f *testing.F) {
	f.Add("summary\n\n{\"id\":\"1\"}", []byte(`{"id":"1"}`), false, "k", "v", int64(1))
	f.Add("<&>\u2028", []byte(` { "a" : [ 1 , 2 ] } `), true, "", "", int64(-3))
	f.Add("x", []byte(`{"a":`), false, "progressToken", "\xff", int64(0))
	f.Add("", []byte{}, false, "", "", int64(9))
	f.Fuzz(func(t *testing.T, text string, structured []byte, isError bool, metaKey, metaVal string, id int64) {
		res := &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, IsError: isError}
		if structured != nil {
			res.StructuredContent = json.RawMessage(structured)
		}
		if metaKey != "" {
			res.Meta = &mcp.Meta{AdditionalFields: map[string]any{metaKey: metaVal}}
		}
		rid := mcp.NewRequestId(id)
		want, werr := mcpGoResponse(rid, res)
		var got bytes.Buffer
		gerr := writeResponse(&got, rid, res)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("error %v, mcp-go's %v", gerr, werr)
		}
		if werr == nil && !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("\n got %s\nwant %s", got.Bytes(), want)
		}
	})
}

// BenchmarkWriteResponse compares mcp-go's encoding of a record answer
// (≈2 KB record) with writeResponse's.
func BenchmarkWriteResponse(b *testing.B) {
	var rec bytes.Buffer
	rec.WriteString(`{"id":"3652397000000624001"`)
	for rec.Len() < 2000 {
		rec.WriteString(`,"Field_` + string(rune('A'+rec.Len()%26)) + `":"value with \"quotes\" and text"`)
	}
	rec.WriteString(`}`)
	res := recordResult(rec.String())
	id := mcp.NewRequestId(int64(42))
	b.Run("mcp-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = json.NewEncoder(io_discard{}).Encode(mcp.JSONRPCResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Result: res})
		}
	})
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = writeResponse(io_discard{}, id, res)
		}
	})
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }
