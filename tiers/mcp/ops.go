package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// getCall checks a get and resolves the upstream tool and arguments that
// serve it. The arguments are appended to args[:0] (a caller's stack array:
// a get has at most three).
func (t *Tier) getCall(ctx context.Context, req tiers.GetRequest, args []arg) (*tool, []arg, error) {
	if err := checkModule(req.Module); err != nil {
		return nil, nil, err
	}
	if err := zoho.CheckID(tiers.MCP, req.ID); err != nil {
		return nil, nil, err
	}
	tl, perModule, err := t.resolve(ctx, actGetRecord, req.Module)
	if err != nil {
		return nil, nil, err
	}
	args = append(args[:0], arg{section: secPath, name: "recordID", value: req.ID, required: true}, moduleArg(req.Module, perModule))
	if len(req.Fields) > 0 {
		args = append(args, arg{section: secQuery, name: "fields", value: strings.Join(req.Fields, ",")})
	}
	return tl, args, nil
}

// Get reads one record with the upstream's getRecord tool.
func (t *Tier) Get(ctx context.Context, req tiers.GetRequest) (tiers.Record, error) {
	var buf [3]arg
	tl, args, err := t.getCall(ctx, req, buf[:0])
	if err != nil {
		return nil, err
	}
	recs, _, err := t.read(ctx, tl, args)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if id, _ := r["id"].(string); id == "" || id == req.ID {
			return zoho.Project(r, req.Fields), nil
		}
	}
	return nil, tiers.NotFound(tiers.MCP, req.Module, req.ID)
}

var _ tiers.RawGetter = (*Tier)(nil)

// GetRaw is Get without decoding the record: the upstream's JSON object is
// returned as it came, after reading only its id (and, when fields were
// asked for and the tool ignored them, projecting it).
func (t *Tier) GetRaw(ctx context.Context, req tiers.GetRequest) (json.RawMessage, error) {
	var buf [3]arg
	tl, args, err := t.getCall(ctx, req, buf[:0])
	if err != nil {
		return nil, err
	}
	data, _, err := t.readRaw(ctx, tl, args)
	if err != nil || data == nil {
		return nil, orNotFound(err, req)
	}
	// data is valid JSON: walked, not decoded. The first record that is
	// not one, or has the id (or none), ends the walk.
	var rec json.RawMessage
	bad := false
	if !tiers.EachElement(data, func(r []byte) bool {
		match, ok := idMatches(r, req.ID)
		switch {
		case !ok:
			bad = true
		case match:
			rec = r
		}
		return !bad && rec == nil
	}) || bad {
		return nil, malformedData()
	}
	switch {
	case rec == nil:
		return nil, tiers.NotFound(tiers.MCP, req.Module, req.ID)
	case string(rec) == "null":
		return json.RawMessage("{}"), nil // as Get: a null record is an empty one
	}
	return tiers.ProjectRaw(rec, req.Fields), nil
}

// idMatches is tiers.RawID(rec) compared without building the id: match
// reports an id that is id or none at all ("", absent, not a string). ok
// is false when rec is neither an object nor null.
func idMatches(rec []byte, id string) (match, ok bool) {
	b := bytes.TrimSpace(rec)
	if isNull(b) {
		return true, true
	}
	if len(b) == 0 || b[0] != '{' {
		return false, false
	}
	var v []byte // the last "id", as a record decodes
	tiers.EachField(b, func(k, val []byte) bool {
		if tiers.KeyIs(k, "id") {
			v = val
		}
		return true
	})
	got, isString := unquote(v)
	return !isString || len(got) == 0 || string(got) == id, true
}

// List reads a page of records: by IDs with getRecords' ids parameter, by
// equality filters with a COQL query, or the module's records in order with
// getRecords and Zoho's own paging.
func (t *Tier) List(ctx context.Context, req tiers.ListRequest) (tiers.Page, error) {
	if err := checkModule(req.Module); err != nil {
		return tiers.Page{}, err
	}
	limit, err := zoho.CheckLimit(tiers.MCP, req.Limit)
	if err != nil {
		return tiers.Page{}, err
	}
	if err := zoho.CheckListIDs(tiers.MCP, req.IDs); err != nil {
		return tiers.Page{}, err
	}
	if _, _, err := zoho.CheckSort(tiers.MCP, req.SortBy, req.SortOrder); err != nil {
		return tiers.Page{}, err
	}
	if err := zoho.CheckListFilters(tiers.MCP, req.Filters); err != nil {
		return tiers.Page{}, err
	}
	if err := zoho.CheckFields(tiers.MCP, req.Fields); err != nil {
		return tiers.Page{}, err
	}
	cur, err := tiers.DecodeCursor(req.PageToken, tiers.ListKey(req))
	if err != nil {
		return tiers.Page{}, zoho.WithTier(tiers.MCP, err)
	}
	switch {
	case len(req.IDs) > 0:
		return t.listIDs(ctx, req, limit, cur)
	case len(req.Filters) > 0:
		return t.listCOQL(ctx, req, limit, cur)
	}
	return t.listAll(ctx, req, limit, cur)
}

func (t *Tier) listIDs(ctx context.Context, req tiers.ListRequest, limit int, cur tiers.Cursor) (tiers.Page, error) {
	if cur.Offset >= len(req.IDs) {
		return tiers.Page{}, nil
	}
	ids := req.IDs[cur.Offset:min(len(req.IDs), cur.Offset+limit)]
	tl, perModule, err := t.resolve(ctx, actGetRecords, req.Module)
	if err != nil {
		return tiers.Page{}, err
	}
	fields := req.Fields
	if len(fields) == 0 {
		fields = t.cfg.DefaultFields(req.Module) // Zoho's list API requires fields
	}
	args := []arg{{section: secQuery, name: "ids", value: strings.Join(ids, ","), required: true},
		{section: secQuery, name: "fields", value: strings.Join(fields, ",")}}
	args = append(args, moduleArg(req.Module, perModule))
	recs, _, err := t.read(ctx, tl, args)
	if err != nil {
		return tiers.Page{}, err
	}
	var p tiers.Page
	for _, r := range zoho.InIDOrder(recs, ids) { // an id Zoho did not return does not exist
		p.Records = append(p.Records, zoho.Project(r, req.Fields))
	}
	if next := cur.Offset + len(ids); next < len(req.IDs) {
		cur.Offset = next
		p.MoreRecords, p.NextPageToken = true, cur.Encode()
	}
	return p, nil
}

func (t *Tier) listAll(ctx context.Context, req tiers.ListRequest, limit int, cur tiers.Cursor) (tiers.Page, error) {
	tl, perModule, err := t.resolve(ctx, actGetRecords, req.Module)
	if err != nil {
		return tiers.Page{}, err
	}
	args := []arg{moduleArg(req.Module, perModule)}
	fields := req.Fields
	if len(fields) == 0 {
		fields = t.cfg.DefaultFields(req.Module) // Zoho's list API requires fields
	}
	args = append(args, arg{section: secQuery, name: "fields", value: strings.Join(fields, ",")})
	if req.SortBy != "" {
		args = append(args, arg{section: secQuery, name: "sort_by", value: req.SortBy, required: true})
	}
	order := req.SortOrder
	if order == "" {
		order = "asc" // our contract's default; Zoho's is desc
	}
	args = append(args, arg{section: secQuery, name: "sort_order", value: order, required: true})
	args = append(args, arg{section: secQuery, name: "per_page", value: limit})
	skip := 0
	switch {
	case cur.Zoho != "":
		args = append(args, arg{section: secQuery, name: "page_token", value: cur.Zoho, required: true})
	case cur.Offset > 0:
		page := cur.Offset/limit + 1
		skip = cur.Offset % limit
		if page*limit > 2000 || skip != 0 {
			// A token from another tier (or another page size) without
			// Zoho's page token: continue by COQL, which pages by offset or
			// by the last id.
			return t.listCOQL(ctx, req, limit, cur)
		}
		args = append(args, arg{section: secQuery, name: "page", value: page, required: true})
	}
	recs, info, err := t.read(ctx, tl, args)
	if err != nil {
		return tiers.Page{}, err
	}
	return pageOf(recs, info, skip, limit, req.Fields, cur, len(recs) >= limit), nil
}

// pageOf builds a Page from one upstream page: it drops the first skip
// records (already returned), trims to limit (a tool without per_page
// returns Zoho's default 200) and carries Zoho's page token on.
func pageOf(recs []tiers.Record, info zohoInfo, skip, limit int, fields []string, cur tiers.Cursor, full bool) tiers.Page {
	var p tiers.Page
	if skip < len(recs) {
		recs = recs[skip:]
	} else {
		recs = nil
	}
	more := info.MoreRecords
	if len(recs) > limit {
		recs = recs[:limit]
		more = true
	}
	for _, r := range recs {
		p.Records = append(p.Records, zoho.Project(r, fields))
	}
	if more && len(recs) > 0 {
		next := tiers.Cursor{Offset: cur.Offset + len(recs), Query: cur.Query}
		if info.NextPageToken != "" && len(recs) == limit && skip == 0 && full {
			next.Zoho = info.NextPageToken
		}
		if id, ok := recs[len(recs)-1]["id"].(string); ok {
			next.LastID = id
		}
		p.MoreRecords, p.NextPageToken = true, next.Encode()
	}
	return p
}

// listCOQL reads a page with the upstream's COQL tool: equality filters,
// the requested order, and keyset paging (id > last id) when sorted by id so
// that a page token from any tier continues where it left off.
func (t *Tier) listCOQL(ctx context.Context, req tiers.ListRequest, limit int, cur tiers.Cursor) (tiers.Page, error) {
	fields := req.Fields
	if len(fields) == 0 {
		fields = t.cfg.DefaultFields(req.Module)
	}
	if !slices.Contains(fields, "id") {
		fields = append([]string{"id"}, fields...)
	}
	sortBy, desc := req.SortBy, req.SortOrder == "desc"
	if sortBy == "" {
		sortBy = "id"
	}
	q := zoho.COQLQuery{Module: req.Module, Select: fields, Where: req.Filters, Limit: limit + 1,
		OrderBy: []zoho.Order{{Field: sortBy, Desc: desc}}}
	if sortBy != "id" {
		q.OrderBy = append(q.OrderBy, zoho.Order{Field: "id", Desc: desc})
	}
	switch {
	case sortBy == "id" && !desc && cur.LastID != "":
		q.AfterID = cur.LastID
	case sortBy == "id" && desc && cur.LastID != "":
		q.Where = append(slices.Clip(q.Where), tiers.Condition{Field: "id", Op: tiers.OpLessThan, Values: []any{json.Number(cur.LastID)}})
	default:
		q.Offset = cur.Offset
	}
	text, err := zoho.COQL(q)
	if err != nil {
		return tiers.Page{}, zoho.WithTier(tiers.MCP, err)
	}
	tl, _, err := t.resolve(ctx, actCOQL, "")
	if err != nil {
		return tiers.Page{}, err
	}
	recs, _, err := t.read(ctx, tl, []arg{{section: secBody, name: "select_query", value: text, required: true}})
	if err != nil {
		return tiers.Page{}, err
	}
	var p tiers.Page
	more := len(recs) > limit
	if more {
		recs = recs[:limit]
	}
	for _, r := range recs {
		p.Records = append(p.Records, zoho.Project(r, req.Fields))
	}
	if more {
		next := tiers.Cursor{Offset: cur.Offset + len(recs), Query: cur.Query}
		next.LastID, _ = recs[len(recs)-1]["id"].(string)
		p.MoreRecords, p.NextPageToken = true, next.Encode()
	}
	return p, nil
}

// Search finds records with the upstream's searchRecords tool: compiled
// criteria for structured conditions, or Zoho's word/email/phone search,
// sorted by id. Zoho's criteria match more than the tools' meaning (its
// equals on text is a "contains"), so a zoho.SearchPager keeps only the
// records zoho.Match accepts and pages them with every tier's cursor.
func (t *Tier) Search(ctx context.Context, req tiers.SearchRequest) (tiers.Page, error) {
	if err := checkModule(req.Module); err != nil {
		return tiers.Page{}, err
	}
	limit, err := zoho.CheckLimit(tiers.MCP, req.Limit)
	if err != nil {
		return tiers.Page{}, err
	}
	var by arg
	switch {
	case len(req.Where) > 0:
		c, err := zoho.Criteria(req.Where, req.MatchAny)
		if err != nil {
			return tiers.Page{}, zoho.WithTier(tiers.MCP, err)
		}
		by = arg{section: secQuery, name: "criteria", value: c, required: true}
	case req.Word != "":
		by = arg{section: secQuery, name: "word", value: req.Word, required: true}
	case req.Email != "":
		by = arg{section: secQuery, name: "email", value: req.Email, required: true}
	case req.Phone != "":
		by = arg{section: secQuery, name: "phone", value: req.Phone, required: true}
	default:
		return tiers.Page{}, badInput("search needs conditions or one of word, email, phone")
	}
	if err := zoho.CheckFields(tiers.MCP, req.Fields); err != nil {
		return tiers.Page{}, err
	}
	cur, err := tiers.DecodeCursor(req.PageToken, tiers.SearchKey(req))
	if err != nil {
		return tiers.Page{}, zoho.WithTier(tiers.MCP, err)
	}
	tl, perModule, err := t.resolve(ctx, actSearchRecords, req.Module)
	if err != nil {
		return tiers.Page{}, err
	}
	// Sorted by id, ascending, whatever the tool's default: the pager's
	// tokens continue by id on any tier. A tool that cannot sort cannot
	// serve the search.
	base := []arg{by, moduleArg(req.Module, perModule),
		{section: secQuery, name: "sort_by", value: "id", required: true},
		{section: secQuery, name: "sort_order", value: "asc", required: true}}
	if fs := zoho.SearchFields(req.Fields, req.Where); fs != nil {
		base = append(base, arg{section: secQuery, name: "fields", value: strings.Join(fs, ",")})
	}
	pager := zoho.SearchPager{Tier: tiers.MCP, Where: req.Where, MatchAny: req.MatchAny, Fields: req.Fields,
		Keyset: true, Cap: tiers.MaxSearchRecords,
		Fetch: func(ctx context.Context, page, perPage int) ([]tiers.Record, bool, error) {
			args := append(slices.Clip(base), arg{section: secQuery, name: "per_page", value: perPage},
				arg{section: secQuery, name: "page", value: page, required: page > 1})
			recs, info, err := t.read(ctx, tl, args)
			return recs, info.MoreRecords, err
		}}
	return pager.Page(ctx, limit, cur)
}

// Update writes one record with updateRecords (or the single-record
// updateRecord). A Zoho verdict on the record comes back both as the
// Outcome and as a ClassVerdict error.
func (t *Tier) Update(ctx context.Context, req tiers.UpdateRequest) (tiers.Outcome, error) {
	out := tiers.Outcome{ID: req.ID, Status: tiers.StatusNotSent}
	if err := checkModule(req.Module); err != nil {
		return out, err
	}
	if err := zoho.CheckID(tiers.MCP, req.ID); err != nil {
		return out, err
	}
	if len(req.Data) == 0 {
		return out, badInput("nothing to update: data is empty")
	}
	rec := make(map[string]any, len(req.Data)+1)
	for k, v := range req.Data {
		if k == "id" {
			continue
		}
		rec[k] = v
	}
	rec["id"] = req.ID
	tl, perModule, err := t.resolve(ctx, actUpdateRecords, req.Module)
	single := false
	if tiers.Classify(err) == tiers.ClassUnsupported {
		tl, perModule, err = t.resolve(ctx, actUpdateRecord, req.Module)
		single = true
	}
	if err != nil {
		return out, err
	}
	args := []arg{{section: secBody, name: "data", value: []any{rec}, required: true}}
	if single {
		args = append(args, arg{section: secPath, name: "recordID", value: req.ID, required: true})
	}
	args = append(args, moduleArg(req.Module, perModule))
	if req.Trigger != nil {
		args = append(args, arg{section: secBody, name: "trigger", value: req.Trigger, required: true})
	}
	built, err := tl.build(args, nil)
	if err != nil {
		return out, err
	}
	res, err := t.call(ctx, tl, built, true)
	if err != nil {
		if tiers.Classify(err) == tiers.ClassOutcomeUnknown {
			out.Status = tiers.StatusUnknown
		}
		return out, err
	}
	if res.IsError {
		e := t.toolError(res)
		if e.Class == tiers.ClassVerdict {
			out.Status, out.Code, out.Message = tiers.StatusError, e.Code, e.Message
		}
		return out, e
	}
	raw, empty, perr := payload(res)
	var body zohoBody
	var results []zohoResult
	if perr == nil && !empty {
		perr = decode(raw, &body)
		if perr == nil && len(body.Data) > 0 {
			perr = decode(body.Data, &results)
		}
	}
	if perr != nil || len(results) == 0 {
		if body.Code != "" && body.Status == "error" {
			e := &tiers.Error{Tier: tiers.MCP, Class: classifyCode(body.Code), Code: body.Code, Message: t.red().String(body.Message), Details: body.Details}
			if e.Class == tiers.ClassVerdict {
				out.Status, out.Code, out.Message = tiers.StatusError, e.Code, e.Message
			}
			return out, e
		}
		out.Status = tiers.StatusUnknown
		return out, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassOutcomeUnknown,
			Message: "the upstream answered the update without a per-record result; read the record before retrying"}
	}
	r := results[0]
	out.Code, out.Message = r.Code, t.red().String(r.Message)
	if strings.EqualFold(r.Status, "success") {
		out.Status = tiers.StatusSuccess
		return out, nil
	}
	out.Status = tiers.StatusError
	return out, &tiers.Error{Tier: tiers.MCP, Class: classifyCode(r.Code), Code: r.Code, Message: out.Message, Details: r.Details}
}

// BulkUpdate is not offered by tier 1.
func (t *Tier) BulkUpdate(ctx context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
	res := tiers.BulkUpdateResult{Outcomes: make([]tiers.Outcome, len(req.Updates))}
	for i, u := range req.Updates {
		res.Outcomes[i] = tiers.Outcome{ID: u.ID, Status: tiers.StatusNotSent}
	}
	return res, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnsupported, Message: "bulk updates are not done over MCP"}
}

// BulkRead is not offered by tier 1.
func (t *Tier) BulkRead(ctx context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
	return tiers.BulkReadResult{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnsupported, Message: "bulk reads are not done over MCP"}
}

// read calls a read tool and returns the records of data[] and info. A
// result with no payload (Zoho's 204) is no records.
func (t *Tier) read(ctx context.Context, tl *tool, args []arg) ([]tiers.Record, zohoInfo, error) {
	data, info, err := t.readRaw(ctx, tl, args)
	if err != nil || data == nil {
		return nil, info, err
	}
	var recs []tiers.Record
	if err := decode(data, &recs); err != nil {
		return nil, zohoInfo{}, malformedData()
	}
	return recs, info, nil
}

func notZoho() *tiers.Error {
	return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: not a Zoho response object"}
}

func malformedData() *tiers.Error {
	return &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: data is not a list of records"}
}

// orNotFound is err, or (nil: no records at all) Zoho's NOT_FOUND for req.
func orNotFound(err error, req tiers.GetRequest) error {
	if err != nil {
		return err
	}
	return tiers.NotFound(tiers.MCP, req.Module, req.ID)
}

// readRaw calls a read tool and returns data[] undecoded (nil when there
// are no records) and info.
func (t *Tier) readRaw(ctx context.Context, tl *tool, args []arg) (json.RawMessage, zohoInfo, error) {
	var into [8]placed // more than a read has
	built, err := tl.build(args, into[:0])
	if err != nil {
		return nil, zohoInfo{}, err
	}
	res, err := t.call(ctx, tl, built, false)
	if err != nil {
		return nil, zohoInfo{}, err
	}
	if res.IsError {
		return nil, zohoInfo{}, t.toolError(res)
	}
	return t.readResult(res)
}

// readResult reads the records and info of a read tool's successful result.
// The body is walked once at its top level (after the one validation of the
// text it came in) for what every read needs; Zoho's error fields (message,
// details with numbers kept exact) are decoded only when it is an error.
func (t *Tier) readResult(res *toolResult) (json.RawMessage, zohoInfo, error) {
	b, valid, empty, err := source(res)
	if err != nil {
		return nil, zohoInfo{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: " + err.Error()}
	}
	if empty {
		return nil, zohoInfo{}, nil
	}
	if !valid && !tiers.Valid(b) {
		return nil, zohoInfo{}, notZoho()
	}
	body := readBody(b, true)
	if !body.obj && !isNull(bytes.TrimSpace(body.raw)) || body.err != nil {
		return nil, zohoInfo{}, notZoho()
	}
	if len(body.code) > 0 && bytes.EqualFold(body.status, []byte("error")) {
		var zb zohoBody
		if err := decode(body.raw, &zb); err != nil {
			return nil, zohoInfo{}, notZoho()
		}
		e := &tiers.Error{Tier: tiers.MCP, Class: classifyCode(zb.Code), Code: zb.Code, Message: t.red().String(zb.Message), Details: zb.Details}
		return nil, zohoInfo{}, e
	}
	if len(body.data) == 0 || isNull(body.data) {
		return nil, body.info, nil
	}
	return body.data, body.info, nil
}

// moduleArg is the module path variable: required for a generic tool,
// passed only if the schema has a place for it on a per-module one.
func moduleArg(module string, perModule bool) arg {
	return arg{section: secPath, name: "module", value: module, required: !perModule}
}

func badInput(format string, args ...any) *tiers.Error {
	return zoho.InvalidData(tiers.MCP, format, args...)
}

func checkModule(m string) error { return zoho.CheckModule(tiers.MCP, m) }
