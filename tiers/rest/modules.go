package rest

import (
	"context"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

var _ tiers.ModuleTier = (*Tier)(nil)

// Create inserts records with one POST /crm/v8/{module} (zoho.Insert).
func (t *Tier) Create(ctx context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
	if err := t.ready(); err != nil {
		return notSent(req), err
	}
	return zoho.Insert(ctx, t.zc, req)
}

// notSent is the result of a create nothing of which was sent.
func notSent(req tiers.CreateRequest) tiers.CreateResult {
	res := tiers.CreateResult{Outcomes: make([]tiers.CreateOutcome, len(req.Records))}
	for i := range res.Outcomes {
		res.Outcomes[i].Status = tiers.StatusNotSent
	}
	return res
}

// Related reads a page of a record's related list (zoho.ReadRelated).
func (t *Tier) Related(ctx context.Context, req tiers.RelatedRequest) (tiers.Page, error) {
	if err := t.ready(); err != nil {
		return tiers.Page{}, err
	}
	return zoho.ReadRelated(ctx, t.zc, req, t.cfg.DefaultFields)
}

// Metadata reads the org's modules or a module's fields or related lists
// (zoho.ReadMetadata).
func (t *Tier) Metadata(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
	if err := t.ready(); err != nil {
		return tiers.Metadata{}, err
	}
	return zoho.ReadMetadata(ctx, t.zc, req)
}
