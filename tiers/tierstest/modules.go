package tierstest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

var _ tiers.ModuleTier = (*Tier)(nil)

// OrgMeta is the metadata a fake Tier serves (Tier.Meta).
type OrgMeta struct {
	Modules      []tiers.ModuleMeta
	Fields       map[string][]tiers.FieldMeta
	RelatedLists map[string][]tiers.RelatedListMeta
}

// filtered returns the first page of limit records (all for 0) whose every
// filter field holds the filter's value (compared as text), in id order (the
// newest first when desc), with only fields (and id and Created_Time) when
// fields is not empty.
func (s *Store) filtered(filters []tiers.Condition, fields []string, limit int, desc bool) tiers.Page {
	var p tiers.Page
	ids := s.IDs()
	if desc {
		slices.Reverse(ids)
	}
	for _, id := range ids {
		if limit > 0 && len(p.Records) == limit {
			p.MoreRecords, p.NextPageToken = true, tiers.Cursor{Offset: limit}.Encode()
			break
		}
		r, _ := s.Get(id, nil)
		ok := true
		for _, c := range filters {
			ok = ok && len(c.Values) == 1 && fmt.Sprint(r[c.Field]) == fmt.Sprint(c.Values[0])
		}
		if !ok {
			continue
		}
		if len(fields) > 0 {
			out := tiers.Record{"id": id}
			for _, f := range append(slices.Clone(fields), "Created_Time") {
				if v, has := r[f]; has {
					out[f] = v
				}
			}
			r = out
		}
		p.Records = append(p.Records, r)
	}
	return p
}

// Add stores rec as a new record with the next free id and Created_Time now,
// and returns the id.
func (s *Store) Add(rec tiers.Record, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var max int64 = 5725767000090000000
	for id := range s.records {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > max {
			max = n
		}
	}
	id := strconv.FormatInt(max+1, 10)
	r := maps.Clone(rec)
	r["id"] = id
	r["Created_Time"] = now.UTC().Format(time.RFC3339)
	s.records[id] = r
	return id
}

// Create adds each record to the store (with an id and Created_Time); without
// a store every record succeeds with a made-up id.
func (f *Tier) Create(ctx context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
	if err := f.enter(ctx, tiers.OpCreate, req); err != nil {
		return tiers.CreateResult{}, err
	}
	if f.OnCreate != nil {
		return f.OnCreate(ctx, req)
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	res := tiers.CreateResult{Calls: 1, Outcomes: make([]tiers.CreateOutcome, len(req.Records))}
	for i, r := range req.Records {
		id := fmt.Sprint(5725767000080000000 + int64(i))
		if f.Store != nil {
			id = f.Store.Add(r, now())
		}
		res.Outcomes[i] = tiers.CreateOutcome{Outcome: tiers.Outcome{ID: id, Status: tiers.StatusSuccess, Code: "SUCCESS", Message: "record added"}}
	}
	return res, nil
}

// Related answers an empty page.
func (f *Tier) Related(ctx context.Context, req tiers.RelatedRequest) (tiers.Page, error) {
	if err := f.enter(ctx, tiers.OpRelated, req); err != nil {
		return tiers.Page{}, err
	}
	if f.OnRelated != nil {
		return f.OnRelated(ctx, req)
	}
	return tiers.Page{}, nil
}

// Metadata answers from Meta.
func (f *Tier) Metadata(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
	if err := f.enter(ctx, tiers.OpMetadata, req); err != nil {
		return tiers.Metadata{}, err
	}
	if f.OnMetadata != nil {
		return f.OnMetadata(ctx, req)
	}
	if req.Kind == tiers.MetaModules {
		return tiers.Metadata{Modules: slices.Clone(f.Meta.Modules)}, nil
	}
	if !slices.ContainsFunc(f.Meta.Modules, func(m tiers.ModuleMeta) bool { return m.APIName == req.Module }) {
		return tiers.Metadata{}, &tiers.Error{Tier: f.name, Class: tiers.ClassVerdict, Code: "INVALID_MODULE",
			Message: "the module name given seems to be invalid"}
	}
	if req.Kind == tiers.MetaFields {
		return tiers.Metadata{Fields: slices.Clone(f.Meta.Fields[req.Module])}, nil
	}
	return tiers.Metadata{RelatedLists: slices.Clone(f.Meta.RelatedLists[req.Module])}, nil
}
