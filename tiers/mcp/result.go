package mcp

import (
	"bytes"
	"encoding/json"
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
	for _, s := range res.Texts {
		if b := bytes.TrimSpace([]byte(s)); len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b) {
			return unwrapValid(b), false, nil
		}
	}
	if len(res.Structured) > 0 && string(res.Structured) != "null" {
		return unwrap(res.Structured), false, nil // (validity not promised by every caller)
	}
	all := strings.TrimSpace(strings.Join(res.Texts, "\n"))
	if all == "" || all == "null" {
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("upstream answered with text that is not Zoho JSON (%d bytes)", len(all))
}

// unwrap removes a {"data": {…}, "status": "success"} re-wrap. Zoho's own
// responses carry data as an array, so an object under data is the wrapper.
// It walks only the top level of b (tiers.EachField) instead of decoding
// it: b is the whole ~2 KB record on every read. b that is not valid JSON
// is returned as it is.
func unwrap(b []byte) json.RawMessage {
	if !json.Valid(b) {
		return b
	}
	return unwrapValid(b)
}

// unwrapValid is unwrap of b known to be valid JSON.
func unwrapValid(b []byte) json.RawMessage {
	for range 2 { // a wrapper of a wrapper has been seen in structuredContent
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
				badStatus = v[0] != '"' && string(v) != "null" // not a string: not the wrapper
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
	text := strings.Join(res.Texts, "\n")
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
