package zoho

import "github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"

// InIDOrder returns the records of recs in the order of ids, the caller's
// order: an id no record has is left out (Zoho does not return ids that do
// not exist), and an id given twice gives its record twice. The result is
// never nil.
func InIDOrder(recs []tiers.Record, ids []string) []tiers.Record {
	byID := make(map[string]tiers.Record, len(recs))
	for _, r := range recs {
		if id, ok := r["id"].(string); ok {
			byID[id] = r
		}
	}
	out := make([]tiers.Record, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out
}
