package bulk

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// zohoPage is a records answer: data[] and info.
type zohoPage struct {
	Data []tiers.Record `json:"data"`
	Info struct {
		MoreRecords bool `json:"more_records"`
		Count       int  `json:"count"`
	} `json:"info"`
}

// Get reads one record: GET /crm/v8/{module}?ids={id}&fields=… when fields
// are named (the multi-record API), GET /crm/v8/{module}/{id} for all
// fields. Zoho's 204 is a NOT_FOUND verdict.
func (t *Tier) Get(ctx context.Context, req tiers.GetRequest) (tiers.Record, error) {
	if !t.Configured() {
		return nil, notConfigured()
	}
	if err := firstErr(zoho.CheckModule(tiers.Bulk, req.Module), zoho.CheckFields(tiers.Bulk, req.Fields)); err != nil {
		return nil, err
	}
	if err := zoho.CheckID(tiers.Bulk, req.ID); err != nil {
		return nil, err
	}
	r := zoho.Request{Path: "/crm/v8/" + req.Module + "/" + req.ID}
	if len(req.Fields) > 0 {
		r = zoho.Request{Path: "/crm/v8/" + req.Module, Query: url.Values{"ids": {req.ID}, "fields": {strings.Join(req.Fields, ",")}}}
	}
	p, err := t.getPage(ctx, r)
	if err != nil {
		return nil, err
	}
	for _, rec := range p.Data {
		if id, _ := rec["id"].(string); id == req.ID {
			return rec, nil
		}
	}
	return nil, tiers.NotFound(tiers.Bulk, req.Module, req.ID)
}

// getPage makes a read call and decodes a records answer (204 = none).
func (t *Tier) getPage(ctx context.Context, r zoho.Request) (zohoPage, error) {
	var p zohoPage
	resp, err := t.zc.Do(ctx, r)
	if err != nil {
		return p, asRead(err)
	}
	if resp.Empty() {
		return p, nil
	}
	if err := resp.Decode(&p); err != nil {
		return p, asRead(err)
	}
	return p, nil
}

// checkPage is how List and Search start: the tier is configured, module
// and fields are API names, and limit is a page size (see zoho.CheckLimit),
// which it returns.
func (t *Tier) checkPage(module string, fields []string, limit int) (int, error) {
	if !t.Configured() {
		return 0, notConfigured()
	}
	if err := firstErr(zoho.CheckModule(tiers.Bulk, module), zoho.CheckFields(tiers.Bulk, fields)); err != nil {
		return 0, err
	}
	return zoho.CheckLimit(tiers.Bulk, limit)
}

// List reads a page: by ids with GET ?ids= (the page is a slice of the
// caller's ids, in the caller's order), otherwise with COQL: filters become
// a WHERE of equalities, sorted by the requested field (id by default) and
// paged by offset — or, sorted by id, by keyset (id > last id) so that paging
// goes on past COQL's 100,000-row offset cap.
func (t *Tier) List(ctx context.Context, req tiers.ListRequest) (tiers.Page, error) {
	limit, err := t.checkPage(req.Module, req.Fields, req.Limit)
	if err != nil {
		return tiers.Page{}, err
	}
	if err := zoho.CheckListIDs(tiers.Bulk, req.IDs); err != nil {
		return tiers.Page{}, err
	}
	if err := zoho.CheckListFilters(tiers.Bulk, req.Filters); err != nil {
		return tiers.Page{}, err
	}
	sortBy, desc, err := zoho.CheckSort(tiers.Bulk, req.SortBy, req.SortOrder)
	if err != nil {
		return tiers.Page{}, err
	}
	cur, err := tiers.DecodeCursor(req.PageToken, tiers.ListKey(req))
	if err != nil {
		return tiers.Page{}, zoho.WithTier(tiers.Bulk, err)
	}
	fields := req.Fields
	if len(fields) == 0 {
		fields = t.cfg.DefaultFields(req.Module)
	}
	if len(req.IDs) > 0 {
		return t.listIDs(ctx, req.Module, req.IDs, fields, limit, cur)
	}
	return t.pageCOQL(ctx, zoho.COQLQuery{Module: req.Module, Select: fields, Where: req.Filters}, sortBy, desc, limit, cur)
}

func (t *Tier) listIDs(ctx context.Context, module string, ids, fields []string, limit int, cur tiers.Cursor) (tiers.Page, error) {
	if cur.Offset >= len(ids) {
		return tiers.Page{}, nil
	}
	end := min(len(ids), cur.Offset+limit)
	recs, err := t.readIDs(ctx, module, ids[cur.Offset:end], fields)
	if err != nil {
		return tiers.Page{}, err
	}
	p := tiers.Page{Records: recs}
	if end < len(ids) {
		cur.Offset, cur.LastID, cur.Zoho = end, "", ""
		p.MoreRecords, p.NextPageToken = true, cur.Encode()
	}
	return p, nil
}

// readIDs reads up to 100 ids with one GET ?ids= and returns the records
// found, in the order of ids.
func (t *Tier) readIDs(ctx context.Context, module string, ids, fields []string) ([]tiers.Record, error) {
	p, err := t.getPage(ctx, zoho.Request{Path: "/crm/v8/" + module,
		Query: url.Values{"ids": {strings.Join(ids, ",")}, "fields": {strings.Join(fields, ",")}}})
	if err != nil {
		return nil, err
	}
	return zoho.InIDOrder(p.Data, ids), nil
}

// pageCOQL reads one page of a COQL query continuing from cur.
func (t *Tier) pageCOQL(ctx context.Context, q zoho.COQLQuery, sortBy string, desc bool, limit int, cur tiers.Cursor) (tiers.Page, error) {
	if !slices.Contains(q.Select, "id") {
		q.Select = append([]string{"id"}, q.Select...)
	}
	q.Limit = limit
	q.OrderBy = []zoho.Order{{Field: sortBy, Desc: desc}}
	if sortBy != "id" {
		q.OrderBy = append(q.OrderBy, zoho.Order{Field: "id", Desc: desc})
	}
	switch {
	case sortBy == "id" && cur.LastID != "" && !desc:
		q.AfterID = cur.LastID
	case sortBy == "id" && cur.LastID != "" && desc && !q.MatchAny:
		q.Where = append(slices.Clip(q.Where), tiers.Condition{Field: "id", Op: tiers.OpLessThan, Values: []any{json.Number(cur.LastID)}})
	default:
		if cur.Offset+limit > zoho.MaxCOQLOffset {
			return tiers.Page{}, badInput("this page is beyond the %d records COQL reaches by offset; sort by id to page further", zoho.MaxCOQLOffset)
		}
		q.Offset = cur.Offset
	}
	recs, more, err := t.coql(ctx, q)
	if err != nil {
		return tiers.Page{}, err
	}
	p := tiers.Page{Records: recs}
	if more && len(recs) > 0 {
		next := tiers.Cursor{Offset: cur.Offset + len(recs), Query: cur.Query}
		next.LastID, _ = recs[len(recs)-1]["id"].(string)
		p.MoreRecords, p.NextPageToken = true, next.Encode()
	}
	return p, nil
}

// coql runs one COQL query: POST /crm/v8/coql. 204 is no rows.
func (t *Tier) coql(ctx context.Context, q zoho.COQLQuery) ([]tiers.Record, bool, error) {
	text, err := zoho.COQL(q)
	if err != nil {
		return nil, false, zoho.WithTier(tiers.Bulk, err)
	}
	p, err := t.getPage(ctx, zoho.Request{Method: "POST", Path: "/crm/v8/coql", JSON: map[string]any{"select_query": text}})
	if err != nil {
		return nil, false, err
	}
	return p.Data, p.Info.MoreRecords, nil
}

// Search finds records: conditions with COQL (exact comparisons, unlike the
// search API's "equals means contains" on text; paged like List), and a
// word, email or phone with Zoho's search API (COQL has no full-text
// search), paged by page number within the search API's 2,000-record cap.
func (t *Tier) Search(ctx context.Context, req tiers.SearchRequest) (tiers.Page, error) {
	limit, err := t.checkPage(req.Module, req.Fields, req.Limit)
	if err != nil {
		return tiers.Page{}, err
	}
	cur, err := tiers.DecodeCursor(req.PageToken, tiers.SearchKey(req))
	if err != nil {
		return tiers.Page{}, zoho.WithTier(tiers.Bulk, err)
	}
	if len(req.Where) > 0 {
		fields := req.Fields
		if len(fields) == 0 {
			fields = t.cfg.DefaultFields(req.Module)
		}
		return t.pageCOQL(ctx, zoho.COQLQuery{Module: req.Module, Select: fields, Where: req.Where, MatchAny: req.MatchAny}, "id", false, limit, cur)
	}
	q := url.Values{}
	switch {
	case req.Word != "":
		if len([]rune(req.Word)) < 2 {
			return tiers.Page{}, badInput("word search needs at least 2 characters")
		}
		q.Set("word", req.Word)
	case req.Email != "":
		q.Set("email", req.Email)
	case req.Phone != "":
		q.Set("phone", req.Phone)
	default:
		return tiers.Page{}, badInput("search needs conditions or one of word, email, phone")
	}
	if len(req.Fields) > 0 {
		q.Set("fields", strings.Join(req.Fields, ","))
	}
	skip := cur.Offset % limit
	q.Set("page", strconv.Itoa(cur.Offset/limit+1))
	q.Set("per_page", strconv.Itoa(limit))
	p, err := t.getPage(ctx, zoho.Request{Path: "/crm/v8/" + req.Module + "/search", Query: q})
	if err != nil {
		return tiers.Page{}, err
	}
	recs := p.Data
	if skip < len(recs) {
		recs = recs[skip:]
	} else {
		recs = nil
	}
	out := tiers.Page{Records: recs}
	if p.Info.MoreRecords && len(recs) > 0 {
		next := tiers.Cursor{Offset: cur.Offset + len(recs), Query: cur.Query}
		out.MoreRecords, out.NextPageToken = true, next.Encode()
	}
	return out, nil
}

// BulkRead streams records into sink. By ids: GET ?ids= in chunks of 100,
// Concurrency at a time, written in the caller's order. By conditions (or
// all records): COQL pages of 2,000 sorted by id, and — once Plan says the
// rest is cheaper as a job — a Bulk Read job for the records after the last
// id read, downloaded as a zip to a temporary file and parsed row by row.
// Rows from COQL carry Zoho's JSON values; rows from a job carry the CSV
// export's text (numbers as digits, lookups as their id, empty as null).
// Strategy, Calls and Credits report what was spent.
func (t *Tier) BulkRead(ctx context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
	var res tiers.BulkReadResult
	if !t.Configured() {
		return res, notConfigured()
	}
	if sink == nil {
		return res, badInput("no record sink")
	}
	if err := firstErr(zoho.CheckModule(tiers.Bulk, req.Module), zoho.CheckFields(tiers.Bulk, req.Fields)); err != nil {
		return res, err
	}
	if len(req.Where) > tiers.MaxCOQLConditions-1 {
		return res, badInput("at most %d conditions for a bulk read (got %d)", tiers.MaxCOQLConditions-1, len(req.Where))
	}
	for _, id := range req.IDs {
		if err := zoho.CheckID(tiers.Bulk, id); err != nil {
			return res, err
		}
	}
	fields := req.Fields
	if len(fields) == 0 {
		fields = t.cfg.DefaultFields(req.Module)
	}
	if len(req.IDs) > 0 {
		return t.bulkReadIDs(ctx, req.Module, req.IDs, fields, sink)
	}
	return t.bulkReadQuery(ctx, req, fields, sink)
}

func (t *Tier) bulkReadIDs(ctx context.Context, module string, ids, fields []string, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
	res := tiers.BulkReadResult{Strategy: StrategyBatchedIDs}
	var chunks [][]string
	for i := 0; i < len(ids); i += tiers.MaxListIDs {
		chunks = append(chunks, ids[i:min(len(ids), i+tiers.MaxListIDs)])
	}
	// A window of Concurrency chunks is read at once and written in order,
	// so memory holds at most Concurrency×100 records.
	for w := 0; w < len(chunks); w += t.cfg.Concurrency {
		win := chunks[w:min(len(chunks), w+t.cfg.Concurrency)]
		got := make([][]tiers.Record, len(win))
		g, gctx := errgroup.WithContext(ctx)
		var mu sync.Mutex
		for i, c := range win {
			g.Go(func() error {
				recs, err := t.readIDs(gctx, module, c, fields)
				mu.Lock()
				res.Calls++
				res.Credits++
				mu.Unlock()
				got[i] = recs
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return res, err
		}
		for _, recs := range got {
			for _, r := range recs {
				if err := sink.Write(r); err != nil {
					return res, sinkErr(err)
				}
				res.Count++
			}
		}
	}
	return res, nil
}

func sinkErr(err error) error {
	return &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassCanceled, Message: "the record sink refused a record: " + err.Error(), Err: err}
}

func (t *Tier) bulkReadQuery(ctx context.Context, req tiers.BulkReadRequest, fields []string, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
	res := tiers.BulkReadResult{Strategy: StrategyCOQL}
	sel := fields
	if !slices.Contains(sel, "id") {
		sel = append([]string{"id"}, sel...)
	}
	lastID := ""
	for {
		if res.Count > 0 && t.cfg.Plan(KindReadQuery, res.Count+RowsPerCOQL).Name == StrategyBulkReadJob {
			res.Strategy = StrategyCOQL + "+" + StrategyBulkReadJob
			return t.readJob(ctx, req, fields, lastID, sink, res)
		}
		q := zoho.COQLQuery{Module: req.Module, Select: sel, Where: req.Where, AfterID: lastID,
			OrderBy: []zoho.Order{{Field: "id"}}, Limit: RowsPerCOQL}
		recs, more, err := t.coql(ctx, q)
		res.Calls++
		res.Credits += CreditsPerCOQL
		if err != nil {
			return res, err
		}
		for _, r := range recs {
			if err := sink.Write(r); err != nil {
				return res, sinkErr(err)
			}
			res.Count++
		}
		if !more || len(recs) == 0 {
			return res, nil
		}
		id, _ := recs[len(recs)-1]["id"].(string)
		if !tiers.IsRecordID(id) {
			return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassUnavailable, Code: "MALFORMED_RESPONSE",
				Message: "COQL answered a row without an id; cannot continue the read"}
		}
		lastID = id
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
