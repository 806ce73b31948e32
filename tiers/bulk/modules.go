package bulk

import (
	"context"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

var _ tiers.ModuleTier = (*Tier)(nil)

// Create inserts records with the multi-record POST /crm/v8/{module}
// (zoho.Insert): at most 100, in one call.
func (t *Tier) Create(ctx context.Context, req tiers.CreateRequest) (tiers.CreateResult, error) {
	if !t.Configured() {
		res := tiers.CreateResult{Outcomes: make([]tiers.CreateOutcome, len(req.Records))}
		for i := range res.Outcomes {
			res.Outcomes[i].Status = tiers.StatusNotSent
		}
		return res, notConfigured()
	}
	return zoho.Insert(ctx, t.zc, req)
}

// Related reads a page of a record's related list (zoho.ReadRelated).
func (t *Tier) Related(ctx context.Context, req tiers.RelatedRequest) (tiers.Page, error) {
	if !t.Configured() {
		return tiers.Page{}, notConfigured()
	}
	return zoho.ReadRelated(ctx, t.zc, req, t.cfg.DefaultFields)
}

// Metadata reads the org's modules or a module's fields or related lists
// (zoho.ReadMetadata).
func (t *Tier) Metadata(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
	if !t.Configured() {
		return tiers.Metadata{}, notConfigured()
	}
	return zoho.ReadMetadata(ctx, t.zc, req)
}
