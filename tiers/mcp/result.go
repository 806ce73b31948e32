package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// zohoBody is the part of a Zoho REST response this tier reads: records or
// per-record results in data, paging in info, or a top-level error.
type zohoBody struct {
	Data    json.RawMessage `json:"data"`
	Info    zohoInfo        `json:"info"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
	Details map[string]any  `json:"details"`
}

type zohoInfo struct {
	MoreRecords   bool   `json:"more_records"`
	NextPageToken string `json:"next_page_token"`
	Count         int    `json:"count"`
}

// zohoResult is one element of a write's per-record data[].
type zohoResult struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
	Details map[string]any `json:"details"`
}

// payload extracts the Zoho JSON from a tool result: the first text content
// that is JSON (or, failing that, structuredContent), with a
// {"data": <zoho>, "status": "success"} re-wrap removed. empty reports a
// result with no payload at all (the MCP form of Zoho's 204).
func payload(res *toolResult) (raw json.RawMessage, empty bool, err error) {
	b, valid, empty, err := source(res)
	if err != nil || empty {
		return nil, empty, err
	}
	if !valid && !tiers.Valid(b) {
		return b, false, nil
	}
	return unwrapValid(b), false, nil
}

// source is the Zoho JSON of a tool result before unwrapping: the first
// text that is JSON (valid), else structuredContent (valid unknown: not
// every caller promises it).
func source(res *toolResult) (b []byte, valid, empty bool, err error) {
	for _, t := range res.Texts {
		if b := bytes.TrimSpace(t); len(b) > 0 && (b[0] == '{' || b[0] == '[') && tiers.Valid(b) {
			return b, true, false, nil
		}
	}
	if len(res.Structured) > 0 && string(res.Structured) != "null" {
		return res.Structured, false, false, nil
	}
	all := bytes.TrimSpace(bytes.Join(res.Texts, []byte("\n")))
	if len(all) == 0 || string(all) == "null" {
		return nil, false, true, nil
	}
	return nil, false, false, fmt.Errorf("upstream answered with text that is not Zoho JSON (%d bytes)", len(all))
}

// unwrap removes a {"data": {…}, "status": "success"} re-wrap. Zoho's own
// responses carry data as an array, so an object under data is the wrapper.
// It walks only the top level of b (tiers.EachField) instead of decoding
// it: b is the whole ~2 KB record on every read. b that is not valid JSON
// is returned as it is.
func unwrap(b []byte) json.RawMessage {
	if !tiers.Valid(b) {
		return b
	}
	return unwrapValid(b)
}

// unwrapValid is unwrap of b known to be valid JSON.
func unwrapValid(b []byte) json.RawMessage {
	return readBody(b, false).raw
}

// zohoTop is what one walk of a Zoho response's top level finds: whether it
// is a wrapper to remove (see unwrap) and, when asked for, the fields a read
// needs, as json.Unmarshal into {data json.RawMessage, info zohoInfo,
// code, status string} would read them.
type zohoTop struct {
	raw     []byte // the body, unwrapped
	obj     bool   // raw is an object
	wrapper bool
	data    []byte // the last data value (nil: absent)
	info    zohoInfo
	code    []byte // decoded; nil when absent or null
	status  []byte // decoded; nil when absent or null
	err     error  // a field of the wrong type
}

// readBody unwraps b (valid JSON) and walks the body's top level once;
// pick also reads info, code and status.
func readBody(b []byte, pick bool) zohoTop {
	for depth := 0; ; depth++ {
		top := walkTop(b, pick)
		if depth < 2 && top.wrapper { // a wrapper of a wrapper has been seen in structuredContent
			b = top.data
			continue
		}
		return top
	}
}

// walkTop reads the top level of b (valid JSON) in one walk.
func walkTop(b []byte, pick bool) zohoTop {
	top := zohoTop{raw: b}
	var seen [4][]byte // the distinct keys, decoded: a wrapper has at most 3
	keys := 0
	badStatus := false
	top.obj = tiers.EachField(b, func(k, v []byte) bool {
		if keys < len(seen) {
			key, _ := unescape(k)
			dup := false
			for _, s := range seen[:keys] {
				dup = dup || bytes.Equal(s, key)
			}
			if !dup {
				seen[keys] = key
				keys++
			}
		}
		switch {
		case tiers.FieldIs(k, "data"):
			top.data = v
		case tiers.FieldIs(k, "status"):
			badStatus = v[0] != '"' && !isNull(v) // not a string: not the wrapper
			if pick {
				top.status = top.pickString(v, top.status)
			}
		case !pick:
		case tiers.FieldIs(k, "code"):
			top.code = top.pickString(v, top.code)
		case tiers.FieldIs(k, "info"):
			if v[0] != '{' && !isNull(v) {
				top.err = errNotZoho
			} else {
				info := top.info // (a copy: top's address never escapes, so top stays on the stack)
				if err := json.Unmarshal(v, &info); err != nil && top.err == nil {
					top.err = err
				}
				top.info = info
			}
		}
		return true
	})
	top.wrapper = top.obj && !badStatus && len(top.data) > 0 && top.data[0] == '{' && keys <= 3
	return top
}

// pickString is a string field's value after v: v decoded, or old for null.
func (top *zohoTop) pickString(v, old []byte) []byte {
	switch v[0] {
	case '"':
		s, _ := unquote(v)
		if s == nil {
			s = []byte{}
		}
		return s
	case 'n':
		return old
	}
	top.err = errNotZoho
	return old
}

var errNotZoho = errors.New("not a Zoho response object")

// decode parses Zoho JSON with numbers as json.Number.
func decode(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

// classifyCode maps a Zoho error code to a class, as tiers/zoho does for the
// REST surfaces: 429 TOO_MANY_REQUESTS is rate limiting, the token codes are
// this tier's credentials failing, INTERNAL_ERROR and gateway codes are the
// service being down, and everything else is Zoho's verdict on the request.
func classifyCode(code string) tiers.Class {
	switch strings.ToUpper(code) {
	case "TOO_MANY_REQUESTS":
		return tiers.ClassRateLimited
	case "INVALID_TOKEN", "AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH", "INVALID_OAUTHTOKEN":
		return tiers.ClassAuth
	case "INTERNAL_ERROR", "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "BAD_GATEWAY", "GATEWAY_TIMEOUT":
		return tiers.ClassUnavailable
	}
	return tiers.ClassVerdict
}

// looksAuth reports whether an error text speaks of failed authorisation,
// the way clients of Zoho's hosted MCP detect it (zoho-mcp-anchors §1.9).
func looksAuth(s string) bool {
	return authRE.MatchString(s)
}

// authRE matches 401 as a word (not inside a port number or an id) and the
// token-failure phrases.
var authRE = regexp.MustCompile(`(?i)(^|[^0-9.:])401([^0-9]|$)|invalid_token|invalid[ _]oauth|unauthori[sz]ed|oauth token (is )?(invalid|expired)`)

// toolError classifies an isError result. Zoho's own error JSON (a code,
// such as INVALID_DATA) keeps its code and message and is Zoho's verdict. A
// result without a code — plain text, or a message-only object such as
// {"message":"Something went wrong while executing the tool…"} that hosted
// MCP servers send — says the upstream failed, not that Zoho judged the
// request: it is unavailable (so the router fails over), or an auth failure
// when its words say so.
func (t *Tier) toolError(res *toolResult) *tiers.Error {
	text := string(bytes.Join(res.Texts, []byte("\n")))
	b, ok := zohoErrorIn(text, res)
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

// zohoErrorIn finds a Zoho error envelope in an error result: the text as
// JSON, JSON embedded after a prefix ("Error: {…}"), structuredContent, or
// the first element of a data[] array of errors.
func zohoErrorIn(text string, res *toolResult) (zohoBody, bool) {
	try := func(b []byte) (zohoBody, bool) {
		b = unwrap(bytes.TrimSpace(b))
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

// clip shortens s to n bytes.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
