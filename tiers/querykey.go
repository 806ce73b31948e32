package tiers

import "fmt"

// ListKey is the QueryKey of a list request: every tier computes it the same
// way, so that a page token issued by one tier is valid on another (the
// router may fail over between pages). Limit and PageToken are not part of
// it.
func ListKey(req ListRequest) string {
	return QueryKey("list", req.Module, req.IDs, fmt.Sprint(req.Filters), req.Fields, req.SortBy, req.SortOrder)
}

// SearchKey is the QueryKey of a search request, shared by every tier like
// ListKey.
func SearchKey(req SearchRequest) string {
	return QueryKey("search", req.Module, fmt.Sprint(req.Where), req.MatchAny, req.Word, req.Email, req.Phone, req.Fields)
}
