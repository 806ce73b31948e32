package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// withRoute puts the call's route in the result's _meta, as the typed
// tiers.Route: the server's call log reads it back by type assertion, and it
// marshals for the client with attempts always an array.
func withRoute(res *mcp.CallToolResult, r tiers.Route) *mcp.CallToolResult {
	if res.Meta == nil {
		res.Meta = &mcp.Meta{}
	}
	res.Meta.SetMetaField(tiers.RouteMetaKey, r)
	return res
}

// subject is what a call asked for, as the agent's messages name it: one
// record (its id kept, so a message can name it without parsing) or a
// description such as "the search".
type subject struct {
	text string // "account 3652397000000624001", "the search"
	id   string // the record's id when the call named one record, else ""
	// module is the module of a generic tool's call ("" for the Account
	// tools): messages then speak of its records and name the generic tools.
	module string
}

// record is the subject of a generic tool's call about record id of module.
func record(module, id string) subject {
	return subject{text: module + " record " + id, id: id, module: module}
}

// aboutIn is the subject of a generic tool's call about no single record.
func aboutIn(module, text string) subject { return subject{text: text, module: module} }

// reader is the tool that reads back a record of the subject.
func (s subject) reader() string {
	if s.module != "" {
		return "get_record"
	}
	return "get_account"
}

// account is the subject of a call about the account with id.
func account(id string) subject { return subject{text: "account " + id, id: id} }

// about is the subject of a call about no single record.
func about(text string) subject { return subject{text: text} }

// String returns the subject as messages name it.
func (s subject) String() string { return s.text }

// TextMode is what the text content of a result with structured content
// carries (result_text): the summary line and the same content as JSON, or
// the summary line only. Error texts written for the agent stay in both.
type TextMode uint8

const (
	// TextFull: the summary line, a blank line, then the structured content
	// as JSON, for clients that only read text (the MCP spec's SHOULD for a
	// tool with an outputSchema). The default.
	TextFull TextMode = iota
	// TextSummary: the summary line only; the record reaches the client
	// once, as structuredContent.
	TextSummary
)

// success builds a result with structured content and a text rendering: the
// summary line, then (TextFull) the same content as JSON for clients that
// only read text.
func (t TextMode) success(route tiers.Route, structured any, summary string) *mcp.CallToolResult {
	return withRoute(t.structuredResult(structured, summary, false), route)
}

func (t TextMode) structuredResult(structured any, summary string, isError bool) *mcp.CallToolResult {
	b, err := json.Marshal(structured)
	text := summary
	if err == nil {
		// Marshal once: the same bytes are the structuredContent and the
		// JSON the text rendering carries for clients that read only text.
		if t != TextSummary {
			text = summary + "\n\n" + string(b)
		}
		structured = json.RawMessage(b)
	}
	res := mcp.NewToolResultStructured(structured, text)
	res.IsError = isError
	return res
}

// rawSuccess is success for structured content already encoded as JSON,
// written with its text rendering into one buffer: buf is the text (the
// summary line, a blank line, the JSON) and the structured content is
// buf[body:], the same bytes, with no decoding or encoding on the way.
// TextSummary leaves the JSON out of the text: buf[:body] less its blank
// line.
func (t TextMode) rawSuccess(route tiers.Route, buf []byte, body int) *mcp.CallToolResult {
	r := &rawResult{}
	if t == TextSummary {
		r.content[0] = mcp.TextContent{Type: mcp.ContentTypeText, Text: string(bytes.TrimSuffix(buf[:body], []byte("\n\n")))}
	} else {
		r.content[0] = mcp.TextContent{Type: mcp.ContentTypeText, Text: string(buf)}
	}
	r.res.Content = r.content[:]
	r.res.StructuredContent = json.RawMessage(buf[body:len(buf):len(buf)])
	r.meta.AdditionalFields = map[string]any{tiers.RouteMetaKey: route}
	r.res.Meta = &r.meta
	return &r.res
}

// rawResult is what mcp.NewToolResultStructured and withRoute allocate
// one by one, in one allocation.
type rawResult struct {
	res     mcp.CallToolResult
	content [1]mcp.Content
	meta    mcp.Meta
}

// appendSummary appends the rest of one record's summary line after what
// it names ("Account"), and the blank line after it, to dst: the record's
// label (see appendLabel) and the tier that served it.
func appendSummary(dst []byte, rec json.RawMessage, tier tiers.Name, nameFields ...string) []byte {
	dst = appendLabel(append(dst, ' '), rec, nameFields...)
	return append(append(append(dst, " (served by "...), tier...), ").\n\n"...)
}

// summaryRoom is what a record's summary line usually needs beside the
// record's own bytes, for sizing the answer's buffer.
const summaryRoom = 96

// appendLabel appends "Name (id)" for a summary to dst, the name being the
// first of nameFields the record has as a non-empty string; the id alone
// without. Fields that are absent or not strings count as "". The last of
// duplicate keys wins, as when decoding.
func appendLabel(dst []byte, rec json.RawMessage, nameFields ...string) []byte {
	var id []byte
	var room [8][]byte
	names := room[:0]
	if len(nameFields) <= len(room) {
		names = room[:len(nameFields)]
	} else {
		names = make([][]byte, len(nameFields))
	}
	tiers.EachField(rec, func(k, v []byte) bool {
		if tiers.KeyIs(k, "id") {
			id = v
		}
		for i, n := range nameFields {
			if tiers.KeyIs(k, n) {
				names[i] = v
			}
		}
		return true
	})
	for _, name := range names {
		if len(name) > 2 && name[0] == '"' {
			dst = appendString(dst, name)
			dst = append(dst, " ("...)
			dst = appendString(dst, id)
			return append(dst, ')')
		}
	}
	return appendString(dst, id)
}

// appendString appends the JSON string val decoded to dst; nothing when
// val is no string.
func appendString(dst, val []byte) []byte {
	if len(val) < 2 || val[0] != '"' {
		return dst
	}
	if inner := val[1 : len(val)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return append(dst, inner...)
	}
	var s string
	if json.Unmarshal(val, &s) != nil {
		return dst
	}
	return append(dst, s...)
}

// redactRaw is redactIn for a record as JSON bytes: rec itself when p
// denies nothing in module, else rec without the denied fields.
func redactRaw(module string, rec json.RawMessage, p *permissions.Profile) json.RawMessage {
	if len(rec) == 0 || string(rec) == "null" {
		return json.RawMessage("{}")
	}
	denied := p.DeniedFields(module)
	if denied == nil {
		return rec
	}
	return tiers.FilterFields(rec, func(k []byte) bool { return !deniedKey(denied, k) })
}

// deniedKey is p.DeniedIn(module, key) for denied = p.DeniedFields(module)
// and a key as tiers.EachField gives it, without making a string of every
// plain key.
func deniedKey(denied []string, k []byte) bool {
	if bytes.IndexByte(k, '\\') >= 0 || !utf8.Valid(k) {
		key := tiers.KeyString(k)
		return slices.ContainsFunc(denied, func(d string) bool { return strings.EqualFold(d, key) })
	}
	for _, d := range denied {
		if strings.EqualFold(d, string(k)) {
			return true
		}
	}
	return false
}

// errorResult is an isError result written for the agent.
func errorResult(route tiers.Route, format string, args ...any) *mcp.CallToolResult {
	return withRoute(mcp.NewToolResultError(fmt.Sprintf(format, args...)), route)
}

// invalid is the isError result of arguments that failed validation. It
// never reached the router, so its route names no tier.
func invalid(tool string, err error) *mcp.CallToolResult {
	return errorResult(tiers.Route{}, "invalid arguments for %s: %s", tool, err.Error())
}

// failure turns an error from the router into an isError result written for
// the agent about what subj asked for.
// Only Zoho's code, message and selected details reach the agent; anything
// unexpected is logged and summarised.
func failure(ctx context.Context, log *slog.Logger, tool string, route tiers.Route, subj subject, err error) *mcp.CallToolResult {
	return errorResult(route, "%s", describe(ctx, log, tool, subj, err))
}

func describe(ctx context.Context, log *slog.Logger, tool string, subj subject, err error) string {
	var ue *router.UnavailableError
	if errors.As(err, &ue) {
		if tiers.Classify(ue.Last) == tiers.ClassRateLimited && allRateLimited(ue.Attempts) {
			return "Zoho rate limit reached; retry in about a minute or narrow the query. (" + ue.Error() + ")"
		}
		return ue.Error()
	}
	var te *tiers.Error
	if errors.As(err, &te) {
		switch te.Class {
		case tiers.ClassVerdict:
			return verdictText(subj, te)
		case tiers.ClassRateLimited:
			return "Zoho rate limit reached; retry in about a minute or narrow the query"
		case tiers.ClassOutcomeUnknown:
			return fmt.Sprintf("the write for %s was sent but no answer came, so it may or may not have been applied; read it back (%s) before retrying", subj, subj.reader())
		case tiers.ClassCanceled:
			return fmt.Sprintf("%s was canceled or ran out of time; retry, or ask for fewer records", subj)
		default:
			return fmt.Sprintf("no tier could serve %s (%s: %s); retry in a minute (get_tier_health shows each tier)", subj, te.Tier, te.Class)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("%s was canceled or ran out of time; retry, or ask for fewer records", subj)
	}
	log.ErrorContext(ctx, "unexpected tool failure", "tool", tool, "err", err)
	return fmt.Sprintf("%s failed inside the proxy; the proxy logged the details. Retry; if it persists, check get_tier_health", subj)
}

func allRateLimited(as []tiers.Attempt) bool {
	n := 0
	for _, a := range as {
		switch a.Outcome {
		case tiers.AttemptRateLimited:
			n++
		case tiers.AttemptBreakerOpen, tiers.AttemptUnsupported, tiers.AttemptSkippedDeadline:
		default:
			return false
		}
	}
	return n > 0
}

// verdictHints says what to do next for Zoho's common verdict codes.
var verdictHints = map[string]string{
	"INVALID_DATA":                       "check the field API names and value types",
	"MANDATORY_NOT_FOUND":                "include the required field named in the details",
	"DUPLICATE_DATA":                     "another record already holds this unique value; use a different value or update that record",
	"NO_PERMISSION":                      "the Zoho user behind this proxy lacks permission for this; ask a Zoho administrator",
	"LIMIT_REACHED":                      "a Zoho search covers at most 2,000 records; narrow the query",
	"DISCRETE_PAGINATION_LIMIT_EXCEEDED": "continue with page_token instead",
	"PAGINATION_LIMIT_EXCEEDED":          "narrow the query; Zoho pages through at most 100,000 records",
	"INVALID_MODULE":                     "the proxy's Zoho org has no Accounts module access",
	"CRITERIA_LIMIT_EXCEEDED":            "use fewer conditions",
	"INVALID_QUERY":                      "check the operators and values of the conditions",
	"LIMIT_EXCEEDED":                     "ask for fewer records or fields",
	"RECORD_LOCKED":                      "the record is locked (e.g. by an approval); try again later",
	"CANNOT_PROCESS":                     "Zoho could not process this record; check its data",
}

// detailKeys are the parts of Zoho's details object shown to the agent.
var detailKeys = []string{"api_name", "json_path", "expected_data_type", "maximum_length", "param_name", "limit", "supported_values"}

func verdictText(subj subject, te *tiers.Error) string {
	if te.Code == "NOT_FOUND" {
		if subj.id != "" && subj.module != "" {
			return fmt.Sprintf("no %s record with id %s; check the id (search_records finds records by their field values)", subj.module, subj.id)
		}
		if subj.id != "" {
			return fmt.Sprintf("no account with id %s; check the id (search_accounts finds accounts by name, email or phone)", subj.id)
		}
		return fmt.Sprintf("Zoho found nothing for %s (NOT_FOUND); check the ids", subj)
	}
	if te.Code == "INVALID_PAGE_TOKEN" {
		// The proxy's own verdict on a token it did not issue: Zoho never saw it.
		return te.Message
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Zoho rejected %s", subj)
	if te.Code != "" {
		sb.WriteString(": ")
		sb.WriteString(te.Code)
	}
	if te.Message != "" {
		sb.WriteString(": ")
		sb.WriteString(te.Message)
	}
	if d := details(te.Details); d != "" {
		sb.WriteString(" (")
		sb.WriteString(d)
		sb.WriteString(")")
	}
	if te.Code == "INVALID_MODULE" && subj.module != "" {
		sb.WriteString("; describe_module lists the modules this org has")
	} else if h, ok := verdictHints[te.Code]; ok {
		sb.WriteString("; ")
		sb.WriteString(h)
	} else {
		sb.WriteString("; change the request as the message says")
	}
	return sb.String()
}

func details(d map[string]any) string {
	var parts []string
	for _, k := range detailKeys {
		v, ok := d[k]
		if !ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil || len(b) > 200 {
			continue
		}
		parts = append(parts, k+"="+string(b))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
