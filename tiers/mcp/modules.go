package mcp

import (
	"context"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

var _ tiers.ModuleTier = (*Tier)(nil)

// The tool actions of ModuleTier, named as in Zoho's catalogue
// (zoho-mcp-anchors §1.7) without the ZohoCRM_ prefix.
const (
	actCreateRecords   = "createRecords"
	actRelatedRecords  = "getRelatedRecords"
	actGetModules      = "getModules"
	actGetFields       = "getFields"
	actGetRelatedLists = "getRelatedLists"
)

// notSent is the result of a create nothing of which was sent.
func notSent(n int) tiers.CreateResult {
	res := tiers.CreateResult{Outcomes: make([]tiers.CreateOutcome, n)}
	for i := range res.Outcomes {
		res.Outcomes[i].Status = tiers.StatusNotSent
	}
	return res
}

// setAll gives every outcome of res status st and e's code, message and
// (for a verdict) details.
func setAll(res *tiers.CreateResult, st tiers.OutcomeStatus, e *tiers.Error) {
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		o.Status = st
		if e != nil {
			o.Code, o.Message = e.Code, e.Message
			if st == tiers.StatusError {
				o.Details = e.Details
			}
		}
	}
}

// Create inserts records with the upstream's createRecords tool: at most 100,
// in one call, with Zoho's per-record results read back from the tool's
// answer (an isError answer too: Zoho answers 400 when every record failed).
// A tool error that is not a verdict on the request may come after the
// records were added (Zoho's INTERNAL_ERROR), so it leaves them unknown; a
// rate limit or an authorization failure leaves them not sent.
func (t *Tier) Create(ctx context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
	res := notSent(len(req.Records))
	if err := zoho.CheckCreate(tiers.MCP, req); err != nil {
		return res, err
	}
	tl, perModule, err := t.resolve(ctx, actCreateRecords, req.Module)
	if err != nil {
		return res, err
	}
	data := make([]any, len(req.Records))
	for i, r := range req.Records {
		data[i] = r
	}
	args := []arg{{section: secBody, name: "data", value: data, required: true}, moduleArg(req.Module, perModule)}
	if req.Trigger != nil {
		args = append(args, arg{section: secBody, name: "trigger", value: req.Trigger, required: true})
	}
	built, err := tl.build(args, nil)
	if err != nil {
		return res, err
	}
	res.Calls = 1
	r, err := t.call(ctx, tl, built, true)
	if err != nil {
		if tiers.Classify(err) == tiers.ClassOutcomeUnknown {
			setAll(&res, tiers.StatusUnknown, nil)
		}
		return res, err
	}
	raw, empty, perr := payload(r)
	var body zohoBody
	var results []zoho.RecordResult
	if perr == nil && !empty {
		if perr = decode(raw, &body); perr == nil && len(body.Data) > 0 && body.Data[0] == '[' {
			perr = decode(body.Data, &results)
		}
	}
	if perr == nil && len(results) > 0 && (results[0].Status != "" || results[0].Code != "") {
		for i := range results {
			results[i].Message = t.red().String(results[i].Message)
		}
		outs, complete := zoho.CreateOutcomes(results, len(req.Records))
		res.Outcomes = outs
		if !complete {
			return res, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
				Message: "the upstream's answer to the create left records without a result: they may or may not have been added"}
		}
		return res, nil
	}
	if r.IsError {
		e := t.toolError(r)
		switch e.Class {
		case tiers.ClassVerdict:
			setAll(&res, tiers.StatusError, e)
		case tiers.ClassUnavailable:
			setAll(&res, tiers.StatusUnknown, e)
			e.Class = tiers.ClassOutcomeUnknown
			e.Message += "; the records may or may not have been added"
		}
		return res, e
	}
	if body.Code != "" && strings.EqualFold(body.Status, "error") {
		e := &tiers.Error{Tier: tiers.MCP, Class: classifyCode(body.Code), Code: body.Code, Message: t.red().String(body.Message), Details: body.Details}
		if e.Class == tiers.ClassVerdict {
			setAll(&res, tiers.StatusError, e)
		}
		return res, e
	}
	setAll(&res, tiers.StatusUnknown, nil)
	return res, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
		Message: "the upstream answered the create without per-record results: the records may or may not have been added"}
}

// Related reads a page of a record's related list with the upstream's
// getRelatedRecords tool (whose arguments are parentRecordModule,
// parentRecord, relatedList, fields and perPage), paged like the REST API.
func (t *Tier) Related(ctx context.Context, req tiers.RelatedRequest) (tiers.Page, error) {
	limit, err := zoho.CheckRelated(tiers.MCP, req)
	if err != nil {
		return tiers.Page{}, err
	}
	cur, err := tiers.DecodeCursor(req.PageToken, tiers.RelatedKey(req))
	if err != nil {
		return tiers.Page{}, zoho.WithTier(tiers.MCP, err)
	}
	p, err := zoho.PlanRelatedPage(tiers.MCP, cur, limit)
	if err != nil {
		return tiers.Page{}, err
	}
	tl, perModule, err := t.resolve(ctx, actRelatedRecords, req.Module)
	if err != nil {
		return tiers.Page{}, err
	}
	fields := req.Fields
	if len(fields) == 0 {
		fields = t.cfg.DefaultFields(req.List)
	}
	sortBy, desc, _ := zoho.CheckSort(tiers.MCP, req.SortBy, req.SortOrder)
	args := []arg{
		{section: secPath, name: "parentRecordModule", value: req.Module, required: !perModule},
		{section: secPath, name: "parentRecord", value: req.ID, required: true},
		{section: secPath, name: "relatedList", value: req.List, required: true},
		{section: secQuery, name: "fields", value: strings.Join(fields, ","), required: true},
		{section: secQuery, name: "per_page", value: p.PerPage, required: true},
		{section: secQuery, name: "sort_by", value: sortBy},
		{section: secQuery, name: "sort_order", value: map[bool]string{false: "asc", true: "desc"}[desc], required: true},
	}
	if p.Token != "" {
		args = append(args, arg{section: secQuery, name: "page_token", value: p.Token, required: true})
	} else {
		args = append(args, arg{section: secQuery, name: "page", value: p.Page, required: true})
	}
	recs, info, err := t.read(ctx, tl, args)
	if err != nil {
		return tiers.Page{}, err
	}
	if len(recs) > p.PerPage {
		recs, info.MoreRecords = recs[:p.PerPage], true
	}
	return zoho.RelatedResult(recs, info.MoreRecords, info.NextPageToken, p, cur), nil
}

// Metadata reads the org's modules (getModules) or a module's fields
// (getFields) or related lists (getRelatedLists) with the upstream's tools,
// whose answers are the REST API's JSON (zoho.DecodeMetadata).
func (t *Tier) Metadata(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
	if _, err := zoho.MetadataRequestOf(tiers.MCP, req); err != nil {
		return tiers.Metadata{}, err
	}
	action := map[tiers.MetadataKind]string{tiers.MetaModules: actGetModules, tiers.MetaFields: actGetFields,
		tiers.MetaRelatedLists: actGetRelatedLists}[req.Kind]
	tl, _, err := t.resolve(ctx, action, "")
	if err != nil {
		return tiers.Metadata{}, err
	}
	var args []arg
	if req.Kind != tiers.MetaModules {
		args = append(args, arg{section: secQuery, name: "module", value: req.Module, required: true})
	}
	built, err := tl.build(args, nil)
	if err != nil {
		return tiers.Metadata{}, err
	}
	r, err := t.call(ctx, tl, built, false)
	if err != nil {
		return tiers.Metadata{}, err
	}
	if r.IsError {
		return tiers.Metadata{}, t.toolError(r)
	}
	raw, empty, err := payload(r)
	if err != nil {
		return tiers.Metadata{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: " + err.Error()}
	}
	if empty {
		raw = nil
	}
	md, err := zoho.DecodeMetadata(req.Kind, raw)
	if err != nil {
		return tiers.Metadata{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "malformed upstream result: " + err.Error()}
	}
	return md, nil
}
