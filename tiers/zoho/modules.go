package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// The REST calls of tiers.ModuleTier, shared by the tiers that talk to
// Zoho's API directly (BULK and REST): each checks the request the way Zoho
// would, sends one call and reads Zoho's answer. Tier 1 sends the same
// requests through the hosted MCP server's tools and reads the same JSON
// with the Decode functions below.

// relatedDiscreteCap is how many related records page/per_page reach; past
// it Zoho's page_token is needed (reference §4.3: the related records API
// pages like the list API).
const relatedDiscreteCap = 2000

// CheckCreate returns tier's verdict on a create Zoho would refuse: a module
// that is not an API name, no records or more than tiers.MaxRecordsPerWrite,
// a record with no field, with an id, or with a key that is not a field API
// name (Zoho's $-prefixed keys, such as $se_module, are allowed), or a
// trigger Zoho does not know.
func CheckCreate(tier tiers.Name, req tiers.CreateRequest) error {
	if err := CheckModule(tier, req.Module); err != nil {
		return err
	}
	if len(req.Records) == 0 {
		return InvalidData(tier, "no records to create")
	}
	if len(req.Records) > tiers.MaxRecordsPerWrite {
		return limitExceeded(tier, "at most %d records per create (got %d)", tiers.MaxRecordsPerWrite, len(req.Records))
	}
	for i, r := range req.Records {
		if len(r) == 0 {
			return InvalidData(tier, "record %d has no fields", i)
		}
		for k := range r {
			if k == "id" {
				return InvalidData(tier, "record %d holds an id; Zoho assigns ids on create", i)
			}
			if !tiers.IsAPIName(strings.TrimPrefix(k, "$")) {
				return InvalidData(tier, "record %d: %q is not a field API name", i, tiers.Clip(k, 60))
			}
		}
	}
	return CheckTrigger(tier, req.Trigger)
}

// triggers are the values Zoho accepts in a write's "trigger" (reference
// §4.4).
var triggers = []string{"approval", "workflow", "blueprint", "pathfinder", "orchestration"}

// CheckTrigger returns tier's InvalidData verdict on a trigger Zoho does not
// know.
func CheckTrigger(tier tiers.Name, tr []string) error {
	for _, v := range tr {
		known := false
		for _, t := range triggers {
			known = known || t == v
		}
		if !known {
			return InvalidData(tier, "trigger %q is not one of %s", tiers.Clip(v, 60), strings.Join(triggers, ", "))
		}
	}
	return nil
}

// WriteBody is the body of an insert or update: {"data": records} and the
// trigger list, omitted when nil (Zoho's default) and sent empty when empty
// (every trigger off).
func WriteBody(records []tiers.Record, trigger []string) map[string]any {
	body := map[string]any{"data": records}
	if trigger != nil {
		body["trigger"] = trigger
	}
	return body
}

// RecordResult is one element of a write answer's data[] (reference §3).
type RecordResult struct {
	Code    string         `json:"code"`
	Details map[string]any `json:"details"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
}

// CreateOutcomes reads the per-record results of an insert of n records:
// a success carries the new id (details.id), an error Zoho's code, message
// (with the field it names) and details; a record Zoho's answer has no result
// for is StatusUnknown. It reports whether every record got a result.
func CreateOutcomes(results []RecordResult, n int) ([]tiers.CreateOutcome, bool) {
	out := make([]tiers.CreateOutcome, n)
	complete := true
	for i := range out {
		if i >= len(results) {
			out[i].Status, out[i].Code = tiers.StatusUnknown, "OUTCOME_UNKNOWN"
			out[i].Message = fmt.Sprintf("Zoho returned %d results for %d records; this record's fate is unknown", len(results), n)
			complete = false
			continue
		}
		r := results[i]
		o := &out[i]
		o.Code, o.Message = r.Code, tiers.Clip(r.Message, maxMessage)
		if strings.EqualFold(r.Status, "success") {
			id, _ := tiers.IDString(r.Details["id"])
			if !tiers.IsRecordID(id) {
				o.Status, o.Code = tiers.StatusUnknown, "OUTCOME_UNKNOWN"
				o.Message = "Zoho reported the record added without its id"
				complete = false
				continue
			}
			o.ID, o.Status = id, tiers.StatusSuccess
			continue
		}
		o.Status, o.Details = tiers.StatusError, r.Details
		if api, ok := r.Details["api_name"].(string); ok && api != "" && !strings.Contains(o.Message, api) {
			o.Message += " (field " + api + ")"
		}
	}
	return out, complete
}

// FailedWrite is the fate of every record of a write call that failed with
// err: sent without an answer → unknown; refused whole by a verdict → error;
// anything else (429, 401, refused connections) → not sent.
func FailedWrite(err error) tiers.OutcomeStatus {
	var te *tiers.Error
	if !errors.As(err, &te) {
		return tiers.StatusUnknown
	}
	switch {
	case te.Class == tiers.ClassOutcomeUnknown, te.Code == "OUTCOME_UNKNOWN":
		return tiers.StatusUnknown
	case te.Class == tiers.ClassVerdict:
		return tiers.StatusError
	}
	return tiers.StatusNotSent
}

// Insert creates req.Records with POST /crm/v8/{module} (reference §4.4):
// one call for at most 100 records, per-record results in input order (201
// all added, 207 mixed, 400 none). The error is nil when every record got
// Zoho's answer; otherwise each record's outcome says whether it may have
// been written (see FailedWrite).
func Insert(ctx context.Context, c *Client, req tiers.CreateRequest) (tiers.CreateResult, error) {
	res := tiers.CreateResult{Outcomes: make([]tiers.CreateOutcome, len(req.Records))}
	for i := range res.Outcomes {
		res.Outcomes[i].Status = tiers.StatusNotSent
	}
	if err := CheckCreate(c.cfg.Tier, req); err != nil {
		return res, err
	}
	res.Calls = 1
	path := "/crm/v8/" + req.Module
	resp, err := c.Do(ctx, Request{Method: http.MethodPost, Path: path, JSON: WriteBody(req.Records, req.Trigger)})
	if err != nil {
		st := FailedWrite(err)
		var te *tiers.Error
		errors.As(err, &te)
		for i := range res.Outcomes {
			o := &res.Outcomes[i]
			o.Status = st
			if te != nil {
				o.Code, o.Message = te.Code, te.Message
				if st == tiers.StatusError {
					o.Details = te.Details
				}
			}
		}
		return res, err
	}
	var ans struct {
		Data []RecordResult `json:"data"`
	}
	if err := resp.Decode(&ans); err != nil {
		for i := range res.Outcomes {
			res.Outcomes[i].Status, res.Outcomes[i].Code, res.Outcomes[i].Message = tiers.StatusUnknown, "OUTCOME_UNKNOWN", err.Error()
		}
		return res, err
	}
	outs, complete := CreateOutcomes(ans.Data, len(req.Records))
	res.Outcomes = outs
	if !complete {
		return res, &tiers.Error{Tier: c.cfg.Tier, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
			Message: "Zoho's answer to the create left records without a result: they may or may not have been added"}
	}
	return res, nil
}

// CheckRelated returns tier's verdict on a related-records request Zoho
// would refuse, and the page size it asks for (see CheckLimit).
func CheckRelated(tier tiers.Name, req tiers.RelatedRequest) (int, error) {
	if err := CheckModule(tier, req.Module); err != nil {
		return 0, err
	}
	if err := CheckID(tier, req.ID); err != nil {
		return 0, err
	}
	if !tiers.IsAPIName(req.List) {
		return 0, InvalidData(tier, "related list %q is not an API name such as Contacts", tiers.Clip(req.List, 60))
	}
	if err := CheckFields(tier, req.Fields); err != nil {
		return 0, err
	}
	if _, _, err := CheckSort(tier, req.SortBy, req.SortOrder); err != nil {
		return 0, err
	}
	return CheckLimit(tier, req.Limit)
}

// RelatedPage is the paging of one related-records call a cursor asks for:
// Zoho's page token, or page and per_page, and how many records of that
// page were already returned.
type RelatedPage struct {
	Token   string // Zoho's page_token; empty means Page
	Page    int    // 1-based
	PerPage int
	Skip    int
}

// PlanRelatedPage returns the call that continues cur with pages of limit
// records. A cursor past the 2,000 records page/per_page reach without
// Zoho's token is tiers' INVALID_PAGE_TOKEN verdict.
func PlanRelatedPage(tier tiers.Name, cur tiers.Cursor, limit int) (RelatedPage, error) {
	if cur.Zoho != "" {
		return RelatedPage{Token: cur.Zoho, PerPage: limit}, nil
	}
	p := RelatedPage{Page: cur.Offset/limit + 1, PerPage: limit, Skip: cur.Offset % limit}
	if p.Page*limit > relatedDiscreteCap {
		return p, &tiers.Error{Tier: tier, Class: tiers.ClassVerdict, Code: "INVALID_PAGE_TOKEN",
			Message: fmt.Sprintf("page_token continues past the first %d related records without Zoho's own token; start again without page_token and page with the same limit", relatedDiscreteCap)}
	}
	return p, nil
}

// RelatedResult builds the Page of one related-records answer: records after
// the page's Skip, and the next page token (Zoho's own when it gave one and
// the page was read whole).
func RelatedResult(recs []tiers.Record, more bool, zohoToken string, p RelatedPage, cur tiers.Cursor) tiers.Page {
	if p.Skip < len(recs) {
		recs = recs[p.Skip:]
	} else {
		recs = nil
	}
	pg := tiers.Page{Records: recs}
	if more && len(recs) > 0 {
		next := tiers.Cursor{Offset: cur.Offset + len(recs), Query: cur.Query}
		if zohoToken != "" && p.Skip == 0 && len(zohoToken) <= 512 {
			next.Zoho = zohoToken
		}
		pg.MoreRecords, pg.NextPageToken = true, next.Encode()
	}
	return pg
}

// ReadRelated reads a page of a record's related list: GET
// /crm/v8/{module}/{id}/{list} with fields (the related module's fields;
// fallback names the fields to ask for when req has none), paged by
// page/per_page and then Zoho's page_token. Nothing related (204) is an empty
// page.
func ReadRelated(ctx context.Context, c *Client, req tiers.RelatedRequest, fallback func(string) []string) (tiers.Page, error) {
	tier := c.cfg.Tier
	limit, err := CheckRelated(tier, req)
	if err != nil {
		return tiers.Page{}, err
	}
	cur, err := tiers.DecodeCursor(req.PageToken, tiers.RelatedKey(req))
	if err != nil {
		return tiers.Page{}, WithTier(tier, err)
	}
	p, err := PlanRelatedPage(tier, cur, limit)
	if err != nil {
		return tiers.Page{}, err
	}
	fields := req.Fields
	if len(fields) == 0 {
		fields = fallback(req.List)
	}
	q := url.Values{"fields": {strings.Join(fields, ",")}, "per_page": {strconv.Itoa(p.PerPage)}}
	if p.Token != "" {
		q.Set("page_token", p.Token)
	} else {
		q.Set("page", strconv.Itoa(p.Page))
	}
	sortBy, desc, _ := CheckSort(tier, req.SortBy, req.SortOrder)
	q.Set("sort_by", sortBy)
	q.Set("sort_order", map[bool]string{false: "asc", true: "desc"}[desc])
	resp, err := c.Do(ctx, Request{Path: "/crm/v8/" + req.Module + "/" + req.ID + "/" + req.List, Query: q})
	if err != nil {
		return tiers.Page{}, err
	}
	if resp.Empty() {
		return tiers.Page{}, nil
	}
	var body struct {
		Data []tiers.Record `json:"data"`
		Info struct {
			MoreRecords   bool   `json:"more_records"`
			NextPageToken string `json:"next_page_token"`
		} `json:"info"`
	}
	if err := resp.Decode(&body); err != nil {
		return tiers.Page{}, err
	}
	return RelatedResult(body.Data, body.Info.MoreRecords, body.Info.NextPageToken, p, cur), nil
}

// MetadataRequestOf returns the REST request of a metadata read, after
// checking it: GET /crm/v8/settings/modules, /settings/fields?module= or
// /settings/related_lists?module=.
func MetadataRequestOf(tier tiers.Name, req tiers.MetadataRequest) (Request, error) {
	switch req.Kind {
	case tiers.MetaModules:
		return Request{Path: "/crm/v8/settings/modules"}, nil
	case tiers.MetaFields, tiers.MetaRelatedLists:
		if err := CheckModule(tier, req.Module); err != nil {
			return Request{}, err
		}
		return Request{Path: "/crm/v8/settings/" + string(req.Kind), Query: url.Values{"module": {req.Module}}}, nil
	}
	return Request{}, InvalidData(tier, "unknown metadata kind %q", tiers.Clip(string(req.Kind), 60))
}

// ReadMetadata reads one kind of metadata with the REST API (see
// MetadataRequestOf and DecodeMetadata). Nothing there (204) is an empty
// list.
func ReadMetadata(ctx context.Context, c *Client, req tiers.MetadataRequest) (tiers.Metadata, error) {
	r, err := MetadataRequestOf(c.cfg.Tier, req)
	if err != nil {
		return tiers.Metadata{}, err
	}
	resp, err := c.Do(ctx, r)
	if err != nil {
		return tiers.Metadata{}, err
	}
	var body []byte
	if !resp.Empty() {
		body = resp.Body
	}
	md, err := DecodeMetadata(req.Kind, body)
	if err != nil {
		return tiers.Metadata{}, MalformedError(c.cfg.Tier, "GET", r.Path, resp.StatusCode, err)
	}
	return md, nil
}

// The JSON shapes of the metadata APIs (reference §11: getModules,
// getFields, getRelatedLists), the keys the proxy reads.
type (
	moduleJSON struct {
		APIName       string `json:"api_name"`
		SingularLabel string `json:"singular_label"`
		PluralLabel   string `json:"plural_label"`
		APISupported  bool   `json:"api_supported"`
		Creatable     bool   `json:"creatable"`
		Editable      bool   `json:"editable"`
		GeneratedType string `json:"generated_type"`
		Status        string `json:"status"`
	}
	fieldJSON struct {
		APIName         string          `json:"api_name"`
		FieldLabel      string          `json:"field_label"`
		DisplayLabel    string          `json:"display_label"`
		DataType        string          `json:"data_type"`
		JSONType        string          `json:"json_type"`
		Length          json.Number     `json:"length"`
		ReadOnly        bool            `json:"read_only"`
		FieldReadOnly   bool            `json:"field_read_only"`
		SystemMandatory bool            `json:"system_mandatory"`
		CustomField     bool            `json:"custom_field"`
		Unique          json.RawMessage `json:"unique"`
		PickListValues  []struct {
			DisplayValue string `json:"display_value"`
			ActualValue  string `json:"actual_value"`
		} `json:"pick_list_values"`
		Lookup struct {
			Module struct {
				APIName string `json:"api_name"`
			} `json:"module"`
		} `json:"lookup"`
		MultiModuleLookup struct {
			Modules []struct {
				APIName string `json:"api_name"`
			} `json:"modules"`
		} `json:"multi_module_lookup"`
	}
	relatedListJSON struct {
		APIName      string          `json:"api_name"`
		DisplayLabel string          `json:"display_label"`
		Module       json.RawMessage `json:"module"`
	}
)

// DecodeMetadata decodes the body of a metadata answer of kind ({"modules":
// […]}, {"fields": […]} or {"related_lists": […]}); an empty body (Zoho's
// 204) is an empty list. Entries without an API name are left out.
func DecodeMetadata(kind tiers.MetadataKind, body []byte) (tiers.Metadata, error) {
	var md tiers.Metadata
	if len(strings.TrimSpace(string(body))) == 0 {
		switch kind {
		case tiers.MetaModules:
			md.Modules = []tiers.ModuleMeta{}
		case tiers.MetaFields:
			md.Fields = []tiers.FieldMeta{}
		default:
			md.RelatedLists = []tiers.RelatedListMeta{}
		}
		return md, nil
	}
	var doc struct {
		Modules      []moduleJSON      `json:"modules"`
		Fields       []fieldJSON       `json:"fields"`
		RelatedLists []relatedListJSON `json:"related_lists"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return md, fmt.Errorf("not a metadata answer: %w", err)
	}
	switch kind {
	case tiers.MetaModules:
		md.Modules = make([]tiers.ModuleMeta, 0, len(doc.Modules))
		for _, m := range doc.Modules {
			if m.APIName == "" {
				continue
			}
			md.Modules = append(md.Modules, tiers.ModuleMeta{APIName: m.APIName, SingularLabel: m.SingularLabel,
				PluralLabel: m.PluralLabel, APISupported: m.APISupported, Creatable: m.Creatable, Editable: m.Editable,
				Custom: m.GeneratedType == "custom", Status: m.Status})
		}
	case tiers.MetaFields:
		md.Fields = make([]tiers.FieldMeta, 0, len(doc.Fields))
		for _, f := range doc.Fields {
			if f.APIName == "" {
				continue
			}
			md.Fields = append(md.Fields, f.meta())
		}
	case tiers.MetaRelatedLists:
		md.RelatedLists = make([]tiers.RelatedListMeta, 0, len(doc.RelatedLists))
		for _, r := range doc.RelatedLists {
			if r.APIName == "" {
				continue
			}
			md.RelatedLists = append(md.RelatedLists, tiers.RelatedListMeta{APIName: r.APIName, Label: r.DisplayLabel, Module: moduleName(r.Module)})
		}
	default:
		return md, fmt.Errorf("unknown metadata kind %q", kind)
	}
	return md, nil
}

// meta converts one field of the fields API.
func (f fieldJSON) meta() tiers.FieldMeta {
	label := f.DisplayLabel
	if label == "" {
		label = f.FieldLabel
	}
	n, _ := f.Length.Int64()
	fm := tiers.FieldMeta{APIName: f.APIName, Label: label, DataType: f.DataType, JSONType: f.JSONType,
		Length: int(n), ReadOnly: f.ReadOnly || f.FieldReadOnly, Required: f.SystemMandatory,
		Unique: isUnique(f.Unique), Custom: f.CustomField, Lookup: f.Lookup.Module.APIName}
	for _, v := range f.PickListValues {
		fm.Picklist = append(fm.Picklist, tiers.PicklistValue{Display: v.DisplayValue, Actual: v.ActualValue})
	}
	for _, m := range f.MultiModuleLookup.Modules {
		if m.APIName != "" {
			fm.LookupModules = append(fm.LookupModules, m.APIName)
		}
	}
	return fm
}

// isUnique reads a field's "unique": an object that is not empty (e.g.
// {"case_sensitive": false}) or true.
func isUnique(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var m map[string]any
	return json.Unmarshal(raw, &m) == nil && len(m) > 0
}

// moduleName reads a related list's module: {"api_name": …} (v4 and later)
// or the API name as a string (older versions).
func moduleName(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var m struct {
		APIName string `json:"api_name"`
	}
	if json.Unmarshal(raw, &m) == nil {
		return m.APIName
	}
	return ""
}
