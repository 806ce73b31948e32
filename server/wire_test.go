package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// mcpGoAnswer is what mcp-go's Streamable HTTP server writes for a tool
// call with request id id (as decoded from JSON) whose handler returned
// res: status, headers and body.
func mcpGoAnswer(id any, res *mcp.CallToolResult) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusOK)
	var msg mcp.JSONRPCMessage = mcp.NewJSONRPCResultResponse(mcp.NewRequestId(id), any(res))
	_ = json.NewEncoder(rec).Encode(msg)
	return rec
}

// checkWriteResult fails t when writeResult's answer for id and res differs
// from mcp-go's in status, headers or a single byte, and returns the body.
func checkWriteResult(t *testing.T, id any, res *mcp.CallToolResult) []byte {
	t.Helper()
	got := httptest.NewRecorder()
	writeResult(got, id, res)
	want := mcpGoAnswer(id, res)
	if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
		t.Errorf("id %#v: writeResult differs from mcp-go:\ngot:  %d %v %q\nwant: %d %v %q",
			id, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
	}
	return got.Body.Bytes()
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

// failingMarshaler is a value whose encoding fails.
type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("no") }

// TestWriteResultMatchesMCPGo compares writeResult's answers with mcp-go's,
// byte for byte, for results of every shape: each content type mcp-go has
// (with annotations and _meta on items), no content, structuredContent as a
// value, as raw JSON, as a typed nil, every optional field of the result,
// strings the encoder escapes or repairs, and results json cannot encode
// (mcp-go then writes no body). It fails if wireResult writes a key
// unconditionally, in another order or under another condition, or loses
// content:[].
func TestWriteResultMatchesMCPGo(t *testing.T) {
	record := `{"id":"3652397000000624001","Account_Name":"Acme <&> Co","Description":"line\nbreak \u2028 tab\t \"quoted\" é ☃","Annual_Revenue":1.5e6,"Owner":{"id":"1","name":"Ann"},"Tag":[],"Website":null}`
	typedNil := (*struct{ A int })(nil)
	ann := mcp.Annotated{Annotations: &mcp.Annotations{Audience: []mcp.Role{mcp.RoleUser, mcp.RoleAssistant}, Priority: ptr(0.0), LastModified: "2026-01-12T15:00:58Z"}}
	itemMeta := &mcp.Meta{ProgressToken: 3, AdditionalFields: map[string]any{"z": 1, "a": "<"}}
	size := int64(0)
	cases := map[string]*mcp.CallToolResult{
		"record answer":          recordResult(record),
		"record with spaces":     recordResult(`{ "id" : "1",  "Account_Name" : "x" }`),
		"tool error":             mcp.NewToolResultError("account 1 not found: <script>&"),
		"no content":             {},
		"empty content":          {Content: []mcp.Content{}},
		"nil content item":       {Content: []mcp.Content{nil, (*mcp.TextContent)(nil)}},
		"pointer content item":   {Content: []mcp.Content{&mcp.TextContent{Type: "text", Text: "p"}}},
		"structured map":         mcp.NewToolResultStructured(map[string]any{"b": 1, "a": "<x>"}, "two"),
		"structured struct":      {Content: []mcp.Content{mcp.NewTextContent("s")}, StructuredContent: struct{ B, A int }{2, 1}},
		"raw structured content": {Content: []mcp.Content{mcp.NewTextContent("t")}, RawStructuredContent: json.RawMessage(`{"z":1,"a":[1,2]}`)},
		"raw over structured":    {RawStructuredContent: json.RawMessage(` {"raw":true} `), StructuredContent: map[string]any{"map": true}},
		"empty raw, structured":  {RawStructuredContent: json.RawMessage{}, StructuredContent: map[string]any{"map": true}},
		"typed nil structured":   {Content: []mcp.Content{mcp.NewTextContent("t")}, StructuredContent: typedNil},
		"nil raw message":        {StructuredContent: json.RawMessage(nil)},
		"error with structured":  {Content: []mcp.Content{mcp.NewTextContent("bad")}, StructuredContent: map[string]any{"error": "x"}, IsError: true},
		"progress token in meta": {Result: mcp.Result{Meta: &mcp.Meta{ProgressToken: "p1", AdditionalFields: map[string]any{"k": []int{1}}}}},
		"empty meta":             {Result: mcp.Result{Meta: &mcp.Meta{}}},
		"image and audio":        {Content: []mcp.Content{mcp.NewImageContent("aGk=", "image/png"), mcp.NewAudioContent("aGk=", "audio/wav")}},
		"embedded text resource": {Content: []mcp.Content{mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: "zoho://x", MIMEType: "text/plain", Text: "r<", Meta: map[string]any{"m": 1}})}},
		"embedded blob resource": {Content: []mcp.Content{mcp.NewEmbeddedResource(mcp.BlobResourceContents{URI: "zoho://y", Blob: "aGk="})}},
		"resource link":          {Content: []mcp.Content{mcp.ResourceLink{Type: "resource_link", URI: "zoho://a/1", Name: "a", Title: "A & B", MIMEType: "application/json", Size: &size}}},
		"annotations and item meta": {Content: []mcp.Content{
			mcp.TextContent{Annotated: ann, Meta: itemMeta, Type: "text", Text: "a"},
			mcp.ImageContent{Annotated: ann, Meta: itemMeta, Type: "image", Data: "aGk=", MIMEType: "image/png"},
			mcp.AudioContent{Annotated: ann, Type: "audio", Data: "aGk=", MIMEType: "audio/wav"},
			mcp.ResourceLink{Annotated: ann, Meta: itemMeta, Type: "resource_link", URI: "zoho://b", Name: "b"},
			mcp.EmbeddedResource{Annotated: ann, Meta: itemMeta, Type: "resource", Resource: mcp.TextResourceContents{URI: "zoho://c", Text: "c"}},
		}},
		"tool use and tool result": {Content: []mcp.Content{
			mcp.ToolUseContent{Type: "tool_use", ID: "u1", Name: "get_account", Input: map[string]any{"id": "1"}},
			mcp.ToolResultContent{Type: "tool_result", ToolUseID: "u1", Content: []mcp.Content{mcp.NewTextContent("r")}, RawStructuredContent: json.RawMessage(`{ "x" : 1 }`)},
		}},
		"result type and state": {Result: mcp.Result{ResultType: "complete"}, MultiRoundTripResult: mcp.MultiRoundTripResult{RequestState: "s"}},
		"input requests": {MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{
			"r": mcp.NewRootsInputRequest(), "e": mcp.NewElicitationInputRequest(mcp.ElicitationParams{Message: "<sign in>", Mode: "url", URL: "https://x.example/?a=1&b=2"})}}},
		"invalid input request": {MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{"q": {}}}},
		"empty input requests":  {MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{}}},
		"every field": {Result: mcp.Result{Meta: &mcp.Meta{ProgressToken: 1}, ResultType: "input_required"},
			MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{"q": mcp.NewRootsInputRequest()}, RequestState: "s"},
			Content:              []mcp.Content{mcp.NewTextContent("t")}, StructuredContent: map[string]any{"a": 1}, IsError: true},
		"text with invalid utf-8": {Content: []mcp.Content{mcp.NewTextContent("a\xffb\x00c\u2029")}},
		"text of every escape":    {Content: []mcp.Content{mcp.NewTextContent(everyEscape), mcp.TextContent{Type: "<t\xe2\x80\xa8>", Text: ""}}, IsError: true},
		"raw spaced and escaped":  {Content: []mcp.Content{mcp.NewTextContent("t")}, StructuredContent: json.RawMessage(" {\"a\" :\t\"<&>\u2028\u2029\\u2028\" ,\r\n\"b\":[ 1 , 2.5e-3 , true , null , {} ] } ")},
		"raw escapes, compact":    {RawStructuredContent: json.RawMessage(`{"a":"\"\\\/\b\f\n\r\t\u00e9\ud834\udd1e","b":-0.5E+7}`)},
		"raw deep":                {StructuredContent: json.RawMessage(strings.Repeat("[", 1001) + strings.Repeat("]", 1001))},
		"raw too deep":            {StructuredContent: json.RawMessage(strings.Repeat("[", 10001) + strings.Repeat("]", 10001))},
		"raw control in string":   {StructuredContent: json.RawMessage("{\"a\":\"\x01\"}")},
		"raw bare scalar":         {StructuredContent: json.RawMessage(`"<x>"`)},
		"raw with one escape each": {Content: []mcp.Content{
			mcp.NewTextContent("&"), mcp.NewTextContent(">"), mcp.NewTextContent("\u2029"), mcp.NewTextContent("\u2028"), mcp.NewTextContent("\x7f")},
			StructuredContent: json.RawMessage(`[{"a":"&"},{"a":">"},{"a":"\u2029"},"\u2028",["<"],1]`)},
		"raw &":                    {RawStructuredContent: json.RawMessage(`{"a":"&"}`)},
		"raw >":                    {RawStructuredContent: json.RawMessage(`[">"]`)},
		"raw U+2029":               {RawStructuredContent: json.RawMessage("\"\u2029\"")},
		"raw space":                {RawStructuredContent: json.RawMessage(`[1, 2]`)},
		"raw tab":                  {RawStructuredContent: json.RawMessage("[1,\t2]")},
		"raw space after \\\"":     {RawStructuredContent: json.RawMessage(`["\"", 1]`)},
		"two meta keys":            {Result: mcp.Result{Meta: &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: tiers.Route{}, "a": 1}}}},
		"meta value not a route":   {Result: mcp.Result{Meta: &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: "route"}}}},
		"route under an odd key":   {Result: mcp.Result{Meta: &mcp.Meta{AdditionalFields: map[string]any{"<k>\xff": tiers.Route{Tier: "T<", Attempts: []tiers.Attempt{{Error: "\u2028&"}}}}}}},
		"route with a bad outcome": {Result: mcp.Result{Meta: &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: tiers.Route{Attempts: []tiers.Attempt{{Outcome: tiers.NumAttemptOutcomes}}}}}}},
		"raw with invalid utf-8":   {RawStructuredContent: json.RawMessage("{\"a\":\"\xff<\u2028\"}")},
		"structured invalid bytes": {Content: []mcp.Content{mcp.NewTextContent("t")}, StructuredContent: json.RawMessage(`{"a":`)},
		"raw invalid bytes":        {RawStructuredContent: json.RawMessage(`{"a":1}{`)},
		"structured NaN":           {StructuredContent: map[string]any{"n": math.NaN()}},
		"structured channel":       {StructuredContent: map[string]any{"c": make(chan int)}},
		"content marshaler fails":  {Content: []mcp.Content{mcp.ToolUseContent{Type: "tool_use", Input: failingMarshaler{}}}},
		"meta value fails":         {Result: mcp.Result{Meta: &mcp.Meta{AdditionalFields: map[string]any{"f": failingMarshaler{}}}}},
	}
	// The results json cannot encode: mcp-go writes no body for them. Every
	// other case must have one (two empty bodies would compare equal).
	unencodable := map[string]bool{"structured invalid bytes": true, "raw invalid bytes": true, "structured NaN": true,
		"structured channel": true, "content marshaler fails": true, "meta value fails": true, "invalid input request": true,
		"raw too deep": true, "raw control in string": true, "route with a bad outcome": true}
	ids := []any{float64(7), "zmp-<1>", 1.5, 1e21, 1e20, 1e-7, 1e-6, -1.5e-300, math.Copysign(0, -1), "", "\u2028\xff",
		int64(-9007199254740993), 42, nil, uint8(3), json.Number("8")}
	for name, res := range cases {
		t.Run(name, func(t *testing.T) {
			for _, id := range ids {
				if body := checkWriteResult(t, id, res); (len(body) == 0) != unencodable[name] {
					t.Errorf("id %#v: body %q, want one: %v", id, body, !unencodable[name])
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// everyEscape is a text with a character of every class encoding/json
// escapes or repairs in a string, and some it leaves alone.
const everyEscape = "q\" b\\ \b\f\n\r\t \x00\x01\x1f <&> \u2028\u2029 \x7f é ☃ 𝄞 \xff \xe2\x80 \xed\xa0\x80 /"

// TestAppendAnswerServesToolShapes: the results the tools return (record
// answers with raw JSON in either field, errors, no content, _meta empty or
// a route) and every id a fast call has are written by appendAnswer, not
// handed to the reflective encoder, and its bytes are mcp-go's. It fails if
// appendAnswer turns down a shape it is meant to serve.
func TestAppendAnswerServesToolShapes(t *testing.T) {
	raw := recordResult(`{"id":"1","Account_Name":"Acme Co"}`)
	raw.RawStructuredContent, raw.StructuredContent = json.RawMessage(`{ "id" : "1" }`), nil
	routed := func(res *mcp.CallToolResult) *mcp.CallToolResult {
		res.Meta = &mcp.Meta{AdditionalFields: map[string]any{tiers.RouteMetaKey: tiers.Route{Tier: tiers.REST,
			Attempts: []tiers.Attempt{{Tier: tiers.MCP, Outcome: tiers.AttemptRateLimited, Error: "MCP: 429 <&>"}, {Tier: tiers.REST}}}}}
		return res
	}
	shapes := map[string]*mcp.CallToolResult{
		"record":             recordResult(`{"id":"1","Account_Name":"Acme <&> Co","Description":"a\nb"}`),
		"raw structured":     raw,
		"structured escaped": recordResult(" {\"a\" : \"<\u2028>\"} "),
		"tool error":         routed(mcp.NewToolResultError(everyEscape)),
		"no content":         {},
		"empty meta":         {Result: mcp.Result{Meta: &mcp.Meta{}}, Content: []mcp.Content{mcp.NewTextContent("t")}},
	}
	for name, res := range shapes {
		for _, id := range []any{float64(7), -1.5, 1e-9, "zmp-<1>", int64(3), 4, nil} {
			if _, ok := appendAnswer(nil, id, res); !ok {
				t.Errorf("%s, id %#v: appendAnswer turned it down", name, id)
			}
			checkWriteResult(t, id, res)
		}
	}
}

// TestWireResultCoversCallToolResult fails when mcp-go's CallToolResult
// gains (or loses) a field: wireResult (and wireOf) must then be taught it,
// or MarshalJSON's output would differ from writeResult's.
func TestWireResultCoversCallToolResult(t *testing.T) {
	var names []string
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for f := range rt.Fields() {
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			names = append(names, f.Name)
		}
	}
	walk(reflect.TypeFor[mcp.CallToolResult]())
	slices.Sort(names)
	want := []string{"Content", "InputRequests", "IsError", "Meta", "RawStructuredContent", "RequestState", "ResultType", "StructuredContent"}
	if !slices.Equal(names, want) {
		t.Errorf("mcp.CallToolResult's fields are %v, wireResult knows %v", names, want)
	}
}

// FuzzWriteResult checks writeResult against mcp-go's encoding for
// arbitrary text, structured content (a value, raw JSON bytes, or none),
// _meta (a map, or a route as the tools put it), error flags, content types
// and ids (strings, floats, integers); shapes 0, 4, 64 and 68 are the
// tools' answers, which appendAnswer writes. A result that
// cannot be encoded must get what mcp-go then gets (headers, no body).
func FuzzWriteResult(f *testing.F) {
	f.Add("hello", []byte(`{"a":1}`), "zoho-mcp-proxy/route", "MCP", false, "7", 7.0, false, uint8(0))
	f.Add("<b>&\u2028</b>", []byte(` {"b" : "<&>\u2029", "a":[1 , 2.50]} `), "k<", "v&", true, "id\"x", -1e21, true, uint8(1))
	f.Add("", []byte(`not json`), "", "", false, "", 0.1, false, uint8(2))
	f.Add("x", []byte(nil), "n", "", false, "", 12345678901234567890.0, false, uint8(3))
	f.Add("summary\n\n{\"id\":\"1\"}", []byte(`{"id":"1"}`), "progressToken", "\xff", false, "", 1.0, false, uint8(4))
	f.Add("", []byte{}, "", "", false, "", 9.0, false, uint8(5))
	f.Add("x", []byte(`{"a":`), "", "", false, "", 0.0, false, uint8(6))
	f.Add("Account <&>\n\n{\"id\":\"1\"}", []byte(`{"id":"1","n":[1,2]}`), "zoho-mcp-proxy/route", "MCP", false, "", 3.0, false, uint8(64))
	f.Add("\u2028\xff\"\x01", []byte(" [ \"\\\" \" , \"\u2029&\" ] "), "k", "REST", true, "", 12.0, false, uint8(64+4+128))
	f.Fuzz(func(t *testing.T, text string, raw []byte, metaKey, metaVal string, isError bool, sid string, nid float64, useString bool, shape uint8) {
		if !useString && (math.IsNaN(nid) || math.IsInf(nid, 0)) {
			return // not an id JSON can carry
		}
		res := &mcp.CallToolResult{IsError: isError}
		ann := mcp.Annotated{Annotations: &mcp.Annotations{Audience: []mcp.Role{mcp.Role(metaVal)}, LastModified: text}}
		var meta *mcp.Meta
		if metaKey != "" {
			meta = &mcp.Meta{AdditionalFields: map[string]any{metaKey: metaVal, "z": map[string]any{"t": text}}}
		}
		// The content: shape's low bits pick the items.
		switch shape % 4 {
		case 0:
			res.Content = []mcp.Content{mcp.NewTextContent(text)}
		case 1:
			res.Content = []mcp.Content{mcp.TextContent{Annotated: ann, Meta: meta, Type: "text", Text: text}, mcp.NewImageContent(metaVal, text)}
		case 2:
			res.Content = []mcp.Content{mcp.NewAudioContent(text, metaVal), mcp.ResourceLink{Annotated: ann, Type: "resource_link", URI: text, Name: metaKey},
				mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: metaKey, Text: text}), mcp.NewEmbeddedResource(mcp.BlobResourceContents{URI: metaVal, Blob: text})}
		case 3: // no content
		}
		// The structured content: the next bits pick how raw is carried.
		switch (shape / 4) % 4 {
		case 0:
			if raw != nil {
				res.StructuredContent = json.RawMessage(raw)
			}
		case 1:
			res.RawStructuredContent = raw
		case 2:
			res.StructuredContent = map[string]any{"text": text, "n": nid, "list": []any{metaVal, isError}}
		case 3:
			res.RawStructuredContent = raw
			res.StructuredContent = map[string]any{"shadowed": text}
		}
		if shape&16 != 0 {
			res.Meta = meta
		}
		if shape&64 != 0 { // a route, as the tools' results carry it
			res.Meta = &mcp.Meta{AdditionalFields: map[string]any{metaKey: tiers.Route{Tier: tiers.Name(metaVal), DurationMS: int64(len(text)),
				Attempts: []tiers.Attempt{{Tier: tiers.MCP, Outcome: tiers.AttemptOutcome(len(raw) % (tiers.NumAttemptOutcomes + 1)), Error: text}}}}}
		}
		if shape&32 != 0 {
			res.RequestState, res.ResultType = metaVal, mcp.ResultType(metaKey)
		}
		var id any = nid
		switch {
		case useString:
			id = sid
		case shape&128 != 0:
			id = int64(nid)
		}
		checkWriteResult(t, id, res)
	})
}

// discardResponse is an http.ResponseWriter that keeps nothing.
type discardResponse http.Header

func (d discardResponse) Header() http.Header       { return http.Header(d) }
func (discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (discardResponse) WriteHeader(int)             {}

// BenchmarkWriteResponse compares mcp-go's answer to a tool call returning
// a record (≈2 KB) with the fast path's (writeResult).
func BenchmarkWriteResponse(b *testing.B) {
	var rec bytes.Buffer
	rec.WriteString(`{"id":"3652397000000624001"`)
	for rec.Len() < 2000 {
		rec.WriteString(`,"Field_` + string(rune('A'+rec.Len()%26)) + `":"value with \"quotes\" and text"`)
	}
	rec.WriteString(`}`)
	res := recordResult(rec.String())
	var id any = float64(42)
	w := discardResponse{}
	b.Run("mcp-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_ = json.NewEncoder(w).Encode(mcp.NewJSONRPCResultResponse(mcp.NewRequestId(id), any(res)))
		}
	})
	b.Run("fastpath", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			writeResult(w, id, res)
		}
	})
}
