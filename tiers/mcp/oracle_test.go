package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// This file keeps the reader of a read tool's result as it was before it
// walked the bytes (json.Unmarshal of the result, the texts as strings,
// json.Unmarshal of the body), as the oracle the walking reader is fuzzed
// against: the same inputs must give the same record bytes, info and error.

// oldToolResult is toolResult with the texts as strings.
type oldToolResult struct {
	IsError    bool
	Texts      []string
	Structured json.RawMessage
}

// asStrings is res with its texts as strings (nil for nil).
func asStrings(res *toolResult) *oldToolResult {
	if res == nil {
		return nil
	}
	out := &oldToolResult{IsError: res.IsError, Structured: res.Structured}
	for _, t := range res.Texts {
		out.Texts = append(out.Texts, string(t))
	}
	return out
}

// asBytes is res with its texts as bytes.
func asBytes(res *oldToolResult) *toolResult {
	out := &toolResult{IsError: res.IsError, Structured: res.Structured}
	for _, t := range res.Texts {
		out.Texts = append(out.Texts, []byte(t))
	}
	return out
}

func oldParseToolResult(raw json.RawMessage) (res *oldToolResult, needsInput bool, err error) {
	var w struct {
		ResultType        string          `json:"resultType"`
		Content           oldContentList  `json:"content"`
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
	res = &oldToolResult{IsError: w.IsError}
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

type oldContentList struct {
	present bool
	items   []oldContentItem
}

type oldContentItem struct {
	Type *string `json:"type"`
	Text *string `json:"text"`
}

func (c *oldContentList) UnmarshalJSON(b []byte) error {
	c.present = true
	var items []oldContentItem
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	c.items = items
	return nil
}

func oldPayload(res *oldToolResult) (raw json.RawMessage, empty bool, err error) {
	for _, s := range res.Texts {
		if b := bytes.TrimSpace([]byte(s)); len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b) {
			return oldUnwrapValid(b), false, nil
		}
	}
	if len(res.Structured) > 0 && string(res.Structured) != "null" {
		return oldUnwrap(res.Structured), false, nil
	}
	all := strings.TrimSpace(strings.Join(res.Texts, "\n"))
	if all == "" || all == "null" {
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("upstream answered with text that is not Zoho JSON (%d bytes)", len(all))
}

func oldUnwrap(b []byte) json.RawMessage {
	if !json.Valid(b) {
		return b
	}
	return oldUnwrapValid(b)
}

func oldUnwrapValid(b []byte) json.RawMessage {
	for range 2 {
		var data []byte
		keys := map[string]bool{}
		badStatus := false
		isObj := tiers.EachField(b, func(k, v []byte) bool {
			key := tiers.KeyString(k)
			keys[key] = true
			switch {
			case strings.EqualFold(key, "data"):
				data = v
			case strings.EqualFold(key, "status"):
				badStatus = v[0] != '"' && string(v) != "null"
			}
			return true
		})
		if !isObj || badStatus || len(data) == 0 || data[0] != '{' || len(keys) > 3 {
			return b
		}
		b = data
	}
	return b
}

// oldReadResult is readRaw after its call, as it was.
func (t *Tier) oldReadResult(res *oldToolResult) (json.RawMessage, zohoInfo, error) {
	if res.IsError {
		return nil, zohoInfo{}, t.oldToolError(res)
	}
	raw, empty, err := oldPayload(res)
	if err != nil {
		return nil, zohoInfo{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: " + err.Error()}
	}
	if empty {
		return nil, zohoInfo{}, nil
	}
	var body struct {
		Data   json.RawMessage `json:"data"`
		Info   zohoInfo        `json:"info"`
		Code   string          `json:"code"`
		Status string          `json:"status"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, zohoInfo{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: not a Zoho response object"}
	}
	if body.Code != "" && strings.EqualFold(body.Status, "error") {
		var zb zohoBody
		if err := decode(raw, &zb); err != nil {
			return nil, zohoInfo{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: not a Zoho response object"}
		}
		e := &tiers.Error{Tier: tiers.MCP, Class: classifyCode(zb.Code), Code: zb.Code, Message: t.red().String(zb.Message), Details: zb.Details}
		return nil, zohoInfo{}, e
	}
	if len(body.Data) == 0 || string(body.Data) == "null" {
		return nil, body.Info, nil
	}
	return body.Data, body.Info, nil
}

func (t *Tier) oldToolError(res *oldToolResult) *tiers.Error {
	text := strings.Join(res.Texts, "\n")
	b, ok := oldZohoErrorIn(text, res)
	if ok && b.Code == "" && b.Message != "" {
		text = b.Message // message-only: not a verdict, but its words are the message
	}
	if ok && b.Code != "" {
		e := &tiers.Error{Tier: tiers.MCP, Class: classifyCode(b.Code), Code: b.Code,
			Message: t.red().String(b.Message), Details: b.Details}
		if e.Class == tiers.ClassVerdict && looksAuth(b.Code+" "+b.Message) {
			e.Class = tiers.ClassAuth
		}
		if e.Message == "" {
			e.Message = "upstream tool failed"
		}
		return e
	}
	msg := t.red().String(clip(text, 300))
	if msg == "" {
		msg = "upstream tool failed without a message"
	}
	class := tiers.ClassUnavailable
	if looksAuth(text) {
		class = tiers.ClassAuth
	}
	return &tiers.Error{Tier: tiers.MCP, Class: class, Message: "upstream tool error: " + msg}
}
func oldZohoErrorIn(text string, res *oldToolResult) (zohoBody, bool) {
	try := func(b []byte) (zohoBody, bool) {
		b = oldUnwrap(bytes.TrimSpace(b))
		var z zohoBody
		if decode(b, &z) != nil {
			return z, false
		}
		if z.Code == "" && len(z.Data) > 0 {
			var rs []zohoResult
			if decode(z.Data, &rs) == nil && len(rs) > 0 && rs[0].Code != "" {
				return zohoBody{Code: rs[0].Code, Message: rs[0].Message, Details: rs[0].Details, Status: rs[0].Status}, true
			}
		}
		if z.Code == "" && z.Message != "" {
			return z, true
		}
		return z, z.Code != ""
	}
	if i := strings.IndexByte(text, '{'); i >= 0 {
		if z, ok := try([]byte(text[i:])); ok {
			return z, true
		}
	}
	if len(res.Structured) > 0 {
		return try(res.Structured)
	}
	return zohoBody{}, false
}

// newReadResult is what readRaw now does after its call.
func (t *Tier) newReadResult(res *toolResult) (json.RawMessage, zohoInfo, error) {
	if res.IsError {
		return nil, zohoInfo{}, t.toolError(res)
	}
	return t.readResult(res)
}

// sameRead fails t unless the two readers' answers are the same.
func sameRead(t *testing.T, in string, data json.RawMessage, info zohoInfo, err error, wdata json.RawMessage, winfo zohoInfo, werr error) {
	t.Helper()
	var e, we *tiers.Error
	errors.As(err, &e)
	errors.As(werr, &we)
	if (err == nil) != (werr == nil) || (e == nil) != (we == nil) {
		t.Fatalf("%s: error %v, the old reader's %v", in, err, werr)
	}
	if e != nil && (e.Class != we.Class || e.Code != we.Code || e.Message != we.Message || !reflect.DeepEqual(e.Details, we.Details)) {
		t.Fatalf("%s: error %#v, the old reader's %#v", in, e, we)
	}
	if !bytes.Equal(data, wdata) || (data == nil) != (wdata == nil) || info != winfo {
		t.Fatalf("%s: read %s %+v, the old reader %s %+v", in, data, info, wdata, winfo)
	}
}

// readSeeds are the shapes of Zoho bodies the tests use: Zoho's own,
// wrappers, a wrapper of a wrapper, error bodies, null data, arrays, text
// that is no JSON.
var readSeeds = []string{
	`{"data":[{"id":"1","Account_Name":"A"}],"info":{"count":1,"more_records":false}}`,
	`{"data":[{"id":"1"}],"info":{"per_page":200,"count":1,"page":1,"more_records":true,"next_page_token":"t1"}}`,
	`{"data":{"data":[{"id":"1"}]},"status":"success"}`,
	`{"data":{"Data":{"data":[]},"status":"success"}}`,
	`{"Data":{"data":[]},"Status":"success"}`,
	`{"data":{"data":[]},"status":"success","a":1,"b":2}`,
	`{"data":{"data":[]},"status":1}`,
	`{"data":{"data":{"data":{"data":[]}}}}`,
	`{"code":"INVALID_DATA","message":"bad","status":"error","details":{"api_name":"Phone","n":1.50}}`,
	`{"code":"NO_PERMISSION","message":"permission denied","status":"ERROR"}`,
	`{"data":{"code":"INVALID_TOKEN","message":"x","status":"error"},"status":"success"}`,
	`{"data":[{"code":"INVALID_DATA","message":"m","status":"error","details":{}}]}`,
	`{"message":"Something went wrong while executing the tool"}`,
	`{"data":null,"info":{"count":0}}`,
	`{"data":[]}`, `{}`, `[]`, `[{"id":"1"}]`, `null`, ``, ` `, `not json`, `Error: {"code":"X","message":"y"}`,
	`{"data":`, `{"info":{"count":1.5}}`, `{"info":[]}`, `{"code":5}`, `{"status":null,"status":"x"}`,
	`{"info":{"count":1},"info":{"more_records":true},"INFO":null}`,
	`{"d\u0061ta":[{"id":"1"}],"c\u006fde":"X","st\u0061tus":"\u0065rror"}`,
	`{"data":[1],"data":null}`, `{"ſtatus":"error","code":"K"}`, `"text"`, `5`,
}

// FuzzReadResult holds the walking reader of a read tool's result
// (readResult, after toolError for an isError result) to the decoding one
// it replaced: the same record bytes, info and error for any text,
// structuredContent and isError.
func FuzzReadResult(f *testing.F) {
	for _, s := range readSeeds {
		f.Add(s, "", false)
		f.Add("ok", s, false)
		f.Add(s, s, false)
		f.Add(s, "", true)
		f.Add("failed", s, true)
	}
	tr := New(Config{})
	f.Fuzz(func(t *testing.T, text, structured string, isErr bool) {
		old := &oldToolResult{IsError: isErr, Texts: []string{text}}
		if structured != "" {
			old.Structured = json.RawMessage(structured)
		}
		wdata, winfo, werr := tr.oldReadResult(old)
		data, info, err := tr.newReadResult(asBytes(old))
		sameRead(t, fmt.Sprintf("text %q, structuredContent %q", text, structured), data, info, err, wdata, winfo, werr)
	})
}

// FuzzReadToolResult holds the walking reader to the decoding one from the
// bytes of a tools/call result on: parseToolResult, then the read.
func FuzzReadToolResult(f *testing.F) {
	for _, s := range readSeeds {
		q, _ := json.Marshal(s)
		f.Add([]byte(`{"content":[{"type":"text","text":` + string(q) + `}]}`))
		f.Add([]byte(`{"content":[{"type":"text","text":"ok"}],"structuredContent":` + s + `}`))
		f.Add([]byte(`{"isError":true,"content":[{"type":"text","text":` + string(q) + `}],"structuredContent":` + s + `}`))
		f.Add([]byte(`{"content":[{"type":"image","data":"eA=="},{"type":"text","text":"x"},{"type":"text","text":` + string(q) + `}]}`))
	}
	for _, s := range []string{
		`{"content":null}`, `{"content":[]}`, `{}`, `null`, `[]`, `{"content":[null]}`, `{"content":[{"type":5}]}`,
		`{"Content":[{"TYPE":"text","Text":"{}"}],"IsError":false}`, `{"content":[{"type":"text","text":"a"}],"content":[]}`,
		`{"content":[{"type":"x"}],"content":[]}`, `{"content":[5],"content":[]}`, `{"content":[{"type":"text","text":null}]}`,
		`{"content":[{"type":"text","type":null}]}`, `{"resultType":"input_required"}`, `{"resultType":5,"content":[]}`,
		`{"content":[{"type":"te\u0078t","text":"\ud800\u00e9\ud83d\ude00"}]}`, "{\"content\":[{\"type\":\"text\",\"text\":\"\xff\"}]}",
		`{"isError":null,"isError":true,"content":[]}`, `{"structuredContent":null,"content":[]}`,
	} {
		f.Add([]byte(s))
	}
	tr := New(Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		old, oldNeeds, oldErr := oldParseToolResult(b)
		res, needs, err := parseToolResult(b)
		if (err == nil) != (oldErr == nil) || needs != oldNeeds {
			t.Fatalf("parseToolResult(%s) = %v, %v; the old reader %v, %v", b, needs, err, oldNeeds, oldErr)
		}
		if err != nil || needs {
			return
		}
		if got := asStrings(res); got.IsError != old.IsError || !reflect.DeepEqual(got.Texts, old.Texts) || !bytes.Equal(got.Structured, old.Structured) {
			t.Fatalf("parseToolResult(%s) = %+v, the old reader %+v", b, got, old)
		}
		wdata, winfo, werr := tr.oldReadResult(old)
		data, info, rerr := tr.newReadResult(res)
		sameRead(t, string(b), data, info, rerr, wdata, winfo, werr)
	})
}

// FuzzIDMatches holds idMatches to the tiers.RawID it replaced in GetRaw.
func FuzzIDMatches(f *testing.F) {
	for _, s := range []string{`{"id":"5"}`, `{"id":"5","id":"6"}`, `{"i\u0064":"5"}`, `{"ID":"5"}`, `{"id":5}`, `{"id":null}`, `{"id":""}`,
		`{"id":"\u0035"}`, "{\"id\":\"\xff\"}", "{\"id\xff\":\"5\"}", ` null `, `[]`, `"5"`, `{}`, `{"a":{"id":"5"}}`} {
		f.Add(s, "5")
	}
	f.Fuzz(func(t *testing.T, rec, id string) {
		if !json.Valid([]byte(rec)) {
			return // GetRaw's records are elements of valid JSON
		}
		wid, wok := tiers.RawID([]byte(rec))
		match, ok := idMatches([]byte(rec), id)
		if ok != wok || (ok && match != (wid == "" || wid == id)) {
			t.Fatalf("idMatches(%s, %q) = %v, %v; RawID = %q, %v", rec, id, match, ok, wid, wok)
		}
	})
}
